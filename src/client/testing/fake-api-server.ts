/**
 * A small in-memory Kubernetes API server for the client library's unit tests (not a conformance fake):
 * CRUD with resourceVersions and optimistic concurrency, list with limit/continue and label selectors,
 * chunked watch from a resourceVersion with bookmarks, 410 for compacted versions, merge/JSON patches,
 * subresource POSTs, a request log, and an `intercept` hook for fault injection. Listens on 127.0.0.1:0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../api/meta/types.ts';
import type { ResourceDefinition } from '../../api/resource.ts';
import type { ObjectLike } from '../object.ts';
import { apiVersionOf } from '../../api/meta/types.ts';
import { matchesLabels, parseLabelSelector } from '../../api/meta/labels.ts';

/** A request as the fake saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** What an intercept hook returns to answer a request itself. */
export interface InterceptReply {
  /** Drop the connection without answering (a transport error for the client). */
  destroy?: boolean;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface StoredEvent {
  rv: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface Watcher {
  resource: string;
  namespace: string;
  selector: string;
  bookmarks: boolean;
  res: http.ServerResponse;
}

interface Route {
  def: ResourceDefinition;
  resource: string;
  namespace: string;
  name: string;
  sub: string;
}

/** The fake server. `start()` before use, `stop()` after. */
export class FakeApiServer {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Answers a request instead of the fake when it returns a reply (fault injection). */
  intercept: ((req: RecordedRequest) => InterceptReply | undefined) | undefined;
  /** How a watch from a compacted resourceVersion fails: an ERROR event in a 200 stream (as the watch cache does) or a 410 response. */
  goneMode: 'event' | 'status' = 'event';
  private readonly defs: ResourceDefinition[];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly events: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  private compactedRv = 0;
  private server: http.Server | undefined;

  constructor(opts: { resources: ResourceDefinition[] }) {
    this.defs = opts.resources;
  }

  /** Starts listening on 127.0.0.1 at a free port; resolves the base URL. */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.reply(res, 500, status(500, 'InternalError', String(e)));
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Ends every watch and stops the server. */
  async stop(): Promise<void> {
    this.closeWatches();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The current resourceVersion. */
  resourceVersion(): number {
    return this.rv;
  }

  /** Forgets the event history up to now: watches from older versions get 410. */
  compact(): void {
    this.compactedRv = this.rv;
    this.events.length = 0;
  }

  /** Ends every open watch stream (as a server-side watch timeout would). */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Number of open watch streams. */
  watchCount(): number {
    return this.watchers.size;
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watcher that asked for bookmarks. */
  sendBookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const def = this.defs.find((d) => resourceOf(d) === w.resource);
      const obj = { kind: def?.kind, apiVersion: def ? apiVersionOf(def.group, def.version) : 'v1', metadata: { resourceVersion: String(this.rv) } };
      w.res.write(JSON.stringify({ type: 'BOOKMARK', object: obj }) + '\n');
    }
  }

  /** Writes an object directly (bypassing HTTP), emitting a watch event. Returns the stored copy. */
  put<T extends ObjectLike>(def: ResourceDefinition, input: T): KubeObject {
    const obj = input as unknown as KubeObject;
    const resource = resourceOf(def);
    const key = keyOf(obj);
    const existed = this.table(resource).has(key);
    const stored = this.store(def, structuredClone(obj), existed ? undefined : 'new');
    this.emit(resource, existed ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  /** Deletes an object directly, emitting a watch event. */
  remove(def: ResourceDefinition, namespace: string, name: string): void {
    const resource = resourceOf(def);
    const t = this.table(resource);
    const key = namespace ? `${namespace}/${name}` : name;
    const old = t.get(key);
    if (!old) return;
    t.delete(key);
    this.rv++;
    const gone = structuredClone(old);
    gone.metadata = { ...gone.metadata, resourceVersion: String(this.rv) };
    this.emit(resource, 'DELETED', gone);
  }

  /** The stored object, or undefined. */
  get(def: ResourceDefinition, namespace: string, name: string): KubeObject | undefined {
    return this.table(resourceOf(def)).get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every stored object of a resource. */
  list(def: ResourceDefinition): KubeObject[] {
    return [...this.table(resourceOf(def)).values()];
  }

  private table(resource: string): Map<string, KubeObject> {
    let t = this.objects.get(resource);
    if (!t) {
      t = new Map();
      this.objects.set(resource, t);
    }
    return t;
  }

  private store(def: ResourceDefinition, obj: KubeObject, mode: 'new' | undefined): KubeObject {
    this.rv++;
    const meta = { ...(obj.metadata ?? {}) };
    meta.resourceVersion = String(this.rv);
    if (mode === 'new') {
      meta.uid ??= randomUUID();
      meta.creationTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    obj.metadata = meta;
    obj.apiVersion = apiVersionOf(def.group, def.version);
    obj.kind = def.kind;
    this.table(resourceOf(def)).set(keyOf(obj), obj);
    return obj;
  }

  private emit(resource: string, type: StoredEvent['type'], object: KubeObject): void {
    const ev: StoredEvent = { rv: Number(object.metadata?.resourceVersion), resource, type, object: structuredClone(object) };
    this.events.push(ev);
    for (const w of this.watchers) this.deliver(w, ev);
  }

  private deliver(w: Watcher, ev: StoredEvent): void {
    if (ev.resource !== w.resource) return;
    if (w.namespace && ev.object.metadata?.namespace !== w.namespace) return;
    if (w.selector && !matchesLabels(parseLabelSelector(w.selector), ev.object.metadata?.labels)) return;
    w.res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
  }

  private route(path: string): Route | undefined {
    const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1] ?? '';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 3) {
      group = segs[1] ?? '';
      version = segs[2] ?? '';
      rest = segs.slice(3);
    } else return undefined;
    let namespace = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1] ?? '';
      rest = rest.slice(2);
    }
    const def = this.defs.find((d) => d.group === group && d.version === version && d.plural === rest[0]);
    if (!def) return undefined;
    return { def, resource: resourceOf(def), namespace, name: rest[1] ?? '', sub: rest[2] ?? '' };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
    this.requests.push(rec);
    const intercepted = this.intercept?.(rec);
    if (intercepted?.destroy) {
      req.socket.destroy();
      return;
    }
    if (intercepted) {
      this.reply(res, intercepted.status, intercepted.body, intercepted.headers);
      return;
    }
    const r = this.route(url.pathname);
    if (!r) {
      this.reply(res, 404, '404 page not found', { 'content-type': 'text/plain' });
      return;
    }
    const q = url.searchParams;
    const method = rec.method;
    const what = r.def.group === '' ? r.def.plural : `${r.def.plural}.${r.def.group}`;
    const table = this.table(r.resource);
    const key = r.namespace ? `${r.namespace}/${r.name}` : r.name;

    if (!r.name) {
      if (method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1')) return this.watch(r, q, res);
      if (method === 'GET') return this.reply(res, 200, this.listBody(r, q));
      if (method === 'POST') {
        const obj = (body ?? {}) as KubeObject;
        const meta = { ...(obj.metadata ?? {}) };
        if (!meta.name && meta.generateName) meta.name = meta.generateName + randomUUID().slice(0, 5);
        if (r.def.namespaced) meta.namespace = r.namespace || meta.namespace;
        obj.metadata = meta;
        const k = keyOf(obj);
        if (table.has(k)) return this.reply(res, 409, status(409, 'AlreadyExists', `${what} "${meta.name ?? ''}" already exists`, { name: meta.name ?? '', group: r.def.group, kind: r.def.plural }));
        if (q.get('dryRun') === 'All') return this.reply(res, 201, obj);
        const stored = this.store(r.def, obj, 'new');
        this.emit(r.resource, 'ADDED', stored);
        return this.reply(res, 201, stored);
      }
      if (method === 'DELETE') {
        const sel = q.get('labelSelector') ?? '';
        const gone: KubeObject[] = [];
        for (const o of [...table.values()]) {
          if (r.namespace && o.metadata?.namespace !== r.namespace) continue;
          if (sel && !matchesLabels(parseLabelSelector(sel), o.metadata?.labels)) continue;
          this.remove(r.def, o.metadata?.namespace ?? '', o.metadata?.name ?? '');
          gone.push(o);
        }
        return this.reply(res, 200, { kind: `${r.def.kind}List`, apiVersion: apiVersionOf(r.def.group, r.def.version), metadata: { resourceVersion: String(this.rv) }, items: gone });
      }
      return this.reply(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    }

    const current = table.get(key);
    const notFound = (): void => this.reply(res, 404, status(404, 'NotFound', `${what} "${r.name}" not found`, { name: r.name, group: r.def.group, kind: r.def.plural }));
    if (r.sub && r.sub !== 'status') {
      if (!current) return notFound();
      if (method === 'GET') return this.reply(res, 200, { kind: 'Sub', apiVersion: 'v1', metadata: { name: r.name }, sub: r.sub });
      return this.reply(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    if (method === 'GET') return current ? this.reply(res, 200, current) : notFound();
    if (method === 'PUT') {
      if (!current) return notFound();
      const obj = (body ?? {}) as KubeObject;
      const wantRv = obj.metadata?.resourceVersion;
      if (wantRv && wantRv !== current.metadata?.resourceVersion) {
        return this.reply(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on ${what} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: r.name, group: r.def.group, kind: r.def.plural }));
      }
      let next: KubeObject;
      if (r.sub === 'status') next = { ...structuredClone(current), status: obj['status'] };
      else next = { ...obj, metadata: { ...obj.metadata, uid: current.metadata?.uid, creationTimestamp: current.metadata?.creationTimestamp } };
      const stored = this.store(r.def, next, undefined);
      this.emit(r.resource, 'MODIFIED', stored);
      return this.reply(res, 200, stored);
    }
    if (method === 'PATCH') {
      const ct = String(req.headers['content-type'] ?? '');
      if (!current && !ct.includes('apply-patch')) return notFound();
      const base = current ? structuredClone(current) : ({ metadata: { name: r.name, namespace: r.namespace || undefined } } as KubeObject);
      const next = ct.includes('json-patch') ? applyJsonPatch(base, body as JsonPatchOp[]) : (mergePatch(base, body) as KubeObject);
      const stored = this.store(r.def, next, current ? undefined : 'new');
      this.emit(r.resource, current ? 'MODIFIED' : 'ADDED', stored);
      return this.reply(res, current ? 200 : 201, stored);
    }
    if (method === 'DELETE') {
      if (!current) return notFound();
      const pre = (body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions;
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata?.resourceVersion) {
        return this.reply(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on ${what} "${r.name}": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata?.resourceVersion ?? ''}`));
      }
      this.remove(r.def, r.namespace, r.name);
      return this.reply(res, 200, current);
    }
    return this.reply(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
  }

  private listBody(r: Route, q: URLSearchParams): unknown {
    const sel = q.get('labelSelector') ?? '';
    const parsed = sel ? parseLabelSelector(sel) : [];
    let items = [...this.table(r.resource).values()]
      .filter((o) => !r.namespace || o.metadata?.namespace === r.namespace)
      .filter((o) => matchesLabels(parsed, o.metadata?.labels))
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const start = Number(q.get('continue') ?? '0') || 0;
    const limit = Number(q.get('limit') ?? '0') || 0;
    let cont: string | undefined;
    items = items.slice(start);
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      cont = String(start + limit);
    }
    const metadata: Record<string, string> = { resourceVersion: String(this.rv) };
    if (cont) metadata['continue'] = cont;
    return { kind: `${r.def.kind}List`, apiVersion: apiVersionOf(r.def.group, r.def.version), metadata, items };
  }

  private watch(r: Route, q: URLSearchParams, res: http.ServerResponse): void {
    const from = q.get('resourceVersion') ?? '';
    const fromRv = Number(from);
    const gone = from !== '' && from !== '0' && fromRv < this.compactedRv;
    if (gone && this.goneMode === 'status') {
      this.reply(res, 410, status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (gone) {
      res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) }) + '\n');
      return;
    }
    const w: Watcher = { resource: r.resource, namespace: r.namespace, selector: q.get('labelSelector') ?? '', bookmarks: q.get('allowWatchBookmarks') === 'true', res };
    if (from === '' || from === '0') {
      for (const o of this.table(r.resource).values()) this.deliver(w, { rv: 0, resource: r.resource, type: 'ADDED', object: o });
    } else {
      for (const ev of this.events) if (ev.rv > fromRv) this.deliver(w, ev);
    }
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }

  private reply(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
    res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
    res.end(text);
  }
}

/** The metav1.Status the fake returns for failures. */
export function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  const s: Record<string, unknown> = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s['details'] = details;
  return s;
}

function resourceOf(def: ResourceDefinition): string {
  return `${def.group}/${def.version}/${def.plural}`;
}

function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

function applyJsonPatch(target: KubeObject, ops: JsonPatchOp[]): KubeObject {
  const doc = structuredClone(target) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop() ?? '';
    let cur = doc;
    for (const p of parts) cur = cur[p] as Record<string, unknown>;
    if (op.op === 'remove') delete cur[last];
    else cur[last] = op.value;
  }
  return doc as KubeObject;
}
