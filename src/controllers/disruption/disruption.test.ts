import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { countHealthy, disruptedPodMap, expectedPodCount, withDisruptionAllowed } from './disruption-controller.ts';

const now = Date.parse('2030-01-01T00:10:00Z');
const pod = (name: string, o: { ready?: boolean; owner?: string; deleting?: boolean } = {}): Pod => ({
  metadata: { name, namespace: 'ns', deletionTimestamp: o.deleting ? '2030-01-01T00:00:00Z' : undefined, ownerReferences: o.owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true }] : undefined },
  status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const pdb = (spec: PodDisruptionBudget['spec'], disrupted: Record<string, string> = {}): PodDisruptionBudget => ({ metadata: { name: 'b' }, spec, status: { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptionsAllowed: 0, disruptedPods: disrupted } });

describe('disruption arithmetic', () => {
  const scales: Record<string, number> = { rs1: 4, rs2: 2 };
  const scaleOf = (ref: { uid: string }): { uid: string; scale: number } | undefined => (scales[ref.uid] === undefined ? undefined : { uid: ref.uid, scale: scales[ref.uid]! });
  it('integer minAvailable counts the pods', () => {
    assert.deepEqual(expectedPodCount(pdb({ minAvailable: 2 }), [pod('a'), pod('b'), pod('c')], scaleOf), { expected: 3, desiredHealthy: 2, unmanaged: [] });
  });
  it('percentages and maxUnavailable use the controllers scale, rounding up', () => {
    const pods = [pod('a', { owner: 'rs1' }), pod('b', { owner: 'rs1' }), pod('c', { owner: 'rs2' })];
    assert.deepEqual(expectedPodCount(pdb({ minAvailable: '50%' }), pods, scaleOf), { expected: 6, desiredHealthy: 3, unmanaged: [] });
    assert.deepEqual(expectedPodCount(pdb({ maxUnavailable: '30%' }), pods, scaleOf), { expected: 6, desiredHealthy: 4, unmanaged: [] });
    assert.deepEqual(expectedPodCount(pdb({ maxUnavailable: 1 }), [...pods, pod('bare')], scaleOf).unmanaged, ['bare']);
    assert.throws(() => expectedPodCount(pdb({ maxUnavailable: 1 }), [pod('x', { owner: 'gone' })], scaleOf), /found no controllers for pod "x"/);
  });
  it('disrupted pods expire after two minutes or once deleted, and do not count as healthy', () => {
    const pods = [pod('a'), pod('b'), pod('c', { deleting: true }), pod('d', { ready: false })];
    const { map, recheckAt } = disruptedPodMap(pods, pdb({ minAvailable: 1 }, { a: '2030-01-01T00:09:30Z', b: '2030-01-01T00:07:00Z', c: '2030-01-01T00:09:59Z', gone: '2030-01-01T00:09:59Z' }), now);
    assert.deepEqual(map, { a: '2030-01-01T00:09:30Z' });
    assert.equal(recheckAt, Date.parse('2030-01-01T00:11:30Z'));
    assert.equal(countHealthy(pods, map), 1);
  });
  it('the DisruptionAllowed condition keeps its transition time while its status holds', () => {
    const c1 = withDisruptionAllowed(undefined, { status: 'True', reason: 'SufficientPods', observedGeneration: 1 }, now);
    assert.deepEqual(c1, [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', lastTransitionTime: '2030-01-01T00:10:00Z', observedGeneration: 1 }]);
    const c2 = withDisruptionAllowed(c1, { status: 'True', reason: 'SufficientPods', observedGeneration: 2 }, now + 60_000);
    assert.equal(c2[0]!.lastTransitionTime, '2030-01-01T00:10:00Z');
    const c3 = withDisruptionAllowed(c2, { status: 'False', reason: 'InsufficientPods' }, now + 60_000);
    assert.equal(c3[0]!.lastTransitionTime, '2030-01-01T00:11:00Z');
  });
});
