/**
 * RBAC escalation prevention (upstream's role and binding REST strategies): a user may create or update a Role or
 * ClusterRole only with rules they already hold (or the `escalate` verb on it), and a RoleBinding or
 * ClusterRoleBinding only to a role whose rules they hold (or the `bind` verb on it).
 */
import type { PolicyRule, RoleRef } from 'kubernetes-types/rbac/v1.js';
import { ApiError } from '../errors.ts';
import type { AdmissionPlugin, AdmissionRequest } from './chain.ts';
import type { RequestGate } from '../auth/security.ts';
import { compactRuleString, uncoveredRules } from '../auth/rbac-rules.ts';
import type { UserInfo } from '../auth/user.ts';

const GROUP = 'rbac.authorization.k8s.io';

function forbiddenWrite(r: AdmissionRequest, message: string): ApiError {
  const name = r.object?.metadata?.name ?? r.name;
  return new ApiError({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403,
    message: `${r.def.plural}.${GROUP} ${JSON.stringify(name)} is forbidden: ${message}`,
    details: { name, group: GROUP, kind: r.def.plural },
  });
}

function goList(v: string[]): string {
  return `[${v.map((g) => JSON.stringify(g)).join(' ')}]`;
}

function notHeldMessage(user: UserInfo, missing: PolicyRule[]): string {
  return `user ${JSON.stringify(user.name)} (groups=${goList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${missing.map(compactRuleString).join('\n')}`;
}

/** The escalation check as an admission plugin (validating phase). */
export function rbacEscalationPlugin(gate: RequestGate): AdmissionPlugin {
  return {
    name: 'RBACEscalation',
    validate(r) {
      if (r.def.group !== GROUP || !r.object || (r.operation !== 'CREATE' && r.operation !== 'UPDATE') || r.subresource) return;
      const rbac = gate.rbac;
      if (!rbac) return;
      const user = r.user;
      const namespace = r.def.namespaced ? r.namespace : '';
      const name = r.object.metadata?.name ?? r.name;
      const may = (verb: string, resource: string, resourceName: string): boolean => gate.allowed(user, {
        verb, resourceRequest: true, path: '', apiGroup: GROUP, apiVersion: 'v1', resource, subresource: '', namespace, name: resourceName,
      });
      const held = (): PolicyRule[] => (user.groups.includes('system:masters') ? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] : rbac.rulesFor(user, namespace));
      if (r.def.kind === 'Role' || r.def.kind === 'ClusterRole') {
        if (may('escalate', r.def.plural, name)) return;
        const rules = ((r.object as unknown as { rules?: PolicyRule[] }).rules ?? []);
        const missing = uncoveredRules(held(), rules);
        if (missing.length > 0) throw forbiddenWrite(r, notHeldMessage(user, missing));
        return;
      }
      if (r.def.kind === 'RoleBinding' || r.def.kind === 'ClusterRoleBinding') {
        const ref = (r.object as unknown as { roleRef?: RoleRef }).roleRef;
        if (!ref) return;
        if (r.operation === 'UPDATE') {
          const old = (r.oldObject as unknown as { roleRef?: RoleRef } | undefined)?.roleRef;
          // Only a new role reference grants anything; validation refuses roleRef changes anyway.
          if (old && old.kind === ref.kind && old.name === ref.name) return;
        }
        const roleResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
        if (gate.allowed(user, { verb: 'bind', resourceRequest: true, path: '', apiGroup: GROUP, apiVersion: 'v1', resource: roleResource, subresource: '', namespace: ref.kind === 'ClusterRole' ? '' : namespace, name: ref.name })) return;
        if (gate.allowed(user, { verb: 'bind', resourceRequest: true, path: '', apiGroup: GROUP, apiVersion: 'v1', resource: roleResource, subresource: '', namespace, name: ref.name })) return;
        const rules = rbac.roleRules(ref, namespace);
        if (!rules) {
          // A binding to a role that does not exist grants nothing yet, but upstream refuses it unless bind is held.
          throw forbiddenWrite(r, `user ${JSON.stringify(user.name)} (groups=${goList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${ref.kind.toLowerCase()}s.${GROUP} ${JSON.stringify(ref.name)} not found`);
        }
        const missing = uncoveredRules(held(), rules);
        if (missing.length > 0) throw forbiddenWrite(r, notHeldMessage(user, missing));
      }
    },
  };
}
