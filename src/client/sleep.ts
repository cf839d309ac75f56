/** Clock sleeps that always honour an AbortSignal, even on clocks (like FakeClock) that ignore it. */
import type { Clock } from '../base/clock.ts';
import { abortError } from '../base/clock.ts';

/** Resolves after `ms` on `clock`, or rejects with the abort reason as soon as `signal` aborts. */
export function clockSleep(clock: Clock, ms: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = opts;
  if (!signal) return clock.sleep(ms);
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    clock.sleep(ms, { signal }).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : abortError(signal));
      },
    );
  });
}
