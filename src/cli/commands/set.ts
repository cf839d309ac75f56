/**
 * `skiff set image|env|resources`: kubectl set. The pod spec of each object (pods, workloads, cron jobs) is
 * edited locally and sent as the strategic merge patch between the old and new object, as kubectl does.
 */
import type { ParsedFlags } from '../flags.ts';
import type { VerbCommand, VerbGroup } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import type { Info } from '../ops.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, noResourcesFound, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject, withoutManagedFields } from '../printers/objects.ts';

type Container = { name: string; image?: string; env?: { name: string; value?: string; valueFrom?: unknown }[]; resources?: { limits?: Record<string, string>; requests?: Record<string, string> } };
type PodSpec = { containers?: Container[]; initContainers?: Container[] };

/** The pod spec inside an object (kubectl's polymorphic UpdatePodSpecForObject). */
export function podSpecOf(obj: Obj): PodSpec | undefined {
  const spec = obj['spec'] as Record<string, unknown> | undefined;
  if (!spec) return undefined;
  switch (obj.kind) {
    case 'Pod':
      return spec as PodSpec;
    case 'CronJob':
      return ((spec['jobTemplate'] as { spec?: { template?: { spec?: PodSpec } } } | undefined)?.spec?.template?.spec);
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
    case 'StatefulSet':
    case 'Job':
    case 'ReplicationController':
      return (spec['template'] as { spec?: PodSpec } | undefined)?.spec;
    default:
      return undefined;
  }
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(s);
}

const common = [
  ...filenameFlags('identify the resource to update'),
  { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' } as const,
  { name: 'all', type: 'bool', usage: 'Select all resources, in the namespace of the specified resource types' } as const,
  { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If true, check the specified action in all namespaces.' } as const,
  { name: 'local', type: 'bool', usage: 'If true, set will NOT contact api-server but run locally.' } as const,
  { name: 'output', short: 'o', type: 'string', usage: 'Output format.' } as const,
  { name: 'field-manager', type: 'string', default: 'kubectl-set', usage: 'Name of the manager used to track field ownership.' } as const,
  dryRunFlag,
];

async function mutateAll(ctx: CliContext, f: ParsedFlags, resourceArgs: string[], verb: string, msg: string, mutate: (obj: Obj, info: Info) => void): Promise<void> {
  const dryRun = dryRunOf(f);
  const infos = await collectInfos(ctx, { ...f, args: resourceArgs }, { verb: `set ${verb}`, needObjects: true, allowEmpty: true });
  if (infos.length === 0) return noResourcesFound(ctx, f);
  const { typeNodeFor } = await import('../../api/openapi/type-node.ts');
  const { createThreeWayMergePatch } = await import('../apply/three-way.ts');
  const errors: unknown[] = [];
  for (const info of infos) {
    try {
      const before = info.obj!;
      const after = structuredClone(before);
      mutate(after, info);
      const schema = typeNodeFor({ group: info.resource.group, version: info.resource.version, kind: info.resource.kind });
      const patch = createThreeWayMergePatch(before as Record<string, unknown>, after as Record<string, unknown>, before as Record<string, unknown>, { schema });
      // kubectl set skips objects the change leaves as they are, silently.
      if (Object.keys(patch).length === 0 && f.values['local'] !== true && !f.values['output']) continue;
      let result: Obj = after;
      if (f.values['local'] !== true && dryRun !== 'client' && Object.keys(patch).length > 0) {
        result = (await ctx.rest().request<Obj>({ method: 'PATCH', path: infoPath(info), body: patch, contentType: 'application/strategic-merge-patch+json', query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
      }
      const output = String(f.values['output']);
      if (output) ctx.out(printObject(output, withoutManagedFields(result)));
      else ctx.out(opLine(info.resource, info.name, msg, dryRun));
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw new MultiError(errors);
}

const image: VerbCommand = {
  use: 'image (-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... CONTAINER_NAME_N=CONTAINER_IMAGE_N',
  short: 'Update the image of a pod template',
  flags: common,
  async run(ctx, f) {
    const resources = f.args.filter((a) => !a.includes('='));
    const pairs = f.args.filter((a) => a.includes('='));
    if (pairs.length === 0) throw new CliError('at least one image update is required');
    const images = pairs.map((p) => {
      const i = p.indexOf('=');
      return { name: p.slice(0, i), image: p.slice(i + 1) };
    });
    await mutateAll(ctx, f, resources, 'image', 'image updated', (obj) => {
      const spec = podSpecOf(obj);
      if (!spec) throw new CliError(`${obj.kind ?? ''} is not supported`);
      for (const { name, image: img } of images) {
        let found = false;
        for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
          if (name === '*' || c.name === name) {
            c.image = img;
            found = true;
          }
        }
        if (!found) throw new CliError(`unable to find container named ${JSON.stringify(name)}`);
      }
    });
  },
};

const env: VerbCommand = {
  use: 'env RESOURCE/NAME KEY_1=VAL_1 ... KEY_N=VAL_N',
  short: 'Update environment variables on a pod template',
  flags: [...common, { name: 'containers', short: 'c', type: 'string', default: '*', usage: 'The names of containers in the selected pod templates to change - may use wildcards' }, { name: 'list', type: 'bool', usage: 'If true, display the environment and any changes in the standard format.' }, { name: 'overwrite', type: 'bool', default: true, usage: 'If true, allow environment to be overwritten.' }],
  async run(ctx, f) {
    const resources: string[] = [];
    const set: { name: string; value: string }[] = [];
    const remove: string[] = [];
    for (const a of f.args) {
      if (a.includes('=')) {
        const i = a.indexOf('=');
        set.push({ name: a.slice(0, i), value: a.slice(i + 1) });
      } else if (a.endsWith('-') && resources.length > 0) remove.push(a.slice(0, -1));
      else resources.push(a);
    }
    const pattern = String(f.values['containers']);
    if (f.values['list'] === true) {
      const infos = await collectInfos(ctx, { ...f, args: resources }, { verb: 'set env', needObjects: true });
      for (const info of infos) {
        const spec = podSpecOf(info.obj!);
        for (const c of spec?.containers ?? []) {
          if (!globMatch(pattern, c.name)) continue;
          ctx.out(`# ${info.obj!.kind} ${info.name}, container ${c.name}\n`);
          for (const e of c.env ?? []) ctx.out(e.valueFrom ? `# ${e.name} from ${JSON.stringify(e.valueFrom)}\n` : `${e.name}=${e.value ?? ''}\n`);
        }
      }
      return;
    }
    if (set.length === 0 && remove.length === 0) throw new CliError('at least one environment variable must be provided');
    await mutateAll(ctx, f, resources, 'env', 'env updated', (obj) => {
      const spec = podSpecOf(obj);
      if (!spec) throw new CliError(`${obj.kind ?? ''} is not supported`);
      for (const c of spec.containers ?? []) {
        if (!globMatch(pattern, c.name)) continue;
        let list = [...(c.env ?? [])];
        for (const s of set) {
          const i = list.findIndex((e) => e.name === s.name);
          if (i >= 0) list[i] = { name: s.name, value: s.value };
          else list.push({ name: s.name, value: s.value });
        }
        list = list.filter((e) => !remove.includes(e.name));
        if (list.length > 0) c.env = list;
        else delete c.env;
      }
    });
  },
};

function parseResourceList(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const part of s.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new CliError(`invalid resource specification: ${part}`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

const resources: VerbCommand = {
  use: 'resources (-f FILENAME | TYPE NAME) ([--limits=LIMITS & --requests=REQUESTS]',
  short: 'Update resource requests/limits on objects with pod templates',
  flags: [...common, { name: 'containers', short: 'c', type: 'string', default: '*', usage: 'The names of containers in the selected pod templates to change.' }, { name: 'limits', type: 'string', usage: 'The resource requirement limits for this container.' }, { name: 'requests', type: 'string', usage: 'The resource requirement requests for this container.' }],
  async run(ctx, f) {
    const limits = parseResourceList(String(f.values['limits']));
    const requests = parseResourceList(String(f.values['requests']));
    if (Object.keys(limits).length === 0 && Object.keys(requests).length === 0) throw new CliError('you must specify an update to requests or limits (in the form of --requests/--limits)');
    const pattern = String(f.values['containers']);
    await mutateAll(ctx, f, f.args, 'resources', 'resource requirements updated', (obj) => {
      const spec = podSpecOf(obj);
      if (!spec) throw new CliError(`${obj.kind ?? ''} is not supported`);
      let found = false;
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        if (!globMatch(pattern, c.name)) continue;
        found = true;
        const r = (c.resources ??= {});
        if (Object.keys(limits).length > 0) r.limits = { ...(r.limits ?? {}), ...limits };
        if (Object.keys(requests).length > 0) r.requests = { ...(r.requests ?? {}), ...requests };
      }
      if (!found) throw new CliError(`unable to find container named ${pattern}`);
    });
  },
};

/** `skiff set`. */
export const command: VerbGroup = {
  use: 'set SUBCOMMAND',
  short: 'Configure application resources.',
  subcommands: { image, env, resources },
};
