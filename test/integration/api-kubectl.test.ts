// The API server driven by the real kubectl (v1.32 through the dispatcher): discovery, create/apply, get in every
// output format, selectors, paging, watch, replace, label, annotate, delete, explain and kubectl's error messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, kubectlFor, tempFile } from './helpers/cluster.ts';
import type { TestServer, Kubectl } from './helpers/cluster.ts';
import { waitFor } from '../../src/base/wait.ts';

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
`;

describe('kubectl against skiff server', () => {
  let server: TestServer;
  let k: Kubectl;
  let dir: string;

  before(async () => {
    server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
    k = kubectlFor(server);
    dir = mkdtempSync(join(tmpdir(), 'skiff-manifests-'));
  });

  after(async () => {
    k?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('reports version 1.32 and serves discovery for every kind', async () => {
    const v = await k(['version', '-o', 'json']);
    assert.equal(v.code, 0, v.stderr);
    const info = JSON.parse(v.stdout) as { serverVersion: { minor: string; gitVersion: string } };
    assert.equal(info.serverVersion.minor, '32');
    assert.match(info.serverVersion.gitVersion, /^v1\.32\.0\+skiff\./);
    const r = await k(['api-resources', '--no-headers']);
    assert.equal(r.code, 0, r.stderr);
    for (const line of [/^pods\s+po\s+v1\s+true\s+Pod$/m, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m,
      /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m, /^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m,
      /^cronjobs\s+cj\s+batch\/v1\s+true\s+CronJob$/m, /^priorityclasses\s+pc\s+scheduling\.k8s\.io\/v1\s+false\s+PriorityClass$/m]) {
      assert.match(r.stdout, line);
    }
    const ns = await k(['get', 'namespaces', '-o', 'name']);
    assert.deepEqual(ns.stdout.trim().split('\n').sort(), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
    const svc = await k(['get', 'svc', 'kubernetes', '--no-headers']);
    assert.match(svc.stdout, /^kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP\s+/);
  });

  it('creates with create -f and apply -f, and refuses a duplicate', async () => {
    const f = tempFile(dir, 'deploy.yaml', DEPLOY);
    const a = await k(['apply', '-f', f]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout.trim(), 'deployment.apps/web created');
    const c = await k(['create', '-f', f]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /Error from server \(AlreadyExists\): error when creating ".*deploy\.yaml": deployments\.apps "web" already exists/);
    const cm = tempFile(dir, 'cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels: {tier: backend}\ndata:\n  mode: fast\n');
    const r = await k(['create', '-f', cm]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'configmap/settings created');
    const got = JSON.parse((await k(['get', 'deploy', 'web', '-o', 'json'])).stdout) as {
      metadata: { generation: number; uid: string; annotations: Record<string, string> };
      spec: { strategy: { type: string }; revisionHistoryLimit: number; template: { spec: { containers: { ports: { protocol: string }[] }[] } } };
    };
    assert.equal(got.metadata.generation, 1);
    assert.match(got.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.ok(got.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.equal(got.spec.strategy.type, 'RollingUpdate');
    assert.equal(got.spec.revisionHistoryLimit, 10);
    assert.equal(got.spec.template.spec.containers[0]!.ports[0]!.protocol, 'TCP');
  });

  it('prints every output format', async () => {
    const table = await k(['get', 'deploy']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    assert.match(table.stdout, /^web\s+0\/2\s+0\s+0\s+\d+s$/m);
    const wide = await k(['get', 'deploy', '-o', 'wide']);
    assert.match(wide.stdout, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide.stdout, /nginx\s+nginx:1\.25\s+app=web/);
    const y = await k(['get', 'cm', 'settings', '-o', 'yaml']);
    assert.match(y.stdout, /^kind: ConfigMap$/m);
    assert.match(y.stdout, /^ {2}mode: fast$/m);
    const name = await k(['get', 'cm', '-o', 'name']);
    assert.ok(name.stdout.split('\n').includes('configmap/settings'));
    const jp = await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    assert.equal(jp.stdout, 'nginx:1.25');
    const all = await k(['get', 'cm', '-A']);
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+DATA\s+AGE$/m);
    assert.match(all.stdout, /^default\s+settings\s+1\s+/m);
    const labels = await k(['get', 'cm', 'settings', '--show-labels']);
    assert.match(labels.stdout, /LABELS\n.*tier=backend/);
  });

  it('filters with label and field selectors and pages with --chunk-size', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await k(['create', 'configmap', `page-${i}`, '--from-literal=a=b'], {});
      if (r.code !== 0) {
        // Typed-client creates send protobuf; fall back to a manifest when that is not served.
        const f = tempFile(dir, `page-${i}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: page-${i}, labels: {page: "yes", n: "${i}"}}\n`);
        assert.equal((await k(['create', '-f', f])).code, 0);
      } else {
        assert.equal((await k(['label', 'cm', `page-${i}`, 'page=yes', `n=${i}`])).code, 0);
      }
    }
    const sel = await k(['get', 'cm', '-l', 'page=yes,n in (1,3)', '-o', 'name']);
    assert.deepEqual(sel.stdout.trim().split('\n'), ['configmap/page-1', 'configmap/page-3']);
    const notsel = await k(['get', 'cm', '-l', 'page,n notin (0,1,2)', '-o', 'name']);
    assert.deepEqual(notsel.stdout.trim().split('\n'), ['configmap/page-3', 'configmap/page-4']);
    const fs = await k(['get', 'cm', '--field-selector', 'metadata.name=page-2', '-o', 'name']);
    assert.equal(fs.stdout.trim(), 'configmap/page-2');
    const bad = await k(['get', 'pods', '--field-selector', 'spec.nope=x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /field label not supported: spec\.nope/);
    const chunked = await k(['get', 'cm', '-l', 'page=yes', '--chunk-size=2', '-o', 'name', '-v=6']);
    assert.deepEqual(chunked.stdout.trim().split('\n'), [0, 1, 2, 3, 4].map((i) => `configmap/page-${i}`));
    assert.match(chunked.stderr, /continue=/);
  });

  it('get -w sees ADDED, MODIFIED and DELETED', async () => {
    const watcher = spawn('kubectl', ['--kubeconfig', server.kubeconfig, '--cache-dir', join(k.home, 'cache'), 'get', 'cm', '-l', 'watched=yes', '-w', '-o', 'json', '--output-watch-events'], {
      env: { PATH: process.env.PATH ?? '', HOME: k.home }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    watcher.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const f = tempFile(dir, 'watched.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched, labels: {watched: "yes"}}\ndata: {v: "1"}\n');
      assert.equal((await k(['create', '-f', f])).code, 0);
      assert.equal((await k(['patch', 'cm', 'watched', '--type=merge', '-p', '{"data":{"v":"2"}}'])).code, 0);
      assert.equal((await k(['delete', 'cm', 'watched'])).code, 0);
      await waitFor(() => /"type": ?"DELETED"/.test(out), { timeoutMs: 10_000, what: 'DELETED event' });
      const types = [...out.matchAll(/"type": ?"(ADDED|MODIFIED|DELETED)"/g)].map((m) => m[1]);
      assert.deepEqual(types, ['ADDED', 'MODIFIED', 'DELETED']);
    } finally {
      watcher.kill('SIGTERM');
    }
  });

  it('replaces, labels, annotates and reports a stale replace as a conflict', async () => {
    const cur = JSON.parse((await k(['get', 'cm', 'settings', '-o', 'json'])).stdout) as { metadata: { resourceVersion: string }; data: Record<string, string> };
    const staleRv = cur.metadata.resourceVersion;
    cur.data.mode = 'slow';
    const f = tempFile(dir, 'replace.json', JSON.stringify(cur));
    const r = await k(['replace', '-f', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'configmap/settings replaced');
    const stale = await k(['replace', '-f', f]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /Error from server \(Conflict\): error when replacing ".*replace\.json": Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again/);
    assert.notEqual(staleRv, '');
    assert.equal((await k(['label', 'cm', 'settings', 'team=a'])).stdout.trim(), 'configmap/settings labeled');
    assert.equal((await k(['annotate', 'cm', 'settings', 'note=hello'])).stdout.trim(), 'configmap/settings annotated');
    const after = JSON.parse((await k(['get', 'cm', 'settings', '-o', 'json'])).stdout) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; data: Record<string, string> };
    assert.equal(after.metadata.labels.team, 'a');
    assert.equal(after.metadata.annotations.note, 'hello');
    assert.equal(after.data.mode, 'slow');
    assert.equal((await k(['label', 'cm', 'settings', 'team-'])).code, 0);
    const removed = JSON.parse((await k(['get', 'cm', 'settings', '-o', 'json'])).stdout) as { metadata: { labels: Record<string, string> } };
    assert.equal(removed.metadata.labels.team, undefined);
  });

  it('prints kubectl\'s messages for errors', async () => {
    const nf = await k(['get', 'deploy', 'nope']);
    assert.equal(nf.code, 1);
    assert.equal(nf.stderr.trim(), 'Error from server (NotFound): deployments.apps "nope" not found');
    const bad = tempFile(dir, 'bad.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers:\n  - name: c\n');
    const inv = await k(['create', '-f', bad]);
    assert.equal(inv.code, 1);
    assert.match(inv.stderr, /The Pod "bad" is invalid: spec\.containers\[0\]\.image: Required value/);
    const unknown = tempFile(dir, 'unknown.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict}\nbogus: 1\n');
    const strict = await k(['create', '-f', unknown]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /strict decoding error: unknown field "bogus"/);
    const res = await k(['get', 'flurbs']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /the server doesn't have a resource type "flurbs"/);
    const ns = tempFile(dir, 'ns.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: missing}\n');
    const nsr = await k(['create', '-f', ns]);
    assert.equal(nsr.code, 1);
    assert.match(nsr.stderr, /namespaces "missing" not found/);
  });

  it('explains fields from the served OpenAPI', async () => {
    const r = await k(['explain', 'deployment.spec.replicas']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /FIELD: replicas <integer>/);
    const p = await k(['explain', 'pod.spec.containers']);
    assert.match(p.stdout, /image\t*\s*<string>/);
  });

  it('deletes and the object is gone', async () => {
    const d = await k(['delete', 'deploy', 'web']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.trim(), 'deployment.apps "web" deleted');
    const g = await k(['get', 'deploy', 'web']);
    assert.equal(g.code, 1);
    const all = await k(['delete', 'cm', '-l', 'page=yes']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim().split('\n').length, 5);
  });
});
