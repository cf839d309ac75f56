import { realClock } from '../base/clock.ts';
import type { Clock } from '../base/clock.ts';
import { logger } from '../base/log.ts';
import { isStorageError } from './errors.ts';
import type { Storage } from './interface.ts';

const log = logger('compactor');

/** Options of startCompactor. */
export interface CompactorOptions {
  /** Time between compactions (kube-apiserver: 5 minutes). */
  intervalMs: number;
  /** Stops the loop. */
  signal?: AbortSignal;
  clock?: Clock;
}

/** A running compaction loop. */
export interface Compactor {
  /** Resolves once the loop has stopped (after the signal fired, stop() was called or the store closed). */
  readonly stopped: Promise<void>;
  /** Stops the loop and waits for a compaction in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Compacts `storage` every `intervalMs` to the revision observed at the previous tick, as kube-apiserver
 * does, so one interval of history always stays available for watches to resume. Errors are logged and
 * retried at the next tick; a closed store ends the loop.
 */
export function startCompactor(
  storage: Pick<Storage, 'currentRevision' | 'compactedRevision' | 'compact'>,
  opts: CompactorOptions,
): Compactor {
  const clock = opts.clock ?? realClock;
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) ac.abort();
  const aborted = new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));

  const loop = async (): Promise<void> => {
    let observed = 0;
    while (!ac.signal.aborted) {
      await Promise.race([clock.sleep(opts.intervalMs, { signal: ac.signal }).catch(() => undefined), aborted]);
      if (ac.signal.aborted) break;
      try {
        const head = await storage.currentRevision();
        const target = observed;
        // Observe first: after a failed compaction the next tick moves on to this tick's revision.
        observed = head;
        if (target > 0 && target > (await storage.compactedRevision())) {
          const started = clock.now();
          await storage.compact(target);
          log.v(2).info('compacted', { revision: target, ms: clock.now() - started });
        }
      } catch (e) {
        if (isStorageError(e, 'Closed')) break;
        log.warn('compaction failed; retrying at the next interval', { err: e });
      }
    }
  };
  const stopped = loop().finally(() => opts.signal?.removeEventListener('abort', onAbort));
  return {
    stopped,
    stop: async () => {
      ac.abort();
      await stopped;
    },
  };
}
