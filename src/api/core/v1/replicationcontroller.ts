/**
 * ReplicationController (core/v1): SetDefaults_ReplicationController, ValidateReplicationController, the RC strategy
 * (status subresource, generation), the scale subresource and printReplicationController.
 */
import type { ReplicationController } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { nameIsDNSSubdomain, validateLabels, validateNonnegative } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, containerCells, formatLabels, validateMeta, validateMetaUpdate, writable } from './helpers.ts';
import { defaultPodTemplateSpec, validatePodTemplateSpec } from './pod-spec.ts';

function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function validateRCSpec(rc: ReplicationController): FieldError[] {
  const errs: FieldError[] = [];
  const spec = rc.spec ?? {};
  if (spec.replicas !== undefined) errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  if (spec.minReadySeconds !== undefined) errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  const selector = spec.selector ?? {};
  if (Object.keys(selector).length === 0) errs.push(fieldError.required('spec.selector'));
  else errs.push(...validateLabels(selector, 'spec.selector'));
  const t = spec.template;
  if (!t) {
    errs.push(fieldError.required('spec.template'));
    return errs;
  }
  if (Object.keys(selector).length > 0 && !selectorMatches(selector, t.metadata?.labels)) {
    errs.push(fieldError.invalid('spec.template.metadata.labels', t.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(t, 'spec.template', { allowedRestartPolicies: ['Always'] }));
  if (t.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(fieldError.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return errs;
}

/** labels.SelectorFromSet(...).String(): "k=v" pairs sorted by key, "" when empty. */
function selectorString(selector: Record<string, string> | undefined): string {
  return Object.keys(selector ?? {}).sort().map((k) => `${k}=${selector?.[k] ?? ''}`).join(',');
}

/** replicationcontrollers: the core/v1 ReplicationController kind. */
export const replicationcontrollers = defineResource<ReplicationController>({
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  subresources: {
    status: true,
    scale: {
      specReplicas: (rc) => rc.spec?.replicas ?? 1,
      statusReplicas: (rc) => rc.status?.replicas ?? 0,
      selector: (rc) => selectorString(rc.spec?.selector),
      setReplicas(rc, n) {
        rc.spec = { ...(rc.spec ?? {}), replicas: n };
      },
    },
  },
  defaults(rc) {
    const spec = (rc.spec ??= {});
    const labels = spec.template?.metadata?.labels;
    if (labels) {
      if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
      if (rc.metadata && (!rc.metadata.labels || Object.keys(rc.metadata.labels).length === 0)) rc.metadata.labels = { ...labels };
    }
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    if (spec.template) defaultPodTemplateSpec(spec.template);
  },
  validate(rc) {
    return [...validateMeta(rc.metadata, true, nameIsDNSSubdomain), ...validateRCSpec(rc)];
  },
  validateUpdate(rc, old) {
    return validateMetaUpdate(rc.metadata, old.metadata);
  },
  strategy: {
    generation: true,
    prepareForCreate(rc) {
      writable(rc).status = { replicas: 0 };
    },
    prepareForUpdate(rc, old) {
      writable(rc).status = clone(old.status);
    },
    prepareForStatusUpdate(rc, old) {
      rc.spec = clone(old.spec);
    },
  },
  columns: [
    { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired replicas.', cell: (rc) => rc.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of replicas.', cell: (rc) => rc.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', description: 'The number of ready replicas for this replication controller.', cell: (rc) => rc.status?.readyReplicas ?? 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (rc, now) => translateTimestampSince(rc.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (rc) => containerCells(rc.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (rc) => containerCells(rc.spec?.template?.spec?.containers).images },
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector is a label query over pods that should match the Replicas count.', cell: (rc) => formatLabels(rc.spec?.selector) },
  ],
  fieldSelectors: {
    'status.replicas': (rc) => String(rc.status?.replicas ?? 0),
  },
  examples: [{
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web-rc', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { app: 'web-rc' },
      template: {
        metadata: { labels: { app: 'web-rc' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
      },
    },
  }],
});
