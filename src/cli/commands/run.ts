/**
 * `skiff run`: kubectl run (one pod: --image, --labels (default run=NAME), --env, --port, --restart,
 * --command, args after `--`, --annotations, --image-pull-policy, --overrides as a JSON merge, --expose with
 * --port creating a ClusterIP service), --dry-run and -o; and attached runs (-i/-t/--attach/--rm) as kubectl's
 * RunOptions.Run does them: wait for the pod to run (or print its logs when it already finished), attach, then
 * with --restart=Never/OnFailure wait for the pod to finish and exit with the container's code; --rm deletes what
 * was created on the way out, printing `pod "x" deleted`.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import type { Obj } from '../printers/objects.ts';
import { outputKind, printObject } from '../printers/objects.ts';
import { goJson } from '../printers/encode.ts';
import { dryRunFlag, dryRunOf, dryRunQuery, opLine } from '../ops.ts';
import { objectMeta, parseLabels, runPodObject } from '../generators.ts';
import type { ApiResourceInfo } from '../discovery.ts';
import { kindGroup } from '../discovery.ts';
import { parseDuration } from '../flags.ts';
import { isNotFound } from '../../client/index.ts';
import type { Check } from '../waiter.ts';

/** Prints an object kubectl built itself (typed: struct order for JSON) or the server's answer. */
export function printBuilt(ctx: CliContext, r: ApiResourceInfo, name: string, obj: Obj, o: { output: string; op: string; dryRun: ReturnType<typeof dryRunOf>; typed: boolean }): void {
  if (!o.output) return void ctx.out(opLine(r, name, o.op, o.dryRun));
  if (o.typed && outputKind(o.output) === 'json') return void ctx.out(`${goJson(obj, { sortKeys: false })}\n`);
  let shown = obj;
  if (shown.metadata?.managedFields) {
    const { managedFields: _m, ...meta } = shown.metadata;
    shown = { ...shown, metadata: meta };
  }
  ctx.out(printObject(o.output, shown));
}

/** `skiff run`. */
export const command: VerbCommand = {
  use: 'run NAME --image=image [--env="key=value"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...]',
  short: 'Run a particular image on the cluster.',
  flags: [
    { name: 'image', type: 'string', usage: 'The image for the container to run.' },
    { name: 'labels', short: 'l', type: 'string', usage: 'Comma separated labels to apply to the pod. Will override previous values.' },
    { name: 'env', type: 'stringArray', usage: 'Environment variables to set in the container.' },
    { name: 'port', type: 'string', usage: "The port that this container exposes." },
    { name: 'restart', type: 'string', default: 'Always', usage: 'The restart policy for this Pod.  Legal values [Always, OnFailure, Never].' },
    { name: 'command', type: 'bool', usage: 'If true and extra arguments are present, use them as the \'command\' field in the container, rather than the \'args\' field which is the default.' },
    { name: 'annotations', type: 'stringArray', usage: 'Annotations to apply to the pod.' },
    { name: 'image-pull-policy', type: 'string', usage: 'The image pull policy for the container.' },
    { name: 'overrides', type: 'string', usage: 'An inline JSON override for the generated object.' },
    { name: 'expose', type: 'bool', usage: 'If true, create a ClusterIP service associated with the pod.' },
    { name: 'stdin', short: 'i', type: 'bool', usage: 'Keep stdin open on the container in the pod, even if nothing is attached.' },
    { name: 'tty', short: 't', type: 'bool', usage: 'Allocate a TTY for the container in the pod.' },
    { name: 'attach', type: 'bool', usage: 'If true, wait for the Pod to start running, and then attach to the Pod as if \'kubectl attach ...\' were called.' },
    { name: 'rm', type: 'bool', usage: 'If true, delete the pod after it exits.' },
    { name: 'quiet', short: 'q', type: 'bool', usage: 'If true, suppress prompt messages.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-run', usage: 'Name of the manager used to track field ownership.' },
    { name: 'privileged', type: 'bool', usage: 'If true, run the container in privileged mode.' },
    { name: 'leave-stdin-open', type: 'bool', usage: 'If the pod is started in interactive mode or with stdin, leave stdin open after the first attach completes. By default, stdin will be closed after the first attach completes.' },
    { name: 'pod-running-timeout', type: 'duration', default: '1m0s', usage: 'The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const names = f.dashAt >= 0 ? f.args.slice(0, f.dashAt) : f.args;
    const rest = f.dashAt >= 0 ? f.args.slice(f.dashAt) : f.args.slice(1);
    if (names.length === 0) throw new CliError("NAME is required for run\nSee 'kubectl run -h' for help and examples");
    const name = names[0]!;
    const image = String(f.values['image']);
    if (!image) throw new CliError('--image is required');
    const interactive = f.values['stdin'] === true;
    // kubectl: --attach defaults to true with -i unless given explicitly.
    const attach = f.changed.has('attach') ? f.values['attach'] === true : interactive;
    if (f.values['tty'] === true && !interactive) throw usage('-i/--stdin is required for containers with -t/--tty=true');
    if (f.values['expose'] === true && !String(f.values['port'])) throw usage('--port must be set when exposing a service');
    const dryRun = dryRunOf(f);
    const restart = String(f.values['restart']) || (interactive ? 'OnFailure' : 'Always');
    if (!['Always', 'OnFailure', 'Never'].includes(restart)) throw usage(`invalid restart policy: ${restart}`);
    if (!attach && f.values['rm'] === true) throw usage('--rm should only be used for attached containers');
    if (attach && dryRun !== 'none') throw usage("--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)");
    const pullPolicy = String(f.values['image-pull-policy']);
    if (pullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(pullPolicy)) throw usage(`invalid image pull policy: ${pullPolicy}`);
    const labels = f.values['labels'] ? parseLabels(String(f.values['labels'])) : { run: name };
    const env = (f.values['env'] as string[]).map((e) => {
      const i = e.indexOf('=');
      if (i <= 0) throw new CliError(`invalid env: ${e}`);
      return { name: e.slice(0, i), value: e.slice(i + 1) };
    });
    const annotations: Record<string, string> = {};
    for (const a of f.values['annotations'] as string[]) {
      const i = a.indexOf('=');
      if (i <= 0) throw new CliError(`invalid annotation spec: ${a}`);
      annotations[a.slice(0, i)] = a.slice(i + 1);
    }
    const portText = String(f.values['port']);
    const port = portText ? Number(portText) : -1;
    if (f.values['expose'] === true && port <= 0) throw new CliError('--port must be set when exposing a service');
    const useCommand = f.values['command'] === true;
    let pod = runPodObject(name, ctx.namespace(), {
      image,
      labels,
      env,
      port,
      command: useCommand ? rest : [],
      args: useCommand ? [] : rest,
      restart,
      stdin: interactive,
      tty: f.values['tty'] === true,
      leaveStdinOpen: f.values['leave-stdin-open'] === true,
      annotations,
      imagePullPolicy: String(f.values['image-pull-policy']),
    });
    if (f.values['privileged'] === true) {
      const c = ((pod['spec'] as { containers: Record<string, unknown>[] }).containers[0]!);
      c['securityContext'] = { privileged: true };
    }
    if (f.values['overrides']) {
      pod = mergeJson(pod, JSON.parse(String(f.values['overrides'])) as Obj);
    }
    const podResource = await ctx.discovery().forKind('v1', 'Pod');
    const output = String(f.values['output']);
    const created: { resource: ApiResourceInfo; name: string }[] = [];
    let createdPod = pod;
    if (dryRun !== 'client') {
      createdPod = (await ctx.rest().request<Obj>({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(ctx.namespace())}/pods`, body: pod, query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
      created.push({ resource: podResource, name });
    }
    if (f.values['expose'] === true) {
      const svc: Obj = { kind: 'Service', apiVersion: 'v1', metadata: objectMeta(name, { namespace: ctx.namespace() }), spec: { ports: [{ protocol: 'TCP', port, targetPort: port }], selector: labels }, status: { loadBalancer: {} } } as Obj;
      const svcResource = await ctx.discovery().forKind('v1', 'Service');
      let createdSvc = svc;
      if (dryRun !== 'client') {
        createdSvc = (await ctx.rest().request<Obj>({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(ctx.namespace())}/services`, body: svc, query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
        created.push({ resource: svcResource, name });
      }
      printBuilt(ctx, svcResource, name, createdSvc, { output, op: 'created', dryRun, typed: dryRun === 'client' });
      if (output === 'yaml') ctx.out('---\n');
    }
    if (!attach) {
      printBuilt(ctx, podResource, name, createdPod, { output, op: 'created', dryRun, typed: dryRun === 'client' });
      return;
    }
    try {
      return await attachRun(ctx, createdPod as Pod, {
        restart,
        interactive,
        tty: f.values['tty'] === true,
        quiet: f.values['quiet'] === true,
        leaveStdinOpen: f.values['leave-stdin-open'] === true,
        timeoutMs: parseDuration(String(f.values['pod-running-timeout'])) ?? 60_000,
      });
    } finally {
      if (f.values['rm'] === true) await removeCreated(ctx, created, f.values['quiet'] === true);
    }
  },
};

/** kubectl's RunOptions.removeCreatedObjects: background deletion, not-found ignored, `kind "name" deleted`. */
async function removeCreated(ctx: CliContext, created: { resource: ApiResourceInfo; name: string }[], quiet: boolean): Promise<void> {
  const { resourcePath } = await import('../resource-args.ts');
  for (const c of created) {
    try {
      await ctx.rest().request({ method: 'DELETE', path: resourcePath(c.resource, { namespace: ctx.namespace(), name: c.name }), body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      if (!quiet) ctx.out(`${kindGroup(c.resource)} "${c.name}" deleted\n`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** A pod that was deleted while waited on: client-go's NewNotFound for pods with an empty name. */
function podGone(): Error {
  return new CliError('Error from server (NotFound): pods "" not found', { raw: true });
}

const podRunningAndReady: Check = (obj) => {
  if (!obj) return { done: false, error: podGone() };
  const p = obj as Pod;
  if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') return { done: true };
  if (p.status?.phase === 'Running') return { done: (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') };
  return { done: false };
};

const podCompleted: Check = (obj) => {
  if (!obj) return { done: false, error: podGone() };
  const phase = (obj as Pod).status?.phase;
  return { done: phase === 'Succeeded' || phase === 'Failed' };
};

const podSucceeded: Check = (obj) => {
  if (!obj) return { done: false, error: podGone() };
  return { done: (obj as Pod).status?.phase === 'Succeeded' };
};

async function waitForPod(ctx: CliContext, pod: Pod, check: Check, timeoutMs: number): Promise<Pod> {
  const { waitForObject } = await import('../waiter.ts');
  const podResource = await ctx.discovery().forKind('v1', 'Pod');
  let last: Pod | undefined;
  const ok = await waitForObject(ctx, { resource: podResource, namespace: pod.metadata?.namespace ?? ctx.namespace(), name: pod.metadata?.name ?? '' }, (obj) => {
    last = obj as Pod | undefined;
    return check(obj);
  }, { timeoutMs });
  if (!ok || !last) throw new CliError('timed out waiting for the condition');
  return last;
}

/** kubectl's attached run: wait, attach (or logs), then the exit code by restart policy. */
async function attachRun(ctx: CliContext, created: Pod, o: { restart: string; interactive: boolean; tty: boolean; quiet: boolean; leaveStdinOpen: boolean; timeoutMs: number }): Promise<number | void> {
  const ready = await waitForPod(ctx, created, podRunningAndReady, o.timeoutMs);
  const { attachToPod } = await import('./attach.ts');
  const { pickContainer } = await import('./exec.ts');
  const name = created.metadata?.name ?? '';
  const printLogs = async (): Promise<void> => {
    const container = pickContainer(ctx, ready, '', o.quiet);
    const res = await ctx.rest().request<string>({ path: `/api/v1/namespaces/${encodeURIComponent(ready.metadata?.namespace ?? '')}/pods/${encodeURIComponent(name)}/log`, query: { container }, accept: '*/*' });
    ctx.out(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
  };
  if (ready.status?.phase === 'Succeeded' || ready.status?.phase === 'Failed') {
    await printLogs();
  } else {
    try {
      await attachToPod(ctx, ready, { container: '', stdin: o.interactive, tty: o.tty, quiet: o.quiet, commandName: `${ctx.commandPath} attach` });
    } catch (e) {
      ctx.err(`warning: couldn't attach to pod/${name}, falling back to streaming logs: ${e instanceof Error ? e.message : String(e)}\n`);
      await printLogs();
    }
  }
  if (o.leaveStdinOpen || (o.restart !== 'Never' && o.restart !== 'OnFailure')) return;
  const done = await waitForPod(ctx, created, o.restart === 'OnFailure' ? podSucceeded : podCompleted, o.timeoutMs);
  const ns = done.metadata?.namespace ?? '';
  if (done.status?.phase === 'Succeeded') return;
  if (done.status?.phase === 'Failed') {
    const term = done.status.containerStatuses?.[0]?.state?.terminated;
    if (!term || term.exitCode === 0) throw new CliError(`pod ${ns}/${name} failed with unknown exit code`);
    throw new CliError(`pod ${ns}/${name} terminated (${term.reason ?? ''})\n${term.message ?? ''}`, { exitCode: term.exitCode, raw: true });
  }
  throw new CliError(`pod ${ns}/${name} left in phase ${done.status?.phase ?? ''}`);
}

/** kubectl run's validation failures are usage errors: the message and the help hint. */
function usage(message: string): CliError {
  return new CliError(`${message}\nSee 'kubectl run -h' for help and examples`);
}

function mergeJson(base: Obj, patch: Obj): Obj {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (v === null) delete out[k];
    else if (b && typeof b === 'object' && !Array.isArray(b) && typeof v === 'object' && !Array.isArray(v)) out[k] = mergeJson(b as Obj, v as Obj);
    else out[k] = v;
  }
  return out as Obj;
}
