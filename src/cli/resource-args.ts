/**
 * kubectl's resource arguments (`pods`, `pods a b`, `pods,svc`, `pod/a deploy/b`, `all`), resolved through
 * discovery into request targets: one target per resource type (a list) or per named object.
 */
import type { ApiResourceInfo, Discovery } from './discovery.ts';
import { CliError } from './errors.ts';

/** One thing to fetch: a collection (`name` undefined) or one named object of `resource`. */
export interface Target {
  resource: ApiResourceInfo;
  name?: string;
}

/** Resolves positional arguments into targets, in the order kubectl visits them. */
export async function resolveTargets(args: readonly string[], discovery: Discovery, opts: { verb?: string } = {}): Promise<Target[]> {
  if (args.length === 0) return [];
  const slashed = args.filter((a) => a.includes('/'));
  if (slashed.length > 0) {
    if (slashed.length !== args.length) {
      throw new CliError(
        `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. '${opts.verb ?? 'kubectl get'} resource/<resource_name>' instead of '${opts.verb ?? 'kubectl get'} resource resource/<resource_name>'`,
      );
    }
    const out: Target[] = [];
    for (const a of args) {
      const i = a.indexOf('/');
      const type = a.slice(0, i);
      const name = a.slice(i + 1);
      if (type === '' || name === '') throw new CliError(`arguments in resource/name form must have a single resource and name`);
      const r = await discovery.resolveOne(type);
      out.push({ resource: r, name });
    }
    return out;
  }
  const types = args[0]!.split(',').filter((t) => t !== '');
  const names = args.slice(1);
  const resources: ApiResourceInfo[] = [];
  for (const t of types) {
    for (const r of await discovery.resolve(t)) if (!resources.some((x) => x.group === r.group && x.name === r.name)) resources.push(r);
  }
  if (names.length === 0) return resources.map((resource) => ({ resource }));
  const out: Target[] = [];
  for (const resource of resources) for (const name of names) out.push({ resource, name });
  return out;
}

/** The URL path of a resource's collection or object. */
export function resourcePath(r: Pick<ApiResourceInfo, 'group' | 'version' | 'name' | 'namespaced'>, opts: { namespace?: string; name?: string; subresource?: string } = {}): string {
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (r.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  p += `/${r.name}`;
  if (opts.name !== undefined) p += `/${encodeURIComponent(opts.name)}`;
  if (opts.subresource) p += `/${opts.subresource}`;
  return p;
}
