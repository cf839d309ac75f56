import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../base/clock.ts';
import { setLogSink } from '../base/log.ts';
import { waitFor } from '../base/wait.ts';
import { startCompactor } from './compactor.ts';
import { StorageError } from './errors.ts';

setLogSink(null);

/** A FakeClock that counts sleepers, so a test advances time only once the loop is waiting. */
class CountingClock extends FakeClock {
  sleeps = 0;
  override sleep(ms: number): Promise<void> {
    this.sleeps++;
    return super.sleep(ms);
  }
}

function fakeStore(): { rev: number; compacted: number; calls: number[]; fail: StorageError | null; store: Parameters<typeof startCompactor>[0] } {
  const s = {
    rev: 0,
    compacted: 0,
    calls: [] as number[],
    fail: null as StorageError | null,
    store: {
      currentRevision: async () => s.rev,
      compactedRevision: async () => s.compacted,
      compact: async (r: number) => {
        s.calls.push(r);
        if (s.fail) throw s.fail;
        s.compacted = r;
      },
    },
  };
  return s;
}

describe('startCompactor', () => {
  it('compacts every interval to the revision seen at the previous tick', async () => {
    const clock = new CountingClock();
    const s = fakeStore();
    s.rev = 10;
    const ac = new AbortController();
    const c = startCompactor(s.store, { intervalMs: 1000, signal: ac.signal, clock });
    const tick = async (n: number): Promise<void> => {
      await waitFor(() => clock.sleeps === n, { what: `sleep ${n}` });
      clock.advance(1000);
    };
    await tick(1);
    await waitFor(() => clock.sleeps === 2, { what: 'the first tick' });
    assert.deepEqual(s.calls, [], 'the first tick only observes the revision');
    s.rev = 20;
    await tick(2);
    await waitFor(() => s.calls.length === 1, { what: 'a compaction' });
    assert.deepEqual(s.calls, [10]);
    s.rev = 25;
    await tick(3);
    await waitFor(() => s.calls.length === 2, { what: 'a second compaction' });
    assert.deepEqual(s.calls, [10, 20]);
    // Nothing was written during the interval: the revision seen last time is already compacted.
    await tick(4);
    await waitFor(() => clock.sleeps === 5, { what: 'an idle tick' });
    s.rev = 25;
    await tick(5);
    await waitFor(() => clock.sleeps === 6, { what: 'another tick' });
    assert.deepEqual(s.calls, [10, 20, 25]);
    ac.abort();
    await c.stopped;
  });

  it('keeps going after a failed compaction and stops when the store is closed', async () => {
    const clock = new CountingClock();
    const s = fakeStore();
    s.rev = 5;
    const c = startCompactor(s.store, { intervalMs: 50, clock });
    s.fail = new StorageError('Unavailable', 'disk busy');
    for (let n = 1; n <= 3; n++) {
      await waitFor(() => clock.sleeps === n, { what: `sleep ${n}` });
      s.rev += 5;
      clock.advance(50);
    }
    await waitFor(() => s.calls.length === 2, { what: 'two attempts' });
    assert.deepEqual(s.calls, [10, 15]);
    s.fail = new StorageError('Closed', 'closed');
    await waitFor(() => clock.sleeps === 4, { what: 'sleep 4' });
    clock.advance(50);
    await c.stopped;
    assert.deepEqual(s.calls, [10, 15, 20]);
  });

  it('stop() ends the loop while it waits', async () => {
    const s = fakeStore();
    const c = startCompactor(s.store, { intervalMs: 60_000 });
    await c.stop();
    assert.deepEqual(s.calls, []);
  });
});
