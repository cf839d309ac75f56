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
