/**
 * Strategic merge patch, as apimachinery's strategicpatch applies it on the server (StrategicMergeMapPatch with
 * MergeParallelList and IgnoreUnmatchedNulls): lists merge by their x-kubernetes-patch-merge-key, `null` deletes,
 * `$patch: replace|delete` in maps and list items, `$setElementOrder/<list>`, `$retainKeys`,
 * `$deleteFromPrimitiveList/<list>`, primitive lists with the merge strategy are unions, other lists are replaced.
 * The order rules (patch items first unless a $setElementOrder says otherwise) are upstream's, step for step.
 * Kinds without a schema get RFC 7386 JSON merge patch semantics.
 */
import type { GroupVersionKind } from '../../api/meta/types.ts';
import {
  PatchError,
  errBadArgType,
  errBadPatchFormatForPrimitiveList,
  errBadPatchFormatForRetainKeys,
  errBadPatchFormatForSetElementOrderList,
  errBadPatchType,
  errNoListOfLists,
  errNoMergeKey,
  goValue,
} from './errors.ts';
import { cloneJson, isObject, typeNodeFor } from './type-node.ts';
import type { TypeNode } from './type-node.ts';

type JsonMap = Record<string, unknown>;

const DIRECTIVE = '$patch';
const REPLACE = 'replace';
const DELETE = 'delete';
const MERGE = 'merge';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

/**
 * Applies a strategic merge patch to `original` for the kind `gvk` and returns the patched object. Neither input is
 * modified. Throws PatchError (400 or 422 Status) for malformed patches, e.g. a list item without its merge key.
 */
export function strategicMergePatch(original: object, patch: object, gvk: GroupVersionKind): object {
  return strategicMergePatchWithSchema(original, patch, typeNodeFor(gvk));
}

/** strategicMergePatch against an explicit schema node (undefined: JSON merge patch semantics). */
export function strategicMergePatchWithSchema(original: object, patch: object, schema: TypeNode | undefined): object {
  if (!isObject(original) || !isObject(patch)) throw new PatchError('invalid JSON document', 'BadRequest');
  if (schema === undefined) return jsonMergePatch(original, patch) as object;
  return mergeMap(cloneOriginal(original), cloneJson(patch), schema);
}

/**
 * A deep copy of the object to patch, except metadata.managedFields, which is shared: the engines never modify it
 * in place, and sharing it lets the field manager reuse what it decoded from the live object.
 */
function cloneOriginal(original: JsonMap): JsonMap {
  const meta = original['metadata'];
  if (!isObject(meta) || !Array.isArray(meta['managedFields'])) return cloneJson(original);
  const managedFields = meta['managedFields'];
  const copy = cloneJson({ ...original, metadata: { ...meta, managedFields: null } });
  (copy['metadata'] as JsonMap)['managedFields'] = managedFields;
  return copy;
}

/** RFC 7386 (used for kinds without a schema): objects merge, null deletes, anything else replaces. */
function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonMap = isObject(target) ? { ...target } : {};
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

type ValueType = 'map' | 'list' | 'scalar' | 'null';
function typeOf(v: unknown): ValueType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'map' : 'scalar';
}

function mergeMap(original: JsonMap | undefined, patch: JsonMap, schema: TypeNode | undefined): JsonMap {
  if (Object.hasOwn(patch, DIRECTIVE)) return handleDirectiveInMergeMap(patch[DIRECTIVE], patch);
  const out = original ?? {};
  applyRetainKeysDirective(out, patch);
  mergePatchIntoOriginal(out, patch, schema);
  for (let k of Object.keys(patch)) {
    const patchV = patch[k];
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(k, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete out[k];
      continue;
    }
    if (!Object.hasOwn(out, k) || typeOf(out[k]) !== typeOf(patchV)) {
      if (!isDeleteList) {
        discardNullValuesFromPatch(patchV);
        const r = removeDirectives(patchV);
        if (r.keep) out[k] = r.value;
        else delete out[k];
      }
      continue;
    }
    const child = schema?.child(k);
    switch (typeOf(patchV)) {
      case 'map':
        out[k] = child?.smpReplace === true ? patchV : mergeMap(out[k] as JsonMap, patchV as JsonMap, child);
        break;
      case 'list':
        out[k] = child?.smpMerge === true
          ? mergeSlice(out[k] as unknown[], patchV as unknown[], child.elem, child.meta.patchMergeKey ?? '', isDeleteList)
          : patchV;
        break;
      default: {
        const r = removeDirectives(patchV);
        if (r.keep) out[k] = r.value;
        else delete out[k];
      }
    }
  }
  return out;
}

function handleDirectiveInMergeMap(directive: unknown, patch: JsonMap): JsonMap {
  if (directive === REPLACE) {
    // The patch is the new value (upstream keeps its other content untouched, directives included).
    delete patch[DIRECTIVE];
    return patch;
  }
  if (directive === DELETE) return {};
  throw errBadPatchType(directive, patch);
}

function extractKey(s: string, prefix: string): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) {
    if (prefix === DELETE_FROM_PRIMITIVE_LIST) throw errBadPatchFormatForPrimitiveList();
    throw errBadPatchFormatForSetElementOrderList();
  }
  return s.slice(i + 1);
}

function discardNullValuesFromPatch(v: unknown): void {
  if (Array.isArray(v)) for (const x of v) discardNullValuesFromPatch(x);
  else if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNullValuesFromPatch(v[k]);
    }
  }
}

/**
 * Drops directives from a value taken from the patch as is. Upstream drops `$patch` maps here and its typed
 * decoding then silently drops the other directive keys (unknown fields); both happen here.
 */
function removeDirectives(v: unknown): { value: unknown; keep: boolean } {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const x of v) {
      const r = removeDirectives(x);
      if (r.keep) out.push(r.value);
    }
    return { value: out, keep: true };
  }
  if (isObject(v)) {
    if (Object.hasOwn(v, DIRECTIVE)) return { value: undefined, keep: false };
    for (const k of Object.keys(v)) {
      if (k === RETAIN_KEYS || k.startsWith(`${SET_ELEMENT_ORDER}/`) || k.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`)) {
        delete v[k];
        continue;
      }
      const r = removeDirectives(v[k]);
      if (r.keep) v[k] = r.value;
      else delete v[k];
    }
  }
  return { value: v, keep: true };
}

function applyRetainKeysDirective(original: JsonMap, patch: JsonMap): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw errBadPatchFormatForRetainKeys();
  const keep = new Set<unknown>(retain);
  for (const k of Object.keys(patch)) {
    if (patch[k] === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw errBadPatchFormatForRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** Processes every $setElementOrder/<list> of `patch` together with its list, then drops both from the patch. */
function mergePatchIntoOriginal(original: JsonMap, patch: JsonMap, schema: TypeNode | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw errBadArgType('slice', order);
    const originalKey = extractKey(key, SET_ELEMENT_ORDER);
    const foundOriginal = Object.hasOwn(original, originalKey);
    const foundPatch = Object.hasOwn(patch, originalKey);
    let originalList: unknown[] = [];
    let patchList: unknown[] = [];
    if (foundOriginal) {
      const v = original[originalKey];
      if (!Array.isArray(v)) throw errBadArgType('slice', v);
      originalList = v;
    }
    if (foundPatch) {
      const v = patch[originalKey];
      if (!Array.isArray(v)) throw errBadArgType('slice', v);
      patchList = v;
    }
    const child = schema?.child(originalKey);
    const mergeKey = child?.meta.patchMergeKey ?? '';
    validatePatchWithSetOrderList(patchList, order, mergeKey);
    let merged: unknown[];
    if (foundOriginal && !foundPatch) merged = originalList;
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchList).value as unknown[];
    else if (foundOriginal && foundPatch) {
      // Snapshot: mergeSlice may reorder the array it is given, and the live order ranks server-only items below.
      const before = originalList.slice();
      merged = child?.smpMerge === true ? mergeSlice(originalList, patchList, child.elem, mergeKey, false) : patchList;
      originalList = before;
    } else continue;
    const [patchItems, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, order) : partitionMaps(merged, order, mergeKey);
    const kind = sliceElementType(originalList, patchList);
    original[originalKey] = normalizeElementOrder(patchItems, serverOnly, order, originalList, mergeKey, kind);
    delete patch[originalKey];
  }
}

function containsDirectiveMarker(v: unknown): boolean {
  return isObject(v) && Object.hasOwn(v, DIRECTIVE);
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isObject(left)) throw errBadArgType('map', left);
  if (!isObject(right)) throw errBadArgType('map', right);
  if (!Object.hasOwn(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function validatePatchWithSetOrderList(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey === '' ? patchList : extractToDeleteItems(patchList)[0];
  let p = 0;
  let s = 0;
  while (p < nonDelete.length && s < order.length) {
    if (containsDirectiveMarker(nonDelete[p])) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(nonDelete[p], order[s], mergeKey)) p++;
    s++;
  }
  if (p < nonDelete.length && s >= order.length) {
    throw new PatchError(`the order in patch list:\n${goValue(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goValue(order)}`, 'Invalid');
  }
}

function extractToDeleteItems(l: unknown[]): [unknown[], unknown[]] {
  const nonDelete: unknown[] = [];
  const toDelete: unknown[] = [];
  for (const v of l) {
    if (!isObject(v)) throw errBadArgType('map', v);
    if (v[DIRECTIVE] === DELETE) toDelete.push(v);
    else nonDelete.push(v);
  }
  return [nonDelete, toDelete];
}

function mergeSlice(original: unknown[], patch: unknown[], elem: TypeNode | undefined, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementType(original, patch);
  let merged: unknown[];
  if (kind !== 'map') {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (mergeKey === '') throw new PatchError('cannot merge lists without merge key for type map', 'Invalid');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(original.slice(), patch, mergeKey, elem);
  }
  const [patchItems, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, patch) : partitionMaps(merged, patch, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

function mergeSliceWithSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const plain: unknown[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as JsonMap;
    if (!Object.hasOwn(m, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    const directive = m[DIRECTIVE];
    if (directive === DELETE) {
      if (!Object.hasOwn(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
      original = deleteMatchingEntries(original, mergeKey, m[mergeKey]);
    } else if (directive === REPLACE) {
      replace = true;
    } else if (directive === MERGE) {
      throw new PatchError('merging lists cannot yet be specified in the patch', 'Invalid');
    } else {
      throw errBadPatchType(directive, m);
    }
  }
  return replace ? [plain, []] : [original, plain];
}

/** One delete directive removes one matching entry, so that repeated directives can clean up duplicates. */
function deleteMatchingEntries(original: unknown[], mergeKey: string, value: unknown): unknown[] {
  const i = findMapInSlice(original, mergeKey, value);
  return i < 0 ? original : [...original.slice(0, i), ...original.slice(i + 1)];
}

function mergeSliceWithoutSpecialElements(original: unknown[], patch: unknown[], mergeKey: string, elem: TypeNode | undefined): unknown[] {
  for (const v of patch) {
    const m = v as JsonMap;
    if (!Object.hasOwn(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
    const i = findMapInSlice(original, mergeKey, m[mergeKey]);
    if (i >= 0) original[i] = mergeMap(original[i] as JsonMap, m, elem);
    else original.push(v);
  }
  return original;
}

function findMapInSlice(list: unknown[], key: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isObject(v)) throw new PatchError(`value for key ${i} is not a map.`, 'Invalid');
    if (Object.hasOwn(v, key) && v[key] === value) return i;
  }
  return -1;
}

function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  const del = new Set(toDelete);
  return current.filter((v) => !del.has(v));
}

function deduplicateScalars(s: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const v of s) {
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

type ElemKind = 'map' | 'scalar';
/** The common element type of the lists (upstream requires one type, and no lists of lists). */
function sliceElementType(...lists: unknown[][]): ElemKind {
  let prev: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const t = Array.isArray(v) ? 'slice' : v === null ? 'null' : typeof v === 'object' ? 'map' : typeof v;
      if (prev === undefined) {
        prev = t;
        if (t === 'slice') throw errNoListOfLists();
      } else if (prev !== t) {
        throw new PatchError(`list element types are not identical: ${goValue(lists)}`, 'Invalid');
      }
    }
  }
  if (prev === undefined) throw new PatchError('no elements in any of the given slices', 'Invalid');
  return prev === 'map' ? 'map' : 'scalar';
}

function partitionPrimitives(list: unknown[], by: unknown[]): [unknown[], unknown[]] {
  const inPatch = new Set(by);
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) (inPatch.has(v) ? patch : serverOnly).push(v);
  return [patch, serverOnly];
}

function partitionMaps(list: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) {
    if (!isObject(v)) throw errBadArgType('map', v);
    if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    (findMapInSlice(by, mergeKey, v[mergeKey]) >= 0 ? patch : serverOnly).push(v);
  }
  return [patch, serverOnly];
}

function keyOf(item: unknown, mergeKey: string, kind: ElemKind): unknown {
  return kind === 'map' ? (isObject(item) ? item[mergeKey] : undefined) : item;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string, kind: ElemKind): number {
  const want = keyOf(item, mergeKey, kind);
  for (let i = 0; i < list.length; i++) if (keyOf(list[i], mergeKey, kind) === want) return i;
  return -1;
}

/** Sorts patch items by the patch order and server-only items by the live order, then interleaves them. */
function normalizeElementOrder(patch: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string, kind: ElemKind): unknown[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: ElemKind): unknown[] {
  let toDelete: unknown[] = [];
  if (kind === 'map') {
    for (const list of [toSort, order]) {
      for (const item of list) {
        if (!isObject(item)) throw errBadArgType('map', item);
        if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      }
    }
    [toSort, toDelete] = extractToDeleteItems(toSort);
  }
  const ranked = toSort.map((v, i) => ({ v, i, at: indexIn(order, v, mergeKey, kind) }));
  ranked.sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i));
  return [...ranked.map((r) => r.v), ...toDelete];
}

/** Inserts the server-only items (left) into the patch items (right) where the live order puts them. */
function mergeSortedSlice(left: unknown[], right: unknown[], serverOrder: unknown[], mergeKey: string, kind: ElemKind): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
