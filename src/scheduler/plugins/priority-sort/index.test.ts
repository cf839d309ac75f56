import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { less } from './index.ts';
import { newPodInfo, testPod } from '../../framework/testing.ts';
import type { QueuedPodInfo } from '../../framework/interface.ts';

const q = (priority: number, timestamp: number): QueuedPodInfo => ({
  podInfo: newPodInfo(testPod('p', { priority })), timestamp, attempts: 0, initialAttemptTimestamp: undefined, unschedulablePlugins: new Set(), pendingPlugins: new Set(), gatingPlugin: undefined,
});

describe('PrioritySort', () => {
  it('orders by priority, then by queue time', () => {
    assert.equal(less(q(100, 2), q(50, 1)), true);
    assert.equal(less(q(50, 1), q(100, 2)), false);
    assert.equal(less(q(100, 1), q(100, 2)), true);
    assert.equal(less(q(100, 2), q(100, 1)), false);
  });
});
