import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSchemas } from '../../../scripts/gen-openapi.ts';
import { PATCH_META } from './patch-meta.ts';
import { SCHEMA_REF_PREFIX, allSchemas, getSchema, refName, resolveRef, schemaFor, schemaNameFor } from './schemas.ts';
import type { OpenApiSchema } from './schemas.ts';

function prop(schemaName: string, field: string): OpenApiSchema {
  const p = getSchema(schemaName)?.properties?.[field];
  assert.ok(p !== undefined, `${schemaName}.${field} missing`);
  return p;
}

describe('generated OpenAPI schemas', () => {
  it('are current: regenerating from kubernetes-types gives the loaded file', () => {
    assert.deepEqual(generateSchemas(), allSchemas(), 'run: node --import tsx scripts/gen-openapi.ts');
  });

  it('describe Pod.spec.containers as a list of Container merged by name', () => {
    const pod = schemaFor({ group: '', version: 'v1', kind: 'Pod' });
    assert.ok(pod?.properties?.['spec'] !== undefined);
    assert.match(pod.description ?? '', /collection of containers/);
    const spec = resolveRef(pod.properties['spec']);
    assert.equal(spec.name, 'io.k8s.api.core.v1.PodSpec');
    const containers = spec.schema.properties?.['containers'];
    assert.equal(containers?.type, 'array');
    assert.equal(containers?.items?.$ref, `${SCHEMA_REF_PREFIX}io.k8s.api.core.v1.Container`);
    assert.equal(containers?.['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(containers?.['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(containers?.['x-kubernetes-list-type'], 'map');
    assert.ok(spec.schema.required?.includes('containers'));
    assert.match(containers?.description ?? '', /List of containers belonging to the pod/);
  });

  it('put x-kubernetes-group-version-kind on top-level kinds only', () => {
    assert.deepEqual(getSchema('io.k8s.api.apps.v1.Deployment')?.['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
    assert.deepEqual(getSchema('io.k8s.api.core.v1.PodList')?.['x-kubernetes-group-version-kind'], [{ group: '', kind: 'PodList', version: 'v1' }]);
    assert.equal(getSchema('io.k8s.api.apps.v1.DeploymentSpec')?.['x-kubernetes-group-version-kind'], undefined);
    assert.equal(schemaNameFor({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole' }), 'io.k8s.api.rbac.v1.ClusterRole');
    assert.equal(schemaNameFor({ group: 'batch', version: 'v1', kind: 'Nope' }), undefined);
  });

  it('wrap described references in allOf and keep plain ones as $ref', () => {
    const meta = prop('io.k8s.api.core.v1.Pod', 'metadata');
    assert.equal(meta.$ref, undefined);
    assert.equal(refName(meta), 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.match(meta.description ?? '', /Standard object's metadata/);
  });

  it('shape maps, special formats and free-form objects as upstream', () => {
    assert.deepEqual(prop('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'labels').additionalProperties, { type: 'string' });
    assert.deepEqual(prop('io.k8s.api.core.v1.Secret', 'data').additionalProperties, { type: 'string', format: 'byte' });
    const time = getSchema('io.k8s.apimachinery.pkg.apis.meta.v1.Time');
    assert.equal(time?.type, 'string');
    assert.equal(time?.format, 'date-time');
    assert.equal(getSchema('io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime')?.format, 'date-time');
    const ios = getSchema('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    assert.equal(ios?.format, 'int-or-string');
    assert.equal(ios?.['x-kubernetes-int-or-string'], true);
    assert.equal(refName(prop('io.k8s.api.core.v1.ServicePort', 'targetPort')), 'io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    assert.deepEqual(getSchema('io.k8s.apimachinery.pkg.api.resource.Quantity')?.oneOf, [{ type: 'string' }, { type: 'number' }]);
    const limits = prop('io.k8s.api.core.v1.ResourceRequirements', 'limits');
    assert.equal(limits.type, 'object');
    assert.equal(typeof limits.additionalProperties === 'object' ? limits.additionalProperties.$ref : undefined, `${SCHEMA_REF_PREFIX}io.k8s.apimachinery.pkg.api.resource.Quantity`);
    for (const free of ['io.k8s.apimachinery.pkg.runtime.RawExtension', 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1']) {
      assert.equal(getSchema(free)?.type, 'object', free);
      assert.equal(getSchema(free)?.['x-kubernetes-preserve-unknown-fields'], true, free);
    }
  });

  it('give integers upstream formats', () => {
    assert.deepEqual([prop('io.k8s.api.apps.v1.DeploymentSpec', 'replicas').type, prop('io.k8s.api.apps.v1.DeploymentSpec', 'replicas').format], ['integer', 'int32']);
    assert.equal(prop('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'generation').format, 'int64');
    assert.equal(prop('io.k8s.api.core.v1.PodSpec', 'terminationGracePeriodSeconds').format, 'int64');
  });

  it('have no dangling references', () => {
    const names = new Set(Object.keys(allSchemas()));
    const walk = (v: unknown, at: string): void => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, at));
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref') assert.ok(names.has(String(x).slice(SCHEMA_REF_PREFIX.length)), `${at}: ${String(x)}`);
          else if (k === 'properties') Object.values(x as object).forEach((p) => walk(p, at));
          else walk(x, at);
        }
      }
    };
    for (const [name, s] of Object.entries(allSchemas())) walk(s, name);
  });

  it('carry every patch-meta entry whose field kubernetes-types knows', () => {
    // Fields newer than the kubernetes-types release in use (1.30); extend when the package is upgraded.
    const newer = new Set(['io.k8s.api.core.v1.ContainerStatus.allocatedResourcesStatus', 'io.k8s.api.core.v1.ResourceStatus.resources']);
    let checked = 0;
    for (const [schemaName, fields] of Object.entries(PATCH_META)) {
      for (const [field, meta] of Object.entries(fields)) {
        const p = getSchema(schemaName)?.properties?.[field];
        if (newer.has(`${schemaName}.${field}`)) {
          assert.equal(p, undefined, `${schemaName}.${field} now exists: drop it from the newer set`);
          continue;
        }
        assert.ok(p !== undefined, `patch-meta names ${schemaName}.${field}, which the schemas lack`);
        assert.equal(p['x-kubernetes-list-type'], meta.listType, `${schemaName}.${field}`);
        assert.equal(p['x-kubernetes-patch-merge-key'], meta.patchMergeKey, `${schemaName}.${field}`);
        assert.equal(p['x-kubernetes-patch-strategy'], meta.patchStrategy, `${schemaName}.${field}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `only ${checked} entries checked`);
  });

  it('resolveRef returns inline schemas unchanged and rejects dangling references', () => {
    const inline: OpenApiSchema = { type: 'string' };
    assert.equal(resolveRef(inline).schema, inline);
    assert.equal(resolveRef(inline).name, undefined);
    assert.throws(() => resolveRef({ $ref: `${SCHEMA_REF_PREFIX}io.k8s.api.core.v1.Nope` }), /dangling/);
  });
});
