/**
 * ServiceAccount (core/v1): ValidateServiceAccount and printServiceAccount; the token subresource is served by the
 * apiserver (authentication.k8s.io/v1 TokenRequest).
 */
import type { ServiceAccount } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { validateMeta, validateMetaUpdate } from './helpers.ts';

function validateRefs(sa: ServiceAccount): FieldError[] {
  const errs: FieldError[] = [];
  (sa.imagePullSecrets ?? []).forEach((r, i) => {
    if (!r.name) errs.push(fieldError.required(`imagePullSecrets[${i}].name`));
  });
  return errs;
}

/** serviceaccounts: the core/v1 ServiceAccount kind. */
export const serviceaccounts = defineResource<ServiceAccount>({
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  subresources: {
    others: [{ name: 'token', group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }],
  },
  validate(sa) {
    return [...validateMeta(sa.metadata, true, nameIsDNSSubdomain), ...validateRefs(sa)];
  },
  validateUpdate(sa, old) {
    return validateMetaUpdate(sa.metadata, old.metadata);
  },
  columns: [
    { name: 'Secrets', type: 'string', description: 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', cell: (sa) => (sa.secrets ?? []).length },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (sa, now) => translateTimestampSince(sa.metadata?.creationTimestamp, now) },
  ],
  examples: [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } }],
});
