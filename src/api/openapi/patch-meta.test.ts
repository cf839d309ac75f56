import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PATCH_META, patchMetaExtensions, patchMetaFor, patchMetaFromSchema } from './patch-meta.ts';

describe('patch-meta', () => {
  it('has upstream strategic-merge metadata for the pod spec lists', () => {
    assert.deepEqual(patchMetaFor('io.k8s.api.core.v1.PodSpec', 'containers'), {
      patchStrategy: 'merge',
      patchMergeKey: 'name',
      listType: 'map',
      listMapKeys: ['name'],
    });
    assert.equal(patchMetaFor('io.k8s.api.core.v1.PodSpec', 'volumes')?.patchStrategy, 'merge,retainKeys');
    assert.equal(patchMetaFor('io.k8s.api.core.v1.PodSpec', 'tolerations')?.listType, 'atomic');
    assert.equal(patchMetaFor('io.k8s.api.core.v1.PodSpec', 'tolerations')?.patchStrategy, undefined);
    assert.equal(patchMetaFor('io.k8s.api.core.v1.Container', 'volumeMounts')?.patchMergeKey, 'mountPath');
    assert.equal(patchMetaFor('io.k8s.api.core.v1.EphemeralContainer', 'env')?.patchMergeKey, 'name');
  });

  it('keys service ports by port+protocol but merges them by port', () => {
    const m = patchMetaFor('io.k8s.api.core.v1.ServiceSpec', 'ports');
    assert.equal(m?.patchMergeKey, 'port');
    assert.deepEqual(m?.listMapKeys, ['port', 'protocol']);
  });

  it('has object-meta, condition and retainKeys entries', () => {
    assert.equal(patchMetaFor('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'ownerReferences')?.patchMergeKey, 'uid');
    assert.deepEqual(patchMetaFor('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'finalizers'), { patchStrategy: 'merge', listType: 'set' });
    for (const s of ['io.k8s.api.core.v1.PodStatus', 'io.k8s.api.core.v1.NodeStatus', 'io.k8s.api.apps.v1.DeploymentStatus']) {
      assert.equal(patchMetaFor(s, 'conditions')?.patchMergeKey, 'type', s);
    }
    // Job conditions merge by type but are atomic for server-side apply (upstream batch/v1 markers).
    assert.equal(patchMetaFor('io.k8s.api.batch.v1.JobStatus', 'conditions')?.listType, 'atomic');
    assert.deepEqual(patchMetaFor('io.k8s.api.apps.v1.DeploymentSpec', 'strategy'), { patchStrategy: 'retainKeys' });
  });

  it('returns undefined for plain fields, unknown schemas and prototype names', () => {
    assert.equal(patchMetaFor('io.k8s.api.core.v1.PodSpec', 'nodeName'), undefined);
    assert.equal(patchMetaFor('io.k8s.api.core.v1.Nope', 'containers'), undefined);
    assert.equal(patchMetaFor('io.k8s.api.core.v1.PodSpec', 'constructor'), undefined);
  });

  it('round-trips through the x-kubernetes extensions', () => {
    for (const fields of Object.values(PATCH_META)) {
      for (const meta of Object.values(fields)) {
        const ext = patchMetaExtensions(meta);
        assert.ok(Object.keys(ext).every((k) => k.startsWith('x-kubernetes-')));
        assert.deepEqual(patchMetaFromSchema(ext), meta);
      }
    }
    assert.deepEqual(patchMetaExtensions(patchMetaFor('io.k8s.api.core.v1.ServiceSpec', 'ports') ?? {}), {
      'x-kubernetes-list-map-keys': ['port', 'protocol'],
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-patch-merge-key': 'port',
      'x-kubernetes-patch-strategy': 'merge',
    });
  });

  it('uses only the values upstream defines', () => {
    for (const [schema, fields] of Object.entries(PATCH_META)) {
      for (const [field, m] of Object.entries(fields)) {
        const where = `${schema}.${field}`;
        if (m.listType === 'map') assert.ok((m.listMapKeys?.length ?? 0) > 0, `${where}: map list without keys`);
        else assert.equal(m.listMapKeys, undefined, `${where}: keys on a non-map list`);
        if (m.patchMergeKey !== undefined) assert.match(m.patchStrategy ?? '', /merge/, `${where}: merge key without merge`);
      }
    }
  });
});
