/** apps/v1 StatefulSet: defaults, validation, strategy, Table columns and the scale subresource. */
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import { defaultPodTemplateSpec } from '../../core/v1/pod-spec.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  nameIsDNSLabel, validateAnnotations, validateLabels, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource, type ScaleAccess } from '../../resource.ts';
import { statusCollisionCountNotDecremented } from './deployment.ts';
import {
  bumpGenerationIf, clone, setField, containerCells, creationTimestampDoc, deepEqual, initGeneration, isNotMoreThan100Percent,
  rawIntOrPercent, selectorConverts, selectorIsEmpty, selectorString, validateLabelSelector,
  validatePositiveIntOrPercent, validateSelectorMatchesTemplate,
} from './workload.ts';

/** SetDefaults_StatefulSet (with StatefulSetAutoDeletePVC on) plus the pod template defaults; idempotent. */
export function defaultStatefulSet(ss: StatefulSet): void {
  const spec = (ss.spec ??= { selector: {}, template: {}, serviceName: '' });
  spec.podManagementPolicy ||= 'OrderedReady';
  const us = (spec.updateStrategy ??= {});
  if (!us.type) {
    us.type = 'RollingUpdate';
    us.rollingUpdate ??= {};
  }
  if (us.type === 'RollingUpdate' && us.rollingUpdate && us.rollingUpdate.partition === undefined) {
    us.rollingUpdate.partition = 0;
  }
  const policy = (spec.persistentVolumeClaimRetentionPolicy ??= {});
  policy.whenDeleted ||= 'Retain';
  policy.whenScaled ||= 'Retain';
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.template ??= {};
  defaultPodTemplateSpec(spec.template);
}

function validateRetentionPolicyType(v: string | undefined, path: string): FieldError[] {
  return v === 'Retain' || v === 'Delete' ? [] : [fieldError.notSupported(path, v ?? '', ['Retain', 'Delete'])];
}

/** ValidateStatefulSetSpec. */
export function validateStatefulSetSpec(ss: StatefulSet): FieldError[] {
  const spec = ss.spec;
  const errs: FieldError[] = [];
  switch (spec?.podManagementPolicy ?? '') {
    case '':
      errs.push(fieldError.required('spec.podManagementPolicy'));
      break;
    case 'OrderedReady':
    case 'Parallel':
      break;
    default:
      errs.push(fieldError.invalid('spec.podManagementPolicy', spec?.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec?.updateStrategy ?? {};
  switch (us.type ?? '') {
    case '':
      errs.push(fieldError.required('spec.updateStrategy'));
      break;
    case 'OnDelete':
      if (us.rollingUpdate) {
        errs.push(fieldError.invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
      }
      break;
    case 'RollingUpdate':
      if (us.rollingUpdate) {
        const p = 'spec.updateStrategy.rollingUpdate';
        errs.push(...validateNonnegative(us.rollingUpdate.partition ?? 0, `${p}.partition`));
        const mu = us.rollingUpdate.maxUnavailable;
        if (mu !== undefined) {
          errs.push(...validatePositiveIntOrPercent(mu, `${p}.maxUnavailable`));
          if (rawIntOrPercent(mu) === 0) errs.push(fieldError.invalid(`${p}.maxUnavailable`, mu, 'cannot be 0'));
          errs.push(...isNotMoreThan100Percent(mu, `${p}.maxUnavailable`));
        }
      }
      break;
    default:
      errs.push(fieldError.invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const pvc = spec?.persistentVolumeClaimRetentionPolicy;
  if (pvc) {
    errs.push(...validateRetentionPolicyType(pvc.whenDeleted, 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted'));
    errs.push(...validateRetentionPolicyType(pvc.whenScaled, 'spec.persistentVolumeClaimRetentionPolicy.whenScaled'));
  }
  errs.push(...validateNonnegative(spec?.replicas ?? 0, 'spec.replicas'));
  errs.push(...validateNonnegative(spec?.minReadySeconds ?? 0, 'spec.minReadySeconds'));
  if (spec?.ordinals) errs.push(...validateNonnegative(spec.ordinals.start ?? 0, 'spec.ordinals.start'));
  if (!spec?.selector) {
    errs.push(fieldError.required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (selectorIsEmpty(spec.selector)) errs.push(fieldError.invalid('spec.selector', spec.selector, 'empty selector is invalid for statefulset'));
  }
  if (!selectorConverts(spec?.selector)) {
    errs.push(fieldError.invalid('spec.selector', spec?.selector, ''));
  } else {
    // Upstream checks only labels and annotations here, not the pod spec (volumes come from the claim templates).
    errs.push(...validateSelectorMatchesTemplate(spec?.selector, spec?.template, 'spec.template'));
    errs.push(...validateLabels(spec?.template?.metadata?.labels, 'spec.template.labels'));
    errs.push(...validateAnnotations(spec?.template?.metadata?.annotations, 'spec.template.annotations'));
  }
  const rp = spec?.template?.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(fieldError.notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  if (spec?.template?.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(fieldError.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in StatefulSet is not Supported'));
  }
  return errs;
}

/** ValidateStatefulSetStatus. */
export function validateStatefulSetStatus(ss: StatefulSet): FieldError[] {
  const s = ss.status;
  if (!s) return [];
  const errs: FieldError[] = [];
  for (const f of ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'observedGeneration', 'collisionCount'] as const) {
    if (s[f] !== undefined) errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  const msg = 'cannot be greater than status.replicas';
  const replicas = s.replicas ?? 0;
  for (const f of ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'] as const) {
    if ((s[f] ?? 0) > replicas) errs.push(fieldError.invalid(`status.${f}`, s[f], msg));
  }
  if ((s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) {
    errs.push(fieldError.invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than status.readyReplicas'));
  }
  return errs;
}

/** ValidateStatefulSetUpdate: only replicas, ordinals, template, updateStrategy, the PVC retention policy and minReadySeconds may change. */
export function validateStatefulSetUpdate(ss: StatefulSet, old: StatefulSet): FieldError[] {
  const errs = validateObjectMetaUpdate(ss.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' });
  const a = clone(ss.spec) ?? ({} as NonNullable<StatefulSet['spec']>);
  const b = old.spec ?? ({} as NonNullable<StatefulSet['spec']>);
  for (const k of ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy'] as const) {
    (a as unknown as Record<string, unknown>)[k] = b[k];
  }
  if (!deepEqual(a, b)) {
    errs.push(fieldError.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
  }
  errs.push(...statusCollisionCountNotDecremented(ss.status?.collisionCount, old.status?.collisionCount));
  return errs;
}

/** The scale subresource of a StatefulSet. */
export const statefulSetScale: ScaleAccess<StatefulSet> = {
  specReplicas: (ss) => ss.spec?.replicas ?? 0,
  statusReplicas: (ss) => ss.status?.replicas ?? 0,
  selector: (ss) => selectorString(ss.spec?.selector),
  setReplicas: (ss, n) => {
    (ss.spec ??= { selector: {}, template: {}, serviceName: '' }).replicas = n;
  },
};

/** The apps/v1 StatefulSet kind. */
export const statefulSets = defineResource<StatefulSet>({
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  subresources: { status: true, scale: statefulSetScale },
  defaults: defaultStatefulSet,
  validate: (ss) => [
    // StatefulSet names are used as pod hostnames: a DNS label since 1.31.
    ...validateObjectMeta(ss.metadata, { namespaced: true, nameValidator: nameIsDNSLabel, path: 'metadata' }),
    ...validateStatefulSetSpec(ss),
    ...validateStatefulSetStatus(ss),
  ],
  validateUpdate: validateStatefulSetUpdate,
  strategy: {
    prepareForCreate: (ss) => {
      // replicas and availableReplicas have no omitempty upstream.
      setField(ss, 'status', { replicas: 0, availableReplicas: 0 });
      initGeneration(ss.metadata);
    },
    prepareForUpdate: (ss, old) => {
      setField(ss, 'status', old.status);
      bumpGenerationIf(!deepEqual(ss.spec, old.spec), ss.metadata, old.metadata);
    },
    prepareForStatusUpdate: (ss, old) => {
      ss.spec = old.spec;
    },
    generation: true,
  },
  columns: [
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', cell: (ss) => `${ss.status?.readyReplicas ?? 0}/${ss.spec?.replicas ?? 0}` },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (ss, now) => translateTimestampSince(ss.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (ss) => containerCells(ss.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (ss) => containerCells(ss.spec?.template?.spec?.containers).images },
  ],
  examples: [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'postgres', image: 'postgres:16' }] },
        },
      },
    },
  ],
});
