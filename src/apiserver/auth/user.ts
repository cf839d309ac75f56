/** Authenticated identities and the request attributes authorizers decide on (upstream user.Info, authorizer.Attributes). */
import type { IncomingMessage } from 'node:http';

/** Who made a request. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Well-known user and group names. */
export const Users = {
  anonymous: 'system:anonymous',
  admin: 'system:admin',
  scheduler: 'system:kube-scheduler',
  controllerManager: 'system:kube-controller-manager',
} as const;

/** Well-known groups. */
export const Groups = {
  masters: 'system:masters',
  authenticated: 'system:authenticated',
  unauthenticated: 'system:unauthenticated',
  nodes: 'system:nodes',
  bootstrappers: 'system:bootstrappers',
  serviceAccounts: 'system:serviceaccounts',
} as const;

/** The anonymous user. */
export const anonymousUser: UserInfo = { name: Users.anonymous, groups: [Groups.unauthenticated] };

/** What an authorizer decides on (upstream authorizer.AttributesRecord). */
export interface Attributes {
  user: UserInfo;
  /** get, list, watch, create, update, patch, delete, deletecollection, impersonate, …; for paths: the lower-case method. */
  verb: string;
  resourceRequest: boolean;
  /** The URL path (non-resource requests). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** An authorizer's answer. */
export interface Decision {
  decision: 'allow' | 'deny' | 'noopinion';
  reason: string;
}

/** One authorization mode. */
export interface Authorizer {
  authorize(a: Attributes): Decision;
}

const requestUsers = new WeakMap<IncomingMessage, UserInfo>();

/** Records the authenticated (or impersonated) user of a request. */
export function setRequestUser(req: IncomingMessage, user: UserInfo): void {
  requestUsers.set(req, user);
}

/** The user of a request (undefined when the server runs without authentication). */
export function requestUser(req: IncomingMessage): UserInfo | undefined {
  return requestUsers.get(req);
}

/** The ServiceAccount user name system:serviceaccount:<ns>:<name>. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Splits a ServiceAccount user name into namespace and name (undefined for other users). */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

/** The node name of a node identity (system:node:<name> in system:nodes), or undefined. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes(Groups.nodes) || !user.name.startsWith('system:node:')) return undefined;
  const n = user.name.slice('system:node:'.length);
  return n === '' ? undefined : n;
}
