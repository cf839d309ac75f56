/**
 * Builders for metav1.Status objects, worded as k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewInvalid…),
 * because clients and people match on these messages.
 */
import type { Status, StatusCause, StatusDetails } from 'kubernetes-types/meta/v1.js';
import type { FieldError } from './field-errors.ts';
import { fieldErrorBody, fieldErrorMessage } from './field-errors.ts';

/** metav1.StatusReason values. */
export const StatusReason = {
  Unknown: '',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Gone: 'Gone',
  Invalid: 'Invalid',
  ServerTimeout: 'ServerTimeout',
  StoreReadError: 'StorageReadError',
  Timeout: 'Timeout',
  TooManyRequests: 'TooManyRequests',
  BadRequest: 'BadRequest',
  MethodNotAllowed: 'MethodNotAllowed',
  NotAcceptable: 'NotAcceptable',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
  UnsupportedMediaType: 'UnsupportedMediaType',
  InternalError: 'InternalError',
  Expired: 'Expired',
  ServiceUnavailable: 'ServiceUnavailable',
} as const;

/** One of the StatusReason values. */
export type StatusReasonValue = (typeof StatusReason)[keyof typeof StatusReason];

/** The message every optimistic-concurrency conflict carries (registry's OptimisticLockErrorMsg). */
export const OptimisticLockErrorMsg = 'the object has been modified; please apply your changes to the latest version and try again';

/** A group and resource, as in errors.NewNotFound(schema.GroupResource{…}, name). */
export interface GroupResource {
  group?: string;
  resource: string;
}

// GroupResource.String(): "pods", "deployments.apps".
function groupResourceString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

// Go's %q for the names in messages; JSON quoting agrees for everything a valid name can contain.
function q(s: string): string {
  return JSON.stringify(s);
}

// metav1.StatusDetails with Go's omitempty: empty strings and lists are left out.
function details(d: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number }): StatusDetails {
  const out: StatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes && d.causes.length > 0) out.causes = d.causes;
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

/** A failure Status (kind Status, apiVersion v1) with the given code, reason, message and details. */
export function statusFailure(opts: { code: number; reason: string; message: string; details?: StatusDetails }): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: opts.message };
  if (opts.reason) s.reason = opts.reason;
  if (opts.details && Object.keys(opts.details).length > 0) s.details = opts.details;
  s.code = opts.code;
  return s;
}

/** A success Status, as returned by deletes of collections and some subresources. */
export function statusSuccess(details?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  if (details && Object.keys(details).length > 0) s.details = details;
  return s;
}

/** The StatusCauses of a field error list (type, ErrorBody message without the field, field). */
export function fieldErrorCauses(errs: FieldError[]): StatusCause[] {
  return errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
}

/** The aggregated message of a field error list: one message alone, several de-duplicated in brackets. */
export function aggregateFieldErrors(errs: FieldError[]): string {
  const msgs = [...new Set(errs.map(fieldErrorMessage))];
  return msgs.length === 1 ? msgs[0] ?? '' : `[${msgs.join(', ')}]`;
}

/**
 * The 422 Invalid Status of errors.NewInvalid: message `Deployment.apps "web" is invalid: [a, b]` (one error:
 * no brackets; none: no colon), details { name, group, kind, causes }.
 */
export function invalidStatus(kind: string, name: string, errs: FieldError[], opts: { group?: string } = {}): Status {
  const gk = opts.group ? `${kind}.${opts.group}` : kind;
  const message = errs.length === 0 ? `${gk} ${q(name)} is invalid` : `${gk} ${q(name)} is invalid: ${aggregateFieldErrors(errs)}`;
  return statusFailure({
    code: 422,
    reason: StatusReason.Invalid,
    message,
    details: details({ name, group: opts.group, kind, causes: fieldErrorCauses(errs) }),
  });
}

/** 404 NotFound: `pods "web" not found`. */
export function notFoundStatus(gr: GroupResource, name: string): Status {
  return statusFailure({
    code: 404, reason: StatusReason.NotFound, message: `${groupResourceString(gr)} ${q(name)} not found`,
    details: details({ name, group: gr.group, kind: gr.resource }),
  });
}

/** 409 AlreadyExists: `pods "web" already exists`. */
export function alreadyExistsStatus(gr: GroupResource, name: string): Status {
  return statusFailure({
    code: 409, reason: StatusReason.AlreadyExists, message: `${groupResourceString(gr)} ${q(name)} already exists`,
    details: details({ name, group: gr.group, kind: gr.resource }),
  });
}

/** 409 AlreadyExists for a generated name that collided (errors.NewGenerateNameConflict, retry after 1s). */
export function generateNameConflictStatus(gr: GroupResource, name: string): Status {
  return statusFailure({
    code: 409, reason: StatusReason.AlreadyExists,
    message: `${groupResourceString(gr)} ${q(name)} already exists, the server was not able to generate a unique name for the object`,
    details: details({ name, group: gr.group, kind: gr.resource, retryAfterSeconds: 1 }),
  });
}

/** 409 Conflict: `Operation cannot be fulfilled on pods "web": <reason>` (reason defaults to the optimistic-lock text). */
export function conflictStatus(gr: GroupResource, name: string, opts: { reason?: string } = {}): Status {
  return statusFailure({
    code: 409, reason: StatusReason.Conflict,
    message: `Operation cannot be fulfilled on ${groupResourceString(gr)} ${q(name)}: ${opts.reason ?? OptimisticLockErrorMsg}`,
    details: details({ name, group: gr.group, kind: gr.resource }),
  });
}

/** 400 BadRequest with the given message. */
export function badRequestStatus(message: string): Status {
  return statusFailure({ code: 400, reason: StatusReason.BadRequest, message });
}

/** 401 Unauthorized with the given message ("not authorized" when empty). */
export function unauthorizedStatus(message?: string): Status {
  return statusFailure({ code: 401, reason: StatusReason.Unauthorized, message: message || 'not authorized' });
}

/** 403 Forbidden: `pods "web" is forbidden: <reason>` (no name: `pods is forbidden: …`). */
export function forbiddenStatus(gr: GroupResource, name: string, reason: string): Status {
  const what = groupResourceString(gr);
  const message = what === '' ? `forbidden: ${reason}` : name === '' ? `${what} is forbidden: ${reason}` : `${what} ${q(name)} is forbidden: ${reason}`;
  return statusFailure({ code: 403, reason: StatusReason.Forbidden, message, details: details({ name, group: gr.group, kind: gr.resource }) });
}

/** 405 MethodNotAllowed: `<action> is not supported on resources of kind "pods"`. */
export function methodNotSupportedStatus(gr: GroupResource, action: string): Status {
  return statusFailure({
    code: 405, reason: StatusReason.MethodNotAllowed,
    message: `${action} is not supported on resources of kind ${q(groupResourceString(gr))}`,
    details: details({ group: gr.group, kind: gr.resource }),
  });
}

/** 410 Expired: a list or watch from a compacted resourceVersion. */
export function expiredStatus(message: string): Status {
  return statusFailure({ code: 410, reason: StatusReason.Expired, message });
}

/** 410 Gone. */
export function goneStatus(message: string): Status {
  return statusFailure({ code: 410, reason: StatusReason.Gone, message });
}

/** 413 RequestEntityTooLarge: `Request entity too large: <message>`. */
export function requestEntityTooLargeStatus(message: string): Status {
  return statusFailure({ code: 413, reason: StatusReason.RequestEntityTooLarge, message: `Request entity too large: ${message}` });
}

/** 429 TooManyRequests with a retry hint. */
export function tooManyRequestsStatus(message: string, opts: { retryAfterSeconds?: number } = {}): Status {
  return statusFailure({
    code: 429, reason: StatusReason.TooManyRequests, message,
    details: details({ retryAfterSeconds: opts.retryAfterSeconds }),
  });
}

/** 500 InternalError: `Internal error occurred: <message>`, the message also as the single cause. */
export function internalErrorStatus(message: string): Status {
  return statusFailure({
    code: 500, reason: StatusReason.InternalError, message: `Internal error occurred: ${message}`,
    details: details({ causes: [{ message }] }),
  });
}

/** 503 ServiceUnavailable. */
export function serviceUnavailableStatus(message: string): Status {
  return statusFailure({ code: 503, reason: StatusReason.ServiceUnavailable, message });
}

/** 504 Timeout: `Timeout: <message>`, with a retry hint. */
export function timeoutStatus(message: string, opts: { retryAfterSeconds?: number } = {}): Status {
  return statusFailure({
    code: 504, reason: StatusReason.Timeout, message: `Timeout: ${message}`,
    details: details({ retryAfterSeconds: opts.retryAfterSeconds }),
  });
}
