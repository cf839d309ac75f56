/**
 * LimitRange (core/v1): SetDefaults_LimitRangeItem, ValidateLimitRange and printLimitRange.
 */
import type { LimitRange, LimitRangeItem } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { isValidQuantity, parseQuantity } from '../../meta/quantity.ts';
import { nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { validateMeta, validateMetaUpdate } from './helpers.ts';

type ResourceList = Record<string, string | number>;

/** SetDefaults_LimitRangeItem: for Container items, default falls back to max and defaultRequest to default, then min. */
export function defaultLimitRangeItem(item: LimitRangeItem): void {
  if (item.type !== 'Container') return;
  const def: ResourceList = (item.default ??= {});
  const defReq: ResourceList = (item.defaultRequest ??= {});
  for (const [k, v] of Object.entries(item.max ?? {})) if (!(k in def)) def[k] = v;
  for (const [k, v] of Object.entries(def)) if (!(k in defReq)) defReq[k] = v;
  for (const [k, v] of Object.entries(item.min ?? {})) if (!(k in defReq)) defReq[k] = v;
}

function q(v: string | number): string {
  return String(v);
}

function validateItem(item: LimitRangeItem, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!item.type) errs.push(fieldError.required(`${path}.type`));
  const lists: [string, ResourceList | undefined][] = [
    ['max', item.max], ['min', item.min], ['default', item.default], ['defaultRequest', item.defaultRequest],
    ['maxLimitRequestRatio', item.maxLimitRequestRatio],
  ];
  const keys = new Set<string>();
  let ok = true;
  for (const [name, list] of lists) {
    for (const [k, v] of Object.entries(list ?? {})) {
      keys.add(k);
      if (!isValidQuantity(q(v))) {
        ok = false;
        errs.push(fieldError.invalid(`${path}.${name}[${k}]`, v, 'must be a valid quantity'));
      }
    }
  }
  if (item.type === 'Pod') {
    if (Object.keys(item.default ?? {}).length > 0) errs.push(fieldError.forbidden(`${path}.default`, "may not be specified when `type` is 'Pod'"));
    if (Object.keys(item.defaultRequest ?? {}).length > 0) {
      errs.push(fieldError.forbidden(`${path}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
    }
  }
  if (item.type === 'PersistentVolumeClaim' && item.min?.['storage'] === undefined && item.max?.['storage'] === undefined) {
    errs.push(fieldError.required(`${path}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
  }
  if (!ok) return errs;
  const str = (v: string | number): string => parseQuantity(q(v)).toString();
  const cmp = (a: string | number, b: string | number): number => parseQuantity(q(a)).cmp(parseQuantity(q(b)));
  for (const k of [...keys].sort()) {
    const min = item.min?.[k];
    const max = item.max?.[k];
    const def = item.default?.[k];
    const defReq = item.defaultRequest?.[k];
    const ratio = item.maxLimitRequestRatio?.[k];
    if (min !== undefined && max !== undefined && cmp(min, max) > 0) {
      errs.push(fieldError.invalid(`${path}.min[${k}]`, q(min), `min value ${str(min)} is greater than max value ${str(max)}`));
    }
    if (defReq !== undefined && min !== undefined && cmp(min, defReq) > 0) {
      errs.push(fieldError.invalid(`${path}.defaultRequest[${k}]`, q(defReq), `min value ${str(min)} is greater than default request value ${str(defReq)}`));
    }
    if (defReq !== undefined && max !== undefined && cmp(defReq, max) > 0) {
      errs.push(fieldError.invalid(`${path}.defaultRequest[${k}]`, q(defReq), `default request value ${str(defReq)} is greater than max value ${str(max)}`));
    }
    if (defReq !== undefined && def !== undefined && cmp(defReq, def) > 0) {
      errs.push(fieldError.invalid(`${path}.defaultRequest[${k}]`, q(defReq), `default request value ${str(defReq)} is greater than default limit value ${str(def)}`));
    }
    if (def !== undefined && min !== undefined && cmp(min, def) > 0) {
      errs.push(fieldError.invalid(`${path}.default[${k}]`, q(min), `min value ${str(min)} is greater than default value ${str(def)}`));
    }
    if (def !== undefined && max !== undefined && cmp(def, max) > 0) {
      errs.push(fieldError.invalid(`${path}.default[${k}]`, q(max), `default value ${str(def)} is greater than max value ${str(max)}`));
    }
    if (ratio !== undefined && cmp(ratio, 1) < 0) {
      errs.push(fieldError.invalid(`${path}.maxLimitRequestRatio[${k}]`, q(ratio), `ratio ${str(ratio)} is less than 1`));
    }
  }
  return errs;
}

function validateLimits(lr: LimitRange): FieldError[] {
  const errs: FieldError[] = [];
  const types = new Set<string>();
  (lr.spec?.limits ?? []).forEach((item, i) => {
    const path = `spec.limits[${i}]`;
    if (item.type && types.has(item.type)) errs.push(fieldError.duplicate(`${path}.type`, item.type));
    types.add(item.type);
    errs.push(...validateItem(item, path));
  });
  return errs;
}

/** limitranges: the core/v1 LimitRange kind. */
export const limitranges = defineResource<LimitRange>({
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  defaults(lr) {
    for (const item of lr.spec?.limits ?? []) defaultLimitRangeItem(item);
  },
  validate(lr) {
    return [...validateMeta(lr.metadata, true, nameIsDNSSubdomain), ...validateLimits(lr)];
  },
  validateUpdate(lr, old) {
    return validateMetaUpdate(lr.metadata, old.metadata);
  },
  columns: [
    {
      name: 'Created At', type: 'date', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
      // time.RFC3339 in UTC, seconds precision.
      cell: (lr) => (lr.metadata?.creationTimestamp ? new Date(lr.metadata.creationTimestamp).toISOString().replace(/\.\d{3}Z$/, 'Z') : '0001-01-01T00:00:00Z'),
    },
  ],
  examples: [{
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: 'cpu-limits', namespace: 'default' },
    spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { cpu: '100m' }, default: { cpu: '500m' } }] },
  }],
});
