import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../base/clock.ts';
import { SchedulingQueue } from './scheduling-queue.ts';
import { less } from '../plugins/priority-sort/index.ts';
import { testPod } from '../framework/testing.ts';
import type { ClusterEventWithHint } from '../framework/interface.ts';
import { newStatus } from '../framework/status.ts';

function queue(clock: FakeClock, events = new Map<string, ClusterEventWithHint[]>()): SchedulingQueue {
  return new SchedulingQueue({
    less, clock, pluginEvents: () => events,
    preEnqueue: (p) => (p.pod.spec?.schedulingGates?.length ? newStatus('UnschedulableAndUnresolvable', 'gated').withPlugin('SchedulingGates') : undefined),
  });
}

describe('SchedulingQueue', () => {
  it('pops by priority, then FIFO', () => {
    const clock = new FakeClock(1000);
    const q = queue(clock);
    q.add(testPod('low', { priority: 1 }));
    clock.advance(1);
    q.add(testPod('high', { priority: 10 }));
    clock.advance(1);
    q.add(testPod('low2', { priority: 1 }));
    assert.deepEqual([q.pop(), q.pop(), q.pop()].map((x) => x?.podInfo.name), ['high', 'low', 'low2']);
    assert.equal(q.pop(), undefined);
  });

  it('a failed pod with no rejector goes to backoffQ and returns after 1 s, then 2 s', () => {
    const clock = new FakeClock(0);
    const q = queue(clock);
    q.add(testPod('p'));
    let p = q.pop()!;
    q.addUnschedulableIfNotPresent(p);
    assert.deepEqual(q.pendingCounts(), { active: 0, backoff: 1, unschedulable: 0, gated: 0 });
    clock.advance(999);
    q.flushBackoffQCompleted();
    assert.equal(q.pop(), undefined);
    clock.advance(1);
    q.flushBackoffQCompleted();
    p = q.pop()!;
    assert.equal(p.attempts, 2);
    q.addUnschedulableIfNotPresent(p);
    clock.advance(1500);
    q.flushBackoffQCompleted();
    assert.equal(q.pop(), undefined);
    clock.advance(500);
    q.flushBackoffQCompleted();
    assert.equal(q.pop()?.podInfo.name, 'p');
  });

  it('an unschedulable pod moves only on an event its rejector registered, and when the hint says Queue', () => {
    const clock = new FakeClock(0);
    const events = new Map<string, ClusterEventWithHint[]>([['NodeResourcesFit', [{ resource: 'Node', actions: ['Add'], hint: (_p, _o, n) => ((n as { big?: boolean }).big ? 'Queue' : 'QueueSkip') }]]]);
    const q = queue(clock, events);
    q.add(testPod('p'));
    const p = q.pop()!;
    p.unschedulablePlugins = new Set(['NodeResourcesFit']);
    q.addUnschedulableIfNotPresent(p);
    assert.equal(q.pendingCounts().unschedulable, 1);
    assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: 'Delete', label: 'x' }, {}, undefined), 0);
    assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: 'Add', label: 'NodeAdd' }, undefined, { big: false }), 0);
    assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: 'Add', label: 'NodeAdd' }, undefined, { big: true }), 1);
    // Still backing off (1 s), so it waits in backoffQ first.
    assert.deepEqual(q.pendingCounts(), { active: 0, backoff: 1, unschedulable: 0, gated: 0 });
  });

  it('an event during the attempt sends the failed pod to backoffQ instead of the pool', () => {
    const clock = new FakeClock(0);
    const q = queue(clock, new Map([['NodeResourcesFit', [{ resource: 'Node', actions: ['Add'] }]]]));
    q.add(testPod('p'));
    const p = q.pop()!;
    q.moveAllToActiveOrBackoffQueue({ resource: 'Node', action: 'Add', label: 'NodeAdd' }, undefined, {});
    p.unschedulablePlugins = new Set(['NodeResourcesFit']);
    q.addUnschedulableIfNotPresent(p);
    assert.deepEqual(q.pendingCounts(), { active: 0, backoff: 1, unschedulable: 0, gated: 0 });
  });

  it('gated pods wait until their gates are removed', () => {
    const clock = new FakeClock(0);
    const q = queue(clock);
    const gated: Pod = testPod('g', { spec: { schedulingGates: [{ name: 'x' }] } });
    q.add(gated);
    assert.deepEqual(q.pendingCounts(), { active: 0, backoff: 0, unschedulable: 0, gated: 1 });
    q.update(gated, { ...gated, spec: { ...gated.spec!, schedulingGates: [] } });
    assert.equal(q.pop()?.podInfo.name, 'g');
  });

  it('nominated pods are listed per node, highest priority first', () => {
    const q = queue(new FakeClock(0));
    q.add({ ...testPod('a', { priority: 1 }), status: { nominatedNodeName: 'n1' } });
    q.add({ ...testPod('b', { priority: 5 }), status: { nominatedNodeName: 'n1' } });
    assert.deepEqual(q.nominatedPodsForNode('n1').map((p) => p.name), ['b', 'a']);
  });
});
