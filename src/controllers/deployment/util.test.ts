import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import {
  calculateStatus, deploymentComplete, deploymentProgressing, deploymentTimedOut, equalIgnoreHash, findActiveOrLatest, maxSurge, maxUnavailable,
  newCondition, newRSNewReplicas, proportion, resolveFenceposts, setCondition, setNewReplicaSetAnnotations,
} from './util.ts';

function deploy(replicas: number, o: { surge?: number | string; unavailable?: number | string; recreate?: boolean; generation?: number } = {}): Deployment {
  return {
    metadata: { name: 'd', generation: o.generation ?? 1 },
    spec: {
      replicas,
      selector: {},
      template: {},
      strategy: o.recreate ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' } },
      progressDeadlineSeconds: 600,
    },
  };
}

let n = 0;
function rs(replicas: number, o: { available?: number; created?: number; annotations?: Record<string, string> } = {}): ReplicaSet {
  n++;
  return {
    metadata: { name: `rs${n}`, uid: `u${n}`, creationTimestamp: new Date(1_700_000_000_000 + (o.created ?? n) * 1000).toISOString(), annotations: o.annotations },
    spec: { replicas, selector: {} },
    status: { replicas, availableReplicas: o.available ?? replicas, readyReplicas: o.available ?? replicas },
  };
}

describe('rolling update fenceposts (TestMaxUnavailable, ResolveFenceposts)', () => {
  it('resolves percentages: surge rounds up, unavailable down, never both zero', () => {
    assert.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
    assert.deepEqual(resolveFenceposts(0, 0, 10), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts('0%', '0%', 10), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(2, '50%', 5), { surge: 2, unavailable: 2 });
  });
  it('maxUnavailable', () => {
    assert.equal(maxUnavailable(deploy(10, { unavailable: 5 })), 5);
    assert.equal(maxUnavailable(deploy(5, { unavailable: 10 })), 5, 'greater than replicas');
    assert.equal(maxUnavailable(deploy(0, { unavailable: 10 })), 0, 'replicas is 0');
    assert.equal(maxUnavailable(deploy(10, { recreate: true })), 0, 'Recreate');
    assert.equal(maxUnavailable(deploy(10, { unavailable: '50%' })), 5);
    assert.equal(maxUnavailable(deploy(10, { unavailable: '100%' })), 10);
  });
  it('maxSurge', () => {
    assert.equal(maxSurge(deploy(10)), 3);
    assert.equal(maxSurge(deploy(10, { recreate: true })), 0);
  });
});

describe('NewRSNewReplicas (TestNewRSNewReplicas)', () => {
  it('can not scale up beyond maxSurge', () => {
    const d = deploy(1, { surge: 1 });
    const newRS = rs(5);
    assert.equal(newRSNewReplicas(d, [rs(5), newRS], newRS), 5);
  });
  it('scales up to the deployment replicas', () => {
    const d = deploy(6, { surge: 10 });
    const newRS = rs(2);
    assert.equal(newRSNewReplicas(d, [rs(5), newRS], newRS), 6);
  });
  it('Recreate goes straight to replicas', () => {
    const d = deploy(3, { recreate: true });
    const newRS = rs(1);
    assert.equal(newRSNewReplicas(d, [rs(1), newRS], newRS), 3);
  });
});

describe('proportional scaling', () => {
  it('shares an added amount by the max-replicas annotation, rounding half away from zero', () => {
    const d = deploy(20, { surge: 0, unavailable: 1 });
    const a = rs(5, { annotations: { 'deployment.kubernetes.io/max-replicas': '10' } });
    assert.equal(proportion(a, d, { toAdd: 10, added: 0 }), 5);
    assert.equal(proportion(a, d, { toAdd: 3, added: 0 }), 3, 'capped by what is left to add');
    assert.equal(proportion(rs(0), d, { toAdd: 3, added: 0 }), 0);
  });
  it('findActiveOrLatest', () => {
    const old = rs(0, { created: 1 });
    const newer = rs(0, { created: 2 });
    assert.equal(findActiveOrLatest(undefined, [old, newer])?.metadata?.name, newer.metadata?.name);
    const active = rs(3);
    assert.equal(findActiveOrLatest(active, [old]), active);
    assert.equal(findActiveOrLatest(rs(1), [rs(2)]), undefined);
  });
});

describe('status and conditions', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  it('calculateStatus counts and the Available condition', () => {
    const d = deploy(4, { unavailable: 1 });
    const newRS = rs(2, { available: 1 });
    const st = calculateStatus([rs(2), newRS], newRS, d, now);
    assert.equal(st.replicas, 4);
    assert.equal(st.updatedReplicas, 2);
    assert.equal(st.availableReplicas, 3);
    assert.equal(st.unavailableReplicas, 1);
    assert.equal(st.conditions?.find((c) => c.type === 'Available')?.status, 'True');
    const low = calculateStatus([rs(2, { available: 0 }), rs(2, { available: 1 })], undefined, d, now);
    assert.equal(low.conditions?.find((c) => c.type === 'Available')?.reason, 'MinimumReplicasUnavailable');
  });
  it('complete, progressing and timed out', () => {
    const d = deploy(2, { generation: 3 });
    assert.equal(deploymentComplete(d, { replicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 3 }), true);
    assert.equal(deploymentComplete(d, { replicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 2 }), false);
    d.status = { replicas: 3, updatedReplicas: 1 };
    assert.equal(deploymentProgressing(d, { replicas: 3, updatedReplicas: 2 }), true);
    assert.equal(deploymentProgressing(d, { replicas: 3, updatedReplicas: 1 }), false);
    const st = { conditions: [newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'x', now - 601_000)] };
    assert.equal(deploymentTimedOut(d, st, now), true);
    assert.equal(deploymentTimedOut(d, st, now - 2000), false);
  });
  it('setCondition keeps lastTransitionTime while the status stays the same', () => {
    const st = { conditions: [newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'a', 1000)] };
    setCondition(st, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', 'b', 5000));
    assert.equal(st.conditions[0]?.lastTransitionTime, new Date(1000).toISOString().replace(/\.\d+Z$/, 'Z'));
    assert.equal(st.conditions[0]?.reason, 'NewReplicaSetAvailable');
  });
});

describe('annotations and template equality', () => {
  it('raises the revision and keeps the replaced one in revision-history', () => {
    const d = deploy(3);
    d.metadata!.annotations = { 'kubernetes.io/change-cause': 'v2', 'deployment.kubernetes.io/revision': '9' };
    const r = rs(3, { annotations: { 'deployment.kubernetes.io/revision': '1' } });
    assert.equal(setNewReplicaSetAnnotations(d, r, { newRevision: 3, exists: true }), true);
    assert.equal(r.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(r.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(r.metadata?.annotations?.['kubernetes.io/change-cause'], 'v2');
    assert.equal(setNewReplicaSetAnnotations(d, r, { newRevision: 5, exists: true }), true);
    assert.equal(r.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1,3');
    assert.equal(setNewReplicaSetAnnotations(d, r, { newRevision: 5, exists: true }), false);
  });
  it('sets desired/max replicas on a new ReplicaSet', () => {
    const r: ReplicaSet = { metadata: {} };
    setNewReplicaSetAnnotations(deploy(4), r, { newRevision: 1, exists: false });
    assert.equal(r.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '4');
    assert.equal(r.metadata?.annotations?.['deployment.kubernetes.io/max-replicas'], '5');
  });
  it('equalIgnoreHash ignores the hash label and absent-equivalent fields', () => {
    const a = { metadata: { labels: { app: 'x', 'pod-template-hash': 'abc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const b = { metadata: { labels: { app: 'x' }, creationTimestamp: null as unknown as string }, spec: { containers: [{ name: 'c', image: 'i', resources: {} }] } };
    assert.equal(equalIgnoreHash(a, b), true);
    assert.equal(equalIgnoreHash(a, { ...b, spec: { containers: [{ name: 'c', image: 'j' }] } }), false);
  });
});
