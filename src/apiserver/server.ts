/**
 * The API server: the HTTP edge (body limits, in-flight limit, content negotiation), routing to discovery,
 * OpenAPI, health and the resource handlers, and its lifecycle (start, graceful stop).
 */
import { cloneJson } from '../base/json-value.ts';
import http from 'node:http';
import https from 'node:https';
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import type { ResourceDefinition } from '../api/resource.ts';
import type { Storage } from '../storage/interface.ts';
import { logger } from '../base/log.ts';
import { ApiError, pathNotFound, toApiError, tooLarge, tooManyRequests, notAcceptable, methodNotAllowed } from './errors.ts';
import { parsePath } from './routes.ts';
import {
  AGGREGATED_DISCOVERY_CT, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions,
} from './discovery.ts';
import { Store } from './registry/store.ts';
import type { StoreHooks } from './registry/store.ts';
import { ServiceAllocator } from './registry/service-allocator.ts';
import { ApiMetrics } from './metrics.ts';
import { ResourceHandler } from './resource-handler.ts';
import type { RequestContext } from './request.ts';
import { sendJson, sendStatus } from './request.ts';
import { versionInfo } from './version.ts';
import type { OpenApiDocuments } from './openapi/documents.ts';
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE, OPENAPI_V2_PROTOBUF_MEDIA_TYPE, negotiateOpenApiV2, openApiV2ProtobufBytes } from './openapi/v2-protobuf.ts';
import type { SecurityStage } from './auth/stage.ts';
import { requestUser } from './auth/user.ts';
import { forbiddenStatus } from './auth/security.ts';
import { handleUpgrade } from './node-proxy/index.ts';
import type { NodeProxyArgs } from './node-proxy/index.ts';
import type { Duplex } from 'node:stream';
import { servingTlsOptions } from './tls/serving-options.ts';

const log = logger('apiserver');

/** Options of an API server. */
export interface ApiServerOptions {
  catalog: ResourceDefinition[];
  storage: Storage;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (0 = any free port). */
  port?: number;
  /** Request bodies above this are refused with 413 (default 3 MiB, as upstream). */
  maxBodyBytes?: number;
  /** Non-long-running requests served at once before 429 (upstream --max-requests-inflight 400 + mutating 200). */
  maxInFlight?: number;
  /** OpenAPI documents; when absent /openapi answers 404. */
  openapi?: OpenApiDocuments;
  /** Extra handlers by exact path (administrative endpoints such as /skiff/v1/snapshot). */
  adminHandlers?: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>>;
  /** Objects created at start-up if missing (default namespaces…). */
  bootstrap?: { def: ResourceDefinition; namespace: string; object: Record<string, unknown> }[];
  /** Serve HTTPS with this certificate and ask for client certificates signed by `caPem` (absent: plain HTTP). */
  tls?: { certPem: string; keyPem: string; caPem: string };
  /** Builds the security stage (authentication, authorization, admission, audit) once the stores are ready. */
  security?: (server: ApiServer) => SecurityStage;
}

/** A running Skiff API server. */
export class ApiServer {
  readonly metrics = new ApiMetrics();
  readonly stores = new Map<string, Store>();
  private readonly opts: ApiServerOptions;
  private server: http.Server | null = null;
  private readonly abort = new AbortController();
  private cacheLoops: Promise<void>[] = [];
  private inFlight = 0;
  private readonly sockets = new Set<Socket>();
  private readonly watchClosers = new Set<() => void>();
  private handler!: ResourceHandler;
  private ready = false;
  private stopping = false;
  private security: SecurityStage | undefined;

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    // Every watch cache and long-running request listens on this one signal.
    setMaxListeners(0, this.abort.signal);
  }

  /** The store of a kind by group and plural. */
  storeFor(group: string, resource: string): Store | undefined {
    for (const s of this.stores.values()) {
      if (s.def.group === group && s.def.plural === resource) return s;
    }
    return undefined;
  }

  /** Starts caches, bootstraps objects and listens. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number; url: string }> {
    const nsStore = () => this.storeFor('', 'namespaces');
    const namespaceLookup = async (name: string): Promise<{ phase: string } | null> => {
      const ns = nsStore();
      if (!ns) return { phase: 'Active' };
      const cached = ns.cache.get(ns.key('', name));
      const obj = cached?.obj ?? (await ns.get('', name).catch(() => null));
      if (!obj) return null;
      const status = obj.status as { phase?: string } | undefined;
      return { phase: obj.metadata.deletionTimestamp ? 'Terminating' : (status?.phase ?? 'Active') };
    };
    const allocator = new ServiceAllocator(this.opts.storage);
    const serviceHooks: StoreHooks = {
      beforeCreate: async (obj, o) => {
        const keys = await allocator.allocate(obj, o);
        return keys.length > 0 ? () => allocator.release(keys) : undefined;
      },
      beforeUpdate: async (obj, old, o) => {
        if (o.dryRun) return undefined;
        const keys = await allocator.reconcileUpdate(obj, old);
        return keys.length > 0 ? () => allocator.release(keys) : undefined;
      },
      afterDelete: async (obj) => allocator.release(allocator.keysOf(obj)),
    };
    for (const def of this.opts.catalog) {
      const hooks = def.group === '' && def.kind === 'Service' ? serviceHooks : undefined;
      const store = new Store(def, { storage: this.opts.storage, namespaceLookup, ...(hooks ? { hooks } : {}) });
      this.stores.set(`${def.group}/${def.version}/${def.plural}`, store);
      this.cacheLoops.push(store.cache.start(this.abort.signal));
    }
    await Promise.all([...this.stores.values()].map((s) => s.cache.ready));
    for (const b of this.opts.bootstrap ?? []) {
      const store = this.storeFor(b.def.group, b.def.plural);
      if (!store) continue;
      const name = (b.object.metadata as { name: string }).name;
      try {
        await store.get(b.namespace, name);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) {
          await store.create(b.namespace, cloneJson(b.object)).catch((err: unknown) => {
            if (!(err instanceof ApiError && err.code === 409)) throw err;
          });
        } else throw e;
      }
    }
    this.security = this.opts.security?.(this);
    this.handler = new ResourceHandler({
      nodeProxy: this.nodeProxyArgs,
      ...(this.security?.admission ? { admission: this.security.admission } : {}),
      stores: this.stores, metrics: this.metrics, registerWatch: (close) => {
        this.watchClosers.add(close);
        return () => this.watchClosers.delete(close);
      },
      signal: this.abort.signal,
    });
    const tls = this.opts.tls;
    const serverOpts = { keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 };
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handle(req, res).catch((e: unknown) => {
        log.error('unhandled request failure', { err: e });
        if (!res.headersSent) sendStatus(res, toApiError(e));
        else res.destroy();
      });
    };
    // Client certificates are requested but checked per request, so that anonymous health checks still work. The TLS
    // settings accept every client kube-apiserver accepts, busybox's wget included (tls/serving-options.ts).
    const server = tls
      ? https.createServer({ ...serverOpts, ...servingTlsOptions(), cert: tls.certPem, key: tls.keyPem, ca: tls.caPem, requestCert: true, rejectUnauthorized: false }, onRequest)
      : http.createServer(serverOpts, onRequest);
    server.keepAliveTimeout = 65_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(req, socket, head);
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.server = server;
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    await this.ensureKubernetesService(allocator.apiServiceIP, addr.port);
    this.ready = true;
    const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return { host: addr.address, port: addr.port, url: `${tls ? 'https' : 'http'}://${urlHost}:${addr.port}` };
  }

  /** Replaces the serving certificate (after renewal) without dropping connections. */
  reloadTls(tls: { certPem: string; keyPem: string; caPem: string }): void {
    const s = this.server;
    if (s instanceof https.Server) s.setSecureContext({ ...servingTlsOptions(), cert: tls.certPem, key: tls.keyPem, ca: tls.caPem });
  }

  /** Pod and Node reads for the node proxy (pods/log, exec, attach, portforward). */
  get nodeProxyArgs(): NodeProxyArgs {
    return {
      getPod: (ns, name) => this.storeFor('', 'pods')!.get(ns, name),
      getNode: (name) => this.storeFor('', 'nodes')!.get('', name),
      ...(this.security?.kubeletClient ? { kubeletClient: this.security.kubeletClient } : {}),
    };
  }

  /** WebSocket/SPDY upgrades (exec, attach, portforward): authenticated and authorized like any request, then proxied to the pod's node. */
  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (this.security) {
        const res = new http.ServerResponse(req);
        res.assignSocket(socket as Socket);
        const admitted = await this.security.gate.admit(req, res, url, req.method ?? 'GET');
        this.security.audit?.record(req, res, { url, method: req.method ?? 'GET', ...(admitted.user ? { user: admitted.user } : {}), ...(admitted.attributes ? { attributes: admitted.attributes } : {}) });
        if (!admitted.allowed) {
          res.on('finish', () => socket.destroy());
          return;
        }
        res.detachSocket(socket as Socket);
      }
      if (!handleUpgrade(req, socket, head, this.nodeProxyArgs)) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' +
          JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', code: 404 }));
      }
    } catch (e) {
      log.warn('upgrade failed', { err: e });
      socket.destroy();
    }
  }

  /**
   * The `kubernetes` Service in `default` (upstream's bootstrap controller): the first ClusterIP of the range,
   * port 443 to the API server's port. Its endpoints are kept by the endpoints controller.
   */
  private async ensureKubernetesService(clusterIP: string, port: number): Promise<void> {
    const services = this.storeFor('', 'services');
    if (!services) return;
    const want = {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }], sessionAffinity: 'None' },
    };
    try {
      const cur = await services.get('default', 'kubernetes');
      const ports = (cur.spec as { ports?: { targetPort?: unknown }[] } | undefined)?.ports;
      if (ports?.[0]?.targetPort !== port) {
        await services.guaranteedUpdate('default', 'kubernetes', (svc) => {
          (svc.spec as { ports: unknown[] }).ports = want.spec.ports;
          return svc;
        });
      }
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
      await services.create('default', want).catch((err: unknown) => {
        if (!(err instanceof ApiError && err.code === 409)) throw err;
      });
    }
  }

  /** Stops accepting requests, ends watches, waits for in-flight requests (bounded) and stops the caches. */
  async stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    const server = this.server;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const close of [...this.watchClosers]) close();
    server?.closeIdleConnections();
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    while (this.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const s of this.sockets) s.destroy();
    await closed;
    this.abort.abort();
    await Promise.allSettled(this.cacheLoops);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const pathname = url.pathname;
    const method = req.method ?? 'GET';
    if (this.security) {
      // authenticate → authorize before anything else; health and version are open to anonymous users by RBAC.
      const admitted = await this.security.gate.admit(req, res, url, method);
      this.security.audit?.record(req, res, { url, method, ...(admitted.user ? { user: admitted.user } : {}), ...(admitted.attributes ? { attributes: admitted.attributes } : {}) });
      if (!admitted.allowed) return;
    }
    // Health and version first: cheap and never throttled.
    if (pathname === '/healthz' || pathname === '/livez' || pathname === '/readyz' ||
        pathname.startsWith('/healthz/') || pathname.startsWith('/livez/') || pathname.startsWith('/readyz/')) {
      const ok = pathname.startsWith('/readyz') ? this.ready && !this.stopping : true;
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(ok ? 'ok' : 'not ready');
      return;
    }
    if (pathname === '/version' || pathname === '/version/') {
      sendJson(res, 200, versionInfo());
      return;
    }
    if (pathname === '/metrics') {
      const m = await this.metrics.render();
      res.writeHead(200, { 'Content-Type': m.contentType });
      res.end(m.body);
      return;
    }
    const isWatch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' || pathname.includes('/watch/');
    const longRunning = isWatch || /\/(log|exec|attach|portforward|proxy)$/.test(pathname);
    const limit = this.opts.maxInFlight ?? 600;
    if (!longRunning && this.inFlight >= limit) {
      req.resume();
      sendStatus(res, tooManyRequests('Too many requests, please try again later.'));
      return;
    }
    if (!longRunning) this.inFlight++;
    this.metrics.inflight.set(this.inFlight);
    const ctx: RequestContext = { req, res, url, method, started };
    try {
      await this.route(ctx, isWatch);
    } catch (e) {
      const err = toApiError(e);
      if (err.code >= 500) log.error('request failed', { method, path: pathname, err: e });
      if (!res.headersSent) sendStatus(res, err);
      else res.end();
    } finally {
      if (!longRunning) this.inFlight--;
      this.metrics.inflight.set(this.inFlight);
    }
  }

  private async route(ctx: RequestContext, isWatch: boolean): Promise<void> {
    const { url, method, res, req } = ctx;
    const pathname = url.pathname;
    if (pathname.startsWith('/openapi/')) {
      req.resume();
      this.serveOpenApi(ctx);
      return;
    }
    const admin = this.opts.adminHandlers?.[pathname];
    if (admin && this.security) {
      // Administrative endpoints (snapshots) are for system:masters only, whatever RBAC grants.
      const user = requestUser(req);
      if (!user?.groups.includes('system:masters')) {
        req.resume();
        sendJson(res, 403, forbiddenStatus({
          user: user ?? { name: 'system:anonymous', groups: [] }, verb: method.toLowerCase(), resourceRequest: false, path: pathname,
          apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '',
        }, 'only members of system:masters may use this endpoint'));
        return;
      }
    }
    if (admin) {
      await admin(req, res);
      return;
    }
    const parsed = parsePath(pathname);
    const catalog = this.opts.catalog;
    switch (parsed.type) {
      case 'discovery-root': {
        req.resume();
        if (method !== 'GET') throw methodNotAllowed(`the server does not allow this method on the requested resource`);
        const accept = req.headers.accept ?? '';
        if (accept.includes('as=APIGroupDiscoveryList') && accept.includes('g=apidiscovery.k8s.io') && accept.includes('v=v2') && !accept.startsWith('application/json,')) {
          sendJson(res, 200, aggregatedDiscovery(catalog, parsed.which), { contentType: AGGREGATED_DISCOVERY_CT });
        } else if (parsed.which === 'api') {
          const host = req.headers.host ?? `127.0.0.1`;
          sendJson(res, 200, apiVersions(host));
        } else {
          sendJson(res, 200, apiGroupList(catalog));
        }
        return;
      }
      case 'discovery-group': {
        req.resume();
        const doc = apiGroup(catalog, parsed.group);
        if (!doc) throw pathNotFound();
        sendJson(res, 200, doc);
        return;
      }
      case 'discovery-version': {
        req.resume();
        const doc = apiResourceList(catalog, parsed.group, parsed.version);
        if (!doc) throw pathNotFound();
        sendJson(res, 200, doc);
        return;
      }
      case 'resource': {
        const store = this.stores.get(`${parsed.path.group}/${parsed.path.version}/${parsed.path.resource}`);
        if (!store) {
          req.resume();
          throw pathNotFound();
        }
        const endpoints = this.security?.endpoints;
        if (endpoints?.serves(parsed.path, method)) {
          await endpoints.serve(ctx, parsed.path, requestUser(req)!);
          return;
        }
        await this.handler.handle(ctx, store, parsed.path, isWatch);
        return;
      }
      default:
        req.resume();
        if (pathname === '/' ) {
          sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/metrics', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
          return;
        }
        throw pathNotFound();
    }
  }

  private serveOpenApi(ctx: RequestContext): void {
    const { url, res, req } = ctx;
    const provider = this.opts.openapi;
    if (!provider) throw pathNotFound();
    const p = url.pathname;
    if (p === '/openapi/v2' || p === '/openapi/v2/') {
      // kubectl asks for the gnostic protobuf form only, and validates `kind: List` manifests with it.
      const form = negotiateOpenApiV2(req.headers.accept);
      if (form === undefined) throw notAcceptable(`only application/json and ${OPENAPI_V2_PROTOBUF_MEDIA_TYPE} are served for /openapi/v2`);
      if (form === 'protobuf') sendBytes(res, openApiV2ProtobufBytes(provider), OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
      else sendBytes(res, provider.v2DocumentBytes());
      return;
    }
    if (p === '/openapi/v3' || p === '/openapi/v3/') {
      sendBytes(res, provider.v3IndexBytes());
      return;
    }
    if (p.startsWith('/openapi/v3/')) {
      const doc = provider.v3DocumentBytes(p.slice('/openapi/v3/'.length));
      if (!doc) throw pathNotFound();
      sendBytes(res, doc);
      return;
    }
    throw pathNotFound();
  }

  /** Body size limit in bytes. */
  get maxBodyBytes(): number {
    return this.opts.maxBodyBytes ?? 3 * 1024 * 1024;
  }
}

function sendBytes(res: http.ServerResponse, body: Uint8Array, contentType = 'application/json'): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': body.byteLength });
  res.end(body);
}

export { tooLarge };
