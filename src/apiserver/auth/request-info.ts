/** Request attributes from method and path (upstream apiserver's RequestInfoFactory). */
import { parsePath } from '../routes.ts';
import type { Attributes, UserInfo } from './user.ts';

/** Computes the authorization attributes of one request. */
export function requestAttributes(method: string, url: URL, user: UserInfo): Attributes {
  const base: Attributes = {
    user, verb: method.toLowerCase(), resourceRequest: false, path: url.pathname,
    apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '',
  };
  const parsed = parsePath(url.pathname);
  if (parsed.type !== 'resource') return base;
  const p = parsed.path;
  const q = url.searchParams;
  const watch = p.legacyWatch || q.get('watch') === 'true' || q.get('watch') === '1';
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = watch ? 'watch' : p.name ? 'get' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = p.name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  // A field selector on metadata.name narrows list and watch to one name, as upstream's RequestInfo does.
  let name = p.name;
  if (!name && (verb === 'list' || verb === 'watch')) {
    const fs = q.get('fieldSelector') ?? '';
    const m = /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(fs);
    if (m) name = m[1]!;
  }
  let namespace = p.namespace;
  // The namespace object itself: its name doubles as its namespace.
  if (p.group === '' && p.resource === 'namespaces' && p.name) namespace = p.name;
  return { ...base, verb, resourceRequest: true, apiGroup: p.group, apiVersion: p.version, resource: p.resource, subresource: p.subresource, namespace, name };
}

/** upstream forbiddenMessage: `User "u" cannot <verb> resource "r" in API group "g" in the namespace "n"` and friends. */
export function forbiddenMessage(a: Attributes): string {
  if (!a.resourceRequest) return `User ${JSON.stringify(a.user.name)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const who = `User ${JSON.stringify(a.user.name)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)}`;
  return a.namespace ? `${who} in the namespace ${JSON.stringify(a.namespace)}` : `${who} at the cluster scope`;
}
