/**
 * Field errors: the validation vocabulary of apimachinery's field.ErrorList.
 * `type` is the StatusCause reason (FieldValueRequired, …); `field` is the JSON path (spec.containers[0].name).
 */
export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'InternalError';

/** One validation failure at one field. */
export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** The offending value (omitted for Required and Forbidden). */
  value?: unknown;
  /** Human-readable detail, as upstream words it. */
  detail?: string;
  /** For NotSupported: the allowed values. */
  supported?: string[];
}

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  InternalError: 'Internal error',
};

function quoteValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/**
 * The message of one field error without its field, as apimachinery's ErrorBody(): `Invalid value: -1: must be
 * greater than or equal to 0`, `Required value: name or generateName is required`. StatusCause messages use it.
 */
export function fieldErrorBody(e: FieldError): string {
  // Upstream omits the value of Required, Forbidden, TooLong and Internal errors.
  const hasValue = e.type !== 'FieldValueRequired' && e.type !== 'FieldValueForbidden' && e.type !== 'FieldValueTooLong' &&
    e.type !== 'InternalError' && e.value !== undefined;
  let s = typeText[e.type];
  if (hasValue) s += `: ${quoteValue(e.value)}`;
  if (e.type === 'FieldValueNotSupported' && e.supported && e.supported.length > 0) {
    s += `: supported values: ${e.supported.map((x) => JSON.stringify(x)).join(', ')}`;
  } else if (e.detail) {
    s += `: ${e.detail}`;
  }
  return s;
}

/**
 * The message of one field error, worded as apimachinery's Error(): `spec.replicas: Invalid value: -1: must be
 * greater than or equal to 0`, `metadata.name: Required value: name or generateName is required`.
 */
export function fieldErrorMessage(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** Constructors in the style of field.Required(path, detail) etc. */
export const fieldError = {
  required: (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail }),
  invalid: (field: string, value: unknown, detail = ''): FieldError => ({ type: 'FieldValueInvalid', field, value, detail }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldError => ({
    type: 'FieldValueNotSupported', field, value, supported,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  tooLong: (field: string, max: number): FieldError => ({
    type: 'FieldValueTooLong', field, detail: `must have at most ${max} bytes`,
  }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    type: 'FieldValueTooMany', field, detail: `must have at most ${max} items`, value: actual,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field, value, detail }),
  notFound: (field: string, value: unknown): FieldError => ({ type: 'FieldValueNotFound', field, value }),
};
