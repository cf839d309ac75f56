/** intstr.IntOrString helpers: scaling "25%" against a total, and validation of int-or-percent fields. */
import type { FieldError } from './field-errors.ts';
import { fieldError } from './field-errors.ts';
import { IsNegativeErrorMsg, isValidPercent } from './validation.ts';

// strconv.Atoi, with its error wording.
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an integer is returned as is; "N%" is N% of total, rounded up or down.
 * Throws with upstream's message on anything else ("invalid value for IntOrString: …").
 */
export function getIntOrPercentValue(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`invalid value for IntOrString: invalid type: neither int nor percentage`);
    return v;
  }
  if (typeof v !== 'string') throw new Error('invalid value for IntOrString: invalid type: neither int nor percentage');
  if (!v.endsWith('%')) throw new Error('invalid value for IntOrString: invalid type: string is not a percentage');
  let n: number;
  try {
    n = atoi(v.slice(0, -1));
  } catch (e) {
    throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}: ${(e as Error).message}`);
  }
  return roundUp ? Math.ceil((n * total) / 100) : Math.floor((n * total) / 100);
}

/**
 * Validates an int-or-percent field (apps' ValidatePositiveIntOrPercent): a non-negative integer or a string
 * matching "[0-9]+%". Undefined is accepted.
 */
export function validateIntOrPercent(v: number | string | undefined | null, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return isValidPercent(v).map((msg) => fieldError.invalid(path, v, msg));
  if (typeof v === 'number' && Number.isInteger(v)) return v < 0 ? [fieldError.invalid(path, v, IsNegativeErrorMsg)] : [];
  return [fieldError.invalid(path, v, "must be an integer or percentage (e.g '5%')")];
}

/** Rejects a percentage above 100% ("must not be greater than 100%"); integers are not checked. */
export function validateNotMoreThan100Percent(v: number | string | undefined | null, path: string): FieldError[] {
  if (typeof v !== 'string' || isValidPercent(v).length > 0) return [];
  return Number(v.slice(0, -1)) > 100 ? [fieldError.invalid(path, v, 'must not be greater than 100%')] : [];
}
