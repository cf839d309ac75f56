import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { sleep } from '../../base/clock.ts';
import { setLogSink } from '../../base/log.ts';
import { waitFor } from '../../base/wait.ts';
import { isStorageError } from '../errors.ts';
import { storageConformance } from '../conformance.ts';
import type { Storage } from '../interface.ts';
import { openSqliteStorage } from './sqlite-storage.ts';

setLogSink(null);

storageConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
  const path = join(dir, 'state.db');
  let current: Storage = await openSqliteStorage(path, { ttlSweepIntervalMs: 100 });
  return {
    storage: current,
    reopen: async () => (current = await openSqliteStorage(path, { ttlSweepIntervalMs: 100 })),
    cleanup: async () => {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite engine', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('refuses a second opener with a message naming the lock, and takes over a dead owner\'s lock', async () => {
    const path = join(dir, 'state.db');
    const s = await openSqliteStorage(path);
    await s.create('/k', enc('v'));
    await assert.rejects(openSqliteStorage(path), (e: unknown) => {
      assert.ok(isStorageError(e, 'Locked'));
      assert.ok(e.message.includes(`${path}.lock`), e.message);
      assert.ok(e.message.includes(String(process.pid)), e.message);
      return true;
    });
    await s.close();
    assert.equal(existsSync(`${path}.lock`), false, 'close releases the lock');

    // A lock file left behind by a process that no longer exists does not block the next start.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${path}.lock`, `${dead.stdout}\n`);
    const s2 = await openSqliteStorage(path);
    assert.equal((await s2.get('/k')).kv?.modRevision, 1);
    await s2.close();
  });

  it('refuses a corrupt file and a foreign SQLite database, naming the file and leaving it untouched', async () => {
    const junk = join(dir, 'junk.db');
    const bytes = Buffer.from('this is not a database at all, just some text that is long enough '.repeat(100));
    writeFileSync(junk, bytes);
    await assert.rejects(openSqliteStorage(junk), (e: unknown) => {
      assert.ok(isStorageError(e, 'Corrupt'), String(e));
      assert.ok(e.message.includes(junk), e.message);
      assert.equal(e.message.includes('\n'), false, 'one line');
      return true;
    });
    assert.ok(readFileSync(junk).equals(bytes), 'a corrupt file is never reset');
    assert.equal(existsSync(`${junk}.lock`), false, 'a failed open releases the lock');

    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')");
    db.close();
    await assert.rejects(openSqliteStorage(foreign), (e: unknown) => {
      assert.ok(isStorageError(e, 'Corrupt'), String(e));
      assert.match(e.message, /not a Skiff database/);
      assert.ok(e.message.includes(foreign), e.message);
      return true;
    });
    const check = new Database(foreign, { readonly: true });
    assert.deepEqual(check.prepare('SELECT name FROM users').all(), [{ name: 'ada' }]);
    check.close();
  });

  it('commits concurrent writes together while each keeps its own outcome', async () => {
    const s = await openSqliteStorage(join(dir, 'state.db'));
    try {
      await s.create('/dup', enc('x'));
      const before = s.stats().commits;
      const results = await Promise.allSettled([
        ...Array.from({ length: 200 }, (_, i) => s.create(`/k/${i}`, enc(String(i)))),
        s.create('/dup', enc('y')),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 200);
      const last = results.at(-1);
      assert.ok(last?.status === 'rejected' && isStorageError(last.reason, 'KeyExists'));
      const commits = s.stats().commits - before;
      assert.ok(commits >= 1 && commits <= 5, `200 concurrent writes took ${commits} commits`);
    } finally {
      await s.close();
    }
  });

  it('ends a watcher that falls too far behind with WatchOverflow', async () => {
    const s = await openSqliteStorage(join(dir, 'state.db'), { watchBufferLimit: 50 });
    try {
      const it = s.watch('/w/', { fromRevision: 0 })[Symbol.asyncIterator]();
      const first = it.next();
      await s.create('/w/first', enc('1'));
      assert.equal((await first).done, false);
      for (let i = 0; i < 100; i++) await s.create(`/w/${i}`, enc('x'));
      await assert.rejects(it.next(), (e: unknown) => isStorageError(e, 'WatchOverflow'));
      // A consumer that keeps up is not affected by the bound.
      const ac = new AbortController();
      let seen = 0;
      const head = await s.currentRevision();
      const reader = (async () => {
        for await (const ev of s.watch('/w/', { fromRevision: head, signal: ac.signal })) {
          if (ev.type !== 'progress' && ++seen === 200) ac.abort();
        }
      })();
      for (let i = 0; i < 200; i++) await s.create(`/w/more/${i}`, enc('x'));
      await reader;
      assert.equal(seen, 200);
    } finally {
      await s.close();
    }
  });

  it('close waits for in-flight writes, ends watches with Closed and refuses later writes', async () => {
    const path = join(dir, 'state.db');
    const s = await openSqliteStorage(path);
    const it = s.watch('/', { fromRevision: 0 })[Symbol.asyncIterator]();
    const pendingNext = it.next();
    const writes = Array.from({ length: 100 }, (_, i) => s.create(`/c/${i}`, enc('v')));
    const closing = s.close();
    const settled = await Promise.allSettled(writes);
    await closing;
    assert.deepEqual(settled.filter((r) => r.status === 'rejected'), []);
    assert.equal((await pendingNext).done, false, 'events committed before close are delivered');
    let err: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      err = e;
    }
    assert.ok(isStorageError(err, 'Closed'), String(err));
    await assert.rejects(s.create('/late', enc('v')), (e: unknown) => isStorageError(e, 'Closed'));
    const s2 = await openSqliteStorage(path);
    assert.equal((await s2.count('/c/')).count, 100);
    await s2.close();
  });

  it('compaction removes superseded history, keeps the WAL small and the file from growing', async () => {
    const path = join(dir, 'state.db');
    const s = await openSqliteStorage(path, { compactChunk: 500 });
    try {
      const value = enc('v'.repeat(2000));
      const keys = 50;
      const round = async (): Promise<void> => {
        const kvs = await Promise.all(Array.from({ length: keys }, (_, i) => s.get(`/h/${i}`)));
        await Promise.all(
          kvs.map(async ({ kv }, i) => {
            let rev = kv?.modRevision ?? (await s.create(`/h/${i}`, value)).modRevision;
            for (let n = 0; n < 60; n++) rev = (await s.update(`/h/${i}`, value, { expectedModRevision: rev })).modRevision;
          }),
        );
        await s.compact(await s.currentRevision());
      };
      await round();
      const first = s.stats();
      assert.equal(first.logRows, keys, 'only the latest row of each live key survives');
      assert.equal(first.walBytes, 0, 'compaction ends with a truncating checkpoint');
      for (let i = 0; i < 3; i++) await round();
      const later = s.stats();
      assert.equal(later.logRows, keys);
      assert.ok(later.dbBytes <= first.dbBytes * 1.1, `the file stops growing: ${first.dbBytes} → ${later.dbBytes} bytes`);
      assert.equal((await s.list('/h/')).kvs.length, keys);
    } finally {
      await s.close();
    }
  });

  it('keeps the revision when compaction removes the newest row', async () => {
    const path = join(dir, 'state.db');
    const s = await openSqliteStorage(path);
    const kv = await s.create('/t', enc('x'));
    const { revision } = await s.delete('/t', { expectedModRevision: kv.modRevision });
    await s.compact(revision);
    assert.equal(s.stats().logRows, 0, 'the tombstone and what it deleted are gone');
    await s.close();
    const s2 = await openSqliteStorage(path);
    try {
      assert.equal(await s2.currentRevision(), revision);
      assert.equal((await s2.create('/t', enc('y'))).modRevision, revision + 1);
    } finally {
      await s2.close();
    }
  });

  it('finishes a compaction cut short by close after the next open', async () => {
    const path = join(dir, 'state.db');
    const s = await openSqliteStorage(path, { compactChunk: 10 });
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        let rev = (await s.create(`/r/${i}`, enc('0'))).modRevision;
        for (let n = 1; n < 20; n++) rev = (await s.update(`/r/${i}`, enc(String(n)), { expectedModRevision: rev })).modRevision;
      }),
    );
    const head = await s.currentRevision();
    const compacting = s.compact(head);
    await s.close();
    await compacting;
    const s2 = await openSqliteStorage(path, { compactChunk: 10 });
    try {
      assert.equal(await s2.compactedRevision(), head, 'the compacted revision was recorded before purging');
      await waitFor(() => s2.stats().logRows === 20, { what: 'the purge to finish' });
      assert.deepEqual((await s2.list('/r/')).kvs.map((kv) => new TextDecoder().decode(kv.value)), Array(20).fill('19'));
    } finally {
      await s2.close();
    }
  });

  it('loses no acknowledged write when the process is killed with SIGKILL', async () => {
    const path = join(dir, 'state.db');
    const fixture = fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      acked.push(...lines);
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await waitFor(() => acked.includes('ready'), { timeoutMs: 20_000, what: 'the writer to start' });
      const started = acked.length;
      await waitFor(() => acked.length > started + 200, { timeoutMs: 20_000, what: 'acknowledged writes' });
      await sleep(700);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    const keys = acked.filter((k) => k.startsWith('/crash/'));
    assert.ok(keys.length > 200, `the child acknowledged ${keys.length} writes`);
    const s = await openSqliteStorage(path);
    try {
      const stored = new Set((await s.list('/crash/')).kvs.map((kv) => kv.key));
      const lost = keys.filter((k) => !stored.has(k));
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${keys.length} acknowledged writes were lost`);
      assert.ok((await s.currentRevision()) >= keys.length);
    } finally {
      await s.close();
    }
  });
});
