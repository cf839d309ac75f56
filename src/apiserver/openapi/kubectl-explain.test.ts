// End-to-end check with the real kubectl: a tiny HTTP server on 127.0.0.1 serves discovery and the OpenAPI
// documents, and `kubectl explain` must render the generated schemas.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ResourceDefinition } from '../../api/resource.ts';
import { buildOpenApi } from './documents.ts';

const defs: ResourceDefinition[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, subresources: { status: true }, columns: [], examples: [] },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment', namespaced: true, subresources: { status: true }, columns: [], examples: [] },
];

function kubectl(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kubectl explain against the served OpenAPI', () => {
  const docs = buildOpenApi(defs);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method ?? ''} ${url.pathname}`);
    const send = (code: number, body: string | Uint8Array): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(body);
    };
    const p = url.pathname;
    if (p === '/version') return send(200, JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.0' }));
    if (p === '/api') return send(200, JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }));
    if (p === '/apis') return send(200, JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] }));
    if (p === '/api/v1') {
      return send(200, JSON.stringify({ kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'] }] }));
    }
    if (p === '/openapi/v3') return send(200, docs.v3IndexBytes());
    const doc = p.startsWith('/openapi/v3/') ? docs.v3DocumentBytes(p.slice('/openapi/v3/'.length)) : undefined;
    if (doc !== undefined) return send(200, doc);
    send(404, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', code: 404 }));
  });
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  let kubeconfig = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'skiff-explain-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: {server: "http://127.0.0.1:${port}"}\ncontexts:\n- name: t\n  context: {cluster: t, user: t}\nusers:\n- name: t\n  user: {}\ncurrent-context: t\n`,
    );
    env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig };
  });

  after(() => {
    server.close();
    server.closeAllConnections();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('prints pod.spec.containers with its fields and descriptions', async () => {
    const r = await kubectl(['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'explain', 'pod.spec.containers'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /KIND:\s+Pod/);
    assert.match(r.stdout, /FIELD: containers <\[\]Container>/);
    assert.match(r.stdout, /List of containers belonging to the pod/);
    assert.match(r.stdout, /^ {2}image\t<string>$/m);
    assert.match(r.stdout, /^ {2}name\t<string> -required-$/m);
    assert.match(r.stdout, /^ {2}env\t<\[\]EnvVar>$/m);
    assert.match(r.stdout, /^ {2}resources\t<ResourceRequirements>$/m);
    assert.match(r.stdout, /Arguments to the entrypoint/);
    assert.ok(requests.some((q) => q.startsWith('GET /openapi/v3/api/v1')), requests.join('\n'));
  });

  it('renders maps of quantities and int-or-string fields', async () => {
    const res = await kubectl(['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'explain', 'pod.spec.containers.resources'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /limits\t<map\[string\]Quantity>/);
    const probe = await kubectl(['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'explain', 'pod.spec.containers.livenessProbe.httpGet'], env);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /port\t<IntOrString> -required-/);
  });
});
