import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { RestClient } from './rest-client.ts';
import { ApiClient, ResourceClient } from './resource-client.ts';
import type { WatchEvent } from './resource-client.ts';
import { isAlreadyExists, isConflict, isGone, isNotFound } from './api-error.ts';
import { FakeApiServer } from './testing/fake-api-server.ts';
import { testConfigMaps, testDeployments, testNodes, testPods, testResources } from './testing/test-resources.ts';

let fake: FakeApiServer;
let rest: RestClient;
let api: ApiClient;

before(async () => {
  fake = new FakeApiServer({ resources: testResources });
  const url = await fake.start();
  rest = new RestClient({ server: url, namespace: 'default' });
  api = new ApiClient(rest);
});

after(async () => {
  api.close();
  await fake.stop();
});

test('paths derive from the definition', () => {
  const pods = new ResourceClient(rest, testPods);
  assert.equal(pods.path({ namespace: 'ns', name: 'web', subresource: 'binding' }), '/api/v1/namespaces/ns/pods/web/binding');
  assert.equal(pods.path(), '/api/v1/pods');
  assert.equal(new ResourceClient(rest, testDeployments).path({ namespace: 'a', name: 'd' }), '/apis/apps/v1/namespaces/a/deployments/d');
  assert.equal(new ResourceClient(rest, testNodes).path({ namespace: 'ignored', name: 'n1' }), '/api/v1/nodes/n1');
  assert.equal(pods.path({ namespace: 'n s', name: 'a/b' }), '/api/v1/namespaces/n%20s/pods/a%2Fb');
});

test('create, get, update with optimistic concurrency, updateStatus, delete', async () => {
  const cms = api.resource<ConfigMap>(testConfigMaps);
  assert.equal(api.resource(testConfigMaps), cms, 'one client per resource');
  const created = await cms.create({ metadata: { name: 'cfg', namespace: 'ns1' }, data: { a: '1' } });
  assert.equal(created.kind, 'ConfigMap');
  assert.ok(created.metadata?.resourceVersion);
  const dup = await cms.create({ metadata: { name: 'cfg' }, data: {} }, { namespace: 'ns1' }).catch((e: unknown) => e);
  assert.ok(isAlreadyExists(dup));
  assert.equal((dup as Error).message, 'configmaps "cfg" already exists');

  const got = await cms.get('cfg', { namespace: 'ns1' });
  assert.deepEqual(got.data, { a: '1' });
  const updated = await cms.update({ ...got, data: { a: '2' } });
  assert.deepEqual(updated.data, { a: '2' });
  const stale = await cms.update({ ...got, data: { a: '3' } }).catch((e: unknown) => e);
  assert.ok(isConflict(stale));
  assert.match((stale as Error).message, /the object has been modified/);

  const pods = api.resource<Pod>(testPods);
  const pod = await pods.create({ metadata: { name: 'p', namespace: 'ns1' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  const withStatus = await pods.updateStatus({ ...pod, status: { phase: 'Running' } });
  assert.equal(withStatus.status?.phase, 'Running');
  assert.equal(fake.requests.at(-1)?.path, '/api/v1/namespaces/ns1/pods/p/status');

  await cms.delete('cfg', { namespace: 'ns1', propagationPolicy: 'Foreground', gracePeriodSeconds: 0, preconditions: { resourceVersion: updated.metadata?.resourceVersion }, dryRun: false });
  assert.deepEqual(fake.requests.at(-1)?.body, {
    kind: 'DeleteOptions',
    apiVersion: 'v1',
    propagationPolicy: 'Foreground',
    gracePeriodSeconds: 0,
    preconditions: { resourceVersion: updated.metadata?.resourceVersion },
  });
  const missing = await cms.get('cfg', { namespace: 'ns1' }).catch((e: unknown) => e);
  assert.ok(isNotFound(missing));
  assert.equal((missing as Error).message, 'configmaps "cfg" not found');
  await assert.rejects(() => cms.get('x'), /a namespace is required for configmaps "x"/);
  await assert.rejects(() => cms.create({ metadata: { name: 'x', namespace: 'a' } }, { namespace: 'b' }), /does not match/);
});

test('list with selectors and pagination; deleteCollection', async () => {
  const cms = api.resource<ConfigMap>(testConfigMaps);
  for (let i = 0; i < 5; i++) {
    await cms.create({ metadata: { name: `l${i}`, namespace: 'lists', labels: { i: String(i), even: String(i % 2 === 0) } } });
  }
  await cms.create({ metadata: { name: 'other', namespace: 'elsewhere' } });
  const page1 = await cms.list({ namespace: 'lists', limit: 2 });
  assert.equal(page1.items.length, 2);
  assert.ok(page1.metadata.continue);
  const q = fake.requests.at(-1)?.query;
  assert.equal(q?.get('limit'), '2');
  const names: string[] = page1.items.map((c) => c.metadata?.name ?? '');
  let cont: string | undefined = page1.metadata.continue;
  while (cont) {
    const p = await cms.list({ namespace: 'lists', limit: 2, continue: cont });
    names.push(...p.items.map((c) => c.metadata?.name ?? ''));
    cont = p.metadata.continue;
  }
  assert.deepEqual(names, ['l0', 'l1', 'l2', 'l3', 'l4']);
  const even = await cms.list({ namespace: 'lists', labelSelector: 'even=true', fieldSelector: 'metadata.name!=x', resourceVersion: '0', resourceVersionMatch: 'NotOlderThan' });
  assert.deepEqual(even.items.map((c) => c.metadata?.name), ['l0', 'l2', 'l4']);
  const last = fake.requests.at(-1);
  assert.equal(last?.query.get('fieldSelector'), 'metadata.name!=x');
  assert.equal(last?.query.get('resourceVersionMatch'), 'NotOlderThan');
  const all = await cms.list();
  assert.ok(all.items.some((c) => c.metadata?.namespace === 'elsewhere'), 'no namespace lists across namespaces');
  assert.equal(fake.requests.at(-1)?.path, '/api/v1/configmaps');

  await cms.deleteCollection({ namespace: 'lists', labelSelector: 'even=false' });
  assert.deepEqual((await cms.list({ namespace: 'lists' })).items.map((c) => c.metadata?.name), ['l0', 'l2', 'l4']);
  await assert.rejects(() => cms.deleteCollection({}), /a namespace is required/);
});

test('patch types set the content type; apply needs a field manager', async () => {
  const cms = api.resource<ConfigMap>(testConfigMaps);
  await cms.create({ metadata: { name: 'pt', namespace: 'p' }, data: { a: '1', b: '2' } });
  const merged = await cms.patch('pt', { data: { b: null, c: '3' } }, { namespace: 'p', type: 'merge' });
  assert.deepEqual(merged.data, { a: '1', c: '3' });
  assert.equal(fake.requests.at(-1)?.headers['content-type'], 'application/merge-patch+json');
  const jp = await cms.patch('pt', [{ op: 'replace', path: '/data/a', value: 'x' }], { namespace: 'p', type: 'json' });
  assert.equal(jp.data?.['a'], 'x');
  assert.equal(fake.requests.at(-1)?.headers['content-type'], 'application/json-patch+json');
  await cms.patch('pt', { data: { d: '4' } }, { namespace: 'p', type: 'strategic' });
  assert.equal(fake.requests.at(-1)?.headers['content-type'], 'application/strategic-merge-patch+json');
  await cms.patch('pt', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pt' }, data: { e: '5' } }, { namespace: 'p', type: 'apply', fieldManager: 'me', force: true });
  const req = fake.requests.at(-1);
  assert.equal(req?.headers['content-type'], 'application/apply-patch+yaml');
  assert.equal(req?.query.get('fieldManager'), 'me');
  assert.equal(req?.query.get('force'), 'true');
  await assert.rejects(() => cms.patch('pt', {}, { namespace: 'p', type: 'apply' }), /fieldManager is required/);
});

test('subresources: binding POST, scale GET', async () => {
  const pods = api.resource<Pod>(testPods);
  await pods.create({ metadata: { name: 'b', namespace: 's' } });
  await pods.createSubresource('b', 'binding', { namespace: 's', body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b' }, target: { kind: 'Node', name: 'n1' } } });
  const req = fake.requests.at(-1);
  assert.equal(req?.method, 'POST');
  assert.equal(req?.path, '/api/v1/namespaces/s/pods/b/binding');
  assert.deepEqual((req?.body as { target: unknown }).target, { kind: 'Node', name: 'n1' });
  const deploys = api.resource(testDeployments);
  await deploys.create({ metadata: { name: 'd', namespace: 's' } });
  await deploys.getSubresource('d', 'scale', { namespace: 's' });
  assert.equal(fake.requests.at(-1)?.path, '/apis/apps/v1/namespaces/s/deployments/d/scale');
  await deploys.updateSubresource('d', 'scale', { namespace: 's', body: { spec: { replicas: 3 } } });
  assert.equal(fake.requests.at(-1)?.method, 'PUT');
});

test('watch streams typed events from a resourceVersion, bookmarks, and ends on abort', async () => {
  const cms = api.resource<ConfigMap>(testConfigMaps);
  const start = await cms.list({ namespace: 'w' });
  const ac = new AbortController();
  const events: WatchEvent<ConfigMap>[] = [];
  const done = (async () => {
    for await (const ev of cms.watch({ namespace: 'w', resourceVersion: start.metadata.resourceVersion, allowWatchBookmarks: true, signal: ac.signal })) {
      events.push(ev);
      if (ev.type === 'BOOKMARK') ac.abort();
    }
  })();
  const deadline = Date.now() + 5000;
  while (fake.watchCount() === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const c = await cms.create({ metadata: { name: 'w1', namespace: 'w' } });
  await cms.update({ ...c, data: { x: '1' } });
  await cms.create({ metadata: { name: 'other-ns', namespace: 'elsewhere' } });
  await cms.delete('w1', { namespace: 'w' });
  while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  fake.sendBookmark();
  await done;
  assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);
  const first = events[0];
  assert.equal(first?.type === 'ERROR' ? '' : first?.object.metadata?.name, 'w1');
  const q = fake.requests.find((r) => r.query.get('watch') === 'true')?.query;
  assert.equal(q?.get('allowWatchBookmarks'), 'true');
});

test('watch from a compacted resourceVersion: ERROR event or 410', async () => {
  const cms = api.resource<ConfigMap>(testConfigMaps);
  await cms.create({ metadata: { name: 'c1', namespace: 'g' } });
  const old = String(fake.resourceVersion() - 1);
  fake.compact();
  const events: WatchEvent<ConfigMap>[] = [];
  for await (const ev of cms.watch({ namespace: 'g', resourceVersion: old })) events.push(ev);
  assert.equal(events.length, 1);
  const ev = events[0];
  assert.equal(ev?.type, 'ERROR');
  assert.equal(ev?.type === 'ERROR' ? ev.object.code : 0, 410);
  fake.goneMode = 'status';
  try {
    const it = cms.watch({ namespace: 'g', resourceVersion: old });
    const e = await it.next().catch((x: unknown) => x);
    assert.ok(isGone(e));
  } finally {
    fake.goneMode = 'event';
  }
});
