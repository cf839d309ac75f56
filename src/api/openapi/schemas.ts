/**
 * The generated OpenAPI v3 component schemas of the built-in kinds (src/generated/openapi-schemas.json, written
 * at build time by scripts/gen-openapi.ts) and helpers to walk them: from a kind's root schema through
 * properties, list items and map values, following `$ref`/`allOf`.
 */
import generated from '../../generated/openapi-schemas.json' with { type: 'json' };
import type { GroupVersionKind } from '../meta/types.ts';

/** An OpenAPI v3 schema object as the generator writes it (plus upstream's `x-kubernetes-*` extensions). */
export interface OpenApiSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema | boolean;
  $ref?: string;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  [extension: string]: unknown;
}

/** The prefix of every `$ref` in the generated schemas. */
export const SCHEMA_REF_PREFIX = '#/components/schemas/';

const all = (generated as unknown as { schemas: Record<string, OpenApiSchema> }).schemas;

let byGvk: Map<string, string> | undefined;
function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** Every generated schema, keyed by upstream name (io.k8s.api.core.v1.Pod). Do not mutate. */
export function allSchemas(): Readonly<Record<string, OpenApiSchema>> {
  return all;
}

/** The schema named `name` (an upstream name such as io.k8s.api.core.v1.PodSpec), if generated. */
export function getSchema(name: string): OpenApiSchema | undefined {
  return Object.hasOwn(all, name) ? all[name] : undefined;
}

/** The upstream name of the root schema of a kind (the one whose x-kubernetes-group-version-kind lists it). */
export function schemaNameFor(gvk: GroupVersionKind): string | undefined {
  if (byGvk === undefined) {
    byGvk = new Map();
    for (const [name, schema] of Object.entries(all)) {
      for (const g of schema['x-kubernetes-group-version-kind'] ?? []) byGvk.set(gvkKey(g), name);
    }
  }
  return byGvk.get(gvkKey(gvk));
}

/** The root schema of a kind, if generated. */
export function schemaFor(gvk: GroupVersionKind): OpenApiSchema | undefined {
  const name = schemaNameFor(gvk);
  return name === undefined ? undefined : all[name];
}

/** The schema name a `$ref` (or a single-element `allOf` wrapping one) points to, if any. */
export function refName(schema: OpenApiSchema): string | undefined {
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined);
  return ref?.startsWith(SCHEMA_REF_PREFIX) === true ? ref.slice(SCHEMA_REF_PREFIX.length) : undefined;
}

/**
 * Follows `$ref`/`allOf` to the referenced schema; returns `schema` itself when it has no reference. `name` is the
 * referenced schema's name (undefined for inline schemas). Throws on a dangling reference.
 */
export function resolveRef(schema: OpenApiSchema): { name: string | undefined; schema: OpenApiSchema } {
  const name = refName(schema);
  if (name === undefined) return { name: undefined, schema };
  const target = getSchema(name);
  if (target === undefined) throw new Error(`dangling OpenAPI reference ${name}`);
  return { name, schema: target };
}
