import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronParseError, parseCronSchedule, parseGoDuration } from './cron-schedule.ts';

test('accepts standard schedules, names, steps, lists and descriptors', () => {
  for (const s of ['*/5 * * * *', '0 0 * * *', '0 9 * JAN-MAR mon-fri', '15,45 1-5/2 ? * *', '@hourly', '@every 1h30m', 'TZ=UTC 0 0 * * *']) {
    assert.doesNotThrow(() => parseCronSchedule(s), s);
  }
  const p = parseCronSchedule('1-10/3 * * * *');
  assert.ok(p.kind === 'fields' && [...p.minute].join(',') === '1,4,7,10');
  const e = parseCronSchedule('@every 90s');
  assert.ok(e.kind === 'every' && e.ms === 90_000);
});

test('errors are worded as robfig/cron', () => {
  const cases: [string, string][] = [
    ['', 'empty spec string'],
    ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
    ['60 * * * *', 'end of range (60) above maximum (59): 60'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
    ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ['@sometimes', 'unrecognized descriptor: @sometimes'],
    ['@every 5', 'failed to parse duration @every 5: time: missing unit in duration "5"'],
  ];
  for (const [spec, msg] of cases) {
    assert.throws(() => parseCronSchedule(spec), (err: unknown) => err instanceof CronParseError && err.message === msg, spec);
  }
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1h2m3s'), 3_723_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.throws(() => parseGoDuration('3x'), /unknown unit "x" in duration "3x"/);
});

test('nextScheduleTime follows robfig/cron Schedule.Next', async () => {
  const { nextScheduleTime } = await import('./cron-schedule.ts');
  const at = (iso: string): number => Date.parse(iso);
  // Strictly after, on minute boundaries.
  assert.equal(nextScheduleTime('TZ=UTC */1 * * * *', at('2030-03-04T10:07:30Z')), at('2030-03-04T10:08:00Z'));
  assert.equal(nextScheduleTime('TZ=UTC */1 * * * *', at('2030-03-04T10:08:00Z')), at('2030-03-04T10:09:00Z'));
  assert.equal(nextScheduleTime('TZ=UTC 0 3 * * *', at('2030-12-31T04:00:00Z')), at('2031-01-01T03:00:00Z'));
  // Day-of-month and day-of-week both restricted: either matches.
  assert.equal(nextScheduleTime('TZ=UTC 0 0 15 * mon', at('2030-03-04T00:00:00Z')), at('2030-03-11T00:00:00Z'));
  assert.equal(nextScheduleTime('TZ=UTC 0 0 29 2 *', at('2030-03-01T00:00:00Z')), at('2032-02-29T00:00:00Z'));
  assert.throws(() => nextScheduleTime('TZ=UTC 0 0 30 2 *', at('2030-03-01T00:00:00Z')), /names no time/);
});

test('nextScheduleTime takes the time zone option unless the schedule names one', async () => {
  const { nextScheduleTime, parseCronSchedule: parse } = await import('./cron-schedule.ts');
  const at = (iso: string): number => Date.parse(iso);
  assert.equal(nextScheduleTime('0 9 * * *', at('2030-06-01T01:00:00Z'), { timeZone: 'Asia/Tokyo' }), at('2030-06-02T00:00:00Z'));
  assert.equal(nextScheduleTime(parse('0 12 * * *'), at('2030-07-01T00:00:00Z'), { timeZone: 'America/New_York' }), at('2030-07-01T16:00:00Z'));
  assert.equal(nextScheduleTime('TZ=UTC 0 12 * * *', at('2030-07-01T00:00:00Z'), { timeZone: 'America/New_York' }), at('2030-07-01T12:00:00Z'));
  // Across the spring-forward gap in New York (02:00 → 03:00 on 2030-03-10), 02:30 does not exist that day.
  const t = nextScheduleTime('30 2 * * *', at('2030-03-10T05:00:00Z'), { timeZone: 'America/New_York' });
  assert.ok(t > at('2030-03-10T05:00:00Z'));
});

test('nextScheduleTime of @every truncates to the second', async () => {
  const { nextScheduleTime } = await import('./cron-schedule.ts');
  assert.equal(nextScheduleTime('@every 5s', 10_250), 15_000);
  assert.equal(nextScheduleTime('@every 1500ms', 10_000), 11_000);
  assert.equal(nextScheduleTime('@every 100ms', 10_000), 11_000);
});
