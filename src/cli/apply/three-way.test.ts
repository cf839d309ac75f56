import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { typeNodeFor } from '../../api/openapi/type-node.ts';
import { createThreeWayMergePatch } from './three-way.ts';

const deployment = typeNodeFor({ group: 'apps', version: 'v1', kind: 'Deployment' });
const configMap = typeNodeFor({ group: '', version: 'v1', kind: 'ConfigMap' });

function dep(containers: { name: string; image: string; env?: { name: string; value: string }[] }[], labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
  };
}

describe('createThreeWayMergePatch', () => {
  it('is empty when modified equals current and the original', () => {
    const o = dep([{ name: 'a', image: 'x' }]);
    assert.deepEqual(createThreeWayMergePatch(o, o, structuredClone(o), { schema: deployment }), {});
  });

  it('changes a container by merge key and keeps fields only the server set', () => {
    const original = dep([{ name: 'a', image: 'x' }]);
    const modified = dep([{ name: 'a', image: 'y' }]);
    const current = dep([{ name: 'a', image: 'x' }]);
    (current['spec'] as Record<string, unknown>)['replicas'] = 3;
    const patch = createThreeWayMergePatch(original, modified, current, { schema: deployment });
    assert.deepEqual(patch, {
      spec: { template: { spec: { containers: [{ name: 'a', image: 'y' }], '$setElementOrder/containers': [{ name: 'a' }] } } },
    });
  });

  it('deletes a removed container with $patch: delete and a removed label with null', () => {
    const original = dep([{ name: 'a', image: 'x' }, { name: 'b', image: 'z' }], { keep: '1', drop: '2' });
    const modified = dep([{ name: 'a', image: 'x' }], { keep: '1' });
    const current = structuredClone(original);
    const patch = createThreeWayMergePatch(original, modified, current, { schema: deployment }) as { metadata: { labels: Record<string, unknown> }; spec: { template: { spec: Record<string, unknown> } } };
    assert.deepEqual(patch.metadata.labels, { drop: null });
    assert.deepEqual(patch.spec.template.spec['containers'], [{ name: 'b', $patch: 'delete' }]);
    // Upstream only orders when the additions/changes side has content or the order changed.
    assert.equal(patch.spec.template.spec['$setElementOrder/containers'], undefined);
  });

  it('does not delete what the user never applied', () => {
    const original = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    const modified = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
    const current = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { added: 'by-someone' } }, data: { a: '1', b: '2' } };
    assert.deepEqual(createThreeWayMergePatch(original, modified, current, { schema: configMap }), {});
  });

  it('replaces lists wholesale and uses nulls without a schema (JSON merge patch)', () => {
    const original = { spec: { list: [1, 2], gone: true } };
    const modified = { spec: { list: [1, 3] } };
    const current = { spec: { list: [1, 2], gone: true, server: 'x' } };
    assert.deepEqual(createThreeWayMergePatch(original, modified, current, {}), { spec: { list: [1, 3], gone: null } });
  });

  it('adds $retainKeys when a retainKeys map changes (deployment strategy)', () => {
    const original = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const modified = { spec: { strategy: { type: 'Recreate' } } };
    const patch = createThreeWayMergePatch(original, modified, structuredClone(original), { schema: deployment }) as { spec: { strategy: Record<string, unknown> } };
    assert.equal(patch.spec.strategy['type'], 'Recreate');
    assert.equal(patch.spec.strategy['rollingUpdate'], null);
    assert.deepEqual(patch.spec.strategy['$retainKeys'], ['type']);
  });
});
