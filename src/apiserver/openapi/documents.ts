/**
 * The OpenAPI documents the apiserver serves, derived from the resource catalog and the generated schemas:
 * `/openapi/v3` (an index), `/openapi/v3/<api/v1|apis/<group>/<version>>` (one document per group-version) and
 * `/openapi/v2` (one swagger 2.0 document). Documents are built on first use, serialised once and served as bytes.
 *
 * What clients rely on (see KUBECTL-WIRE.md §3): kubectl finds a kind's PATCH operation by
 * `x-kubernetes-group-version-kind`; a `fieldValidation` query parameter there makes it hand validation to the
 * server; the media types listed in the PATCH `requestBody.content` tell it whether strategic merge patch is
 * served; `kubectl explain` reads `components.schemas`.
 */
import { createHash } from 'node:crypto';
import type { GroupVersionKind } from '../../api/meta/types.ts';
import { SCHEMA_REF_PREFIX, getSchema, schemaNameFor } from '../../api/openapi/schemas.ts';
import type { OpenApiSchema } from '../../api/openapi/schemas.ts';
import type { ResourceDefinition } from '../../api/resource.ts';
import { logger } from '../../base/log.ts';

const log = logger('openapi');

/** The served OpenAPI documents, built lazily and cached as serialised bytes. */
export interface OpenApiDocuments {
  /** The /openapi/v3 index: `{paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=…"}, …}}`. */
  v3Index(): object;
  /** The document of one group-version ("api/v1", "apis/apps/v1"); undefined when not served. */
  v3Document(groupVersionPath: string): object | undefined;
  /** The swagger 2.0 document of every served kind. */
  v2Document(): object;
  /** v3Index() serialised as JSON. */
  v3IndexBytes(): Uint8Array;
  /** v3Document() serialised as JSON; undefined when not served. */
  v3DocumentBytes(groupVersionPath: string): Uint8Array | undefined;
  /** v2Document() serialised as JSON. */
  v2DocumentBytes(): Uint8Array;
  /** The hash that the index puts in a document's URL (changes whenever the document does). */
  v3Hash(groupVersionPath: string): string | undefined;
}

/** Options of buildOpenApi. */
export interface BuildOpenApiOptions {
  /** info.version of the documents; upstream puts the server's gitVersion there. */
  version?: string;
  /**
   * Whether PATCH operations list application/strategic-merge-patch+json (default true). When listed, kubectl
   * computes apply patches from the served schemas' patch metadata; when not, from the metadata compiled into it.
   */
  strategicMergePatch?: boolean;
}

type Json = Record<string, unknown>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const SCALE_GVK: GroupVersionKind = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
const DEFAULT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RESPONSE_TYPES = ['application/json', 'application/yaml'];

// Query parameters with upstream's descriptions (abridged where upstream's run to several paragraphs).
interface Param {
  name: string;
  in: 'query' | 'path';
  description: string;
  type: 'string' | 'boolean' | 'integer';
  required?: boolean;
}
const P = {
  pretty: q('pretty', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
  dryRun: q('dryRun', 'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: q('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.'),
  fieldManagerPatch: q('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).'),
  fieldValidation: q('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.'),
  force: q('force', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.', 'boolean'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.', 'boolean'),
  continue: q('continue', 'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize.'),
  fieldSelector: q('fieldSelector', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  labelSelector: q('labelSelector', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: q('limit', 'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.', 'integer'),
  resourceVersion: q('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset'),
  resourceVersionMatch: q('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset'),
  sendInitialEvents: q('sendInitialEvents', '`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection.', 'boolean'),
  timeoutSeconds: q('timeoutSeconds', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.', 'integer'),
  watch: q('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.', 'boolean'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.', 'integer'),
  orphanDependents: q('orphanDependents', 'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.', 'boolean'),
  propagationPolicy: q('propagationPolicy', "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground."),
  namespace: { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', type: 'string', required: true } satisfies Param,
};
function q(name: string, description: string, type: Param['type'] = 'string'): Param {
  return { name, in: 'query', description, type };
}
function nameParam(kind: string): Param {
  return { name: 'name', in: 'path', description: `name of the ${kind}`, type: 'string', required: true };
}
const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [P.dryRun, P.fieldManagerPatch, P.fieldValidation, P.force];

/** One HTTP operation, independent of the OpenAPI version it is rendered into. */
interface Operation {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  operationId: string;
  description: string;
  action: string;
  gvk: GroupVersionKind;
  params: Param[];
  /** Request body schema name; PATCH bodies are always meta/v1 Patch. */
  body?: string;
  /** Response schema name, or 'string' for plain text. */
  response: string;
  /** Extra success codes besides 200. */
  created?: boolean;
  accepted?: boolean;
}

interface PathItem {
  path: string;
  params: Param[];
  ops: Operation[];
}

/** "apps" → "Apps", "rbac.authorization.k8s.io" → "RbacAuthorization", "" → "Core" (upstream's operation-id prefix). */
function groupWord(group: string): string {
  if (group === '') return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
    .join('');
}

/** "v1" → "V1", "v2beta1" → "V2beta1". */
function versionWord(version: string): string {
  return version.charAt(0).toUpperCase() + version.slice(1);
}

/** The tag upstream puts on operations: "core_v1", "apps_v1", "rbacAuthorization_v1". */
function tagOf(group: string, version: string): string {
  const word = groupWord(group);
  return `${word.charAt(0).toLowerCase()}${word.slice(1)}_${version}`;
}

/** The path prefix of a group-version without the leading slash: "api/v1", "apis/apps/v1". */
function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function pathItemsFor(def: ResourceDefinition, kindSchema: string, listSchema: string | undefined): PathItem[] {
  const verbs = new Set(def.verbs ?? DEFAULT_VERBS);
  const gvk: GroupVersionKind = { group: def.group, version: def.version, kind: def.kind };
  const prefix = `${groupWord(def.group)}${versionWord(def.version)}`;
  const scope = def.namespaced ? 'Namespaced' : '';
  const base = `/${gvPath(def.group, def.version)}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.plural}`;
  const scopeParams = def.namespaced ? [P.namespace] : [];
  const items: PathItem[] = [];

  const collection: Operation[] = [];
  if (verbs.has('list') && listSchema !== undefined) {
    collection.push({ method: 'get', operationId: `list${prefix}${scope}${def.kind}`, description: `list or watch objects of kind ${def.kind}`, action: 'list', gvk, params: LIST_PARAMS, response: listSchema });
  }
  if (verbs.has('create')) {
    collection.push({ method: 'post', operationId: `create${prefix}${scope}${def.kind}`, description: `create a ${def.kind}`, action: 'post', gvk, params: WRITE_PARAMS, body: kindSchema, response: kindSchema, created: true, accepted: true });
  }
  if (verbs.has('deletecollection')) {
    collection.push({ method: 'delete', operationId: `delete${prefix}Collection${scope}${def.kind}`, description: `delete collection of ${def.kind}`, action: 'deletecollection', gvk, params: [...LIST_PARAMS.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks'), ...DELETE_PARAMS], body: `${META}DeleteOptions`, response: `${META}Status` });
  }
  if (collection.length > 0) items.push({ path: base, params: [...scopeParams, P.pretty], ops: collection });

  const itemOps: Operation[] = [];
  if (verbs.has('get')) itemOps.push({ method: 'get', operationId: `read${prefix}${scope}${def.kind}`, description: `read the specified ${def.kind}`, action: 'get', gvk, params: [], response: kindSchema });
  if (verbs.has('update')) itemOps.push({ method: 'put', operationId: `replace${prefix}${scope}${def.kind}`, description: `replace the specified ${def.kind}`, action: 'put', gvk, params: WRITE_PARAMS, body: kindSchema, response: kindSchema, created: true });
  if (verbs.has('patch')) itemOps.push({ method: 'patch', operationId: `patch${prefix}${scope}${def.kind}`, description: `partially update the specified ${def.kind}`, action: 'patch', gvk, params: PATCH_PARAMS, body: `${META}Patch`, response: kindSchema, created: true });
  if (verbs.has('delete')) itemOps.push({ method: 'delete', operationId: `delete${prefix}${scope}${def.kind}`, description: `delete a ${def.kind}`, action: 'delete', gvk, params: DELETE_PARAMS, body: `${META}DeleteOptions`, response: `${META}Status`, accepted: true });
  const itemParams = [nameParam(def.kind), ...scopeParams, P.pretty];
  if (itemOps.length > 0) items.push({ path: `${base}/{name}`, params: itemParams, ops: itemOps });

  if (def.subresources?.status === true) {
    items.push({
      path: `${base}/{name}/status`,
      params: itemParams,
      ops: [
        { method: 'get', operationId: `read${prefix}${scope}${def.kind}Status`, description: `read status of the specified ${def.kind}`, action: 'get', gvk, params: [], response: kindSchema },
        { method: 'put', operationId: `replace${prefix}${scope}${def.kind}Status`, description: `replace status of the specified ${def.kind}`, action: 'put', gvk, params: WRITE_PARAMS, body: kindSchema, response: kindSchema, created: true },
        { method: 'patch', operationId: `patch${prefix}${scope}${def.kind}Status`, description: `partially update status of the specified ${def.kind}`, action: 'patch', gvk, params: PATCH_PARAMS, body: `${META}Patch`, response: kindSchema, created: true },
      ],
    });
  }
  const scale = schemaNameFor(SCALE_GVK);
  if (def.subresources?.scale !== undefined && scale !== undefined) {
    items.push({
      path: `${base}/{name}/scale`,
      params: [{ ...nameParam('Scale') }, ...scopeParams, P.pretty],
      ops: [
        { method: 'get', operationId: `read${prefix}${scope}${def.kind}Scale`, description: `read scale of the specified ${def.kind}`, action: 'get', gvk: SCALE_GVK, params: [], response: scale },
        { method: 'put', operationId: `replace${prefix}${scope}${def.kind}Scale`, description: `replace scale of the specified ${def.kind}`, action: 'put', gvk: SCALE_GVK, params: WRITE_PARAMS, body: scale, response: scale, created: true },
        { method: 'patch', operationId: `patch${prefix}${scope}${def.kind}Scale`, description: `partially update scale of the specified ${def.kind}`, action: 'patch', gvk: SCALE_GVK, params: PATCH_PARAMS, body: `${META}Patch`, response: scale, created: true },
      ],
    });
  }
  for (const other of def.subresources?.others ?? []) {
    const ogvk: GroupVersionKind = { group: other.group ?? def.group, version: other.version ?? def.version, kind: other.kind };
    const oschema = schemaNameFor(ogvk);
    const word = other.name.charAt(0).toUpperCase() + other.name.slice(1);
    const ops: Operation[] = [];
    if (other.verbs.includes('create') && oschema !== undefined) {
      ops.push({ method: 'post', operationId: `create${prefix}${scope}${def.kind}${word}`, description: `create ${other.name} of a ${def.kind}`, action: 'post', gvk: ogvk, params: WRITE_PARAMS, body: oschema, response: oschema, created: true, accepted: true });
    }
    if (other.verbs.includes('get')) {
      ops.push({ method: 'get', operationId: `read${prefix}${scope}${def.kind}${word}`, description: `read ${other.name} of the specified ${def.kind}`, action: 'get', gvk: ogvk, params: [], response: oschema ?? 'string' });
    }
    if (ops.length > 0) items.push({ path: `${base}/{name}/${other.name}`, params: [nameParam(other.kind), ...scopeParams, P.pretty], ops });
  }
  if (def.namespaced && verbs.has('list') && listSchema !== undefined) {
    items.push({
      path: `/${gvPath(def.group, def.version)}/${def.plural}`,
      params: [...LIST_PARAMS, P.pretty],
      ops: [{ method: 'get', operationId: `list${prefix}${def.kind}ForAllNamespaces`, description: `list or watch objects of kind ${def.kind}`, action: 'list', gvk, params: [], response: listSchema }],
    });
  }
  return items;
}

/** Every schema name reachable from `roots` through $ref. */
function closure(roots: Iterable<string>): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    const schema = getSchema(name);
    if (schema === undefined) continue;
    seen.add(name);
    visitRefs(schema, (ref) => stack.push(ref));
  }
  return [...seen].sort();
}

function visitRefs(value: unknown, fn: (name: string) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) visitRefs(v, fn);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith(SCHEMA_REF_PREFIX)) fn(v.slice(SCHEMA_REF_PREFIX.length));
    // Property names are data, not keywords (JSONSchemaProps has a property called "$ref").
    else if (k === 'properties' && v !== null && typeof v === 'object') for (const p of Object.values(v)) visitRefs(p, fn);
    else visitRefs(v, fn);
  }
}

function gvkExt(gvk: GroupVersionKind): Json {
  return { group: gvk.group, kind: gvk.kind, version: gvk.version };
}

function paramV3(p: Param): Json {
  return {
    name: p.name,
    in: p.in,
    description: p.description,
    ...(p.required === true ? { required: true } : {}),
    schema: { type: p.type, uniqueItems: true },
  };
}

function ref3(name: string): Json {
  return { $ref: SCHEMA_REF_PREFIX + name };
}

function patchTypes(smp: boolean): string[] {
  return [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
    ...(smp ? ['application/strategic-merge-patch+json'] : []),
  ];
}

function responsesV3(op: Operation): Json {
  const content = (name: string): Json =>
    name === 'string'
      ? { '*/*': { schema: { type: 'string' } } }
      : Object.fromEntries(RESPONSE_TYPES.map((t) => [t, { schema: ref3(name) }]));
  const out: Json = { '200': { description: 'OK', content: content(op.response) } };
  if (op.created === true) out['201'] = { description: 'Created', content: content(op.response) };
  if (op.accepted === true) out['202'] = { description: 'Accepted', content: content(op.response) };
  out['401'] = { description: 'Unauthorized' };
  return out;
}

function operationV3(op: Operation, tag: string, smp: boolean): Json {
  const out: Json = { tags: [tag], description: op.description, operationId: op.operationId };
  if (op.params.length > 0) out['parameters'] = op.params.map(paramV3);
  if (op.body !== undefined) {
    const types = op.method === 'patch' ? patchTypes(smp) : ['*/*'];
    out['requestBody'] = { content: Object.fromEntries(types.map((t) => [t, { schema: ref3(op.body as string) }])), required: op.method !== 'delete' };
  }
  out['responses'] = responsesV3(op);
  out['x-kubernetes-action'] = op.action;
  out['x-kubernetes-group-version-kind'] = gvkExt(op.gvk);
  return out;
}

/** Rewrites a v3 schema into swagger 2.0: `#/definitions/` references, allOf-wrapped refs unwrapped, oneOf scalars flattened. */
function toV2Schema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toV2Schema);
  if (value === null || typeof value !== 'object') return value;
  const s = value as OpenApiSchema;
  const out: Json = {};
  const wrapped = s.allOf?.length === 1 && s.allOf[0]?.$ref !== undefined ? s.allOf[0].$ref : undefined;
  for (const [k, v] of Object.entries(s)) {
    if (k === 'allOf' && wrapped !== undefined) continue;
    if (k === 'oneOf') continue;
    if (k === '$ref' && typeof v === 'string') out[k] = v.replace(SCHEMA_REF_PREFIX, '#/definitions/');
    else if (k === 'properties' && v !== null && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Json).map(([pk, pv]) => [pk, toV2Schema(pv)]));
    } else out[k] = toV2Schema(v);
  }
  if (wrapped !== undefined) out['$ref'] = wrapped.replace(SCHEMA_REF_PREFIX, '#/definitions/');
  // Quantity and IntOrString are strings in swagger 2.0 (upstream's v2 shape).
  if (s.oneOf !== undefined && out['type'] === undefined) out['type'] = 'string';
  return out;
}

function paramV2(p: Param): Json {
  return { name: p.name, in: p.in, description: p.description, ...(p.required === true ? { required: true } : {}), type: p.type, uniqueItems: true };
}

function operationV2(op: Operation, tag: string, smp: boolean): Json {
  const out: Json = { tags: [tag], description: op.description, operationId: op.operationId };
  const params: Json[] = [];
  if (op.body !== undefined) params.push({ name: 'body', in: 'body', required: op.method !== 'delete', schema: { $ref: `#/definitions/${op.body}` } });
  params.push(...op.params.map(paramV2));
  if (params.length > 0) out['parameters'] = params;
  out['consumes'] = op.method === 'patch' ? patchTypes(smp) : ['*/*'];
  out['produces'] = op.response === 'string' ? ['text/plain', 'application/json'] : RESPONSE_TYPES;
  out['schemes'] = ['https'];
  const schema = op.response === 'string' ? { type: 'string' } : { $ref: `#/definitions/${op.response}` };
  const responses: Json = { '200': { description: 'OK', schema } };
  if (op.created === true) responses['201'] = { description: 'Created', schema };
  if (op.accepted === true) responses['202'] = { description: 'Accepted', schema };
  responses['401'] = { description: 'Unauthorized' };
  out['responses'] = responses;
  out['x-kubernetes-action'] = op.action;
  out['x-kubernetes-group-version-kind'] = gvkExt(op.gvk);
  return out;
}

const SECURITY_V3 = { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } };
const encoder = new TextEncoder();

/** Builds the OpenAPI documents for `resources` (the catalog's kinds); nothing is computed until first requested. */
export function buildOpenApi(resources: readonly ResourceDefinition[], opts: BuildOpenApiOptions = {}): OpenApiDocuments {
  const version = opts.version ?? 'v1.32.0';
  const smp = opts.strategicMergePatch ?? true;

  interface Entry {
    def: ResourceDefinition;
    kindSchema: string;
    listSchema: string | undefined;
  }
  const byGv = new Map<string, Entry[]>();
  for (const def of resources) {
    const kindSchema = schemaNameFor({ group: def.group, version: def.version, kind: def.kind });
    if (kindSchema === undefined) {
      log.v(2).info('no OpenAPI schema for kind', { group: def.group, version: def.version, kind: def.kind });
      continue;
    }
    const listSchema = schemaNameFor({ group: def.group, version: def.version, kind: `${def.kind}List` });
    const key = gvPath(def.group, def.version);
    const list = byGv.get(key) ?? [];
    list.push({ def, kindSchema, listSchema });
    byGv.set(key, list);
  }
  const gvKeys = [...byGv.keys()].sort();

  const v3Docs = new Map<string, { doc: Json; bytes: Uint8Array; hash: string }>();
  function v3(key: string): { doc: Json; bytes: Uint8Array; hash: string } | undefined {
    const cached = v3Docs.get(key);
    if (cached !== undefined) return cached;
    const entries = byGv.get(key);
    if (entries === undefined) return undefined;
    const paths: Json = {};
    const roots = new Set<string>([`${META}Status`, `${META}DeleteOptions`, `${META}Patch`]);
    for (const { def, kindSchema, listSchema } of entries) {
      const tag = tagOf(def.group, def.version);
      roots.add(kindSchema);
      if (listSchema !== undefined) roots.add(listSchema);
      for (const item of pathItemsFor(def, kindSchema, listSchema)) {
        const pathObj: Json = {};
        for (const op of item.ops) {
          pathObj[op.method] = operationV3(op, tag, smp);
          if (op.body !== undefined) roots.add(op.body);
          if (op.response !== 'string') roots.add(op.response);
        }
        pathObj['parameters'] = item.params.map(paramV3);
        paths[item.path] = pathObj;
      }
    }
    const schemas = Object.fromEntries(closure(roots).map((n) => [n, getSchema(n)]));
    const doc: Json = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version },
      paths: Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]])),
      components: { schemas, securitySchemes: SECURITY_V3 },
      security: [{ BearerToken: [] }],
    };
    const bytes = encoder.encode(JSON.stringify(doc));
    const hash = createHash('sha512').update(bytes).digest('hex').toUpperCase().slice(0, 128);
    const built = { doc, bytes, hash };
    v3Docs.set(key, built);
    return built;
  }

  let index: { doc: Json; bytes: Uint8Array } | undefined;
  function v3IndexBuilt(): { doc: Json; bytes: Uint8Array } {
    if (index === undefined) {
      const paths: Json = {};
      for (const key of gvKeys) {
        const built = v3(key);
        if (built !== undefined) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${built.hash}` };
      }
      const doc = { paths };
      index = { doc, bytes: encoder.encode(JSON.stringify(doc)) };
    }
    return index;
  }

  let v2: { doc: Json; bytes: Uint8Array } | undefined;
  function v2Built(): { doc: Json; bytes: Uint8Array } {
    if (v2 === undefined) {
      const paths: Json = {};
      const roots = new Set<string>([`${META}Status`, `${META}DeleteOptions`, `${META}Patch`]);
      for (const key of gvKeys) {
        for (const { def, kindSchema, listSchema } of byGv.get(key) ?? []) {
          const tag = tagOf(def.group, def.version);
          roots.add(kindSchema);
          if (listSchema !== undefined) roots.add(listSchema);
          for (const item of pathItemsFor(def, kindSchema, listSchema)) {
            const pathObj: Json = {};
            for (const op of item.ops) {
              pathObj[op.method] = operationV2(op, tag, smp);
              if (op.body !== undefined) roots.add(op.body);
              if (op.response !== 'string') roots.add(op.response);
            }
            pathObj['parameters'] = item.params.map(paramV2);
            paths[item.path] = pathObj;
          }
        }
      }
      const definitions = Object.fromEntries(closure(roots).map((n) => [n, toV2Schema(getSchema(n))]));
      const doc: Json = {
        swagger: '2.0',
        info: { title: 'Kubernetes', version },
        paths: Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]])),
        definitions,
        securityDefinitions: SECURITY_V3,
        security: [{ BearerToken: [] }],
      };
      v2 = { doc, bytes: encoder.encode(JSON.stringify(doc)) };
    }
    return v2;
  }

  return {
    v3Index: () => v3IndexBuilt().doc,
    v3IndexBytes: () => v3IndexBuilt().bytes,
    v3Document: (path) => v3(trimSlashes(path))?.doc,
    v3DocumentBytes: (path) => v3(trimSlashes(path))?.bytes,
    v3Hash: (path) => v3(trimSlashes(path))?.hash,
    v2Document: () => v2Built().doc,
    v2DocumentBytes: () => v2Built().bytes,
  };
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** The group-version document path of an apiVersion ("v1" → "api/v1", "apps/v1" → "apis/apps/v1"). */
export function documentPathOf(group: string, version: string): string {
  return gvPath(group, version);
}
