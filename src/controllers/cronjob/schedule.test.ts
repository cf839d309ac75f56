import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { byJobStartTime, cronJobSchedule, formatInZone, jobFromTemplate, jobNameFor, mostRecentScheduleTime, nextScheduleDelay } from './schedule.ts';

const at = (iso: string): number => Date.parse(iso);

function cj(o: { schedule?: string; created?: string; last?: string; sds?: number; tz?: string } = {}): CronJob {
  return {
    metadata: { name: 'cj', namespace: 'ns', uid: 'u1', creationTimestamp: o.created ?? '2030-01-01T10:00:30Z' },
    spec: { schedule: o.schedule ?? '*/1 * * * *', timeZone: o.tz ?? 'UTC', startingDeadlineSeconds: o.sds, jobTemplate: { metadata: { labels: { a: 'b' } }, spec: { template: { spec: { containers: [] } } } } },
    status: o.last ? { lastScheduleTime: o.last } : {},
  };
}

describe('mostRecentScheduleTime', () => {
  it('nothing due before the first schedule', () => {
    const c = cj();
    const r = mostRecentScheduleTime(c, at('2030-01-01T10:00:50Z'), cronJobSchedule(c), { includeStartingDeadline: true });
    assert.equal(r.mostRecent, undefined);
    assert.equal(r.missed, 'none');
  });
  it('the one due schedule', () => {
    const c = cj();
    const r = mostRecentScheduleTime(c, at('2030-01-01T10:01:10Z'), cronJobSchedule(c), { includeStartingDeadline: true });
    assert.equal(r.mostRecent, at('2030-01-01T10:01:00Z'));
    assert.equal(r.missed, 'none');
  });
  it('few and many missed schedules, most recent one chosen', () => {
    const c = cj({ last: '2030-01-01T10:01:00Z' });
    const few = mostRecentScheduleTime(c, at('2030-01-01T10:05:10Z'), cronJobSchedule(c), { includeStartingDeadline: true });
    assert.equal(few.mostRecent, at('2030-01-01T10:05:00Z'));
    assert.equal(few.missed, 'few');
    const many = mostRecentScheduleTime(c, at('2030-01-01T13:00:10Z'), cronJobSchedule(c), { includeStartingDeadline: true });
    assert.equal(many.mostRecent, at('2030-01-01T13:00:00Z'));
    assert.equal(many.missed, 'many');
  });
  it('startingDeadlineSeconds bounds how far back schedules count', () => {
    const c = cj({ last: '2030-01-01T10:01:00Z', sds: 200 });
    const r = mostRecentScheduleTime(c, at('2030-01-01T13:00:10Z'), cronJobSchedule(c), { includeStartingDeadline: true });
    assert.equal(r.mostRecent, at('2030-01-01T13:00:00Z'));
    assert.equal(r.missed, 'few');
  });
  it('walks gaps in sparse schedules (weekdays only)', () => {
    // 2030-01-04 is a Friday; Monday 2030-01-07 09:00 is the most recent by Tuesday morning.
    const c = cj({ schedule: '0 9 * * 1-5', last: '2030-01-04T09:00:00Z' });
    const r = mostRecentScheduleTime(c, at('2030-01-08T08:00:00Z'), cronJobSchedule(c), { includeStartingDeadline: false });
    assert.equal(r.mostRecent, at('2030-01-07T09:00:00Z'));
  });
  it('honours spec.timeZone', () => {
    const c = cj({ schedule: '0 9 * * *', tz: 'Asia/Tokyo', created: '2030-01-01T00:30:00Z' });
    const r = mostRecentScheduleTime(c, at('2030-01-02T00:10:00Z'), cronJobSchedule(c), { includeStartingDeadline: false });
    assert.equal(r.mostRecent, at('2030-01-02T00:00:00Z'));
  });
});

describe('requeue, names and templates', () => {
  it('requeues 100 ms after the next schedule', () => {
    const c = cj({ last: '2030-01-01T10:01:00Z' });
    assert.equal(nextScheduleDelay(c, at('2030-01-01T10:01:20Z'), cronJobSchedule(c)), 40_100);
  });
  it('names jobs by scheduled minutes since the epoch', () => {
    assert.equal(jobNameFor(cj(), at('2030-01-01T10:01:00Z')), `cj-${at('2030-01-01T10:01:00Z') / 60_000}`);
  });
  it('builds the job with labels, the scheduled-timestamp annotation and a controllerRef', () => {
    const j = jobFromTemplate(cj({ tz: 'Asia/Tokyo' }), at('2030-01-01T10:01:00Z'));
    assert.equal(j.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2030-01-01T19:01:00+09:00');
    assert.deepEqual(j.metadata?.labels, { a: 'b' });
    assert.deepEqual(j.metadata?.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'cj', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
    assert.equal(formatInZone(at('2030-07-01T16:00:00Z'), 'America/New_York'), '2030-07-01T12:00:00-04:00');
    assert.equal(formatInZone(at('2030-07-01T16:00:00Z'), undefined), '2030-07-01T16:00:00Z');
  });
  it('orders jobs by start time, unstarted last, then name', () => {
    const j = (name: string, start?: string): Job => ({ metadata: { name }, status: start ? { startTime: start } : {} });
    const sorted = [j('c'), j('b', '2030-01-01T00:00:02Z'), j('a', '2030-01-01T00:00:02Z'), j('z', '2030-01-01T00:00:01Z')].sort(byJobStartTime);
    assert.deepEqual(sorted.map((x) => x.metadata?.name), ['z', 'a', 'b', 'c']);
  });
});
