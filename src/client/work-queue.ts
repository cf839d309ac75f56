/**
 * The controller work queue with client-go's semantics (workqueue.Typed + DelayingQueue + RateLimitingQueue):
 * an item added several times while queued is queued once; an item added while it is being processed is
 * processed again after `done`; delayed and rate-limited adds; shutdown with or without drain.
 */
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { defaultControllerRateLimiter } from './rate-limiter.ts';

/** What `get()` resolves to: the next item, or `shutdown: true` once the queue is shut down and empty. */
export type QueueItem<T> = { item: T; shutdown: false } | { item: undefined; shutdown: true };

/** Options of a WorkQueue. */
export interface WorkQueueOptions<T> {
  /** Name used in logs and metrics. */
  name?: string;
  /** Time source for delayed adds (a FakeClock in tests). */
  clock?: Clock;
  /** Limiter behind addRateLimited; defaults to defaultControllerRateLimiter(). */
  rateLimiter?: RateLimiter<T>;
}

/** A de-duplicating, delaying, rate-limited work queue (client-go's TypedRateLimitingInterface). */
export class WorkQueue<T> {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<T>;
  private queue: T[] = [];
  private head = 0;
  /** Items that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly getters: ((v: QueueItem<T>) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  /** Earliest ready time of each item waiting in addAfter. */
  private readonly waiting = new Map<T, number>();
  private readonly timers = new AbortController();
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.name = opts.name ?? '';
    this.clock = opts.clock ?? realClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>({ clock: this.clock });
  }

  /** Marks `item` as needing processing; a no-op if it is already queued or the queue is shutting down. */
  add(item: T): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.push(item);
  }

  /** Number of items queued (not counting those being processed or waiting for a delay). */
  len(): number {
    return this.queue.length - this.head;
  }

  /**
   * Waits for the next item and marks it as being processed; the caller must call `done(item)` afterwards.
   * After shutdown, queued items are still handed out; then it resolves `{ shutdown: true }`.
   */
  get(): Promise<QueueItem<T>> {
    if (this.len() > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve({ item: undefined, shutdown: true });
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks the processing of `item` as finished; it is queued again if it was added meanwhile. */
  done(item: T): void {
    this.processing.delete(item);
    if (this.dirty.has(item)) this.push(item);
    else if (this.processing.size === 0) this.wakeDrainers();
  }

  /** Adds `item` after `ms` milliseconds (immediately when ms ≤ 0); a shorter pending delay wins. */
  addAfter(item: T, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(item);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const prev = this.waiting.get(item);
    if (prev !== undefined && prev <= readyAt) return;
    this.waiting.set(item, readyAt);
    this.wakeAt(item, readyAt, ms);
  }

  /**
   * The timer of one addAfter. Node's timers run on the monotonic clock and may fire a millisecond before Date.now()
   * reaches the deadline: such a timer sleeps the rest instead of returning, or the item would be lost and its stale
   * entry would swallow every later addAfter of it.
   */
  private wakeAt(item: T, readyAt: number, ms: number): void {
    this.clock.sleep(ms, { signal: this.timers.signal }).then(
      () => {
        const at = this.waiting.get(item);
        // Gone (delivered by an earlier timer) or re-scheduled earlier: that timer owns the entry now.
        if (at === undefined || at !== readyAt) return;
        const left = at - this.clock.now();
        if (left > 0) {
          this.wakeAt(item, readyAt, left);
          return;
        }
        this.waiting.delete(item);
        this.add(item);
      },
      () => {
        // Aborted by shutDown: the item is dropped, as client-go drops waiting items.
      },
    );
  }

  /** Adds `item` after the delay the rate limiter assigns to it (one more failure for that item). */
  addRateLimited(item: T): void {
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Clears the rate limiter's failure history of `item` (call after a successful reconcile). */
  forget(item: T): void {
    this.rateLimiter.forget(item);
  }

  /** How many times `item` has been rate-limited since it was last forgotten. */
  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item);
  }

  /** True once shutDown or shutDownWithDrain was called. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting new items and wakes every waiting `get()`; queued items are still handed out. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.waiting.clear();
    this.timers.abort();
    for (const g of this.getters.splice(0)) g({ item: undefined, shutdown: true });
  }

  /** Shuts down, then resolves once every item being processed has been marked `done`. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private push(item: T): void {
    const g = this.getters.shift();
    if (g) {
      g(this.claim(item));
      return;
    }
    this.queue.push(item);
  }

  private take(): QueueItem<T> {
    const item = this.queue[this.head] as T;
    this.head++;
    // Compact occasionally so that a long-lived queue does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return this.claim(item);
  }

  private claim(item: T): QueueItem<T> {
    this.processing.add(item);
    this.dirty.delete(item);
    return { item, shutdown: false };
  }

  private wakeDrainers(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }
}
