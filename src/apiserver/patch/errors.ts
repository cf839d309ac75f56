/**
 * PatchError: a patch the engines cannot apply, carrying the Status the API server answers with. Messages copy
 * apimachinery's mergepatch errors and structured-merge-diff's, because clients and people match on them.
 */
import type { Status } from '../../api/meta/types.ts';
import { ApiError } from '../errors.ts';

/** How the API server reports a patch failure: 400 BadRequest, or 422 (Invalid, or upstream's generic 422). */
export type PatchErrorKind = 'BadRequest' | 'Invalid' | 'Unprocessable';

/** A patch that cannot be applied; `status` is the Status to send (an ApiError, so the pipeline can throw it as is). */
export class PatchError extends ApiError {
  /** The upstream error text (also the Status message for BadRequest and Invalid). */
  readonly detail: string;
  constructor(detail: string, kind: PatchErrorKind = 'Invalid') {
    super(patchStatus(detail, kind));
    this.detail = detail;
  }
}

function patchStatus(detail: string, kind: PatchErrorKind): Status {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure' } as const;
  switch (kind) {
    case 'BadRequest':
      return { ...base, message: detail, reason: 'BadRequest', code: 400 };
    case 'Invalid':
      return { ...base, message: detail, reason: 'Invalid', code: 422 };
    case 'Unprocessable':
      // errors.NewGenericServerResponse(422, …, serverMessage): a fixed message and the detail as a cause.
      return {
        ...base,
        message: 'the server rejected our request due to an error in our request',
        reason: 'Invalid',
        details: { causes: [{ reason: 'UnexpectedServerResponse', message: detail }] },
        code: 422,
      };
  }
}

/** Go's %v of decoded JSON (map[a:1 b:[x y]]), which upstream puts into several messages. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goValue(o[k])}`).join(' ')}]`;
  }
  if (typeof v === 'number') return goNumber(v);
  return String(v);
}

/** Go's %v of a float64 (JSON numbers decode to float64): shortest form, exponent from 1e21 as Go does. */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** mergepatch.ErrNoMergeKey. */
export function errNoMergeKey(m: Record<string, unknown>, key: string): PatchError {
  return new PatchError(`map: ${goValue(m)} does not contain declared merge key: ${key}`, 'Invalid');
}

/** mergepatch.ErrBadPatchType. */
export function errBadPatchType(t: unknown, m: Record<string, unknown>): PatchError {
  return new PatchError(`unknown patch type: ${goValue(t)} in map: ${goValue(m)}`, 'Invalid');
}

/** mergepatch.ErrBadArgType (kinds as Go's reflect names them). */
export function errBadArgType(expected: string, actual: unknown): PatchError {
  return new PatchError(`expected a ${expected}, but received a ${goKind(actual)}`, 'Invalid');
}

/** reflect.Kind names of decoded JSON values. */
export function goKind(v: unknown): string {
  if (v === null || v === undefined) return 'invalid';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

// The fixed-text mergepatch errors, with the status upstream's interpretStrategicMergePatchError gives each.
/** mergepatch.ErrBadPatchFormatForPrimitiveList (400). */
export const errBadPatchFormatForPrimitiveList = (): PatchError => new PatchError('invalid patch format of primitive list', 'BadRequest');
/** mergepatch.ErrBadPatchFormatForRetainKeys (400). */
export const errBadPatchFormatForRetainKeys = (): PatchError => new PatchError('invalid patch format of retainKeys', 'BadRequest');
/** mergepatch.ErrBadPatchFormatForSetElementOrderList (400). */
export const errBadPatchFormatForSetElementOrderList = (): PatchError => new PatchError('invalid patch format of setElementOrder list', 'BadRequest');
/** mergepatch.ErrNoListOfLists (upstream's generic 422). */
export const errNoListOfLists = (): PatchError => new PatchError('lists of lists are not supported', 'Unprocessable');
