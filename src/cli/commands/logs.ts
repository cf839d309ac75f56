/**
 * `skiff logs`: kubectl logs through pods/log — a pod (default container from the
 * kubectl.kubernetes.io/default-container annotation, else the first, with kubectl's "Defaulted container"
 * notice), `TYPE/NAME` of a workload (its first pod by kubectl's ordering), `-l` (every matching pod, at most
 * --max-log-requests concurrently when following), -c, --all-containers, --prefix, -f, --tail, --since,
 * --since-time, --timestamps, --previous, --limit-bytes.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ParsedFlags } from '../flags.ts';
import { parseDuration } from '../flags.ts';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, MultiError } from '../errors.ts';
import { resourcePath } from '../resource-args.ts';
import { isNotFound } from '../../client/index.ts';

interface Source {
  pod: Pod;
  container: string;
}

/** `skiff logs`. */
export const command: VerbCommand = {
  use: 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]',
  short: 'Print the logs for a container in a pod',
  flags: [
    { name: 'follow', short: 'f', type: 'bool', usage: 'Specify if the logs should be streamed.' },
    { name: 'container', short: 'c', type: 'string', usage: 'Print the logs of this container' },
    { name: 'all-containers', type: 'bool', usage: 'Get all containers\' logs in the pod(s).' },
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'tail', type: 'int', default: -1, usage: 'Lines of recent log file to display.' },
    { name: 'since', type: 'duration', default: '0s', usage: 'Only return logs newer than a relative duration like 5s, 2m, or 3h.' },
    { name: 'since-time', type: 'string', usage: 'Only return logs after a specific date (RFC3339).' },
    { name: 'timestamps', type: 'bool', usage: 'Include timestamps on each line in the log output' },
    { name: 'previous', short: 'p', type: 'bool', usage: 'If true, print the logs for the previous instance of the container in a pod if it exists.' },
    { name: 'prefix', type: 'bool', usage: 'Prefix each log line with the log source (pod name and container name)' },
    { name: 'limit-bytes', type: 'int', usage: 'Maximum bytes of logs to return.' },
    { name: 'max-log-requests', type: 'int', default: 5, usage: 'Specify maximum number of concurrent logs to follow when using by a selector.' },
    { name: 'ignore-errors', type: 'bool', usage: 'If watching / following pod logs, allow for any errors that occur to be non-fatal' },
    { name: 'pod-running-timeout', type: 'duration', default: '20s', usage: 'The length of time to wait until at least one pod is running' },
    { name: 'insecure-skip-tls-verify-backend', type: 'bool', usage: 'Skip verifying the identity of the kubelet that logs are requested from.' },
  ],
  async run(ctx, f) {
    const selector = String(f.values['selector']);
    if (f.args.length === 0 && !selector) throw new CliError("expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'kubectl logs -h' for help and examples");
    if (f.args.length > 0 && selector) throw new CliError('only a selector (-l) or a POD name is allowed');
    const ns = ctx.namespace();
    let pods: Pod[];
    let explicitContainer = String(f.values['container']);
    if (selector) {
      pods = (await ctx.rest().request<{ items?: Pod[] }>({ path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, query: { labelSelector: selector } })).body.items ?? [];
      if (pods.length === 0) {
        ctx.err(`No resources found in ${ns} namespace.\n`);
        return;
      }
    } else {
      let arg = f.args[0]!;
      if (f.args.length === 2 && !arg.includes('/')) {
        // The legacy `logs POD CONTAINER` form.
        explicitContainer ||= f.args[1]!;
      } else if (f.args.length > 1) {
        throw new CliError(`expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command`);
      }
      const bare = !arg.includes('/');
      if (bare) arg = `pods/${arg}`;
      try {
        pods = [await podForObject(ctx, arg, ns)];
      } catch (e) {
        // kubectl logs words a missing pod its own way.
        if (bare && isNotFound(e)) throw new CliError(`error from server (NotFound): pods ${JSON.stringify(arg.slice(5))} not found in namespace ${JSON.stringify(ns)}`);
        throw e;
      }
    }
    const sources: Source[] = [];
    for (const pod of pods) {
      const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
      if (f.values['all-containers'] === true) {
        for (const c of containers) sources.push({ pod, container: c });
      } else if (explicitContainer) {
        sources.push({ pod, container: explicitContainer });
      } else {
        const app = (pod.spec?.containers ?? []).map((c) => c.name);
        const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
        const chosen = annotated && app.includes(annotated) ? annotated : app[0] ?? '';
        if (!annotated && containers.length > 1 && !selector) {
          const all = [...app, ...(pod.spec?.initContainers ?? []).map((c) => `${c.name} (init)`)];
          ctx.err(`Defaulted container ${JSON.stringify(chosen)} out of: ${all.join(', ')}\n`);
        }
        sources.push({ pod, container: chosen });
      }
    }
    const prefix = f.values['prefix'] === true;
    const follow = f.values['follow'] === true;
    if (follow && sources.length > Number(f.values['max-log-requests'])) {
      throw new CliError(`you are attempting to follow ${sources.length} log streams, but maximum allowed concurrency is ${Number(f.values['max-log-requests'])}, use --max-log-requests to increase the limit`);
    }
    const errors: unknown[] = [];
    const run = async (s: Source): Promise<void> => {
      try {
        await streamLog(ctx, s, { f, prefix });
      } catch (e) {
        if (f.values['ignore-errors'] === true) ctx.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
        else errors.push(e);
      }
    };
    if (follow) await Promise.all(sources.map(run));
    else for (const s of sources) await run(s);
    if (errors.length > 0) throw new MultiError(errors);
  },
};

async function streamLog(ctx: CliContext, s: Source, o: { f: ParsedFlags; prefix: boolean }): Promise<void> {
  const f = o.f;
  const query: Record<string, string | number | boolean | undefined> = { container: s.container };
  if (f.values['follow'] === true) query['follow'] = true;
  if (f.values['previous'] === true) query['previous'] = true;
  if (f.values['timestamps'] === true) query['timestamps'] = true;
  const tail = Number(f.values['tail']);
  if (tail >= 0) query['tailLines'] = tail;
  else if (String(f.values['selector']) && !f.changed.has('tail')) query['tailLines'] = 10;
  const since = parseDuration(String(f.values['since'])) ?? 0;
  if (since > 0) query['sinceSeconds'] = Math.max(1, Math.ceil(since / 1000));
  if (String(f.values['since-time'])) query['sinceTime'] = String(f.values['since-time']);
  if (Number(f.values['limit-bytes']) > 0) query['limitBytes'] = Number(f.values['limit-bytes']);
  if (f.values['insecure-skip-tls-verify-backend'] === true) query['insecureSkipTLSVerifyBackend'] = true;
  const path = `/api/v1/namespaces/${encodeURIComponent(s.pod.metadata?.namespace ?? '')}/pods/${encodeURIComponent(s.pod.metadata?.name ?? '')}/log`;
  const stream = await ctx.rest().stream({ path, query, accept: '*/*' });
  if (!o.prefix) {
    for await (const chunk of stream.chunks()) ctx.io.stdout.write(chunk);
    return;
  }
  const tag = `[pod/${s.pod.metadata?.name ?? ''}/${s.container}] `;
  for await (const line of stream.lines()) ctx.out(`${tag}${line}\n`);
}

/** kubectl's AttachablePodForObject: the pod itself, or the first pod (by kubectl's ActivePods order) of a workload. */
export async function podForObject(ctx: CliContext, arg: string, ns: string): Promise<Pod> {
  const [type, name] = arg.split('/', 2) as [string, string];
  const r = await ctx.discovery().resolveOne(type);
  const obj = (await ctx.rest().request<Pod & { spec?: { selector?: unknown } }>({ path: resourcePath(r, { namespace: ns, name }) })).body;
  if (r.group === '' && r.kind === 'Pod') return obj;
  const sel = (obj.spec as { selector?: { matchLabels?: Record<string, string> } | Record<string, string> } | undefined)?.selector;
  const labels = sel && 'matchLabels' in sel ? (sel.matchLabels as Record<string, string>) : (sel as Record<string, string> | undefined);
  const jobLabels = r.kind === 'Job' ? { 'batch.kubernetes.io/job-name': name } : undefined;
  const terms = Object.entries(labels ?? jobLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (terms.length === 0) throw new CliError(`cannot attach to ${r.kind.toLowerCase()}/${name}: selector for ${r.kind} not implemented`);
  const pods = (await ctx.rest().request<{ items?: Pod[] }>({ path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, query: { labelSelector: terms.join(',') } })).body.items ?? [];
  if (pods.length === 0) throw new CliError(`timed out waiting for the condition`);
  const rank = (p: Pod): number => (p.spec?.nodeName ? 0 : 4) + (p.status?.phase === 'Running' ? 0 : p.status?.phase === 'Pending' ? 1 : 2) + ((p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ? 0 : 1);
  pods.sort((a, b) => rank(a) - rank(b) || Date.parse(b.metadata?.creationTimestamp ?? '') - Date.parse(a.metadata?.creationTimestamp ?? ''));
  if (pods.length > 1) ctx.err(`Found ${pods.length} pods, using pod/${pods[0]!.metadata?.name ?? ''}\n`);
  return pods[0]!;
}
