/**
 * SharedInformer: client-go's reflector + indexer + shared processor for one resource (optionally one
 * namespace and selectors). It lists, then watches from the list's resourceVersion with bookmarks; after a
 * dropped or timed-out watch it resumes from the last resourceVersion seen; on 410 Gone (an ERROR event or a
 * 410 response) it lists again and reconciles the cache, delivering tombstones for objects that vanished;
 * failures back off exponentially (800 ms → 30 s, reset after 2 minutes of health). Handlers run after the
 * cache is updated, synchronously: keep them short (controllers only enqueue a key).
 */
import type { Status } from 'kubernetes-types/meta/v1.js';
import type { Clock } from '../base/clock.ts';
import { isAbortError, realClock } from '../base/clock.ts';
import { backoffDelay } from '../base/backoff.ts';
import { logger } from '../base/log.ts';
import type { KubeList } from '../api/meta/types.ts';
import { ApiError, isGone } from './api-error.ts';
import type { DeletedFinalStateUnknown, IndexFunc } from './indexer.ts';
import { Indexer, objectKey } from './indexer.ts';
import { Lister } from './lister.ts';
import { clockSleep } from './sleep.ts';
import type { ObjectLike } from './object.ts';
import type { ApiClient, ListOptions, ResourceRef, WatchEvent, WatchOptions } from './resource-client.ts';

const log = logger('informer');

/** Callbacks for cache changes (cache.ResourceEventHandlerFuncs). */
export interface ResourceEventHandler<T> {
  /** A new object; `isInInitialList` is true for objects of the first list (and for replays to late handlers). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  /** A changed object (also called with old === new on resync and for objects still present after a re-list). */
  onUpdate?(oldObj: T, newObj: T): void;
  /** A deleted object, or a tombstone when the deletion was noticed only by a re-list. */
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

/** A registered handler; `remove()` stops its notifications. */
export interface HandlerRegistration {
  remove(): void;
}

/** What an informer needs from a client: ResourceClient satisfies it. */
export interface ListerWatcher<T> {
  list(opts: ListOptions): Promise<KubeList<T>>;
  watch(opts: WatchOptions): AsyncIterable<WatchEvent<T>>;
}

/** Informer options. */
export interface InformerOptions<T> {
  /** Restrict to one namespace (all namespaces when omitted). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Extra cache indexes (byNamespace is built in). */
  indexers?: Record<string, IndexFunc<T>>;
  /** Calls onUpdate(obj, obj) for every cached object this often (0 = never, the default). */
  resyncPeriodMs?: number;
  /** List page size (default 500). */
  pageSize?: number;
  /** Error back-off (default 800 ms → 30 s as client-go's reflector). */
  backoff?: { initialMs: number; maxMs: number };
  clock?: Clock;
  /** Name used in logs (defaults to the resource). */
  name?: string;
}

type Outcome = 'ended' | 'gone' | 'aborted';

/** A shared, indexed cache of one resource kept current by list + watch. */
export class SharedInformer<T extends ObjectLike> {
  /** The cache. Read it through `lister()`; never mutate its objects. */
  readonly indexer: Indexer<T>;
  readonly name: string;
  private readonly client: ListerWatcher<T>;
  private readonly opts: InformerOptions<T>;
  private readonly clock: Clock;
  private readonly handlers = new Set<ResourceEventHandler<T>>();
  private readonly syncWaiters = new Set<(synced: boolean) => void>();
  private cachedLister: Lister<T> | undefined;
  private synced = false;
  private rv = '';
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private attempt = 0;
  private lastBackoffAt = 0;

  constructor(client: ListerWatcher<T>, opts: InformerOptions<T> = {}) {
    this.client = client;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.name = opts.name ?? 'informer';
    this.indexer = new Indexer<T>({ indexers: opts.indexers });
  }

  /** A lister over this informer's cache. */
  lister(): Lister<T> {
    this.cachedLister ??= new Lister(this.indexer);
    return this.cachedLister;
  }

  /** Registers handlers; if the cache already holds objects, they are replayed as adds to this handler. */
  addEventHandler(handler: ResourceEventHandler<T>): HandlerRegistration {
    this.handlers.add(handler);
    for (const obj of this.indexer.list()) this.call(handler, 'onAdd', () => handler.onAdd?.(obj, true));
    return { remove: () => this.handlers.delete(handler) };
  }

  /** Adds cache indexes (allowed at any time; existing objects are indexed at once). */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.indexer.addIndexers(indexers);
  }

  /** True once the first list has been stored and delivered to handlers. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** The resourceVersion the informer would resume watching from. */
  lastSyncResourceVersion(): string {
    return this.rv;
  }

  /** Resolves true when synced, false when `signal` aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        this.syncWaiters.delete(done);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = (): void => done(false);
      this.syncWaiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** True between start and stop. */
  isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Starts list + watch in the background until `signal` aborts or `stop()`; a second call is a no-op. */
  start(signal?: AbortSignal): void {
    if (this.running) return;
    const controller = new AbortController();
    this.controller = controller;
    if (signal) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener('abort', () => controller.abort(), { once: true });
    }
    const loops = [this.run(controller.signal)];
    if (this.opts.resyncPeriodMs) loops.push(this.resyncLoop(this.opts.resyncPeriodMs, controller.signal));
    this.running = Promise.all(loops).then(
      () => undefined,
      (e: unknown) => log.error('informer stopped unexpectedly', { informer: this.name, err: e }),
    );
  }

  /** Stops the informer and resolves once its loops have exited; pending waitForSync calls resolve false. */
  async stop(): Promise<void> {
    this.controller?.abort();
    const r = this.running;
    if (r) await r;
    this.running = undefined;
    for (const w of [...this.syncWaiters]) w(false);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      let phase = needList ? 'list' : 'watch';
      try {
        if (needList) {
          await this.listAndReplace(signal);
          needList = false;
        }
        phase = 'watch';
        const started = this.clock.now();
        const { outcome, events } = await this.watchOnce(signal);
        if (outcome === 'aborted') break;
        if (outcome === 'gone') {
          log.v(2).info('watch expired, re-listing', { informer: this.name, resourceVersion: this.rv });
          needList = true;
          continue;
        }
        // A watch that closes at once without events is a failure in disguise: back off instead of spinning.
        if (events === 0 && this.clock.now() - started < 1000) await this.backoff(signal);
      } catch (e) {
        if (signal.aborted || isAbortError(e)) break;
        if (phase === 'watch' && isGone(e)) {
          needList = true;
          continue;
        }
        // An ERROR event leaves the cache state unknown: list again. A broken connection can resume.
        if (e instanceof ApiError && phase === 'watch') needList = true;
        log.warn(phase === 'list' ? 'failed to list' : 'watch failed', { informer: this.name, err: e, resourceVersion: this.rv });
        await this.backoff(signal);
      }
    }
  }

  private async backoff(signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastBackoffAt > 2 * 60_000) this.attempt = 0;
    this.lastBackoffAt = now;
    const b = this.opts.backoff ?? { initialMs: 800, maxMs: 30_000 };
    const delay = backoffDelay(this.attempt, { initialMs: b.initialMs, maxMs: b.maxMs, factor: 2, jitter: 1 });
    this.attempt++;
    try {
      await clockSleep(this.clock, delay, { signal });
    } catch {
      // Aborted: the run loop sees the signal.
    }
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list({
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: this.opts.pageSize ?? 500,
        continue: cont,
        signal,
      });
      items.push(...page.items);
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    if (signal.aborted) return;
    this.replace(items, rv);
  }

  private replace(items: T[], rv: string): void {
    const initial = !this.synced;
    const fresh = new Map<string, T>();
    for (const o of items) fresh.set(objectKey(o), o);
    const gone: DeletedFinalStateUnknown<T>[] = [];
    for (const key of this.indexer.listKeys()) {
      const old = this.indexer.getByKey(key);
      if (old !== undefined && !fresh.has(key)) gone.push({ key, obj: old, deletedFinalStateUnknown: true });
    }
    const previous = new Map<string, T>();
    for (const [key] of fresh) {
      const old = this.indexer.getByKey(key);
      if (old !== undefined) previous.set(key, old);
    }
    this.indexer.replace(items);
    this.rv = rv;
    for (const t of gone) this.notify('onDelete', (h) => h.onDelete?.(t));
    for (const [key, obj] of fresh) {
      const old = previous.get(key);
      if (old !== undefined) this.notify('onUpdate', (h) => h.onUpdate?.(old, obj));
      else this.notify('onAdd', (h) => h.onAdd?.(obj, initial));
    }
    this.attempt = 0;
    if (initial) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w(true);
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<{ outcome: Outcome; events: number }> {
    // A random server-side timeout spreads re-watches out, as the reflector's 5–10 minutes.
    const timeoutSeconds = Math.floor(300 * (1 + Math.random()));
    const stream = this.client.watch({
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds,
      signal,
    });
    let events = 0;
    for await (const ev of stream) {
      if (signal.aborted) return { outcome: 'aborted', events };
      events++;
      if (ev.type === 'ERROR') {
        const st: Status = ev.object;
        if (st.code === 410 || st.reason === 'Expired' || st.reason === 'Gone') return { outcome: 'gone', events };
        throw new ApiError({ ...st, kind: 'Status', status: 'Failure' });
      }
      this.apply(ev);
    }
    return { outcome: signal.aborted ? 'aborted' : 'ended', events };
  }

  private apply(ev: Exclude<WatchEvent<T>, { type: 'ERROR' }>): void {
    const obj = ev.object;
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    const key = objectKey(obj);
    const old = this.indexer.getByKey(key);
    if (ev.type === 'DELETED') {
      this.indexer.deleteKey(key);
      if (rv) this.rv = rv;
      this.notify('onDelete', (h) => h.onDelete?.(obj));
      return;
    }
    this.indexer.update(obj);
    if (rv) this.rv = rv;
    if (old !== undefined) this.notify('onUpdate', (h) => h.onUpdate?.(old, obj));
    else this.notify('onAdd', (h) => h.onAdd?.(obj, false));
  }

  private async resyncLoop(periodMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await clockSleep(this.clock, periodMs, { signal });
      } catch {
        return;
      }
      if (!this.synced || signal.aborted) continue;
      for (const obj of this.indexer.list()) this.notify('onUpdate', (h) => h.onUpdate?.(obj, obj));
    }
  }

  private notify(what: string, fn: (h: ResourceEventHandler<T>) => void): void {
    for (const h of this.handlers) this.call(h, what, () => fn(h));
  }

  private call(h: ResourceEventHandler<T>, what: string, fn: () => void): void {
    void h;
    try {
      fn();
    } catch (e) {
      // One failing handler must not starve the others or kill the informer.
      log.error('event handler failed', { informer: this.name, handler: what, err: e });
    }
  }
}

/** Options of SharedInformerFactory.informerFor. */
export interface InformerForOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
}

/**
 * Hands out one SharedInformer per (resource, namespace, selectors), so that components share caches
 * (informers.SharedInformerFactory). `start` starts every informer not yet started; call it again after
 * asking for more informers.
 */
export class SharedInformerFactory {
  private readonly api: ApiClient;
  private readonly informers = new Map<string, SharedInformer<ObjectLike>>();
  private readonly defaults: Pick<InformerOptions<ObjectLike>, 'resyncPeriodMs' | 'clock' | 'backoff' | 'pageSize'> & { namespace?: string };
  private signal: AbortSignal | undefined;

  constructor(api: ApiClient, opts: Pick<InformerOptions<ObjectLike>, 'resyncPeriodMs' | 'clock' | 'backoff' | 'pageSize'> & { namespace?: string } = {}) {
    this.api = api;
    this.defaults = opts;
  }

  /** The shared informer for `def` with these options; extra indexers are added to an existing one. */
  informerFor<T extends ObjectLike>(def: ResourceRef, opts: InformerForOptions<T> = {}): SharedInformer<T> {
    const namespace = opts.namespace ?? this.defaults.namespace ?? '';
    const key = [def.group, def.version, def.plural, namespace, opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(key) as SharedInformer<T> | undefined;
    if (!inf) {
      const { namespace: _ns, ...defaults } = this.defaults;
      void _ns;
      inf = new SharedInformer<T>(this.api.resource<T>(def), {
        ...defaults,
        namespace: namespace || undefined,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        indexers: opts.indexers,
        name: def.group ? `${def.plural}.${def.group}` : def.plural,
      });
      this.informers.set(key, inf as unknown as SharedInformer<ObjectLike>);
    } else if (opts.indexers) {
      const existing = inf.indexer;
      const missing = Object.entries(opts.indexers).filter(([name]) => !existing.hasIndex(name));
      if (missing.length > 0) inf.addIndexers(Object.fromEntries(missing));
    }
    return inf;
  }

  /** Starts every informer created so far (and remembers `signal` for the next call). */
  start(signal?: AbortSignal): void {
    if (signal) this.signal = signal;
    for (const inf of this.informers.values()) inf.start(this.signal);
  }

  /** Resolves true once every started informer has synced; false if `signal` aborts first. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].filter((i) => i.isRunning()).map((i) => i.waitForSync(signal)));
    return results.every((r) => r);
  }

  /** Stops every informer and waits for them to exit. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
