/**
 * Helpers for the agent integration tests: a real `skiff server`, a real agent started in-process against it,
 * and a front proxy that wires src/apiserver/node-proxy exactly as server.ts will (pods/log through
 * proxyPodSubresource, exec/attach/portforward upgrades through handleUpgrade) and relays everything else to
 * the server untouched. kubectl talks to the front. Once server.ts wires the node proxy itself, the front only
 * relays and can be dropped.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { stringify as yamlStringify } from 'yaml';
import { ApiError as ServerApiError } from '../../src/apiserver/errors.ts';
import { handleUpgrade, proxyPodSubresource } from '../../src/apiserver/node-proxy/index.ts';
import type { RequestContext } from '../../src/apiserver/request.ts';
import { sendStatus } from '../../src/apiserver/request.ts';
import { toApiError } from '../../src/apiserver/errors.ts';
import type { StoredObject } from '../../src/api/meta/types.ts';
import { nodes, pods } from '../../src/api/core/v1/index.ts';
import { ApiClient, ApiError, RestClient, clientConfigFromKubeconfig } from '../../src/client/index.ts';
import { startAgent } from '../../src/agent/index.ts';
import type { RunningAgent, StartAgentOptions } from '../../src/agent/index.ts';
import { setLogSink } from '../../src/base/log.ts';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { kubectlFor, serverPki, startServer } from './helpers/cluster.ts';

/** A server, its front, an agent and a kubectl bound to the front. */
export interface AgentCluster {
  server: TestServer;
  api: ApiClient;
  agent: RunningAgent;
  kubectl: Kubectl;
  /** The agent's state directory. */
  rootDir: string;
  /** The kubeconfig of the front (what kubectl uses). */
  kubeconfig: string;
  /** Restarts the agent (same root dir): workers stop, containers keep running, a new agent adopts them. */
  restartAgent(): Promise<void>;
  stop(): Promise<void>;
}

function toServerError(e: unknown): unknown {
  if (e instanceof ApiError) return new ServerApiError({ ...e.status, kind: 'Status', apiVersion: 'v1', metadata: {} } as ServerApiError['status']);
  return e;
}

/**
 * Starts a front proxy to `target` with the node proxy wired in. Requests are relayed as the cluster admin (the
 * admin client certificate when the server speaks HTTPS); the client's own credentials are dropped.
 */
export async function startFront(target: string, api: ApiClient, tls?: { ca: string; cert: string; key: string }): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target);
  const secure = t.protocol === 'https:';
  const upstreamAgent = secure ? new https.Agent({ keepAlive: true, ca: tls?.ca, cert: tls?.cert, key: tls?.key }) : new http.Agent({ keepAlive: true });
  const args = {
    getPod: (ns: string, name: string) => api.resource<StoredObject>(pods).get(name, { namespace: ns }).catch((e: unknown) => { throw toServerError(e); }),
    getNode: (name: string) => api.resource<StoredObject>(nodes).get(name).catch((e: unknown) => { throw toServerError(e); }),
  };
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(log|exec|attach|portforward)$/.exec(url.pathname);
    if (m) {
      const ctx: RequestContext = { req, res, url, method: req.method ?? 'GET', started: process.hrtime.bigint() };
      proxyPodSubresource(ctx, { ...args, namespace: decodeURIComponent(m[1]!), name: decodeURIComponent(m[2]!), subresource: m[3]! }).catch((e: unknown) => {
        if (!res.headersSent) sendStatus(res, toApiError(e));
        else res.end();
      });
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = (secure ? https : http).request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers, agent: upstreamAgent }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    if (!handleUpgrade(req, socket, head, args)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
      upstreamAgent.destroy();
    },
  };
}

/** Starts the whole cluster for a test file. */
export async function startAgentCluster(opts: Partial<StartAgentOptions> = {}): Promise<AgentCluster> {
  // Agent logs go nowhere unless debugging; test failures print what they need.
  if (!process.env['SKIFF_TEST_LOGS']) setLogSink(null);
  const server = await startServer();
  const cfg = clientConfigFromKubeconfig(server.kubeconfig);
  const api = new ApiClient(new RestClient(cfg));
  const front = await startFront(server.url, api, server.url.startsWith('https:') ? serverPki(server) : undefined);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-agent-it-'));
  const kubeconfig = join(dir, 'front.kubeconfig');
  writeFileSync(kubeconfig, yamlStringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'front', cluster: { server: front.url } }],
    users: [{ name: 'admin', user: { token: 'skiff-admin' } }],
    contexts: [{ name: 'front', context: { cluster: 'front', user: 'admin', namespace: 'default' } }],
    'current-context': 'front',
  }));
  const rootDir = join(dir, 'agent');
  const agentOpts: StartAgentOptions = { client: api, nodeName: 'node-1', rootDir, streamingPort: 0, ...opts };
  let agent = await startAgent(agentOpts);
  const kubectl = kubectlFor({ kubeconfig });
  const cluster: AgentCluster = {
    server, api, agent, kubectl, rootDir, kubeconfig,
    async restartAgent() {
      await agent.stop();
      agent = await startAgent(agentOpts);
      cluster.agent = agent;
    },
    async stop() {
      // Pods go first so that the agent stops their processes; then everything else, killing leftovers.
      await kubectl(['delete', 'pods', '--all', '--grace-period=1', '--wait=false']).catch(() => undefined);
      await cluster.agent.stop();
      const { createProcessRuntime } = await import('../../src/agent/runtime/process/process-runtime.ts');
      const rt = createProcessRuntime({ rootDir, podIP: '127.0.0.1' });
      await rt.start();
      await rt.close({ killContainers: true });
      await front.close();
      api.close();
      await server.stop();
      kubectl.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** PIDs of processes whose command line contains `marker` (to prove nothing is left behind). */
export function processesWith(marker: string): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo')).map((l) => Number(l.trim().split(/\s+/)[0]));
}
