/**
 * The watch cache of one resource (upstream's cacher): the current objects plus a window of recent events, fed by
 * one storage watch. LIST and WATCH are served from here; each object and each event is encoded once and the
 * same bytes go to every watcher.
 */
import type { Storage, WatchEvent } from '../storage/interface.ts';
import { isStorageError } from '../storage/errors.ts';
import type { StoredObject } from '../api/meta/types.ts';
import { logger } from '../base/log.ts';
import { sleep, isAbortError } from '../base/clock.ts';
import { decodeStored, spliceResourceVersion, storedText } from './codec.ts';

const log = logger('watch-cache');

/** One object in the cache, with its encoding. */
export interface CachedObject {
  key: string;
  namespace: string;
  name: string;
  rv: number;
  readonly obj: StoredObject;
  /** JSON text of `obj` (with metadata.resourceVersion set). */
  readonly json: string;
}

/** One change, as the watch API presents it before per-watcher filtering. */
export interface CacheEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  /** The new object (for DELETED: the last state with resourceVersion set to the delete's revision). */
  cur: CachedObject;
  /** The previous object (MODIFIED and DELETED), with resourceVersion of the event (as upstream). */
  prev: CachedObject | null;
  /** Encodings of `{"type":T,"object":…}\n`, filled on first use (see encodedEvent). */
  encoded?: Record<string, Buffer>;
}

/** A consumer of cache events. `onEvent` returns false when it can no longer keep up (it is then dropped). */
export interface CacheListener {
  onEvent(ev: CacheEvent): boolean;
  onProgress(rv: number): void;
  /** The cache lost continuity (re-list): the listener must end its watch. */
  onReset(): void;
}

/** Encodes a watch event line once per (event, type, object) and shares the bytes across watchers. */
export function encodedEvent(ev: CacheEvent, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: CachedObject): Buffer {
  const k = obj === ev.cur ? type : `${type}-prev`;
  const cache = (ev.encoded ??= {});
  return (cache[k] ??= Buffer.from(`{"type":"${type}","object":${obj.json}}\n`));
}

function parseKey(key: string, prefix: string, namespaced: boolean): { namespace: string; name: string } {
  const rest = key.slice(prefix.length);
  if (!namespaced) return { namespace: '', name: rest };
  const i = rest.indexOf('/');
  return i < 0 ? { namespace: '', name: rest } : { namespace: rest.slice(0, i), name: rest.slice(i + 1) };
}

/**
 * A cached object decoded on first use: most objects written are never read back through the cache before they
 * change again (a create burst with no watchers), so the JSON parse and re-encode happen only when a watcher, a
 * LIST or a GET needs them, and then once for all of them.
 */
class LazyCachedObject implements CachedObject {
  private bytes: Uint8Array | null;
  private decoded: StoredObject | undefined;
  private encoded: string | undefined;
  constructor(readonly key: string, readonly namespace: string, readonly name: string, readonly rv: number, value: Uint8Array) {
    this.bytes = value;
  }

  get obj(): StoredObject {
    if (this.decoded === undefined) {
      this.decoded = decodeStored(this.bytes!, this.rv);
      this.bytes = null;
    }
    return this.decoded;
  }

  get json(): string {
    if (this.encoded === undefined && this.bytes !== null) {
      // Stored JSON in canonical key order takes the resourceVersion by splicing: no parse, no re-encode.
      this.encoded = spliceResourceVersion(storedText(this.bytes), this.rv) ?? undefined;
    }
    return (this.encoded ??= JSON.stringify(this.obj));
  }
}

/** Builds a CachedObject from stored bytes at a revision; `eager` decodes now (throwing on undecodable bytes). */
export function cachedFromBytes(opts: { key: string; value: Uint8Array; rv: number; prefix: string; namespaced: boolean; eager?: boolean }): CachedObject {
  const { namespace, name } = parseKey(opts.key, opts.prefix, opts.namespaced);
  const c = new LazyCachedObject(opts.key, namespace, name, opts.rv, opts.value);
  if (opts.eager === true) void c.obj;
  return c;
}

/** An object's last state presented at a later revision (MODIFIED's previous object, DELETED's object), built on use. */
class AtRevision implements CachedObject {
  private decoded: StoredObject | undefined;
  private encoded: string | undefined;
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  constructor(private readonly base: CachedObject, readonly rv: number) {
    this.key = base.key;
    this.namespace = base.namespace;
    this.name = base.name;
  }

  get obj(): StoredObject {
    const o = this.base.obj;
    return (this.decoded ??= { ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv) } });
  }

  get json(): string {
    return (this.encoded ??= JSON.stringify(this.obj));
  }
}

function withRv(c: CachedObject, rv: number): CachedObject {
  return c.rv === rv ? c : new AtRevision(c, rv);
}

/** Options of a watch cache. */
export interface WatchCacheOptions {
  storage: Storage;
  /** Storage key prefix of the resource (/registry/pods/). */
  prefix: string;
  namespaced: boolean;
  /** How many events to keep for watches that resume from an older resourceVersion. */
  capacity?: number;
  /** Progress (bookmark) interval requested from storage, ms. */
  progressIntervalMs?: number;
}

/** The watch cache of one resource. Start with `start(signal)`; `ready` resolves after the first list. */
export class WatchCache {
  private readonly storage: Storage;
  private readonly prefix: string;
  private readonly namespaced: boolean;
  private readonly capacity: number;
  private readonly progressIntervalMs: number;
  private objects = new Map<string, CachedObject>();
  private sortedKeys: string[] | null = null;
  private events: CacheEvent[] = [];
  /** Revision after which the event window is complete: a watch may resume from any rv >= windowStart. */
  private windowStart = 0;
  private rv = 0;
  private listeners = new Set<CacheListener>();
  private waiters: { rv: number; resolve: () => void }[] = [];
  /** A progress request is out (waitUntilFresh) and the cache has not moved since. */
  private progressAsked = false;
  private readyResolve!: () => void;
  /** Resolves once the initial list is loaded. */
  readonly ready: Promise<void>;
  private isReady = false;

  constructor(opts: WatchCacheOptions) {
    this.storage = opts.storage;
    this.prefix = opts.prefix;
    this.namespaced = opts.namespaced;
    this.capacity = opts.capacity ?? 10_000;
    this.progressIntervalMs = opts.progressIntervalMs ?? 1000;
    this.ready = new Promise((r) => (this.readyResolve = r));
  }

  /** The revision the cache is current at. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** True once the first list has loaded. */
  get synced(): boolean {
    return this.isReady;
  }

  /** Runs the list-then-watch loop until the signal fires. */
  async start(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      try {
        await this.relist(signal);
        attempt = 0;
        for await (const ev of this.storage.watch(this.prefix, { fromRevision: this.rv, signal, progressIntervalMs: this.progressIntervalMs })) {
          this.apply(ev);
        }
      } catch (e) {
        if (signal.aborted || isAbortError(e)) break;
        if (isStorageError(e, 'Closed')) break;
        log.warn('watch cache restarting', { prefix: this.prefix, err: e });
        attempt++;
        try {
          await sleep(Math.min(100 * 2 ** attempt, 5000), { signal });
        } catch {
          break;
        }
      }
    }
    for (const l of this.listeners) l.onReset();
    this.listeners.clear();
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const objects = new Map<string, CachedObject>();
    let cont: string | undefined;
    let revision = 0;
    do {
      const page = await this.storage.list(this.prefix, { limit: 5000, ...(cont ? { continue: cont } : {}) });
      revision = page.revision;
      for (const kv of page.kvs) {
        try {
          objects.set(kv.key, cachedFromBytes({ key: kv.key, value: kv.value, rv: kv.modRevision, prefix: this.prefix, namespaced: this.namespaced, eager: true }));
        } catch (e) {
          log.error('undecodable object in storage skipped', { key: kv.key, err: e });
        }
      }
      cont = page.continue;
    } while (cont && !signal.aborted);
    if (this.isReady) {
      // Continuity is lost: end every watcher so that it resumes (or re-lists on 410).
      for (const l of this.listeners) l.onReset();
      this.listeners.clear();
    }
    this.objects = objects;
    this.sortedKeys = null;
    this.events = [];
    this.windowStart = revision;
    this.setRv(revision);
    if (!this.isReady) {
      this.isReady = true;
      this.readyResolve();
    }
  }

  private setRv(rv: number): void {
    if (rv <= this.rv) return;
    this.rv = rv;
    this.progressAsked = false;
    if (this.waiters.length > 0) {
      const due = this.waiters.filter((w) => w.rv <= rv);
      this.waiters = this.waiters.filter((w) => w.rv > rv);
      for (const w of due) w.resolve();
    }
  }

  private apply(ev: WatchEvent): void {
    if (ev.type === 'progress') {
      this.setRv(ev.revision);
      for (const l of this.listeners) l.onProgress(ev.revision);
      return;
    }
    let ce: CacheEvent;
    try {
      if (ev.type === 'put') {
        // Decoded on first use: a watcher with a selector, a GET or a LIST (watchers without one take `json`).
        const cur = cachedFromBytes({ key: ev.kv.key, value: ev.kv.value, rv: ev.kv.modRevision, prefix: this.prefix, namespaced: this.namespaced });
        const old = this.objects.get(ev.kv.key) ?? null;
        if (!old) this.sortedKeys = null;
        this.objects.set(ev.kv.key, cur);
        ce = { type: old ? 'MODIFIED' : 'ADDED', rv: ev.revision, cur, prev: old ? withRv(old, ev.revision) : null };
      } else {
        const old = this.objects.get(ev.key) ??
          cachedFromBytes({ key: ev.key, value: ev.prevKv.value, rv: ev.prevKv.modRevision, prefix: this.prefix, namespaced: this.namespaced, eager: true });
        this.objects.delete(ev.key);
        this.sortedKeys = null;
        const last = withRv(old, ev.revision);
        ce = { type: 'DELETED', rv: ev.revision, cur: last, prev: last };
      }
    } catch (e) {
      log.error('undecodable watch event skipped', { err: e });
      this.setRv(ev.revision);
      return;
    }
    this.events.push(ce);
    if (this.events.length > this.capacity) {
      const drop = this.events.length - this.capacity;
      const dropped = this.events.splice(0, drop);
      this.windowStart = dropped[dropped.length - 1]!.rv;
    }
    this.setRv(ev.revision);
    for (const l of this.listeners) {
      if (!l.onEvent(ce)) {
        this.listeners.delete(l);
        l.onReset();
      }
    }
  }

  /** Waits until the cache has caught up with `rv`; rejects after `timeoutMs`. */
  async waitUntilFresh(rv: number, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    await this.ready;
    if (this.rv >= rv) return true;
    // An idle prefix learns of later revisions only from progress events: ask for one now rather than wait for
    // the periodic one (upstream's consistent reads from cache request a watch progress the same way).
    if (!this.progressAsked) {
      this.progressAsked = true;
      this.storage.requestProgress?.();
    }
    return new Promise<boolean>((resolve) => {
      const entry = { rv, resolve: () => { clearTimeout(t); resolve(true); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        resolve(false);
      }, opts.timeoutMs ?? 3000);
      this.waiters.push(entry);
    });
  }

  /** Every object in key order, filtered. */
  list(filter?: (o: CachedObject) => boolean, namespace?: string): CachedObject[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.objects.keys()].sort();
    const out: CachedObject[] = [];
    for (const k of this.sortedKeys) {
      const o = this.objects.get(k);
      if (!o) continue;
      if (namespace !== undefined && namespace !== '' && o.namespace !== namespace) continue;
      if (filter && !filter(o)) continue;
      out.push(o);
    }
    return out;
  }

  /** One object by key. */
  get(key: string): CachedObject | undefined {
    return this.objects.get(key);
  }

  /** The number of objects held. */
  get size(): number {
    return this.objects.size;
  }

  /**
   * Registers a listener that first receives the events after `fromRv` from the window (synchronously), then live
   * events. Returns null when `fromRv` is older than the window (the caller answers 410 Expired), and the
   * oldest resourceVersion still available.
   */
  subscribe(listener: CacheListener, fromRv: number): { unsubscribe: () => void } | { tooOld: number } {
    if (fromRv < this.windowStart) return { tooOld: this.windowStart + 1 };
    // Binary search for the first event with rv > fromRv.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.rv <= fromRv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.events.length; i++) {
      if (!listener.onEvent(this.events[i]!)) {
        listener.onReset();
        return { unsubscribe: () => undefined };
      }
    }
    this.listeners.add(listener);
    return { unsubscribe: () => { this.listeners.delete(listener); } };
  }

  /** The number of live watch listeners (for /metrics). */
  get watcherCount(): number {
    return this.listeners.size;
  }
}
