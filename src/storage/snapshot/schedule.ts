/**
 * Scheduled snapshots: take one at every time the schedule names and keep the newest N. The schedule is
 * a function of time (the cron parsing lives in the API layer, which storage may not import; the
 * composition root turns a cron expression into a schedule).
 */
import { realClock, type Clock } from '../../base/clock.ts';
import { logger } from '../../base/log.ts';
import { isStorageError } from '../errors.ts';
import type { Storage } from '../interface.ts';
import { pruneSnapshots, SCHEDULED_PREFIX, snapshotPath, timestampedName } from './folder.ts';
import { saveSnapshot, type SnapshotInfo, type SnapshotStreamOptions } from './save.ts';

const log = logger('snapshot-schedule');

/** When snapshots are due. */
export interface Schedule {
  /** The first due time strictly after `afterMs` (epoch ms). */
  next(afterMs: number): number;
}

/** A schedule that fires every `ms` milliseconds (tests, "@every"). */
export function everySchedule(ms: number): Schedule {
  if (!(ms > 0)) throw new Error(`snapshot interval must be positive, got ${ms} ms`);
  return { next: (after) => after + ms };
}

/** What onSnapshot reports after each scheduled snapshot. */
export interface ScheduledSnapshot extends SnapshotInfo {
  name: string;
  /** Names of older scheduled snapshots deleted by retention. */
  pruned: string[];
}

/** Options of startSnapshotSchedule. */
export interface SnapshotScheduleOptions {
  schedule: Schedule;
  /** Scheduled snapshots to keep (older ones are deleted; manual snapshots are never touched). */
  retention: number;
  /** The snapshot folder, e.g. `<data-dir>/snapshots`. */
  dir: string;
  signal?: AbortSignal;
  /** Called after every successful snapshot (the server reports it as an Event and in /metrics). */
  onSnapshot?: (s: ScheduledSnapshot) => void;
  /** Called when a snapshot fails; the schedule carries on. */
  onError?: (e: unknown) => void;
  clock?: Clock;
  /** Passed to saveSnapshot (skiffVersion, compress, pageSize). */
  save?: Omit<SnapshotStreamOptions, 'signal'>;
}

/** A running snapshot schedule. */
export interface SnapshotSchedule {
  /** Resolves once the loop has stopped. */
  readonly stopped: Promise<void>;
  /** Stops the loop and waits for a snapshot in progress to finish. */
  stop(): Promise<void>;
}

/** Takes a snapshot of `storage` into `dir` at every due time of the schedule and prunes to `retention`; a closed store ends it. */
export function startSnapshotSchedule(storage: Storage, opts: SnapshotScheduleOptions): SnapshotSchedule {
  if (!Number.isInteger(opts.retention) || opts.retention < 1) throw new Error(`snapshot retention must be at least 1, got ${opts.retention}`);
  const clock = opts.clock ?? realClock;
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) ac.abort();
  const aborted = new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));

  const loop = async (): Promise<void> => {
    let last = clock.now();
    while (!ac.signal.aborted) {
      const due = opts.schedule.next(last);
      const wait = Math.max(0, due - clock.now());
      await Promise.race([clock.sleep(wait), aborted]);
      if (ac.signal.aborted) break;
      // A snapshot that overran several due times is followed by the next due time after now, not a burst.
      last = Math.max(due, clock.now());
      const name = timestampedName(SCHEDULED_PREFIX, new Date(clock.now()));
      try {
        const info = await saveSnapshot(storage, snapshotPath(opts.dir, name), { ...opts.save });
        const pruned = await pruneSnapshots(opts.dir, { keep: opts.retention });
        log.info('scheduled snapshot taken', { name, revision: info.header.revision, keys: info.header.count, bytes: info.bytes, ms: info.durationMs, pruned: pruned.length });
        opts.onSnapshot?.({ ...info, name, pruned });
      } catch (e) {
        if (isStorageError(e, 'Closed') || ac.signal.aborted) break;
        log.warn('scheduled snapshot failed; trying again at the next scheduled time', { name, err: e });
        opts.onError?.(e);
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
