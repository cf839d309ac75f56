import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob } from 'kubernetes-types/batch/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { cronJobs } from './cron-job.ts';

const ctx = { namespace: 'default' };
const mk = () => structuredClone(cronJobs.examples[0]) as StoredObject;
const cj = (o: StoredObject) => o as unknown as CronJob;

test('defaults: Allow, suspend false, history 3/1; example validates', () => {
  const o = mk();
  cronJobs.defaults!(o);
  const s = cj(o).spec!;
  assert.deepEqual([s.concurrencyPolicy, s.suspend, s.successfulJobsHistoryLimit, s.failedJobsHistoryLimit], ['Allow', false, 3, 1]);
  assert.deepEqual(cronJobs.validate!(o, ctx), []);
});

test('validate: schedule parse error, TZ in schedule, time zone, concurrency policy', () => {
  const o = mk();
  cronJobs.defaults!(o);
  cj(o).spec!.schedule = '61 * * * *';
  cj(o).spec!.timeZone = 'Mars/Olympus';
  cj(o).spec!.concurrencyPolicy = 'Sometimes';
  const errs = cronJobs.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.schedule')?.detail, 'end of range (61) above maximum (59): 61');
  assert.equal(errs.find((e) => e.field === 'spec.timeZone')?.detail, 'unknown time zone Mars/Olympus');
  assert.equal(errs.find((e) => e.field === 'spec.concurrencyPolicy')?.type, 'FieldValueNotSupported');
  const tz = mk();
  cronJobs.defaults!(tz);
  cj(tz).spec!.schedule = 'CRON_TZ=UTC 0 * * * *';
  assert.equal(cronJobs.validate!(tz, ctx).find((e) => e.field === 'spec.schedule')?.detail, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  const good = mk();
  cronJobs.defaults!(good);
  cj(good).spec!.timeZone = 'Europe/Paris';
  assert.deepEqual(cronJobs.validate!(good, ctx), []);
});

test('validate: jobTemplate must not set a selector; name at most 52 characters', () => {
  const o = mk();
  o.metadata.name = 'a'.repeat(53);
  cj(o).spec!.jobTemplate.spec!.selector = { matchLabels: { a: 'b' } };
  cronJobs.defaults!(o);
  const errs = cronJobs.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.jobTemplate.spec.selector')?.detail, '`selector` will be auto-generated');
  assert.equal(errs.find((e) => e.field === 'metadata.name')?.detail, 'must be no more than 52 characters');
});

test('strategy and columns', () => {
  const o = mk();
  cronJobs.defaults!(o);
  cronJobs.strategy!.prepareForCreate!(o);
  assert.deepEqual(o.status, {});
  assert.equal(o.metadata.generation, 1);
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  const now = Date.parse('2024-01-01T02:00:00Z');
  assert.deepEqual(cronJobs.columns.map((c) => c.cell(o, now)), ['*/5 * * * *', '<none>', 'False', 0, '<none>', '120m', 'hello', 'busybox:1.36', '<none>']);
  (o as { status?: unknown }).status = { active: [{ name: 'hello-1' }], lastScheduleTime: '2024-01-01T01:59:00Z' };
  assert.equal(cronJobs.columns.find((c) => c.name === 'Active')!.cell(o, now), 1);
  assert.equal(cronJobs.columns.find((c) => c.name === 'Last Schedule')!.cell(o, now), '60s');
});
