import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { setLogSink } from '../../base/log.ts';
import { waitFor } from '../../base/wait.ts';
import { startEtcd, type EtcdProcess } from '../etcd/etcd-process.ts';
import { openEtcdStorage } from '../etcd/etcd-storage.ts';
import { isStorageError } from '../errors.ts';
import type { Storage, WatchEvent } from '../interface.ts';
import { openSqliteStorage } from '../sqlite/sqlite-storage.ts';
import { SnapshotError, verifySnapshot } from './format.ts';
import { DEFAULT_ETCD_BUMP, restoreSnapshot } from './restore.ts';
import { saveSnapshot } from './save.ts';
import { assertSameKeys, fillStore, listAll, snapshotRecords, valueFor } from './snapshot-test-helpers.ts';

setLogSink(null);

let dir: string;
let etcdA: EtcdProcess;
let etcdB: EtcdProcess;
let a: Storage;
let b: Storage;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-snap-etcd-'));
  [etcdA, etcdB] = await Promise.all([startEtcd(), startEtcd()]);
  a = await openEtcdStorage(etcdA.endpoints);
  b = await openEtcdStorage(etcdB.endpoints);
});

after(async () => {
  await Promise.allSettled([a.close(), b.close()]);
  await Promise.allSettled([etcdA.stop(), etcdB.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function clear(s: Storage): Promise<void> {
  const all = await listAll(s, '/');
  await Promise.all([...all.kvs.keys()].map((k) => s.delete(k)));
}

describe('snapshots on etcd', () => {
  it('saves a consistent snapshot of etcd while a writer keeps writing', async () => {
    await fillStore(a, 500);
    const stop = new AbortController();
    let writes = 0;
    const writer = (async () => {
      for (let i = 0; !stop.signal.aborted; i++) {
        await a.create(`/registry/events/default/ev-${i}`, valueFor(i, 90));
        if (i % 3 === 0) await a.delete(`/registry/events/default/ev-${i}`);
        writes++;
      }
    })();
    while (writes < 20) await new Promise((r) => setTimeout(r, 5));
    const before = writes;
    const f = join(dir, 'etcd-busy.snap');
    const info = await saveSnapshot(a, f, { pageSize: 25 });
    const during = writes - before;
    stop.abort();
    await writer;
    assert.ok(during > 0, 'the writer must have written while the snapshot was being taken');
    assert.equal(info.header.engine, 'etcd');
    const at = await listAll(a, '/', info.header.revision);
    assert.equal(info.header.count, at.kvs.size);
    assertSameKeys(await snapshotRecords(f), at.kvs, { revisions: true });
  });

  it('restores an etcd snapshot into a fresh etcd and a fresh SQLite store, byte for byte', async () => {
    const f = join(dir, 'etcd.snap');
    const info = await saveSnapshot(a, f);
    const expected = await snapshotRecords(f);

    const res = await restoreSnapshot(f, { storage: b }, { bumpRevision: 50 });
    assert.equal(res.restored, expected.size);
    assert.equal(res.revisionsPreserved, false);
    assert.ok(res.revision > info.header.revision + 50, `revision ${res.revision} must pass ${info.header.revision} + 50`);
    assert.equal(await b.currentRevision(), res.revision);
    assertSameKeys((await listAll(b)).kvs, expected);
    // Old revisions are gone: a watcher resuming from one is told to re-list.
    const w = b.watch('/registry/', { fromRevision: info.header.revision - 1 })[Symbol.asyncIterator]();
    await assert.rejects(w.next(), (e: unknown) => isStorageError(e, 'Compacted'));
    const next = await b.create('/registry/namespaces/after', new Uint8Array([1]));
    assert.ok(next.modRevision > res.revision);

    const sqlitePath = join(dir, 'from-etcd', 'state.db');
    const res2 = await restoreSnapshot(f, { sqlitePath }, { bumpRevision: 1 });
    assert.equal(res2.restored, expected.size);
    const s = await openSqliteStorage(sqlitePath);
    try {
      assertSameKeys((await listAll(s)).kvs, expected, { revisions: true });
      assert.ok((await s.currentRevision()) > info.header.revision);
    } finally {
      await s.close();
    }
  });

  it('migrates a SQLite snapshot into etcd, refusing a non-empty etcd without force', async () => {
    const src = await openSqliteStorage(join(dir, 'sqlite-src', 'state.db'));
    const f = join(dir, 'sqlite.snap');
    try {
      await fillStore(src, 300);
      await saveSnapshot(src, f);
    } finally {
      await src.close();
    }
    const expected = await snapshotRecords(f);
    assert.ok((await b.count('/')).count > 0);
    const revBefore = await b.currentRevision();
    await assert.rejects(restoreSnapshot(f, { storage: b }), (e: unknown) => e instanceof SnapshotError && e.code === 'NotEmpty' && /is not empty: it holds [\d,]+ keys at revision \d+/.test(e.message));
    assert.equal(await b.currentRevision(), revBefore);
    const res = await restoreSnapshot(f, { storage: b }, { force: true, bumpRevision: 10, ttlSeconds: (k) => (k.includes('/secrets/') ? 3600 : undefined) });
    assert.ok(res.replaced > 0);
    assert.ok(res.revision > Math.max(res.header.revision, revBefore) + 10);
    assertSameKeys((await listAll(b)).kvs, expected);
  });

  it('restores into etcd with ~128 keys per etcd revision; the revision continues above the snapshot\'s, and every engine agrees', async () => {
    const src = await openSqliteStorage(join(dir, 'sqlite-agree', 'state.db'));
    const f = join(dir, 'agree.snap');
    try {
      await fillStore(src, 1000);
      await saveSnapshot(src, f);
    } finally {
      await src.close();
    }
    const expected = await snapshotRecords(f);
    const etcdC = await startEtcd();
    const raw = new Etcd3({ hosts: etcdC.endpoints });
    const c1 = await openEtcdStorage(etcdC.endpoints);
    let c2: Storage | undefined;
    try {
      const res = await restoreSnapshot(f, { storage: c1 });
      assert.equal(res.restored, expected.size);
      assert.ok(res.revision > res.header.revision + DEFAULT_ETCD_BUMP, `revision ${res.revision}, snapshot ${res.header.revision}`);
      const etcdHead = Number((await raw.kv.range({ key: Buffer.from('/'), count_only: true })).header.revision);
      assert.ok(etcdHead < expected.size / 50, `${expected.size} keys took ${etcdHead} etcd revisions`);
      assertSameKeys((await listAll(c1)).kvs, expected);

      // A server started afterwards reads the same offset: same revisions, same objects.
      c2 = await openEtcdStorage(etcdC.endpoints);
      const second = c2;
      assert.equal(await c2.currentRevision(), res.revision);
      assert.equal(await c2.compactedRevision(), res.revision);
      const listed = await listAll(c2, '/', res.revision);
      assert.equal(listed.revision, res.revision);
      assertSameKeys(listed.kvs, expected);
      for (const [k, kv] of listed.kvs) assert.equal((await c1.get(k)).kv?.modRevision, kv.modRevision, `modRevision of ${k} on both engines`);

      // Clients that re-listed carry on: a watch from the list's revision, updates with the listed resourceVersions.
      const seen: WatchEvent[] = [];
      const ac = new AbortController();
      const loop = (async () => {
        for await (const ev of second.watch('/registry/', { fromRevision: listed.revision, signal: ac.signal, progressIntervalMs: 0 })) seen.push(ev);
      })();
      const [key, kv] = [...listed.kvs].find(([k]) => k.startsWith('/registry/')) ?? assert.fail('no /registry/ key');
      const updated = await c1.update(key, new Uint8Array([7]), { expectedModRevision: kv.modRevision });
      assert.ok(updated.modRevision > res.revision);
      const made = await c2.create('/registry/namespaces/after-restore', new Uint8Array([8]));
      assert.equal(made.modRevision, updated.modRevision + 1);
      await waitFor(() => seen.length >= 2, { what: 'the writes after the restore on a watch' });
      ac.abort();
      await loop;
      assert.deepEqual(seen.map((e) => [e.type, e.revision]), [['put', updated.modRevision], ['put', made.modRevision]]);
      assert.equal(seen[0]?.type === 'put' ? seen[0].prevKv?.modRevision : -1, kv.modRevision);

      // Anything older than the restore is compacted: watchers and paged lists re-list.
      await assert.rejects(c2.list('/registry/', { revision: res.header.revision }), (e: unknown) => isStorageError(e, 'Compacted'));
      const w = c2.watch('/registry/', { fromRevision: res.header.revision })[Symbol.asyncIterator]();
      await assert.rejects(w.next(), (e: unknown) => isStorageError(e, 'Compacted'));
    } finally {
      raw.close();
      await c2?.close();
      await c1.close();
      await etcdC.stop();
    }
  });

  it('leaves etcd untouched when the file is truncated or corrupted', async () => {
    await clear(b);
    await b.create('/registry/namespaces/keep', valueFor(1));
    const before = await listAll(b);
    const good = join(dir, 'etcd.snap');
    const bytes = readFileSync(good);
    const cut = join(dir, 'etcd-cut.snap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
    await assert.rejects(restoreSnapshot(cut, { storage: b }, { force: true }), (e: unknown) => e instanceof SnapshotError && e.code === 'Truncated');
    const flipped = join(dir, 'etcd-flip.snap');
    const plain = join(dir, 'etcd-plain.snap');
    await saveSnapshot(a, plain, { compress: false });
    const p = readFileSync(plain);
    const at = p.length - 32 - 9 - 16 - 1;
    p[at] = (p[at] ?? 0) ^ 0xff;
    writeFileSync(flipped, p);
    await assert.rejects(verifySnapshot(flipped), /checksum mismatch/);
    await assert.rejects(restoreSnapshot(flipped, { storage: b }, { force: true }), (e: unknown) => e instanceof SnapshotError && e.code === 'ChecksumMismatch');
    const now = await listAll(b);
    assert.equal(now.revision, before.revision);
    assertSameKeys(now.kvs, before.kvs, { revisions: true });
  });
});
