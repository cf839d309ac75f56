import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceDefinition } from '../../api/resource.ts';
import { buildOpenApi, documentPathOf } from './documents.ts';

type Json = Record<string, any>;

function def(partial: Partial<ResourceDefinition> & Pick<ResourceDefinition, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>): ResourceDefinition {
  return { singular: partial.kind.toLowerCase(), columns: [], examples: [], ...partial };
}

const scale = { specReplicas: () => 0, statusReplicas: () => 0, selector: () => '', setReplicas: () => undefined };
const defs: ResourceDefinition[] = [
  def({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, subresources: { status: true, others: [{ name: 'binding', kind: 'Binding', verbs: ['create'] }] } }),
  def({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  def({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, subresources: { status: true, scale } }),
  def({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
];

function patchOpFor(doc: Json, gvk: { group: string; version: string; kind: string }): Json | undefined {
  for (const item of Object.values(doc['paths'] as Json)) {
    const op = (item as Json)['patch'] as Json | undefined;
    const g = op?.['x-kubernetes-group-version-kind'] as Json | undefined;
    if (op !== undefined && g?.['group'] === gvk.group && g['version'] === gvk.version && g['kind'] === gvk.kind) return op;
  }
  return undefined;
}

describe('buildOpenApi', () => {
  const docs = buildOpenApi(defs, { version: 'v1.32.0+skiff.test' });

  it('indexes one document per group-version with a content hash', () => {
    const index = docs.v3Index() as Json;
    assert.deepEqual(Object.keys(index['paths']).sort(), ['api/v1', 'apis/apps/v1', 'apis/rbac.authorization.k8s.io/v1']);
    const url = index['paths']['apis/apps/v1']['serverRelativeURL'] as string;
    assert.equal(url, `/openapi/v3/apis/apps/v1?hash=${docs.v3Hash('apis/apps/v1')}`);
    assert.match(url, /hash=[0-9A-F]{32,}$/);
    assert.notEqual(docs.v3Hash('api/v1'), docs.v3Hash('apis/apps/v1'));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(docs.v3IndexBytes())), index);
    assert.equal(docs.v3Document('apis/batch/v1'), undefined);
    assert.equal(docs.v3DocumentBytes('apis/nope/v1'), undefined);
    assert.equal(documentPathOf('', 'v1'), 'api/v1');
  });

  it('serves the same cached bytes on every call and accepts a leading slash', () => {
    const a = docs.v3DocumentBytes('api/v1');
    assert.ok(a !== undefined);
    assert.equal(docs.v3DocumentBytes('/api/v1'), a);
    assert.equal(docs.v2DocumentBytes(), docs.v2DocumentBytes());
    assert.deepEqual(JSON.parse(new TextDecoder().decode(a)), docs.v3Document('api/v1'));
  });

  it('gives PATCH operations the GVK, fieldValidation and every patch media type', () => {
    const doc = docs.v3Document('apis/apps/v1') as Json;
    assert.equal(doc['openapi'], '3.0.0');
    assert.equal(doc['info']['version'], 'v1.32.0+skiff.test');
    const op = patchOpFor(doc, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(op !== undefined, 'no PATCH operation for Deployment');
    assert.equal(op['x-kubernetes-action'], 'patch');
    assert.equal(op['operationId'], 'patchAppsV1NamespacedDeployment');
    const params = (op['parameters'] as Json[]).map((p) => `${p['in']}:${p['name']}`);
    for (const p of ['query:fieldValidation', 'query:fieldManager', 'query:dryRun', 'query:force']) assert.ok(params.includes(p), p);
    assert.deepEqual(Object.keys(op['requestBody']['content']).sort(), [
      'application/apply-patch+yaml',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
    ]);
    const item = doc['paths']['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'] as Json;
    assert.deepEqual((item['parameters'] as Json[]).map((p) => p['name']), ['name', 'namespace', 'pretty']);
    assert.deepEqual(Object.keys(item).sort(), ['delete', 'get', 'parameters', 'patch', 'put']);
  });

  it('can leave strategic merge patch out of the PATCH media types', () => {
    const doc = buildOpenApi(defs, { strategicMergePatch: false }).v3Document('api/v1') as Json;
    const op = patchOpFor(doc, { group: '', version: 'v1', kind: 'Pod' });
    assert.ok(op !== undefined);
    assert.equal(op['requestBody']['content']['application/strategic-merge-patch+json'], undefined);
    assert.ok(op['requestBody']['content']['application/merge-patch+json'] !== undefined);
  });

  it('paths cover collections, items, subresources, all-namespace lists and cluster scope', () => {
    const core = docs.v3Document('api/v1') as Json;
    const paths = Object.keys(core['paths']);
    for (const p of [
      '/api/v1/namespaces/{namespace}/pods',
      '/api/v1/namespaces/{namespace}/pods/{name}',
      '/api/v1/namespaces/{namespace}/pods/{name}/status',
      '/api/v1/namespaces/{namespace}/pods/{name}/binding',
      '/api/v1/pods',
      '/api/v1/namespaces',
      '/api/v1/namespaces/{name}',
    ]) {
      assert.ok(paths.includes(p), p);
    }
    // Namespace does not serve deletecollection: its collection path has list and create only.
    assert.deepEqual(Object.keys(core['paths']['/api/v1/namespaces']).sort(), ['get', 'parameters', 'post']);
    assert.equal(core['paths']['/api/v1/namespaces/{namespace}/pods']['delete']['x-kubernetes-action'], 'deletecollection');
    assert.equal(core['paths']['/api/v1/pods']['get']['operationId'], 'listCoreV1PodForAllNamespaces');
    assert.deepEqual(core['paths']['/api/v1/namespaces/{namespace}/pods/{name}/binding']['post']['x-kubernetes-group-version-kind'], { group: '', kind: 'Binding', version: 'v1' });
    const apps = docs.v3Document('apis/apps/v1') as Json;
    const scaleOp = apps['paths']['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale']['patch'] as Json;
    assert.deepEqual(scaleOp['x-kubernetes-group-version-kind'], { group: 'autoscaling', kind: 'Scale', version: 'v1' });
    assert.ok(apps['components']['schemas']['io.k8s.api.autoscaling.v1.Scale'] !== undefined);
    const rbac = docs.v3Document('apis/rbac.authorization.k8s.io/v1') as Json;
    assert.equal(rbac['paths']['/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}']['get']['operationId'], 'readRbacAuthorizationV1ClusterRole');
  });

  it('includes every schema reachable from the served kinds and nothing from other groups', () => {
    const schemas = (docs.v3Document('api/v1') as Json)['components']['schemas'] as Json;
    for (const n of ['io.k8s.api.core.v1.Pod', 'io.k8s.api.core.v1.PodList', 'io.k8s.api.core.v1.Container', 'io.k8s.api.core.v1.Binding', 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'io.k8s.apimachinery.pkg.apis.meta.v1.Status', 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions', 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch', 'io.k8s.apimachinery.pkg.util.intstr.IntOrString', 'io.k8s.apimachinery.pkg.api.resource.Quantity']) {
      assert.ok(schemas[n] !== undefined, n);
    }
    assert.equal(schemas['io.k8s.api.apps.v1.Deployment'], undefined);
    const text = JSON.stringify(schemas);
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) assert.ok(schemas[m[1] as string] !== undefined, `dangling ${m[1]}`);
  });

  it('renders a swagger 2.0 document with #/definitions references', () => {
    const v2 = docs.v2Document() as Json;
    assert.equal(v2['swagger'], '2.0');
    const defsV2 = v2['definitions'] as Json;
    const text = JSON.stringify(v2);
    assert.doesNotMatch(text, /#\/components\/schemas\//);
    assert.doesNotMatch(text, /"allOf":\[\{"\$ref"/);
    for (const m of text.matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) assert.ok(defsV2[m[1] as string] !== undefined, `dangling ${m[1]}`);
    assert.equal(defsV2['io.k8s.api.core.v1.Pod']['properties']['metadata']['$ref'], '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.deepEqual([defsV2['io.k8s.apimachinery.pkg.util.intstr.IntOrString']['type'], defsV2['io.k8s.apimachinery.pkg.util.intstr.IntOrString']['format']], ['string', 'int-or-string']);
    assert.equal(defsV2['io.k8s.apimachinery.pkg.api.resource.Quantity']['type'], 'string');
    const patch = v2['paths']['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']['patch'] as Json;
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', kind: 'Deployment', version: 'v1' });
    assert.ok((patch['parameters'] as Json[]).some((p) => p['name'] === 'fieldValidation' && p['in'] === 'query' && p['type'] === 'string'));
    assert.ok((patch['parameters'] as Json[]).some((p) => p['in'] === 'body'));
    assert.ok((patch['consumes'] as string[]).includes('application/strategic-merge-patch+json'));
  });

  it('skips kinds without a generated schema instead of failing', () => {
    const docs2 = buildOpenApi([def({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true }), ...defs]);
    assert.equal(docs2.v3Document('apis/example.com/v1'), undefined);
    assert.ok(docs2.v3Document('api/v1') !== undefined);
  });
});
