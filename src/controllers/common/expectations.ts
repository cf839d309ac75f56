/**
 * ControllerExpectations (pkg/controller/controller_utils.go): a controller records how many creations and which
 * deletions it has issued for a key, and does not act on that key again until its informer has observed them (or
 * five minutes pass), so that informer lag never makes it create or delete twice.
 */
import type { Clock } from '../../base/clock.ts';
import { realClock } from '../../base/clock.ts';

/** ExpectationsTimeout: stale expectations stop blocking after this long. */
export const expectationsTimeoutMs = 5 * 60_000;

interface Expectation {
  add: number;
  /** Keys of pods whose deletion is expected (UIDTrackingControllerExpectations). */
  deletions: Set<string>;
  at: number;
}

/** Creation and deletion expectations per controller key. */
export class Expectations {
  private readonly clock: Clock;
  private readonly byKey = new Map<string, Expectation>();

  constructor(opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? realClock;
  }

  /** SatisfiedExpectations: true when nothing is pending for `key`, it was never set, or it expired. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.deletions.size === 0) return true;
    return this.clock.now() - e.at > expectationsTimeoutMs;
  }

  /** ExpectCreations: `count` creations are about to be issued (replaces what was pending). */
  expectCreations(key: string, count: number): void {
    this.byKey.set(key, { add: count, deletions: new Set(), at: this.clock.now() });
  }

  /** ExpectDeletions: these pod keys are about to be deleted (replaces what was pending). */
  expectDeletions(key: string, podKeys: string[]): void {
    this.byKey.set(key, { add: 0, deletions: new Set(podKeys), at: this.clock.now() });
  }

  /** CreationObserved (also used to lower the count for a creation that failed). */
  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.add--;
  }

  /** DeletionObserved: the pod `podKey` is gone (or its deletion failed); counts once per pod. */
  deletionObserved(key: string, podKey: string): void {
    this.byKey.get(key)?.deletions.delete(podKey);
  }

  /** DeleteExpectations: forget `key` (its controller is gone). */
  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** Pending counts, for tests and logs. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.byKey.get(key);
    return e ? { add: e.add, del: e.deletions.size } : undefined;
  }
}
