import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { deleteBefore, isPodActive, isPodAvailable, podsToDelete } from './pods.ts';

const now = Date.parse('2024-01-01T12:00:00Z');
const ago = (s: number): string => new Date(now - s * 1000).toISOString();

function pod(name: string, o: { node?: string; phase?: string; ready?: boolean; readySince?: number; created?: number; restarts?: number; cost?: number } = {}): Pod {
  return {
    metadata: { name, uid: name, creationTimestamp: ago(o.created ?? 100), annotations: o.cost === undefined ? undefined : { 'controller.kubernetes.io/pod-deletion-cost': String(o.cost) } },
    spec: { nodeName: o.node, containers: [{ name: 'c' }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.ready === false ? [{ type: 'Ready', status: 'False' }] : [{ type: 'Ready', status: 'True', lastTransitionTime: ago(o.readySince ?? 50) }],
      containerStatuses: [{ name: 'c', image: '', imageID: '', ready: true, restartCount: o.restarts ?? 0 }],
    },
  };
}

const before = (a: Pod, b: Pod, ranks: [number, number] = [0, 0]): boolean => deleteBefore(a, b, { rankA: ranks[0], rankB: ranks[1], nowMs: now });

describe('ActivePodsWithRanks ordering', () => {
  it('unassigned before assigned', () => {
    assert.equal(before(pod('a'), pod('b', { node: 'n1' })), true);
    assert.equal(before(pod('b', { node: 'n1' }), pod('a')), false);
  });
  it('Pending before Unknown before Running', () => {
    assert.equal(before(pod('a', { node: 'n', phase: 'Pending' }), pod('b', { node: 'n', phase: 'Unknown' })), true);
    assert.equal(before(pod('a', { node: 'n', phase: 'Unknown' }), pod('b', { node: 'n', phase: 'Running' })), true);
    assert.equal(before(pod('a', { node: 'n', phase: 'Running' }), pod('b', { node: 'n', phase: 'Pending' })), false);
  });
  it('not ready before ready', () => {
    assert.equal(before(pod('a', { node: 'n', ready: false }), pod('b', { node: 'n' })), true);
  });
  it('lower deletion cost first', () => {
    assert.equal(before(pod('a', { node: 'n', cost: -5 }), pod('b', { node: 'n', cost: 10 })), true);
    assert.equal(before(pod('a', { node: 'n', cost: 10 }), pod('b', { node: 'n' })), false);
  });
  it('doubled-up pods first', () => {
    assert.equal(before(pod('a', { node: 'n1' }), pod('b', { node: 'n2' }), [3, 1]), true);
    assert.equal(before(pod('a', { node: 'n1' }), pod('b', { node: 'n2' }), [1, 3]), false);
  });
  it('ready more recently first, by logarithmic buckets', () => {
    assert.equal(before(pod('a', { node: 'n', readySince: 10 }), pod('b', { node: 'n', readySince: 10_000 })), true);
    assert.equal(before(pod('a', { node: 'n', readySince: 10_000 }), pod('b', { node: 'n', readySince: 10 })), false);
  });
  it('more restarts first, then newer first', () => {
    assert.equal(before(pod('a', { node: 'n', restarts: 3 }), pod('b', { node: 'n', restarts: 1 })), true);
    assert.equal(before(pod('a', { node: 'n', created: 10 }), pod('b', { node: 'n', created: 100_000 })), true);
    assert.equal(before(pod('a', { node: 'n', created: 100_000 }), pod('b', { node: 'n', created: 10 })), false);
  });
  it('podsToDelete picks the lowest-ranked pods', () => {
    const pods = [pod('running', { node: 'n1' }), pod('unassigned'), pod('notready', { node: 'n2', ready: false }), pod('pending', { node: 'n3', phase: 'Pending' })];
    const names = podsToDelete(pods, pods, { diff: 2, nowMs: now }).map((p) => p.metadata?.name);
    assert.deepEqual(names, ['unassigned', 'pending']);
    assert.equal(podsToDelete(pods, pods, { diff: 10, nowMs: now }).length, 4);
  });
});

describe('pod predicates', () => {
  it('active excludes terminal and deleting pods', () => {
    assert.equal(isPodActive(pod('a')), true);
    assert.equal(isPodActive(pod('a', { phase: 'Succeeded' })), false);
    assert.equal(isPodActive({ ...pod('a'), metadata: { deletionTimestamp: ago(0) } }), false);
  });
  it('available needs minReadySeconds of readiness', () => {
    assert.equal(isPodAvailable(pod('a', { readySince: 5 }), 0, now), true);
    assert.equal(isPodAvailable(pod('a', { readySince: 5 }), 10, now), false);
    assert.equal(isPodAvailable(pod('a', { readySince: 20 }), 10, now), true);
    assert.equal(isPodAvailable(pod('a', { ready: false }), 0, now), false);
  });
});
