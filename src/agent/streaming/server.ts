/**
 * The agent's streaming endpoint, kubelet style (the API server proxies pods/log, exec, attach and portforward
 * here): GET /containerLogs/{ns}/{pod}/{container}, /exec/{ns}/{pod}/{container}, /attach/{ns}/{pod}/{container}
 * (WebSocket channel protocols), /portForward/{ns}/{pod} (SPDY/3.1 raw or tunnelled in WebSocket, or the
 * WebSocket port-forward protocol), /pods and /healthz. Plain HTTP on the node address for now; the security
 * issue adds TLS and authentication.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { logger } from '../../base/log.ts';
import { readLogs } from '../logs/cri-log.ts';
import type { ContainerRuntime } from '../runtime/runtime.ts';
import { channelSession, errorStatus, exitStatus, remoteCommandProtocols } from './remotecommand.ts';
import { spdyPortForward, websocketPortForward } from './portforward.ts';

const log = logger('agent-streaming');

/** What the streaming server needs to know about one pod. */
export interface StreamingPod {
  pod: Pod;
  runtime: ContainerRuntime;
  /** The log file of a container (current or previous instance). */
  logPath(container: string, previous: boolean): string | undefined;
  /** The runtime id of a container's current instance. */
  containerId(container: string): string | undefined;
  /** The pod's sandbox id. */
  readonly sandbox: string | undefined;
}

/** Finds pods on this agent (one node, or every node of a simulated fleet). */
export interface StreamingBackend {
  findPod(namespace: string, name: string): StreamingPod | undefined;
  listPods(): Pod[];
}

/** A running streaming server. */
export interface StreamingServer {
  port: number;
  address: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function segments(pathname: string): string[] {
  return pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
}

/** Starts the streaming server on `address:port` (port 0 picks a free one). */
export async function startStreamingServer(backend: StreamingBackend, opts: { address: string; port: number }): Promise<StreamingServer> {
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols) => {
      for (const p of ['SPDY/3.1+portforward.k8s.io', ...remoteCommandProtocols, 'portforward.k8s.io']) if (protocols.has(p)) return p;
      return false;
    },
  });
  const server = http.createServer((req, res) => {
    handleRequest(backend, req, res).catch((e: unknown) => {
      const code = e instanceof HttpError ? e.code : 500;
      const msg = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) {
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(msg);
      } else res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    try {
      handleUpgrade(backend, wss, req, socket, head);
    } catch (e) {
      const code = e instanceof HttpError ? e.code : 500;
      const msg = e instanceof Error ? e.message : String(e);
      socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(msg)}\r\nConnection: close\r\n\r\n${msg}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    address: addr.address,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function lookup(backend: StreamingBackend, ns: string | undefined, name: string | undefined): StreamingPod {
  const p = ns && name ? backend.findPod(ns, name) : undefined;
  if (!p) throw new HttpError(404, `pod "${name ?? ''}" does not exist`);
  return p;
}

async function handleRequest(backend: StreamingBackend, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  const seg = segments(url.pathname);
  if (seg[0] === 'healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (seg[0] === 'pods' && seg.length === 1) {
    const body = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: backend.listPods() });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
    return;
  }
  if (seg[0] === 'containerLogs' && seg.length === 4) {
    await serveLogs(backend, seg[1]!, seg[2]!, seg[3]!, url.searchParams, req, res);
    return;
  }
  if (seg[0] === 'exec' || seg[0] === 'attach' || seg[0] === 'portForward') {
    throw new HttpError(400, `${seg[0]} needs a WebSocket or SPDY upgrade`);
  }
  throw new HttpError(404, `404 page not found`);
}

async function serveLogs(backend: StreamingBackend, ns: string, name: string, container: string, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const p = lookup(backend, ns, name);
  const spec = [...(p.pod.spec?.initContainers ?? []), ...(p.pod.spec?.containers ?? [])].find((c) => c.name === container);
  if (!spec) throw new HttpError(404, `container "${container}" not found in pod "${name}"`);
  const previous = bool(q, 'previous');
  const path = p.logPath(container, previous);
  if (!path) {
    if (previous) throw new HttpError(400, `previous terminated container "${container}" in pod "${name}" not found`);
    const waiting = [...(p.pod.status?.initContainerStatuses ?? []), ...(p.pod.status?.containerStatuses ?? [])].find((s) => s.name === container)?.state?.waiting;
    throw new HttpError(400, `container "${container}" in pod "${name}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}`);
  }
  let sinceMs: number | undefined;
  const sinceSeconds = q.get('sinceSeconds');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== null) sinceMs = Date.now() - Number(sinceSeconds) * 1000;
  else if (sinceTime !== null) sinceMs = Date.parse(sinceTime);
  const tail = q.get('tailLines');
  const limit = q.get('limitBytes');
  const follow = bool(q, 'follow');
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  req.resume();
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'X-Content-Type-Options': 'nosniff' });
  const id = previous ? undefined : p.containerId(container);
  await readLogs(path, res, {
    tailLines: tail !== null && tail !== '' ? Number(tail) : undefined,
    limitBytes: limit !== null && limit !== '' ? Number(limit) : undefined,
    sinceMs: sinceMs !== undefined && Number.isFinite(sinceMs) ? sinceMs : undefined,
    timestamps: bool(q, 'timestamps'),
    follow: follow && !previous,
    isDone: async () => {
      if (!id) return true;
      const st = await p.runtime.containerStatus(id);
      return !st || st.state !== 'CONTAINER_RUNNING';
    },
    signal: abort.signal,
  });
  res.end();
}

function handleUpgrade(backend: StreamingBackend, wss: WebSocketServer, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = new URL(req.url ?? '/', 'http://agent');
  const seg = segments(url.pathname);
  const kind = seg[0];
  const q = url.searchParams;
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (kind === 'portForward') {
    const p = lookup(backend, seg[1], seg[2]);
    const label = `${p.pod.metadata?.name ?? ''}_${p.pod.metadata?.namespace ?? ''}`;
    const uid = p.pod.metadata?.uid ?? '';
    const forward = async (port: number, stream: Duplex): Promise<void> => {
      const sandbox = p.sandbox;
      if (!sandbox) throw new Error('the pod sandbox is not running');
      await p.runtime.portForward(sandbox, port, stream);
    };
    const podLabel = `${label}, uid ${uid}`;
    if (upgrade === 'spdy/3.1') {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
      const session = spdyPortForward({ write: (b) => socket.write(b), close: () => socket.destroy() }, podLabel, forward);
      if (head.length > 0) session.receive(head);
      socket.on('data', (d: Buffer) => session.receive(d));
      socket.on('close', () => session.close());
      socket.on('error', () => session.close());
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (ws.protocol === 'SPDY/3.1+portforward.k8s.io') {
        const session = spdyPortForward({ write: (b) => ws.send(b, { binary: true }), close: () => ws.close(1000) }, podLabel, forward);
        ws.on('message', (d: Buffer | ArrayBuffer | Buffer[]) => session.receive(Array.isArray(d) ? Buffer.concat(d) : Buffer.isBuffer(d) ? d : Buffer.from(d)));
        ws.on('close', () => session.close());
        return;
      }
      const ports = (q.getAll('ports').join(',')).split(',').filter((s) => s !== '').map(Number);
      if (ports.length === 0 || ports.some((n) => !Number.isInteger(n) || n <= 0 || n > 65535)) {
        ws.close(1008, 'invalid ports');
        return;
      }
      websocketPortForward(ws, ports, podLabel, forward);
    });
    return;
  }
  if (kind === 'exec' || kind === 'attach') {
    // /exec/{ns}/{pod}/{container} or /exec/{ns}/{pod}/{uid}/{container}
    const container = seg.length >= 5 ? seg[4] : seg[3];
    if (upgrade !== 'websocket') throw new HttpError(400, 'only WebSocket upgrades are supported for exec and attach');
    const stdin = bool(q, 'stdin') || bool(q, 'input');
    const stdout = bool(q, 'stdout') || bool(q, 'output');
    const stderr = bool(q, 'stderr') || bool(q, 'error');
    const tty = bool(q, 'tty');
    const command = q.getAll('command');
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const s = channelSession(ws, { stdin, stdout, stderr, tty });
      void (async () => {
        try {
          const p = lookup(backend, seg[1], seg[2]);
          const name = container ?? '';
          const id = p.containerId(name);
          const st = id ? await p.runtime.containerStatus(id) : undefined;
          if (!id || !st) throw new Error(`container ${name} is not valid for pod ${seg[2] ?? ''}`);
          if (st.state !== 'CONTAINER_RUNNING') throw new Error(`container not found ("${name}")`);
          const streams = { stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, tty, resize: s.resize, signal: s.signal };
          if (kind === 'exec') {
            if (command.length === 0) throw new Error('you must specify at least one command for the container');
            const code = await p.runtime.exec(id, command, streams);
            s.finish(exitStatus(command, code));
          } else {
            await p.runtime.attach(id, streams);
            s.finish({ metadata: {}, status: 'Success' });
          }
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          log.v(2).info('stream session failed', { kind, path: url.pathname, err: msg });
          s.finish(errorStatus(msg));
        }
      })();
    });
    return;
  }
  throw new HttpError(404, '404 page not found');
}
