/**
 * resource.Quantity: parsing, comparison, arithmetic and canonical formatting, following
 * k8s.io/apimachinery/pkg/api/resource. Values are exact decimals (bigint × 10^exponent), rounded away from
 * zero to nano units; parsed binary quantities are capped at 2^63-1, as upstream does.
 */

/** How a quantity is written: "1k" (DecimalSI), "1Ki" (BinarySI) or "1e3" (DecimalExponent). */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** The message of a malformed quantity (resource.ErrFormatWrong). */
export const ErrFormatWrong = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/** The message of an unparsable numeric part (resource.ErrNumeric). */
export const ErrNumeric = 'unable to parse numeric part of quantity';
/** The message of an unknown suffix (resource.ErrSuffix). */
export const ErrSuffix = "unable to parse quantity's suffix";

/** Thrown by parseQuantity; the message is upstream's. */
export class QuantityParseError extends Error {
  override name = 'QuantityParseError';
}

const maxInt64 = 2n ** 63n - 1n;
const minInt64 = -(2n ** 63n);
const nanoExp = -9;

const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Record<string, number> = { '': 0, Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalByExp = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));
const binaryByExp = new Map(Object.entries(binarySuffixes).map(([s, e]) => [e, s]));

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

// Division rounding away from zero (inf.RoundUp and upstream's ScaledValue both round that way).
function divAwayFromZero(n: bigint, d: bigint): bigint {
  const q = n / d;
  if (q * d === n) return q;
  return n < 0n ? q - 1n : q + 1n;
}

/** A parsed resource quantity: an exact decimal value plus the format it prints in. Immutable. */
export class Quantity {
  /** @param unscaled the digits; @param exp the power of ten; @param cached an already canonical spelling. */
  private constructor(
    private readonly unscaled: bigint,
    private readonly exp: number,
    /** The format used by toString(). */
    readonly format: QuantityFormat,
    private readonly cached?: string,
  ) {}

  /** A quantity of unscaled × 10^exp, rounded away from zero to nano units (the smallest unit upstream keeps). */
  static fromDecimal(unscaled: bigint, exp: number, format: QuantityFormat): Quantity {
    if (exp >= nanoExp) return new Quantity(unscaled, exp, format);
    return new Quantity(divAwayFromZero(unscaled, pow10(nanoExp - exp)), nanoExp, format);
  }

  /** @internal parseQuantity's constructor, which may keep the input as the canonical spelling. */
  static parsed(unscaled: bigint, exp: number, format: QuantityFormat, cached: string | undefined): Quantity {
    let q = Quantity.fromDecimal(unscaled, exp, format);
    // Upstream caps binary quantities at the largest int64.
    if (format === 'BinarySI' && compareDecimal(abs(q.unscaled), q.exp, maxInt64, 0) > 0) {
      q = new Quantity(q.unscaled < 0n ? -maxInt64 : maxInt64, 0, format);
    }
    // A binary quantity below one cannot be written with a binary suffix; upstream switches it to decimal.
    if (format === 'BinarySI' && !q.isZero() && compareDecimal(abs(q.unscaled), q.exp, 1n, 0) < 0) {
      q = new Quantity(q.unscaled, q.exp, 'DecimalSI');
    }
    return cached === undefined ? q : new Quantity(q.unscaled, q.exp, q.format, cached);
  }

  /** -1, 0 or 1 by sign. */
  sign(): number {
    return this.unscaled < 0n ? -1 : this.unscaled > 0n ? 1 : 0;
  }

  /** True when the value is zero. */
  isZero(): boolean {
    return this.unscaled === 0n;
  }

  /** The value scaled to 10^scale, rounded away from zero (ScaledValue), as a bigint. */
  scaledValueBig(scale: number): bigint {
    const shift = this.exp - scale;
    return shift >= 0 ? this.unscaled * pow10(shift) : divAwayFromZero(this.unscaled, pow10(-shift));
  }

  /** The value in thousandths, rounded away from zero (MilliValue). */
  milliValue(): number {
    return Number(this.scaledValueBig(-3));
  }

  /** The value rounded away from zero to an integer (Value). */
  value(): number {
    return Number(this.scaledValueBig(0));
  }

  /** The value as a float (AsApproximateFloat64). */
  asApproximateFloat(): number {
    return Number(this.unscaled) * 10 ** this.exp;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than `other`. */
  cmp(other: Quantity): number {
    return compareDecimal(this.unscaled, this.exp, other.unscaled, other.exp);
  }

  /** this + other, in this quantity's format (the other's when this is zero, as upstream's Add). */
  add(other: Quantity): Quantity {
    const e = Math.min(this.exp, other.exp);
    const sum = this.unscaled * pow10(this.exp - e) + other.unscaled * pow10(other.exp - e);
    return Quantity.fromDecimal(sum, e, this.isZero() ? other.format : this.format);
  }

  /** this - other, in this quantity's format (the other's when this is zero). */
  sub(other: Quantity): Quantity {
    return this.add(other.neg());
  }

  /** -this. */
  neg(): Quantity {
    return new Quantity(-this.unscaled, this.exp, this.format);
  }

  /** The canonical string form (CanonicalizeBytes): "100m", "1Gi", "1500m", "1e3", "0". */
  toString(): string {
    return this.cached ?? this.canonical();
  }

  /** JSON form: the canonical string, as a Quantity marshals. */
  toJSON(): string {
    return this.toString();
  }

  private canonical(): string {
    if (this.unscaled === 0n) return '0';
    let format = this.format;
    if (format === 'BinarySI') {
      const small = compareDecimal(this.unscaled, this.exp, -1024n, 0) > 0 && compareDecimal(this.unscaled, this.exp, 1024n, 0) < 0;
      // Fractions and small numbers print in decimal so that nothing is rounded.
      if (small || !this.isInteger()) format = 'DecimalSI';
    }
    if (format === 'BinarySI') {
      let amount = this.scaledValueBig(0);
      let exponent = 0;
      while (amount % 1024n === 0n && binaryByExp.has((exponent + 1) * 10)) {
        amount /= 1024n;
        exponent++;
      }
      return `${amount}${binaryByExp.get(exponent * 10) ?? ''}`;
    }
    let amount = this.unscaled;
    let exponent = this.exp;
    while (amount % 10n === 0n) {
      amount /= 10n;
      exponent++;
    }
    while (exponent % 3 !== 0) {
      amount *= 10n;
      exponent--;
    }
    if (format === 'DecimalSI') {
      const suffix = decimalByExp.get(exponent);
      // DecimalSI has no suffix beyond E (10^18); larger values fall back to exponent notation.
      if (suffix !== undefined) return `${amount}${suffix}`;
    }
    return exponent === 0 ? `${amount}` : `${amount}e${exponent}`;
  }

  private isInteger(): boolean {
    return this.exp >= 0 || this.unscaled % pow10(-this.exp) === 0n;
  }
}

function compareDecimal(a: bigint, ae: number, b: bigint, be: number): number {
  const e = Math.min(ae, be);
  const x = a * pow10(ae - e);
  const y = b * pow10(be - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

interface QuantityParts {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

// parseQuantityString: sign, integer digits, optional fraction, then a suffix of [eEinumkKMGTP]* and an
// optional signed integer.
function splitQuantity(str: string): QuantityParts {
  let pos = 0;
  const end = str.length;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  // With every integer digit stripped as a leading zero, the integer part is 0 (".5", "0Ki").
  const num = str.slice(pos, i) || '0';
  pos = i;
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    pos = i;
  }
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos] ?? '')) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) throw new QuantityParseError(ErrFormatWrong);
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

function interpretSuffix(s: string): { base: 2 | 10; exponent: number; format: QuantityFormat } | undefined {
  if (Object.hasOwn(decimalSuffixes, s)) return { base: 10, exponent: decimalSuffixes[s] ?? 0, format: 'DecimalSI' };
  if (Object.hasOwn(binarySuffixes, s)) return { base: 2, exponent: binarySuffixes[s] ?? 0, format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E') && /^[+-]?[0-9]+$/.test(s.slice(1))) {
    const exponent = Number(s.slice(1));
    if (Math.abs(exponent) <= 2 ** 31 - 1) return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return undefined;
}

/** Parses a quantity string ("100m", "1Gi", "1e3", "0.5"); throws QuantityParseError with upstream's message. */
export function parseQuantity(s: string): Quantity {
  if (s.length === 0) throw new QuantityParseError(ErrFormatWrong);
  if (s === '0') return Quantity.parsed(0n, 0, 'DecimalSI', '0');
  const { positive, num, denom, suffix } = splitQuantity(s);
  const sfx = interpretSuffix(suffix);
  if (!sfx) throw new QuantityParseError(ErrSuffix);
  const shifted = num + denom;
  let unscaled = BigInt(shifted);
  if (!positive) unscaled = -unscaled;
  let exp = -denom.length;
  if (sfx.base === 10) exp += sfx.exponent;
  else unscaled *= 2n ** BigInt(sfx.exponent);
  return Quantity.parsed(unscaled, exp, sfx.format, keepsSpelling(s, shifted, num, denom, sfx));
}

// Upstream's fast path keeps the input string as the canonical form when it already is one; this mirrors
// its conditions so that toString() returns what upstream's String() would (including a leading "+").
function keepsSpelling(
  s: string, shifted: string, num: string, denom: string, sfx: { base: 2 | 10; exponent: number; format: QuantityFormat },
): string | undefined {
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (sfx.base === 10) {
    scale = sfx.exponent;
    precision = 18 - (num.length + denom.length);
  } else if (sfx.exponent >= 0 && denom.length === 0) {
    mantissa = 1n << BigInt(sfx.exponent);
    precision = 15 - num.length - Math.trunc(Math.fround(sfx.exponent * 3) / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision < 0) return undefined;
  scale -= denom.length;
  if (scale < nanoExp) return undefined;
  const value = BigInt(shifted);
  if (value > maxInt64) return undefined;
  const result = value * mantissa;
  if (result > maxInt64 || result < minInt64) return undefined;
  if (sfx.base === 2) return sfx.exponent % 10 === 0 && (value & 7n) !== 0n ? s : undefined;
  return scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0' ? s : undefined;
}

/** True when `s` parses as a quantity. */
export function isValidQuantity(s: string): boolean {
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

/** A quantity of `value` units (resource.NewQuantity). */
export function newQuantity(value: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return Quantity.fromDecimal(BigInt(value), 0, format);
}

/** A quantity of `milli` thousandths (resource.NewMilliQuantity). */
export function newMilliQuantity(milli: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return Quantity.fromDecimal(BigInt(milli), -3, format);
}
