/**
 * PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, applied to the
 * current object inside the registry's guaranteed-update loop (so a conflict retries on fresh state).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { StoredObject, GroupVersionKind } from '../api/meta/types.ts';
import { badRequest, unsupportedMediaType, ApiError } from './errors.ts';
import { mediaType, parseJsonBody } from './codec.ts';
import { strategicMergePatch } from './patch/index.ts';

/** The patch types of the API. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Maps a PATCH Content-Type to its patch type (415 for anything else). */
export function patchTypeOf(contentType: string | undefined): PatchType {
  switch (mediaType(contentType)) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw new ApiError({
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 415, reason: 'UnsupportedMediaType',
        message: `the server does not support the media type ${JSON.stringify(contentType ?? '')} for PATCH: supported media types are application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`,
      });
  }
}

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function applyJsonPatch(current: StoredObject, ops: unknown): StoredObject {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    const r = fastJsonPatch.applyPatch(current, ops as Operation[], true, false);
    const doc = r.newDocument as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw badRequest('the patch produced something that is not an object');
    return doc as StoredObject;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const err = e as { name?: string; message?: string; operation?: { op?: string; path?: string } };
    const msg = (err.message ?? String(e)).split('\n')[0] ?? '';
    if (err.name === 'TEST_OPERATION_FAILED' || /Test operation failed/i.test(msg)) {
      throw new ApiError({
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 422, reason: 'Invalid',
        message: `the server rejected our request due to an error in our request: testing value ${err.operation?.path ?? ''} failed: test failed`,
      });
    }
    throw new ApiError({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 422, reason: 'Invalid',
      message: `the server rejected our request due to an error in our request: ${msg}`,
    });
  }
}

/** Applies a patch of `type` (body bytes) to `current`, returning the patched object. */
export async function applyPatch(type: PatchType, current: StoredObject, body: Buffer, opts: { gvk: GroupVersionKind }): Promise<StoredObject> {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty: a patch is required');
  switch (type) {
    case 'json':
      return applyJsonPatch(current, parseJsonBody(text));
    case 'merge': {
      const patch = parseJsonBody(text);
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('the merge patch must be a JSON object');
      return mergePatch(current, patch) as StoredObject;
    }
    case 'strategic': {
      const patch = parseJsonBody(text);
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('the strategic merge patch must be a JSON object');
      return strategicMergePatch(current, patch, opts.gvk) as StoredObject;
    }
    case 'apply':
      // Server-side apply is not a plain patch: the resource handler runs it with field ownership.
      throw unsupportedMediaType('application/apply-patch+yaml');
  }
}
