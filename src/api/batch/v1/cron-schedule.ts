/**
 * Cron schedule parsing with the rules and error wording of github.com/robfig/cron/v3 ParseStandard, which the
 * CronJob validation uses: five fields (minute hour day-of-month month day-of-week), month and weekday names,
 * ranges, steps, lists, "*" / "?", the @yearly…@hourly descriptors, "@every <duration>" and a TZ= prefix.
 */

/** The parsed schedule: the set of allowed values per field, or a fixed interval for "@every". */
export type CronSchedule =
  | { kind: 'fields'; minute: Set<number>; hour: Set<number>; dom: Set<number>; month: Set<number>; dow: Set<number>; domStar: boolean; dowStar: boolean; timeZone?: string }
  | { kind: 'every'; ms: number; timeZone?: string };

/** Thrown for an invalid schedule; the message is robfig/cron's. */
export class CronParseError extends Error {
  override name = 'CronParseError';
}

interface Bounds { min: number; max: number; names?: Record<string, number> }

const minutes: Bounds = { min: 0, max: 59 };
const hours: Bounds = { min: 0, max: 23 };
const doms: Bounds = { min: 1, max: 31 };
const months: Bounds = {
  min: 1, max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const dows: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

function mustParseInt(expr: string): number {
  // strconv.Atoi: optional sign then decimal digits
  if (!/^[+-]?\d+$/.test(expr)) throw new CronParseError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number.parseInt(expr, 10);
  if (n < 0) throw new CronParseError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names: Record<string, number> | undefined): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? mustParseInt(expr);
}

function getRange(expr: string, r: Bounds, out: Set<number>): boolean {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = (rangeAndStep[0] ?? '').split('-');
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0] ?? '', r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] ?? '', r.names);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  let step: number;
  if (rangeAndStep.length === 1) {
    step = 1;
  } else if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1] ?? '');
    // "N/step" means "N-max/step"
    if (single) end = r.max;
    if (step > 1) star = false;
  } else {
    throw new CronParseError(`too many slashes: ${expr}`);
  }
  if (start < r.min) throw new CronParseError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) throw new CronParseError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  for (let i = start; i <= end; i += step) out.add(i);
  return star;
}

function getField(field: string, r: Bounds): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(',')) star = getRange(expr, r, values) || star;
  return { values, star };
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; throws with Go's message. */
export function parseGoDuration(s: string): number {
  const quoted = JSON.stringify(s);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new CronParseError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const num = /^(\d*)(\.\d*)?/.exec(rest);
    const digits = num?.[0] ?? '';
    if (digits === '' || digits === '.') throw new CronParseError(`time: invalid duration ${quoted}`);
    rest = rest.slice(digits.length);
    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? '';
    if (unit === '') throw new CronParseError(`time: missing unit in duration ${quoted}`);
    const mult = durationUnits[unit];
    if (mult === undefined) throw new CronParseError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    total += Number(digits) * mult;
    rest = rest.slice(unit.length);
  }
  return sign * total;
}

const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** True when the IANA time zone name is known (Go's time.LoadLocation). */
export function isKnownTimeZone(tz: string): boolean {
  if (tz === '' || tz === 'UTC' || tz === 'Local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses a schedule as cron.ParseStandard does; throws CronParseError with robfig/cron's message. */
export function parseCronSchedule(spec: string): CronSchedule {
  if (spec.length === 0) throw new CronParseError('empty spec string');
  let timeZone: string | undefined;
  let s = spec;
  if (s.startsWith('TZ=') || s.startsWith('CRON_TZ=')) {
    const i = s.indexOf(' ');
    const eq = s.indexOf('=');
    const name = i < 0 ? s.slice(eq + 1) : s.slice(eq + 1, i);
    if (!isKnownTimeZone(name)) throw new CronParseError(`provided bad location ${name}: unknown time zone ${name}`);
    timeZone = name;
    s = i < 0 ? '' : s.slice(i).trim();
  }
  if (s.startsWith('@')) {
    if (s.startsWith('@every ')) {
      let ms: number;
      try {
        ms = parseGoDuration(s.slice('@every '.length));
      } catch (e) {
        throw new CronParseError(`failed to parse duration ${s}: ${(e as Error).message}`);
      }
      return { kind: 'every', ms, ...(timeZone === undefined ? {} : { timeZone }) };
    }
    const expanded = descriptors[s];
    if (expanded === undefined) throw new CronParseError(`unrecognized descriptor: ${s}`);
    s = expanded;
  }
  const fields = s.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) {
    throw new CronParseError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  }
  const [mi, ho, dm, mo, dw] = fields as [string, string, string, string, string];
  const minute = getField(mi, minutes);
  const hour = getField(ho, hours);
  const dom = getField(dm, doms);
  const month = getField(mo, months);
  const dow = getField(dw, dows);
  return {
    kind: 'fields',
    minute: minute.values, hour: hour.values, dom: dom.values, month: month.values, dow: dow.values,
    domStar: dom.star, dowStar: dow.star,
    ...(timeZone === undefined ? {} : { timeZone }),
  };
}

// ---- next due time ---------------------------------------------------------------------------------

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
}

function wallOf(t: number, tz: string | undefined): Wall {
  if (tz === undefined || tz === 'Local') {
    const d = new Date(t);
    return { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes() };
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  }).formatToParts(new Date(t));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute') };
}

function instantOf(w: Wall, tz: string | undefined): number {
  if (tz === undefined || tz === 'Local') return new Date(w.y, w.mo - 1, w.d, w.h, w.mi).getTime();
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
  // Two rounds find the offset in force at that wall time (one more settles DST edges).
  let t = asUtc;
  for (let i = 0; i < 2; i++) {
    const seen = wallOf(t, tz);
    t += asUtc - Date.UTC(seen.y, seen.mo - 1, seen.d, seen.h, seen.mi);
  }
  return t;
}

function nextFieldsTime(s: Extract<CronSchedule, { kind: 'fields' }>, afterMs: number, tz: string | undefined): number | undefined {
  const start = wallOf(afterMs, tz);
  // The calendar is walked in a zone-less timeline (UTC arithmetic on wall fields), then mapped back.
  let w = Date.UTC(start.y, start.mo - 1, start.d, start.h, start.mi) + 60_000;
  // robfig/cron gives up after five years too (a schedule such as "0 0 30 2 *" names no time).
  const limit = w + 5 * 366 * 86_400_000;
  while (w < limit) {
    const d = new Date(w);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    const day = d.getUTCDate();
    const h = d.getUTCHours();
    if (!s.month.has(mo + 1)) {
      w = Date.UTC(y, mo + 1, 1);
      continue;
    }
    const domMatch = s.dom.has(day);
    const dowMatch = s.dow.has(d.getUTCDay());
    // A star in either day field makes the two an AND, otherwise an OR (robfig/cron dayMatches).
    const dayOk = s.domStar || s.dowStar ? domMatch && dowMatch : domMatch || dowMatch;
    if (!dayOk) {
      w = Date.UTC(y, mo, day + 1);
      continue;
    }
    if (!s.hour.has(h)) {
      w = Date.UTC(y, mo, day, h + 1);
      continue;
    }
    if (!s.minute.has(d.getUTCMinutes())) {
      w += 60_000;
      continue;
    }
    const t = instantOf({ y, mo: mo + 1, d: day, h, mi: d.getUTCMinutes() }, tz);
    if (t > afterMs) return t;
    w += 60_000;
  }
  return undefined;
}

/**
 * Schedule.Next of robfig/cron: the first time (ms) strictly after `after` that `schedule` (parsed or a string)
 * names. The schedule's own TZ= prefix wins over `timeZone` (a CronJob's spec.timeZone); with neither, local time.
 * "@every d" gives `after` truncated to the second plus d (at least one second). Throws CronParseError for a bad
 * string and an Error when a 5-field schedule names no time in the next five years.
 */
export function nextScheduleTime(schedule: CronSchedule | string, after: number, opts: { timeZone?: string } = {}): number {
  const s = typeof schedule === 'string' ? parseCronSchedule(schedule) : schedule;
  if (s.kind === 'every') {
    const delay = Math.max(1000, s.ms - (s.ms % 1000));
    return after - (((after % 1000) + 1000) % 1000) + delay;
  }
  const tz = s.timeZone ?? opts.timeZone;
  const t = nextFieldsTime(s, after, tz);
  if (t === undefined) throw new Error('the cron schedule names no time in the next five years');
  return t;
}
