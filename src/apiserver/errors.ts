/**
 * API errors: every failure leaves the server as a Kubernetes Status. Storage errors are translated to
 * Status in exactly one function (statusFromStorageError), with upstream's wording.
 */
import type { Status } from '../api/meta/types.ts';
import type { FieldError } from '../api/meta/field-errors.ts';
import { invalidStatus } from '../api/meta/status.ts';
import { isStorageError } from '../storage/errors.ts';
import type { ResourceDefinition } from '../api/resource.ts';
import { qualifiedResource } from '../api/resource.ts';

/** An error that carries the Status to send; thrown anywhere in the request pipeline. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: Status;
  /** Extra response headers (Retry-After…). */
  readonly headers: Record<string, string>;
  constructor(status: Status, headers: Record<string, string> = {}) {
    super(status.message ?? status.reason ?? 'error');
    this.status = status;
    this.headers = headers;
  }
  get code(): number {
    return this.status.code ?? 500;
  }
}

function failure(code: number, reason: string, message: string, details?: Status['details']): ApiError {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return new ApiError(s);
}

type Res = Pick<ResourceDefinition, 'group' | 'plural'>;

/** 404 `pods "x" not found`. */
export function notFound(def: Res, name: string): ApiError {
  return failure(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, {
    name, ...(def.group ? { group: def.group } : {}), kind: def.plural,
  });
}

/** 409 `deployments.apps "web" already exists`. */
export function alreadyExists(def: Res, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, {
    name, ...(def.group ? { group: def.group } : {}), kind: def.plural,
  });
}

/** 409 Conflict with upstream's optimistic-concurrency message. */
export function conflict(def: Res, name: string, detail = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${detail}`, {
    name, ...(def.group ? { group: def.group } : {}), kind: def.plural,
  });
}

/** 422 Invalid with causes, worded as apimachinery's NewInvalid. */
export function invalid(def: Pick<ResourceDefinition, 'group' | 'kind'>, name: string, errs: FieldError[]): ApiError {
  return new ApiError(invalidStatus(def.kind, name, errs, { group: def.group }));
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(message: string): ApiError {
  return failure(405, 'MethodNotAllowed', message);
}

/** 406 NotAcceptable. */
export function notAcceptable(message: string): ApiError {
  return failure(406, 'NotAcceptable', message);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string): ApiError {
  return failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf; got ${JSON.stringify(contentType)}`);
}

/** 413 RequestEntityTooLarge. */
export function tooLarge(message: string): ApiError {
  return failure(413, 'RequestEntityTooLarge', message);
}

/** 410 Expired: a resourceVersion or continue token older than the retained history. */
export function expired(message: string): ApiError {
  return failure(410, 'Expired', message);
}

/** 429 TooManyRequests with Retry-After. */
export function tooManyRequests(message: string, retryAfterSeconds = 1): ApiError {
  const e = failure(429, 'TooManyRequests', message, { retryAfterSeconds });
  return new ApiError(e.status, { 'Retry-After': String(retryAfterSeconds) });
}

/** 404 for a path that names no resource: the text upstream's mux answers with. */
export function pathNotFound(): ApiError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

/** 403 Forbidden. */
export function forbidden(message: string, details?: Status['details']): ApiError {
  return failure(403, 'Forbidden', message, details);
}

/** 500 InternalError (the message never includes a stack). */
export function internalError(message: string): ApiError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** 504 Timeout. */
export function timeoutError(message: string): ApiError {
  return failure(504, 'Timeout', message);
}

/** 503 ServiceUnavailable. */
export function unavailable(message: string): ApiError {
  return failure(503, 'ServiceUnavailable', message);
}

/**
 * The one translator from storage errors to API errors (upstream storage.InterpretGetError & co).
 * Non-storage errors pass through unchanged.
 */
export function statusFromStorageError(e: unknown, def: ResourceDefinition, name: string): unknown {
  if (!isStorageError(e)) return e;
  switch (e.code) {
    case 'NotFound':
      return notFound(def, name);
    case 'KeyExists':
      return alreadyExists(def, name);
    case 'Conflict':
      return conflict(def, name);
    case 'Compacted':
      return expired(`The resourceVersion for the provided list is too old.`);
    case 'TooLarge':
      return tooLarge('etcdserver: request is too large');
    case 'Invalid':
      return badRequest(e.message);
    case 'Unavailable':
    case 'Closed':
    case 'Locked':
      return unavailable(`storage is unavailable: ${e.message}`);
    default:
      return internalError(e.message);
  }
}

/** Turns anything thrown into an ApiError (unknown errors become 500 InternalError, never a stack trace). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isStorageError(e)) {
    const t = statusFromStorageError(e, { group: '', plural: 'objects', kind: 'Object' } as ResourceDefinition, '');
    if (t instanceof ApiError) return t;
  }
  return internalError(e instanceof Error ? e.message : String(e));
}
