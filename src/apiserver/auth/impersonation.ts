/**
 * Impersonation (upstream filters/impersonation.go): Impersonate-User, Impersonate-Group, Impersonate-Uid and
 * Impersonate-Extra-<key> headers switch the request's user, each value authorized with the `impersonate` verb
 * on users, groups, serviceaccounts, uids or userextras/<key>.
 */
import type { IncomingMessage } from 'node:http';
import type { Attributes, Authorizer, UserInfo } from './user.ts';
import { Groups, Users, parseServiceAccountUsername } from './user.ts';

/** The outcome of impersonation: the new user, a refusal with the attributes that were denied, or a bad request. */
export type ImpersonationResult =
  | { kind: 'none' }
  | { kind: 'ok'; user: UserInfo }
  | { kind: 'denied'; attributes: Attributes; reason: string }
  | { kind: 'invalid'; message: string };

function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) out.push(req.rawHeaders[i + 1]!);
  }
  return out;
}

/** Applies the request's impersonation headers on behalf of `actor`. */
export function impersonate(req: IncomingMessage, actor: UserInfo, authorizer: Authorizer): ImpersonationResult {
  const users = headerValues(req, 'impersonate-user');
  const groups = headerValues(req, 'impersonate-group');
  const uids = headerValues(req, 'impersonate-uid');
  const extra: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const h = req.rawHeaders[i]!.toLowerCase();
    if (h.startsWith('impersonate-extra-')) {
      let key = h.slice('impersonate-extra-'.length);
      try {
        key = decodeURIComponent(key);
      } catch {
        // keep the raw key
      }
      (extra[key] ??= []).push(req.rawHeaders[i + 1]!);
    }
  }
  if (users.length === 0 && groups.length === 0 && uids.length === 0 && Object.keys(extra).length === 0) return { kind: 'none' };
  if (users.length !== 1 || users[0] === '') {
    return { kind: 'invalid', message: users.length > 1 ? 'only one Impersonate-User header may be given' : `requested impersonation of groups, uid or extra without impersonating a user` };
  }
  if (uids.length > 1) return { kind: 'invalid', message: 'only one Impersonate-Uid header may be given' };
  const userName = users[0]!;
  const base = { user: actor, verb: 'impersonate', resourceRequest: true, path: req.url ?? '', apiVersion: '', subresource: '', namespace: '' };
  const checks: Attributes[] = [];
  const sa = parseServiceAccountUsername(userName);
  if (sa) checks.push({ ...base, apiGroup: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name });
  else checks.push({ ...base, apiGroup: '', resource: 'users', name: userName });
  for (const g of groups) checks.push({ ...base, apiGroup: '', resource: 'groups', name: g });
  for (const u of uids) checks.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'uids', name: u });
  for (const [k, vs] of Object.entries(extra)) for (const v of vs) checks.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: k, name: v });
  for (const a of checks) {
    const d = authorizer.authorize(a);
    if (d.decision !== 'allow') return { kind: 'denied', attributes: a, reason: d.reason };
  }
  const outGroups = [...groups];
  if (sa) {
    for (const g of [Groups.serviceAccounts, `${Groups.serviceAccounts}:${sa.namespace}`]) if (!outGroups.includes(g)) outGroups.push(g);
  }
  if (userName === Users.anonymous) {
    if (!outGroups.includes(Groups.unauthenticated)) outGroups.push(Groups.unauthenticated);
  } else if (!outGroups.includes(Groups.authenticated)) {
    outGroups.push(Groups.authenticated);
  }
  const user: UserInfo = { name: userName, groups: outGroups };
  if (uids[0]) user.uid = uids[0];
  if (Object.keys(extra).length > 0) user.extra = extra;
  return { kind: 'ok', user };
}
