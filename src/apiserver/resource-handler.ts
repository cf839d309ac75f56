/**
 * The REST verbs of every resource: get, list, watch, create, update, patch, delete, deletecollection, and the
 * generic subresources (status, scale, binding, finalize), all on top of the registry Store.
 */
import { cloneJson } from '../base/json-value.ts';
import type { ResourcePath } from './routes.ts';
import type { RequestContext } from './request.ts';
import { readBody, sendJson } from './request.ts';
import type { Store, ListParams, DeleteParams, WriteParams } from './registry/store.ts';
import { parseSelectors } from './registry/store.ts';
import {
  ApiError, badRequest, conflict, methodNotAllowed, notAcceptable, notFound, pathNotFound, invalid,
} from './errors.ts';
import { bodyFormat, jsonOf, negotiate, parseJsonBody, parseYamlBody, requireObject } from './codec.ts';
import type { ResponseFormat } from './codec.ts';
import { buildTable, parseIncludeObject } from './table.ts';
import type { ApiMetrics } from './metrics.ts';
import { serveWatch } from './watch.ts';
import type { GroupVersionKind, KubeObject, StoredObject } from '../api/meta/types.ts';
import { fieldError } from '../api/meta/field-errors.ts';
import { stringify as yamlStringify } from 'yaml';
import { applyPatch, patchTypeOf } from './patch.ts';
import { scaleOf } from './scale.ts';
import { evictPod } from './eviction.ts';
import { nodeSubresources, proxyPodSubresource } from './node-proxy/index.ts';
import type { NodeProxyArgs } from './node-proxy/index.ts';
import { findFieldProblems, findUnknownFields, parseFieldValidation, strictDecodingMessage } from './openapi/field-validation.ts';
import { applyPatch as serverSideApply, applyConflictStatus, fieldManagerFromUserAgent, pruneUnknownFields } from './patch/index.ts';
import type { Store as StoreT } from './registry/store.ts';
import type { AdmissionChain, AdmissionOperation } from './admission/chain.ts';
import { requestUser, anonymousUser } from './auth/user.ts';

/** Collects `Warning` response headers for one request. */
type Warnings = string[];

function warningHeaders(w: Warnings): Record<string, string[]> {
  return w.length > 0 ? { Warning: w.map((m) => `299 - ${JSON.stringify(m)}`) } : {};
}

/** Dependencies of the resource handler. */
export interface ResourceHandlerOptions {
  /** Reads for proxying pods/log (and the upgrade paths) to the pod's node agent. */
  nodeProxy?: NodeProxyArgs;
  stores: Map<string, Store>;
  metrics: ApiMetrics;
  /** Registers a watch's close function for shutdown; returns the unregister function. */
  registerWatch: (close: () => void) => () => void;
  signal: AbortSignal;
  maxBodyBytes?: number;
  /** Admission plugins run on writes (mutating, then validating) after decoding and before the registry. */
  admission?: AdmissionChain;
}

function verbOf(method: string, p: ResourcePath, isWatch: boolean): string {
  switch (method) {
    case 'GET':
      return isWatch ? 'WATCH' : p.name ? 'GET' : 'LIST';
    case 'POST':
      return 'POST';
    case 'PUT':
      return 'PUT';
    case 'PATCH':
      return 'PATCH';
    case 'DELETE':
      return p.name ? 'DELETE' : 'DELETECOLLECTION';
    default:
      return method;
  }
}

function parseDryRun(url: URL): boolean {
  const values = url.searchParams.getAll('dryRun');
  for (const v of values) {
    if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}

/** Serves the REST verbs of resources. */
export class ResourceHandler {
  private readonly o: ResourceHandlerOptions;

  constructor(o: ResourceHandlerOptions) {
    this.o = o;
  }

  /** Handles one resource request. */
  async handle(ctx: RequestContext, store: Store, p: ResourcePath, isWatch: boolean): Promise<void> {
    const verb = verbOf(ctx.method, p, isWatch || p.legacyWatch);
    const labels = { verb, group: p.group, resource: p.resource, subresource: p.subresource };
    if (verb === 'WATCH') {
      this.o.metrics.longRunning.inc({ verb, group: p.group, resource: p.resource });
      try {
        await this.watch(ctx, store, p);
      } finally {
        this.o.metrics.longRunning.dec({ verb, group: p.group, resource: p.resource });
        this.o.metrics.requests.inc({ ...labels, code: String(ctx.res.statusCode) });
      }
      return;
    }
    let code = 500;
    try {
      code = await this.dispatch(ctx, store, p);
    } catch (e) {
      code = e instanceof ApiError ? e.code : 500;
      throw e;
    } finally {
      this.o.metrics.requests.inc({ ...labels, code: String(code) });
      this.o.metrics.latency.observe(labels, Number(process.hrtime.bigint() - ctx.started) / 1e9);
    }
  }

  private checkScope(store: Store, p: ResourcePath): void {
    if (!store.def.namespaced && p.namespace) throw pathNotFound();
  }

  private async dispatch(ctx: RequestContext, store: Store, p: ResourcePath): Promise<number> {
    this.checkScope(store, p);
    const { method, req } = ctx;
    const ns = store.def.namespaced ? p.namespace : '';
    if (store.def.namespaced && !p.namespace && p.name) {
      req.resume();
      throw pathNotFound();
    }
    if (p.subresource) return this.subresource(ctx, store, p, ns);
    if (!p.name) {
      switch (method) {
        case 'GET':
          req.resume();
          return this.list(ctx, store, ns);
        case 'POST':
          if (store.def.namespaced && !p.namespace) throw methodNotAllowed('the server does not allow this method on the requested resource');
          return this.create(ctx, store, ns);
        case 'DELETE':
          return this.deleteCollection(ctx, store, ns);
        default:
          req.resume();
          throw methodNotAllowed(`the server does not allow this method on the requested resource`);
      }
    }
    switch (method) {
      case 'GET': {
        req.resume();
        const fmt = this.format(ctx, true);
        const cached = await store.getForRead(ns, p.name, ctx.url.searchParams.get('resourceVersion') ?? undefined);
        // JSON goes out as the cache's encoding, shared with LIST and WATCH; other formats are built from the object.
        if (fmt.kind === 'json') sendJson(ctx.res, 200, cached.json);
        else this.respondObject(ctx, store, 200, cached.obj, fmt);
        return 200;
      }
      case 'PUT':
        return this.update(ctx, store, ns, p.name);
      case 'PATCH':
        return this.patch(ctx, store, ns, p.name);
      case 'DELETE':
        return this.delete(ctx, store, ns, p.name);
      default:
        req.resume();
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }

  private format(ctx: RequestContext, allowTable: boolean): ResponseFormat {
    const f = negotiate(ctx.req.headers.accept, { allowTable });
    if (!f) throw notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    return f;
  }

  private respondObject(ctx: RequestContext, store: Store, code: number, obj: StoredObject, fmt: ResponseFormat, headers: Record<string, string | string[]> = {}): void {
    if (fmt.kind === 'table') {
      const include = parseIncludeObject(ctx.url.searchParams.get('includeObject'));
      const t = buildTable(store.def, [obj], { now: Date.now(), include, version: fmt.version, resourceVersion: obj.metadata.resourceVersion ?? '' });
      sendJson(ctx.res, code, t, { headers });
      return;
    }
    if (fmt.kind === 'yaml') {
      sendJson(ctx.res, code, yamlStringify(obj), { contentType: 'application/yaml', headers });
      return;
    }
    sendJson(ctx.res, code, jsonOf(obj), { headers });
  }

  private listParams(url: URL): ListParams {
    const q = url.searchParams;
    const params: ListParams = parseSelectors({ labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') });
    const limit = intParam(url, 'limit');
    if (limit !== undefined) params.limit = limit;
    const cont = q.get('continue');
    if (cont) params.continue = cont;
    const rv = q.get('resourceVersion');
    if (rv !== null) params.resourceVersion = rv;
    const rvm = q.get('resourceVersionMatch');
    if (rvm) params.resourceVersionMatch = rvm;
    return params;
  }

  private async list(ctx: RequestContext, store: Store, ns: string): Promise<number> {
    const fmt = this.format(ctx, true);
    const params = this.listParams(ctx.url);
    const out = await store.list(ns, params);
    if (fmt.kind === 'table') {
      const include = parseIncludeObject(ctx.url.searchParams.get('includeObject'));
      const t = buildTable(store.def, out.items.map((i) => i.obj), {
        now: Date.now(), include, version: fmt.version, resourceVersion: String(out.resourceVersion),
        ...(out.continue ? { continue: out.continue } : {}),
        ...(out.remainingItemCount !== undefined ? { remainingItemCount: out.remainingItemCount } : {}),
      });
      sendJson(ctx.res, 200, t);
      return 200;
    }
    const meta: Record<string, unknown> = { resourceVersion: String(out.resourceVersion) };
    if (out.continue) meta.continue = out.continue;
    if (out.remainingItemCount !== undefined) meta.remainingItemCount = out.remainingItemCount;
    const head = `{"kind":"${store.def.kind}List","apiVersion":"${store.apiVersion}","metadata":${JSON.stringify(meta)},"items":[`;
    if (fmt.kind === 'yaml') {
      const list = { kind: `${store.def.kind}List`, apiVersion: store.apiVersion, metadata: meta, items: out.items.map((i) => i.obj) };
      sendJson(ctx.res, 200, yamlStringify(list), { contentType: 'application/yaml' });
      return 200;
    }
    // Items are already encoded once in the watch cache: join the bytes.
    const parts: string[] = [head];
    for (let i = 0; i < out.items.length; i++) {
      if (i > 0) parts.push(',');
      parts.push(out.items[i]!.json);
    }
    parts.push(']}');
    sendJson(ctx.res, 200, parts.join(''));
    return 200;
  }

  private async readObject(ctx: RequestContext, check?: { store: StoreT; warnings: Warnings }): Promise<{ obj: KubeObject; raw: Buffer }> {
    const fmt = bodyFormat(ctx.req.headers['content-type']);
    const raw = await readBody(ctx.req, this.o.maxBodyBytes ?? 3 * 1024 * 1024);
    if (fmt === 'protobuf') {
      const { decodeProtobufBody } = await import('./protobuf-body.ts');
      return { obj: decodeProtobufBody(raw), raw };
    }
    const text = raw.toString('utf8');
    if (text.trim() === '') throw badRequest('the request body is empty: an object is required');
    const v = fmt === 'yaml' ? parseYamlBody(text) : parseJsonBody(text);
    const obj = requireObject(v);
    if (check) this.checkFields(ctx, check.store, text, fmt, check.warnings);
    return { obj, raw };
  }

  /** Server-side field validation (fieldValidation=Strict|Warn|Ignore; upstream's default is Warn) of a request body. */
  private checkFields(ctx: RequestContext, store: StoreT, text: string, fmt: 'json' | 'yaml', warnings: Warnings): void {
    this.reportFieldProblems(ctx, store, warnings, (gvk) => findFieldProblems(text, gvk, { format: fmt }));
  }

  /** checkFields for a patched object in memory: the same problems, without serialising and re-scanning it. */
  private checkPatchedFields(ctx: RequestContext, store: StoreT, patched: KubeObject, warnings: Warnings): void {
    this.reportFieldProblems(ctx, store, warnings, (gvk) => findUnknownFields(patched, gvk));
  }

  private reportFieldProblems(ctx: RequestContext, store: StoreT, warnings: Warnings, find: (gvk: GroupVersionKind) => string[]): void {
    const mode = parseFieldValidation(ctx.url.searchParams.get('fieldValidation'));
    if (mode === undefined || mode === 'Ignore') return;
    const def = store.def;
    const problems = find({ group: def.group, version: def.version, kind: def.kind });
    if (problems.length === 0) return;
    if (mode === 'Strict') {
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${strictDecodingMessage(problems)}`);
    }
    warnings.push(...problems);
  }

  /** Unknown fields are dropped (as decoding into a typed object drops them upstream) once validation allowed them. */
  private prune(store: StoreT, obj: KubeObject): void {
    pruneUnknownFields(obj, { group: store.def.group, version: store.def.version, kind: store.def.kind });
  }

  private writeParams(ctx: RequestContext): WriteParams {
    const p: WriteParams = {};
    if (parseDryRun(ctx.url)) p.dryRun = true;
    const fm = ctx.url.searchParams.get('fieldManager');
    if (fm !== null && fm !== '') {
      if (fm.length > 128) throw invalid({ group: '', kind: 'Object' }, '', [fieldError.tooLong('fieldManager', 128)]);
      p.fieldManager = fm;
    } else {
      p.fieldManager = fieldManagerFromUserAgent(ctx.req.headers['user-agent'] ?? '');
    }
    const fv = ctx.url.searchParams.get('fieldValidation');
    if (fv !== null && fv !== '' && fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
      throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
    }
    return p;
  }

  /** Runs the admission chain for one write (nothing when the server runs without admission). */
  private async admit(ctx: RequestContext, store: StoreT, r: { operation: AdmissionOperation; namespace: string; name: string; subresource?: string; object?: KubeObject; oldObject?: StoredObject; dryRun?: boolean; warnings: Warnings }): Promise<void> {
    const chain = this.o.admission;
    if (!chain) return;
    await chain.run({
      operation: r.operation, def: store.def, namespace: r.namespace, name: r.name, subresource: r.subresource ?? '',
      ...(r.object ? { object: r.object as StoredObject } : {}), ...(r.oldObject ? { oldObject: r.oldObject } : {}),
      user: requestUser(ctx.req) ?? anonymousUser, dryRun: r.dryRun === true, warnings: r.warnings,
    });
  }

  private async create(ctx: RequestContext, store: Store, ns: string): Promise<number> {
    const fmt = this.format(ctx, false);
    const params = this.writeParams(ctx);
    const warnings: Warnings = [];
    const { obj } = await this.readObject(ctx, { store, warnings });
    this.prune(store, obj);
    if (obj.metadata && typeof obj.metadata === 'object' && store.def.namespaced && !obj.metadata.namespace) obj.metadata.namespace = ns;
    await this.admit(ctx, store, { operation: 'CREATE', namespace: ns, name: obj.metadata?.name ?? '', object: obj, dryRun: params.dryRun, warnings });
    const created = await store.create(ns, obj, params);
    this.respondObject(ctx, store, 201, created, fmt, warningHeaders(warnings));
    return 201;
  }

  private async update(ctx: RequestContext, store: Store, ns: string, name: string): Promise<number> {
    const fmt = this.format(ctx, false);
    const params = this.writeParams(ctx);
    const warnings: Warnings = [];
    const { obj } = await this.readObject(ctx, { store, warnings });
    this.prune(store, obj);
    const updated = this.o.admission ? await this.admittedUpdate(ctx, store, ns, name, obj, params, warnings) : await store.update(ns, name, obj, params);
    this.respondObject(ctx, store, 200, updated, fmt, warningHeaders(warnings));
    return 200;
  }

  /** PUT through admission: the same optimistic-concurrency check as Store.update, with the stored object to compare. */
  private admittedUpdate(ctx: RequestContext, store: StoreT, ns: string, name: string, obj: KubeObject, params: WriteParams & { subresource?: 'status' }, warnings: Warnings): Promise<StoredObject> {
    // The identity checks Store.update makes before reading, so a mismatch stays a 400 rather than a 404.
    const m = obj.metadata as { name?: string; namespace?: string; resourceVersion?: string } | undefined;
    if (obj.apiVersion !== undefined && obj.apiVersion !== store.apiVersion) throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${store.apiVersion})`);
    if (obj.kind !== undefined && obj.kind !== store.def.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${store.def.kind})`);
    if (store.def.namespaced && m?.namespace && m.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    if (m?.name && m.name !== name) throw badRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
    const wantRv = m?.resourceVersion;
    return store.guaranteedUpdate(ns, name, async (current) => {
      if (wantRv && wantRv !== current.metadata.resourceVersion) throw conflict(store.def, name);
      const next = cloneJson(obj) as StoredObject;
      if (!next.metadata || typeof next.metadata !== 'object') next.metadata = {};
      await this.admit(ctx, store, { operation: 'UPDATE', namespace: ns, name, subresource: params.subresource ?? '', object: next, oldObject: current, dryRun: params.dryRun, warnings });
      return next;
    }, params);
  }

  private async patch(ctx: RequestContext, store: Store, ns: string, name: string, subresource?: 'status'): Promise<number> {
    const fmt = this.format(ctx, false);
    const params = this.writeParams(ctx);
    const type = patchTypeOf(ctx.req.headers['content-type']);
    const raw = await readBody(ctx.req, this.o.maxBodyBytes ?? 3 * 1024 * 1024);
    if (type === 'apply') return this.apply(ctx, store, ns, name, raw, params, subresource);
    const gvk = { group: store.def.group, version: store.def.version, kind: store.def.kind };
    const warnings: Warnings = [];
    const updated = await store.guaranteedUpdate(ns, name, async (current) => {
      const patched = await applyPatch(type, current, raw, { gvk });
      // A resourceVersion in the patch is a precondition, as upstream's patcher stores the patched object with it
      // (kubernetes#63104): PatchNodeTaints and other read-modify-patch writers rely on the conflict.
      const wantRv = (patched.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      if (typeof wantRv === 'string' && wantRv !== '' && wantRv !== current.metadata.resourceVersion) throw conflict(store.def, name);
      // The patched object is what upstream decodes (and strictly validates); a retry re-checks it from scratch.
      warnings.length = 0;
      this.checkPatchedFields(ctx, store, patched, warnings);
      this.prune(store, patched);
      await this.admit(ctx, store, { operation: 'UPDATE', namespace: ns, name, subresource: subresource ?? '', object: patched, oldObject: current, dryRun: params.dryRun, warnings });
      return patched;
    }, { ...params, ...(subresource ? { subresource } : {}) });
    this.respondObject(ctx, store, 200, updated, fmt, warningHeaders(warnings));
    return 200;
  }

  /**
   * Server-side apply (application/apply-patch+yaml): creates when missing (201), merges by the schema otherwise,
   * and answers 409 with FieldManagerConflict causes unless force=true.
   */
  private async apply(ctx: RequestContext, store: StoreT, ns: string, name: string, raw: Buffer, params: WriteParams, subresource?: 'status'): Promise<number> {
    const fmt = this.format(ctx, false);
    const manager = ctx.url.searchParams.get('fieldManager');
    if (!manager) {
      throw invalid({ group: '', kind: 'PatchOptions' }, '', [fieldError.required('fieldManager', 'is required for apply patch')]);
    }
    const forceParam = ctx.url.searchParams.get('force');
    if (forceParam !== null && forceParam !== 'true' && forceParam !== 'false') throw badRequest(`invalid value for force: ${JSON.stringify(forceParam)}`);
    const force = forceParam === 'true';
    const text = raw.toString('utf8');
    if (text.trim() === '') throw badRequest('the request body is empty: a patch is required');
    const applied = requireObject(parseYamlBody(text));
    const warnings: Warnings = [];
    this.checkFields(ctx, store, text, /^\s*[{[]/.test(text) ? 'json' : 'yaml', warnings);
    this.prune(store, applied);
    const gvk = { group: store.def.group, version: store.def.version, kind: store.def.kind };
    const applyParams: WriteParams = { ...params, fieldManager: manager, managedFieldsDone: true };
    const key = store.key(ns, name);
    const exists = store.cache.get(key) !== undefined || (await store.get(ns, name).then(() => true, (e: unknown) => {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }));
    if (!exists) {
      if (subresource) throw notFound(store.def, name);
      const r = serverSideApply(null, applied, { gvk, manager, force });
      const obj = r.object as KubeObject;
      obj.metadata = { ...(obj.metadata ?? {}), name };
      await this.admit(ctx, store, { operation: 'CREATE', namespace: ns, name, object: obj, dryRun: params.dryRun, warnings });
      try {
        const created = await store.create(ns, obj, applyParams);
        this.respondObject(ctx, store, 201, created, fmt, warningHeaders(warnings));
        return 201;
      } catch (e) {
        // Lost a race with another creator: apply onto what exists now.
        if (!(e instanceof ApiError && e.code === 409 && e.status.reason === 'AlreadyExists')) throw e;
      }
    }
    const updated = await store.guaranteedUpdate(ns, name, async (current) => {
      const r = serverSideApply(current, applied, { gvk, manager, force, ...(subresource ? { subresource } : {}) });
      if (r.conflicts.length > 0 && !force) throw new ApiError(applyConflictStatus(r.conflicts));
      await this.admit(ctx, store, { operation: 'UPDATE', namespace: ns, name, subresource: subresource ?? '', object: r.object as StoredObject, oldObject: current, dryRun: params.dryRun, warnings });
      return r.object as StoredObject;
    }, { ...applyParams, ...(subresource ? { subresource } : {}) });
    this.respondObject(ctx, store, 200, updated, fmt, warningHeaders(warnings));
    return 200;
  }

  private async deleteParams(ctx: RequestContext): Promise<DeleteParams> {
    const p: DeleteParams = this.writeParams(ctx);
    const raw = await readBody(ctx.req, this.o.maxBodyBytes ?? 3 * 1024 * 1024);
    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      const fmt = bodyFormat(ctx.req.headers['content-type']);
      if (fmt === 'protobuf') {
        const { decodeProtobufBody } = await import('./protobuf-body.ts');
        body = decodeProtobufBody(raw) as Record<string, unknown>;
      } else {
        const text = raw.toString('utf8');
        if (text.trim() !== '') body = requireObject(fmt === 'yaml' ? parseYamlBody(text) : parseJsonBody(text)) as Record<string, unknown>;
      }
    }
    const grace = intParam(ctx.url, 'gracePeriodSeconds') ?? (typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
    if (grace !== undefined) {
      if (grace < 0) p.gracePeriodSeconds = 1;
      else p.gracePeriodSeconds = grace;
    }
    let policy = ctx.url.searchParams.get('propagationPolicy') ?? (typeof body.propagationPolicy === 'string' ? body.propagationPolicy : undefined);
    const orphan = ctx.url.searchParams.get('orphanDependents') ?? (typeof body.orphanDependents === 'boolean' ? String(body.orphanDependents) : undefined);
    if (orphan !== undefined && orphan !== null) {
      if (policy) throw invalid({ group: '', kind: 'DeleteOptions' }, '', [fieldError.invalid('propagationPolicy', policy, 'orphanDependents and deletionPropagation cannot be both set')]);
      policy = orphan === 'true' ? 'Orphan' : 'Background';
    }
    if (policy !== undefined && policy !== null) {
      if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
        throw invalid({ group: '', kind: 'DeleteOptions' }, '', [fieldError.notSupported('propagationPolicy', policy, ['Foreground', 'Background', 'Orphan', 'nil'])]);
      }
      p.propagationPolicy = policy;
    }
    const pre = body.preconditions as { uid?: unknown; resourceVersion?: unknown } | undefined;
    if (pre && typeof pre === 'object') {
      p.preconditions = {};
      if (typeof pre.uid === 'string') p.preconditions.uid = pre.uid;
      if (typeof pre.resourceVersion === 'string') p.preconditions.resourceVersion = pre.resourceVersion;
    }
    if (Array.isArray(body.dryRun)) {
      for (const v of body.dryRun) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${String(v)}": supported values: "All"`);
      if (body.dryRun.length > 0) p.dryRun = true;
    }
    return p;
  }

  private async delete(ctx: RequestContext, store: Store, ns: string, name: string): Promise<number> {
    const fmt = this.format(ctx, false);
    const params = await this.deleteParams(ctx);
    if (this.o.admission) {
      const old = await store.get(ns, name);
      await this.admit(ctx, store, { operation: 'DELETE', namespace: ns, name, oldObject: old, dryRun: params.dryRun, warnings: [] });
    }
    const r = await store.delete(ns, name, params);
    if (r.returnObject || !r.deleted) {
      this.respondObject(ctx, store, 200, r.obj, fmt);
    } else {
      sendJson(ctx.res, 200, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
        details: { name, ...(store.def.group ? { group: store.def.group } : {}), kind: store.def.plural, uid: r.obj.metadata.uid },
      });
    }
    return 200;
  }

  private async deleteCollection(ctx: RequestContext, store: Store, ns: string): Promise<number> {
    this.format(ctx, false);
    const params = await this.deleteParams(ctx);
    const list = this.listParams(ctx.url);
    const objs = await store.deleteCollection(ns, list, params);
    sendJson(ctx.res, 200, { kind: `${store.def.kind}List`, apiVersion: store.apiVersion, metadata: {}, items: objs });
    return 200;
  }

  private async watch(ctx: RequestContext, store: Store, p: ResourcePath): Promise<void> {
    ctx.req.resume();
    this.checkScope(store, p);
    if (ctx.method !== 'GET') throw methodNotAllowed('the server does not allow this method on the requested resource');
    const fmt = this.format(ctx, true);
    const params = this.listParams(ctx.url);
    if (p.name) {
      params.fieldSelector = [...(params.fieldSelector ?? []), { field: 'metadata.name', operator: '=', value: p.name }];
    }
    store.checkFieldSelector(params.fieldSelector);
    const q = ctx.url.searchParams;
    await serveWatch(ctx, store, {
      namespace: store.def.namespaced ? p.namespace : '',
      params,
      allowBookmarks: q.get('allowWatchBookmarks') === 'true',
      sendInitialEvents: q.get('sendInitialEvents') === null ? undefined : q.get('sendInitialEvents') === 'true',
      timeoutSeconds: intParam(ctx.url, 'timeoutSeconds'),
      table: fmt.kind === 'table' ? { version: fmt.version, include: parseIncludeObject(q.get('includeObject')) } : undefined,
      register: this.o.registerWatch,
    });
  }

  private async subresource(ctx: RequestContext, store: Store, p: ResourcePath, ns: string): Promise<number> {
    const { method, req } = ctx;
    const def = store.def;
    const sub = p.subresource;
    if (sub === 'status' && def.subresources?.status) {
      if (method === 'GET') {
        req.resume();
        this.respondObject(ctx, store, 200, await store.get(ns, p.name), this.format(ctx, true));
        return 200;
      }
      if (method === 'PUT') {
        const fmt = this.format(ctx, false);
        const params = this.writeParams(ctx);
        const { obj } = await this.readObject(ctx);
        const updated = this.o.admission
          ? await this.admittedUpdate(ctx, store, ns, p.name, obj, { ...params, subresource: 'status' }, [])
          : await store.update(ns, p.name, obj, { ...params, subresource: 'status' });
        this.respondObject(ctx, store, 200, updated, fmt);
        return 200;
      }
      if (method === 'PATCH') return this.patch(ctx, store, ns, p.name, 'status');
      req.resume();
      throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
    if (sub === 'scale' && def.subresources?.scale) {
      return scaleOf(ctx, store, { namespace: ns, name: p.name, readObject: () => this.readObject(ctx), readRaw: () => readBody(ctx.req, 3 * 1024 * 1024), writeParams: () => this.writeParams(ctx) });
    }
    if (sub === 'binding' && def.kind === 'Pod' && def.group === '') {
      if (method !== 'POST') throw methodNotAllowed('the server does not allow this method on the requested resource');
      const params = this.writeParams(ctx);
      const { obj } = await this.readObject(ctx);
      const { bindPod } = await import('./binding.ts');
      await bindPod(store, ns, p.name, obj, params);
      sendJson(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return 201;
    }
    if (sub === 'eviction' && def.kind === 'Pod' && def.group === '') {
      if (method !== 'POST') throw methodNotAllowed('the server does not allow this method on the requested resource');
      const params = this.writeParams(ctx);
      const { obj } = await this.readObject(ctx);
      const pdbs = [...this.o.stores.values()].find((s) => s.def.group === 'policy' && s.def.plural === 'poddisruptionbudgets');
      if (!pdbs) throw pathNotFound();
      await evictPod({ pods: store, pdbs }, { namespace: ns, name: p.name, body: obj, dryRun: params.dryRun === true });
      sendJson(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return 201;
    }
    if (sub === 'finalize' && def.kind === 'Namespace' && def.group === '') {
      if (method !== 'PUT') throw methodNotAllowed('the server does not allow this method on the requested resource');
      const params = this.writeParams(ctx);
      const { obj } = await this.readObject(ctx);
      const fin = ((obj.spec as { finalizers?: unknown } | undefined)?.finalizers ?? []) as string[];
      const updated = await store.guaranteedUpdate(ns, p.name, (cur) => {
        cur.spec = { ...(cur.spec as object | undefined), finalizers: fin };
        if (fin.length === 0) delete (cur.spec as { finalizers?: unknown }).finalizers;
        return cur;
      }, { ...params, subresource: 'finalize' });
      this.respondObject(ctx, store, 200, updated, this.format(ctx, false));
      return 200;
    }
    if (def.kind === 'Pod' && def.group === '' && p.name && nodeSubresources.has(sub) && this.o.nodeProxy) {
      return proxyPodSubresource(ctx, { ...this.o.nodeProxy, namespace: ns, name: p.name, subresource: sub });
    }
    req.resume();
    if (!p.name) throw pathNotFound();
    // Subresources of other components (log, exec, …) are served once those components exist.
    await store.get(ns, p.name).catch((e: unknown) => {
      throw e instanceof ApiError ? e : notFound(def, p.name);
    });
    throw pathNotFound();
  }
}
