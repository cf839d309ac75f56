/**
 * A compiled, cached view of the generated OpenAPI schemas for the patch engines: one TypeNode per schema object,
 * with its shape (struct, map, list, scalar or untyped) and its patch metadata (read through patchMetaFromSchema,
 * the reader of the one x-kubernetes-* table). Children are compiled lazily, so recursive schemas are fine and a
 * request only pays for the paths it touches, once per process.
 */
import type { GroupVersionKind } from '../meta/types.ts';
import { patchMetaFromSchema } from './patch-meta.ts';
import type { PatchMeta } from './patch-meta.ts';
import { getSchema, refName, schemaFor } from './schemas.ts';
import type { OpenApiSchema } from './schemas.ts';

/** How a value of a schema is walked. */
export type NodeKind = 'struct' | 'map' | 'list' | 'scalar' | 'untyped';

/** Resolves a schema name (the part after #/components/schemas/) to a schema. */
export type SchemaResolver = (name: string) => OpenApiSchema | undefined;

/** Types decoded by their own unmarshallers upstream: leaves for every engine. */
const SCALAR_TYPES = new Set([
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
]);
/** Free-form JSON: kept as is, merged like plain maps. */
const UNTYPED_TYPES = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON',
]);

/** A node of the compiled schema tree. */
export class TypeNode {
  readonly kind: NodeKind;
  /** Patch metadata of the place this node is used (property extensions over the referenced type's own). */
  readonly meta: PatchMeta;
  /** Strategic-merge strategies, split ("merge,retainKeys" → merge + retainKeys). */
  readonly smpMerge: boolean;
  readonly smpReplace: boolean;
  readonly smpRetainKeys: boolean;
  /** Structural (server-side apply) atomicity: atomic maps/structs and lists that are not set or map lists. */
  readonly atomic: boolean;
  /** x-kubernetes-preserve-unknown-fields on a struct: unknown fields are kept by pruning. */
  readonly preserveUnknown: boolean;
  /** Upstream schema name of the referenced type, when named. */
  readonly typeName: string | undefined;
  private readonly schema: OpenApiSchema;
  private readonly resolve: SchemaResolver;
  private fieldCache: Map<string, TypeNode | null> | undefined;
  private elemCache: TypeNode | null | undefined;

  constructor(kind: NodeKind, schema: OpenApiSchema, meta: PatchMeta, opts: { resolve: SchemaResolver; typeName: string | undefined; preserveUnknown: boolean }) {
    this.kind = kind;
    this.schema = schema;
    this.meta = meta;
    this.resolve = opts.resolve;
    this.typeName = opts.typeName;
    this.preserveUnknown = opts.preserveUnknown;
    const strategies = meta.patchStrategy === undefined ? [] : meta.patchStrategy.split(',');
    this.smpMerge = strategies.includes('merge');
    this.smpReplace = strategies.includes('replace');
    this.smpRetainKeys = strategies.includes('retainKeys');
    this.atomic = kind === 'list' ? meta.listType !== 'set' && meta.listType !== 'map' : meta.mapType === 'atomic';
  }

  /** The node of struct field `name` (undefined when the struct does not declare it, or this is no struct). */
  field(name: string): TypeNode | undefined {
    if (this.kind !== 'struct') return undefined;
    this.fieldCache ??= new Map();
    let cached = this.fieldCache.get(name);
    if (cached === undefined) {
      const props = this.schema.properties;
      const prop = props !== undefined && Object.hasOwn(props, name) ? props[name] : undefined;
      cached = prop === undefined ? null : compile(prop, this.resolve);
      this.fieldCache.set(name, cached);
    }
    return cached ?? undefined;
  }

  /** Whether the struct lists `name` as required (upstream's Go fields without omitempty: present even when empty). */
  isRequired(name: string): boolean {
    return this.kind === 'struct' && (this.schema.required?.includes(name) ?? false);
  }

  /** The declared field names of a struct. */
  fieldNames(): string[] {
    return this.kind === 'struct' ? Object.keys(this.schema.properties ?? {}) : [];
  }

  /** List items or map values (undefined when the schema leaves them untyped). */
  get elem(): TypeNode | undefined {
    if (this.elemCache === undefined) {
      const s = this.kind === 'list' ? this.schema.items : this.kind === 'map' && typeof this.schema.additionalProperties === 'object' ? this.schema.additionalProperties : undefined;
      this.elemCache = s === undefined ? null : compile(s, this.resolve);
    }
    return this.elemCache ?? undefined;
  }

  /** The node of a child reached through key `key` of an object value: a struct field or a map value. */
  child(key: string): TypeNode | undefined {
    if (this.kind === 'struct') return this.field(key);
    if (this.kind === 'map') return this.elem;
    return undefined;
  }
}

const compiled = new WeakMap<OpenApiSchema, TypeNode>();

function compile(schema: OpenApiSchema, resolve: SchemaResolver): TypeNode {
  const hit = compiled.get(schema);
  if (hit !== undefined) return hit;
  const name = refName(schema);
  let target = schema;
  if (name !== undefined) {
    const t = resolve(name);
    if (t === undefined) throw new Error(`dangling OpenAPI reference ${name}`);
    target = t;
  }
  // The property's own extensions win over the referenced type's (a field may make a shared type atomic).
  const meta: PatchMeta = name === undefined ? patchMetaFromSchema(schema) : { ...patchMetaFromSchema(target), ...patchMetaFromSchema(schema) };
  const preserve = target['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-preserve-unknown-fields'] === true;
  let kind: NodeKind;
  if (name !== undefined && SCALAR_TYPES.has(name)) kind = 'scalar';
  else if (name !== undefined && UNTYPED_TYPES.has(name)) kind = 'untyped';
  else if (target.properties !== undefined) kind = 'struct';
  else if (target.type === 'array') kind = 'list';
  else if (typeof target.additionalProperties === 'object') kind = 'map';
  else if (preserve || target.additionalProperties === true || target.type === 'object' || (target.type === undefined && target.oneOf === undefined)) kind = 'untyped';
  else kind = 'scalar';
  const node = new TypeNode(kind, target, meta, { resolve, typeName: name, preserveUnknown: preserve });
  compiled.set(schema, node);
  return node;
}

/** Compiles a schema (cached per schema object); `resolve` finds `$ref` targets, the generated schemas by default. */
export function typeNodeOf(schema: OpenApiSchema, opts: { resolve?: SchemaResolver } = {}): TypeNode {
  return compile(schema, opts.resolve ?? getSchema);
}

const byGvk = new Map<string, TypeNode | null>();

/** The root node of a kind, or undefined for kinds without a generated schema (CRDs, unknown kinds). */
export function typeNodeFor(gvk: GroupVersionKind): TypeNode | undefined {
  const key = `${gvk.group}/${gvk.version}/${gvk.kind}`;
  let node = byGvk.get(key);
  if (node === undefined) {
    const schema = schemaFor(gvk);
    node = schema === undefined ? null : typeNodeOf(schema);
    byGvk.set(key, node);
  }
  return node ?? undefined;
}

/** A plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export { cloneJson } from '../../base/json-value.ts';
