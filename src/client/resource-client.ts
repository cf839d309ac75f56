/**
 * Typed operations on one resource, with every URL derived from its ResourceDefinition (client-go's typed
 * and dynamic clients in one): /api/v1/namespaces/<ns>/<plural>/<name>[/<subresource>] for the core group,
 * /apis/<group>/<version>/… otherwise, no namespace segment for cluster-scoped kinds.
 */
import type { Status } from 'kubernetes-types/meta/v1.js';
import type { KubeList, StoredObject } from '../api/meta/types.ts';
import type { ObjectLike } from './object.ts';
import { apiVersionOf } from '../api/meta/types.ts';
import type { ResourceDefinition } from '../api/resource.ts';
import type { Query, RestClient } from './rest-client.ts';

/** The parts of a definition the client needs (a full ResourceDefinition, or one built from discovery). */
export type ResourceRef = Pick<ResourceDefinition, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>;

/** A watch event type. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One event of a watch stream; ERROR events carry a Status. */
export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T } | { type: 'ERROR'; object: Status };

/** Options common to every call. */
export interface CallOptions {
  /** Required for namespaced kinds on single-object calls unless the object names it; omitted = all namespaces for list/watch. */
  namespace?: string;
  signal?: AbortSignal;
}

/** List options (metav1.ListOptions). */
export interface ListOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  timeoutSeconds?: number;
}

/** Watch options (metav1.ListOptions with watch=true). */
export interface WatchOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

/** Create/update options (metav1.CreateOptions / UpdateOptions). */
export interface WriteOptions extends CallOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
}

/** Patch types and their content types. */
export const patchContentTypes = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** Patch options; `apply` (server-side apply) requires fieldManager. */
export interface PatchOptions extends WriteOptions {
  type: keyof typeof patchContentTypes;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  /** Patch a subresource ("status", "scale"). */
  subresource?: string;
}

/** Delete options (metav1.DeleteOptions). */
export interface DeleteOptions extends CallOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** Operations on one resource. `T` is the object type (e.g. Pod from kubernetes-types). */
export class ResourceClient<T extends ObjectLike = StoredObject> {
  readonly rest: RestClient;
  readonly def: ResourceRef;

  constructor(rest: RestClient, def: ResourceRef) {
    this.rest = rest;
    this.def = def;
  }

  /** The URL path of the collection, an object or one of its subresources. */
  path(opts: { namespace?: string; name?: string; subresource?: string } = {}): string {
    const d = this.def;
    let p = d.group === '' ? `/api/${d.version}` : `/apis/${d.group}/${d.version}`;
    if (d.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
    p += `/${d.plural}`;
    if (opts.name !== undefined) {
      if (opts.name === '') throw new Error(`resource name may not be empty`);
      p += `/${encodeURIComponent(opts.name)}`;
      if (opts.subresource) p += `/${opts.subresource}`;
    }
    return p;
  }

  /** GET one object; rejects with ApiError NotFound when absent. */
  async get(name: string, opts: CallOptions & { resourceVersion?: string } = {}): Promise<T> {
    const r = await this.rest.request<T>({ path: this.objectPath(name, opts.namespace), query: { resourceVersion: opts.resourceVersion }, signal: opts.signal });
    return r.body;
  }

  /** LIST (one page when `limit` is set; follow `metadata.continue` for the next). */
  async list(opts: ListOptions = {}): Promise<KubeList<T>> {
    const query: Query = {
      labelSelector: opts.labelSelector || undefined,
      fieldSelector: opts.fieldSelector || undefined,
      limit: opts.limit,
      continue: opts.continue || undefined,
      resourceVersion: opts.resourceVersion,
      resourceVersionMatch: opts.resourceVersionMatch,
      timeoutSeconds: opts.timeoutSeconds,
    };
    const r = await this.rest.request<KubeList<T>>({ path: this.collectionPath(opts.namespace), query, signal: opts.signal });
    const list = r.body;
    list.items ??= [];
    list.metadata ??= {};
    return list;
  }

  /** POST a new object; the namespace comes from opts or the object. */
  async create(obj: T, opts: WriteOptions = {}): Promise<T> {
    const ns = this.namespaceFor(opts.namespace, obj);
    const r = await this.rest.request<T>({
      method: 'POST',
      path: this.path({ namespace: ns }),
      query: writeQuery(opts),
      body: this.withTypeMeta(obj),
      signal: opts.signal,
    });
    return r.body;
  }

  /** PUT the whole object (optimistic concurrency on metadata.resourceVersion when set). */
  async update(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(obj, undefined, opts);
  }

  /** PUT the status subresource. */
  async updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(obj, 'status', opts);
  }

  /** PATCH an object (or a subresource) with a JSON, merge, strategic-merge or apply patch. */
  async patch(name: string, patch: unknown, opts: PatchOptions): Promise<T> {
    if (opts.type === 'apply' && !opts.fieldManager) throw new Error('fieldManager is required for apply patch');
    const query: Query = { ...writeQuery(opts), force: opts.type === 'apply' && opts.force ? true : undefined };
    const r = await this.rest.request<T>({
      method: 'PATCH',
      path: this.objectPath(name, opts.namespace, opts.subresource),
      query,
      body: typeof patch === 'string' ? patch : JSON.stringify(patch),
      contentType: patchContentTypes[opts.type],
      signal: opts.signal,
    });
    return r.body;
  }

  /** DELETE one object; resolves with the object (graceful or finalizer-pending deletes) or a success Status. */
  async delete(name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    const r = await this.rest.request<T | Status>({
      method: 'DELETE',
      path: this.objectPath(name, opts.namespace),
      body: deleteOptionsBody(opts),
      signal: opts.signal,
    });
    return r.body;
  }

  /** DELETE the collection (optionally filtered by selectors) in a namespace, or cluster-wide for cluster-scoped kinds. */
  async deleteCollection(opts: DeleteOptions & { labelSelector?: string; fieldSelector?: string } = {}): Promise<KubeList<T> | Status> {
    if (this.def.namespaced && !opts.namespace) throw new Error(`a namespace is required to delete a collection of ${this.def.plural}`);
    const r = await this.rest.request<KubeList<T> | Status>({
      method: 'DELETE',
      path: this.collectionPath(opts.namespace),
      query: { labelSelector: opts.labelSelector || undefined, fieldSelector: opts.fieldSelector || undefined },
      body: deleteOptionsBody(opts),
      signal: opts.signal,
    });
    return r.body;
  }

  /**
   * WATCH: yields events parsed from the chunked JSON stream until the server ends it or `signal` aborts (both
   * end the iteration quietly). A non-2xx response rejects with ApiError (410 for a too-old resourceVersion).
   */
  async *watch(opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const query: Query = {
      watch: true,
      labelSelector: opts.labelSelector || undefined,
      fieldSelector: opts.fieldSelector || undefined,
      resourceVersion: opts.resourceVersion,
      resourceVersionMatch: opts.resourceVersionMatch,
      allowWatchBookmarks: opts.allowWatchBookmarks ? true : undefined,
      sendInitialEvents: opts.sendInitialEvents,
      timeoutSeconds: opts.timeoutSeconds,
    };
    const stream = await this.rest.stream({ path: this.collectionPath(opts.namespace), query, signal: opts.signal });
    try {
      for await (const line of stream.lines()) {
        if (line.trim() === '') continue;
        let ev: WatchEvent<T>;
        try {
          ev = JSON.parse(line) as WatchEvent<T>;
        } catch {
          throw new Error(`malformed watch event from ${this.def.plural}: ${line.slice(0, 100)}`);
        }
        yield ev;
      }
    } finally {
      stream.close();
    }
  }

  /** GET a subresource (e.g. deployments/scale); `R` is its type. */
  async getSubresource<R = unknown>(name: string, subresource: string, opts: CallOptions = {}): Promise<R> {
    const r = await this.rest.request<R>({ path: this.objectPath(name, opts.namespace, subresource), signal: opts.signal });
    return r.body;
  }

  /** POST to a subresource (pods/binding, pods/eviction…). */
  async createSubresource<R = unknown>(name: string, subresource: string, opts: WriteOptions & { body: unknown }): Promise<R> {
    const r = await this.rest.request<R>({
      method: 'POST',
      path: this.objectPath(name, opts.namespace, subresource),
      query: writeQuery(opts),
      body: opts.body,
      signal: opts.signal,
    });
    return r.body;
  }

  /** PUT a subresource (deployments/scale…). */
  async updateSubresource<R = unknown>(name: string, subresource: string, opts: WriteOptions & { body: unknown }): Promise<R> {
    const r = await this.rest.request<R>({
      method: 'PUT',
      path: this.objectPath(name, opts.namespace, subresource),
      query: writeQuery(opts),
      body: opts.body,
      signal: opts.signal,
    });
    return r.body;
  }

  private async put(obj: T, subresource: string | undefined, opts: WriteOptions): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`cannot update ${this.def.plural}: metadata.name is empty`);
    const ns = this.namespaceFor(opts.namespace, obj);
    const r = await this.rest.request<T>({
      method: 'PUT',
      path: this.path({ namespace: ns, name, subresource }),
      query: writeQuery(opts),
      body: this.withTypeMeta(obj),
      signal: opts.signal,
    });
    return r.body;
  }

  private objectPath(name: string, namespace: string | undefined, subresource?: string): string {
    if (this.def.namespaced && !namespace) throw new Error(`a namespace is required for ${this.def.plural} "${name}"`);
    return this.path({ namespace, name, subresource });
  }

  private collectionPath(namespace: string | undefined): string {
    return this.path({ namespace });
  }

  private namespaceFor(explicit: string | undefined, obj: T): string | undefined {
    if (!this.def.namespaced) return undefined;
    const fromObj = obj.metadata?.namespace;
    if (explicit && fromObj && explicit !== fromObj) {
      throw new Error(`the namespace of the object (${fromObj}) does not match the namespace on the request (${explicit})`);
    }
    const ns = explicit || fromObj;
    if (!ns) throw new Error(`a namespace is required for ${this.def.plural} "${obj.metadata?.name ?? obj.metadata?.generateName ?? ''}"`);
    return ns;
  }

  private withTypeMeta(obj: T): T {
    if (obj.apiVersion && obj.kind) return obj;
    return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(this.def.group, this.def.version), kind: obj.kind ?? this.def.kind };
  }
}

function writeQuery(opts: WriteOptions): Query {
  return { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager, fieldValidation: opts.fieldValidation };
}

function deleteOptionsBody(opts: DeleteOptions): Record<string, unknown> | undefined {
  const body: Record<string, unknown> = {};
  if (opts.propagationPolicy) body['propagationPolicy'] = opts.propagationPolicy;
  if (opts.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = opts.gracePeriodSeconds;
  if (opts.preconditions) body['preconditions'] = opts.preconditions;
  if (opts.dryRun) body['dryRun'] = ['All'];
  if (Object.keys(body).length === 0) return undefined;
  return { kind: 'DeleteOptions', apiVersion: 'v1', ...body };
}

/** Hands out ResourceClients over one RestClient, one per resource. */
export class ApiClient {
  readonly rest: RestClient;
  private readonly clients = new Map<string, ResourceClient<ObjectLike>>();

  constructor(rest: RestClient) {
    this.rest = rest;
  }

  /** The client for `def` (cached per group/version/plural). */
  resource<T extends ObjectLike = StoredObject>(def: ResourceRef): ResourceClient<T> {
    const key = `${def.group}/${def.version}/${def.plural}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new ResourceClient<ObjectLike>(this.rest, def);
      this.clients.set(key, c);
    }
    return c as unknown as ResourceClient<T>;
  }

  /** Releases the transport's sockets. */
  close(): void {
    this.rest.close();
  }
}
