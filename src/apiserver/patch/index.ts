/**
 * The patch engines the registry uses: strategic merge patch, server-side apply with field ownership, ownership
 * records for ordinary writes, and unknown-field pruning.
 */
export { strategicMergePatch } from './strategic-merge.ts';
export { applyPatch, updateManagedFields } from './apply.ts';
export type { ApplyOptions, ApplyResult, UpdateOptions } from './apply.ts';
export { pruneUnknownFields } from './prune.ts';
export { PatchError } from './errors.ts';
export { applyConflictStatus, fieldManagerFromUserAgent } from './managed-fields.ts';
export type { Conflict } from './managed-fields.ts';
