import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { evictionDeadline, lastHeartbeat, markNodeUnknown, noExecuteTaints, reconcileTaints } from './node-health.ts';

const t0 = Date.parse('2030-01-01T00:00:00Z');
const node = (ready?: 'True' | 'False' | 'Unknown', o: { taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean; memory?: boolean } = {}): Node => ({
  metadata: { name: 'n1', creationTimestamp: '2029-12-31T00:00:00Z' },
  spec: { taints: o.taints, unschedulable: o.unschedulable },
  status: {
    conditions: [
      ...(ready ? [{ type: 'Ready', status: ready, lastHeartbeatTime: '2029-12-31T23:59:00Z', lastTransitionTime: '2029-12-31T12:00:00Z' }] : []),
      ...(o.memory ? [{ type: 'MemoryPressure', status: 'True' }] : []),
    ],
  },
});

describe('node health', () => {
  it('marks kubelet conditions Unknown with upstream reasons', () => {
    const s = markNodeUnknown(node('True'), t0)!;
    const ready = s.conditions!.find((c) => c.type === 'Ready')!;
    assert.deepEqual([ready.status, ready.reason, ready.message, ready.lastTransitionTime, ready.lastHeartbeatTime], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.', '2030-01-01T00:00:00Z', '2029-12-31T23:59:00Z']);
    const mem = s.conditions!.find((c) => c.type === 'MemoryPressure')!;
    assert.deepEqual([mem.status, mem.reason, mem.message], ['Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.']);
    // Already Unknown everywhere: nothing to write.
    assert.equal(markNodeUnknown({ ...node(), status: s }, t0 + 1000), undefined);
  });
  it('takes the later of the Ready heartbeat and the Lease renewal', () => {
    assert.equal(lastHeartbeat(node('True'), '2030-01-01T00:00:00.000000Z'), t0);
    assert.equal(lastHeartbeat(node('True'), undefined), Date.parse('2029-12-31T23:59:00Z'));
  });
  it('taints follow the conditions and leave foreign taints alone', () => {
    assert.deepEqual(reconcileTaints(node('Unknown', { taints: [{ key: 'x', effect: 'NoSchedule' }] }), t0), [
      { key: 'x', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: '2030-01-01T00:00:00Z' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2030-01-01T00:00:00Z' },
    ]);
    assert.deepEqual(reconcileTaints(node('False', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }), t0)?.map((t) => `${t.key}:${t.effect}`), [
      'node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute',
    ]);
    assert.deepEqual(reconcileTaints(node('True', { unschedulable: true, memory: true }), t0)?.map((t) => t.key), ['node.kubernetes.io/memory-pressure', 'node.kubernetes.io/unschedulable']);
    assert.deepEqual(reconcileTaints(node('True', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), t0), []);
    assert.equal(reconcileTaints(node('True'), t0), undefined);
    // A node that never reported gets no taint until it is marked Unknown.
    assert.equal(reconcileTaints(node(), t0), undefined);
  });
  it('the NoExecute pass writes its taint with the NoSchedule taints the conditions call for, in one patch', () => {
    // The NoSchedule patch of the same change may not have landed yet: the pass's write carries it too.
    assert.deepEqual(noExecuteTaints(node('Unknown', { taints: [{ key: 'x', effect: 'NoSchedule' }] }), t0), [
      { key: 'x', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: '2030-01-01T00:00:00Z' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2030-01-01T00:00:00Z' },
    ]);
    // The NoSchedule taint already there keeps its timeAdded; the opposite NoExecute taint is swapped.
    const earlier = '2029-12-31T23:00:00Z';
    assert.deepEqual(noExecuteTaints(node('False', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule', timeAdded: earlier }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: earlier }] }), t0), [
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule', timeAdded: earlier },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: '2030-01-01T00:00:00Z' },
    ]);
    // Nothing to do: the right NoExecute taint is there (NoSchedule is the other pass's), or the node is Ready.
    assert.equal(noExecuteTaints(node('Unknown', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }), t0), undefined);
    assert.equal(noExecuteTaints(node('True'), t0), undefined);
    assert.equal(noExecuteTaints(node(), t0), undefined);
  });
  it('eviction waits for the shortest matching tolerationSeconds, forever without one, now when untolerated', () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' as const, timeAdded: '2030-01-01T00:00:00Z' }];
    const pod = (tolerations: NonNullable<Pod['spec']>['tolerations']): Pod => ({ spec: { containers: [], tolerations } });
    assert.equal(evictionDeadline(pod([]), taints), undefined);
    assert.equal(evictionDeadline(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { operator: 'Exists', tolerationSeconds: 30 }]), taints), t0 + 30_000);
    assert.equal(evictionDeadline(pod([{ operator: 'Exists' }]), taints), Infinity);
    assert.equal(evictionDeadline(pod([]), [{ key: 'a', effect: 'NoSchedule' }]), Infinity);
  });
});
