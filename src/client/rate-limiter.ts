/**
 * Rate limiters for the work queue: client-go's workqueue.RateLimiter family. `when(item)` returns how long
 * the item must wait before it is processed again; `forget(item)` clears its failure history.
 */
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';

/** Decides the delay before an item is retried (workqueue.TypedRateLimiter). */
export interface RateLimiter<T> {
  /** The delay in ms before `item` may be processed again; records one more failure. */
  when(item: T): number;
  /** Stops tracking `item` (its next failure starts from the base delay again). */
  forget(item: T): void;
  /** How many times `item` has been requeued through this limiter. */
  numRequeues(item: T): number;
}

/** Per-item exponential back-off: base·2^failures, capped at max (workqueue.ItemExponentialFailureRateLimiter). */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: { baseMs: number; maxMs: number }) {
    this.baseMs = opts.baseMs;
    this.maxMs = opts.maxMs;
  }

  when(item: T): number {
    const exp = this.failures.get(item) ?? 0;
    this.failures.set(item, exp + 1);
    const backoff = this.baseMs * Math.pow(2, exp);
    // Past ~2^60 the product is no longer meaningful; the cap is what matters.
    return !Number.isFinite(backoff) || backoff > this.maxMs ? this.maxMs : backoff;
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket (workqueue.BucketRateLimiter over rate.Limiter): `qps` tokens per second, at most
 * `burst` stored. Each `when` reserves a token; the delay is how long until that reservation is covered.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number | undefined;

  constructor(opts: { qps: number; burst: number; clock?: Clock }) {
    this.qps = opts.qps;
    this.burst = opts.burst;
    this.clock = opts.clock ?? realClock;
    this.tokens = opts.burst;
  }

  when(item: T): number {
    void item;
    const now = this.clock.now();
    if (this.last !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    }
    this.last = now;
    // Reservations may drive the bucket negative: later callers wait for the debt to be repaid, as rate.Limiter.
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(item: T): void {
    void item;
  }

  numRequeues(item: T): number {
    void item;
    return 0;
  }
}

/** The longest delay of several limiters (workqueue.MaxOfRateLimiter). */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];

  constructor(limiters: RateLimiter<T>[]) {
    this.limiters = limiters;
  }

  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/**
 * client-go's DefaultControllerRateLimiter: per-item exponential 5 ms → 1000 s combined with an overall
 * 10 qps / burst 100 token bucket.
 */
export function defaultControllerRateLimiter<T>(opts: { clock?: Clock } = {}): RateLimiter<T> {
  return new MaxOfRateLimiter<T>([
    new ItemExponentialFailureRateLimiter<T>({ baseMs: 5, maxMs: 1_000_000 }),
    new BucketRateLimiter<T>({ qps: 10, burst: 100, clock: opts.clock }),
  ]);
}
