/** apps/v1 Deployment: defaults, validation, strategy, Table columns and the scale subresource. */
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { defaultPodTemplateSpec, validatePodTemplateSpec } from '../../core/v1/pod-spec.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  nameIsDNSSubdomain, validateImmutableField, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource, type ScaleAccess } from '../../resource.ts';
import {
  bumpGenerationIf, containerCells, creationTimestampDoc, deepEqual, initGeneration, isNotMoreThan100Percent, rawIntOrPercent,
  selectorConverts, selectorIsEmpty, selectorString, validateLabelSelector, validatePositiveIntOrPercent,
  validateSelectorMatchesTemplate,
} from './workload.ts';

/** SetDefaults_Deployment (apps/v1) plus the pod template defaults; in place and idempotent. */
export function defaultDeployment(d: Deployment): void {
  const spec = (d.spec ??= { selector: {}, template: {} });
  spec.replicas ??= 1;
  const strategy = (spec.strategy ??= {});
  strategy.type ||= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = (strategy.rollingUpdate ??= {});
    ru.maxUnavailable ??= '25%';
    ru.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.template ??= {};
  defaultPodTemplateSpec(spec.template);
}

function validateDeploymentStrategy(d: Deployment, path: string): FieldError[] {
  const s = d.spec?.strategy ?? {};
  switch (s.type) {
    case 'Recreate':
      return s.rollingUpdate ? [fieldError.forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'")] : [];
    case 'RollingUpdate': {
      const ru = s.rollingUpdate;
      if (!ru) return [fieldError.required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil')];
      const p = `${path}.rollingUpdate`;
      const errs = [
        ...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
        ...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
      ];
      if (rawIntOrPercent(ru.maxUnavailable) === 0 && rawIntOrPercent(ru.maxSurge) === 0) {
        errs.push(fieldError.invalid(`${p}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      return errs;
    }
    default:
      return [fieldError.notSupported(path, s, ['Recreate', 'RollingUpdate'])];
  }
}

/** ValidateDeploymentSpec: replicas, selector, template (restartPolicy Always), strategy and the deadlines. */
export function validateDeploymentSpec(d: Deployment): FieldError[] {
  const spec = d.spec;
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec?.replicas ?? 0, 'spec.replicas'));
  if (!spec?.selector) {
    errs.push(fieldError.required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (selectorIsEmpty(spec.selector)) {
      errs.push(fieldError.invalid('spec.selector', spec.selector, 'empty selector is invalid for deployment'));
    }
  }
  if (!selectorConverts(spec?.selector)) {
    errs.push(fieldError.invalid('spec.selector', spec?.selector, 'invalid label selector'));
  } else {
    errs.push(...validateReplicaSetTemplate(spec?.template, spec?.selector, 'spec.template', 'ReplicaSet'));
  }
  errs.push(...validateDeploymentStrategy(d, 'spec.strategy'));
  errs.push(...validateNonnegative(spec?.minReadySeconds ?? 0, 'spec.minReadySeconds'));
  if (spec?.revisionHistoryLimit !== undefined) {
    errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  }
  if (spec?.progressDeadlineSeconds !== undefined) {
    errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(fieldError.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

/**
 * ValidatePodTemplateSpecForReplicaSet: the selector must match the template labels, the template must be a
 * valid pod template with restartPolicy Always and no activeDeadlineSeconds. `owner` names the kind in messages.
 */
export function validateReplicaSetTemplate(
  template: PodTemplateSpec | undefined,
  selector: LabelSelector | undefined,
  path: string,
  owner: string,
): FieldError[] {
  if (!template) return [fieldError.required(path)];
  const errs = validateSelectorMatchesTemplate(selector, template, path);
  errs.push(...validatePodTemplateSpec(template, path, { allowedRestartPolicies: ['Always'] }));
  if (template.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(fieldError.forbidden(`${path}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${owner} is not Supported`));
  }
  return errs;
}

/** ValidateDeploymentStatus: non-negative counters that never exceed status.replicas. */
export function validateDeploymentStatus(d: Deployment): FieldError[] {
  const s = d.status;
  if (!s) return [];
  const errs: FieldError[] = [];
  for (const f of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount'] as const) {
    if (s[f] !== undefined) errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  const replicas = s.replicas ?? 0;
  const msg = 'cannot be greater than status.replicas';
  if ((s.updatedReplicas ?? 0) > replicas) errs.push(fieldError.invalid('status.updatedReplicas', s.updatedReplicas, msg));
  if ((s.readyReplicas ?? 0) > replicas) errs.push(fieldError.invalid('status.readyReplicas', s.readyReplicas, msg));
  if ((s.availableReplicas ?? 0) > replicas) errs.push(fieldError.invalid('status.availableReplicas', s.availableReplicas, msg));
  if ((s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) {
    errs.push(fieldError.invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than readyReplicas'));
  }
  return errs;
}

/** The scale subresource of a Deployment (spec.replicas, status.replicas and the selector string). */
export const deploymentScale: ScaleAccess<Deployment> = {
  specReplicas: (d) => d.spec?.replicas ?? 0,
  statusReplicas: (d) => d.status?.replicas ?? 0,
  selector: (d) => selectorString(d.spec?.selector),
  setReplicas: (d, n) => {
    (d.spec ??= { selector: {}, template: {} }).replicas = n;
  },
};

/** Deployment's wide SELECTOR cell: LabelSelectorAsSelector(...).String(), "<invalid>" when it does not convert. */
function deploymentSelectorCell(d: Deployment): string {
  return selectorConverts(d.spec?.selector) ? selectorString(d.spec?.selector) : '<invalid>';
}

/** The apps/v1 Deployment kind. */
export const deployments = defineResource<Deployment>({
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  subresources: { status: true, scale: deploymentScale },
  defaults: defaultDeployment,
  validate: (d) => [
    ...validateObjectMeta(d.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' }),
    ...validateDeploymentSpec(d),
    ...validateDeploymentStatus(d),
  ],
  validateUpdate: (d, old) => [
    ...validateObjectMetaUpdate(d.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
    ...validateImmutableField(d.spec?.selector, old.spec?.selector, 'spec.selector'),
    ...statusCollisionCountNotDecremented(d.status?.collisionCount, old.status?.collisionCount),
  ],
  strategy: {
    prepareForCreate: (d) => {
      d.status = {};
      initGeneration(d.metadata);
    },
    prepareForUpdate: (d, old) => {
      d.status = old.status;
      // Annotations count too: the controller copies them onto the ReplicaSets.
      const changed = !deepEqual(d.spec, old.spec) || !deepEqual(d.metadata?.annotations ?? {}, old.metadata?.annotations ?? {});
      bumpGenerationIf(changed, d.metadata, old.metadata);
    },
    prepareForStatusUpdate: (d, old) => {
      d.spec = old.spec;
      if (d.metadata) {
        if (old.metadata?.labels) d.metadata.labels = old.metadata.labels;
        else delete d.metadata.labels;
      }
    },
    generation: true,
  },
  columns: [
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', cell: (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}` },
    { name: 'Up-to-date', type: 'string', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', cell: (d) => d.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'string', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', cell: (d) => d.status?.availableReplicas ?? 0 },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (d, now) => translateTimestampSince(d.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (d) => containerCells(d.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (d) => containerCells(d.spec?.template?.spec?.containers).images },
    { name: 'Selector', type: 'string', priority: 1, description: 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', cell: deploymentSelectorCell },
  ],
  examples: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
        },
      },
    },
  ],
});

/** "cannot be decremented" for status.collisionCount (IsDecremented in the status update validators). */
export function statusCollisionCountNotDecremented(n: number | undefined, old: number | undefined): FieldError[] {
  if (old === undefined) return [];
  if (n === undefined || n < old) return [fieldError.invalid('status.collisionCount', n ?? 0, 'cannot be decremented')];
  return [];
}
