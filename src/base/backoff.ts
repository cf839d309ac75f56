/** Exponential back-off with an upper bound, as client-go's wait.Backoff. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of random jitter added (0.1 = up to +10 %). */
  jitter?: number;
}

/** Returns the delay for attempt `n` (0-based). */
export function backoffDelay(n: number, opts: BackoffOptions): number {
  const factor = opts.factor ?? 2;
  const base = Math.min(opts.maxMs, opts.initialMs * Math.pow(factor, n));
  const jitter = opts.jitter ?? 0;
  return Math.min(opts.maxMs, base + base * jitter * Math.random());
}
