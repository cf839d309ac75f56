import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isPodTerminated, terminatedPodsToDelete } from './podgc-controller.ts';
import { needsCleanup, ttlTimeLeft } from '../ttlafterfinished/ttl-after-finished-controller.ts';

const pod = (name: string, phase: string, created: string, reason?: string): Pod => ({ metadata: { name, creationTimestamp: created }, status: { phase, reason } });

describe('pod GC', () => {
  it('terminated means neither Pending, Running nor Unknown', () => {
    assert.deepEqual(['Pending', 'Running', 'Unknown', 'Succeeded', 'Failed'].map((p) => isPodTerminated(pod('a', p, ''))), [false, false, false, true, true]);
  });
  it('deletes terminated pods over the threshold, evicted first, then oldest', () => {
    const pods = [
      pod('new', 'Succeeded', '2030-01-03T00:00:00Z'), pod('old', 'Failed', '2030-01-01T00:00:00Z'), pod('evicted', 'Failed', '2030-01-05T00:00:00Z', 'Evicted'),
      pod('running', 'Running', '2029-01-01T00:00:00Z'), pod('mid', 'Succeeded', '2030-01-02T00:00:00Z'),
    ];
    assert.deepEqual(terminatedPodsToDelete(pods, 2).map((p) => p.metadata?.name), ['evicted', 'old']);
    assert.deepEqual(terminatedPodsToDelete(pods, 4), []);
    assert.deepEqual(terminatedPodsToDelete(pods, 0), []);
  });
});

describe('TTL after finished', () => {
  const job = (ttl: number | undefined, finished?: string): Job => ({
    metadata: { name: 'j', namespace: 'ns' },
    spec: { template: {}, ttlSecondsAfterFinished: ttl },
    status: finished ? { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: finished }] } : {},
  });
  it('only finished jobs with a TTL need cleanup', () => {
    assert.equal(needsCleanup(job(10, '2030-01-01T00:00:00Z')), true);
    assert.equal(needsCleanup(job(undefined, '2030-01-01T00:00:00Z')), false);
    assert.equal(needsCleanup(job(10)), false);
  });
  it('expires TTL seconds after the finished condition', () => {
    const t = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(ttlTimeLeft(job(10, '2030-01-01T00:00:00Z'), t + 4000).leftMs, 6000);
    assert.ok(ttlTimeLeft(job(0, '2030-01-01T00:00:00Z'), t).leftMs <= 0);
    const broken = job(10, '2030-01-01T00:00:00Z');
    broken.status!.conditions![0]!.lastTransitionTime = undefined;
    assert.throws(() => ttlTimeLeft(broken, t), /unable to find the time when the Job ns\/j finished/);
  });
});
