/**
 * Field ownership as structured-merge-diff and apimachinery's fieldmanager record it: FieldsV1 sets of path
 * elements (`f:name`, `k:{"name":"nginx"}`, `v:"value"`, `i:0`, `.` for the node itself), managers identified by
 * (manager, operation, apiVersion for Update, subresource), metadata.managedFields encoding and decoding, and the
 * 409 conflict Status of a server-side apply.
 */
import type { Status } from '../../api/meta/types.ts';

/** A set of field paths, as a trie: `members` are paths ending here, `children` continue. Keys are FieldsV1 path elements. */
export class FieldSet {
  readonly members = new Set<string>();
  readonly children = new Map<string, FieldSet>();

  /** True when no path is in the set. */
  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  /** Adds a path (a list of path elements); the empty path is ignored. */
  insert(path: readonly string[]): void {
    if (path.length === 0) return;
    let s: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) s = s.child(path[i]!);
    s.members.add(path[path.length - 1]!);
  }

  /** The child set under `pe`, created when missing. */
  child(pe: string): FieldSet {
    let c = this.children.get(pe);
    if (c === undefined) {
      c = new FieldSet();
      this.children.set(pe, c);
    }
    return c;
  }

  /** Whether `path` is a member. */
  has(path: readonly string[]): boolean {
    let s: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && s !== undefined; i++) s = s.children.get(path[i]!);
    return s !== undefined && path.length > 0 && s.members.has(path[path.length - 1]!);
  }

  /** A deep copy. */
  copy(): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const [k, c] of this.children) out.children.set(k, c.copy());
    return out;
  }

  /** Paths in this set or in `other`. */
  union(other: FieldSet): FieldSet {
    // Sets are never modified once built, so an operand can be returned as is.
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    const out = this.copy();
    out.addAll(other);
    return out;
  }

  private addAll(other: FieldSet): void {
    for (const m of other.members) this.members.add(m);
    for (const [k, c] of other.children) this.child(k).addAll(c);
  }

  /** Paths in this set and not in `other` (exact paths: a member of `other` does not remove descendants). */
  difference(other: FieldSet): FieldSet {
    if (other.isEmpty() || this.isEmpty()) return this;
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [k, c] of this.children) {
      const o = other.children.get(k);
      const d = o === undefined ? c.copy() : c.difference(o);
      if (!d.isEmpty()) out.children.set(k, d);
    }
    return out;
  }

  /** Paths in this set, minus every path in `other` and every descendant of a member of `other`. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [k, c] of this.children) {
      if (other.members.has(k)) continue;
      const o = other.children.get(k);
      const d = o === undefined ? c.copy() : c.recursiveDifference(o);
      if (!d.isEmpty()) out.children.set(k, d);
    }
    return out;
  }

  /** Paths in both sets. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (other.members.has(m)) out.members.add(m);
    for (const [k, c] of this.children) {
      const o = other.children.get(k);
      if (o === undefined) continue;
      const i = c.intersection(o);
      if (!i.isEmpty()) out.children.set(k, i);
    }
    return out;
  }

  /** Structural equality. */
  equals(other: FieldSet): boolean {
    return this.difference(other).isEmpty() && other.difference(this).isEmpty();
  }

  /** Every member path, in FieldsV1 order. */
  paths(prefix: string[] = [], out: string[][] = []): string[][] {
    const keys = sortPathElements([...new Set([...this.members, ...this.children.keys()])]);
    for (const k of keys) {
      if (this.members.has(k)) out.push([...prefix, k]);
      const c = this.children.get(k);
      if (c !== undefined) c.paths([...prefix, k], out);
    }
    return out;
  }

  /** The FieldsV1 JSON of the set (keys sorted as structured-merge-diff serializes them). */
  toFieldsV1(): Record<string, unknown> {
    return this.emit(false);
  }

  private emit(self: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (self) out['.'] = {};
    const keys = sortPathElements([...new Set([...this.members, ...this.children.keys()])]);
    for (const k of keys) {
      const c = this.children.get(k);
      if (c === undefined || c.isEmpty()) out[k] = {};
      else out[k] = c.emit(this.members.has(k));
    }
    return out;
  }

  /** Parses FieldsV1 JSON; throws on anything that is not one. */
  static fromFieldsV1(v: unknown): FieldSet {
    const out = new FieldSet();
    out.parse(v);
    return out;
  }

  private parse(v: unknown): void {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('FieldsV1 must be an object');
    for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
      if (k === '.') continue;
      if (!/^[fkvi]:/.test(k)) throw new Error(`parsing JSON: unexpected path element ${JSON.stringify(k)}`);
      if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`FieldsV1 entry ${k} must be an object`);
      const entries = Object.keys(c);
      if (entries.length === 0) {
        this.members.add(k);
        continue;
      }
      if (Object.hasOwn(c, '.')) this.members.add(k);
      const child = new FieldSet();
      child.parse(c);
      if (!child.isEmpty()) this.children.set(k, child);
    }
  }
}

const TYPE_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** structured-merge-diff's PathElement order: field names, then keys, then values, then indexes. */
function sortPathElements(keys: string[]): string[] {
  if (keys.length < 2) return keys;
  return keys.sort((a, b) => {
    const ta = TYPE_ORDER[a[0]!] ?? 4;
    const tb = TYPE_ORDER[b[0]!] ?? 4;
    if (ta !== tb) return ta - tb;
    if (a[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
    if (a[0] === 'k') return compareKeys(a.slice(2), b.slice(2));
    if (a[0] === 'v') return compareValues(JSON.parse(a.slice(2)), JSON.parse(b.slice(2)));
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

const parsedKeys = new Map<string, [string, unknown][]>();
function keyFields(k: string): [string, unknown][] {
  let f = parsedKeys.get(k);
  if (f === undefined) {
    f = Object.entries(JSON.parse(k) as Record<string, unknown>);
    if (parsedKeys.size > 10_000) parsedKeys.clear();
    parsedKeys.set(k, f);
  }
  return f;
}

function compareKeys(a: string, b: string): number {
  const fa = keyFields(a);
  const fb = keyFields(b);
  for (let i = 0; i < Math.min(fa.length, fb.length); i++) {
    const [na, va] = fa[i]!;
    const [nb, vb] = fb[i]!;
    if (na !== nb) return na < nb ? -1 : 1;
    const c = compareValues(va, vb);
    if (c !== 0) return c;
  }
  return fa.length - fb.length;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  if (typeof a !== typeof b) return typeof a < typeof b ? -1 : 1;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** The path element of struct field or map key `name`. */
export function fieldPE(name: string): string {
  return `f:${name}`;
}

/** The path element of a list-map item identified by `keys` (sorted by name, as upstream serializes them). */
export function keyPE(keys: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(keys).sort()) sorted[k] = keys[k];
  return `k:${JSON.stringify(sorted)}`;
}

/** The path element of a set item. */
export function valuePE(v: unknown): string {
  return `v:${JSON.stringify(v)}`;
}

/** The path element of an item of a list that has no keys. */
export function indexPE(i: number): string {
  return `i:${i}`;
}

/** fieldpath.Path.String(): `.spec.containers[name="nginx"].image`, `[=value]` for set items, `[3]` for indexes. */
export function pathString(path: readonly string[]): string {
  let out = '';
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f':
        out += `.${body}`;
        break;
      case 'k':
        out += `[${Object.entries(JSON.parse(body) as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
        break;
      case 'v':
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}

/** One manager's ownership: its fields and the apiVersion they were recorded in. */
export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** The managedFields of an object, keyed by manager identifier. */
export type Managed = Map<string, ManagerEntry>;

/** fieldmanager's BuildManagerIdentifier: the entry without fields and time, and without apiVersion for appliers. */
export function managerIdentifier(e: Pick<ManagerEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  const id: Record<string, string> = {};
  if (e.manager !== '') id['manager'] = e.manager;
  id['operation'] = e.operation;
  if (e.operation !== 'Apply' && e.apiVersion !== '') id['apiVersion'] = e.apiVersion;
  if (e.subresource !== undefined && e.subresource !== '') id['subresource'] = e.subresource;
  return JSON.stringify(id);
}

/** Decoded managedFields per array: stored objects are read by many requests, and decoded sets are never mutated. */
const decodedCache = new WeakMap<object, Managed>();

/** Decodes metadata.managedFields into a fresh map (entries are shared and must not be mutated); throws with upstream's reason when an entry is invalid. */
export function decodeManagedFields(entries: unknown): Managed {
  if (entries === undefined || entries === null) return new Map();
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  let cached = decodedCache.get(entries);
  if (cached === undefined) {
    cached = decodeEntries(entries);
    decodedCache.set(entries, cached);
  }
  return new Map(cached);
}

function decodeEntries(entries: unknown[]): Managed {
  const out: Managed = new Map();
  entries.forEach((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`managed fields entry ${i} must be an object`);
    const e = raw as Record<string, unknown>;
    if (e['operation'] !== 'Apply' && e['operation'] !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (typeof e['apiVersion'] !== 'string' || e['apiVersion'] === '') throw new Error('apiVersion must not be empty');
    if (e['fieldsType'] === undefined || e['fieldsType'] === '') throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e['fieldsType'] !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e['fieldsType'])} in managed fields entry ${i}`);
    const entry: ManagerEntry = {
      manager: typeof e['manager'] === 'string' ? e['manager'] : '',
      operation: e['operation'],
      apiVersion: e['apiVersion'],
      set: FieldSet.fromFieldsV1(e['fieldsV1'] ?? {}),
    };
    if (typeof e['subresource'] === 'string' && e['subresource'] !== '') entry.subresource = e['subresource'];
    if (typeof e['time'] === 'string') entry.time = e['time'];
    out.set(managerIdentifier(entry), entry);
  });
  return out;
}

/**
 * Whether a request's managedFields asks for a reset (fieldmanager's isResetManagedFields): an explicit empty list
 * or a list holding one empty entry.
 */
export function isResetManagedFields(entries: unknown): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  const only: unknown = entries[0];
  return entries.length === 1 && typeof only === 'object' && only !== null && Object.keys(only).length === 0;
}

const encodedCache = new WeakMap<FieldSet, Record<string, unknown>>();
/** The FieldsV1 of a set, encoded once per (immutable) set. */
function fieldsV1Of(set: FieldSet): Record<string, unknown> {
  let v = encodedCache.get(set);
  if (v === undefined) {
    v = set.toFieldsV1();
    encodedCache.set(set, v);
  }
  return v;
}

/** Encodes managers as metadata.managedFields, sorted as upstream sorts them (operation, time, manager, apiVersion, subresource). */
export function encodeManagedFields(managed: Managed): Record<string, unknown>[] {
  const entries = [...managed.values()].filter((e) => !e.set.isEmpty());
  entries.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const pt = p.time === undefined ? 0 : Math.floor(Date.parse(p.time) / 1000);
    const qt = q.time === undefined ? 0 : Math.floor(Date.parse(q.time) / 1000);
    if (pt !== qt) return pt - qt;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    const ps = p.subresource ?? '';
    const qs = q.subresource ?? '';
    return ps < qs ? -1 : ps > qs ? 1 : 0;
  });
  return entries.map((e) => {
    const out: Record<string, unknown> = {};
    if (e.manager !== '') out['manager'] = e.manager;
    out['operation'] = e.operation;
    out['apiVersion'] = e.apiVersion;
    if (e.time !== undefined) out['time'] = e.time;
    out['fieldsType'] = 'FieldsV1';
    out['fieldsV1'] = fieldsV1Of(e.set);
    if (e.subresource !== undefined) out['subresource'] = e.subresource;
    return out;
  });
}

/** A field another manager owns with a different value than the apply wants. */
export interface Conflict {
  /** The other manager's identifier (managerIdentifier). */
  manager: string;
  /** The field's path elements. */
  path: string[];
}

/** conflict.go's printManager: `"kubectl"`, or `"m" with subresource "s" using apps/v1` for Update owners. */
export function printManager(manager: string): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(manager) as Record<string, unknown>;
  } catch {
    return JSON.stringify(manager);
  }
  let s = JSON.stringify(typeof e['manager'] === 'string' ? e['manager'] : '');
  if (typeof e['subresource'] === 'string' && e['subresource'] !== '') s = `${s} with subresource ${JSON.stringify(e['subresource'])}`;
  if (e['operation'] === 'Update') s = `${s} using ${typeof e['apiVersion'] === 'string' ? e['apiVersion'] : ''}`;
  return s;
}

/** The 409 Status of a server-side apply with conflicts, worded and grouped exactly as upstream's conflict.go. */
export function applyConflictStatus(conflicts: readonly Conflict[]): Status {
  const sorted = [...conflicts].sort((a, b) => (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0));
  let message: string;
  if (sorted.length === 1) {
    const c = sorted[0]!;
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of sorted) {
      const l = byManager.get(c.manager) ?? [];
      l.push(pathString(c.path));
      byManager.set(c.manager, l);
    }
    const lines: string[] = [];
    for (const [m, paths] of byManager) {
      lines.push(`conflicts with ${printManager(m)}:`);
      for (const p of paths) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${sorted.length} conflicts: ${lines.join('\n')}`;
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Conflict',
    details: { causes: sorted.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) })) },
    code: 409,
  };
}

/** The field manager upstream derives from a User-Agent when a request names none: the text before the first "/", printable, at most 128 bytes. */
export function fieldManagerFromUserAgent(userAgent: string): string {
  const head = userAgent.split('/')[0] ?? '';
  let out = '';
  let bytes = 0;
  for (const ch of head) {
    if (/[\p{C}]/u.test(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > 128) break;
    out += ch;
    bytes += n;
  }
  return out;
}
