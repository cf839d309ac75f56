/**
 * The pod-template-hash (pkg/controller/controller_utils.go ComputeHash): FNV-32a over the template, then over
 * the collision count as 8 bytes (uint32 little-endian in the first four, as upstream writes them), the decimal
 * value rendered with rand.SafeEncodeString. Upstream hashes a spew dump of the Go struct, which has no
 * counterpart here: we hash the canonical JSON of the template instead, so names differ from a Go cluster's but
 * have the same shape, stability and collision handling. Fields that Go would see as absent (null, {}, []) are
 * dropped first so that equal templates hash equally however a client spelled them.
 */
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { canonicalJSON } from '../../api/apps/v1/workload.ts';
import { semanticNormalize } from './util.ts';

/** rand.SafeEncodeString's alphabet (no vowels, no confusable digits). */
export const safeAlphanums = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a 32-bit over bytes, continuing from `seed` (the offset basis when omitted). */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: maps every character c to safeAlphanums[code(c) % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += safeAlphanums[(ch.codePointAt(0) ?? 0) % safeAlphanums.length];
  return out;
}

/** controller.ComputeHash(template, collisionCount). */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(semanticNormalize(template ?? {}) ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const extra = new Uint8Array(8);
    new DataView(extra.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(extra, h);
  }
  return safeEncodeString(String(h));
}
