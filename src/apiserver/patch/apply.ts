/**
 * Server-side apply and ownership tracking for ordinary writes, after structured-merge-diff's Updater (Apply,
 * Update) and apimachinery's fieldmanager chain (strip of identity metadata, managedFields decoding and reset rules,
 * timestamps). Objects are walked with the kind's schema: list-type map lists are keyed by their map keys, set lists
 * by value, atomic lists/maps and scalars are leaves; values a schema does not describe are deduced (maps granular,
 * lists atomic).
 */
import type { GroupVersionKind } from '../../api/meta/types.ts';
import { apiVersionOf } from '../../api/meta/types.ts';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { PatchError } from './errors.ts';
import {
  FieldSet,
  decodeManagedFields,
  encodeManagedFields,
  fieldPE,
  indexPE,
  isResetManagedFields,
  managerIdentifier,
  valuePE,
} from './managed-fields.ts';
import type { Conflict, Managed, ManagerEntry } from './managed-fields.ts';
import { cloneJson, isObject, typeNodeFor } from './type-node.ts';
import type { TypeNode } from './type-node.ts';

type JsonMap = Record<string, unknown>;

/** Options of applyPatch. */
export interface ApplyOptions {
  gvk: GroupVersionKind;
  /** The fieldManager query parameter (required for apply; the registry answers 422 without it). */
  manager: string;
  /** force=true: take ownership of conflicting fields instead of reporting them. */
  force?: boolean;
  /** The subresource written ("status", "scale"), if any. */
  subresource?: string;
  /** The time to record, in ms since the epoch (default now). */
  now?: number;
}

/** Options of updateManagedFields. */
export interface UpdateOptions {
  gvk: GroupVersionKind;
  manager: string;
  operation?: 'Update';
  subresource?: string;
  now?: number;
}

/** The outcome of an apply: the new object (with managedFields), or the live object and the conflicts that stopped it. */
export interface ApplyResult {
  object: JsonMap;
  conflicts: Conflict[];
}

// ---------------------------------------------------------------------------------------------------------------
// Walking values with a schema

type Shape = 'leaf' | 'fields' | 'list';

/** How a value is walked: its node may be absent (deduced) or disagree with the value (then it is a leaf). */
function shapeOf(node: TypeNode | undefined, v: unknown): Shape {
  if (Array.isArray(v)) return node !== undefined && node.kind === 'list' && !node.atomic ? 'list' : 'leaf';
  if (isObject(v)) {
    if (node === undefined) return 'fields';
    if (node.kind === 'struct' || node.kind === 'map' || node.kind === 'untyped') return node.atomic ? 'leaf' : 'fields';
    return 'leaf';
  }
  return 'leaf';
}

function childNode(node: TypeNode | undefined, key: string): TypeNode | undefined {
  return node === undefined || node.kind === 'untyped' ? undefined : node.child(key);
}

/** A list's map keys in name order (the order of their serialization in FieldsV1), with their quoted names. */
interface MapKeys {
  names: string[];
  quoted: string[];
}
const sortedKeysCache = new WeakMap<TypeNode, MapKeys>();
function sortedMapKeys(node: TypeNode): MapKeys {
  let keys = sortedKeysCache.get(node);
  if (keys === undefined) {
    const names = [...(node.meta.listMapKeys ?? [])].sort();
    keys = { names, quoted: names.map((n) => JSON.stringify(n)) };
    sortedKeysCache.set(node, keys);
  }
  return keys;
}

/** Path elements of list-map items, per item object (one request walks the same items several times). */
const peCache = new WeakMap<object, { node: TypeNode; pe: string }>();

/** Records the path element of an item built from another (merged, pruned), so it is not serialized again. */
function samePE(node: TypeNode, from: unknown, to: unknown): void {
  if (from === to || !isObject(to) || !isObject(from)) return;
  const hit = peCache.get(from);
  if (hit === undefined || hit.node !== node) return;
  // A prune may drop a key field (protocol then reads as its default): only identical keys share the element.
  for (const k of sortedMapKeys(node).names) if (from[k] !== to[k]) return;
  peCache.set(to, hit);
}

/** listItemToPathElement: map lists by their keys (a missing protocol key defaults to TCP as upstream's schema says). */
function itemPE(node: TypeNode, item: unknown, i: number): string {
  if (node.meta.listType === 'set') return valuePE(item);
  if (node.meta.listType === 'map') {
    if (isObject(item)) {
      const hit = peCache.get(item);
      if (hit !== undefined && hit.node === node) return hit.pe;
      const pe = mapItemPE(node, item, i);
      peCache.set(item, { node, pe });
      return pe;
    }
    return indexPE(i);
  }
  return indexPE(i);
}

/** A key value as Go's JSON encoder writes it; strings without characters to escape skip JSON.stringify. */
function keyValueJson(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'string' && /^[\w .:/@+=,-]*$/.test(v)) return `"${v}"`;
  return JSON.stringify(v);
}

function mapItemPE(node: TypeNode, item: JsonMap, i: number): string {
  const { names, quoted } = sortedMapKeys(node);
  if (names.length === 0) return indexPE(i);
  let out = 'k:{';
  for (let j = 0; j < names.length; j++) {
    const name = names[j]!;
    let v: unknown;
    if (Object.hasOwn(item, name)) v = item[name];
    else if (name === 'protocol') v = 'TCP';
    else throw new PatchError(`element ${i}: associative list with keys has an element that omits key field ${quoted[j]!} (and doesn't have default value)`, 'Invalid');
    out += `${j > 0 ? ',' : ''}${quoted[j]!}:${keyValueJson(v)}`;
  }
  return `${out}}`;
}

/** Indexes list items by path element; `strict` rejects duplicates (an apply configuration may not repeat an item). */
function indexItems(node: TypeNode, list: unknown[], strict: boolean, path: readonly string[]): { order: string[]; items: Map<string, unknown> } {
  const items = new Map<string, unknown>();
  const order: string[] = [];
  list.forEach((v, i) => {
    let pe: string;
    try {
      pe = itemPE(node, v, i);
    } catch (e) {
      if (e instanceof PatchError) throw new PatchError(`${atPath(path)}: ${e.detail}`, 'Invalid');
      throw e;
    }
    if (items.has(pe)) {
      if (strict) throw new PatchError(`${atPath(path)}: duplicate entries for key ${pe.slice(2)}`, 'Invalid');
      return;
    }
    items.set(pe, v);
    order.push(pe);
  });
  return { order, items };
}

function atPath(path: readonly string[]): string {
  return path.map((pe) => (pe.startsWith('f:') ? `.${pe.slice(2)}` : `[${pe.slice(2)}]`)).join('');
}

/** typed.ToFieldSet: every leaf, list item and non-field map entry of an (apply) object. */
function toFieldSet(v: unknown, node: TypeNode | undefined, path: string[], out: FieldSet): void {
  switch (shapeOf(node, v)) {
    case 'leaf':
      out.insert(path);
      return;
    case 'list': {
      const n = node!;
      const { order, items } = indexItems(n, v as unknown[], true, path);
      for (const pe of order) {
        path.push(pe);
        toFieldSet(items.get(pe), n.elem, path, out);
        out.insert(path);
        path.pop();
      }
      return;
    }
    case 'fields': {
      const m = v as JsonMap;
      const declared = node !== undefined && node.kind === 'struct';
      for (const k of Object.keys(m)) {
        const val = m[k];
        const c = childNode(node, k);
        path.push(fieldPE(k));
        toFieldSet(val, c, path, out);
        if (val === null || (isObject(val) && Object.keys(val).length === 0) || !declared || c === undefined) out.insert(path);
        path.pop();
      }
    }
  }
}

/** Go value structs: present (possibly empty) in every typed object, so never added or removed as a whole. */
const VALUE_STRUCTS = new Set([
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
  'io.k8s.api.core.v1.PodTemplateSpec',
  'io.k8s.api.core.v1.PodSpec',
  'io.k8s.api.core.v1.ResourceRequirements',
  'io.k8s.api.batch.v1.JobTemplateSpec',
  'io.k8s.api.batch.v1.JobSpec',
  'io.k8s.api.apps.v1.DeploymentStrategy',
  'io.k8s.api.apps.v1.DaemonSetUpdateStrategy',
  'io.k8s.api.apps.v1.StatefulSetUpdateStrategy',
]);

/**
 * Whether Go's typed object always carries this node (so it is never added or removed as a whole): value structs,
 * fields without omitempty (required ones, encoded as null when unset), and the top-level fields.
 */
function alwaysPresent(node: TypeNode | undefined, path: readonly string[], required: boolean): boolean {
  if (path.length === 1 || required) return true;
  return node?.typeName !== undefined && VALUE_STRUCTS.has(node.typeName);
}

/** The fields added, modified and removed between two objects (typed.Compare). */
interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

function compareValues(l: unknown, r: unknown, node: TypeNode | undefined, path: string[], c: Comparison, required = false): void {
  const ls = l === undefined ? undefined : shapeOf(node, l);
  const rs = r === undefined ? undefined : shapeOf(node, r);
  const shape = ls === undefined ? rs : rs === undefined || ls === rs ? ls : 'leaf';
  if (shape === 'leaf' || shape === undefined || (isEmptyValue(l) && isEmptyValue(r))) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (!jsonEqual(l, r)) c.modified.insert(path);
    return;
  }
  if (shape === 'list') {
    const n = node!;
    const li = Array.isArray(l) ? indexItems(n, l, false, path) : undefined;
    const ri = Array.isArray(r) ? indexItems(n, r, false, path) : undefined;
    const seen = new Set<string>();
    for (const idx of [li, ri]) {
      for (const pe of idx?.order ?? []) {
        if (seen.has(pe)) continue;
        seen.add(pe);
        path.push(pe);
        compareValues(li?.items.get(pe), ri?.items.get(pe), n.elem, path, c);
        path.pop();
      }
    }
  } else {
    const lm = isObject(l) ? l : undefined;
    const rm = isObject(r) ? r : undefined;
    if (lm !== undefined) for (const k of Object.keys(lm)) compareField(lm, rm, k, node, path, c);
    if (rm !== undefined) for (const k of Object.keys(rm)) if (lm === undefined || !Object.hasOwn(lm, k)) compareField(lm, rm, k, node, path, c);
  }
  // The postItemHook: a non-leaf node appearing or disappearing is itself added or removed.
  if (path.length > 0 && !alwaysPresent(node, path, required)) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
  }
}

function compareField(lm: JsonMap | undefined, rm: JsonMap | undefined, k: string, node: TypeNode | undefined, path: string[], c: Comparison): void {
  path.push(fieldPE(k));
  compareValues(lm?.[k], rm?.[k], childNode(node, k), path, c, node?.isRequired(k) ?? false);
  path.pop();
}

function compareObjects(l: unknown, r: unknown, node: TypeNode | undefined): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareValues(l, r, node, [], c);
  return c;
}

/** typed.Merge: the applied configuration over the live object (leaves from the configuration win). */
function mergeValues(l: unknown, r: unknown, node: TypeNode | undefined, path: string[]): unknown {
  if (r === undefined) return l;
  if (l === undefined || l === null) return r;
  const ls = shapeOf(node, l);
  const rs = shapeOf(node, r);
  if (ls !== rs || rs === 'leaf') return r;
  if (rs === 'list') return mergeLists(l as unknown[], r as unknown[], node!, path);
  const out: JsonMap = { ...(l as JsonMap) };
  const rm = r as JsonMap;
  for (const k of Object.keys(rm)) {
    const v = rm[k];
    if (v === null) {
      delete out[k];
      continue;
    }
    path.push(fieldPE(k));
    out[k] = mergeValues(out[k], v, childNode(node, k), path);
    path.pop();
  }
  return out;
}

/** merge.go's visitListItems: live order, with applied items placed where the configuration orders them. */
function mergeLists(l: unknown[], r: unknown[], node: TypeNode, path: string[]): unknown[] {
  const { order: rOrder, items: rItems } = indexItems(node, r, true, path);
  const { order: lOrder, items: lItems } = indexItems(node, l, false, path);
  const shared = rOrder.filter((pe) => lItems.has(pe));
  let sharedAt = 0;
  const out: unknown[] = [];
  const elem = node.elem;
  function item(pe: string, lv: unknown, rv: unknown): void {
    path.push(pe);
    const v = mergeValues(lv, rv, elem, path);
    samePE(node, lv ?? rv, v);
    out.push(v);
    path.pop();
  }
  let li = 0;
  let ri = 0;
  while (li < lOrder.length || ri < rOrder.length) {
    if (li < lOrder.length && ri < rOrder.length) {
      const pe = lOrder[li]!;
      if (pe === rOrder[ri]) {
        item(pe, lItems.get(pe), rItems.get(pe));
        li++;
        ri++;
        sharedAt++;
        continue;
      }
      const next = shared[sharedAt];
      if (rItems.has(pe) && next !== undefined && next !== pe) {
        li++;
        continue;
      }
    }
    if (li < lOrder.length) {
      const pe = lOrder[li]!;
      if (!rItems.has(pe)) {
        item(pe, lItems.get(pe), undefined);
        li++;
        continue;
      }
    }
    if (ri < rOrder.length) {
      const pe = rOrder[ri]!;
      item(pe, lItems.get(pe), rItems.get(pe));
      ri++;
      if (shared[sharedAt] === pe) sharedAt++;
    }
  }
  return out;
}

function ownsMember(owned: readonly FieldSet[], pe: string): boolean {
  for (const o of owned) if (o.members.has(pe)) return true;
  return false;
}

function ownedBelow(owned: readonly FieldSet[], pe: string): FieldSet[] {
  const out: FieldSet[] = [];
  for (const o of owned) {
    const c = o.children.get(pe);
    if (c !== undefined && !c.isEmpty()) out.push(c);
  }
  return out;
}

/**
 * Removes from `v` the fields the applier owned before (`last`) that nobody owns now (`owned`, every manager's
 * fields after this apply). A named field is kept while anyone owns something beneath it.
 */
function prune(v: unknown, node: TypeNode | undefined, last: FieldSet, owned: readonly FieldSet[]): unknown {
  if (Array.isArray(v) && node !== undefined && node.kind === 'list' && !node.atomic) {
    const out: unknown[] = [];
    v.forEach((item, i) => {
      const pe = itemPE(node, item, i);
      const below = ownedBelow(owned, pe);
      if (last.members.has(pe) && !ownsMember(owned, pe) && below.length === 0) return;
      const sub = last.children.get(pe);
      const kept = sub === undefined ? item : prune(item, node.elem, sub, below);
      samePE(node, item, kept);
      out.push(kept);
    });
    return out;
  }
  if (isObject(v)) {
    const out: JsonMap = { ...v };
    for (const k of Object.keys(v)) {
      const pe = fieldPE(k);
      const sub = last.children.get(pe);
      if (sub === undefined && !last.members.has(pe)) continue;
      const c = childNode(node, k);
      const named = node !== undefined && node.kind === 'struct' && c !== undefined;
      const below = ownedBelow(owned, pe);
      const ownedHere = ownsMember(owned, pe) || (named && below.length > 0);
      if ((last.members.has(pe) || (named && sub !== undefined)) && !ownedHere) {
        delete out[k];
        continue;
      }
      if (sub !== undefined) out[k] = prune(v[k], c, sub, below);
    }
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// The field manager

/** stripMeta: identity fields nobody owns. */
const STRIP = (() => {
  const s = new FieldSet();
  for (const f of ['apiVersion', 'kind', 'metadata']) s.insert([fieldPE(f)]);
  for (const f of ['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion']) {
    s.insert([fieldPE('metadata'), fieldPE(f)]);
  }
  return s;
})();

/** The fields a write through the main resource or a subresource may not own (the registry resets them). */
function ignoredFields(subresource: string | undefined, obj: JsonMap): FieldSet | undefined {
  const s = new FieldSet();
  if (subresource === undefined || subresource === '') s.insert([fieldPE('status')]);
  else if (subresource === 'status') {
    for (const k of Object.keys(obj)) if (k !== 'status') s.insert([fieldPE(k)]);
  } else return undefined;
  return s;
}

function withoutManagedFields(obj: JsonMap | null): JsonMap {
  if (obj === null) return {};
  const meta = obj['metadata'];
  if (!isObject(meta) || !Object.hasOwn(meta, 'managedFields')) return obj;
  const m = { ...meta };
  delete m['managedFields'];
  return { ...obj, metadata: m };
}

function setManagedFields(obj: JsonMap, managed: Managed): JsonMap {
  const entries = encodeManagedFields(managed);
  const meta: JsonMap = isObject(obj['metadata']) ? { ...obj['metadata'] } : {};
  if (entries.length > 0) meta['managedFields'] = entries;
  else delete meta['managedFields'];
  return { ...obj, metadata: meta };
}

function metadataOf(obj: JsonMap | null): JsonMap | undefined {
  const m = obj?.['metadata'];
  return isObject(m) ? m : undefined;
}

/**
 * Removes fields others lose: `changed` fields taken over by `self` (when forced) and `removed` fields, from every
 * other manager; returns the conflicts (fields of others among `changed`). Managers left empty are dropped.
 */
function settle(managed: Managed, self: string, comparison: Comparison, force: boolean): Conflict[] {
  const changed = comparison.modified.union(comparison.added);
  const conflicts: Conflict[] = [];
  const updates: [string, FieldSet][] = [];
  for (const [id, e] of managed) {
    if (id === self) continue;
    const conflict = e.set.intersection(changed);
    if (!conflict.isEmpty()) for (const p of conflict.paths()) conflicts.push({ manager: id, path: p });
    updates.push([id, e.set.difference(conflict).difference(comparison.removed)]);
  }
  if (conflicts.length > 0 && !force) return conflicts;
  for (const [id, set] of updates) {
    const e = managed.get(id)!;
    if (set.isEmpty()) managed.delete(id);
    else managed.set(id, { ...e, set });
  }
  return conflicts;
}

/** The annotation client-side apply keeps its last applied configuration in. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** The manager whose server-side applies take over from (and keep in step with) client-side apply, as upstream. */
const KUBECTL_MANAGER = 'kubectl';
/** The manager that owns the fields of an object without managedFields at its first apply (skipNonAppliedManager). */
export const BEFORE_FIRST_APPLY_MANAGER = 'before-first-apply';
/** apimachinery's TotalAnnotationSizeLimitB: a last-applied annotation that would exceed it is dropped instead. */
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/**
 * Server-side apply of `applied` (the parsed apply-patch body) onto `live` (null: the object does not exist yet).
 * Returns the merged object with its managedFields; when other managers own fields the apply would change and
 * `force` is not set, returns the live object unchanged and the conflicts (see applyConflictStatus). Throws
 * PatchError for a body that is not an apply configuration of the kind. Follows apimachinery's default chain around
 * the merge: an object without managedFields first credits its fields to `before-first-apply`; the `kubectl`
 * manager may take over, without conflict, fields whose live value still matches the client-side apply
 * annotation, and keeps that annotation (when present) equal to what it applied.
 */
export function applyPatch(live: object | null, applied: object, opts: ApplyOptions): ApplyResult {
  if (!isObject(applied)) throw new PatchError('error decoding YAML: the apply patch must be an object', 'BadRequest');
  const version = apiVersionOf(opts.gvk.group, opts.gvk.version);
  if (applied['apiVersion'] !== version) {
    throw new PatchError(`Incorrect version specified in apply patch. Specified patch version: ${typeof applied['apiVersion'] === 'string' ? applied['apiVersion'] : ''}, expected: ${version}`, 'BadRequest');
  }
  if (applied['kind'] !== opts.gvk.kind) {
    throw new PatchError(`Incorrect kind specified in apply patch. Specified patch kind: ${typeof applied['kind'] === 'string' ? applied['kind'] : ''}, expected: ${opts.gvk.kind}`, 'BadRequest');
  }
  const appliedMeta = metadataOf(applied);
  if (appliedMeta !== undefined && appliedMeta['managedFields'] !== undefined && appliedMeta['managedFields'] !== null) {
    throw new PatchError('metadata.managedFields must be nil', 'BadRequest');
  }
  const liveObj = live === null ? null : (live as JsonMap);
  let liveManaged: unknown = metadataOf(liveObj)?.['managedFields'];
  let managed: Managed;
  try {
    managed = decodeManagedFields(liveManaged);
  } catch (e) {
    throw new PatchError(`failed to decode managed fields: ${(e as Error).message}`, 'Invalid');
  }
  if (liveObj !== null && managed.size === 0) {
    // skipNonAppliedManager: whatever the object holds before its first tracked apply belongs to a placeholder
    // manager, so that an apply conflicts with (rather than silently overwrites) those values.
    const credited = updateManagedFields({}, withoutManagedFields(liveObj), { gvk: opts.gvk, manager: BEFORE_FIRST_APPLY_MANAGER, ...(opts.now !== undefined ? { now: opts.now } : {}) });
    liveManaged = metadataOf(credited)?.['managedFields'];
    managed = decodeManagedFields(liveManaged);
  }
  let r = mergeApplied(liveObj, managed, applied, opts, opts.force === true);
  if (r.conflicts.length > 0 && opts.force !== true) {
    if (opts.manager !== KUBECTL_MANAGER || liveObj === null) return r;
    // lastAppliedManager: conflicts on fields that client-side apply last set, and that still hold that value,
    // are the same intent moving to server-side apply.
    const allowed = allowedConflictsFromLastApplied(liveObj, opts.gvk);
    if (allowed === undefined) return r;
    const remaining = r.conflicts.filter((c) => !allowed.has(c.path));
    if (remaining.length > 0) return { object: r.object, conflicts: remaining };
    r = { object: mergeApplied(liveObj, decodeManagedFields(liveManaged), applied, opts, true).object, conflicts: [] };
  }
  if (opts.manager === KUBECTL_MANAGER) r = { ...r, object: syncLastApplied(r.object, applied as JsonMap) };
  return r;
}

/** The merge, ownership settlement and pruning of one apply; `managed` (decoded, then changed here) is the owners before it. */
function mergeApplied(liveObj: JsonMap | null, managed: Managed, applied: JsonMap, opts: ApplyOptions, force: boolean): ApplyResult {
  const version = apiVersionOf(opts.gvk.group, opts.gvk.version);
  const node = typeNodeFor(opts.gvk);
  const base = withoutManagedFields(liveObj);
  const id = managerIdentifier({ manager: opts.manager, operation: 'Apply', apiVersion: version, subresource: opts.subresource });
  const previous = managed.get(id);

  let merged = mergeValues(base, cloneJson(applied), node, []) as JsonMap;
  let set = new FieldSet();
  toFieldSet(applied, node, [], set);
  const ignored = ignoredFields(opts.subresource, applied);
  if (ignored !== undefined) set = set.recursiveDifference(ignored);
  const entry: ManagerEntry = { manager: opts.manager, operation: 'Apply', apiVersion: version, set };
  if (opts.subresource !== undefined && opts.subresource !== '') entry.subresource = opts.subresource;
  if (previous?.time !== undefined) entry.time = previous.time;
  managed.set(id, entry);

  if (previous !== undefined && !previous.set.isEmpty()) {
    merged = prune(merged, node, previous.set, [...managed.values()].map((e) => e.set)) as JsonMap;
  }
  const comparison = compareObjects(base, merged, node);
  const conflicts = settle(managed, id, comparison, force);
  if (conflicts.length > 0 && !force) return { object: liveObj ?? {}, conflicts };

  const stripped = set.difference(STRIP);
  if (stripped.isEmpty()) managed.delete(id);
  else {
    entry.set = stripped;
    const changed = !comparison.added.isEmpty() || !comparison.modified.isEmpty() || !comparison.removed.isEmpty();
    if (changed || previous === undefined || !previous.set.equals(stripped) || entry.time === undefined) entry.time = formatRFC3339(opts.now ?? Date.now());
  }
  return { object: setManagedFields(merged, managed), conflicts };
}

function lastAppliedOf(obj: JsonMap): string | undefined {
  const annotations = metadataOf(obj)?.['annotations'];
  const v = isObject(annotations) ? annotations[LAST_APPLIED_ANNOTATION] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The fields of the last-applied configuration whose live value still equals it (lastAppliedManager's
 * allowedConflictsFromLastApplied); undefined when there is no usable annotation.
 */
function allowedConflictsFromLastApplied(live: JsonMap, gvk: GroupVersionKind): FieldSet | undefined {
  const text = lastAppliedOf(live);
  if (text === undefined) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last['apiVersion'] !== apiVersionOf(gvk.group, gvk.version)) return undefined;
  const node = typeNodeFor(gvk);
  const set = new FieldSet();
  try {
    toFieldSet(last, node, [], set);
  } catch (e) {
    if (e instanceof PatchError) return undefined;
    throw e;
  }
  const c = compareObjects(last, withoutManagedFields(live), node);
  return set.difference(c.modified).difference(c.added).difference(c.removed);
}

/** Go's encoding/json of an unstructured object: map keys sorted, HTML-sensitive characters escaped, newline-ended. */
function goJson(v: unknown): string {
  const sorted = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sorted);
    if (!isObject(x)) return x;
    const out: JsonMap = {};
    for (const k of Object.keys(x).sort()) out[k] = sorted(x[k]);
    return out;
  };
  const text = JSON.stringify(sorted(v)).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${text}\n`;
}

/** lastAppliedUpdater: an existing last-applied annotation is rewritten to the configuration just applied. */
function syncLastApplied(obj: JsonMap, applied: JsonMap): JsonMap {
  if (lastAppliedOf(obj) === undefined) return obj;
  const cfg = cloneJson(applied) as JsonMap;
  const cfgMeta = metadataOf(cfg);
  const cfgAnnotations = cfgMeta?.['annotations'];
  if (isObject(cfgAnnotations)) delete cfgAnnotations[LAST_APPLIED_ANNOTATION];
  const meta = { ...metadataOf(obj) };
  const annotations: JsonMap = { ...(meta['annotations'] as JsonMap), [LAST_APPLIED_ANNOTATION]: goJson(cfg) };
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) delete annotations[LAST_APPLIED_ANNOTATION];
  meta['annotations'] = annotations;
  return { ...obj, metadata: meta };
}

/**
 * Records the ownership of an ordinary write (create, update, patch) by `manager` in `next`'s managedFields:
 * the manager gains every field the write added or changed, others lose those and removed fields. Follows
 * upstream's rules for managedFields sent by the client: an explicit empty list (or one empty entry) resets them,
 * an invalid or missing list keeps the live object's, and writes to subresources never set them directly.
 * Returns the object to store; `next` is not modified.
 */
export function updateManagedFields(old: object | null, next: object, opts: UpdateOptions): JsonMap {
  const oldObj = old === null ? null : (old as JsonMap);
  const nextObj = next as JsonMap;
  const requested = metadataOf(nextObj)?.['managedFields'];
  let managed: Managed | undefined;
  const isSubresource = opts.subresource !== undefined && opts.subresource !== '';
  if (!isSubresource) {
    if (isResetManagedFields(requested)) managed = new Map();
    else {
      try {
        const m = decodeManagedFields(requested);
        if (m.size > 0) managed = m;
      } catch {
        // Garbage from a client: fall back to the live object's, as upstream does.
      }
    }
  }
  if (managed === undefined) {
    try {
      managed = decodeManagedFields(metadataOf(oldObj)?.['managedFields']);
    } catch {
      managed = new Map();
    }
  }
  const node = typeNodeFor(opts.gvk);
  const before = withoutManagedFields(oldObj);
  const after = withoutManagedFields(nextObj);
  const version = apiVersionOf(opts.gvk.group, opts.gvk.version);
  const comparison = compareObjects(before, after, node);
  const self = managerIdentifier({ manager: opts.manager, operation: 'Update', apiVersion: version, subresource: opts.subresource });
  settle(managed, self, comparison, true);
  let changed = comparison.modified.union(comparison.added);
  const ignored = ignoredFields(opts.subresource, after);
  if (ignored !== undefined) changed = changed.recursiveDifference(ignored);
  changed = changed.difference(STRIP);
  const previous = managed.get(self);
  const kept = previous === undefined ? new FieldSet() : previous.set.difference(comparison.removed);
  const set = kept.union(changed);
  if (set.isEmpty()) managed.delete(self);
  else {
    const entry: ManagerEntry = { manager: opts.manager, operation: 'Update', apiVersion: version, set };
    if (isSubresource) entry.subresource = opts.subresource;
    // The time moves only when this write gave the manager fields (managedFieldsUpdater).
    const time = changed.isEmpty() ? previous?.time : formatRFC3339(opts.now ?? Date.now());
    if (time !== undefined) entry.time = time;
    managed.set(self, entry);
  }
  return setManagedFields(after, managed);
}
