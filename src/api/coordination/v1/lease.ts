/** coordination.k8s.io/v1 Lease: leader election and node heartbeats. */
import type { Lease, LeaseSpec } from 'kubernetes-types/coordination/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isQualifiedName, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { creationTimestampDoc } from '../../apps/v1/workload.ts';

const validLeaseStrategies = ['OldestEmulationVersion'];

/** ValidateLeaseSpec: positive duration, non-negative transitions, known strategy, preferredHolder needs strategy. */
export function validateLeaseSpec(lease: Lease): FieldError[] {
  // strategy and preferredHolder are 1.31 fields, newer than the kubernetes-types release in use.
  const spec: LeaseSpec & { strategy?: string; preferredHolder?: string } = lease.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    errs.push(fieldError.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    errs.push(fieldError.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'));
  }
  if (spec.strategy !== undefined) {
    // upstream appends "strategy" to the path twice
    const path = 'spec.strategy.strategy';
    if (!spec.strategy.includes('/')) {
      if (!validLeaseStrategies.includes(spec.strategy)) errs.push(fieldError.notSupported(path, spec.strategy, validLeaseStrategies));
    } else {
      for (const msg of isQualifiedName(spec.strategy)) errs.push(fieldError.invalid(path, spec.strategy, msg));
    }
  }
  if (spec.preferredHolder && !spec.strategy) {
    errs.push(fieldError.forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  }
  return errs;
}

/** The coordination.k8s.io/v1 Lease kind. */
export const leases = defineResource<Lease>({
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  validate: (lease) => [
    ...validateObjectMeta(lease.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' }),
    ...validateLeaseSpec(lease),
  ],
  validateUpdate: (lease, old) => validateObjectMetaUpdate(lease.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
  strategy: {},
  columns: [
    { name: 'Holder', type: 'string', description: 'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.', cell: (l) => l.spec?.holderIdentity ?? '' },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (l, now) => translateTimestampSince(l.metadata?.creationTimestamp, now) },
  ],
  examples: [
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'skiff-controller-manager', namespace: 'kube-system' },
      spec: { holderIdentity: 'node-1_0f6f3c1e', leaseDurationSeconds: 15, leaseTransitions: 0 },
    },
  ],
});
