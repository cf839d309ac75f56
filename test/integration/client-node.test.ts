// The API server driven by the official @kubernetes/client-node: typed CRUD, conflict errors, label selectors,
// watch and an informer; the write scenarios of the kubectl tests where client-node has the verb (every patch type
// including strategic merge and server-side apply, the scale subresource, dry run, graceful deletion, finalizers and
// each propagation policy acted on by the garbage collector).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startServer } from './helpers/cluster.ts';
import type { TestServer } from './helpers/cluster.ts';
import { waitFor } from '../../src/base/wait.ts';

describe('@kubernetes/client-node against skiff server', () => {
  let server: TestServer;
  let kc: k8s.KubeConfig;
  before(async () => {
    server = await startServer();
    // The admin kubeconfig as written: the server's CA and the admin client certificate.
    kc = new k8s.KubeConfig();
    kc.loadFromFile(server.kubeconfig);
  });
  after(async () => {
    await server?.stop();
  });

  it('creates, reads, lists by label, updates with a conflict check and deletes', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'cn1', labels: { app: 'cn' } }, data: { a: '1' } },
    });
    assert.equal(created.metadata?.name, 'cn1');
    assert.ok(created.metadata?.resourceVersion);
    const read = await core.readNamespacedConfigMap({ name: 'cn1', namespace: 'default' });
    assert.equal(read.data?.a, '1');
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=cn' });
    assert.deepEqual(list.items.map((i) => i.metadata?.name), ['cn1']);
    read.data = { a: '2' };
    const updated = await core.replaceNamespacedConfigMap({ name: 'cn1', namespace: 'default', body: read });
    assert.equal(updated.data?.a, '2');
    read.data = { a: '3' };
    await assert.rejects(core.replaceNamespacedConfigMap({ name: 'cn1', namespace: 'default', body: read }), (e: unknown) => {
      const err = e as { code?: number; body?: string };
      assert.equal(err.code, 409);
      assert.match(String(err.body), /the object has been modified/);
      return true;
    });
    await core.deleteNamespacedConfigMap({ name: 'cn1', namespace: 'default' });
    await assert.rejects(core.readNamespacedConfigMap({ name: 'cn1', namespace: 'default' }), (e: unknown) => (e as { code?: number }).code === 404);
  });

  it('creates a Deployment through AppsV1Api and reads it back with defaults', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'cn-web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'cn-web' } },
          template: { metadata: { labels: { app: 'cn-web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
        },
      },
    });
    const d = await apps.readNamespacedDeployment({ name: 'cn-web', namespace: 'default' });
    assert.equal(d.spec?.replicas, 3);
    assert.equal(d.spec?.strategy?.type, 'RollingUpdate');
    assert.equal(d.metadata?.generation, 1);
    const scale = await apps.readNamespacedDeploymentScale({ name: 'cn-web', namespace: 'default' });
    assert.equal(scale.spec?.replicas, 3);
    assert.equal(scale.status?.selector, 'app=cn-web');
  });

  it('watches and keeps an informer in sync', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch('/api/v1/namespaces/default/configmaps', { labelSelector: 'w=1' },
      (type: string, obj: k8s.V1ConfigMap) => { seen.push(`${type}:${obj.metadata?.name}`); },
      () => undefined);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps',
      () => core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'w=1' }), 'w=1');
    const cached = new Set<string>();
    informer.on('add', (o: k8s.V1ConfigMap) => cached.add(o.metadata!.name!));
    informer.on('delete', (o: k8s.V1ConfigMap) => cached.delete(o.metadata!.name!));
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w1', labels: { w: '1' } } } });
      await core.patchNamespacedConfigMap({ name: 'w1', namespace: 'default', body: { data: { x: 'y' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await waitFor(() => cached.has('w1'), { what: 'informer add' });
      await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
      await waitFor(() => seen.includes('DELETED:w1') && !cached.has('w1'), { what: 'watch DELETED and informer delete' });
      assert.deepEqual(seen, ['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1']);
    } finally {
      req.abort();
      await informer.stop();
    }
  });

  const apiError = (e: unknown): { code?: number; body: string } => {
    const err = e as { code?: number; body?: unknown };
    return { ...(err.code !== undefined ? { code: err.code } : {}), body: typeof err.body === 'string' ? err.body : JSON.stringify(err.body) };
  };
  const isNotFound = async (read: () => Promise<unknown>): Promise<boolean> => read().then(() => false, (e: unknown) => {
    if (apiError(e).code === 404) return true;
    throw e;
  });

  it('patches with JSON patch, merge patch, strategic merge and server-side apply', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const ns = 'default';
    const deploy = (name: string): k8s.V1Deployment => ({
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'main', image: 'nginx:1', env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 'busybox' }] },
        },
      },
    });
    await apps.createNamespacedDeployment({ namespace: ns, body: deploy('cn-patch') });
    const json = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
    let d = await apps.patchNamespacedDeployment({ name: 'cn-patch', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] }, json);
    assert.equal(d.spec?.replicas, 2);
    // A failing `test` op refuses the whole patch and leaves the spec untouched (the controllers write status).
    await assert.rejects(apps.patchNamespacedDeployment({ name: 'cn-patch', namespace: ns, body: [{ op: 'test', path: '/spec/replicas', value: 9 }, { op: 'replace', path: '/spec/replicas', value: 7 }] }, json), (e: unknown) => {
      assert.equal(apiError(e).code, 422);
      assert.match(apiError(e).body, /test failed/);
      return true;
    });
    assert.equal((await apps.readNamespacedDeployment({ name: 'cn-patch', namespace: ns })).spec?.replicas, 2);
    // Strategic merge: the container list merges by name, so the sidecar and the env stay.
    d = await apps.patchNamespacedDeployment({ name: 'cn-patch', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:2' }] } } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
    assert.deepEqual(d.spec?.template.spec?.containers.map((c) => `${c.name}=${c.image}`), ['main=nginx:2', 'side=busybox']);
    assert.deepEqual(d.spec?.template.spec?.containers[0]?.env?.map((e) => `${e.name}=${e.value}`), ['A=1']);
    // A strategic merge `$patch: delete` directive removes one element.
    d = await apps.patchNamespacedDeployment({ name: 'cn-patch', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
    assert.deepEqual(d.spec?.template.spec?.containers.map((c) => c.name), ['main']);
    // A merge patch replaces the list as a whole.
    d = await apps.patchNamespacedDeployment({ name: 'cn-patch', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'only', image: 'redis' }] } } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    assert.deepEqual(d.spec?.template.spec?.containers.map((c) => `${c.name}=${c.image}`), ['only=redis']);

    // Server-side apply: creates, records the manager, conflicts with another manager, and force takes over.
    const ssa = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    const applied = { apiVersion: 'apps/v1', kind: 'Deployment', ...deploy('cn-ssa') };
    const created = await apps.patchNamespacedDeployment({ name: 'cn-ssa', namespace: ns, body: applied, fieldManager: 'cn-a' }, ssa);
    assert.equal(created.spec?.replicas, 1);
    assert.ok(created.metadata?.managedFields?.some((m) => m.manager === 'cn-a' && m.operation === 'Apply'));
    const other = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cn-ssa' }, spec: { replicas: 4 } };
    await assert.rejects(apps.patchNamespacedDeployment({ name: 'cn-ssa', namespace: ns, body: other, fieldManager: 'cn-b' }, ssa), (e: unknown) => {
      assert.equal(apiError(e).code, 409);
      assert.match(apiError(e).body, /Apply failed with 1 conflict: conflict with \\"cn-a\\": \.spec\.replicas/);
      return true;
    });
    const forced = await apps.patchNamespacedDeployment({ name: 'cn-ssa', namespace: ns, body: other, fieldManager: 'cn-b', force: true }, ssa);
    assert.equal(forced.spec?.replicas, 4);
    assert.deepEqual(forced.metadata?.managedFields?.filter((m) => m.operation === 'Apply').map((m) => m.manager).sort(), ['cn-a', 'cn-b']);
    // The same through the generic KubernetesObjectApi (its patch takes the strategy and force directly).
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cn-ssa-cm', namespace: ns }, data: { a: '1', b: '2' } };
    await objects.patch(cm, undefined, undefined, 'cn-objects', false, k8s.PatchStrategy.ServerSideApply);
    const shrunk = await objects.patch({ ...cm, data: { a: '1' } }, undefined, undefined, 'cn-objects', false, k8s.PatchStrategy.ServerSideApply) as k8s.V1ConfigMap;
    assert.deepEqual(shrunk.data, { a: '1' });
  });

  it('reads, replaces and patches the scale subresource', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const ns = 'default';
    const scale = await apps.readNamespacedDeploymentScale({ name: 'cn-web', namespace: ns });
    scale.spec = { replicas: 5 };
    const replaced = await apps.replaceNamespacedDeploymentScale({ name: 'cn-web', namespace: ns, body: scale });
    assert.equal(replaced.spec?.replicas, 5);
    assert.equal((await apps.readNamespacedDeployment({ name: 'cn-web', namespace: ns })).spec?.replicas, 5);
    // A stale resourceVersion on the Scale is a conflict, as on the object itself.
    scale.spec = { replicas: 6 };
    await assert.rejects(apps.replaceNamespacedDeploymentScale({ name: 'cn-web', namespace: ns, body: scale }), (e: unknown) => apiError(e).code === 409);
    const patched = await apps.patchNamespacedDeploymentScale({ name: 'cn-web', namespace: ns, body: { spec: { replicas: 2 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    assert.equal(patched.spec?.replicas, 2);
    const d = await apps.readNamespacedDeployment({ name: 'cn-web', namespace: ns });
    assert.equal(d.spec?.replicas, 2);
    assert.ok(d.metadata?.managedFields?.some((m) => m.subresource === 'scale'));
  });

  it('dry run persists nothing on create, update, patch and delete', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = 'default';
    const dry = await core.createNamespacedConfigMap({ namespace: ns, dryRun: 'All', body: { metadata: { name: 'cn-dry' }, data: { a: '1' } } });
    assert.equal(dry.metadata?.name, 'cn-dry');
    assert.ok(dry.metadata?.uid, 'the dry-run answer carries the server-filled fields');
    assert.ok(await isNotFound(() => core.readNamespacedConfigMap({ name: 'cn-dry', namespace: ns })));
    // Validation still runs on a dry run.
    await assert.rejects(core.createNamespacedConfigMap({ namespace: ns, dryRun: 'All', body: { metadata: { name: 'Not_Valid' } } }), (e: unknown) => apiError(e).code === 422);
    await assert.rejects(core.createNamespacedConfigMap({ namespace: ns, dryRun: 'Bogus', body: { metadata: { name: 'cn-dry' } } }), (e: unknown) => apiError(e).code === 400);

    const live = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cn-dry2' }, data: { a: '1' } } });
    live.data = { a: '2' };
    assert.deepEqual((await core.replaceNamespacedConfigMap({ name: 'cn-dry2', namespace: ns, dryRun: 'All', body: live })).data, { a: '2' });
    const patched = await core.patchNamespacedConfigMap({ name: 'cn-dry2', namespace: ns, dryRun: 'All', body: { data: { a: '3' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    assert.deepEqual(patched.data, { a: '3' });
    await core.deleteNamespacedConfigMap({ name: 'cn-dry2', namespace: ns, dryRun: 'All' });
    const after = await core.readNamespacedConfigMap({ name: 'cn-dry2', namespace: ns });
    assert.deepEqual(after.data, { a: '1' });
    assert.equal(after.metadata?.resourceVersion, live.metadata?.resourceVersion);
  });

  it('deletes pods gracefully, holds objects behind finalizers, and honours each propagation policy', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = 'default';
    // A bound pod stays Terminating until its node confirms; a second delete may only shorten the grace period.
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'cn-g' }, spec: { nodeName: 'cn-nowhere', terminationGracePeriodSeconds: 45, containers: [{ name: 'c', image: 'x' }] } } });
    await core.deleteNamespacedPod({ name: 'cn-g', namespace: ns, gracePeriodSeconds: 30 });
    let pod = await core.readNamespacedPod({ name: 'cn-g', namespace: ns });
    assert.ok(pod.metadata?.deletionTimestamp);
    assert.equal(pod.metadata?.deletionGracePeriodSeconds, 30);
    await core.deleteNamespacedPod({ name: 'cn-g', namespace: ns, gracePeriodSeconds: 60 });
    pod = await core.readNamespacedPod({ name: 'cn-g', namespace: ns });
    assert.equal(pod.metadata?.deletionGracePeriodSeconds, 30);
    await core.deleteNamespacedPod({ name: 'cn-g', namespace: ns, gracePeriodSeconds: 0 });
    assert.ok(await isNotFound(() => core.readNamespacedPod({ name: 'cn-g', namespace: ns })));

    // A finalizer holds the object until it is patched away; no new finalizer may be added meanwhile.
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cn-fin', finalizers: ['example.com/block'] } } });
    await core.deleteNamespacedConfigMap({ name: 'cn-fin', namespace: ns });
    const held = await core.readNamespacedConfigMap({ name: 'cn-fin', namespace: ns });
    assert.ok(held.metadata?.deletionTimestamp);
    assert.deepEqual(held.metadata?.finalizers, ['example.com/block']);
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await assert.rejects(core.patchNamespacedConfigMap({ name: 'cn-fin', namespace: ns, body: { metadata: { finalizers: ['example.com/block', 'example.com/more'] } } }, merge), (e: unknown) => {
      assert.equal(apiError(e).code, 422);
      assert.match(apiError(e).body, /no new finalizers can be added if the object is being deleted/);
      return true;
    });
    await core.patchNamespacedConfigMap({ name: 'cn-fin', namespace: ns, body: { metadata: { finalizers: null } } }, merge);
    assert.ok(await isNotFound(() => core.readNamespacedConfigMap({ name: 'cn-fin', namespace: ns })));

    // Propagation: the garbage collector deletes dependents (Background, Foreground) or releases them (Orphan).
    const ownerWithDependent = async (name: string): Promise<void> => {
      const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `${name}-dep`, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name, uid: owner.metadata!.uid!, blockOwnerDeletion: true }] } } });
    };
    const gone = (name: string) => isNotFound(() => core.readNamespacedConfigMap({ name, namespace: ns }));
    await ownerWithDependent('cn-bg');
    await core.deleteNamespacedConfigMap({ name: 'cn-bg', namespace: ns, propagationPolicy: 'Background' });
    assert.ok(await gone('cn-bg'), 'a background delete removes the owner at once');
    await waitFor(() => gone('cn-bg-dep'), { what: 'background dependent collected', timeoutMs: 30_000 });

    await ownerWithDependent('cn-fg');
    await core.deleteNamespacedConfigMap({ name: 'cn-fg', namespace: ns, propagationPolicy: 'Foreground' });
    const fg = await core.readNamespacedConfigMap({ name: 'cn-fg', namespace: ns }).catch(() => undefined);
    // The owner waits (foregroundDeletion) until its blocking dependent is gone, unless the collector was quicker.
    if (fg !== undefined) assert.ok(fg.metadata?.finalizers?.includes('foregroundDeletion'));
    await waitFor(async () => (await gone('cn-fg-dep')) && (await gone('cn-fg')), { what: 'foreground dependent then owner collected', timeoutMs: 30_000 });

    await ownerWithDependent('cn-or');
    await core.deleteNamespacedConfigMap({ name: 'cn-or', namespace: ns, propagationPolicy: 'Orphan' });
    await waitFor(() => gone('cn-or'), { what: 'orphaning owner deleted', timeoutMs: 30_000 });
    const orphan = await core.readNamespacedConfigMap({ name: 'cn-or-dep', namespace: ns });
    assert.deepEqual(orphan.metadata?.ownerReferences ?? [], []);
  });
});
