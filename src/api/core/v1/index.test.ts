import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { coreV1Resources } from './index.ts';

describe('coreV1Resources', () => {
  it('lists every core/v1 kind once', () => {
    const plurals = coreV1Resources.map((r) => r.plural);
    assert.equal(new Set(plurals).size, plurals.length);
    assert.deepEqual([...plurals].sort(), [
      'configmaps', 'endpoints', 'events', 'limitranges', 'namespaces', 'nodes', 'persistentvolumeclaims',
      'persistentvolumes', 'pods', 'replicationcontrollers', 'resourcequotas', 'secrets', 'serviceaccounts', 'services',
    ]);
    for (const r of coreV1Resources) {
      assert.equal(r.group, '');
      assert.equal(r.version, 'v1');
    }
  });

  it('uses upstream short names, scopes and the "all" category', () => {
    const by = Object.fromEntries(coreV1Resources.map((r) => [r.plural, r]));
    const shortNames = Object.fromEntries(coreV1Resources.map((r) => [r.plural, r.shortNames ?? []]));
    assert.deepEqual(shortNames, {
      configmaps: ['cm'], endpoints: ['ep'], events: ['ev'], limitranges: ['limits'], namespaces: ['ns'], nodes: ['no'],
      persistentvolumeclaims: ['pvc'], persistentvolumes: ['pv'], pods: ['po'], replicationcontrollers: ['rc'],
      resourcequotas: ['quota'], secrets: [], serviceaccounts: ['sa'], services: ['svc'],
    });
    const inAll = coreV1Resources.filter((r) => r.categories?.includes('all')).map((r) => r.plural).sort();
    assert.deepEqual(inAll, ['pods', 'replicationcontrollers', 'services']);
    const clusterScoped = coreV1Resources.filter((r) => !r.namespaced).map((r) => r.plural).sort();
    assert.deepEqual(clusterScoped, ['namespaces', 'nodes', 'persistentvolumes']);
    assert.equal(by['serviceaccounts']?.subresources?.others?.[0]?.kind, 'TokenRequest');
    assert.equal(by['serviceaccounts']?.subresources?.others?.[0]?.group, 'authentication.k8s.io');
    assert.ok(by['replicationcontrollers']?.subresources?.scale);
  });

  it('has examples that pass defaults, prepareForCreate and validation', () => {
    for (const r of coreV1Resources) {
      assert.ok(r.examples.length > 0, r.plural);
      for (const ex of r.examples) {
        const obj = structuredClone(ex) as StoredObject;
        assert.equal(obj.kind, r.kind);
        r.defaults?.(obj);
        r.strategy?.prepareForCreate?.(obj);
        const ns = r.namespaced ? obj.metadata.namespace ?? '' : '';
        assert.deepEqual(r.validate?.(obj, { namespace: ns }) ?? [], [], r.plural);
        // Defaulting is idempotent.
        const again = structuredClone(obj);
        r.defaults?.(again);
        assert.deepEqual(again, obj, r.plural);
        for (const c of r.columns) c.cell(obj, Date.now());
      }
    }
  });
});
