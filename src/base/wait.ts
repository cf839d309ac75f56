import { sleep } from './clock.ts';

/**
 * Polls `cond` until it returns a truthy value or `timeoutMs` passes; the test-and-wait helper used
 * instead of fixed sleeps. Rejects with the last error (or a timeout error naming `what`, which may be computed at
 * the timeout to report what was last seen).
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const what = typeof opts.what === 'function' ? opts.what() : opts.what;
      const msg = `timed out waiting for ${what ?? 'condition'}`;
      throw new Error(last instanceof Error ? `${msg}: ${last.message}` : msg);
    }
    await sleep(opts.intervalMs ?? 20);
  }
}
