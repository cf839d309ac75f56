import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { RbacAuthorizer, type RbacObjects } from './rbac.ts';
import { compactRuleString, ruleAllows, uncoveredRules } from './rbac-rules.ts';
import type { Attributes, UserInfo } from './user.ts';
import { forbiddenMessage, requestAttributes } from './request-info.ts';
import { forbiddenStatus } from './security.ts';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../../api/rbac/v1/bootstrap-policy.ts';

const G = 'rbac.authorization.k8s.io';

function objects(init: { roles?: Role[]; clusterRoles?: ClusterRole[]; roleBindings?: RoleBinding[]; clusterRoleBindings?: ClusterRoleBinding[] }): RbacObjects & { bump(): void; state: typeof init } {
  let gen = 0;
  const state = { roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [], ...init };
  return {
    state, bump: () => { gen++; },
    generation: () => gen,
    roles: () => state.roles,
    clusterRoles: () => state.clusterRoles,
    roleBindings: () => state.roleBindings,
    clusterRoleBindings: () => state.clusterRoleBindings,
  };
}

function attrs(user: UserInfo, verb: string, resource: string, namespace = 'default', extra: Partial<Attributes> = {}): Attributes {
  return { user, verb, resourceRequest: true, path: '', apiGroup: '', apiVersion: 'v1', resource, subresource: '', namespace, name: '', ...extra };
}

const alice: UserInfo = { name: 'alice', groups: ['devs', 'system:authenticated'] };

test('a RoleBinding grants its Role in its namespace only; ServiceAccount subjects default the namespace', () => {
  const o = objects({
    roles: [{ metadata: { name: 'reader', namespace: 'default' }, rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }] }],
    roleBindings: [{ metadata: { name: 'rb', namespace: 'default' }, roleRef: { apiGroup: G, kind: 'Role', name: 'reader' }, subjects: [{ kind: 'User', apiGroup: G, name: 'alice' }, { kind: 'ServiceAccount', name: 'robot' }] }],
  });
  const z = new RbacAuthorizer(o);
  assert.equal(z.authorize(attrs(alice, 'list', 'pods')).decision, 'allow');
  assert.equal(z.authorize(attrs(alice, 'list', 'pods', 'other')).decision, 'noopinion');
  assert.equal(z.authorize(attrs(alice, 'delete', 'pods')).decision, 'noopinion');
  assert.equal(z.authorize(attrs(alice, 'get', 'pods', 'default', { subresource: 'log' })).decision, 'allow');
  assert.equal(z.authorize(attrs(alice, 'get', 'pods', 'default', { subresource: 'exec' })).decision, 'noopinion');
  const robot = { name: 'system:serviceaccount:default:robot', groups: ['system:serviceaccounts'] };
  assert.equal(z.authorize(attrs(robot, 'get', 'pods')).decision, 'allow');
  assert.equal(z.authorize(attrs({ name: 'system:serviceaccount:other:robot', groups: [] }, 'get', 'pods', 'other')).decision, 'noopinion');
});

test('groups, cluster bindings, resourceNames, non-resource URLs and cached decisions that follow changes', () => {
  const o = objects({
    clusterRoles: [
      { metadata: { name: 'one-cm' }, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cfg'], verbs: ['get'] }] },
      { metadata: { name: 'health' }, rules: [{ nonResourceURLs: ['/healthz', '/logs/*'], verbs: ['get'] }] },
    ],
    clusterRoleBindings: [
      { metadata: { name: 'a' }, roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'one-cm' }, subjects: [{ kind: 'Group', apiGroup: G, name: 'devs' }] },
      { metadata: { name: 'b' }, roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'health' }, subjects: [{ kind: 'Group', apiGroup: G, name: 'devs' }] },
    ],
  });
  const z = new RbacAuthorizer(o);
  assert.equal(z.authorize(attrs(alice, 'get', 'configmaps', 'x', { name: 'cfg' })).decision, 'allow');
  assert.equal(z.authorize(attrs(alice, 'get', 'configmaps', 'x', { name: 'other' })).decision, 'noopinion');
  assert.equal(z.authorize(attrs(alice, 'list', 'configmaps', 'x')).decision, 'noopinion');
  const path = (p: string): Attributes => ({ ...attrs(alice, 'get', ''), resourceRequest: false, path: p, namespace: '' });
  assert.equal(z.authorize(path('/healthz')).decision, 'allow');
  assert.equal(z.authorize(path('/logs/a/b')).decision, 'allow');
  assert.equal(z.authorize(path('/metrics')).decision, 'noopinion');
  o.state.clusterRoleBindings!.pop();
  o.bump();
  assert.equal(z.authorize(path('/healthz')).decision, 'noopinion', 'a deleted binding stops granting');
});

test('aggregated ClusterRoles hold the rules of the roles their selectors match', () => {
  const z = new RbacAuthorizer(objects({
    clusterRoles: bootstrapClusterRoles(),
    clusterRoleBindings: [...bootstrapClusterRoleBindings(), { metadata: { name: 'x' }, roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'monitoring' }, subjects: [{ kind: 'User', apiGroup: G, name: 'alice' }] }],
    roleBindings: [{ metadata: { name: 'v', namespace: 'default' }, roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', apiGroup: G, name: 'alice' }] }],
  }));
  assert.equal(z.authorize(attrs(alice, 'list', 'deployments', 'default', { apiGroup: 'apps' })).decision, 'allow');
  assert.equal(z.authorize(attrs(alice, 'list', 'secrets')).decision, 'noopinion', 'view does not read secrets');
  assert.equal(z.authorize(attrs({ name: 'x', groups: ['system:authenticated'] }, 'create', 'selfsubjectaccessreviews', '', { apiGroup: 'authorization.k8s.io' })).decision, 'allow');
  assert.equal(z.authorize(attrs({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'get', '', '', { resourceRequest: false, path: '/version' })).decision, 'allow');
  assert.equal(z.authorize(attrs({ name: 'system:anonymous', groups: ['system:unauthenticated'] }, 'get', '', '', { resourceRequest: false, path: '/api' })).decision, 'noopinion');
});

test('coverage: the rules an author does not hold, printed as upstream', () => {
  const owner = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }, { apiGroups: ['apps'], resources: ['*'], verbs: ['*'] }];
  assert.deepEqual(uncoveredRules(owner, [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['update'] }]), []);
  const missing = uncoveredRules(owner, [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'delete'] }]);
  assert.deepEqual(missing.map(compactRuleString), [
    '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
    '{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}',
  ]);
  assert.ok(ruleAllows({ verb: 'get', resourceRequest: true, apiGroup: 'x', resource: 'foo', subresource: 'status', name: '', path: '' }, { apiGroups: ['*'], resources: ['*/status'], verbs: ['get'] }));
});

test('request attributes and upstream forbidden messages', () => {
  const u = (p: string, m = 'GET') => requestAttributes(m, new URL(`https://h${p}`), alice);
  const list = u('/api/v1/namespaces/default/pods');
  assert.deepEqual([list.verb, list.resource, list.namespace, list.name], ['list', 'pods', 'default', '']);
  assert.equal(u('/api/v1/namespaces/default/pods?watch=true').verb, 'watch');
  assert.equal(u('/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb').name, 'web');
  assert.equal(u('/api/v1/namespaces/team').namespace, 'team');
  assert.equal(u('/apis/apps/v1/namespaces/d/deployments', 'DELETE').verb, 'deletecollection');
  const sub = u('/api/v1/namespaces/d/pods/p/exec', 'POST');
  assert.deepEqual([sub.verb, sub.subresource, sub.name], ['create', 'exec', 'p']);
  assert.equal(forbiddenMessage(list), 'User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
  assert.equal(forbiddenMessage(u('/apis/rbac.authorization.k8s.io/v1/clusterroles')), 'User "alice" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope');
  assert.equal(forbiddenMessage(u('/metrics')), 'User "alice" cannot get path "/metrics"');
  const st = forbiddenStatus(u('/apis/apps/v1/namespaces/d/deployments/web'), '');
  assert.equal(st.message, 'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" in the namespace "d"');
  assert.deepEqual(st.details, { name: 'web', group: 'apps', kind: 'deployments' });
  assert.equal(forbiddenStatus(u('/metrics'), '').message, 'forbidden: User "alice" cannot get path "/metrics"');
});
