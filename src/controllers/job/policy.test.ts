import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job, PodFailurePolicy } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseIndexes } from './indexes.ts';
import { backoffRemainingMs, isPodFailed, matchPodFailurePolicy, matchSuccessPolicy, nextBackoffRecord, pastBackoffLimitOnFailure } from './policy.ts';

function failed(name: string, exit: number, o: { container?: string; finishedAt?: string; conditions?: { type: string; status: string }[] } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: name },
    status: {
      phase: 'Failed',
      conditions: o.conditions,
      containerStatuses: [{ name: o.container ?? 'main', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: exit, finishedAt: o.finishedAt } } }],
    },
  };
}

const policy: PodFailurePolicy = {
  rules: [
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
    { action: 'Count', onExitCodes: { operator: 'NotIn', values: [1, 2] } },
  ],
};

describe('podFailurePolicy', () => {
  it('FailJob with upstream message', () => {
    const m = matchPodFailurePolicy(policy, failed('p', 42));
    assert.equal(m.action, 'FailJob');
    assert.equal(m.failJobMessage, 'Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1');
  });
  it('Ignore does not count; Count and no match count', () => {
    const ignored = matchPodFailurePolicy(policy, failed('p', 1, { conditions: [{ type: 'DisruptionTarget', status: 'True' }] }));
    assert.deepEqual(ignored, { countFailed: false, action: 'Ignore' });
    assert.deepEqual(matchPodFailurePolicy(policy, failed('p', 7)), { countFailed: true, action: 'Count' });
    assert.deepEqual(matchPodFailurePolicy(policy, failed('p', 1)), { countFailed: true });
    // The FailJob rule names another container: no match there.
    assert.equal(matchPodFailurePolicy(policy, failed('p', 42, { container: 'side' })).action, 'Count');
    assert.deepEqual(matchPodFailurePolicy(undefined, failed('p', 42)), { countFailed: true });
  });
  it('condition rules name the condition', () => {
    const p: PodFailurePolicy = { rules: [{ action: 'FailJob', onPodConditions: [{ type: 'ConfigIssue', status: 'True' }] }] };
    assert.equal(matchPodFailurePolicy(p, failed('q', 1, { conditions: [{ type: 'ConfigIssue', status: 'True' }] })).failJobMessage, 'Pod ns/q has condition ConfigIssue matching FailJob rule at index 0');
  });
});

describe('successPolicy', () => {
  it('matches succeededIndexes and succeededCount rules', () => {
    const sp = { rules: [{ succeededIndexes: '0-2', succeededCount: 2 }, { succeededCount: 4 }] };
    assert.equal(matchSuccessPolicy(sp, 10, parseIndexes('0', 10)), undefined);
    assert.equal(matchSuccessPolicy(sp, 10, parseIndexes('0,2', 10)), 'Matched rules at index 0');
    assert.equal(matchSuccessPolicy(sp, 10, parseIndexes('5-8', 10)), 'Matched rules at index 1');
    assert.equal(matchSuccessPolicy({ rules: [{ succeededIndexes: '1,3' }] }, 10, parseIndexes('1-2', 10)), undefined);
    assert.equal(matchSuccessPolicy({ rules: [{ succeededIndexes: '1,3' }] }, 10, parseIndexes('1-3', 10)), 'Matched rules at index 0');
    assert.equal(matchSuccessPolicy(undefined, 10, parseIndexes('1-3', 10)), undefined);
  });
});

describe('pod-failure back-off', () => {
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
  it('doubles from 10 s to 10 min after the last failure', () => {
    assert.equal(backoffRemainingMs(0, undefined, t0), 0);
    assert.equal(backoffRemainingMs(1, t0, t0 + 4000), 6000);
    assert.equal(backoffRemainingMs(3, t0, t0), 40_000);
    assert.equal(backoffRemainingMs(20, t0, t0), 600_000);
    assert.equal(backoffRemainingMs(1, t0, t0 + 11_000), 0);
  });
  it('counts failures since the last success', () => {
    let rec = nextBackoffRecord(undefined, [], [failed('a', 1, { finishedAt: at(1) }), failed('b', 1, { finishedAt: at(5) })]);
    assert.deepEqual(rec, { failuresAfterLastSuccess: 2, lastFailureTime: t0 + 5000 });
    const ok: Pod = { metadata: { name: 'ok' }, status: { phase: 'Succeeded', containerStatuses: [{ name: 'c', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, finishedAt: at(10) } } }] } };
    rec = nextBackoffRecord(rec, [ok], [failed('c', 1, { finishedAt: at(8) }), failed('d', 1, { finishedAt: at(12) })]);
    assert.deepEqual(rec, { failuresAfterLastSuccess: 1, lastFailureTime: t0 + 12_000 });
    assert.deepEqual(nextBackoffRecord(rec, [ok], []), { failuresAfterLastSuccess: 0 });
  });
});

describe('failed pods and restart limits', () => {
  const job = (o: Partial<NonNullable<Job['spec']>> = {}): Job => ({ spec: { template: { spec: { containers: [], restartPolicy: 'OnFailure' } }, backoffLimit: 2, ...o } });
  it('a deleted running pod counts as failed unless only failed pods are replaced', () => {
    const p: Pod = { metadata: { deletionTimestamp: at0() }, status: { phase: 'Running' } };
    assert.equal(isPodFailed(p, job()), true);
    assert.equal(isPodFailed(p, job({ podReplacementPolicy: 'Failed' })), false);
    assert.equal(isPodFailed({ status: { phase: 'Failed' } }, job({ podReplacementPolicy: 'Failed' })), true);
  });
  it('OnFailure restarts reach the backoff limit', () => {
    const p = (restarts: number): Pod => ({ status: { phase: 'Running', containerStatuses: [{ name: 'c', image: '', imageID: '', ready: true, restartCount: restarts }] } });
    assert.equal(pastBackoffLimitOnFailure(job(), [p(1)]), false);
    assert.equal(pastBackoffLimitOnFailure(job(), [p(1), p(1)]), true);
    assert.equal(pastBackoffLimitOnFailure(job({ backoffLimit: 0 }), [p(1)]), true);
    assert.equal(pastBackoffLimitOnFailure(job({ template: { spec: { containers: [], restartPolicy: 'Never' } } }), [p(9)]), false);
  });
});

function at0(): string {
  return '2030-01-01T00:00:00Z';
}
