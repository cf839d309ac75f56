/**
 * defineResource(): the one place a kind is described. Discovery, storage keys, CLI name resolution,
 * server-side Table output, OpenAPI entries and the per-kind test harness are derived from it.
 */
import type { FieldError } from './meta/field-errors.ts';
import type { KubeObject, StoredObject } from './meta/types.ts';

/** One column of server-side Table output (meta.k8s.io/v1 TableColumnDefinition plus how to compute the cell). */
export interface TableColumn<T = StoredObject> {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** "name" for the NAME column, "date" for AGE-like columns… */
  format?: string;
  description: string;
  /** 0 = default output, 1 = only with -o wide. */
  priority?: number;
  /** Computes the cell. `now` is milliseconds since the epoch (for ages). */
  cell: (obj: T, now: number) => string | number | boolean | null;
}

/** The Scale subresource mapping (autoscaling/v1 Scale) for kinds that have one. */
export interface ScaleAccess<T = StoredObject> {
  specReplicas(obj: T): number;
  statusReplicas(obj: T): number;
  /** The label selector string for Scale.status.selector. */
  selector(obj: T): string;
  setReplicas(obj: T, replicas: number): void;
}

/** Context handed to validation. */
export interface ValidationContext {
  /** The namespace from the request path ("" for cluster-scoped kinds). */
  namespace: string;
}

/** The hooks of a kind's REST strategy (upstream's rest.RESTCreateStrategy / RESTUpdateStrategy). */
export interface Strategy<T = StoredObject> {
  /** Clears what a create must not set (usually status) and fills derived fields. */
  prepareForCreate?(obj: T): void;
  /** For a normal update: keeps what it must not change (usually status) from the old object. */
  prepareForUpdate?(obj: T, old: T): void;
  /** For an update of the status subresource: keeps everything but status from the old object. */
  prepareForStatusUpdate?(obj: T, old: T): void;
  /** Kinds whose metadata.generation is 1 on create and increases when the spec changes. */
  generation?: boolean;
  /**
   * Graceful deletion (upstream CheckGracefulDelete): the grace period in seconds to apply for a delete that
   * asked for `requested` (undefined: not given). Returning 0 deletes at once. Kinds without it delete at once.
   */
  gracePeriod?(obj: T, requested: number | undefined): number;
}

/** A kind's complete description. */
export interface ResourceDefinition<T = StoredObject> {
  /** API group; "" for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural: the resource name in URLs and discovery. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Verbs served; defaults to the full set. */
  verbs?: string[];
  /** Subresources: status and scale get generic handling; the others are served by the apiserver's special handlers. */
  subresources?: {
    status?: boolean;
    scale?: ScaleAccess<T>;
    /** Other subresources named in discovery, e.g. { name: 'log', kind: 'Pod', verbs: ['get'] }. */
    others?: { name: string; group?: string; version?: string; kind: string; verbs: string[] }[];
  };
  /** Fills upstream defaults in place (applied on create and update, before validation). */
  defaults?(obj: T): void;
  /** Validation of a new object. Paths are relative to the object root (metadata.name, spec.replicas). */
  validate?(obj: T, ctx: ValidationContext): FieldError[];
  /** Validation of an update (immutable fields…); `validate` also runs on the new object. */
  validateUpdate?(obj: T, old: T, ctx: ValidationContext): FieldError[];
  strategy?: Strategy<T>;
  /** Table columns after NAME (NAME is added automatically); AGE is included explicitly where upstream has it. */
  columns: TableColumn<T>[];
  /** The kind's columns include NAME themselves (upstream's Event table puts it last, wide only). */
  ownNameColumn?: boolean;
  /** Field selectors beyond metadata.name and metadata.namespace: label → value extractor. */
  fieldSelectors?: Record<string, (obj: T) => string | undefined>;
  /** Valid example objects for tests (at least one). */
  examples: KubeObject[];
}

/**
 * Checks a definition against its object type at compile time (write `defineResource<Pod>({...})`) and returns
 * it as the generic ResourceDefinition the catalog holds. The API machinery guarantees `metadata` is present
 * when hooks run.
 */
export function defineResource<T>(def: ResourceDefinition<T>): ResourceDefinition {
  return def as unknown as ResourceDefinition;
}

/** The storage key prefix of a kind: /registry/<group>/<plural>/ (core kinds omit the group, as upstream). */
export function storagePrefix(def: Pick<ResourceDefinition, 'group' | 'plural'>): string {
  return def.group === '' ? `/registry/${def.plural}/` : `/registry/${def.group}/${def.plural}/`;
}

/** The storage key of one object. */
export function storageKey(def: Pick<ResourceDefinition, 'group' | 'plural' | 'namespaced'>, namespace: string, name: string): string {
  return def.namespaced ? `${storagePrefix(def)}${namespace}/${name}` : `${storagePrefix(def)}${name}`;
}

/** The "resource.group" form used in messages (pods, deployments.apps). */
export function qualifiedResource(def: Pick<ResourceDefinition, 'group' | 'plural'>): string {
  return def.group === '' ? def.plural : `${def.plural}.${def.group}`;
}
