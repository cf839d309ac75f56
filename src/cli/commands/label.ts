/**
 * `skiff label` and `skiff annotate` (kubectl's label/annotate): `key=value` and `key-` updates applied with a
 * JSON merge patch on metadata, --overwrite rules and their messages, --list, --all, -l, -f, --local,
 * --resource-version, --dry-run and -o.
 */
import type { ParsedFlags } from '../flags.ts';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import type { Info } from '../ops.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, noResourcesFound, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject, withoutManagedFields } from '../printers/objects.ts';
import { goJson } from '../printers/encode.ts';

type Field = 'labels' | 'annotations';

function makeCommand(field: Field): VerbCommand {
  const verb = field === 'labels' ? 'label' : 'annotate';
  return {
    use: `${verb} [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]`,
    short: field === 'labels' ? 'Update the labels on a resource.' : 'Update the annotations on a resource.',
    flags: [
      ...filenameFlags(`update the ${field}`),
      { name: 'overwrite', type: 'bool', usage: `If true, allow ${field} to be overwritten, otherwise reject ${field} updates that overwrite existing ${field}.` },
      { name: 'list', type: 'bool', usage: `If true, display the ${field} for a given resource.` },
      { name: 'local', type: 'bool', usage: `If true, ${verb} will NOT contact api-server but run locally.` },
      { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
      { name: 'field-selector', type: 'string', usage: 'Selector (field query) to filter on.' },
      { name: 'all', type: 'bool', usage: 'Select all resources, in the namespace of the specified resource types' },
      { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If true, check the specified action in all namespaces.' },
      { name: 'resource-version', type: 'string', usage: 'If non-empty, the update will only succeed if this is the current resource-version for the object.' },
      { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
      { name: 'field-manager', type: 'string', default: `kubectl-${verb}`, usage: 'Name of the manager used to track field ownership.' },
      { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
      dryRunFlag,
    ],
    async run(ctx, f) {
      return runLabel(ctx, f, field);
    },
  };
}

/** Splits the arguments into resource arguments and `k=v` / `k-` updates (kubectl's parseLabels). */
export function splitUpdates(args: string[], field: Field): { resources: string[]; set: Record<string, string>; remove: string[] } {
  const resources: string[] = [];
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    if (a.includes('=')) {
      const i = a.indexOf('=');
      const k = a.slice(0, i);
      if (Object.hasOwn(set, k)) throw new CliError(`can not both modify and remove the following ${field === 'labels' ? 'label' : 'annotation'}(s) in the same command: ${k}`);
      set[k] = a.slice(i + 1);
    } else if (a.endsWith('-') && resources.length > 0) {
      remove.push(a.slice(0, -1));
    } else {
      resources.push(a);
    }
  }
  for (const k of remove) if (Object.hasOwn(set, k)) throw new CliError(`can not both modify and remove the following ${field === 'labels' ? 'label' : 'annotation'}(s) in the same command: ${k}`);
  return { resources, set, remove };
}

async function runLabel(ctx: CliContext, f: ParsedFlags, field: Field): Promise<void> {
  const verb = field === 'labels' ? 'label' : 'annotate';
  const { resources, set, remove } = splitUpdates(f.args, field);
  const list = f.values['list'] === true;
  if (!list && Object.keys(set).length === 0 && remove.length === 0) throw new CliError(`at least one ${field === 'labels' ? 'label' : 'annotation'} update is required`);
  const dryRun = dryRunOf(f);
  const infos = await collectInfos(ctx, { ...f, args: resources }, { verb, needObjects: true, allowEmpty: true });
  if (infos.length === 0) return noResourcesFound(ctx, f);
  const errors: unknown[] = [];
  for (const info of infos) {
    try {
      await labelOne(ctx, info, { f, field, set, remove, list, dryRun });
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw new MultiError(errors);
}

async function labelOne(
  ctx: CliContext,
  info: Info,
  o: { f: ParsedFlags; field: Field; set: Record<string, string>; remove: string[]; list: boolean; dryRun: ReturnType<typeof dryRunOf> },
): Promise<void> {
  let obj = info.obj;
  if (!obj || obj.metadata?.['resourceVersion'] === undefined) obj = (await ctx.rest().request<Obj>({ path: infoPath(info) })).body;
  const current = { ...((obj.metadata?.[o.field] as Record<string, string> | undefined) ?? {}) };
  if (o.list) {
    for (const k of Object.keys(current).sort()) ctx.out(`${k}=${current[k]}\n`);
    return;
  }
  const overwrite = o.f.values['overwrite'] === true;
  if (!overwrite) {
    const clash = Object.keys(o.set).filter((k) => Object.hasOwn(current, k) && current[k] !== o.set[k]);
    if (clash.length > 0) {
      if (o.field === 'labels') throw new CliError(`'${clash[0]}' already has a value (${current[clash[0]!]}), and --overwrite is false`);
      throw new CliError(`--overwrite is false but found the following declared annotation(s): ${clash.map((k) => `'${k}' already has a value (${current[k]})`).join('; ')}`);
    }
  }
  const next = { ...current, ...o.set };
  for (const k of o.remove) {
    if (!Object.hasOwn(next, k)) ctx.out(`${o.field === 'labels' ? 'label' : 'annotation'} ${JSON.stringify(k)} not found.\n`);
    delete next[k];
  }
  const patchMeta: Record<string, unknown> = {};
  const delta: Record<string, string | null> = {};
  for (const k of Object.keys(next)) if (current[k] !== next[k]) delta[k] = next[k]!;
  for (const k of Object.keys(current)) if (!Object.hasOwn(next, k)) delta[k] = null;
  if (Object.keys(delta).length > 0) patchMeta[o.field] = delta;
  const rv = String(o.f.values['resource-version']);
  if (rv) patchMeta['resourceVersion'] = rv;
  const oldText = goJson(current, { indent: 0 });
  const newText = goJson(next, { indent: 0 });
  let msg = o.field === 'annotations' ? 'annotated' : 'not labeled';
  if (o.field === 'labels' && oldText !== newText) msg = !overwrite && newText.length < oldText.length ? 'unlabeled' : 'labeled';
  let result: Obj = { ...obj, metadata: { ...obj.metadata, [o.field]: next } };
  if (o.f.values['local'] !== true && o.dryRun !== 'client' && Object.keys(patchMeta).length > 0) {
    result = (
      await ctx.rest().request<Obj>({
        method: 'PATCH',
        path: infoPath(info),
        body: { metadata: patchMeta },
        contentType: 'application/merge-patch+json',
        query: { fieldManager: String(o.f.values['field-manager']), ...dryRunQuery(o.dryRun) },
      })
    ).body;
  }
  const output = String(o.f.values['output']);
  if (output) ctx.out(printObject(output, o.f.values['show-managed-fields'] === true ? result : withoutManagedFields(result)));
  else ctx.out(opLine(info.resource, info.name, msg, o.dryRun));
}

/** `skiff label`. */
export const command: VerbCommand = makeCommand('labels');
/** `skiff annotate`. */
export const annotateCommand: VerbCommand = makeCommand('annotations');
