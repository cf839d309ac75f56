/**
 * `skiff run`: kubectl run (one pod: --image, --labels (default run=NAME), --env, --port, --restart,
 * --command, args after `--`, --annotations, --image-pull-policy, --overrides as a JSON merge, --expose with
 * --port creating a ClusterIP service), --dry-run and -o. Attaching (-i/-t/--attach/--rm) needs the streaming
 * client and is refused with a clear message.
 */
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import type { Obj } from '../printers/objects.ts';
import { outputKind, printObject } from '../printers/objects.ts';
import { goJson } from '../printers/encode.ts';
import { dryRunFlag, dryRunOf, dryRunQuery, opLine } from '../ops.ts';
import { objectMeta, parseLabels, runPodObject } from '../generators.ts';
import type { ApiResourceInfo } from '../discovery.ts';

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
    dryRunFlag,
  ],
  async run(ctx, f) {
    const names = f.dashAt >= 0 ? f.args.slice(0, f.dashAt) : f.args;
    const rest = f.dashAt >= 0 ? f.args.slice(f.dashAt) : f.args.slice(1);
    if (names.length === 0) throw new CliError("NAME is required for run\nSee 'kubectl run -h' for help and examples");
    const name = names[0]!;
    const image = String(f.values['image']);
    if (!image) throw new CliError('--image is required');
    if (f.values['stdin'] === true || f.values['tty'] === true || f.values['attach'] === true || f.values['rm'] === true) {
      if (f.values['rm'] === true && f.values['stdin'] !== true && f.values['attach'] !== true) throw new CliError('--rm should only be used for attached containers');
    }
    const dryRun = dryRunOf(f);
    const restart = String(f.values['restart']);
    if (!['Always', 'OnFailure', 'Never'].includes(restart)) throw new CliError(`invalid restart policy: ${restart}`);
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
      stdin: f.values['stdin'] === true,
      tty: f.values['tty'] === true,
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
    if (f.values['expose'] === true) {
      const svc: Obj = { kind: 'Service', apiVersion: 'v1', metadata: objectMeta(name, { namespace: ctx.namespace() }), spec: { ports: [{ protocol: 'TCP', port, targetPort: port }], selector: labels }, status: { loadBalancer: {} } } as Obj;
      const svcResource = await ctx.discovery().forKind('v1', 'Service');
      let created = svc;
      if (dryRun !== 'client') created = (await ctx.rest().request<Obj>({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(ctx.namespace())}/services`, body: svc, query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
      printBuilt(ctx, svcResource, name, created, { output, op: 'created', dryRun, typed: dryRun === 'client' });
    }
    let created = pod;
    if (dryRun !== 'client') {
      created = (await ctx.rest().request<Obj>({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(ctx.namespace())}/pods`, body: pod, query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
    }
    printBuilt(ctx, podResource, name, created, { output, op: 'created', dryRun, typed: dryRun === 'client' });
    if (f.values['attach'] === true || f.values['stdin'] === true) {
      throw new CliError('attaching to the pod is not supported by this skiff build yet; use `skiff logs -f` once it is running');
    }
  },
};

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
