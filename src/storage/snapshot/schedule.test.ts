import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../base/clock.ts';
import { setLogSink } from '../../base/log.ts';
import { waitFor } from '../../base/wait.ts';
import type { Storage } from '../interface.ts';
import { openSqliteStorage } from '../sqlite/sqlite-storage.ts';
import { deleteSnapshot, listSnapshots, pruneSnapshots, snapshotPath, timestampedName } from './folder.ts';
import { saveSnapshot } from './save.ts';
import { everySchedule, startSnapshotSchedule, type ScheduledSnapshot } from './schedule.ts';
import { listAll, snapshotRecords } from './snapshot-test-helpers.ts';

setLogSink(null);

/** A fake clock that counts how often the loop went to sleep, so the test advances time only once it waits. */
class CountingClock extends FakeClock {
  sleeps = 0;
  override sleep(ms: number): Promise<void> {
    this.sleeps++;
    return super.sleep(ms);
  }
}

let dir: string;
let storage: Storage;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-snap-sched-'));
  storage = await openSqliteStorage(join(dir, 'state.db'));
});

after(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('scheduled snapshots', () => {
  it('takes a snapshot at every due time and keeps the newest N scheduled ones', async () => {
    const snapDir = join(dir, 'snapshots');
    await saveSnapshot(storage, snapshotPath(snapDir, 'manual-before'));
    const clock = new CountingClock(Date.parse('2030-01-01T00:00:00Z'));
    const taken: ScheduledSnapshot[] = [];
    const sched = startSnapshotSchedule(storage, {
      schedule: everySchedule(60_000), retention: 2, dir: snapDir, clock, onSnapshot: (s) => taken.push(s),
    });
    try {
      for (let i = 0; i < 4; i++) {
        await storage.create(`/registry/namespaces/ns-${i}`, new Uint8Array([i]));
        await waitFor(() => clock.sleeps > i, { what: 'the schedule to wait' });
        assert.equal(taken.length, i, 'nothing is taken before the due time');
        clock.advance(60_000);
        await waitFor(() => taken.length > i, { what: `snapshot ${i + 1}` });
        const s = taken[i];
        assert.ok(s);
        assert.equal(s.header.count, i + 1);
        assert.equal((await snapshotRecords(s.file)).size, i + 1);
      }
    } finally {
      await sched.stop();
    }
    assert.deepEqual(taken.map((t) => t.pruned.length), [0, 0, 1, 1]);
    assert.deepEqual(taken[2]?.pruned, [taken[0]?.name]);
    const left = (await listSnapshots(snapDir)).map((e) => e.name);
    // Newest first; retention applies to scheduled snapshots only.
    assert.deepEqual(left, [taken[3]?.name, taken[2]?.name, 'manual-before']);
    assert.equal(taken[0]?.name, timestampedName('scheduled-', new Date(Date.parse('2030-01-01T00:01:00Z'))));
  });

  it('stops promptly when its signal aborts while waiting', async () => {
    const ac = new AbortController();
    const clock = new CountingClock(0);
    const sched = startSnapshotSchedule(storage, { schedule: everySchedule(3_600_000), retention: 1, dir: join(dir, 'never'), clock, signal: ac.signal });
    await waitFor(() => clock.sleeps > 0);
    ac.abort();
    await sched.stopped;
    assert.equal(existsSync(join(dir, 'never')), false);
  });

  it('rejects a retention below one', () => {
    assert.throws(() => startSnapshotSchedule(storage, { schedule: everySchedule(1000), retention: 0, dir }), /retention must be at least 1/);
  });
});

describe('the snapshot folder', () => {
  it('lists with headers, deletes by name and refuses path-like names', async () => {
    const d = join(dir, 'folder');
    await saveSnapshot(storage, snapshotPath(d, 'one'));
    await saveSnapshot(storage, snapshotPath(d, 'two'));
    const state = await listAll(storage);
    const list = await listSnapshots(d);
    assert.deepEqual(list.map((e) => e.name).sort(), ['one', 'two']);
    assert.equal(list[0]?.header?.revision, state.revision);
    assert.ok((list[0]?.bytes ?? 0) > 0);
    await deleteSnapshot(d, 'one');
    assert.deepEqual(readdirSync(d), ['two.snap']);
    await assert.rejects(deleteSnapshot(d, 'one'), /snapshot "one" not found/);
    await assert.rejects(deleteSnapshot(d, '../state.db'), /invalid snapshot name/);
    assert.deepEqual(await pruneSnapshots(d, { keep: 0 }), [], 'only scheduled snapshots are pruned');
  });
});
