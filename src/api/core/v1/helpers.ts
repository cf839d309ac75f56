/**
 * Small helpers shared by the core/v1 kind files: printer cell formatting as printers.go does it, and structural
 * comparison for immutability checks.
 */
import { cloneJson } from '../../../base/json-value.ts';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { FieldError } from '../../meta/field-errors.ts';
import { validateObjectMeta, validateObjectMetaUpdate, type NameValidator } from '../../meta/validation.ts';

/** labels.FormatLabels: "k=v,k2=v2" sorted by key, or "<none>" when empty. */
export function formatLabels(labels: Record<string, string> | undefined | null): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels?.[k] ?? ''}`).join(',');
}

/** The CONTAINERS and IMAGES cells of workload printers (layoutContainerCells): comma-joined names and images. */
export function containerCells(containers: Container[] | undefined): { names: string; images: string } {
  const list = containers ?? [];
  return { names: list.map((c) => c.name).join(','), images: list.map((c) => c.image ?? '').join(',') };
}

export { deepEqual } from '../../../base/json-value.ts';

/** A deep copy of a JSON value. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (cloneJson(v) as T);
}

/** Metadata validation of a new object (ValidateObjectMeta with the given name rule). */
export function validateMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameValidator: NameValidator): FieldError[] {
  return validateObjectMeta(meta, { namespaced, nameValidator, path: 'metadata' });
}

/** Metadata validation of an update (ValidateObjectMetaUpdate). */
export function validateMetaUpdate(meta: ObjectMeta | undefined, old: ObjectMeta | undefined): FieldError[] {
  return validateObjectMetaUpdate(meta ?? {}, old ?? {}, { path: 'metadata' });
}

/** The same object with readonly members writable (kubernetes-types marks server-owned fields readonly). */
export function writable<T>(o: T): { -readonly [K in keyof T]: T[K] } {
  return o;
}
