// /openapi/v2 in gnostic protobuf, driven by the real kubectl: `kind: List` manifests are always validated on the
// client from /openapi/v2 (KUBECTL-WIRE.md §3.2), so apply -f and create -f of a List depend on it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminFetch, startServer, kubectlFor, tempFile } from './helpers/cluster.ts';
import type { TestServer, Kubectl } from './helpers/cluster.ts';

const PROTOBUF_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

function list(opts: { cm: string; deploy: string; cmExtra?: string; containerExtra?: string; data?: string }): string {
  return `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: ${opts.cm}
  data:
    greeting: ${opts.data ?? 'hello'}
${opts.cmExtra ?? ''}- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: ${opts.deploy}
  spec:
    replicas: 1
    selector:
      matchLabels: {app: ${opts.deploy}}
    template:
      metadata:
        labels: {app: ${opts.deploy}}
      spec:
        containers:
        - name: web
          image: nginx:1.25
${opts.containerExtra ?? ''}`;
}

describe('/openapi/v2 protobuf with the real kubectl', () => {
  let server: TestServer;
  let k: Kubectl;
  let dir: string;

  before(async () => {
    server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
    k = kubectlFor(server);
    dir = mkdtempSync(join(tmpdir(), 'skiff-openapi-v2-'));
  });

  after(async () => {
    k?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('answers the protobuf media type with protobuf, JSON with JSON, and others with 406', async () => {
    const pb = await adminFetch(server, '/openapi/v2?timeout=32s', { headers: { accept: PROTOBUF_ACCEPT } });
    assert.equal(pb.status, 200);
    assert.equal(pb.headers.get('content-type'), 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const body = new Uint8Array(await pb.arrayBuffer());
    // Field 1 (swagger), length 3, "2.0": the first field of an openapi.v2.Document, not a JSON body.
    assert.deepEqual([...body.subarray(0, 5)], [0x0a, 0x03, 0x32, 0x2e, 0x30]);
    assert.equal(Number(pb.headers.get('content-length')), body.length);

    const json = await adminFetch(server, '/openapi/v2', { headers: { accept: 'application/json' } });
    assert.equal(json.status, 200);
    assert.equal(json.headers.get('content-type'), 'application/json');
    const doc = (await json.json()) as { swagger: string; definitions: Record<string, unknown> };
    assert.equal(doc.swagger, '2.0');
    assert.ok(doc.definitions['io.k8s.api.core.v1.ConfigMap']);

    const refused = await adminFetch(server, '/openapi/v2', { headers: { accept: 'text/html' } });
    assert.equal(refused.status, 406);
    await refused.arrayBuffer();
  });

  it('kubectl apply -f of a List validates on the client and creates every item', async () => {
    const r = await k(['apply', '-f', tempFile(dir, 'list.yaml', list({ cm: 'cm-apply', deploy: 'web-apply' }))]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^configmap\/cm-apply created$/m);
    assert.match(r.stdout, /^deployment\.apps\/web-apply created$/m);
    const cm = await k(['get', 'configmap', 'cm-apply', '-o', 'jsonpath={.data.greeting}']);
    assert.equal(cm.code, 0, cm.stderr);
    assert.equal(cm.stdout, 'hello');
    const d = await k(['get', 'deployment', 'web-apply', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, 'nginx:1.25');

    const again = await k(['apply', '-f', tempFile(dir, 'list2.yaml', list({ cm: 'cm-apply', deploy: 'web-apply', data: 'bye' }))]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^configmap\/cm-apply configured$/m);
    const cm2 = await k(['get', 'configmap', 'cm-apply', '-o', 'jsonpath={.data.greeting}']);
    assert.equal(cm2.stdout, 'bye');
  });

  it('kubectl apply -f of a List with an unknown field fails on the client, naming the field, and creates nothing', async () => {
    const bad = list({ cm: 'cm-bad', deploy: 'web-bad', cmExtra: '  bogus: 1\n' });
    const r = await k(['apply', '-f', tempFile(dir, 'bad.yaml', bad)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error validating data: ValidationError\(ConfigMap\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    for (const [kind, name] of [['configmap', 'cm-bad'], ['deployment', 'web-bad']] as const) {
      const g = await k(['get', kind, name]);
      assert.notEqual(g.code, 0, `${kind}/${name} must not exist`);
      assert.match(g.stderr, /NotFound/);
    }
  });

  it('kubectl create -f of a List creates every item, and rejects an unknown field nested in an item', async () => {
    const r = await k(['create', '-f', tempFile(dir, 'create.yaml', list({ cm: 'cm-create', deploy: 'web-create' }))]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^configmap\/cm-create created$/m);
    assert.match(r.stdout, /^deployment\.apps\/web-create created$/m);
    const g = await k(['get', 'configmap/cm-create', 'deployment/web-create', '-o', 'name']);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(g.stdout.trim().split('\n'), ['configmap/cm-create', 'deployment.apps/web-create']);

    const bad = list({ cm: 'cm-create-bad', deploy: 'web-create-bad', containerExtra: '          bogus: true\n' });
    const b = await k(['create', '-f', tempFile(dir, 'create-bad.yaml', bad)]);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /ValidationError\(Deployment\.spec\.template\.spec\.containers\[0\]\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.Container/);
    const none = await k(['get', 'configmap', 'cm-create-bad']);
    assert.notEqual(none.code, 0);
  });
});
