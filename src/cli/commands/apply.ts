/**
 * `skiff apply`: kubectl apply. Client-side (default): the object is stored with the last-applied-configuration
 * annotation, and an existing object is moved to the file's content by the three-way strategic merge patch
 * kubectl computes (last-applied, file, live; JSON merge patch for kinds without a schema), retried on
 * conflicts. `--server-side` sends an apply patch (field manager "kubectl", `--force-conflicts`). `--prune -l`
 * deletes previously applied objects that are no longer in the files. `--dry-run=client|server`.
 */
import type { ParsedFlags } from '../flags.ts';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { ApiError, isConflict, isNotFound } from '../../client/index.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags, readManifests } from '../manifests.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject, withoutManagedFields } from '../printers/objects.ts';
import { goJson } from '../printers/encode.ts';
import type { DryRun, Info } from '../ops.ts';
import { addSourceToErr, dryRunFlag, dryRunOf, dryRunQuery, infoForObject, infoPath, opLine } from '../ops.ts';
import { resourcePath } from '../resource-args.ts';
import { resourceGroup } from '../discovery.ts';

/** The annotation client-side apply keeps the applied configuration in. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** `skiff apply`. */
export const command: VerbCommand = {
  use: 'apply (-f FILENAME | -k DIRECTORY)',
  short: 'Apply a configuration to a resource by file name or stdin.',
  flags: [
    ...filenameFlags('apply'),
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    dryRunFlag,
    { name: 'server-side', type: 'bool', usage: 'If true, apply runs in the server instead of the client.' },
    { name: 'force-conflicts', type: 'bool', usage: 'If true, server-side apply will force the changes against conflicts.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-client-side-apply', usage: 'Name of the manager used to track field ownership.' },
    { name: 'prune', type: 'bool', usage: 'Automatically delete resource objects, that do not appear in the configs and are created by either apply or create --save-config.' },
    { name: 'prune-allowlist', type: 'stringArray', usage: 'Overwrite the default allowlist with <group/version/kind> for --prune' },
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'all', type: 'bool', usage: 'Select all resources in the namespace of the specified resource types.' },
    { name: 'overwrite', type: 'bool', default: true, usage: 'Automatically resolve conflicts between the modified and live configuration by using values from the modified configuration' },
    { name: 'force', type: 'bool', usage: 'If true, immediately remove resources from API and bypass graceful deletion.' },
    { name: 'validate', type: 'string', default: 'strict', noOptDefault: 'strict', usage: 'Must be one of: strict (or true), warn, ignore (or false).' },
    { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
    { name: 'wait', type: 'bool', usage: 'If true, wait for resources to be gone before returning. This waits for finalizers.' },
    { name: 'timeout', type: 'duration', default: '0s', usage: 'The length of time to wait before giving up on a delete.' },
    { name: 'cascade', type: 'string', default: 'background', noOptDefault: 'background', usage: 'Must be "background", "orphan", or "foreground".' },
    { name: 'grace-period', type: 'int', default: -1, usage: 'Period of time in seconds given to the resource to terminate gracefully.' },
  ],
  async run(ctx, f) {
    const filenames = (f.values['filename'] as string[]) ?? [];
    if (filenames.length === 0) throw new CliError('must specify one of -f and -k');
    if (f.args.length > 0) throw new CliError(`Unexpected args: [${f.args.join(' ')}]\nSee 'kubectl apply -h' for help and examples`);
    const dryRun = dryRunOf(f);
    const serverSide = f.values['server-side'] === true;
    const prune = f.values['prune'] === true;
    const selector = String(f.values['selector']);
    if (f.values['force-conflicts'] === true && !serverSide) throw new CliError('--force-conflicts only works with --server-side');
    if (prune && !selector && f.values['all'] !== true) {
      throw new CliError('all resources selected for prune without explicitly passing --all. To prune all resources, pass the --all flag. If you did not mean to prune all resources, specify a label selector');
    }
    if (serverSide && dryRun === 'client') throw new CliError('--dry-run=client doesn\'t work with --server-side (did you mean --dry-run=server instead?)');
    const manifests = await readManifests(ctx, { filenames, recursive: f.values['recursive'] === true });
    const errors: unknown[] = [];
    const applied: Info[] = [];
    let count = 0;
    for (const m of manifests) {
      if (selector && !labelsMatch(m.obj.metadata?.['labels'] as Record<string, string> | undefined, selector)) continue;
      count++;
      try {
        const info = await infoForObject(ctx, m.obj, m.source);
        applied.push(info);
        if (serverSide) await applyServerSide(ctx, info, { f, dryRun });
        else await applyClientSide(ctx, info, { f, dryRun });
      } catch (e) {
        if (e instanceof CliError && e.raw) throw e;
        errors.push(e);
      }
    }
    if (count === 0 && errors.length === 0) throw new CliError('no objects passed to apply');
    if (prune && errors.length === 0) await pruneObjects(ctx, applied, { selector, dryRun, f });
    if (errors.length > 0) throw new MultiError(errors);
  },
};

function labelsMatch(labels: Record<string, string> | undefined, selector: string): boolean {
  const l = labels ?? {};
  return selector.split(',').every((t) => {
    const term = t.trim();
    if (term.includes('!=')) {
      const [k, v] = term.split('!=') as [string, string];
      return l[k] !== v;
    }
    if (term.includes('=')) {
      const [k, v] = term.split(/==?/) as [string, string];
      return l[k] === v;
    }
    return term.startsWith('!') ? !(term.slice(1) in l) : term in l;
  });
}

/** kubectl's GetModifiedConfiguration: the object with its own serialization as the last-applied annotation. */
export function modifiedConfiguration(obj: Obj): { modified: Obj; annotation: string } {
  const copy = structuredClone(obj);
  const meta = (copy.metadata ??= {});
  const annotations = { ...((meta['annotations'] as Record<string, string> | undefined) ?? {}) };
  delete annotations[LAST_APPLIED];
  // An empty (non-nil) annotations map is kept, so last-applied shows `"annotations":{}` as kubectl's does.
  meta['annotations'] = annotations;
  const annotation = `${goJson(copy, { indent: 0 })}\n`;
  meta['annotations'] = { ...annotations, [LAST_APPLIED]: annotation };
  return { modified: copy, annotation };
}

async function applyClientSide(ctx: CliContext, info: Info, o: { f: ParsedFlags; dryRun: DryRun }): Promise<void> {
  const { modified } = modifiedConfiguration(info.obj!);
  const output = String(o.f.values['output']);
  const fieldManager = String(o.f.values['field-manager'] || 'kubectl-client-side-apply');
  const print = (obj: Obj, op: string): void => {
    if (output) ctx.out(printObject(output, o.f.values['show-managed-fields'] === true ? obj : withoutManagedFields(obj)));
    else ctx.out(opLine(info.resource, info.name, op, o.dryRun));
  };
  for (let attempt = 0; ; attempt++) {
    let current: Obj;
    try {
      current = (await ctx.rest().request<Obj>({ path: infoPath(info) })).body;
    } catch (e) {
      if (!isNotFound(e)) throw addSourceToErr(e, `retrieving current configuration of:\nResource: "${info.resource.group}/${info.resource.version}, Resource=${info.resource.name}", GroupVersionKind: "${info.resource.group}/${info.resource.version}, Kind=${info.resource.kind}"\nName: "${info.name}", Namespace: "${info.namespace}"\nfrom server for:`, info.source);
      if (o.dryRun === 'client') return print(modified, 'created');
      let created: Obj;
      try {
        created = (await ctx.rest().request<Obj>({ method: 'POST', path: resourcePath(info.resource, { namespace: info.namespace || undefined }), body: modified, query: { fieldManager, ...dryRunQuery(o.dryRun) } })).body;
      } catch (err) {
        throw addSourceToErr(err, 'creating', info.source);
      }
      return print(created, 'created');
    }
    // kubectl computes nothing for an existing object on a client dry run: it always reports "configured".
    if (o.dryRun === 'client') return print(current, 'configured');
    const annotations = (current.metadata?.['annotations'] ?? {}) as Record<string, string>;
    const originalText = annotations[LAST_APPLIED];
    if (originalText === undefined && attempt === 0) {
      ctx.err(
        `Warning: resource ${resourceGroup(info.resource)}/${info.name} is missing the ${LAST_APPLIED} annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n`,
      );
    }
    let original: Record<string, unknown> | undefined;
    try {
      original = originalText ? (JSON.parse(originalText) as Record<string, unknown>) : undefined;
    } catch {
      original = undefined;
    }
    const { typeNodeFor } = await import('../../api/openapi/type-node.ts');
    const { createThreeWayMergePatch } = await import('../apply/three-way.ts');
    const schema = typeNodeFor({ group: info.resource.group, version: info.resource.version, kind: info.resource.kind });
    const patch = createThreeWayMergePatch(original, modified as Record<string, unknown>, current as Record<string, unknown>, { schema });
    if (Object.keys(patch).length === 0) return print(current, 'unchanged');
    try {
      const res = await ctx.rest().request<Obj>({
        method: 'PATCH',
        path: infoPath(info),
        body: patch,
        contentType: schema ? 'application/strategic-merge-patch+json' : 'application/merge-patch+json',
        query: { fieldManager, ...dryRunQuery(o.dryRun) },
      });
      return print(res.body, 'configured');
    } catch (e) {
      if (isConflict(e) && attempt < 4) continue;
      throw addSourceToErr(e, `applying patch:\n${JSON.stringify(patch)}\nto:\nResource: "${info.resource.group}/${info.resource.version}, Resource=${info.resource.name}", GroupVersionKind: "${info.resource.group}/${info.resource.version}, Kind=${info.resource.kind}"\nName: "${info.name}", Namespace: "${info.namespace}"\nfor:`, info.source);
    }
  }
}

const CONFLICT_HELP = `
Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the \`--force-conflicts\` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts`;

async function applyServerSide(ctx: CliContext, info: Info, o: { f: ParsedFlags; dryRun: DryRun }): Promise<void> {
  const manager = o.f.changed.has('field-manager') ? String(o.f.values['field-manager']) : 'kubectl';
  const output = String(o.f.values['output']);
  try {
    const res = await ctx.rest().request<Obj>({
      method: 'PATCH',
      path: infoPath(info),
      body: JSON.stringify(info.obj),
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: manager, force: o.f.values['force-conflicts'] === true ? true : undefined, ...dryRunQuery(o.dryRun) },
    });
    if (output) ctx.out(printObject(output, o.f.values['show-managed-fields'] === true ? res.body : withoutManagedFields(res.body)));
    else ctx.out(opLine(info.resource, info.name, 'serverside-applied', o.dryRun));
  } catch (e) {
    if (e instanceof ApiError && e.code === 409 && e.reason === 'Conflict' && /^Apply failed with/.test(e.message)) {
      throw new CliError(`${e.message}${CONFLICT_HELP}`);
    }
    throw addSourceToErr(e, 'patching', info.source);
  }
}

/** kubectl's default prune allowlist (group/version/kind). */
const PRUNE_DEFAULTS = [
  '/v1/ConfigMap', '/v1/Endpoints', '/v1/Namespace', '/v1/PersistentVolumeClaim', '/v1/PersistentVolume', '/v1/Pod', '/v1/ReplicationController', '/v1/Secret', '/v1/Service',
  'batch/v1/Job', 'batch/v1/CronJob', 'networking.k8s.io/v1/Ingress', 'apps/v1/DaemonSet', 'apps/v1/Deployment', 'apps/v1/ReplicaSet', 'apps/v1/StatefulSet',
];

async function pruneObjects(ctx: CliContext, applied: Info[], o: { selector: string; dryRun: DryRun; f: ParsedFlags }): Promise<void> {
  const visitedNs = new Set(applied.filter((i) => i.resource.namespaced).map((i) => i.namespace));
  const keep = new Set(applied.map((i) => `${i.resource.group}/${i.resource.kind}/${i.namespace}/${i.name}`));
  const allow = ((o.f.values['prune-allowlist'] as string[]) ?? []).length > 0 ? (o.f.values['prune-allowlist'] as string[]).map((s) => (s.split('/').length === 2 ? `/${s}` : s)) : PRUNE_DEFAULTS;
  for (const gvk of allow) {
    const parts = gvk.split('/');
    const kind = parts.pop()!;
    const version = parts.pop()!;
    const g = parts.join('/');
    const group = g === 'core' ? '' : g;
    let r;
    try {
      r = await ctx.discovery().forKind(group ? `${group}/${version}` : version, kind);
    } catch {
      continue;
    }
    const namespaces = r.namespaced ? [...visitedNs] : [undefined];
    for (const ns of namespaces) {
      const list = (await ctx.rest().request<{ items?: Obj[] }>({ path: resourcePath(r, { namespace: ns }), query: { labelSelector: o.selector || undefined } })).body.items ?? [];
      for (const obj of list) {
        const name = obj.metadata?.name ?? '';
        const annotations = (obj.metadata?.['annotations'] ?? {}) as Record<string, string>;
        if (annotations[LAST_APPLIED] === undefined) continue;
        if (keep.has(`${r.group}/${r.kind}/${ns ?? ''}/${name}`)) continue;
        if (o.dryRun !== 'client') {
          await ctx.rest().request({ method: 'DELETE', path: resourcePath(r, { namespace: ns, name }), body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' }, query: dryRunQuery(o.dryRun) });
        }
        ctx.out(opLine(r, name, 'pruned', o.dryRun));
      }
    }
  }
}
