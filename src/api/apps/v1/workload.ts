/**
 * Helpers shared by the workload kinds (apps, batch, policy): label selector validation as
 * metav1validation.ValidateLabelSelector, the selector/template agreement check, apps' int-or-percent rules,
 * printers.go cell helpers, and the generation bookkeeping of the controller strategies.
 */
import type { Container, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { LabelSelector as MetaSelector, ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { validateIntOrPercent } from '../../meta/intstr.ts';
import { formatMetaLabelSelector, labelSelectorFromMeta, matchesLabels } from '../../meta/labels.ts';
import { isQualifiedName, validateLabels } from '../../meta/validation.ts';

/** Canonical JSON (sorted keys, undefined dropped): the equality upstream's Semantic.DeepEqual gives for API objects. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      const o = val as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return val;
  }) ?? 'undefined';
}

export { deepEqual } from '../../../base/json-value.ts';

/** A deep copy of a JSON value. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/**
 * Validates a metav1.LabelSelector (ValidateLabelSelector with AllowInvalidLabelValueInSelector=false):
 * expression operators and values, label keys, and matchLabels.
 */
export function validateLabelSelector(sel: MetaSelector | undefined, path: string): FieldError[] {
  if (!sel) return [];
  const errs: FieldError[] = [];
  (sel.matchExpressions ?? []).forEach((expr, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errs.push(fieldError.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errs.push(fieldError.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        }
        break;
      default:
        errs.push(fieldError.invalid(`${p}.operator`, expr.operator, 'not a valid selector operator'));
    }
    for (const msg of isQualifiedName(expr.key)) errs.push(fieldError.invalid(`${p}.key`, expr.key, msg));
  });
  errs.push(...validateLabels(sel.matchLabels, `${path}.matchLabels`));
  return errs;
}

/** True when the selector is set and has at least one requirement. */
export function selectorIsEmpty(sel: MetaSelector | undefined): boolean {
  return !sel || Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0;
}

/**
 * Checks that a (non-empty, valid) selector matches the template labels, as the apps and batch validators do:
 * "`selector` does not match template `labels`" at <templatePath>.metadata.labels.
 */
export function validateSelectorMatchesTemplate(sel: MetaSelector | undefined, template: PodTemplateSpec | undefined, templatePath: string): FieldError[] {
  if (selectorIsEmpty(sel)) return [];
  let parsed;
  try {
    parsed = labelSelectorFromMeta(sel);
  } catch {
    return [];
  }
  const labels = template?.metadata?.labels;
  if (matchesLabels(parsed, labels)) return [];
  return [fieldError.invalid(`${templatePath}.metadata.labels`, labels ?? {}, '`selector` does not match template `labels`')];
}

/** True when the selector converts to a labels.Selector (LabelSelectorAsSelector succeeds). */
export function selectorConverts(sel: MetaSelector | undefined): boolean {
  try {
    labelSelectorFromMeta(sel);
    return true;
  } catch {
    return false;
  }
}

/** The raw number of an int-or-percent ("25%" → 25), as apps validation's getIntOrPercentValue. */
export function rawIntOrPercent(v: number | string | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    if (m) return Number(m[1]);
    const n = Number.parseInt(v, 10);
    return Number.isNaN(n) ? 0 : n;
  }
  return 0;
}

/** apps validation's ValidatePositiveIntOrPercent: a non-negative integer or a valid percentage. */
export function validatePositiveIntOrPercent(v: number | string | undefined, path: string): FieldError[] {
  return validateIntOrPercent(v, path);
}

/** apps validation's IsNotMoreThan100Percent: "must not be greater than 100%". */
export function isNotMoreThan100Percent(v: number | string | undefined, path: string): FieldError[] {
  if (typeof v !== 'string') return [];
  const m = /^(\d+)%$/.exec(v);
  if (!m || Number(m[1]) <= 100) return [];
  return [fieldError.invalid(path, v, 'must not be greater than 100%')];
}

/** printers.go layoutContainerCells: container names and images joined with commas. */
export function containerCells(containers: Container[] | undefined): { names: string; images: string } {
  const list = containers ?? [];
  return { names: list.map((c) => c.name).join(','), images: list.map((c) => c.image ?? '').join(',') };
}

/** metav1.FormatLabelSelector: "<none>" for an empty selector, "<error>" for an invalid one. */
export function formatSelectorCell(sel: MetaSelector | undefined): string {
  try {
    const s = formatMetaLabelSelector(sel ?? {});
    return s === '' ? '<none>' : s;
  } catch {
    return '<error>';
  }
}

/** The Scale status.selector string of a selector (LabelSelectorAsSelector(...).String(); "" when invalid). */
export function selectorString(sel: MetaSelector | undefined): string {
  try {
    return formatMetaLabelSelector(sel ?? {});
  } catch {
    return '';
  }
}

/** Sets metadata.generation to 1 (PrepareForCreate of the controller kinds). */
export function initGeneration(meta: ObjectMeta | undefined): void {
  if (meta) (meta as { generation?: number }).generation = 1;
}

/** Bumps metadata.generation from the old object's when `changed` (PrepareForUpdate of the controller kinds). */
export function bumpGenerationIf(changed: boolean, meta: ObjectMeta | undefined, old: ObjectMeta | undefined): void {
  if (!meta) return;
  const oldGen = old?.generation ?? 0;
  (meta as { generation?: number }).generation = changed ? oldGen + 1 : oldGen;
}

/** ObjectMeta's creationTimestamp documentation, the description upstream gives every AGE column. */
export const creationTimestampDoc =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';


/** Assigns a field that kubernetes-types marks read-only (status, generation are written by the server). */
export function setField<T extends object, K extends keyof T>(obj: T, key: K, value: T[K]): void {
  (obj as Record<K, T[K]>)[key] = value;
}
