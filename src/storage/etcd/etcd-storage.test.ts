import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { setLogSink } from '../../base/log.ts';
import { waitFor } from '../../base/wait.ts';
import { storageConformance } from '../conformance.ts';
import { isStorageError } from '../errors.ts';
import type { Storage, WatchEvent } from '../interface.ts';
import { freeLoopbackPort, startEtcd, type EtcdProcess } from './etcd-process.ts';
import { etcdBulkLoader, openEtcdStorage, type EtcdBulkLoader } from './etcd-storage.ts';

setLogSink(null);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// Each case gets its own etcd on its own data dir, so that reopen can restart the server for real.
storageConformance('etcd', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-etcd-conf-'));
  let etcd = await startEtcd({ dataDir });
  let storage: Storage = await openEtcdStorage(etcd.endpoints);
  return {
    storage,
    reopen: async () => {
      await etcd.stop();
      etcd = await startEtcd({ dataDir });
      storage = await openEtcdStorage(etcd.endpoints);
      return storage;
    },
    cleanup: async () => {
      await storage.close();
      await etcd.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

/** The bulk loader of an etcd engine (the test fails if the engine offers none). */
function loaderOf(s: Storage): EtcdBulkLoader {
  const l = etcdBulkLoader(s);
  assert.ok(l !== null, 'the etcd engine offers a bulk loader');
  return l;
}

// Once more with a revision offset far above anything etcd reaches (as after a restore): every revision
// the engine takes or gives must be translated, or etcd answers "future revision" or the wrong history.
const BIG = 1_000_000_000_000;
storageConformance('etcd with a revision offset', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-etcd-conf-off-'));
  let etcd = await startEtcd({ dataDir });
  const setup = await openEtcdStorage(etcd.endpoints);
  await loaderOf(setup).raiseRevision(BIG);
  await setup.close();
  // A second engine reads the offset from etcd at open, as every API server does.
  let storage: Storage = await openEtcdStorage(etcd.endpoints);
  assert.ok((await storage.currentRevision()) > BIG);
  return {
    storage,
    reopen: async () => {
      await etcd.stop();
      etcd = await startEtcd({ dataDir });
      storage = await openEtcdStorage(etcd.endpoints);
      return storage;
    },
    cleanup: async () => {
      await storage.close();
      await etcd.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describe('etcd engine specifics', () => {
  let etcd: EtcdProcess;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd.stop();
  });

  it('fails fast with one line naming an endpoint nobody listens on', async () => {
    const port = await freeLoopbackPort();
    const started = Date.now();
    await assert.rejects(openEtcdStorage([`127.0.0.1:${port}`]), (e: unknown) => {
      assert.ok(isStorageError(e, 'Unavailable'));
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });

  it('gives up within the dial timeout on an endpoint that accepts but never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const addr = silent.address();
    assert.ok(addr !== null && typeof addr === 'object');
    try {
      const started = Date.now();
      await assert.rejects(openEtcdStorage([`127.0.0.1:${addr.port}`], { dialTimeoutMs: 700 }), (e: unknown) => {
        assert.ok(isStorageError(e, 'Unavailable'));
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${addr.port}`));
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took >= 600 && took < 4000, `took ${took} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('refuses malformed endpoints', async () => {
    await assert.rejects(openEtcdStorage(['not a url']), (e: unknown) => isStorageError(e, 'Invalid'));
    await assert.rejects(openEtcdStorage([]), (e: unknown) => isStorageError(e, 'Invalid'));
  });

  it('stores keys under keyPrefix and returns them verbatim', async () => {
    const s = await openEtcdStorage(etcd.endpoints, { keyPrefix: '/tenant-a' });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      const kv = await s.create('/registry/pods/x', enc('v'));
      assert.equal(kv.key, '/registry/pods/x');
      assert.equal(await raw.get('/tenant-a/registry/pods/x').string(), 'v');
      assert.equal(await raw.get('/registry/pods/x').string(), null);
      assert.deepEqual((await s.list('/registry/')).kvs.map((k) => k.key), ['/registry/pods/x']);
      assert.equal((await s.list('')).kvs.length, 1, 'the empty prefix stays inside keyPrefix');
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('two engines on one etcd agree on revisions once the offset is raised, and the offset never goes down', async () => {
    const p1 = await openEtcdStorage(etcd.endpoints, { keyPrefix: '/offset-agree' });
    let p2: Storage | undefined;
    try {
      const early = await p1.create('/registry/a', enc('a'));
      const reached = await loaderOf(p1).raiseRevision(early.modRevision + 5_000_000);
      assert.ok(reached > early.modRevision + 5_000_000, `revision ${reached}`);
      assert.equal(await p1.currentRevision(), reached);
      // The key written before the raise moved up with every other revision.
      const a = (await p1.get('/registry/a')).kv;
      assert.ok(a !== null);
      assert.equal(a.modRevision, early.modRevision + loaderOf(p1).revisionOffset);
      assert.ok(loaderOf(p1).revisionOffset > 0);

      p2 = await openEtcdStorage(etcd.endpoints, { keyPrefix: '/offset-agree' });
      assert.equal(loaderOf(p2).revisionOffset, loaderOf(p1).revisionOffset);
      assert.equal(await p2.currentRevision(), await p1.currentRevision());
      assert.deepEqual((await p2.get('/registry/a')).kv?.modRevision, a.modRevision);

      const second = p2;
      const from = await p1.currentRevision();
      const seen: WatchEvent[] = [];
      const ac = new AbortController();
      const loop = (async () => {
        for await (const ev of second.watch('/registry/', { fromRevision: from, signal: ac.signal, progressIntervalMs: 0 })) seen.push(ev);
      })();
      const b = await p1.create('/registry/b', enc('b'));
      const a2 = await p2.update('/registry/a', enc('a2'), { expectedModRevision: a.modRevision });
      await assert.rejects(p1.update('/registry/a', enc('stale'), { expectedModRevision: a.modRevision }), (e: unknown) => isStorageError(e, 'Conflict'));
      await waitFor(() => seen.length >= 2, { what: 'both writes on the second engine\'s watch' });
      ac.abort();
      await loop;
      assert.deepEqual(seen.map((e) => e.revision), [b.modRevision, a2.modRevision]);
      assert.equal(b.modRevision, from + 1);
      const page = await p2.list('/registry/', { limit: 1 });
      const rest = await p1.list('/registry/', { continue: page.continue ?? '' });
      assert.equal(rest.revision, page.revision, 'a continue token from one engine reads the same snapshot on the other');
      assert.deepEqual([...page.kvs, ...rest.kvs].map((kv) => [kv.key, kv.modRevision]), [['/registry/a', a2.modRevision], ['/registry/b', b.modRevision]]);
      assert.deepEqual((await p1.list('/registry/', { revision: b.modRevision })).kvs.map((kv) => kv.modRevision), [a.modRevision, b.modRevision]);

      const offset = loaderOf(p1).revisionOffset;
      const now = await p1.currentRevision();
      assert.equal(await loaderOf(p2).raiseRevision(10), now, 'a lower target changes nothing');
      assert.equal(loaderOf(p2).revisionOffset, offset);
      assert.deepEqual((await p1.list('')).kvs.map((kv) => kv.key), ['/registry/a', '/registry/b'], 'the offset key stays out of every listing');
      assert.equal((await p1.count('')).count, 2);
    } finally {
      await p2?.close();
      await p1.close();
    }
  });

  it('refuses reserved keys and an offset key that does not hold a number', async () => {
    const s = await openEtcdStorage(etcd.endpoints, { keyPrefix: '/offset-bad' });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      await assert.rejects(s.create('\u0000skiff-revision-offset', enc('5')), (e: unknown) => isStorageError(e, 'Invalid'));
      await raw.put('/offset-bad\u0000skiff-revision-offset').value('not a number');
      await assert.rejects(openEtcdStorage(etcd.endpoints, { keyPrefix: '/offset-bad' }), (e: unknown) => {
        assert.ok(isStorageError(e, 'Invalid'));
        assert.match(e.message, /not a revision offset/);
        return true;
      });
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('creates keys in bulk, many per etcd revision, and names a key that already exists', async () => {
    const s = await openEtcdStorage(etcd.endpoints, { keyPrefix: '/bulk' });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      const before = await s.currentRevision();
      async function* records(): AsyncGenerator<{ key: string; value: Uint8Array; ttlSeconds?: number }> {
        for (let i = 0; i < 50; i++) yield { key: `/k/${String(i).padStart(2, '0')}`, value: enc(`v${i}`), ...(i === 7 ? { ttlSeconds: 600 } : {}) };
      }
      const res = await loaderOf(s).createAll(records(), { maxOps: 8, concurrency: 3 });
      assert.equal(res.written, 50);
      const all = (await s.list('/k/')).kvs;
      assert.deepEqual(all.map((kv) => Buffer.from(kv.value).toString()), Array.from({ length: 50 }, (_, i) => `v${i}`));
      const revisions = new Set(all.map((kv) => kv.modRevision));
      assert.equal(revisions.size, 7, 'ceil(50 / 8) Txns, one revision each');
      assert.equal(Math.max(...revisions), res.revision);
      assert.ok(Math.min(...revisions) > before);
      const leased = (await raw.kv.range({ key: Buffer.from('/bulk/k/07') })).kvs[0]?.lease;
      assert.ok(leased !== undefined && leased !== '0', 'a record with a TTL gets a lease');

      async function* again(): AsyncGenerator<{ key: string; value: Uint8Array }> {
        yield { key: '/k/new-1', value: enc('n') };
        yield { key: '/k/13', value: enc('n') };
      }
      await assert.rejects(loaderOf(s).createAll(again()), (e: unknown) => {
        assert.ok(isStorageError(e, 'KeyExists'));
        assert.match(e.message, /"\/k\/13"/);
        return true;
      });
      assert.equal((await s.get('/k/new-1')).kv, null, 'a Txn writes all of its keys or none');
      assert.equal(await loaderOf(s).deletePrefix('/k/'), 50);
      assert.equal((await s.count('/k/')).count, 0);
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('reuses one lease for keys of the same TTL', async () => {
    const s = await openEtcdStorage(etcd.endpoints);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      await s.create('/lease/a', enc('a'), { ttlSeconds: 600 });
      await s.create('/lease/b', enc('b'), { ttlSeconds: 600 });
      await Promise.all([s.create('/lease/c', enc('c'), { ttlSeconds: 600 }), s.create('/lease/d', enc('d'), { ttlSeconds: 600 })]);
      await s.create('/lease/other', enc('o'), { ttlSeconds: 900 });
      const res = await raw.kv.range({ key: Buffer.from('/lease/'), range_end: Buffer.from('/lease0') });
      const byKey = new Map(res.kvs.map((kv) => [kv.key.toString(), kv.lease]));
      const shared = byKey.get('/lease/a');
      assert.ok(shared !== undefined && shared !== '0');
      for (const k of ['/lease/b', '/lease/c', '/lease/d']) assert.equal(byKey.get(k), shared, k);
      assert.notEqual(byKey.get('/lease/other'), shared);
      assert.notEqual(byKey.get('/lease/other'), '0');
      const ttl = await raw.leaseClient.leaseTimeToLive({ ID: shared });
      // kube-apiserver's rule: granted for the TTL plus min(60 s, 5 % of it).
      assert.equal(Number(ttl.grantedTTL), 630);
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('replaces a shared lease that was revoked behind its back', async () => {
    const s = await openEtcdStorage(etcd.endpoints);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      await s.create('/revoked/a', enc('a'), { ttlSeconds: 700 });
      const first = (await raw.kv.range({ key: Buffer.from('/revoked/a') })).kvs[0]?.lease;
      assert.ok(first !== undefined && first !== '0');
      await raw.leaseClient.leaseRevoke({ ID: first });
      const b = await s.create('/revoked/b', enc('b'), { ttlSeconds: 700 });
      const second = (await raw.kv.range({ key: Buffer.from('/revoked/b') })).kvs[0]?.lease;
      assert.ok(second !== undefined && second !== '0' && second !== first);
      assert.equal((await s.get('/revoked/b')).kv?.modRevision, b.modRevision);
    } finally {
      raw.close();
      await s.close();
    }
  });

  it('health() resolves while etcd serves and fails with one line naming it once etcd is gone', async () => {
    const own = await startEtcd();
    const s = await openEtcdStorage(own.endpoints, { dialTimeoutMs: 1000 });
    try {
      await s.health();
      await own.stop();
      const started = Date.now();
      await assert.rejects(s.health(), (e: unknown) => {
        assert.ok(isStorageError(e, 'Unavailable'));
        assert.ok(e.message.includes(own.endpoints[0] ?? '?'), e.message);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      assert.ok(Date.now() - started < 5000);
    } finally {
      await s.close();
      await own.stop();
    }
  });

  it('ends a watch whose consumer falls too far behind with WatchOverflow, after what it holds', async () => {
    const s = await openEtcdStorage(etcd.endpoints, { watchBufferEvents: 20 });
    try {
      const from = await s.currentRevision();
      const it = s.watch('/overflow/', { fromRevision: from, progressIntervalMs: 0 })[Symbol.asyncIterator]();
      const first = it.next(); // starts the watch
      for (let i = 0; i < 60; i++) await s.create(`/overflow/${i}`, enc('x'));
      const events: WatchEvent[] = [(await first).value as WatchEvent];
      let error: unknown;
      try {
        for (;;) {
          const r = await it.next();
          if (r.done === true) break;
          events.push(r.value);
        }
      } catch (e) {
        error = e;
      }
      assert.ok(isStorageError(error, 'WatchOverflow'), String(error));
      assert.ok(events.length >= 20 && events.length < 60, `delivered ${events.length}`);
      events.forEach((ev, i) => assert.equal(ev.revision, from + 1 + i, 'no gap before the overflow'));
    } finally {
      await s.close();
    }
  });

  it('close() ends open watches without error and refuses further calls', async () => {
    const s = await openEtcdStorage(etcd.endpoints);
    const from = await s.currentRevision();
    let ended = false;
    let failed: unknown;
    const loop = (async () => {
      try {
        for await (const ev of s.watch('/closing/', { fromRevision: from })) void ev;
      } catch (e) {
        failed = e;
      }
      ended = true;
    })();
    await s.create('/closing/a', enc('a'));
    await s.close();
    await loop;
    assert.ok(ended);
    assert.equal(failed, undefined);
    await assert.rejects(s.get('/closing/a'), (e: unknown) => isStorageError(e, 'Closed'));
  });

  it('resumes a watch after etcd restarts, without a gap or a duplicate', async () => {
    // A private server on a fixed data dir; restarted on the same ports so the client can reconnect.
    const dataDir = await mkdtemp(join(tmpdir(), 'skiff-etcd-resume-'));
    const clientPort = await freeLoopbackPort();
    const peerPort = await freeLoopbackPort();
    const ports = { client: clientPort, peer: peerPort };
    let e2 = await startEtcd({ dataDir, ports });
    const s = await openEtcdStorage([`127.0.0.1:${clientPort}`]);
    const seen: number[] = [];
    let failed: unknown;
    const ac = new AbortController();
    try {
      const from = await s.currentRevision();
      const loop = (async () => {
        try {
          for await (const ev of s.watch('/resume/', { fromRevision: from, signal: ac.signal, progressIntervalMs: 0 })) seen.push(ev.revision);
        } catch (e) {
          failed = e;
        }
      })();
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await s.create(`/resume/a${i}`, enc('a'))).modRevision);
      await waitFor(() => seen.length === 5, { what: 'events before the restart' });
      await e2.stop();
      e2 = await startEtcd({ dataDir, ports });
      for (let i = 0; i < 5; i++) {
        revs.push((await waitFor(async () => s.create(`/resume/b${i}`, enc('b')).catch(() => null), { timeoutMs: 15_000 })).modRevision);
      }
      await waitFor(() => seen.length >= 10 || failed !== undefined, { timeoutMs: 15_000, what: 'events after the restart' });
      ac.abort();
      await loop;
      assert.equal(failed, undefined);
      assert.deepEqual(seen, revs);
    } finally {
      ac.abort();
      await s.close();
      await e2.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
