/**
 * Small helpers shared by the core/v1 kind files: printer cell formatting as printers.go does it, and structural
 * comparison for immutability checks.
 */
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

/** Structural equality of JSON values (key order ignored; undefined members equal absent ones). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual(ra[k], rb[k]));
}

/** A deep copy of a JSON value. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
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
