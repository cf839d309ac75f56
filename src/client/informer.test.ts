import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { waitFor } from '../base/wait.ts';
import { setLogSink } from '../base/log.ts';
import { FakeClock } from '../base/clock.ts';
import { RestClient } from './rest-client.ts';
import { ApiClient } from './resource-client.ts';
import { SharedInformer, SharedInformerFactory } from './informer.ts';
import type { ResourceEventHandler } from './informer.ts';
import type { DeletedFinalStateUnknown } from './indexer.ts';
import { isTombstone, objectKey } from './indexer.ts';
import { FakeApiServer, status } from './testing/fake-api-server.ts';
import { testConfigMaps, testPods, testResources } from './testing/test-resources.ts';

let fake: FakeApiServer;
let api: ApiClient;
const fastBackoff = { initialMs: 5, maxMs: 20 };

before(async () => {
  setLogSink(null);
  fake = new FakeApiServer({ resources: testResources });
  api = new ApiClient(new RestClient({ server: await fake.start(), namespace: 'default' }));
});

after(async () => {
  api.close();
  await fake.stop();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

beforeEach(() => {
  fake.intercept = undefined;
  fake.goneMode = 'event';
  for (const cm of fake.list(testConfigMaps)) fake.remove(testConfigMaps, cm.metadata?.namespace ?? '', cm.metadata?.name ?? '');
});

interface Recorded {
  adds: { key: string; initial: boolean }[];
  updates: { key: string; oldRv: string; newRv: string }[];
  deletes: { key: string; tombstone: boolean }[];
}

function recorder<T extends ConfigMap>(): { rec: Recorded; handler: ResourceEventHandler<T> } {
  const rec: Recorded = { adds: [], updates: [], deletes: [] };
  return {
    rec,
    handler: {
      onAdd: (o, initial) => rec.adds.push({ key: objectKey(o), initial }),
      onUpdate: (o, n) => rec.updates.push({ key: objectKey(n), oldRv: o.metadata?.resourceVersion ?? '', newRv: n.metadata?.resourceVersion ?? '' }),
      onDelete: (o: T | DeletedFinalStateUnknown<T>) => rec.deletes.push(isTombstone(o) ? { key: o.key, tombstone: true } : { key: objectKey(o), tombstone: false }),
    },
  };
}

const cm = (ns: string, name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace: ns, name, labels },
  data,
});

const watchRequests = (): URLSearchParams[] => fake.requests.filter((r) => r.path.endsWith('/configmaps') && r.query.get('watch') === 'true').map((r) => r.query);
const listRequests = (): URLSearchParams[] => fake.requests.filter((r) => r.path.endsWith('/configmaps') && r.method === 'GET' && r.query.get('watch') === null).map((r) => r.query);

test('lists then watches: initial adds, then adds, updates and deletes, all in the lister', async () => {
  fake.put(testConfigMaps, cm('a', 'one'));
  fake.put(testConfigMaps, cm('a', 'two'));
  fake.put(testConfigMaps, cm('b', 'three'));
  const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { backoff: fastBackoff, pageSize: 2 });
  const { rec, handler } = recorder();
  inf.addEventHandler(handler);
  assert.equal(inf.hasSynced(), false);
  inf.start();
  try {
    assert.equal(await inf.waitForSync(AbortSignal.timeout(5000)), true);
    assert.deepEqual(rec.adds.map((a) => a.key).sort(), ['a/one', 'a/two', 'b/three']);
    assert.ok(rec.adds.every((a) => a.initial));
    assert.ok(listRequests().length >= 2, 'paged list');
    await waitFor(() => fake.watchCount() === 1, { what: 'watch' });
    assert.equal(watchRequests().at(-1)?.get('allowWatchBookmarks'), 'true');

    fake.put(testConfigMaps, cm('a', 'four'));
    fake.put(testConfigMaps, cm('a', 'one', { changed: 'yes' }));
    fake.remove(testConfigMaps, 'b', 'three');
    await waitFor(() => rec.deletes.length === 1, { what: 'delete' });
    assert.deepEqual(rec.adds.at(-1), { key: 'a/four', initial: false });
    assert.equal(rec.updates.length, 1);
    assert.equal(rec.updates[0]?.key, 'a/one');
    assert.notEqual(rec.updates[0]?.oldRv, rec.updates[0]?.newRv);
    assert.deepEqual(rec.deletes, [{ key: 'b/three', tombstone: false }]);
    const lister = inf.lister();
    assert.deepEqual(lister.list('a').map(objectKey).sort(), ['a/four', 'a/one', 'a/two']);
    assert.deepEqual(lister.get('a', 'one')?.data, { changed: 'yes' });
    assert.equal(lister.get('b', 'three'), undefined);
    assert.equal(inf.lastSyncResourceVersion(), String(fake.resourceVersion()));
  } finally {
    await inf.stop();
  }
  assert.equal(inf.isRunning(), false);
});

test('a dropped watch resumes from the last resourceVersion without re-listing; bookmarks advance it', async () => {
  fake.put(testConfigMaps, cm('r', 'x'));
  const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { namespace: 'r', backoff: fastBackoff });
  const { rec, handler } = recorder();
  inf.addEventHandler(handler);
  inf.start();
  try {
    await inf.waitForSync();
    await waitFor(() => fake.watchCount() === 1, { what: 'watch' });
    fake.put(testConfigMaps, cm('r', 'y'));
    await waitFor(() => rec.adds.length === 2, { what: 'add y' });
    const lastRv = inf.lastSyncResourceVersion();
    const lists = listRequests().length;
    const watches = watchRequests().length;
    fake.closeWatches();
    await waitFor(() => watchRequests().length === watches + 1 && fake.watchCount() === 1, { what: 're-watch' });
    assert.equal(watchRequests().at(-1)?.get('resourceVersion'), lastRv);
    assert.equal(listRequests().length, lists, 'no re-list after a clean watch end');

    // Unrelated changes elsewhere move the global resourceVersion; a bookmark tells the informer.
    fake.put(testConfigMaps, cm('elsewhere', 'z'));
    fake.sendBookmark();
    await waitFor(() => inf.lastSyncResourceVersion() === String(fake.resourceVersion()), { what: 'bookmark' });
    fake.closeWatches();
    await waitFor(() => watchRequests().length === watches + 2, { what: 're-watch after bookmark' });
    assert.equal(watchRequests().at(-1)?.get('resourceVersion'), String(fake.resourceVersion()));
    assert.equal(rec.adds.length, 2, 'the other namespace is not seen');
  } finally {
    await inf.stop();
  }
});

for (const mode of ['event', 'status'] as const) {
  test(`410 Gone (${mode}) re-lists and reconciles, with tombstones for missed deletes`, async () => {
    fake.goneMode = mode;
    fake.put(testConfigMaps, cm('g', 'keep'));
    fake.put(testConfigMaps, cm('g', 'doomed'));
    const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { namespace: 'g', backoff: fastBackoff });
    const { rec, handler } = recorder();
    inf.addEventHandler(handler);
    inf.start();
    try {
      await inf.waitForSync();
      await waitFor(() => fake.watchCount() === 1, { what: 'watch' });
      // Cut the informer off, change things behind its back, and compact the history it would need.
      let blocked = 0;
      fake.intercept = (r) => (r.query.get('watch') === 'true' ? (blocked++, { status: 500, body: status(500, 'InternalError', 'down') }) : undefined);
      fake.closeWatches();
      await waitFor(() => blocked >= 1, { what: 'blocked watch' });
      fake.remove(testConfigMaps, 'g', 'doomed');
      fake.put(testConfigMaps, cm('g', 'newcomer'));
      fake.compact();
      const lists = listRequests().length;
      fake.intercept = undefined;
      await waitFor(() => rec.deletes.length === 1 && rec.adds.length === 3, { what: 're-list' });
      assert.equal(listRequests().length, lists + 1);
      assert.deepEqual(rec.deletes, [{ key: 'g/doomed', tombstone: true }]);
      assert.deepEqual(rec.adds.at(-1), { key: 'g/newcomer', initial: false });
      assert.ok(rec.updates.some((u) => u.key === 'g/keep'), 'objects still present are delivered as updates');
      assert.deepEqual(inf.lister().list().map(objectKey).sort(), ['g/keep', 'g/newcomer']);
    } finally {
      await inf.stop();
    }
  });
}

test('list failures back off and retry until the informer syncs; waitForSync is false on abort', async () => {
  let failures = 0;
  fake.intercept = (r) => (r.query.get('watch') === null && r.method === 'GET' && failures++ < 3 ? { status: 503, body: status(503, 'ServiceUnavailable', 'busy') } : undefined);
  const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { backoff: fastBackoff });
  const ac = new AbortController();
  ac.abort();
  assert.equal(await inf.waitForSync(ac.signal), false);
  inf.start();
  try {
    assert.equal(await inf.waitForSync(AbortSignal.timeout(5000)), true);
    assert.equal(failures, 4, 'three failures, then success');
  } finally {
    await inf.stop();
  }
  const never = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps));
  const pending = never.waitForSync();
  await never.stop();
  assert.equal(await pending, false, 'stop releases waiters');
});

test('the back-off follows the injected clock (800 ms first, doubling)', async () => {
  const clock = new FakeClock(0);
  let lists = 0;
  fake.intercept = (r) => (r.query.get('watch') === null && r.method === 'GET' ? (lists++, { status: 500, body: status(500, 'InternalError', 'x') }) : undefined);
  const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { clock });
  inf.start();
  try {
    await waitFor(() => lists === 1, { what: 'first list' });
    // Advance only once the informer's back-off sleep is registered (on a loaded machine it comes later).
    await waitFor(() => clock.pendingSleeps > 0, { what: 'first back-off sleep' });
    clock.advance(799);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lists, 1, 'not before 800 ms');
    clock.advance(801); // jitter may stretch the first wait up to 1600 ms
    await waitFor(() => lists === 2, { what: 'second list' });
    await waitFor(() => clock.pendingSleeps > 0, { what: 'second back-off sleep' });
    clock.advance(3200);
    await waitFor(() => lists === 3, { what: 'third list' });
  } finally {
    await inf.stop();
  }
});

test('late handlers get the cache replayed; removed handlers stop; a throwing handler does not break others', async () => {
  fake.put(testConfigMaps, cm('h', 'a'));
  const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { backoff: fastBackoff });
  inf.addEventHandler({ onAdd: () => { throw new Error('bad handler'); } });
  inf.start();
  try {
    await inf.waitForSync();
    const { rec, handler } = recorder();
    const reg = inf.addEventHandler(handler);
    assert.deepEqual(rec.adds, [{ key: 'h/a', initial: true }]);
    await waitFor(() => fake.watchCount() === 1, { what: 'watch' });
    fake.put(testConfigMaps, cm('h', 'b'));
    await waitFor(() => rec.adds.length === 2, { what: 'add b' });
    reg.remove();
    fake.put(testConfigMaps, cm('h', 'c'));
    await waitFor(() => inf.lister().get('h', 'c') !== undefined, { what: 'c cached' });
    assert.equal(rec.adds.length, 2);
  } finally {
    await inf.stop();
  }
});

test('resync re-delivers cached objects as updates on the injected clock', async () => {
  const clock = new FakeClock(0);
  fake.put(testConfigMaps, cm('s', 'a'));
  const inf = new SharedInformer<ConfigMap>(api.resource<ConfigMap>(testConfigMaps), { namespace: 's', clock, resyncPeriodMs: 1000 });
  const { rec, handler } = recorder();
  inf.addEventHandler(handler);
  inf.start();
  try {
    await inf.waitForSync();
    assert.equal(rec.updates.length, 0);
    clock.advance(1000);
    await waitFor(() => rec.updates.length === 1, { what: 'resync' });
    assert.equal(rec.updates[0]?.oldRv, rec.updates[0]?.newRv);
  } finally {
    await inf.stop();
  }
});

test('the factory shares one informer per resource, namespace and selectors', async () => {
  fake.put(testConfigMaps, cm('f', 'a', {}, { app: 'web' }));
  fake.put(testConfigMaps, cm('f', 'b', {}, { app: 'db' }));
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'f', name: 'p' }, spec: { nodeName: 'n1', containers: [] } };
  fake.put(testPods, pod);
  const factory = new SharedInformerFactory(api, { backoff: fastBackoff });
  const a = factory.informerFor<ConfigMap>(testConfigMaps);
  assert.equal(factory.informerFor<ConfigMap>(testConfigMaps), a);
  const web = factory.informerFor<ConfigMap>(testConfigMaps, { labelSelector: 'app=web' });
  assert.notEqual(web, a);
  const byNode = (p: Pod): string[] => (p.spec?.nodeName ? [p.spec.nodeName] : []);
  const pods = factory.informerFor<Pod>(testPods, { indexers: { byNode } });
  assert.equal(factory.informerFor<Pod>(testPods, { indexers: { byNode, other: () => [] } }), pods);
  const ac = new AbortController();
  factory.start(ac.signal);
  try {
    assert.equal(await factory.waitForCacheSync(AbortSignal.timeout(5000)), true);
    assert.equal(a.lister().list('f').length, 2);
    assert.deepEqual(web.lister().list().map(objectKey), ['f/a']);
    assert.deepEqual(pods.lister().byIndex('byNode', 'n1').map(objectKey), ['f/p']);
    assert.deepEqual(pods.lister().byIndex('other', 'x'), []);
  } finally {
    ac.abort();
    await factory.shutdown();
  }
  assert.equal(a.isRunning(), false);
});
