/**
 * ApiError: a failed API request, carrying the Kubernetes Status the server returned (or one synthesized as
 * client-go's errors.NewGenericServerResponse does when the body is not a Status), plus the predicates
 * controllers branch on (apimachinery's errors.IsNotFound, IsConflict, …).
 */
import type { Status, StatusDetails } from 'kubernetes-types/meta/v1.js';

/** A non-2xx response from the API server. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** The Status object (always kind Status, status Failure). */
  readonly status: Status;

  constructor(status: Status) {
    super(status.message ?? `the server responded with the status code ${status.code ?? 0}`);
    this.status = status;
  }

  /** HTTP status code. */
  get code(): number {
    return this.status.code ?? 0;
  }

  /** The StatusReason ("NotFound", "Conflict", … or "" when unknown). */
  get reason(): string {
    return this.status.reason ?? '';
  }

  /** Name, group, kind, causes and retryAfterSeconds, when the server gave them. */
  get details(): StatusDetails | undefined {
    return this.status.details;
  }
}

/**
 * Builds the ApiError for a response: uses the body when it is a Status, else words a Status as client-go's
 * NewGenericServerResponse (`verb` distinguishes AlreadyExists from Conflict on 409).
 */
export function apiErrorFromResponse(code: number, body: unknown, opts: { verb?: string; retryAfterSeconds?: number } = {}): ApiError {
  if (typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'Status') {
    const s = body as Status;
    return new ApiError({ ...s, code: s.code ?? code });
  }
  const text = typeof body === 'string' ? body.trim() : '';
  let reason = '';
  let message: string;
  switch (code) {
    case 409:
      reason = opts.verb === 'POST' ? 'AlreadyExists' : 'Conflict';
      message = 'the server reported a conflict';
      break;
    case 404:
      reason = 'NotFound';
      message = 'the server could not find the requested resource';
      break;
    case 400:
      reason = 'BadRequest';
      message = 'the server rejected our request for an unknown reason';
      break;
    case 401:
      reason = 'Unauthorized';
      message = 'the server has asked for the client to provide credentials';
      break;
    case 403:
      reason = 'Forbidden';
      message = text || 'the server does not allow access to the requested resource';
      break;
    case 405:
      reason = 'MethodNotAllowed';
      message = 'the server does not allow this method on the requested resource';
      break;
    case 406:
      reason = 'NotAcceptable';
      message = 'the server was unable to respond with a content type that the client supports';
      break;
    case 410:
      reason = 'Gone';
      message = text || 'the server responded with the status code 410 but did not return more information';
      break;
    case 415:
      reason = 'UnsupportedMediaType';
      message = 'the server was unable to handle the media type';
      break;
    case 422:
      reason = 'Invalid';
      message = 'the server rejected our request due to an error in our request';
      break;
    case 429:
      reason = 'TooManyRequests';
      message = 'the server has received too many requests and has asked us to try again later';
      break;
    case 503:
      reason = 'ServiceUnavailable';
      message = 'the server is currently unable to handle the request';
      break;
    case 504:
      reason = 'Timeout';
      message = 'the server was unable to return a response in the time allotted, but may still be processing the request';
      break;
    default:
      if (code >= 500) {
        reason = 'InternalError';
        message = `an error on the server (${JSON.stringify(text.slice(0, 200))}) has prevented the request from succeeding`;
      } else {
        message = `the server responded with the status code ${code} but did not return more information`;
      }
  }
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (opts.retryAfterSeconds !== undefined) status.details = { retryAfterSeconds: opts.retryAfterSeconds };
  return new ApiError(status);
}

/** The StatusReason of an ApiError ("" for anything else). */
export function reasonOf(e: unknown): string {
  return e instanceof ApiError ? e.reason : '';
}

/** The HTTP code of an ApiError (0 for anything else). */
export function codeOf(e: unknown): number {
  return e instanceof ApiError ? e.code : 0;
}

/** errors.IsNotFound. */
export function isNotFound(e: unknown): boolean {
  return reasonOf(e) === 'NotFound' || (reasonOf(e) === '' && codeOf(e) === 404);
}

/** errors.IsAlreadyExists. */
export function isAlreadyExists(e: unknown): boolean {
  return reasonOf(e) === 'AlreadyExists';
}

/** errors.IsConflict (optimistic-concurrency failures). */
export function isConflict(e: unknown): boolean {
  return reasonOf(e) === 'Conflict' || (reasonOf(e) === '' && codeOf(e) === 409);
}

/** errors.IsInvalid (422). */
export function isInvalid(e: unknown): boolean {
  return reasonOf(e) === 'Invalid' || (reasonOf(e) === '' && codeOf(e) === 422);
}

/** errors.IsForbidden. */
export function isForbidden(e: unknown): boolean {
  return reasonOf(e) === 'Forbidden' || (reasonOf(e) === '' && codeOf(e) === 403);
}

/** errors.IsUnauthorized. */
export function isUnauthorized(e: unknown): boolean {
  return reasonOf(e) === 'Unauthorized' || (reasonOf(e) === '' && codeOf(e) === 401);
}

/** errors.IsTooManyRequests. */
export function isTooManyRequests(e: unknown): boolean {
  return reasonOf(e) === 'TooManyRequests' || codeOf(e) === 429;
}

/** errors.IsGone or errors.IsResourceExpired: the requested resourceVersion is too old (410). */
export function isGone(e: unknown): boolean {
  return reasonOf(e) === 'Gone' || reasonOf(e) === 'Expired' || codeOf(e) === 410;
}
