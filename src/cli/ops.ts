/**
 * What the write verbs share: the objects a command acts on (resource arguments, -f manifests, -l/--all
 * listings) as kubectl's resource.Info, namespace enforcement for manifests, --dry-run parsing, and the
 * operation lines kubectl prints (`deployment.apps/web created (dry run)`).
 */
import type { ParsedFlags } from './flags.ts';
import type { CliContext } from './context.ts';
import type { ApiResourceInfo } from './discovery.ts';
import { kindGroup } from './discovery.ts';
import { ApiError } from '../client/index.ts';
import { CliError } from './errors.ts';
import { readManifests } from './manifests.ts';
import type { Obj } from './printers/objects.ts';
import { printObject } from './printers/objects.ts';
import { resolveTargets, resourcePath } from './resource-args.ts';

/** kubectl's resource.Info: one object a verb acts on. */
export interface Info {
  resource: ApiResourceInfo;
  /** Empty for cluster-scoped resources. */
  namespace: string;
  name: string;
  /** The object from a manifest or a listing, when the verb has it. */
  obj?: Obj;
  /** The manifest it came from (`STDIN`, a path), for `error when creating "x"` messages. */
  source?: string;
}

/** --dry-run's three strategies. */
export type DryRun = 'none' | 'client' | 'server';

/** The shared --dry-run flag spec (NoOptDefVal "unchanged" as kubectl, to reject a bare --dry-run). */
export const dryRunFlag = { name: 'dry-run', type: 'string', default: 'none', noOptDefault: 'unchanged', usage: 'Must be "none", "server", or "client".' } as const;

/** Parses --dry-run with kubectl's messages. */
export function dryRunOf(f: ParsedFlags): DryRun {
  const v = String(f.values['dry-run'] ?? 'none');
  if (v === 'unchanged') throw new CliError('--dry-run flag without a value was specified. A value must be set: "none", "server", or "client".');
  if (v === 'none' || v === 'client' || v === 'server') return v;
  if (v === 'true') return 'client';
  if (v === 'false') return 'none';
  throw new CliError(`Invalid dry-run value (${v}). Must be "none", "server", or "client".`);
}

/** The `dryRun=All` query for server dry runs. */
export function dryRunQuery(d: DryRun): Record<string, string> {
  return d === 'server' ? { dryRun: 'All' } : {};
}

/** ` (dry run)` / ` (server dry run)` / ``. */
export function dryRunSuffix(d: DryRun): string {
  return d === 'client' ? ' (dry run)' : d === 'server' ? ' (server dry run)' : '';
}

/** The operation line of kubectl's name printer: `deployment.apps/web created (dry run)`. */
export function opLine(r: Pick<ApiResourceInfo, 'kind' | 'group'>, name: string, op: string, d: DryRun = 'none'): string {
  return `${kindGroup(r)}/${name} ${op}${dryRunSuffix(d)}\n`;
}

/** Prints a result object with -o, or the operation line. */
export function printResult(ctx: CliContext, info: { resource: ApiResourceInfo; name: string; obj?: Obj }, o: { output: string; op: string; dryRun: DryRun }): void {
  if (o.output && o.output !== 'name' && info.obj) {
    ctx.out(printObject(o.output, info.obj));
    return;
  }
  if (o.output === 'name') ctx.out(`${kindGroup(info.resource)}/${info.name}\n`);
  else ctx.out(opLine(info.resource, info.name, o.op, o.dryRun));
}

/** apiVersion of a resource (`v1`, `apps/v1`). */
export function apiVersionOf(r: Pick<ApiResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** Resolves a manifest object to its resource and namespace, enforcing -n as kubectl does. */
export async function infoForObject(ctx: CliContext, obj: Obj, source: string): Promise<Info> {
  const r = await ctx.discovery().forKind(obj.apiVersion ?? '', obj.kind ?? '');
  let namespace = '';
  if (r.namespaced) {
    const own = obj.metadata?.namespace;
    const ns = ctx.namespace();
    if (own && ctx.namespaceExplicit() && own !== ns) {
      throw new CliError(`the namespace from the provided object "${own}" does not match the namespace "${ns}". You must pass '--namespace=${own}' to perform this operation.`, { raw: true });
    }
    namespace = own || ns;
    // cli-runtime's SetNamespace visitor writes the default into the object (it shows in last-applied).
    obj.metadata = { ...(obj.metadata ?? {}), namespace };
  }
  const name = obj.metadata?.name ?? '';
  return { resource: r, namespace, name, obj, source };
}

/** The objects named by -f (manifests) or by resource arguments plus -l/--all (listed from the server). */
export async function collectInfos(
  ctx: CliContext,
  f: ParsedFlags,
  o: { verb: string; allowEmpty?: boolean; needObjects?: boolean },
): Promise<Info[]> {
  const filenames = (f.values['filename'] as string[] | undefined) ?? [];
  const selector = String(f.values['selector'] ?? '');
  const all = f.values['all'] === true;
  const allNs = f.values['all-namespaces'] === true;
  if (filenames.length > 0) {
    if (f.args.length > 0) throw new CliError(`Unexpected args: [${f.args.join(' ')}]\nSee 'kubectl ${o.verb} -h' for help and examples`, { raw: false });
    const manifests = await readManifests(ctx, { filenames, recursive: f.values['recursive'] === true });
    const infos: Info[] = [];
    for (const m of manifests) infos.push(await infoForObject(ctx, m.obj, m.source));
    if (infos.length === 0 && !o.allowEmpty) throw new CliError(`no objects passed to ${o.verb}`);
    return infos;
  }
  if (f.args.length === 0) {
    throw new CliError(
      `You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'`,
    );
  }
  const targets = await resolveTargets(f.args, ctx.discovery(), { verb: `kubectl ${o.verb}` });
  const named = targets.filter((t) => t.name !== undefined);
  const ns = ctx.namespace();
  if (named.length > 0) {
    if (selector) throw new CliError('name cannot be provided when a selector is specified');
    if (all) throw new CliError('name cannot be provided when --all is specified');
    const infos: Info[] = named.map((t) => ({ resource: t.resource, namespace: t.resource.namespaced ? ns : '', name: t.name! }));
    if (o.needObjects) for (const i of infos) i.obj = (await ctx.rest().request<Obj>({ path: resourcePath(i.resource, { namespace: i.namespace, name: i.name }) })).body;
    return infos;
  }
  if (!selector && !all && !f.changed.has('field-selector')) {
    throw new CliError(`resource(s) were provided, but no name was specified`);
  }
  const infos: Info[] = [];
  for (const t of targets) {
    const r = t.resource;
    const listNs = r.namespaced && !allNs ? ns : undefined;
    let cont: string | undefined;
    do {
      const page = (
        await ctx.rest().request<{ items?: Obj[]; metadata?: { continue?: string } }>({
          path: resourcePath(r, { namespace: listNs }),
          query: { labelSelector: selector || undefined, fieldSelector: String(f.values['field-selector'] ?? '') || undefined, limit: 500, continue: cont },
        })
      ).body;
      for (const it of page.items ?? []) {
        infos.push({ resource: r, namespace: r.namespaced ? (it.metadata?.namespace ?? ns) : '', name: it.metadata?.name ?? '', obj: { apiVersion: apiVersionOf(r), kind: r.kind, ...it } });
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
  }
  return infos;
}

/** The object URL of an Info. */
export function infoPath(i: Info, subresource?: string): string {
  return resourcePath(i.resource, { namespace: i.namespace || undefined, name: i.name, subresource });
}

/** kubectl's "No resources found" line for an empty selection. */
export function noResourcesFound(ctx: CliContext, f: ParsedFlags): void {
  if (f.values['all-namespaces'] === true) ctx.err('No resources found\n');
  else ctx.err(`No resources found in ${ctx.namespace()} namespace.\n`);
}

/** cmdutil.AddSourceToErr: `error when creating "file.yaml": …` on server errors from manifest objects. */
export function addSourceToErr(e: unknown, verbing: string, source: string | undefined): unknown {
  if (!source) return e;
  if (e instanceof ApiError) return new ApiError({ ...e.status, message: `error when ${verbing} ${JSON.stringify(source)}: ${e.status.message ?? ''}` });
  if (e instanceof CliError) return new CliError(`error when ${verbing} ${JSON.stringify(source)}: ${e.message}`, { exitCode: e.exitCode });
  return e;
}
