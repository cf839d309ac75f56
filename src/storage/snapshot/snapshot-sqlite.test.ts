import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { setLogSink } from '../../base/log.ts';
import { isStorageError } from '../errors.ts';
import type { Storage } from '../interface.ts';
import { openSqliteStorage } from '../sqlite/sqlite-storage.ts';
import { encodeEnd, encodeHeader, encodeRecords, openSnapshotReader, SNAPSHOT_FORMAT_VERSION, SnapshotError, verifySnapshot, withChecksum } from './format.ts';
import { restoreSnapshot } from './restore.ts';
import { saveSnapshot } from './save.ts';
import { assertSameKeys, fillStore, listAll, snapshotRecords, valueFor } from './snapshot-test-helpers.ts';

setLogSink(null);

let dir: string;
let source: Storage;
let n = 0;
const fresh = (name: string): string => join(dir, `${name}-${++n}`, 'state.db');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-snap-test-'));
  source = await openSqliteStorage(join(dir, 'source', 'state.db'));
  await fillStore(source, 1200);
});

after(async () => {
  await source.close();
  rmSync(dir, { recursive: true, force: true });
});

async function refused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SnapshotError, `expected a SnapshotError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('snapshot save and restore on SQLite', () => {
  let file: string;
  let plainFile: string;

  before(async () => {
    file = join(dir, 'a.snap');
    plainFile = join(dir, 'a-plain.snap');
    await saveSnapshot(source, file, { pageSize: 97, skiffVersion: '9.9.9' });
    await saveSnapshot(source, plainFile, { pageSize: 1000, compress: false });
  });

  it('writes a header describing the snapshot and the exact state at its revision', async () => {
    const state = await listAll(source);
    const r = await openSnapshotReader(file, { headerOnly: true });
    assert.equal(r.compressed, true);
    assert.equal(r.header.revision, state.revision);
    assert.equal(r.header.count, state.kvs.size);
    assert.equal(r.header.engine, 'sqlite');
    assert.equal(r.header.skiffVersion, '9.9.9');
    assert.equal(r.header.formatVersion, SNAPSHOT_FORMAT_VERSION);
    assertSameKeys(await snapshotRecords(file), state.kvs, { revisions: true });
    // Compression is an encoding only: both files hold the same records.
    assertSameKeys(await snapshotRecords(plainFile), state.kvs, { revisions: true });
    assert.equal((await openSnapshotReader(plainFile, { headerOnly: true })).compressed, false);
  });

  it('restores into a fresh store byte for byte, with the revision continuing above and history compacted', async () => {
    const target = fresh('restore');
    const snap = await verifySnapshot(file);
    const res = await restoreSnapshot(file, { sqlitePath: target }, { bumpRevision: 5000 });
    assert.equal(res.restored, snap.header.count);
    assert.equal(res.revision, snap.header.revision + 5000);
    assert.equal(res.revisionsPreserved, true);
    const restored = await openSqliteStorage(target);
    try {
      const got = await listAll(restored);
      assertSameKeys(got.kvs, await snapshotRecords(file), { revisions: true });
      assert.equal(await restored.currentRevision(), res.revision);
      assert.equal(await restored.compactedRevision(), res.revision);
      const kv = await restored.create('/registry/namespaces/after-restore', new Uint8Array([1]));
      assert.ok(kv.modRevision > snap.header.revision + 5000);
      // A watch from a pre-restore revision must be told to re-list, not replay a history that is gone.
      const it = restored.watch('/registry/', { fromRevision: snap.header.revision - 10 })[Symbol.asyncIterator]();
      await assert.rejects(it.next(), (e: unknown) => isStorageError(e, 'Compacted'));
      // Updates keep working on restored keys with their old resourceVersions.
      const some = [...got.kvs.values()][5];
      assert.ok(some);
      const upd = await restored.update(some.key, new Uint8Array([2]), { expectedModRevision: some.modRevision });
      assert.ok(upd.modRevision > kv.modRevision);
    } finally {
      await restored.close();
    }
  });

  it('restores with the default bump far above the snapshot revision', async () => {
    const target = fresh('default-bump');
    const res = await restoreSnapshot(plainFile, { sqlitePath: target });
    assert.ok(res.revision >= res.header.revision + 1_000_000_000);
    const restored = await openSqliteStorage(target);
    try {
      assert.equal(await restored.currentRevision(), res.revision);
      assertSameKeys((await listAll(restored)).kvs, await snapshotRecords(plainFile), { revisions: true });
    } finally {
      await restored.close();
    }
  });

  it('refuses a non-empty target without force, and replaces it with force', async () => {
    const target = fresh('nonempty');
    const s = await openSqliteStorage(target);
    await s.create('/registry/namespaces/old', new Uint8Array([9]));
    await s.create('/registry/namespaces/old2', new Uint8Array([9]));
    const oldRev = await s.currentRevision();
    await s.close();
    await refused(restoreSnapshot(file, { sqlitePath: target }), 'NotEmpty', /holds 2 keys at revision 2; .*--force/);
    let plan: { replacing: number; targetRevision: number } | undefined;
    const res = await restoreSnapshot(file, { sqlitePath: target }, { force: true, bumpRevision: 10, onStart: (p) => (plan = p) });
    assert.deepEqual(plan && { replacing: plan.replacing, targetRevision: plan.targetRevision }, { replacing: 2, targetRevision: oldRev });
    assert.equal(res.replaced, 2);
    const restored = await openSqliteStorage(target);
    try {
      const got = await listAll(restored);
      assert.equal(got.kvs.has('/registry/namespaces/old'), false);
      assertSameKeys(got.kvs, await snapshotRecords(file));
    } finally {
      await restored.close();
    }
  });

  it('refuses to restore while a server holds the store, naming the lock', async () => {
    const target = fresh('locked');
    const s = await openSqliteStorage(target);
    try {
      await refused(restoreSnapshot(file, { sqlitePath: target }), 'Locked', /lock file .*state\.db\.lock.*process \d+/);
      assert.equal((await s.count('/')).count, 0);
    } finally {
      await s.close();
    }
  });

  it('gives keys sharing one modRevision distinct revisions, values intact', async () => {
    const f = join(dir, 'shared-rev.snap');
    const kvs = [
      { key: '/a', value: valueFor(1), createRevision: 5, modRevision: 7 },
      { key: '/b', value: valueFor(2), createRevision: 7, modRevision: 7 },
      { key: '/c', value: new Uint8Array(0), createRevision: 3, modRevision: 3 },
    ];
    const header = { formatVersion: 1, skiffVersion: 'x', engine: 'etcd', prefix: '/', revision: 9, count: 3, createdAt: new Date().toISOString() };
    const chunks: Buffer[] = [];
    for await (const c of withChecksum((async function* () { yield encodeHeader(header); yield encodeRecords(kvs); yield encodeEnd(3); })())) chunks.push(c);
    writeFileSync(f, Buffer.concat(chunks));
    const target = fresh('shared');
    const res = await restoreSnapshot(f, { sqlitePath: target }, { bumpRevision: 1 });
    assert.equal(res.revisionsPreserved, false);
    const s = await openSqliteStorage(target);
    try {
      const got = await listAll(s);
      assertSameKeys(got.kvs, new Map(kvs.map((kv) => [kv.key, kv])));
      const revs = [...got.kvs.values()].map((kv) => kv.modRevision);
      assert.equal(new Set(revs).size, 3);
      assert.ok(Math.max(...revs) < (await s.currentRevision()));
    } finally {
      await s.close();
    }
  });
});

describe('bad snapshot files leave the target untouched', () => {
  let good: Buffer;
  let goodPlain: Buffer;
  let target: string;
  let targetState: Awaited<ReturnType<typeof listAll>>;

  before(async () => {
    const f = join(dir, 'good.snap');
    const p = join(dir, 'good-plain.snap');
    await saveSnapshot(source, f);
    await saveSnapshot(source, p, { compress: false });
    good = readFileSync(f);
    goodPlain = readFileSync(p);
    target = fresh('untouched');
    const s = await openSqliteStorage(target);
    await s.create('/registry/namespaces/keep-me', valueFor(7));
    targetState = await listAll(s);
    await s.close();
  });

  async function assertUntouched(): Promise<void> {
    const s = await openSqliteStorage(target);
    try {
      const now = await listAll(s);
      assert.equal(now.revision, targetState.revision);
      assertSameKeys(now.kvs, targetState.kvs, { revisions: true });
    } finally {
      await s.close();
    }
  }

  async function tryRestore(name: string, bytes: Buffer, code: string, pattern: RegExp): Promise<void> {
    const f = join(dir, name);
    writeFileSync(f, bytes);
    await refused(restoreSnapshot(f, { sqlitePath: target }, { force: true }), code, pattern);
    await assertUntouched();
    const freshTarget = fresh('never-created');
    await refused(restoreSnapshot(f, { sqlitePath: freshTarget }), code, pattern);
    assert.equal(existsSync(freshTarget), false, 'a refused restore must not create the target');
  }

  for (const cut of [0.001, 0.5, 0.9999]) {
    it(`refuses a gzip file truncated at ${cut * 100}%`, async () => {
      await tryRestore(`trunc-${cut}.snap`, good.subarray(0, Math.floor(good.length * cut)), 'Truncated', /truncated/);
    });
  }

  it('refuses uncompressed files truncated inside the header, a record and the trailer', async () => {
    await tryRestore('trunc-header.snap', goodPlain.subarray(0, 20), 'Truncated', /truncated.*inside the header/);
    await tryRestore('trunc-record.snap', goodPlain.subarray(0, Math.floor(goodPlain.length / 2)), 'Truncated', /truncated.*inside record \d+ of \d+/);
    await tryRestore('trunc-trailer.snap', goodPlain.subarray(0, goodPlain.length - 10), 'Truncated', /truncated.*before its checksum trailer/);
  });

  it('refuses a file whose bytes were altered with a checksum mismatch', async () => {
    const bad = Buffer.from(goodPlain);
    const at = Math.floor(bad.length * 0.6);
    bad[at] = (bad[at] ?? 0) ^ 0x01;
    // The flipped byte may land in a value (checksum) or a length field (structure): either way a refusal naming it.
    const f = join(dir, 'flipped.snap');
    writeFileSync(f, bad);
    await assert.rejects(verifySnapshot(f), (e: unknown) => e instanceof SnapshotError && /checksum mismatch|corrupted|truncated/.test(e.message));
    // Flip a byte surely inside the last value: a pure checksum failure.
    const lastValueByte = goodPlain.length - 32 - 9 - 16 - 1;
    const bad2 = Buffer.from(goodPlain);
    bad2[lastValueByte] = (bad2[lastValueByte] ?? 0) ^ 0xff;
    await tryRestore('value-flipped.snap', bad2, 'ChecksumMismatch', /checksum mismatch/);
  });

  it('refuses a corrupted gzip file', async () => {
    const bad = Buffer.from(good);
    const at = Math.floor(bad.length / 2);
    bad[at] = (bad[at] ?? 0) ^ 0x55;
    const f = join(dir, 'gz-flipped.snap');
    writeFileSync(f, bad);
    await assert.rejects(verifySnapshot(f), (e: unknown) => e instanceof SnapshotError && ['Corrupt', 'ChecksumMismatch', 'Truncated'].includes(e.code));
    await assert.rejects(restoreSnapshot(f, { sqlitePath: target }, { force: true }), SnapshotError);
    await assertUntouched();
  });

  it('refuses a snapshot of a newer format version, inside gzip too', async () => {
    const newer = Buffer.from(goodPlain);
    newer.writeUInt32BE(SNAPSHOT_FORMAT_VERSION + 1, 8);
    await tryRestore('newer.snap', newer, 'NewerVersion', /format version 2, newer than this Skiff reads \(1\)/);
    const { gzipSync } = await import('node:zlib');
    await tryRestore('newer.snap.gz', gzipSync(newer), 'NewerVersion', /format version 2/);
    assert.ok(gunzipSync(good).subarray(0, 8).equals(Buffer.from('SKIFFSNP')));
  });

  it('refuses a file that is not a snapshot', async () => {
    await tryRestore('foreign.snap', Buffer.from('SQLite format 3\u0000 and more bytes here'), 'NotSnapshot', /not a Skiff snapshot/);
    await tryRestore('empty.snap', Buffer.alloc(0), 'NotSnapshot', /not a Skiff snapshot/);
  });
});

describe('a snapshot taken while a writer keeps writing', () => {
  it('equals the store state at the snapshot revision exactly', async () => {
    const s = await openSqliteStorage(fresh('busy'));
    try {
      await fillStore(s, 600);
      const stop = new AbortController();
      let writes = 0;
      const writer = (async () => {
        for (let i = 0; !stop.signal.aborted; i++) {
          const key = `/registry/configmaps/busy/cm-${i % 150}`;
          const cur = await s.get(key);
          if (!cur.kv) await s.create(key, valueFor(i, 120));
          else if (i % 5 === 0) await s.delete(key);
          else await s.update(key, valueFor(i, 130, 2), { expectedModRevision: cur.kv.modRevision });
          writes++;
        }
      })();
      // Let the writer get going so that pages interleave with writes.
      while (writes < 50) await new Promise((r) => setImmediate(r));
      const f = join(dir, 'busy.snap');
      const before = writes;
      const info = await saveSnapshot(s, f, { pageSize: 20 });
      const during = writes - before;
      stop.abort();
      await writer;
      assert.ok(during > 0, 'the writer must have written while the snapshot was being taken');
      assert.ok((await s.currentRevision()) > info.header.revision);
      const at = await listAll(s, '/', info.header.revision);
      assertSameKeys(await snapshotRecords(f), at.kvs, { revisions: true });
      assert.equal(info.header.count, at.kvs.size);
    } finally {
      await s.close();
    }
  });
});
