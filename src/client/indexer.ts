/**
 * The informer cache: objects keyed `namespace/name` (just `name` for cluster-scoped kinds) with named
 * secondary indexes, as client-go's cache.Indexer. Objects are shared with every reader: never mutate them.
 */
import type { ObjectLike } from './object.ts';

/** Computes the index values of an object (cache.IndexFunc); an empty list leaves it out of the index. */
export type IndexFunc<T> = (obj: T) => string[];

/** The name of the built-in index of objects by namespace (cache.NamespaceIndex). */
export const namespaceIndex = 'namespace';

/** A deleted object whose final state the watch missed (cache.DeletedFinalStateUnknown): `obj` is the last one seen. */
export interface DeletedFinalStateUnknown<T> {
  key: string;
  obj: T;
  deletedFinalStateUnknown: true;
}

/** True when a delete notification carries a tombstone instead of the object. */
export function isTombstone<T>(v: T | DeletedFinalStateUnknown<T>): v is DeletedFinalStateUnknown<T> {
  return typeof v === 'object' && v !== null && (v as { deletedFinalStateUnknown?: unknown }).deletedFinalStateUnknown === true;
}

/** The cache key of an object: `namespace/name`, or `name` when it has no namespace (cache.MetaNamespaceKeyFunc). */
export function objectKey(obj: ObjectLike): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a cache key into namespace ("" for cluster-scoped) and name (cache.SplitMetaNamespaceKey). */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** A keyed object store with named indexes. */
export class Indexer<T extends ObjectLike = ObjectLike> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(opts: { indexers?: Record<string, IndexFunc<T>> } = {}) {
    this.indexers.set(namespaceIndex, (o) => [o.metadata?.namespace ?? '']);
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) this.indexers.set(name, fn);
    for (const name of this.indexers.keys()) this.indices.set(name, new Map());
  }

  /** Adds more indexes; existing objects are indexed at once. Throws if a name is taken. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.has(name)) throw new Error(`indexer conflict: ${name}`);
      this.indexers.set(name, fn);
      const idx = new Map<string, Set<string>>();
      this.indices.set(name, idx);
      for (const [key, obj] of this.items) addToIndex(idx, fn(obj), key);
    }
  }

  /** True when an index of that name exists. */
  hasIndex(name: string): boolean {
    return this.indexers.has(name);
  }

  /** Inserts or replaces the object under its key. */
  add(obj: T): void {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    this.reindex(key, old, obj);
  }

  /** Same as add (the cache does not distinguish). */
  update(obj: T): void {
    this.add(obj);
  }

  /** Removes the object with the same key, if present. */
  delete(obj: T): void {
    this.deleteKey(objectKey(obj));
  }

  /** Removes the object under `key`, if present. */
  deleteKey(key: string): void {
    const old = this.items.get(key);
    if (old === undefined) return;
    this.items.delete(key);
    this.reindex(key, old, undefined);
  }

  /** Replaces the whole contents (after a list). */
  replace(objs: T[]): void {
    this.items.clear();
    for (const idx of this.indices.values()) idx.clear();
    for (const o of objs) this.add(o);
  }

  /** The object under `key`, or undefined. */
  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  /** Every object, in no particular order. */
  list(): T[] {
    return [...this.items.values()];
  }

  /** Every key. */
  listKeys(): string[] {
    return [...this.items.keys()];
  }

  /** Number of objects. */
  size(): number {
    return this.items.size;
  }

  /** The objects whose index `indexName` contains `value`. Throws for an unknown index. */
  byIndex(indexName: string, value: string): T[] {
    const out: T[] = [];
    for (const key of this.indexKeys(indexName, value)) {
      const o = this.items.get(key);
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  /** The keys whose index `indexName` contains `value`. Throws for an unknown index. */
  indexKeys(indexName: string, value: string): string[] {
    const idx = this.indices.get(indexName);
    if (!idx) throw new Error(`index with name ${indexName} does not exist`);
    return [...(idx.get(value) ?? [])];
  }

  /** The objects sharing any index value with `obj` in index `indexName` (cache.Indexer.Index). */
  index(indexName: string, obj: T): T[] {
    const fn = this.indexers.get(indexName);
    if (!fn) throw new Error(`index with name ${indexName} does not exist`);
    const keys = new Set<string>();
    for (const v of fn(obj)) for (const k of this.indexKeys(indexName, v)) keys.add(k);
    return [...keys].map((k) => this.items.get(k)).filter((o): o is T => o !== undefined);
  }

  private reindex(key: string, old: T | undefined, obj: T | undefined): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name);
      if (!idx) continue;
      if (old !== undefined) {
        for (const v of fn(old)) {
          const set = idx.get(v);
          if (!set) continue;
          set.delete(key);
          if (set.size === 0) idx.delete(v);
        }
      }
      if (obj !== undefined) addToIndex(idx, fn(obj), key);
    }
  }
}

function addToIndex(idx: Map<string, Set<string>>, values: string[], key: string): void {
  for (const v of values) {
    let set = idx.get(v);
    if (!set) {
      set = new Set();
      idx.set(v, set);
    }
    set.add(key);
  }
}
