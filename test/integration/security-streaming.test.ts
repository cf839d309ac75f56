// The API server ↔ agent streaming endpoint is authenticated in both directions: the agent serves HTTPS with a
// certificate of the cluster CA and accepts only client certificates of that CA (401) held by the API server's
// identity (403 otherwise); the node proxy verifies the agent's certificate and presents its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startStreamingServer } from '../../src/agent/streaming/server.ts';
import type { StreamingServer } from '../../src/agent/streaming/server.ts';
import type { ContainerRuntime } from '../../src/agent/runtime/runtime.ts';
import { createCertificateAuthority, issueKeyPair, KUBELET_CLIENT_USER } from '../../src/apiserver/tls/pki.ts';
import type { CertificateAuthority, KeyPair } from '../../src/apiserver/tls/pki.ts';
import { proxyPodSubresource } from '../../src/apiserver/node-proxy/index.ts';
import type { KubeletClientTls } from '../../src/apiserver/node-proxy/index.ts';
import { toApiError } from '../../src/apiserver/errors.ts';
import type { StoredObject } from '../../src/api/meta/types.ts';
import { waitFor } from '../../src/base/wait.ts';
import { fetchAs, kubectlFor, serverPki } from './helpers/cluster.ts';
import type { Kubectl } from './helpers/cluster.ts';
import { userCert } from './security-helpers.ts';

const pod: Pod = {
  metadata: { name: 'web', namespace: 'default', uid: 'u1' },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
  status: { phase: 'Running' },
};

interface Answer {
  status: number;
  body: string;
}

function get(port: number, path: string, tls: { ca: string; cert?: string; key?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ...tls, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('security: the agent streaming endpoint', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let foreign: CertificateAuthority;
  let serving: KeyPair;
  let apiClient: KeyPair;
  let agent: StreamingServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-stream-sec-'));
    writeFileSync(join(dir, 'c.log'), '2026-01-01T00:00:00.000000000Z stdout F hello from web\n');
    ca = await createCertificateAuthority();
    foreign = await createCertificateAuthority();
    serving = await issueKeyPair(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'], usage: 'server', sans: ['127.0.0.1'] });
    apiClient = await issueKeyPair(ca, { commonName: KUBELET_CLIENT_USER, usage: 'client' });
    agent = await startStreamingServer({
      findPod: (ns, name) => (ns === 'default' && name === 'web' ? {
        pod, runtime: {} as ContainerRuntime, sandbox: undefined, containerId: () => undefined, logPath: () => join(dir, 'c.log'),
      } : undefined),
      listPods: () => [pod],
    }, { address: '127.0.0.1', port: 0, tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem } });
  });
  after(async () => {
    await agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses plain HTTP, clients without a certificate or with a foreign one (401), and other users (403)', async () => {
    const plain = await new Promise<string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: agent.port, path: '/pods' }, (res) => resolve(`status ${res.statusCode ?? 0}`));
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.end();
    });
    assert.ok(!plain.startsWith('status 2'), plain);
    assert.deepEqual(await get(agent.port, '/pods', { ca: ca.certPem }), { status: 401, body: 'Unauthorized' });
    const stranger = await issueKeyPair(foreign, { commonName: KUBELET_CLIENT_USER, usage: 'client' });
    assert.deepEqual(await get(agent.port, '/pods', { ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem }), { status: 401, body: 'Unauthorized' });
    // A server certificate of the right CA is not a client credential.
    assert.equal((await get(agent.port, '/pods', { ca: ca.certPem, cert: serving.certPem, key: serving.keyPem })).status, 401);
    const alice = await issueKeyPair(ca, { commonName: 'alice', organizations: ['devs'], usage: 'client' });
    assert.deepEqual(await get(agent.port, '/containerLogs/default/web/c', { ca: ca.certPem, cert: alice.certPem, key: alice.keyPem }),
      { status: 403, body: 'Forbidden (user=alice, verb=get, resource=nodes, subresource=log)' });
    assert.equal((await get(agent.port, '/exec/default/web/c?command=ls', { ca: ca.certPem, cert: alice.certPem, key: alice.keyPem })).body,
      'Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)');
    const ok = await get(agent.port, '/containerLogs/default/web/c', { ca: ca.certPem, cert: apiClient.certPem, key: apiClient.keyPem });
    assert.deepEqual(ok, { status: 200, body: 'hello from web\n' });
  });

  it('the node proxy verifies the agent against the cluster CA and presents the API server\'s certificate', async () => {
    const node = { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: agent.port } } } };
    const logsThrough = async (kubeletClient: KubeletClientTls): Promise<Answer> => {
      const front = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://front');
        proxyPodSubresource({ req, res, url, method: 'GET', started: process.hrtime.bigint() }, {
          getPod: async () => pod as unknown as StoredObject, getNode: async () => node as unknown as StoredObject, kubeletClient,
          namespace: 'default', name: 'web', subresource: 'log',
        }).catch((e: unknown) => {
          const err = toApiError(e);
          res.writeHead(err.code, { 'content-type': 'text/plain' });
          res.end(err.message);
        });
      });
      await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
      try {
        return await new Promise<Answer>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port: (front.address() as AddressInfo).port, path: '/log', agent: false }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          }).on('error', reject);
        });
      } finally {
        front.closeAllConnections();
        await new Promise((r) => front.close(r));
      }
    };
    assert.deepEqual(await logsThrough({ caPem: ca.certPem, ...apiClient }), { status: 200, body: 'hello from web\n' });
    // An agent whose certificate the API server cannot verify is not talked to.
    const wrongCa = await logsThrough({ caPem: foreign.certPem, ...apiClient });
    assert.equal(wrongCa.status, 500);
    assert.match(wrongCa.body, /error dialing backend: .*certificate/);
    // A client certificate the agent does not accept surfaces the agent's refusal.
    const user = await issueKeyPair(ca, { commonName: 'alice', usage: 'client' });
    assert.deepEqual(await logsThrough({ caPem: ca.certPem, ...user }), { status: 403, body: 'Forbidden (user=alice, verb=get, resource=nodes, subresource=log)' });
  });
});

// The whole path with `skiff server` and its embedded agent (process runtime): kubectl logs and exec go through the
// API server's node proxy over mutually authenticated TLS; the agent's port refuses everyone else; projected
// ServiceAccount tokens come from the TokenRequest API.

describe('security: the embedded agent behind the API server', { timeout: 120_000 }, () => {
  const ROOT = resolve(import.meta.dirname, '..', '..');
  let dir: string;
  let proc: ChildProcess | undefined;
  let kubectl: Kubectl;
  const server = { url: '', dataDir: '', kubeconfig: '' };
  const node = hostname().toLowerCase();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-stream-e2e-'));
    server.dataDir = join(dir, 'data');
    server.kubeconfig = join(server.dataDir, 'kubeconfig.yaml');
    proc = spawn(process.execPath, [join(ROOT, 'bin', 'skiff'), 'server', '--port', '0', '--data-dir', server.dataDir, '--runtime', 'process', '--disable-controller-manager', '--disable-scheduler', '--disable-proxy', '--disable-dns'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    server.url = await new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`server did not start in 30 s:\n${err}`)), 30_000);
      proc!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (https?\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          ok(m[1]!);
        }
      });
      proc!.once('exit', (code) => fail(new Error(`server exited with ${code}:\n${err}`)));
    });
    kubectl = kubectlFor(server);
    await waitFor(async () => (await kubectl(['get', 'node', node])).code === 0, { timeoutMs: 30_000, what: 'the embedded agent\'s Node' });
    assert.equal((await kubectl(['create', 'serviceaccount', 'default'])).code, 0);
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: talker}\nspec:\n  nodeName: ${node}\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: debian\n    command: ["sh", "-c", "echo hello-from-talker; while true; do sleep 1; done"]\n`;
    const r = await kubectl(['apply', '-f', '-'], { input: pod });
    assert.equal(r.code, 0, r.stderr);
    const ready = await kubectl(['wait', '--for=condition=Ready', 'pod/talker', '--timeout=60s']);
    assert.equal(ready.code, 0, ready.stderr);
  });
  after(async () => {
    if (kubectl) {
      await kubectl(['delete', 'pod', 'talker', '--grace-period=1']).catch(() => undefined);
      kubectl.cleanup();
    }
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl logs and exec still work through the API server', async () => {
    await waitFor(async () => (await kubectl(['logs', 'talker'])).stdout.includes('hello-from-talker'), { timeoutMs: 15_000, what: 'the pod\'s log' });
    const ex = await kubectl(['exec', 'talker', '--', 'sh', '-c', 'echo exec-ok']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, 'exec-ok\n');
  });

  it('the agent\'s port refuses plain, anonymous, foreign and unauthorized clients', async () => {
    const n = JSON.parse((await kubectl(['get', 'node', node, '-o', 'json'])).stdout) as { status: { daemonEndpoints: { kubeletEndpoint: { Port: number } } } };
    const port = n.status.daemonEndpoints.kubeletEndpoint.Port;
    const { ca, cert, key } = serverPki(server);
    assert.equal((await get(port, '/pods', { ca })).status, 401);
    const foreignUser = await userCert(server as never, 'kube-apiserver-kubelet-client', [], { foreign: true });
    assert.equal((await get(port, '/pods', { ca, cert: foreignUser.cert, key: foreignUser.key })).status, 401);
    const alice = await userCert(server as never, 'alice', ['devs']);
    assert.deepEqual(await get(port, '/containerLogs/default/talker/main', { ca, cert: alice.cert, key: alice.key }),
      { status: 403, body: 'Forbidden (user=alice, verb=get, resource=nodes, subresource=log)' });
    // The API server's own identity (system:masters here) is let in.
    const admin = await get(port, '/containerLogs/default/talker/main', { ca, cert, key });
    assert.equal(admin.status, 200);
    assert.match(admin.body, /hello-from-talker/);
    const plain = await new Promise<string>((ok) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/pods' }, (res) => ok(`status ${res.statusCode ?? 0}`));
      req.on('error', (e) => ok(`error ${e.message}`));
      req.end();
    });
    assert.ok(!plain.startsWith('status 2'), plain);
  });

  it('a joined `skiff agent` requests its serving certificate (kubelet-serving CSR) and serves logs over TLS', async () => {
    // KUBECONFIG rather than --kubeconfig: the client verbs' global --kubeconfig shadows the agent's own flag.
    const agent = spawn(process.execPath, [join(ROOT, 'bin', 'skiff'), 'agent', '--runtime', 'process', '--node-name', 'joined-n', '--port', '0', '--root-dir', join(dir, 'joined'), '--kill-pods-on-exit', '--disable-proxy', '--disable-dns'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: server.kubeconfig },
    });
    let err = '';
    agent.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    try {
      await waitFor(async () => (await kubectl(['get', 'node', 'joined-n'])).code === 0, { timeoutMs: 30_000, what: 'the joined Node' }).catch((e: unknown) => { throw new Error(`${(e as Error).message}: ${err}`); });
      const csrs = JSON.parse((await kubectl(['get', 'csr', '-o', 'json'])).stdout) as { items: { spec: { signerName: string }; status?: { certificate?: string } }[] };
      assert.ok(csrs.items.some((c) => c.spec.signerName === 'kubernetes.io/kubelet-serving' && c.status?.certificate), 'an issued kubelet-serving CSR');
      const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: joined-talker}\nspec:\n  nodeName: joined-n\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: debian\n    command: ["sh", "-c", "echo hello-from-joined; while true; do sleep 1; done"]\n';
      assert.equal((await kubectl(['apply', '-f', '-'], { input: pod })).code, 0);
      await waitFor(async () => (await kubectl(['logs', 'joined-talker'])).stdout.includes('hello-from-joined'), { timeoutMs: 30_000, what: 'the joined pod\'s log' });
    } finally {
      await kubectl(['delete', 'pod', 'joined-talker', '--grace-period=1', '--ignore-not-found']);
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      const t = setTimeout(() => agent.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  });

  it('the projected ServiceAccount token is a real token from the TokenRequest API', async () => {
    const uid = (await kubectl(['get', 'pod', 'talker', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const volumes = join(server.dataDir, 'agent', 'pods', uid, 'volumes');
    const access = readdirSync(volumes).find((v) => v.startsWith('kube-api-access-'));
    assert.ok(access, `a kube-api-access volume in ${volumes}`);
    const token = readFileSync(join(volumes, access, 'token'), 'utf8');
    assert.equal(token.split('.').length, 3, 'a JWT');
    // It authenticates as the pod's ServiceAccount (which RBAC has granted nothing).
    const denied = await fetchAs(server, '/api/v1/namespaces/default/secrets', {}, { token });
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { message: string }).message, /User "system:serviceaccount:default:default" cannot list resource "secrets"/);
  });
});
