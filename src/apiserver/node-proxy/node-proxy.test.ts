import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ApiError } from '../errors.ts';
import { handleUpgrade, parseUpgradePath, proxyPodSubresource, resolveContainer } from './index.ts';
import type { RequestContext } from '../request.ts';
import type { StoredObject } from '../../api/meta/types.ts';

const pod = (containers: string[], inits: string[] = [], nodeName = 'n1'): StoredObject => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { nodeName, containers: containers.map((name) => ({ name })), initContainers: inits.map((name) => ({ name })) },
});

describe('node proxy', () => {
  it('picks the container as upstream does', () => {
    assert.equal(resolveContainer(pod(['a']) as never, null), 'a');
    assert.equal(resolveContainer(pod(['a', 'b'], ['i']) as never, 'i'), 'i');
    assert.throws(() => resolveContainer(pod(['a', 'b'], ['i']) as never, null), (e: unknown) => e instanceof ApiError && e.code === 400 &&
      e.message === 'a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]');
    assert.throws(() => resolveContainer(pod(['a']) as never, 'x'), /container x is not valid for pod web/);
  });

  it('parses upgrade paths', () => {
    assert.deepEqual(parseUpgradePath('/api/v1/namespaces/ns/pods/p/exec'), { namespace: 'ns', name: 'p', subresource: 'exec' });
    assert.equal(parseUpgradePath('/api/v1/namespaces/ns/pods/p/log'), undefined);
  });

  it('relays logs from the agent and turns agent errors into a Status', async () => {
    const agent = http.createServer((req, res) => {
      if (req.url?.startsWith('/containerLogs/default/web/a?')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`log for ${req.url}`);
      } else {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        res.end('container "b" in pod "web" is waiting to start: ContainerCreating');
      }
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', () => r()));
    const port = (agent.address() as AddressInfo).port;
    const args = {
      getPod: async () => pod(['a', 'b']),
      getNode: async () => ({ metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } }),
    };
    const front = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const ctx: RequestContext = { req, res, url, method: req.method ?? 'GET', started: 0n };
      proxyPodSubresource(ctx, { ...args, namespace: 'default', name: 'web', subresource: 'log' }).catch((e: unknown) => {
        const err = e as ApiError;
        res.writeHead(err.code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(err.status));
      });
    });
    front.on('upgrade', (req, socket, head) => {
      if (!handleUpgrade(req, socket, head, args)) socket.destroy();
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    const fport = (front.address() as AddressInfo).port;
    const get = (path: string): Promise<{ code: number; body: string }> => new Promise((resolve, reject) => {
      http.get(`http://127.0.0.1:${fport}${path}`, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: b }));
      }).on('error', reject);
    });
    try {
      const ok = await get('/api/v1/namespaces/default/pods/web/log?container=a&tailLines=3');
      assert.equal(ok.code, 200);
      assert.equal(ok.body, 'log for /containerLogs/default/web/a?tailLines=3');
      const bad = await get('/api/v1/namespaces/default/pods/web/log?container=b');
      assert.equal(bad.code, 400);
      assert.deepEqual(JSON.parse(bad.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'container "b" in pod "web" is waiting to start: ContainerCreating', reason: 'BadRequest', code: 400 });
      const noContainer = await get('/api/v1/namespaces/default/pods/web/log');
      assert.equal(noContainer.code, 400);
      // An upgrade is relayed with the agent's path and the client's headers (minus credentials).
      const seen = new Promise<string>((resolve) => agent.once('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
        resolve(`${req.method} ${req.url} auth=${req.headers.authorization ?? '-'} up=${req.headers.upgrade}`);
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello');
      }));
      const s = net.connect(fport, '127.0.0.1');
      s.write('GET /api/v1/namespaces/default/pods/web/exec?container=a&command=ls&stdout=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      await new Promise((r) => s.once('close', r));
      assert.equal(await seen, 'GET /exec/default/web/a?command=ls&stdout=true auth=- up=websocket');
      assert.match(got, /^HTTP\/1.1 101 [\s\S]*hello$/);
    } finally {
      await new Promise((r) => front.close(r));
      await new Promise((r) => agent.close(r));
    }
  });
});
