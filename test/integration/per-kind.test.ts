// The shared per-kind harness: every catalog kind, through its example objects, goes through create, get, list
// with a label selector, update, a stale-update conflict, watch from the create's resourceVersion, and delete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminFetch, startServer } from './helpers/cluster.ts';
import type { TestServer } from './helpers/cluster.ts';
import { catalog } from '../../src/api/catalog.ts';
import type { ResourceDefinition } from '../../src/api/resource.ts';
import type { KubeObject } from '../../src/api/meta/types.ts';

function collectionPath(def: ResourceDefinition, ns: string): string {
  const base = def.group === '' ? `/api/${def.version}` : `/apis/${def.group}/${def.version}`;
  return def.namespaced ? `${base}/namespaces/${ns}/${def.plural}` : `${base}/${def.plural}`;
}

async function call(server: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await adminFetch(server, path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

type WatchLine = { type: string; object: { metadata: { resourceVersion: string } } };

/** Reads watch events until a DELETED arrives (or the server's timeout ends the stream). */
async function readWatch(server: TestServer, path: string): Promise<WatchLine[]> {
  const ac = new AbortController();
  const res = await adminFetch(server, path, { signal: ac.signal });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const events: WatchLine[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)) as WatchLine);
        buf = buf.slice(i + 1);
      }
      if (events.some((e) => e.type === 'DELETED')) break;
    }
  } finally {
    ac.abort();
  }
  return events;
}

describe('every catalog kind through the API', () => {
  let server: TestServer;
  before(async () => {
    // API semantics alone: no controllers acting on what the test records.
    server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
  });
  after(async () => {
    await server?.stop();
  });

  for (const def of catalog) {
    if (def.verbs && !def.verbs.includes('get')) {
      // Create-only kinds (access and identity reviews) are answered, never stored.
      it(`${def.plural}${def.group ? '.' + def.group : ''}: create answers with a status; reads are not allowed`, async () => {
        const coll = collectionPath(def, 'default');
        const created = await call(server, 'POST', coll, structuredClone(def.examples[0]!));
        assert.equal(created.status, 201, JSON.stringify(created.json));
        assert.equal(created.json.kind, def.kind);
        assert.ok(created.json.status, 'the answer carries a status');
        assert.equal((await call(server, 'GET', coll)).status, 405);
      });
      continue;
    }
    it(`${def.plural}${def.group ? '.' + def.group : ''}: create, get, list, update, conflict, watch, delete`, async () => {
      assert.ok(def.examples.length > 0, 'the definition has an example object');
      const ns = 'default';
      const example = structuredClone(def.examples[0]!) as KubeObject;
      const name = `harness-${def.singular}`.slice(0, 50);
      example.metadata = { ...example.metadata, name, labels: { ...(example.metadata?.labels ?? {}), harness: 'yes' } };
      if (def.namespaced) example.metadata.namespace = ns;
      else delete example.metadata.namespace;
      delete example.metadata.generateName;
      const coll = collectionPath(def, ns);

      const created = await call(server, 'POST', coll, example);
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const meta = created.json.metadata as { resourceVersion: string; uid: string; name: string; creationTimestamp: string };
      assert.equal(meta.name, name);
      assert.match(meta.uid, /^[0-9a-f-]{36}$/);
      assert.match(meta.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const rv0 = meta.resourceVersion;

      const got = await call(server, 'GET', `${coll}/${name}`);
      assert.equal(got.status, 200);
      assert.equal(got.json.kind, def.kind);
      assert.equal((got.json.metadata as { resourceVersion: string }).resourceVersion, rv0);

      const listed = await call(server, 'GET', `${coll}?labelSelector=harness%3Dyes`);
      assert.equal(listed.status, 200);
      assert.equal(listed.json.kind, `${def.kind}List`);
      const names = (listed.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
      assert.ok(names.includes(name), `list has ${name}: ${names.join(',')}`);
      const none = await call(server, 'GET', `${coll}?labelSelector=harness%3Dno`);
      assert.equal((none.json.items as unknown[]).length, 0);

      const watch = readWatch(server, `${coll}?watch=true&resourceVersion=${rv0}&fieldSelector=metadata.name%3D${name}&timeoutSeconds=20`);

      const upd = structuredClone(got.json) as KubeObject;
      upd.metadata!.labels = { ...upd.metadata!.labels, updated: 'yes' };
      const updated = await call(server, 'PUT', `${coll}/${name}`, upd);
      assert.equal(updated.status, 200, JSON.stringify(updated.json));
      const rv1 = (updated.json.metadata as { resourceVersion: string }).resourceVersion;
      assert.ok(Number(rv1) > Number(rv0));

      const stale = await call(server, 'PUT', `${coll}/${name}`, upd);
      assert.equal(stale.status, 409);
      assert.equal(stale.json.reason, 'Conflict');

      const del = await call(server, 'DELETE', `${coll}/${name}`);
      assert.equal(del.status, 200, JSON.stringify(del.json));
      // Kinds with finalizers or graceful deletion are only marked; finish them off.
      const after = await call(server, 'GET', `${coll}/${name}`);
      if (after.status === 200) {
        const m = after.json.metadata as { deletionTimestamp?: string; finalizers?: string[] };
        assert.ok(m.deletionTimestamp, 'a held object carries a deletionTimestamp');
        const cur = after.json as KubeObject;
        cur.metadata!.finalizers = [];
        if (def.kind === 'Namespace') {
          const fin = await call(server, 'PUT', `${coll}/${name}/finalize`, { ...cur, spec: { finalizers: [] } });
          assert.equal(fin.status, 200, JSON.stringify(fin.json));
        } else {
          const put = await call(server, 'PUT', `${coll}/${name}`, cur);
          assert.ok(put.status === 200, JSON.stringify(put.json));
          const forced = await call(server, 'DELETE', `${coll}/${name}?gracePeriodSeconds=0`);
          assert.ok(forced.status === 200 || forced.status === 404, JSON.stringify(forced.json));
        }
      }
      const gone = await call(server, 'GET', `${coll}/${name}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.json.reason, 'NotFound');

      const events = await watch;
      const types = events.map((e) => e.type);
      assert.equal(types[0], 'MODIFIED');
      assert.equal(types[types.length - 1], 'DELETED');
      assert.equal(events[0]!.object.metadata.resourceVersion, rv1);
    });
  }
});
