import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { clusterRoleBindings, clusterRoles, roleBindings, roles } from './index.ts';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './bootstrap-policy.ts';

const mk = (o: unknown) => structuredClone(o) as StoredObject;

test('examples and the bootstrap policy are valid', () => {
  for (const d of [roles, clusterRoles, roleBindings, clusterRoleBindings]) assert.deepEqual(d.validate!(mk(d.examples[0]), { namespace: 'default' }), [], d.kind);
  for (const r of bootstrapClusterRoles()) assert.deepEqual(clusterRoles.validate!(mk(r), { namespace: '' }), [], r.metadata?.name);
  for (const b of bootstrapClusterRoleBindings()) assert.deepEqual(clusterRoleBindings.validate!(mk(b), { namespace: '' }), [], b.metadata?.name);
});

test('rule validation follows upstream', () => {
  const r = mk({ metadata: { name: 'r', namespace: 'd' }, rules: [{ verbs: [] }, { verbs: ['get'], nonResourceURLs: ['/x'], resources: ['pods'] }] });
  assert.deepEqual(roles.validate!(r, { namespace: 'd' }).map((e) => `${e.field}: ${e.detail ?? ''}`), [
    'rules[0].verbs: verbs must contain at least one value',
    'rules[0].apiGroups: resource rules must supply at least one api group',
    'rules[0].resources: resource rules must supply at least one resource',
    'rules[1].nonResourceURLs: namespaced rules cannot apply to non-resource URLs',
    'rules[1].nonResourceURLs: rules cannot apply to both regular resources and non-resource URLs',
  ]);
});

test('bindings: roleRef kinds, subject kinds and groups; defaults; roleRef is immutable', () => {
  const b = mk({ metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, subjects: [{ kind: 'Robot', name: 'r' }, { kind: 'ServiceAccount', name: 'sa' }, { kind: 'User', name: 'u' }] });
  clusterRoleBindings.defaults!(b);
  assert.equal((b as unknown as { subjects: { apiGroup?: string }[] }).subjects[2]!.apiGroup, 'rbac.authorization.k8s.io');
  assert.deepEqual(clusterRoleBindings.validate!(b, { namespace: '' }).map((e) => `${e.type} ${e.field}`), [
    'FieldValueNotSupported roleRef.kind', 'FieldValueNotSupported subjects[0].kind', 'FieldValueRequired subjects[1].namespace',
  ]);
  const old = mk(roleBindings.examples[0]);
  const upd = mk(roleBindings.examples[0]);
  (upd as unknown as { roleRef: { name: string } }).roleRef.name = 'other';
  upd.metadata.resourceVersion = '2';
  assert.ok(roleBindings.validateUpdate!(upd, old, { namespace: 'default' }).some((e) => e.field === 'roleRef' && e.detail === 'cannot change roleRef'));
});

test('binding columns show the role and, wide, the subjects', () => {
  const b = mk(roleBindings.examples[0]);
  assert.deepEqual(roleBindings.columns.filter((c) => c.name !== 'Age').map((c) => c.cell(b, 0)), ['Role/pod-reader', 'jane', '', '']);
});
