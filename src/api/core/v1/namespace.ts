/**
 * Namespace (core/v1): SetDefaults_Namespace, ValidateNamespace and pkg/registry/core/namespace/strategy.go.
 */
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isQualifiedName, nameIsDNSLabel } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, validateMeta, validateMetaUpdate, writable } from './helpers.ts';

/** The label every namespace carries with its own name (v1.LabelMetadataName). */
export const labelMetadataName = 'kubernetes.io/metadata.name';

function validateFinalizers(finalizers: string[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (finalizers ?? []).forEach((f, i) => {
    const p = `${path}[${i}]`;
    const problems = isQualifiedName(f);
    for (const msg of problems) errs.push(fieldError.invalid(p, f, msg));
    if (problems.length === 0 && !f.includes('/') && f !== 'kubernetes') {
      errs.push(fieldError.invalid(p, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  return errs;
}

/** namespaces: the core/v1 Namespace kind (cluster-scoped). */
export const namespaces = defineResource<Namespace>({
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  subresources: {
    status: true,
    others: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }],
  },
  defaults(ns) {
    const name = ns.metadata?.name;
    // Nameless (generateName) namespaces get the label once named; upstream's Canonicalize repeats this.
    if (name && ns.metadata) ns.metadata.labels = { ...(ns.metadata.labels ?? {}), [labelMetadataName]: name };
    if (ns.status && !ns.status.phase) ns.status.phase = 'Active';
  },
  validate(ns) {
    return [...validateMeta(ns.metadata, false, nameIsDNSLabel), ...validateFinalizers(ns.spec?.finalizers, 'spec.finalizers')];
  },
  validateUpdate(ns, old) {
    return validateMetaUpdate(ns.metadata, old.metadata);
  },
  strategy: {
    prepareForCreate(ns) {
      writable(ns).status = { phase: 'Active' };
      // Required on create only: the namespace controller removes it during deletion.
      const finalizers = ns.spec?.finalizers ?? [];
      if (!finalizers.includes('kubernetes')) ns.spec = { ...(ns.spec ?? {}), finalizers: [...finalizers, 'kubernetes'] };
    },
    prepareForUpdate(ns, old) {
      const finalizers = clone(old.spec?.finalizers);
      if (finalizers === undefined) {
        if (ns.spec) delete ns.spec.finalizers;
      } else {
        ns.spec = { ...(ns.spec ?? {}), finalizers };
      }
      writable(ns).status = clone(old.status);
    },
    prepareForStatusUpdate(ns, old) {
      ns.spec = clone(old.spec);
    },
  },
  columns: [
    { name: 'Status', type: 'string', description: 'The status of the namespace', cell: (ns) => ns.status?.phase ?? '' },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (ns, now) => translateTimestampSince(ns.metadata?.creationTimestamp, now) },
  ],
  fieldSelectors: {
    'status.phase': (ns) => ns.status?.phase ?? '',
    name: (ns) => ns.metadata?.name ?? '',
  },
  examples: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }],
});
