import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namedGroupResources } from './groups.ts';
import { storageKey } from './resource.ts';

test('every named-group kind is listed once, with examples of its own kind', () => {
  const ids = namedGroupResources.map((d) => `${d.group}/${d.kind}`);
  assert.deepEqual(ids, [
    'apps/Deployment', 'apps/ReplicaSet', 'apps/StatefulSet', 'apps/DaemonSet', 'apps/ControllerRevision',
    'batch/Job', 'batch/CronJob', 'coordination.k8s.io/Lease', 'events.k8s.io/Event', 'discovery.k8s.io/EndpointSlice',
    'policy/PodDisruptionBudget', 'scheduling.k8s.io/PriorityClass',
    'rbac.authorization.k8s.io/ClusterRoleBinding', 'rbac.authorization.k8s.io/ClusterRole',
    'rbac.authorization.k8s.io/RoleBinding', 'rbac.authorization.k8s.io/Role',
    'authentication.k8s.io/SelfSubjectReview', 'authentication.k8s.io/TokenReview',
    'authorization.k8s.io/LocalSubjectAccessReview', 'authorization.k8s.io/SelfSubjectAccessReview',
    'authorization.k8s.io/SelfSubjectRulesReview', 'authorization.k8s.io/SubjectAccessReview',
    'certificates.k8s.io/CertificateSigningRequest',
  ]);
  for (const d of namedGroupResources) {
    assert.ok(d.examples.length > 0, d.kind);
    for (const ex of d.examples) assert.deepEqual([ex.kind, ex.apiVersion], [d.kind, `${d.group}/${d.version}`]);
  }
  assert.equal(storageKey(namedGroupResources[0]!, 'default', 'web'), '/registry/apps/deployments/default/web');
});

test('kinds with a scale subresource also have a status subresource', () => {
  for (const d of namedGroupResources) if (d.subresources?.scale) assert.equal(d.subresources.status, true, d.kind);
  assert.deepEqual(namedGroupResources.filter((d) => d.subresources?.scale).map((d) => d.kind), ['Deployment', 'ReplicaSet', 'StatefulSet']);
});
