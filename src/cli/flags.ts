/**
 * A pflag-compatible command-line parser: kubectl's flag grammar (`--name=value`, `--name value`, `-n value`,
 * `-nvalue`, grouped booleans `-it`, `--bool=false`, `--` ending flags, flags interspersed with arguments) and
 * pflag's error wording, so that `skiff` rejects bad input with the same text kubectl prints.
 */

/** The value kinds pflag offers that kubectl uses. */
export type FlagType = 'string' | 'bool' | 'int' | 'stringArray' | 'stringSlice' | 'duration';

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes (`output`). */
  name: string;
  /** One-letter shorthand (`o`). */
  short?: string;
  type: FlagType;
  default?: string | boolean | number | string[];
  /** Value used when the flag is given without `=value` (pflag NoOptDefVal, e.g. `--dry-run` → "unchanged"). */
  noOptDefault?: string;
  usage?: string;
}

/** Parsed flag values keyed by long name, plus the positional arguments and what followed `--`. */
export interface ParsedFlags {
  values: Record<string, string | boolean | number | string[]>;
  /** Long names of the flags the user actually gave. */
  changed: Set<string>;
  args: string[];
  /** Index into `args` where `--` appeared (-1 when absent): kubectl's ArgsLenAtDash. */
  dashAt: number;
}

/** A usage error (bad flag or value): printed as `error: <message>` plus a help hint, exit code 1. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** Parses `argv` against `specs` with pflag semantics; throws FlagError with pflag's message on bad input. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byLong.set(s.name, s);
    if (s.short) byShort.set(s.short, s);
  }
  const values: ParsedFlags['values'] = {};
  for (const s of specs) values[s.name] = defaultOf(s);
  const changed = new Set<string>();
  const args: string[] = [];
  let dashAt = -1;

  const set = (spec: FlagSpec, raw: string, display: string): void => {
    const first = !changed.has(spec.name);
    changed.add(spec.name);
    switch (spec.type) {
      case 'bool': {
        const b = parseBool(raw);
        if (b === undefined) throw new FlagError(`invalid argument ${JSON.stringify(raw)} for "${display}" flag: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
        values[spec.name] = b;
        return;
      }
      case 'int': {
        if (!/^[+-]?\d+$/.test(raw)) throw new FlagError(`invalid argument ${JSON.stringify(raw)} for "${display}" flag: strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
        values[spec.name] = Number(raw);
        return;
      }
      case 'duration': {
        if (parseDuration(raw) === undefined) throw new FlagError(`invalid argument ${JSON.stringify(raw)} for "${display}" flag: time: invalid duration ${JSON.stringify(raw)}`);
        values[spec.name] = raw;
        return;
      }
      case 'stringArray': {
        const prev = first ? [] : (values[spec.name] as string[]);
        values[spec.name] = [...prev, raw];
        return;
      }
      case 'stringSlice': {
        const prev = first ? [] : (values[spec.name] as string[]);
        values[spec.name] = [...prev, ...(raw === '' ? [] : splitCsv(raw))];
        return;
      }
      default:
        values[spec.name] = raw;
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      dashAt = args.length;
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byLong.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      const display = `--${name}`;
      if (eq >= 0) set(spec, a.slice(eq + 1), display);
      else if (spec.type === 'bool') set(spec, 'true', display);
      else if (spec.noOptDefault !== undefined) set(spec, spec.noOptDefault, display);
      else if (i + 1 < argv.length) set(spec, argv[++i]!, display);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && a !== '-') {
      // A group of shorthands: booleans may be stacked, the first value-taking one eats the rest or the next arg.
      let j = 1;
      while (j < a.length) {
        const c = a[j]!;
        const spec = byShort.get(c);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
        const display = `-${c}, --${spec.name}`;
        const rest = a.slice(j + 1);
        if (rest.startsWith('=')) {
          set(spec, rest.slice(1), display);
          break;
        }
        if (spec.type === 'bool') {
          set(spec, 'true', display);
          j++;
          continue;
        }
        if (rest !== '') set(spec, rest, display);
        else if (spec.noOptDefault !== undefined) set(spec, spec.noOptDefault, display);
        else if (i + 1 < argv.length) set(spec, argv[++i]!, display);
        else throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
        break;
      }
      continue;
    }
    args.push(a);
  }
  return { values, changed, args, dashAt };
}

/** Go's time.ParseDuration for the units kubectl users type (ns…h); returns milliseconds or undefined. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let sign = 1;
  let rest = s;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '') return undefined;
  re.lastIndex = 0;
  let pos = 0;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  while (pos < rest.length) {
    re.lastIndex = pos;
    const m = re.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return sign * total;
}

function defaultOf(s: FlagSpec): string | boolean | number | string[] {
  if (s.default !== undefined) return Array.isArray(s.default) ? [...s.default] : s.default;
  switch (s.type) {
    case 'bool':
      return false;
    case 'int':
      return 0;
    case 'stringArray':
    case 'stringSlice':
      return [];
    default:
      return '';
  }
}

function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** pflag's stringSlice values are CSV records: commas split, double quotes protect. */
function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') (cur += '"', i++);
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') (out.push(cur), (cur = ''));
    else cur += c;
  }
  out.push(cur);
  return out;
}
