// Snapshots end to end: a real server with namespaces, deployments, secrets and config maps and a writer
// that keeps writing; a snapshot; things deleted afterwards; the snapshot restored into a fresh data dir and
// a fresh etcd; a server started on each; every object compared with what the snapshot held, through the
// API and byte for byte per key in the store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerSnapshotCommands } from '../../src/cmd/snapshot.ts';
import { setLogSink } from '../../src/base/log.ts';
import { startEtcd, type EtcdProcess } from '../../src/storage/etcd/etcd-process.ts';
import type { KeyValue, Storage } from '../../src/storage/interface.ts';
import { openStorage } from '../../src/storage/open.ts';
import { snapshotRecords } from '../../src/storage/snapshot/snapshot-test-helpers.ts';
import { adminFetch, startServer, type TestServer } from './helpers/cluster.ts';

setLogSink(null);

async function api(server: { url: string; dataDir: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await adminFetch(server, path, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function create(server: TestServer, path: string, obj: unknown): Promise<void> {
  const r = await api(server, 'POST', path, obj);
  assert.equal(r.status, 201, `POST ${path}: ${JSON.stringify(r.json)}`);
}

async function snapshotCli(...args: string[]): Promise<string> {
  let text = '';
  const program = new Command('skiff').exitOverride();
  registerSnapshotCommands(program, { out: (s) => (text += s) });
  await program.parseAsync(['node', 'skiff', 'snapshot', ...args]);
  return text;
}

const OBJECT_KEY = /^\/registry\/(namespaces|configmaps|secrets|apps\/deployments)\/.*(snap-|cm-|sec-|web-)/;

/** The API path of a stored object, from its storage key. */
function apiPathOf(key: string): string {
  const parts = key.split('/').filter(Boolean); // registry, [group], plural, [ns], name
  if (parts[1] === 'namespaces') return `/api/v1/namespaces/${parts[2]}`;
  if (parts[1] === 'apps') return `/apis/apps/v1/namespaces/${parts[3]}/${parts[2]}/${parts[4]}`;
  return `/api/v1/namespaces/${parts[2]}/${parts[1]}/${parts[3]}`;
}

function withoutRv(o: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(o);
  const meta = copy.metadata as Record<string, unknown> | undefined;
  if (meta) delete meta.resourceVersion;
  return copy;
}

/** Compares every test object of the snapshot with what a server on the restored store serves. */
async function compareThroughApi(server: TestServer, snap: Map<string, KeyValue>, opts: { sameRevisions: boolean }): Promise<number> {
  let compared = 0;
  for (const [key, kv] of snap) {
    if (!OBJECT_KEY.test(key)) continue;
    const stored = JSON.parse(Buffer.from(kv.value).toString('utf8')) as Record<string, unknown>;
    const r = await api(server, 'GET', apiPathOf(key));
    assert.equal(r.status, 200, `GET ${apiPathOf(key)}: ${JSON.stringify(r.json)}`);
    assert.deepEqual(withoutRv(r.json), withoutRv(stored), key);
    const rv = Number((r.json.metadata as { resourceVersion?: string }).resourceVersion);
    if (opts.sameRevisions) assert.equal(rv, kv.modRevision, `resourceVersion of ${key}`);
    compared++;
  }
  return compared;
}

/** Compares the snapshot's test objects with the stored bytes, key by key. */
async function compareBytes(storage: Storage, snap: Map<string, KeyValue>): Promise<void> {
  for (const [key, kv] of snap) {
    if (!OBJECT_KEY.test(key)) continue;
    const got = await storage.get(key);
    assert.ok(got.kv, `missing ${key}`);
    assert.ok(Buffer.from(got.kv.value).equals(Buffer.from(kv.value)), `bytes of ${key} differ`);
  }
}

describe('snapshot save and restore across engines', { timeout: 240_000 }, () => {
  let root: string;
  let source: TestServer;
  let etcd: EtcdProcess | undefined;
  const servers: TestServer[] = [];
  let snapFile: string;
  let snap: Map<string, KeyValue>;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'skiff-it-snap-'));
    source = await startServer({ dataDir: join(root, 'source') });
    for (let i = 0; i < 4; i++) await create(source, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `snap-${i}` } });
    for (let i = 0; i < 20; i++) {
      const ns = `snap-${i % 4}`;
      await create(source, `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i), text: 'é✓'.repeat(i) } });
      await create(source, `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `sec-${i}` }, data: { k: Buffer.from([0, 255, i]).toString('base64') } });
    }
    for (let i = 0; i < 5; i++) {
      await create(source, `/apis/apps/v1/namespaces/snap-${i % 4}/deployments`, {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `web-${i}` },
        spec: { replicas: 1, selector: { matchLabels: { app: `web-${i}` } }, template: { metadata: { labels: { app: `web-${i}` } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } },
      });
    }
  });

  after(async () => {
    for (const s of [source, ...servers]) await s.stop({ keepData: true }).catch(() => undefined);
    await etcd?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('takes a snapshot while a writer keeps writing', async () => {
    const stop = new AbortController();
    let writes = 0;
    const writer = (async () => {
      for (let i = 0; !stop.signal.aborted; i++) {
        await api(source, 'POST', '/api/v1/namespaces/snap-0/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `busy-${i}` } });
        writes++;
      }
    })();
    while (writes < 5) await new Promise((r) => setTimeout(r, 10));
    const probe = await adminFetch(source, '/skiff/v1/snapshot');
    await probe.body?.cancel();
    if (probe.status === 200) {
      // Online: through the server's admin endpoint while the writer keeps going.
      const before = writes;
      const out = await snapshotCli('save', '--data-dir', source.dataDir, '--name', 'busy');
      assert.match(out, /saved from the running server/);
      assert.ok(writes > before, 'the writer must have written during the snapshot');
      stop.abort();
      await writer;
      await source.stop({ keepData: true });
    } else {
      // The endpoint is not mounted in this build: snapshot the stopped store instead.
      stop.abort();
      await writer;
      await source.stop({ keepData: true });
      await snapshotCli('save', '--data-dir', source.dataDir, '--name', 'busy');
    }
    snapFile = join(source.dataDir, 'snapshots', 'busy.snap');
    snap = await snapshotRecords(snapFile);
    const src = await openStorage(`sqlite://${join(source.dataDir, 'state.db')}`);
    try {
      // The snapshot is exactly the store at its revision (the writer has stopped; nothing was lost or added).
      const { header } = await import('../../src/storage/snapshot/format.ts').then((m) => m.openSnapshotReader(snapFile, { headerOnly: true }));
      let cont: string | undefined;
      const at = new Map<string, KeyValue>();
      do {
        const page = await src.list('/', { limit: 500, ...(cont ? { continue: cont } : { revision: header.revision }) });
        for (const kv of page.kvs) at.set(kv.key, kv);
        cont = page.continue;
      } while (cont);
      assert.deepEqual([...snap.keys()].sort(), [...at.keys()].sort());
      for (const [k, kv] of at) assert.ok(Buffer.from(kv.value).equals(Buffer.from(snap.get(k)!.value)), k);
    } finally {
      await src.close();
    }
    // Delete things after the snapshot: the restores must bring them back.
    source = await startServer({ dataDir: source.dataDir });
    assert.equal((await api(source, 'DELETE', '/api/v1/namespaces/snap-1/configmaps/cm-1')).status, 200);
    assert.equal((await api(source, 'DELETE', '/apis/apps/v1/namespaces/snap-0/deployments/web-0')).status, 200);
    await source.stop({ keepData: true });
  });

  it('restores into a fresh data dir; a server there serves every object as the snapshot held it', async () => {
    const dataDir = join(root, 'restored-sqlite');
    const out = await snapshotCli('restore', snapFile, '--data-dir', dataDir);
    assert.match(out, /restored [\d,]+ keys into .*state\.db/);
    // Controllers would start moving the restored objects on (Deployment status and revision): this compares storage.
    const server = await startServer({ dataDir, args: ['--disable-controller-manager', '--disable-scheduler'] });
    servers.push(server);
    const n = await compareThroughApi(server, snap, { sameRevisions: true });
    assert.ok(n >= 4 + 40 + 5, `compared ${n} objects`);
    await server.stop({ keepData: true });
    const s = await openStorage(`sqlite://${join(dataDir, 'state.db')}`);
    try {
      await compareBytes(s, snap);
    } finally {
      await s.close();
    }
  });

  it('restores into a fresh etcd; a server there serves every object as the snapshot held it', async () => {
    etcd = await startEtcd();
    const url = `etcd://${etcd.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',')}`;
    const out = await snapshotCli('restore', snapFile, '--datastore', url, '--data-dir', join(root, 'etcd-server'));
    assert.match(out, /objects have new resourceVersions on this engine/);
    const server = await startServer({ dataDir: join(root, 'etcd-server'), args: ['--datastore', url, '--disable-controller-manager', '--disable-scheduler'] });
    servers.push(server);
    const n = await compareThroughApi(server, snap, { sameRevisions: false });
    assert.ok(n >= 49, `compared ${n} objects`);
    await server.stop({ keepData: true });
    const s = await openStorage(url);
    try {
      await compareBytes(s, snap);
    } finally {
      await s.close();
    }
  });
});
