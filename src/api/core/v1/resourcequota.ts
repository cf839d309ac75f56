/**
 * ResourceQuota (core/v1): ValidateResourceQuota, the quota strategy (status subresource) and printResourceQuota.
 */
import type { ResourceQuota } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { isValidQuantity, parseQuantity } from '../../meta/quantity.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isQualifiedName, nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, validateMeta, validateMetaUpdate, writable } from './helpers.ts';

const supportedScopes = ['BestEffort', 'CrossNamespacePodAffinity', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating'];

function validateHard(hard: Record<string, string | number> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(hard ?? {})) {
    const p = `${path}[${k}]`;
    for (const m of isQualifiedName(k)) errs.push(fieldError.invalid(p, k, m));
    const s = String(v);
    if (!isValidQuantity(s)) errs.push(fieldError.invalid(p, v, 'must be a valid quantity'));
    else if (parseQuantity(s).cmp(parseQuantity('0')) < 0) errs.push(fieldError.invalid(p, s, 'must be greater than or equal to 0'));
  }
  return errs;
}

function validateSpec(rq: ResourceQuota): FieldError[] {
  const errs = validateHard(rq.spec?.hard, 'spec.hard');
  const scopes = rq.spec?.scopes ?? [];
  for (const s of scopes) {
    if (!supportedScopes.includes(s)) {
      errs.push(fieldError.invalid('spec.scopes', scopes, 'unsupported scope'));
      break;
    }
  }
  (rq.spec?.scopeSelector?.matchExpressions ?? []).forEach((e, i) => {
    if (!supportedScopes.includes(e.scopeName)) {
      errs.push(fieldError.notSupported(`spec.scopeSelector.matchExpressions[${i}].scopeName`, e.scopeName, supportedScopes));
    }
  });
  return errs;
}

/** The REQUEST and LIMIT cells: "resource: used/hard" pairs, limits.* resources in LIMIT, sorted by name. */
export function quotaCells(rq: ResourceQuota): { request: string; limit: string } {
  const hard = rq.status?.hard ?? {};
  const used = rq.status?.used ?? {};
  const request: string[] = [];
  const limit: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const pieces = name.split('.');
    const target = pieces.length > 1 && pieces[0] === 'limits' ? limit : request;
    target.push(`${name}: ${String(used[name] ?? '0')}/${String(hard[name])}`);
  }
  return { request: request.join(', '), limit: limit.join(', ') };
}

/** resourcequotas: the core/v1 ResourceQuota kind. */
export const resourcequotas = defineResource<ResourceQuota>({
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  subresources: { status: true },
  validate(rq) {
    return [...validateMeta(rq.metadata, true, nameIsDNSSubdomain), ...validateSpec(rq)];
  },
  validateUpdate(rq, old) {
    return validateMetaUpdate(rq.metadata, old.metadata);
  },
  strategy: {
    prepareForCreate(rq) {
      writable(rq).status = {};
    },
    prepareForUpdate(rq, old) {
      writable(rq).status = clone(old.status);
    },
    prepareForStatusUpdate(rq, old) {
      rq.spec = clone(old.spec);
    },
  },
  columns: [
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (rq, now) => translateTimestampSince(rq.metadata?.creationTimestamp, now) },
    { name: 'Request', type: 'string', description: 'Request represents a minimum amount of cpu/memory that a container may consume.', cell: (rq) => quotaCells(rq).request },
    { name: 'Limit', type: 'string', description: 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.', cell: (rq) => quotaCells(rq).limit },
  ],
  examples: [{
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'compute', namespace: 'default' },
    spec: { hard: { pods: '10', 'requests.cpu': '4', 'limits.memory': '8Gi' } },
  }],
});
