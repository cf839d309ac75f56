/**
 * The API server side of pods/log, pods/exec, pods/attach and pods/portforward: resolve the pod and its node,
 * pick the container as upstream does, and relay to the node agent's streaming endpoint
 * (status.addresses InternalIP + status.daemonEndpoints.kubeletEndpoint.Port). Logs are proxied as an HTTP
 * stream (an agent error becomes a Status, as upstream's response checker does); exec, attach and portforward
 * upgrades (WebSocket, SPDY, or SPDY tunnelled in WebSocket) are relayed byte for byte, so the agent speaks
 * the protocol with the client. With `kubeletClient` the agent is reached over HTTPS: its serving certificate must
 * chain to the cluster CA and name the node's address, and the API server presents its kubelet-client certificate.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { StoredObject } from '../../api/meta/types.ts';
import { logger } from '../../base/log.ts';
import { ApiError, badRequest, internalError, toApiError } from '../errors.ts';
import type { RequestContext } from '../request.ts';

const log = logger('node-proxy');

/** The API server's credentials towards agents (upstream --kubelet-client-certificate/-key, --kubelet-certificate-authority). */
export interface KubeletClientTls {
  /** The CA the agents' serving certificates must chain to. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Registry access the proxy needs; both reject with the registry's ApiError (404…). */
export interface NodeProxyArgs {
  getPod(namespace: string, name: string): Promise<StoredObject>;
  getNode(name: string): Promise<StoredObject>;
  /** HTTPS with these credentials (absent: plain HTTP, for agents started without TLS). */
  kubeletClient?: KubeletClientTls;
}

function tlsOptions(c: KubeletClientTls): { ca: string; cert: string; key: string } {
  return { ca: c.caPem, cert: c.certPem, key: c.keyPem };
}

interface PodShape {
  metadata?: { name?: string; namespace?: string };
  spec?: { nodeName?: string; containers?: { name: string }[]; initContainers?: { name: string }[]; ephemeralContainers?: { name: string }[] };
}

interface NodeShape {
  status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

/** The streaming subresources served through the node. */
export const nodeSubresources = new Set(['log', 'exec', 'attach', 'portforward']);

/** Picks the container: the one named, else the only one; upstream's errors otherwise. */
export function resolveContainer(pod: PodShape, requested: string | null): string {
  const name = pod.metadata?.name ?? '';
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const inits = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) => c.name);
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`;
    if (inits.length > 0) msg += ` or one of the init containers: [${inits.join(' ')}]`;
    if (ephemeral.length > 0) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    throw badRequest(msg);
  }
  if (![...containers, ...inits, ...ephemeral].includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** Where the pod's node agent listens. */
async function nodeLocation(pod: PodShape, args: NodeProxyArgs): Promise<{ host: string; port: number }> {
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${pod.metadata?.name ?? ''} does not have a host assigned`);
  const node = (await args.getNode(nodeName)) as NodeShape;
  const addrs = node.status?.addresses ?? [];
  const pick = ['InternalIP', 'Hostname', 'ExternalIP'].map((t) => addrs.find((a) => a.type === t)?.address).find((a) => a);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  if (!pick || !port) throw internalError(`node ${nodeName} has no kubelet endpoint`);
  return { host: pick, port };
}

function intParam(q: URLSearchParams, name: string): void {
  const v = q.get(name);
  if (v === null || v === '') return;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  if ((name === 'limitBytes' || name === 'sinceSeconds') && Number(v) < 1) throw badRequest(`${name} must be greater than 0`);
}

/** Path of the agent's endpoint for a subresource request. */
function agentPath(sub: string, ns: string, pod: string, container: string, q: URLSearchParams): string {
  const query = new URLSearchParams(q);
  query.delete('container');
  const qs = query.toString();
  const e = encodeURIComponent;
  const base = sub === 'log' ? `/containerLogs/${e(ns)}/${e(pod)}/${e(container)}`
    : sub === 'portforward' ? `/portForward/${e(ns)}/${e(pod)}`
      : `/${sub}/${e(ns)}/${e(pod)}/${e(container)}`;
  return qs ? `${base}?${qs}` : base;
}

const reasons: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 500: 'InternalError', 503: 'ServiceUnavailable' };

/**
 * Serves GET pods/{name}/log (and answers plain requests to exec/attach/portforward with upstream's 400).
 * Resolves with the HTTP status sent.
 */
export async function proxyPodSubresource(ctx: RequestContext, args: NodeProxyArgs & { namespace: string; name: string; subresource: string }): Promise<number> {
  const { req, res, url } = ctx;
  req.resume();
  if (args.subresource !== 'log') throw badRequest('Upgrade request required');
  if (ctx.method !== 'GET') throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `the server does not allow this method on the requested resource`, reason: 'MethodNotAllowed', code: 405 });
  const q = url.searchParams;
  for (const n of ['tailLines', 'limitBytes', 'sinceSeconds']) intParam(q, n);
  if (q.get('sinceSeconds') && q.get('sinceTime')) throw badRequest('at most one of `sinceTime` or `sinceSeconds` may be specified');
  const pod = (await args.getPod(args.namespace, args.name)) as PodShape;
  const container = resolveContainer(pod, q.get('container'));
  const loc = await nodeLocation(pod, args);
  const path = agentPath('log', args.namespace, args.name, container, q);
  return new Promise<number>((resolve, reject) => {
    const reqOpts = { host: loc.host, port: loc.port, path, method: 'GET', headers: { accept: '*/*' } };
    const onResponse = (ures: http.IncomingMessage): void => {
      const code = ures.statusCode ?? 500;
      if (code < 200 || code > 299) {
        const chunks: Buffer[] = [];
        ures.on('data', (c: Buffer) => chunks.push(c));
        ures.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8').trim();
          reject(new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: text || http.STATUS_CODES[code] || 'error', reason: reasons[code] ?? 'InternalError', code }));
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': String(ures.headers['content-type'] ?? 'text/plain'), 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      ures.on('data', (c: Buffer) => res.write(c));
      ures.on('end', () => {
        res.end();
        resolve(200);
      });
      ures.on('error', () => {
        res.end();
        resolve(200);
      });
    };
    const upstream = args.kubeletClient
      ? https.request({ ...reqOpts, ...tlsOptions(args.kubeletClient), agent: false }, onResponse)
      : http.request(reqOpts, onResponse);
    upstream.on('error', (e) => reject(internalError(`error dialing backend: ${e.message}`)));
    // kubectl ends `logs -f` by closing its connection (Node: res 'close', not req 'close').
    res.on('close', () => upstream.destroy());
    upstream.end();
  });
}

/** Parses /api/v1/namespaces/{ns}/pods/{name}/{exec|attach|portforward}; undefined for other paths. */
export function parseUpgradePath(pathname: string): { namespace: string; name: string; subresource: string } | undefined {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)\/?$/.exec(pathname);
  if (!m) return undefined;
  return { namespace: decodeURIComponent(m[1]!), name: decodeURIComponent(m[2]!), subresource: m[3]! };
}

function writeStatus(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.status);
  const code = err.code;
  socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const hopHeaders = new Set(['host', 'authorization', 'impersonate-user', 'impersonate-group', 'impersonate-uid', 'proxy-authorization']);

/**
 * Handles an upgrade request (the http server's 'upgrade' event). Returns false when the path is not a pod
 * exec/attach/portforward (the caller answers it); otherwise it owns the socket.
 */
export function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, args: NodeProxyArgs): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const target = parseUpgradePath(url.pathname);
  if (!target) return false;
  socket.on('error', () => undefined);
  void (async () => {
    let upstream: net.Socket | undefined;
    try {
      const pod = (await args.getPod(target.namespace, target.name)) as PodShape;
      const q = url.searchParams;
      const container = target.subresource === 'portforward' ? '' : resolveContainer(pod, q.get('container'));
      const loc = await nodeLocation(pod, args);
      const path = agentPath(target.subresource, target.namespace, target.name, container, q);
      upstream = args.kubeletClient
        ? tls.connect({ host: loc.host, port: loc.port, ...tlsOptions(args.kubeletClient), ...(net.isIP(loc.host) ? {} : { servername: loc.host }) })
        : net.connect({ host: loc.host, port: loc.port });
      await new Promise<void>((resolve, reject) => {
        upstream!.once(args.kubeletClient ? 'secureConnect' : 'connect', () => resolve());
        upstream!.once('error', (e) => reject(internalError(`error dialing backend: ${e.message}`)));
      });
      const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`, `Host: ${loc.host}:${loc.port}`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]!;
        if (hopHeaders.has(k.toLowerCase())) continue;
        lines.push(`${k}: ${req.rawHeaders[i + 1]!}`);
      }
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      const up = upstream;
      const done = (): void => {
        up.destroy();
        socket.destroy();
      };
      up.once('close', done);
      socket.once('close', done);
      up.on('error', done);
    } catch (e) {
      upstream?.destroy();
      const err = toApiError(e);
      if (err.code >= 500) log.warn('node proxy failed', { path: url.pathname, err: e });
      writeStatus(socket, err);
    }
  })();
  return true;
}

