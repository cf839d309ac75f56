/**
 * The security stage of the request pipeline: authenticate → impersonate → authorize, answering 401 and 403 with
 * upstream's Status messages. Also builds the RBAC and Node authorizers over the API server's own watch caches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { Status } from '../../api/meta/types.ts';
import { nodeRules } from '../../api/rbac/v1/bootstrap-policy.ts';
import type { Store } from '../registry/store.ts';
import type { CacheListener } from '../watch-cache.ts';
import { sendJson } from '../request.ts';
import { ApiError } from '../errors.ts';
import type { Attributes, Authorizer, UserInfo } from './user.ts';
import { setRequestUser } from './user.ts';
import { requestAttributes, forbiddenMessage } from './request-info.ts';
import { impersonate } from './impersonation.ts';
import type { RequestAuthenticator } from './authenticator.ts';
import type { RbacObjects } from './rbac.ts';
import { RbacAuthorizer } from './rbac.ts';
import { NodeAuthorizer, alwaysAllow, mastersAuthorizer, unionAuthorizer } from './node-authorizer.ts';
import type { ObjectLookup } from './service-account-token.ts';

/** The 401 Status upstream sends. */
export function unauthorizedStatus(): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
}

/** The 403 Status for denied attributes (upstream responsewriters.Forbidden + apierrors.NewForbidden). */
export function forbiddenStatus(a: Attributes, reason: string): Status {
  const msg = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  let message: string;
  const details: Status['details'] = {};
  if (!a.resourceRequest || a.resource === '') {
    message = `forbidden: ${msg}`;
  } else {
    const gr = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
    message = a.name ? `${gr} ${JSON.stringify(a.name)} is forbidden: ${msg}` : `${gr} is forbidden: ${msg}`;
    if (a.name) details.name = a.name;
    if (a.apiGroup) details.group = a.apiGroup;
    details.kind = a.resource;
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Forbidden', details, code: 403 };
}

/** A 403 ApiError for denied attributes. */
export function forbiddenError(a: Attributes, reason = ''): ApiError {
  return new ApiError(forbiddenStatus(a, reason));
}

/** Authentication and authorization of requests. */
export class RequestGate {
  readonly authenticator: RequestAuthenticator;
  readonly authorizer: Authorizer;
  /** The RBAC authorizer, for rules reviews and escalation checks (absent with AlwaysAllow). */
  readonly rbac: RbacAuthorizer | undefined;

  constructor(o: { authenticator: RequestAuthenticator; authorizer: Authorizer; rbac?: RbacAuthorizer }) {
    this.authenticator = o.authenticator;
    this.authorizer = o.authorizer;
    this.rbac = o.rbac;
  }

  /**
   * Authenticates, applies impersonation and authorizes one request. `allowed` says whether the request may go on;
   * otherwise the gate has answered 401/403/400. The user and attributes are returned when known (for audit).
   */
  async admit(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<{ allowed: boolean; user?: UserInfo; attributes?: Attributes }> {
    let user = await this.authenticator.authenticate(req);
    if (!user) {
      req.resume();
      sendJson(res, 401, unauthorizedStatus());
      return { allowed: false };
    }
    const imp = impersonate(req, user, this.authorizer);
    if (imp.kind === 'denied') {
      req.resume();
      sendJson(res, 403, forbiddenStatus(imp.attributes, imp.reason));
      return { allowed: false, user, attributes: imp.attributes };
    }
    if (imp.kind === 'invalid') {
      req.resume();
      sendJson(res, 400, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: imp.message, reason: 'BadRequest', code: 400 });
      return { allowed: false, user };
    }
    // A UserInfo of its own per request: it keys the request's audit annotations (see addAuditAnnotation).
    user = imp.kind === 'ok' ? { ...imp.user } : { ...user };
    const attributes = requestAttributes(method, url, user);
    const d = this.authorizer.authorize(attributes);
    if (d.decision !== 'allow') {
      req.resume();
      sendJson(res, 403, forbiddenStatus(attributes, d.decision === 'deny' ? d.reason : d.reason.split('\n')[0] ?? ''), { headers: { 'X-Content-Type-Options': 'nosniff' } });
      return { allowed: false, user, attributes };
    }
    setRequestUser(req, user);
    return { allowed: true, user, attributes };
  }

  /** Whether `user` may do what `a` describes (a copy of `a` with the user replaced). */
  allowed(user: UserInfo, a: Omit<Attributes, 'user'>): boolean {
    return this.authorizer.authorize({ ...a, user }).decision === 'allow';
  }
}

/** RBAC objects read from the API server's watch caches; the generation moves on every event. */
export function storeRbacObjects(stores: { roles: Store; clusterRoles: Store; roleBindings: Store; clusterRoleBindings: Store }): RbacObjects {
  let generation = 0;
  const watch = (s: Store): void => {
    const listener: CacheListener = {
      onEvent: () => {
        generation++;
        return true;
      },
      onProgress: () => undefined,
      onReset: () => {
        generation++;
        const again = s.cache.subscribe(listener, s.cache.resourceVersion);
        if ('tooOld' in again) generation++;
      },
    };
    s.cache.subscribe(listener, s.cache.resourceVersion);
  };
  for (const s of [stores.roles, stores.clusterRoles, stores.roleBindings, stores.clusterRoleBindings]) watch(s);
  const objs = <T>(s: Store) => s.cache.list().map((c) => c.obj as unknown as T);
  return {
    generation: () => generation,
    roles: () => objs<Role>(stores.roles),
    clusterRoles: () => objs<ClusterRole>(stores.clusterRoles),
    roleBindings: () => objs<RoleBinding>(stores.roleBindings),
    clusterRoleBindings: () => objs<ClusterRoleBinding>(stores.clusterRoleBindings),
  };
}

/** Looks objects up in a store's cache, then in storage. */
export function storeLookup(storeFor: (group: string, resource: string) => Store | undefined): ObjectLookup {
  return async (group, resource, namespace, name) => {
    const s = storeFor(group, resource);
    if (!s) return null;
    try {
      return await s.lookup(s.def.namespaced ? namespace : '', name);
    } catch {
      return null;
    }
  };
}

/** The authorization modes Skiff knows. */
export type AuthorizationMode = 'Node' | 'RBAC' | 'AlwaysAllow';

/** Builds the authorizer chain for `modes` (default Node,RBAC) over the server's stores. */
export function buildAuthorizer(modes: AuthorizationMode[], storeFor: (group: string, resource: string) => Store | undefined): { authorizer: Authorizer; rbac?: RbacAuthorizer } {
  if (modes.includes('AlwaysAllow')) return { authorizer: alwaysAllow };
  const chain: Authorizer[] = [mastersAuthorizer];
  let rbac: RbacAuthorizer | undefined;
  for (const m of modes) {
    if (m === 'Node') {
      const pods = storeFor('', 'pods');
      chain.push(new NodeAuthorizer({
        nodeRules,
        podsOnNode: (node) => (pods ? pods.cache.list((c) => (c.obj.spec as { nodeName?: string } | undefined)?.nodeName === node).map((c) => c.obj as unknown as Pod) : []),
      }));
    } else if (m === 'RBAC') {
      const need = (g: string, r: string): Store => {
        const s = storeFor(g, r);
        if (!s) throw new Error(`RBAC needs ${r}.${g} in the catalog`);
        return s;
      };
      const g = 'rbac.authorization.k8s.io';
      rbac = new RbacAuthorizer(storeRbacObjects({
        roles: need(g, 'roles'), clusterRoles: need(g, 'clusterroles'), roleBindings: need(g, 'rolebindings'), clusterRoleBindings: need(g, 'clusterrolebindings'),
      }));
      chain.push(rbac);
    }
  }
  return { authorizer: unionAuthorizer(chain), ...(rbac ? { rbac } : {}) };
}

/** Parses --authorization-mode (comma-separated). */
export function parseAuthorizationModes(v: string): AuthorizationMode[] {
  const out: AuthorizationMode[] = [];
  for (const m of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (m !== 'Node' && m !== 'RBAC' && m !== 'AlwaysAllow') throw new Error(`unknown authorization mode ${JSON.stringify(m)}: use Node, RBAC or AlwaysAllow`);
    out.push(m);
  }
  if (out.length === 0) throw new Error('--authorization-mode must name at least one mode');
  return out;
}
