import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../base/clock.ts';
import { formatMicroTime, formatRFC3339, humanDuration, microTime, rfc3339Now, shortHumanDuration, translateTimestampSince } from './time.ts';

// Fixtures from k8s.io/apimachinery/pkg/util/duration/duration_test.go.
const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;
const y = 365 * d;

void describe('humanDuration', () => {
  void it('follows upstream TestHumanDuration', () => {
    const cases: [number, string][] = [
      [s, '1s'], [70 * s, '70s'], [190 * s, '3m10s'], [70 * m, '70m'], [47 * h, '47h'], [49 * h, '2d1h'], [(8 * 24 + 2) * h, '8d'],
      [367 * 24 * h, '367d'], [(365 * 2 * 24 + 25) * h, '2y1d'], [(365 * 8 * 24 + 2) * h, '8y'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
  });

  void it('follows upstream TestHumanDurationBoundaries', () => {
    const cases: [number, string][] = [
      [-2 * s, '<invalid>'], [-2 * s + 0.000001, '0s'], [0, '0s'], [s - 1, '0s'], [2 * m - 1, '119s'], [2 * m, '2m'], [2 * m + s, '2m1s'],
      [10 * m - 1, '9m59s'], [10 * m, '10m'], [10 * m + s, '10m'], [3 * h - 1, '179m'], [3 * h, '3h'], [3 * h + m, '3h1m'],
      [8 * h - 1, '7h59m'], [8 * h, '8h'], [8 * h + 59 * m, '8h'], [2 * d - 1, '47h'], [2 * d, '2d'], [2 * d + h, '2d1h'],
      [8 * d - 1, '7d23h'], [8 * d, '8d'], [8 * d + 23 * h, '8d'], [2 * y - 1, '729d'], [2 * y, '2y'], [2 * y + 23 * h, '2y'],
      [2 * y + 23 * h + 59 * m, '2y'], [2 * y + d - 1, '2y'], [2 * y + d, '2y1d'], [3 * y, '3y'], [4 * y, '4y'], [5 * y, '5y'],
      [6 * y, '6y'], [7 * y, '7y'], [8 * y - 1, '7y364d'], [8 * y, '8y'], [8 * y + 364 * d, '8y'], [9 * y, '9y'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
  });

  void it('gives the examples of the AGE column', () => {
    assert.equal(humanDuration(45 * s), '45s');
    assert.equal(humanDuration(200 * s), '3m20s');
    assert.equal(humanDuration(5 * h), '5h');
    assert.equal(humanDuration(3 * d + 4 * h), '3d4h');
  });
});

void describe('shortHumanDuration', () => {
  void it('follows upstream TestShortHumanDurationBoundaries', () => {
    const cases: [number, string][] = [
      [-2 * s, '<invalid>'], [0, '0s'], [s - 1, '0s'], [s, '1s'], [2 * s - 1, '1s'], [m - 1, '59s'], [m, '1m'], [2 * m - 1, '1m'],
      [h - 1, '59m'], [h, '1h'], [2 * h - 1, '1h'], [d - 1, '23h'], [d, '1d'], [2 * d - 1, '1d'], [y - 1, '364d'], [y, '1y'],
      [2 * y - 1, '1y'], [2 * y, '2y'],
    ];
    for (const [ms, want] of cases) assert.equal(shortHumanDuration(ms), want, String(ms));
  });
});

void describe('timestamps', () => {
  const t = Date.UTC(2026, 10, 21, 23, 19, 49, 123);

  void it('translateTimestampSince', () => {
    assert.equal(translateTimestampSince(undefined, t), '<unknown>');
    assert.equal(translateTimestampSince('', t), '<unknown>');
    assert.equal(translateTimestampSince('not a time', t), '<unknown>');
    assert.equal(translateTimestampSince('2026-11-21T23:19:04Z', t), '45s');
    assert.equal(translateTimestampSince('2026-11-18T19:19:49Z', t), '3d4h');
  });

  void it('formats metav1.Time with whole seconds and MicroTime with six digits', () => {
    assert.equal(formatRFC3339(t), '2026-11-21T23:19:49Z');
    assert.equal(formatMicroTime(t), '2026-11-21T23:19:49.123000Z');
    assert.equal(formatMicroTime(t + 0.456), '2026-11-21T23:19:49.123456Z');
    assert.equal(rfc3339Now(new FakeClock(t)), '2026-11-21T23:19:49Z');
    assert.equal(microTime(new FakeClock(t)), '2026-11-21T23:19:49.123000Z');
    assert.match(rfc3339Now(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(microTime(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });
});
