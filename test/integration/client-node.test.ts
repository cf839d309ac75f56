// The API server driven by the official @kubernetes/client-node: typed CRUD, conflict errors, label selectors,
// watch and an informer.
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
});
