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
import { openEtcdStorage } from './etcd-storage.ts';

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
