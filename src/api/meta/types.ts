/**
 * The object shapes shared by every kind. Kind-specific shapes come from the `kubernetes-types`
 * package (type-only imports); these are the generic views the API machinery works with.
 */
import type { ObjectMeta as ReadonlyObjectMeta, ListMeta, Status } from 'kubernetes-types/meta/v1.js';

/** Removes `readonly` (kubernetes-types marks system-populated fields read-only; the API machinery sets them). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** metav1.ObjectMeta with every field writable. */
export type ObjectMeta = Mutable<ReadonlyObjectMeta>;

export type { ListMeta, Status };

/** Any Kubernetes object as JSON: apiVersion, kind, metadata, and kind-specific fields. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/** A KubeObject that has passed through the API machinery: metadata is always present. */
export interface StoredObject extends KubeObject {
  metadata: ObjectMeta;
}

/** A Kubernetes list. */
export interface KubeList<T = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

/** Group, version and kind. The core group is "". */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** Formats a group and version as an apiVersion string ("v1", "apps/v1"). */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits an apiVersion string into group and version. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
