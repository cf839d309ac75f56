import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { calculateReplicaSetStatus, replicaSetStatusChanged } from './status.ts';
import { podFromTemplate, slowStartBatch } from './replica-set-controller.ts';

const now = Date.parse('2024-01-01T00:00:00Z');
function pod(labels: Record<string, string>, readyFor?: number): Pod {
  return {
    metadata: { labels },
    status: { conditions: readyFor === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(now - readyFor * 1000).toISOString() }] },
  };
}

describe('ReplicaSet status', () => {
  const owner = { replicas: 3, minReadySeconds: 10, templateLabels: { app: 'web', tier: 'fe' }, status: undefined };
  it('counts fully labeled, ready and available pods', () => {
    const s = calculateReplicaSetStatus(owner, [pod({ app: 'web', tier: 'fe' }, 60), pod({ app: 'web', tier: 'fe' }, 1), pod({ app: 'web' })], { nowMs: now });
    assert.deepEqual(s, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1 });
  });
  it('sets ReplicaFailure on a manage error and removes it afterwards', () => {
    const failed = calculateReplicaSetStatus(owner, [], { nowMs: now, manageError: new Error('pods "x" is forbidden: quota') });
    assert.equal(failed.conditions?.[0]?.type, 'ReplicaFailure');
    assert.equal(failed.conditions?.[0]?.reason, 'FailedCreate');
    assert.equal(failed.conditions?.[0]?.message, 'pods "x" is forbidden: quota');
    const cleared = calculateReplicaSetStatus({ ...owner, status: failed }, [], { nowMs: now });
    assert.equal(cleared.conditions, undefined);
    assert.equal(replicaSetStatusChanged(failed, cleared), true);
    assert.equal(replicaSetStatusChanged(cleared, { ...cleared }), false);
  });
});

describe('pod creation', () => {
  it('builds the pod from the template with generateName and the controllerRef', () => {
    const rs = { metadata: { name: 'web-abc', namespace: 'ns' }, spec: { selector: {}, template: { metadata: { labels: { a: 'b' }, annotations: { x: 'y' } }, spec: { containers: [{ name: 'c' }] } } } };
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u', controller: true, blockOwnerDeletion: true };
    const p = podFromTemplate(rs, ref);
    assert.equal(p.metadata?.generateName, 'web-abc-');
    assert.equal(p.metadata?.namespace, 'ns');
    assert.deepEqual(p.metadata?.ownerReferences, [ref]);
    assert.deepEqual(p.metadata?.annotations, { x: 'y' });
    assert.throws(() => podFromTemplate({ ...rs, spec: { ...rs.spec, template: { spec: { containers: [] } } } }, ref), /no labels/);
  });
  it('slowStartBatch runs 1, 2, 4 … and stops after a failing batch', async () => {
    let calls = 0;
    const r = await slowStartBatch(10, 1, async () => {
      calls++;
      if (calls === 5) throw new Error('boom');
    });
    // Batches 1, 2, 4: the fifth call (in the batch of 4) fails, so that batch is the last.
    assert.equal(calls, 7);
    assert.equal(r.successes, 6);
    assert.equal(r.error?.message, 'boom');
    calls = 0;
    assert.deepEqual(await slowStartBatch(5, 1, async () => { calls++; }), { successes: 5 });
    assert.equal(calls, 5);
  });
});
