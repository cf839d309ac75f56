/**
 * The agent's streaming endpoint, kubelet style (the API server proxies pods/log, exec, attach and portforward
 * here): GET /containerLogs/{ns}/{pod}/{container}, /exec/{ns}/{pod}/{container}, /attach/{ns}/{pod}/{container}
 * (WebSocket channel protocols), /portForward/{ns}/{pod} (SPDY/3.1 raw or tunnelled in WebSocket, or the
 * WebSocket port-forward protocol), /pods and /healthz. With `tls` it serves HTTPS with a certificate signed by the
 * cluster CA and, like the kubelet with --client-ca-file, authenticates every request by a client certificate of
 * that CA (401 otherwise) and authorizes it (403, upstream's `Forbidden (user=…, verb=…, resource=…, subresource=…)`):
 * by default only the API server's kubelet-client identity and system:masters may use the endpoint.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
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

/** The identity a client certificate carries (CN = user, O = groups) and what it asks to do. */
export interface StreamingRequestAttributes {
  user: { name: string; groups: string[] };
  /** get, create, update, patch or delete (from the HTTP method). */
  verb: string;
  /** Always `nodes` (the kubelet's authorization attributes). */
  resource: 'nodes';
  /** log for /logs, proxy for everything else (logs, exec, attach, port-forward, pods). */
  subresource: string;
  path: string;
}

/** HTTPS and client-certificate authentication for the streaming endpoint. */
export interface StreamingTls {
  /** The agent's serving certificate (signed by the cluster CA, with the node's addresses as SANs) and key. */
  certPem: string;
  keyPem: string;
  /** The cluster CA: clients must present a certificate it signed, with the client-auth usage. */
  clientCaPem: string;
  /** Whether an authenticated client may make the request (default: the API server's identity, see apiServerOnly). */
  authorize?: (a: StreamingRequestAttributes) => boolean | Promise<boolean>;
}

/** The user name of the API server's client certificate towards agents (kubeadm's apiserver-kubelet-client). */
export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';

/** The default authorization: the API server's kubelet-client identity and system:masters, nobody else. */
export function apiServerOnly(a: StreamingRequestAttributes): boolean {
  return a.user.name === KUBELET_CLIENT_USER || a.user.groups.includes('system:masters');
}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const verbs: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * Authenticates and authorizes one request on a TLS socket: the answer to send when refused (401 or 403 with
 * upstream's text), or undefined when it may go on.
 */
async function refusal(socket: Socket, req: http.IncomingMessage, tls: StreamingTls): Promise<{ code: number; message: string } | undefined> {
  const s = socket as TLSSocket;
  const cert = typeof s.getPeerCertificate === 'function' ? s.getPeerCertificate() : undefined;
  if (!s.authorized || !cert || !cert.subject) return { code: 401, message: 'Unauthorized' };
  const eku = (cert as { ext_key_usage?: string[] }).ext_key_usage;
  if (eku && !eku.includes(CLIENT_AUTH_OID)) return { code: 401, message: 'Unauthorized' };
  const one = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const user = { name: one(cert.subject.CN)[0] ?? '', groups: one(cert.subject.O) };
  const path = new URL(req.url ?? '/', 'https://agent').pathname;
  const a: StreamingRequestAttributes = {
    user, verb: verbs[req.method ?? 'GET'] ?? 'get', resource: 'nodes', subresource: path.startsWith('/containerLogs/') || path.startsWith('/logs') ? 'log' : 'proxy', path,
  };
  if (await (tls.authorize ?? apiServerOnly)(a)) return undefined;
  return { code: 403, message: `Forbidden (user=${user.name}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})` };
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

/** Starts the streaming server on `address:port` (port 0 picks a free one); HTTPS with client certificates when `tls` is given. */
export async function startStreamingServer(backend: StreamingBackend, opts: { address: string; port: number; tls?: StreamingTls }): Promise<StreamingServer> {
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols) => {
      for (const p of ['SPDY/3.1+portforward.k8s.io', ...remoteCommandProtocols, 'portforward.k8s.io']) if (protocols.has(p)) return p;
      return false;
    },
  });
  const tls = opts.tls;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const served = async (): Promise<void> => {
      const refused = tls ? await refusal(req.socket, req, tls) : undefined;
      if (refused) {
        req.resume();
        res.writeHead(refused.code, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(refused.message);
        return;
      }
      await handleRequest(backend, req, res);
    };
    served().catch((e: unknown) => {
      const code = e instanceof HttpError ? e.code : 500;
      const msg = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) {
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(msg);
      } else res.end();
    });
  };
  // requestCert without rejectUnauthorized: a client without a good certificate gets a 401 rather than a failed handshake.
  const server = tls
    ? https.createServer({ cert: tls.certPem, key: tls.keyPem, ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: false }, onRequest)
    : http.createServer(onRequest);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const refuseUpgrade = (socket: Duplex, code: number, msg: string): void => {
    socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(msg)}\r\nConnection: close\r\n\r\n${msg}`);
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const upgrade = (): void => {
      try {
        handleUpgrade(backend, wss, req, socket, head);
      } catch (e) {
        refuseUpgrade(socket, e instanceof HttpError ? e.code : 500, e instanceof Error ? e.message : String(e));
      }
    };
    if (!tls) {
      upgrade();
      return;
    }
    refusal(socket as Socket, req, tls).then((refused) => {
      if (refused) refuseUpgrade(socket, refused.code, refused.message);
      else upgrade();
    }, (e: unknown) => refuseUpgrade(socket, 500, e instanceof Error ? e.message : String(e)));
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
