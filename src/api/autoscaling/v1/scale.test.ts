import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { deployments } from '../../apps/v1/deployment.ts';
import { toScale } from './scale.ts';

test('toScale copies the parent identity and maps replicas and selector', () => {
  const d = structuredClone(deployments.examples[0]) as StoredObject;
  Object.assign(d.metadata, { uid: 'u-1', resourceVersion: '42', creationTimestamp: '2024-01-01T00:00:00Z', labels: { x: 'y' } });
  d.status = { replicas: 1 };
  assert.deepEqual(toScale(deployments, d, deployments.subresources!.scale!), {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'web', namespace: 'default', uid: 'u-1', resourceVersion: '42', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { replicas: 2 },
    status: { replicas: 1, selector: 'app=web' },
  });
});

test('toScale omits zero spec.replicas but always has status.replicas', () => {
  const d = structuredClone(deployments.examples[0]) as StoredObject;
  (d.spec as { replicas: number }).replicas = 0;
  const s = toScale(deployments, d, deployments.subresources!.scale!);
  assert.deepEqual(s.spec, {});
  assert.deepEqual(s.status, { replicas: 0, selector: 'app=web' });
});
