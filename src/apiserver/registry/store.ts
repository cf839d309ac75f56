/**
 * The generic registry Store (upstream genericregistry.Store): every kind runs through this one pipeline —
 * defaults → strategy → validation → storage write with compare-and-swap — driven by its ResourceDefinition.
 */
import { cloneJson, deepEqual } from '../../base/json-value.ts';
import { randomUUID } from 'node:crypto';
import type { ResourceDefinition } from '../../api/resource.ts';
import { storageKey, storagePrefix } from '../../api/resource.ts';
import type { ObjectMeta, StoredObject, KubeObject } from '../../api/meta/types.ts';
import { apiVersionOf } from '../../api/meta/types.ts';
import type { FieldError } from '../../api/meta/field-errors.ts';
import { fieldError } from '../../api/meta/field-errors.ts';
import { parseLabelSelector, matchesLabels, SelectorParseError } from '../../api/meta/labels.ts';
import type { LabelSelector } from '../../api/meta/labels.ts';
import { parseFieldSelector, matchesFields } from '../../api/meta/fields.ts';
import type { FieldSelector } from '../../api/meta/fields.ts';
import { rfc3339Now } from '../../api/meta/time.ts';
import type { Storage, KeyValue, WatchEvent } from '../../storage/interface.ts';
import { StorageError, isStorageError } from '../../storage/errors.ts';
import { decodeContinue } from '../../storage/continue-token.ts';
import type { Clock } from '../../base/clock.ts';
import { realClock } from '../../base/clock.ts';
import {
  ApiError, alreadyExists, badRequest, conflict, expired, forbidden, invalid, notFound, statusFromStorageError, timeoutError,
} from '../errors.ts';
import { canonicalKeyOrder, decodeStored, encodeForStorage, rememberJson, spliceResourceVersion, storedBytes, storedJsonText } from '../codec.ts';
import { WatchCache, cachedFromBytes } from '../watch-cache.ts';
import { updateManagedFields } from '../patch/index.ts';
import type { CachedObject } from '../watch-cache.ts';

/** Parsed list options (upstream metav1.ListOptions). */
export interface ListParams {
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/** The result of a list: objects in key order, the list's resourceVersion and paging state. */
export interface ListOutcome {
  items: CachedObject[];
  resourceVersion: number;
  continue?: string;
  remainingItemCount?: number;
}

/** Options shared by writes. */
export interface WriteParams {
  dryRun?: boolean;
  /** The manager recorded in managedFields for this write (operation Update). */
  fieldManager?: string;
  /** The caller (server-side apply) has already recorded managedFields. */
  managedFieldsDone?: boolean;
}

/** DeleteOptions as the API receives them. */
export interface DeleteParams extends WriteParams {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** What the namespace lifecycle check needs to know about a namespace. */
export type NamespaceLookup = (name: string) => Promise<{ phase: string } | null>;

/** Kind-specific steps around the generic pipeline (upstream's BeginCreate/BeginUpdate/AfterDelete). */
export interface StoreHooks {
  /** After validation on create; may fill allocated values. Returns an undo run when the write then fails. */
  beforeCreate?(obj: StoredObject, opts: { dryRun: boolean }): Promise<(() => Promise<void>) | undefined>;
  /** Before validation on update (not for status or system updates). Returns an undo run when the write fails. */
  beforeUpdate?(obj: StoredObject, old: StoredObject, opts: { dryRun: boolean }): Promise<(() => Promise<void>) | undefined>;
  /** After the object was removed from storage. */
  afterDelete?(obj: StoredObject): Promise<void>;
}

/**
 * Transforms values between the registry and storage (upstream value.Transformer), e.g. encryption at rest. The
 * storage key is passed as authenticated data so that a value cannot be moved to another key.
 */
export interface ValueTransformer {
  /** The bytes to store for `data` under `key`. */
  toStorage(data: Uint8Array, key: string): Uint8Array;
  /** The original bytes; `stale` when they were not written the way toStorage writes now (a re-write migrates them). */
  fromStorage(data: Uint8Array, key: string): { data: Uint8Array; stale: boolean };
}

/** Values read through a transformer that a write would store differently (old key or provider). */
const staleValues = new WeakSet<KeyValue>();

/**
 * Wraps `storage` so that values of keys with a transformer are transformed on every write and read — get, list,
 * watch events and the `current` of a Conflict — so that the watch cache and the Store only see original bytes.
 * A value that cannot be read back fails with StorageError Corrupt.
 */
export function transformingStorage(storage: Storage, transformerFor: (key: string) => ValueTransformer | undefined): Storage {
  const read = (kv: KeyValue): KeyValue => {
    const t = transformerFor(kv.key);
    if (!t) return kv;
    let out: { data: Uint8Array; stale: boolean };
    try {
      out = t.fromStorage(kv.value, kv.key);
    } catch (e) {
      throw new StorageError('Corrupt', `failed to transform value of ${kv.key} from storage: ${e instanceof Error ? e.message : String(e)}`, { key: kv.key, cause: e });
    }
    const plain = { ...kv, value: out.data };
    if (out.stale) staleValues.add(plain);
    return plain;
  };
  const write = (key: string, value: Uint8Array): Uint8Array => transformerFor(key)?.toStorage(value, key) ?? value;
  const conflictRead = (e: unknown): unknown => {
    if (!isStorageError(e, 'Conflict') || !e.current) return e;
    return new StorageError('Conflict', e.message, { ...(e.key !== undefined ? { key: e.key } : {}), current: read(e.current), cause: e });
  };
  return {
    engine: storage.engine,
    async get(key, opts) {
      const r = await storage.get(key, opts);
      return r.kv ? { kv: read(r.kv), revision: r.revision } : r;
    },
    async list(prefix, opts) {
      const r = await storage.list(prefix, opts);
      return { ...r, kvs: r.kvs.map(read) };
    },
    count: (prefix) => storage.count(prefix),
    async create(key, value, opts) {
      const kv = await storage.create(key, write(key, value), opts);
      return { ...kv, value };
    },
    async update(key, value, opts) {
      try {
        const kv = await storage.update(key, write(key, value), opts);
        return { ...kv, value };
      } catch (e) {
        throw conflictRead(e);
      }
    },
    async delete(key, opts) {
      try {
        const r = await storage.delete(key, opts);
        return { ...r, prevKv: read(r.prevKv) };
      } catch (e) {
        throw conflictRead(e);
      }
    },
    async *watch(prefix, opts): AsyncIterable<WatchEvent> {
      for await (const ev of storage.watch(prefix, opts)) {
        if (ev.type === 'put') yield { ...ev, kv: read(ev.kv), prevKv: ev.prevKv ? read(ev.prevKv) : null };
        else if (ev.type === 'delete') yield { ...ev, prevKv: read(ev.prevKv) };
        else yield ev;
      }
    },
    requestProgress: () => storage.requestProgress?.(),
    currentRevision: () => storage.currentRevision(),
    compactedRevision: () => storage.compactedRevision(),
    compact: (revision) => storage.compact(revision),
    health: () => storage.health(),
    close: () => storage.close(),
  };
}

/** Options of a Store. */
export interface StoreOptions {
  hooks?: StoreHooks;
  storage: Storage;
  /** Transforms this kind's values on their way to and from storage (encryption at rest). */
  transformer?: ValueTransformer;
  clock?: Clock;
  /** How namespaced creates check their namespace (namespace lifecycle admission). */
  namespaceLookup?: NamespaceLookup;
  watchCacheCapacity?: number;
}

/** Kinds whose DELETE answers with the deleted object rather than a Status (upstream ReturnDeletedObject). */
const returnsDeletedObject = new Set(['Pod', 'Service', 'Namespace', 'PersistentVolume', 'PersistentVolumeClaim']);

/**
 * What an update goes through: the main resource (undefined), the status or scale subresource, or a system
 * update (binding, finalize) whose mutation is trusted and skips the strategy and update validation.
 */
export type UpdateSubresource = 'status' | 'scale' | 'binding' | 'finalize';

/** The mutation run by guaranteedUpdate: returns the new object (or the same object for a no-op). */
export type UpdateFn = (current: StoredObject) => StoredObject | Promise<StoredObject>;

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** upstream names.SimpleNameGenerator: prefix plus five random characters (prefix cut to fit 63). */
export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  const max = 63 - 5;
  return (prefix.length > max ? prefix.slice(0, max) : prefix) + suffix;
}

/** The registry of one kind. */
export class Store {
  readonly def: ResourceDefinition;
  readonly cache: WatchCache;
  readonly prefix: string;
  private readonly storage: Storage;
  private readonly clock: Clock;
  private readonly namespaceLookup: NamespaceLookup | undefined;
  private readonly hooks: StoreHooks;
  readonly apiVersion: string;

  constructor(def: ResourceDefinition, opts: StoreOptions) {
    this.def = def;
    const transformer = opts.transformer;
    this.storage = transformer ? transformingStorage(opts.storage, () => transformer) : opts.storage;
    this.clock = opts.clock ?? realClock;
    this.namespaceLookup = opts.namespaceLookup;
    this.hooks = opts.hooks ?? {};
    this.prefix = storagePrefix(def);
    this.apiVersion = apiVersionOf(def.group, def.version);
    this.cache = new WatchCache({
      storage: this.storage, prefix: this.prefix, namespaced: def.namespaced,
      ...(opts.watchCacheCapacity ? { capacity: opts.watchCacheCapacity } : {}),
    });
  }

  /** The storage key of an object of this kind. */
  key(namespace: string, name: string): string {
    return storageKey(this.def, namespace, name);
  }

  private now(): string {
    return rfc3339Now(this.clock);
  }

  private fromKv(kv: KeyValue): StoredObject {
    const obj = decodeStored(kv.value, kv.modRevision);
    obj.apiVersion = this.apiVersion;
    obj.kind = this.def.kind;
    return obj;
  }

  // ---------------------------------------------------------------- reads

  /** The storage's latest revision. */
  currentRevision(): Promise<number> {
    return this.storage.currentRevision();
  }

  /** Reads one object from storage (a consistent read). */
  async get(namespace: string, name: string): Promise<StoredObject> {
    const { kv } = await this.storage.get(this.key(namespace, name));
    if (!kv) throw notFound(this.def, name);
    return this.fromKv(kv);
  }

  /**
   * Reads one object as GET does, from the watch cache when it can answer with upstream's semantics: resourceVersion
   * "0" takes what the cache holds; unset waits until the cache has caught up with the storage's current revision
   * (a consistent read, as upstream's consistent reads from cache); a given revision waits for at least that one.
   * Falls back to a storage read while the cache is not synced or does not catch up in time.
   */
  async getForRead(namespace: string, name: string, resourceVersion?: string): Promise<CachedObject> {
    const key = this.key(namespace, name);
    if (this.cache.synced) {
      const rv = resourceVersion === '0' ? 0 : resourceVersion ? Number(resourceVersion) : await this.storage.currentRevision();
      if (Number.isFinite(rv) && (this.cache.resourceVersion >= rv || await this.cache.waitUntilFresh(rv, { timeoutMs: 1000 }))) {
        const hit = this.cache.get(key);
        if (!hit) throw notFound(this.def, name);
        return hit;
      }
    }
    const { kv } = await this.storage.get(key);
    if (!kv) throw notFound(this.def, name);
    return cachedFromBytes({ key, value: kv.value, rv: kv.modRevision, prefix: this.prefix, namespaced: this.def.namespaced });
  }

  /** Reads one object from the cache or storage; null when it does not exist (no error is built on the miss). */
  async lookup(namespace: string, name: string): Promise<StoredObject | null> {
    const key = this.key(namespace, name);
    const hit = this.cache.get(key);
    if (hit) return hit.obj;
    const { kv } = await this.storage.get(key);
    return kv ? this.fromKv(kv) : null;
  }

  /** The field getter for field selectors: metadata.name, metadata.namespace and the kind's own fields. */
  fieldGetter(obj: StoredObject): (field: string) => string | undefined {
    return (field) => {
      if (field === 'metadata.name') return obj.metadata.name ?? '';
      if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
      const f = this.def.fieldSelectors?.[field];
      return f ? (f(obj) ?? '') : undefined;
    };
  }

  /** Checks that a field selector only names supported fields (400 otherwise). */
  checkFieldSelector(sel: FieldSelector | undefined): void {
    for (const r of sel ?? []) {
      if (r.field !== 'metadata.name' && r.field !== 'metadata.namespace' && !this.def.fieldSelectors?.[r.field]) {
        throw badRequest(`field label not supported: ${r.field}`);
      }
    }
  }

  /** A predicate over cached objects for the selectors. */
  predicate(params: Pick<ListParams, 'labelSelector' | 'fieldSelector'>): ((o: CachedObject) => boolean) | undefined {
    const ls = params.labelSelector;
    const fs = params.fieldSelector;
    if ((!ls || ls.length === 0) && (!fs || fs.length === 0)) return undefined;
    return (o) => {
      if (ls && ls.length > 0 && !matchesLabels(ls, o.obj.metadata.labels)) return false;
      if (fs && fs.length > 0 && !matchesFields(fs, this.fieldGetter(o.obj))) return false;
      return true;
    };
  }

  /**
   * Lists objects with upstream's resourceVersion semantics: unset = consistent (cache after catching up with
   * storage), "0" = any (cache as is), N = not older than N, Exact = from storage at N; limit/continue page
   * through one storage snapshot.
   */
  async list(namespace: string, params: ListParams): Promise<ListOutcome> {
    this.checkFieldSelector(params.fieldSelector);
    const filter = this.predicate(params);
    const rvParam = params.resourceVersion ?? '';
    const match = params.resourceVersionMatch ?? '';
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') {
      throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    }
    if (match !== '' && rvParam === '') {
      throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    }
    let rvNum = 0;
    if (rvParam !== '') {
      rvNum = Number(rvParam);
      if (!Number.isInteger(rvNum) || rvNum < 0) throw badRequest(`invalid resource version: "${rvParam}"`);
    }
    if (params.continue) {
      if (rvParam !== '' && rvParam !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      return this.listFromStorage(namespace, params, filter);
    }
    const paged = params.limit !== undefined && params.limit > 0;
    if (match === 'Exact' || (paged && rvParam === '')) {
      return this.listFromStorage(namespace, params, filter);
    }
    // Served from the watch cache.
    let atLeast = rvNum;
    if (rvParam === '') atLeast = await this.storage.currentRevision();
    if (atLeast > 0 && !(await this.cache.waitUntilFresh(atLeast, { timeoutMs: 3000 }))) {
      throw timeoutError(`Too large resource version: ${atLeast}, current: ${this.cache.resourceVersion}`);
    }
    await this.cache.ready;
    const items = this.cache.list(filter, this.def.namespaced ? namespace : undefined);
    return { items, resourceVersion: this.cache.resourceVersion };
  }

  private async listFromStorage(namespace: string, params: ListParams, filter: ((o: CachedObject) => boolean) | undefined): Promise<ListOutcome> {
    const prefix = this.def.namespaced && namespace ? `${this.prefix}${namespace}/` : this.prefix;
    const limit = params.limit && params.limit > 0 ? params.limit : 0;
    let revision = 0;
    if (params.resourceVersionMatch === 'Exact') revision = Number(params.resourceVersion);
    let cont = params.continue;
    if (cont) {
      try {
        decodeContinue(cont);
      } catch {
        throw badRequest('continue key is not valid');
      }
    }
    const items: CachedObject[] = [];
    let outRevision = 0;
    let nextContinue: string | undefined;
    let remaining: number | undefined;
    try {
      for (;;) {
        const want = limit > 0 ? Math.max(limit - items.length, filter ? limit : 0) : 0;
        const page = await this.storage.list(prefix, {
          ...(want > 0 ? { limit: want } : {}),
          ...(cont ? { continue: cont } : {}),
          ...(revision > 0 && !cont ? { revision } : {}),
        });
        outRevision = page.revision;
        for (const kv of page.kvs) {
          const o = cachedFromBytes({ key: kv.key, value: kv.value, rv: kv.modRevision, prefix: this.prefix, namespaced: this.def.namespaced });
          if (filter && !filter(o)) continue;
          items.push(o);
        }
        nextContinue = page.continue;
        remaining = page.remaining;
        if (!nextContinue || limit === 0 || items.length >= limit) break;
        cont = nextContinue;
      }
    } catch (e) {
      if (isStorageError(e, 'Compacted')) {
        if (params.continue) {
          throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
        }
        throw expired(`The resourceVersion for the provided list is too old.`);
      }
      if (isStorageError(e, 'Invalid')) throw badRequest(e.message);
      throw e;
    }
    const out: ListOutcome = { items, resourceVersion: outRevision };
    if (nextContinue) {
      out.continue = nextContinue;
      if (!filter && remaining !== undefined) out.remainingItemCount = remaining;
    }
    return out;
  }

  // ---------------------------------------------------------------- writes

  private async checkNamespace(namespace: string): Promise<void> {
    if (!this.def.namespaced || !this.namespaceLookup) return;
    const ns = await this.namespaceLookup(namespace);
    if (!ns) {
      throw new ApiError({
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 404, reason: 'NotFound',
        message: `namespaces "${namespace}" not found`, details: { name: namespace, kind: 'namespaces' },
      });
    }
    if (ns.phase === 'Terminating') {
      throw forbidden(
        `${this.def.plural} "${''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { kind: this.def.plural, ...(this.def.group ? { group: this.def.group } : {}), causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] },
      );
    }
  }

  private validateCreate(obj: StoredObject, namespace: string): void {
    const errs: FieldError[] = this.def.validate ? this.def.validate(obj, { namespace }) : [];
    if (errs.length > 0) throw invalid(this.def, obj.metadata.name ?? obj.metadata.generateName ?? '', errs);
  }

  private validateUpdate(obj: StoredObject, old: StoredObject, namespace: string): void {
    const errs: FieldError[] = [];
    if (this.def.validate) errs.push(...this.def.validate(obj, { namespace }));
    if (this.def.validateUpdate) errs.push(...this.def.validateUpdate(obj, old, { namespace }));
    if (errs.length > 0) throw invalid(this.def, obj.metadata.name ?? '', errs);
  }

  /** Fills identity, namespace and kind of an incoming object and checks them against the request. */
  private admitIdentity(body: KubeObject, namespace: string, name?: string): StoredObject {
    const obj = body as StoredObject;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) throw badRequest('metadata must be an object');
    if (obj.apiVersion !== undefined && obj.apiVersion !== this.apiVersion) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${this.apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== this.def.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${this.def.kind})`);
    }
    obj.apiVersion = this.apiVersion;
    obj.kind = this.def.kind;
    const m = obj.metadata;
    if (this.def.namespaced) {
      if (m.namespace && m.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = namespace;
    } else if (m.namespace) {
      delete m.namespace;
    }
    if (name !== undefined) {
      if (m.name && m.name !== name) {
        throw badRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
      }
      m.name = name;
    }
    return obj;
  }

  /** Creates an object (POST). */
  async create(namespace: string, body: KubeObject, params: WriteParams = {}): Promise<StoredObject> {
    const obj = this.admitIdentity(body, namespace);
    const m = obj.metadata;
    if (m.resourceVersion) {
      throw invalid(this.def, m.name ?? '', [fieldError.invalid('metadata.resourceVersion', m.resourceVersion, 'must not be set on objects to be created')]);
    }
    if (!m.name && m.generateName) m.name = generateName(m.generateName);
    this.prepareCreateMeta(m);
    this.def.defaults?.(obj);
    this.def.strategy?.prepareForCreate?.(obj);
    if (this.def.strategy?.generation) m.generation = 1;
    this.validateCreate(obj, namespace);
    await this.checkNamespace(namespace);
    const name = m.name ?? '';
    const stored = canonicalKeyOrder(this.recordManagedFields(null, obj, params, undefined));
    if (params.dryRun) {
      const { kv } = await this.storage.get(this.key(namespace, name));
      if (kv) throw alreadyExists(this.def, name);
      await this.hooks.beforeCreate?.(stored, { dryRun: true });
      return stored;
    }
    const undo = await this.hooks.beforeCreate?.(stored, { dryRun: false });
    try {
      const text = storedJsonText(stored);
      const kv = await this.storage.create(this.key(namespace, name), storedBytes(text));
      stored.metadata.resourceVersion = String(kv.modRevision);
      // The answer's JSON is the stored JSON with the resourceVersion spliced in: one encode per create.
      const json = spliceResourceVersion(text, kv.modRevision);
      if (json !== null) rememberJson(stored, json);
      return stored;
    } catch (e) {
      await undo?.();
      throw statusFromStorageError(e, this.def, name);
    }
  }

  private prepareCreateMeta(m: ObjectMeta): void {
    m.uid = randomUUID();
    m.creationTimestamp = this.now();
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    if (m.generation !== undefined) delete m.generation;
  }

  /**
   * Replaces an object (PUT). With metadata.resourceVersion set, it must match the stored one (409 otherwise);
   * without it the update is unconditional. `subresource: 'status'` changes only what the status strategy allows.
   */
  async update(namespace: string, name: string, body: KubeObject, params: WriteParams & { subresource?: 'status' } = {}): Promise<StoredObject> {
    const incoming = this.admitIdentity(body, namespace, name);
    const wantRv = incoming.metadata.resourceVersion;
    return this.guaranteedUpdate(namespace, name, (current) => {
      if (wantRv && wantRv !== current.metadata.resourceVersion) throw conflict(this.def, name);
      return cloneJson(incoming);
    }, { ...params, ...(params.subresource ? { subresource: params.subresource } : {}) });
  }

  /**
   * The read-mutate-write loop (upstream GuaranteedUpdate): reads the current object, applies `mutate`, runs the
   * update pipeline and writes with compare-and-swap, retrying on a conflict with the fresh object.
   */
  async guaranteedUpdate(
    namespace: string,
    name: string,
    mutate: UpdateFn,
    params: WriteParams & { subresource?: UpdateSubresource } = {},
  ): Promise<StoredObject> {
    const key = this.key(namespace, name);
    let { kv } = await this.storage.get(key);
    for (let attempt = 0; ; attempt++) {
      if (!kv) throw notFound(this.def, name);
      const current = this.fromKv(kv);
      const next = await mutate(cloneJson(current));
      const obj = this.prepareUpdate(next, current, namespace, name, params.subresource);
      let undo: (() => Promise<void>) | undefined;
      if (!params.subresource || params.subresource === 'scale') {
        undo = await this.hooks.beforeUpdate?.(obj, current, { dryRun: params.dryRun === true });
      }
      if (params.subresource !== 'binding' && params.subresource !== 'finalize') {
        try {
          this.validateUpdate(obj, current, namespace);
        } catch (e) {
          await undo?.();
          throw e;
        }
      }
      const recorded = this.recordManagedFields(current, obj, params, params.subresource);
      if (recorded !== obj) {
        Object.assign(obj, recorded);
      }
      // No-op updates write nothing, as upstream — unless the stored value is stale (an old encryption key), so
      // that re-writing an unchanged object migrates it.
      if (!staleValues.has(kv) && (obj === current || deepEqual(withoutRv(obj), withoutRv(current)))) {
        return current;
      }
      // An object being deleted whose finalizers are gone (and whose grace is over) goes away now.
      if (obj.metadata.deletionTimestamp && !this.hasPendingFinalizers(obj) && (obj.metadata.deletionGracePeriodSeconds ?? 0) === 0) {
        if (params.dryRun) return obj;
        try {
          await this.storage.delete(key, { expectedModRevision: kv.modRevision });
          await this.hooks.afterDelete?.(obj);
          return obj;
        } catch (e) {
          await undo?.();
          if (isStorageError(e, 'Conflict') && attempt < 20) {
            kv = e.current ?? null;
            continue;
          }
          throw statusFromStorageError(e, this.def, name);
        }
      }
      if (params.dryRun) return obj;
      try {
        const text = storedJsonText(canonicalKeyOrder(obj));
        const written = await this.storage.update(key, storedBytes(text), { expectedModRevision: kv.modRevision });
        obj.metadata.resourceVersion = String(written.modRevision);
        const json = spliceResourceVersion(text, written.modRevision);
        if (json !== null) rememberJson(obj, json);
        return obj;
      } catch (e) {
        await undo?.();
        if (isStorageError(e, 'Conflict') && attempt < 20) {
          kv = e.current ?? null;
          continue;
        }
        throw statusFromStorageError(e, this.def, name);
      }
    }
  }

  /** The update half of the pipeline before validation: identity kept, strategy, defaults, generation. */
  private prepareUpdate(next: StoredObject, current: StoredObject, namespace: string, name: string, subresource?: UpdateSubresource): StoredObject {
    const obj = this.admitIdentity(next, namespace, name);
    const m = obj.metadata;
    const cm = current.metadata;
    // System fields a client cannot change.
    m.uid = cm.uid;
    m.creationTimestamp = cm.creationTimestamp;
    if (cm.generation !== undefined) m.generation = cm.generation;
    else delete m.generation;
    if (cm.deletionTimestamp) m.deletionTimestamp = cm.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (cm.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
    else delete m.deletionGracePeriodSeconds;
    m.resourceVersion = cm.resourceVersion;
    if (cm.deletionTimestamp) {
      const old = new Set(cm.finalizers ?? []);
      const added = (m.finalizers ?? []).filter((f) => !old.has(f));
      if (added.length > 0) {
        throw invalid(this.def, name, [fieldError.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`)]);
      }
    }
    if (subresource === 'binding' || subresource === 'finalize') return obj;
    this.def.defaults?.(obj);
    if (subresource === 'status') {
      this.def.strategy?.prepareForStatusUpdate?.(obj, current);
    } else {
      this.def.strategy?.prepareForUpdate?.(obj, current);
      if (this.def.strategy?.generation && !deepEqual(obj.spec, current.spec)) {
        m.generation = (cm.generation ?? 1) + 1;
      }
    }
    return obj;
  }

  // ---------------------------------------------------------------- delete

  /**
   * Deletes an object (DELETE) with upstream semantics: preconditions, graceful deletion (kinds with a
   * gracePeriod strategy), finalizers and the orphan/foreground propagation finalizers hold the object with a
   * deletionTimestamp; otherwise it is removed at once. Returns the object (or null when a Status is due).
   */
  async delete(namespace: string, name: string, params: DeleteParams = {}): Promise<{ obj: StoredObject; deleted: boolean; returnObject: boolean }> {
    const key = this.key(namespace, name);
    let { kv } = await this.storage.get(key);
    for (let attempt = 0; ; attempt++) {
      if (!kv) throw notFound(this.def, name);
      const current = this.fromKv(kv);
      const m = current.metadata;
      const pre = params.preconditions;
      if (pre?.uid && pre.uid !== m.uid) {
        throw conflict(this.def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${m.uid ?? ''}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== m.resourceVersion) {
        throw conflict(this.def, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${m.resourceVersion ?? ''}`);
      }
      const hold = this.deletionHold(current, params);
      const returnObject = returnsDeletedObject.has(this.def.kind);
      if (hold) {
        if (params.dryRun) return { obj: hold, deleted: false, returnObject: true };
        if (hold === current) return { obj: current, deleted: false, returnObject: true };
        try {
          const written = await this.storage.update(key, encodeForStorage(hold), { expectedModRevision: kv.modRevision });
          hold.metadata.resourceVersion = String(written.modRevision);
          return { obj: hold, deleted: false, returnObject: true };
        } catch (e) {
          if (isStorageError(e, 'Conflict') && attempt < 20) {
            kv = e.current ?? null;
            continue;
          }
          throw statusFromStorageError(e, this.def, name);
        }
      }
      if (params.dryRun) return { obj: current, deleted: true, returnObject };
      try {
        const { revision } = await this.storage.delete(key, { expectedModRevision: kv.modRevision });
        current.metadata.resourceVersion = String(revision);
        await this.hooks.afterDelete?.(current);
        return { obj: current, deleted: true, returnObject };
      } catch (e) {
        if (isStorageError(e, 'Conflict') && attempt < 20) {
          kv = e.current ?? null;
          continue;
        }
        throw statusFromStorageError(e, this.def, name);
      }
    }
  }

  /**
   * Records field ownership for an ordinary write (operation Update) by the request's field manager. System writes
   * without a manager (binding, finalize) and server-side apply (already recorded) are left as they are.
   */
  private recordManagedFields(old: StoredObject | null, obj: StoredObject, params: WriteParams, subresource: UpdateSubresource | undefined): StoredObject {
    if (params.managedFieldsDone || !params.fieldManager || subresource === 'binding' || subresource === 'finalize') return obj;
    const gvk = { group: this.def.group, version: this.def.version, kind: this.def.kind };
    const next = updateManagedFields(old, obj, {
      gvk, manager: params.fieldManager, now: this.clock.now(),
      ...(subresource === 'status' || subresource === 'scale' ? { subresource } : {}),
    }) as StoredObject;
    return next;
  }

  /** Metadata finalizers, and for namespaces also spec.finalizers (upstream's namespace REST keeps both). */
  private hasPendingFinalizers(obj: StoredObject): boolean {
    if ((obj.metadata.finalizers ?? []).length > 0) return true;
    if (this.isNamespace) return ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length > 0;
    return false;
  }

  private get isNamespace(): boolean {
    return this.def.group === '' && this.def.kind === 'Namespace';
  }

  /**
   * Decides whether a delete only marks the object (returns the marked object, or `current` when nothing changes)
   * or removes it (returns null).
   */
  private deletionHold(current: StoredObject, params: DeleteParams): StoredObject | null {
    const m = current.metadata;
    const obj = cloneJson(current);
    const om = obj.metadata;
    let finalizers = [...(om.finalizers ?? [])];
    const policy = params.propagationPolicy;
    if (policy === 'Orphan' && !finalizers.includes('orphan')) {
      finalizers = finalizers.filter((f) => f !== 'foregroundDeletion');
      finalizers.push('orphan');
    } else if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) {
      finalizers = finalizers.filter((f) => f !== 'orphan');
      finalizers.push('foregroundDeletion');
    } else if (policy === 'Background') {
      finalizers = finalizers.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
    }
    const grace = this.def.strategy?.gracePeriod ? this.def.strategy.gracePeriod(current, params.gracePeriodSeconds) : 0;
    if (m.deletionTimestamp) {
      // Already being deleted: a second delete may only shorten the grace period (or complete the deletion).
      const currentGrace = m.deletionGracePeriodSeconds ?? 0;
      const nsPending = this.isNamespace && ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length > 0;
      if (finalizers.length === 0 && !nsPending && (grace === 0 || params.gracePeriodSeconds === 0)) return null;
      if (grace < currentGrace) {
        om.deletionGracePeriodSeconds = grace;
        om.deletionTimestamp = new Date(this.clock.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      }
      if (finalizers.length > 0) om.finalizers = finalizers;
      else delete om.finalizers;
      return deepEqual(om, m) ? current : obj;
    }
    const nsFinalizers = this.isNamespace ? ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [];
    if (finalizers.length === 0 && nsFinalizers.length === 0 && grace === 0) return null;
    if (this.isNamespace) obj.status = { ...(obj.status as object | undefined), phase: 'Terminating' };
    om.deletionTimestamp = new Date(this.clock.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    om.deletionGracePeriodSeconds = grace;
    if (finalizers.length > 0) om.finalizers = finalizers;
    else delete om.finalizers;
    if (om.generation !== undefined) om.generation = om.generation + 1;
    return obj;
  }

  /** Lists and deletes each matching object (deletecollection); returns the deleted or marked objects. */
  async deleteCollection(namespace: string, list: ListParams, params: DeleteParams): Promise<StoredObject[]> {
    const { items } = await this.list(namespace, list);
    const out: StoredObject[] = [];
    for (const it of items) {
      try {
        const r = await this.delete(it.namespace, it.name, params);
        out.push(r.obj);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) continue;
        throw e;
      }
    }
    return out;
  }
}

function withoutRv(o: StoredObject): unknown {
  return { ...o, metadata: { ...o.metadata, resourceVersion: undefined } };
}

/** Parses label and field selector query strings into ListParams parts (400 on bad syntax). */
export function parseSelectors(q: { labelSelector?: string | null; fieldSelector?: string | null }): Pick<ListParams, 'labelSelector' | 'fieldSelector'> {
  const out: Pick<ListParams, 'labelSelector' | 'fieldSelector'> = {};
  try {
    if (q.labelSelector) out.labelSelector = parseLabelSelector(q.labelSelector);
  } catch (e) {
    throw badRequest(`unable to parse requirement: ${e instanceof SelectorParseError ? e.message : String(e)}`);
  }
  try {
    if (q.fieldSelector) out.fieldSelector = parseFieldSelector(q.fieldSelector);
  } catch (e) {
    throw badRequest(`invalid field selector: ${e instanceof Error ? e.message : String(e)}`);
  }
  return out;
}
