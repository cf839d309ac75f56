/**
 * Client-side apply's patch computation, ported from apimachinery's strategicpatch.CreateThreeWayMergePatch:
 * the additions and changes from `current` to `modified` (deletions ignored, $setElementOrder directives for
 * merged lists) are merged with the deletions from `original` (the last-applied configuration) to `modified`
 * (`null` for removed fields, `$patch: delete` for removed list items, `$deleteFromPrimitiveList/<list>`).
 * Lists merge by their schema's patch merge key and maps with the retainKeys strategy carry `$retainKeys`.
 * Without a schema (custom kinds) the same walk yields jsonmergepatch.CreateThreeWayJSONMergePatch: lists
 * replace wholesale, no directives.
 */
import { deepEqual } from '../../base/json-value.ts';
import type { TypeNode } from '../../api/openapi/type-node.ts';

type JsonMap = Record<string, unknown>;

interface DiffOptions {
  ignoreChangesAndAdditions: boolean;
  ignoreDeletions: boolean;
  setElementOrder: boolean;
  buildRetainKeys: boolean;
}

/** The three-way patch (a JSON object; `{}` when nothing changes) that moves `current` to `modified`. */
export function createThreeWayMergePatch(original: JsonMap | undefined, modified: JsonMap, current: JsonMap, opts: { schema?: TypeNode }): JsonMap {
  const schema = opts.schema;
  const delta = diffMaps(current, modified, schema, { ignoreChangesAndAdditions: false, ignoreDeletions: true, setElementOrder: schema !== undefined, buildRetainKeys: false });
  const deletions = diffMaps(original ?? {}, modified, schema, { ignoreChangesAndAdditions: true, ignoreDeletions: false, setElementOrder: false, buildRetainKeys: false });
  return mergePatches(deletions, delta, schema);
}

function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): 'map' | 'list' | 'null' | 'scalar' {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'map' : 'scalar';
}

export { deepEqual };

function diffMaps(original: JsonMap, modified: JsonMap, schema: TypeNode | undefined, o: DiffOptions): JsonMap {
  const patch: JsonMap = {};
  const retainKeys: string[] = [];
  for (const key of Object.keys(modified)) {
    const mod = modified[key];
    if (o.buildRetainKeys && mod !== null && mod !== undefined) retainKeys.push(key);
    if (!Object.hasOwn(original, key)) {
      if (!o.ignoreChangesAndAdditions) patch[key] = mod;
      continue;
    }
    const orig = original[key];
    if (key === '$patch' && typeof orig === 'string' && typeof mod === 'string') {
      if (orig !== mod && !o.ignoreChangesAndAdditions) patch[key] = mod;
      continue;
    }
    const ko = kindOf(orig);
    const km = kindOf(mod);
    if (ko !== km) {
      if (!o.ignoreChangesAndAdditions) patch[key] = mod;
      continue;
    }
    const sub = schema?.child(key);
    if (km === 'map') {
      if (sub?.smpReplace) {
        if (!o.ignoreChangesAndAdditions && !deepEqual(orig, mod)) patch[key] = { ...(mod as JsonMap), $patch: 'replace' };
        continue;
      }
      const d = diffMaps(orig as JsonMap, mod as JsonMap, sub, { ...o, buildRetainKeys: sub?.smpRetainKeys === true });
      if (Object.keys(d).length > 0) patch[key] = d;
      continue;
    }
    if (km === 'list') {
      if (sub?.smpMerge) {
        const { add, del, order } = diffLists(orig as unknown[], mod as unknown[], sub, { ...o, buildRetainKeys: sub.smpRetainKeys });
        if (add.length > 0) patch[key] = add;
        if (del.length > 0) patch[`$deleteFromPrimitiveList/${key}`] = del;
        if (order.length > 0) patch[`$setElementOrder/${key}`] = order;
      } else if (!o.ignoreChangesAndAdditions && !deepEqual(orig, mod)) {
        patch[key] = mod;
      }
      continue;
    }
    if (!o.ignoreChangesAndAdditions && !deepEqual(orig, mod)) patch[key] = mod;
  }
  if (!o.ignoreDeletions) for (const key of Object.keys(original)) if (!Object.hasOwn(modified, key)) patch[key] = null;
  const additionalNew = Object.keys(original).some((k) => !Object.hasOwn(modified, k)) || Object.keys(modified).some((k) => !Object.hasOwn(original, k));
  if (retainKeys.length > 0 && (Object.keys(patch).length > 0 || additionalNew)) patch['$retainKeys'] = [...retainKeys].sort();
  return patch;
}

function diffLists(original: unknown[], modified: unknown[], schema: TypeNode, o: DiffOptions): { add: unknown[]; del: unknown[]; order: unknown[] } {
  const first = modified[0] ?? original[0];
  const mergeKey = schema.meta.patchMergeKey;
  if (isMap(first) && mergeKey) {
    const elem = schema.elem;
    const byKey = (l: unknown[]): Map<string, JsonMap> => new Map(l.filter(isMap).map((m) => [JSON.stringify(m[mergeKey]), m]));
    const om = byKey(original);
    const mm = byKey(modified);
    let patch: unknown[] = [];
    const deletes: unknown[] = [];
    for (const m of modified) {
      if (!isMap(m)) continue;
      const k = JSON.stringify(m[mergeKey]);
      const orig = om.get(k);
      if (!orig) {
        if (!o.ignoreChangesAndAdditions) patch.push(m);
        continue;
      }
      const d = diffMaps(orig, m, elem, o);
      if (Object.keys(d).length > 0) patch.push({ ...d, [mergeKey]: m[mergeKey] });
    }
    if (!o.ignoreDeletions) {
      for (const x of original) if (isMap(x) && !mm.has(JSON.stringify(x[mergeKey]))) deletes.push({ [mergeKey]: x[mergeKey], $patch: 'delete' });
    }
    // normalizeSliceOrder: the patch follows the modified list's order.
    patch = orderLike(patch, modified, (v) => JSON.stringify((v as JsonMap)[mergeKey]));
    const sameOrder = sameRelativeOrder(original, modified, (v) => JSON.stringify((v as JsonMap)[mergeKey]));
    patch.push(...deletes);
    let order: unknown[] = [];
    if (o.setElementOrder && ((!o.ignoreChangesAndAdditions && (patch.length > 0 || !sameOrder)) || (!o.ignoreDeletions && patch.length > 0))) {
      order = modified.filter(isMap).map((m) => ({ [mergeKey]: m[mergeKey] }));
    }
    return { add: patch, del: [], order };
  }
  if (kindOf(first) === 'map' || kindOf(first) === 'list') {
    // Lists of lists or of maps without a merge key cannot be merged; upstream replaces them.
    return { add: o.ignoreChangesAndAdditions || deepEqual(original, modified) ? [] : modified, del: [], order: [] };
  }
  const key = (v: unknown): string => JSON.stringify(v);
  const os = new Set(original.map(key));
  const ms = new Set(modified.map(key));
  const add = o.ignoreChangesAndAdditions ? [] : orderLike(modified.filter((v) => !os.has(key(v))), modified, key);
  const del = o.ignoreDeletions ? [] : original.filter((v) => !ms.has(key(v)));
  let order: unknown[] = [];
  if (o.setElementOrder && ((!o.ignoreDeletions && del.length > 0) || (!o.ignoreChangesAndAdditions && !deepEqual(original, modified)))) order = modified;
  return { add, del, order };
}

function orderLike(items: unknown[], reference: unknown[], key: (v: unknown) => string): unknown[] {
  const pos = new Map<string, number>();
  reference.forEach((v, i) => {
    const k = key(v);
    if (!pos.has(k)) pos.set(k, i);
  });
  return items
    .map((v, i) => ({ v, i, p: pos.get(key(v)) ?? Number.MAX_SAFE_INTEGER }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map((x) => x.v);
}

function sameRelativeOrder(original: unknown[], modified: unknown[], key: (v: unknown) => string): boolean {
  // isOrderSame: the items present in both lists appear in the same order.
  const ms = new Set(modified.filter(isMap).map(key));
  const os = new Set(original.filter(isMap).map(key));
  const a = original.filter(isMap).map(key).filter((k) => ms.has(k));
  const b = modified.filter(isMap).map(key).filter((k) => os.has(k));
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** mergeMap(deletions, delta) without parallel-list processing: directives are carried as ordinary keys. */
function mergePatches(base: JsonMap, patch: JsonMap, schema: TypeNode | undefined): JsonMap {
  const out: JsonMap = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (!Object.hasOwn(out, k) || b === null || v === null) {
      out[k] = v;
      continue;
    }
    const sub = schema?.child(k);
    if (isMap(b) && isMap(v)) {
      out[k] = mergePatches(b, v, sub);
    } else if (Array.isArray(b) && Array.isArray(v) && sub?.smpMerge) {
      const mk = sub.meta.patchMergeKey;
      if (mk && (b.some(isMap) || v.some(isMap))) {
        const merged = [...b];
        for (const item of v) {
          const i = isMap(item) ? merged.findIndex((x) => isMap(x) && deepEqual(x[mk], item[mk])) : -1;
          if (i >= 0) merged[i] = mergePatches(merged[i] as JsonMap, item as JsonMap, sub.elem);
          else merged.push(item);
        }
        out[k] = merged;
      } else {
        out[k] = [...b, ...v.filter((x) => !b.some((y) => deepEqual(x, y)))];
      }
    } else {
      out[k] = v;
    }
  }
  return out;
}
