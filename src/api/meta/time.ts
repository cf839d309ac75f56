/** Time helpers: metav1.Time / MicroTime wire formats and duration.HumanDuration (the AGE column). */
import type { Clock } from '../../base/clock.ts';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

/**
 * A succinct duration as upstream's duration.HumanDuration (~2-3 significant figures): "0s", "45s", "3m20s",
 * "70m", "5h", "3d4h", "367d", "2y1d", "9y"; below -1s (clock skew beyond tolerance) "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / second);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / minute);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / hour);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** A coarser duration as upstream's duration.ShortHumanDuration ("59s", "1m", "23h", "364d", "1y"). */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / second);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(ms / minute);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(ms / hour);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** The AGE of an RFC 3339 timestamp relative to `now` (ms since the epoch); "<unknown>" when unset or unparsable. */
export function translateTimestampSince(ts: string | undefined, now: number): string {
  if (!ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}

/** Formats ms since the epoch as metav1.Time marshals: RFC 3339, UTC, whole seconds ("2026-11-21T23:19:49Z"). */
export function formatRFC3339(ms: number): string {
  return new Date(Math.floor(ms / second) * second).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Formats ms since the epoch as metav1.MicroTime marshals: UTC with six fractional digits. */
export function formatMicroTime(ms: number): string {
  const whole = Math.floor(ms);
  // Rounded, because the fraction of a float millisecond count is never exact.
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  const iso = new Date(whole).toISOString();
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** The current time (from `clock`, else the real clock) as metav1.Time marshals it. */
export function rfc3339Now(clock?: Clock): string {
  return formatRFC3339(clock ? clock.now() : Date.now());
}

/** The current time as metav1.MicroTime marshals it ("…T23:19:49.123456Z"); microseconds from the real clock only. */
export function microTime(clock?: Clock): string {
  return formatMicroTime(clock ? clock.now() : performance.timeOrigin + performance.now());
}
