/** apps/v1 ReplicaSet: defaults, validation, strategy, Table columns and the scale subresource. */
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { defaultPodTemplateSpec } from '../../core/v1/pod-spec.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  nameIsDNSSubdomain, validateImmutableField, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource, type ScaleAccess } from '../../resource.ts';
import { validateReplicaSetTemplate } from './deployment.ts';
import {
  bumpGenerationIf, containerCells, setField, creationTimestampDoc, deepEqual, formatSelectorCell, initGeneration,
  selectorConverts, selectorIsEmpty, selectorString, validateLabelSelector,
} from './workload.ts';

/** SetDefaults_ReplicaSet (replicas 1) plus the pod template defaults; in place and idempotent. */
export function defaultReplicaSet(rs: ReplicaSet): void {
  const spec = (rs.spec ??= { selector: {} });
  spec.replicas ??= 1;
  spec.template ??= {};
  defaultPodTemplateSpec(spec.template);
}

/** ValidateReplicaSetSpec: replicas, minReadySeconds, selector and template. */
export function validateReplicaSetSpec(rs: ReplicaSet): FieldError[] {
  const spec = rs.spec;
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec?.replicas ?? 0, 'spec.replicas'));
  errs.push(...validateNonnegative(spec?.minReadySeconds ?? 0, 'spec.minReadySeconds'));
  if (!spec?.selector) {
    errs.push(fieldError.required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    // upstream reuses the deployment wording here
    if (selectorIsEmpty(spec.selector)) errs.push(fieldError.invalid('spec.selector', spec.selector, 'empty selector is invalid for deployment'));
  }
  if (!selectorConverts(spec?.selector)) {
    errs.push(fieldError.invalid('spec.selector', spec?.selector, 'invalid label selector'));
  } else {
    errs.push(...validateReplicaSetTemplate(spec?.template, spec?.selector, 'spec.template', 'ReplicaSet'));
  }
  return errs;
}

/** ValidateReplicaSetStatus: non-negative counters, none above status.replicas. */
export function validateReplicaSetStatus(rs: ReplicaSet): FieldError[] {
  const s = rs.status;
  if (!s) return [];
  const errs: FieldError[] = [];
  for (const f of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const) {
    if (s[f] !== undefined) errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  const msg = 'cannot be greater than status.replicas';
  const replicas = s.replicas ?? 0;
  if ((s.fullyLabeledReplicas ?? 0) > replicas) errs.push(fieldError.invalid('status.fullyLabeledReplicas', s.fullyLabeledReplicas, msg));
  if ((s.readyReplicas ?? 0) > replicas) errs.push(fieldError.invalid('status.readyReplicas', s.readyReplicas, msg));
  if ((s.availableReplicas ?? 0) > replicas) errs.push(fieldError.invalid('status.availableReplicas', s.availableReplicas, msg));
  if ((s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) {
    errs.push(fieldError.invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than readyReplicas'));
  }
  return errs;
}

/** The scale subresource of a ReplicaSet. */
export const replicaSetScale: ScaleAccess<ReplicaSet> = {
  specReplicas: (rs) => rs.spec?.replicas ?? 0,
  statusReplicas: (rs) => rs.status?.replicas ?? 0,
  selector: (rs) => selectorString(rs.spec?.selector),
  setReplicas: (rs, n) => {
    (rs.spec ??= { selector: {} }).replicas = n;
  },
};

/** The apps/v1 ReplicaSet kind. */
export const replicaSets = defineResource<ReplicaSet>({
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  subresources: { status: true, scale: replicaSetScale },
  defaults: defaultReplicaSet,
  validate: (rs) => [
    ...validateObjectMeta(rs.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' }),
    ...validateReplicaSetSpec(rs),
    ...validateReplicaSetStatus(rs),
  ],
  validateUpdate: (rs, old) => [
    ...validateObjectMetaUpdate(rs.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
    ...validateImmutableField(rs.spec?.selector, old.spec?.selector, 'spec.selector'),
  ],
  strategy: {
    prepareForCreate: (rs) => {
      // ReplicaSetStatus.replicas has no omitempty: the initial status serializes as {replicas: 0}.
      setField(rs, 'status', { replicas: 0 });
      initGeneration(rs.metadata);
    },
    prepareForUpdate: (rs, old) => {
      setField(rs, 'status', old.status);
      bumpGenerationIf(!deepEqual(rs.spec, old.spec), rs.metadata, old.metadata);
    },
    prepareForStatusUpdate: (rs, old) => {
      rs.spec = old.spec;
    },
    generation: true,
  },
  columns: [
    { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired pods.', cell: (rs) => rs.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of replicas.', cell: (rs) => rs.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'The number of ready replicas for this replica set.', cell: (rs) => rs.status?.readyReplicas ?? 0 },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (rs, now) => translateTimestampSince(rs.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (rs) => containerCells(rs.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (rs) => containerCells(rs.spec?.template?.spec?.containers).images },
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector is a label query over pods that should match the replica count.', cell: (rs) => formatSelectorCell(rs.spec?.selector) },
  ],
  fieldSelectors: { 'status.replicas': (rs) => String(rs.status?.replicas ?? 0) },
  examples: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-5d4f', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d4f' } },
        template: {
          metadata: { labels: { app: 'web', 'pod-template-hash': '5d4f' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
        },
      },
    },
  ],
});
