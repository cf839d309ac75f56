/** apps/v1 DaemonSet: defaults, validation, strategy and Table columns. */
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import { defaultPodTemplateSpec, validatePodTemplateSpec } from '../../core/v1/pod-spec.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  nameIsDNSSubdomain, validateImmutableField, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { statusCollisionCountNotDecremented } from './deployment.ts';
import {
  bumpGenerationIf, containerCells, setField, creationTimestampDoc, deepEqual, formatSelectorCell, initGeneration,
  isNotMoreThan100Percent, rawIntOrPercent, selectorIsEmpty, validateLabelSelector, validatePositiveIntOrPercent,
  validateSelectorMatchesTemplate,
} from './workload.ts';

/** SetDefaults_DaemonSet (RollingUpdate maxUnavailable 1 / maxSurge 0, revisionHistoryLimit 10) plus template defaults. */
export function defaultDaemonSet(ds: DaemonSet): void {
  const spec = (ds.spec ??= { selector: {}, template: {} });
  const us = (spec.updateStrategy ??= {});
  us.type ||= 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = (us.rollingUpdate ??= {});
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  spec.template ??= {};
  defaultPodTemplateSpec(spec.template);
}

function validateUpdateStrategy(ds: DaemonSet): FieldError[] {
  const us = ds.spec?.updateStrategy ?? {};
  const path = 'spec.updateStrategy';
  switch (us.type) {
    case 'OnDelete':
      return [];
    case 'RollingUpdate': {
      const ru = us.rollingUpdate;
      if (!ru) return [fieldError.required(`${path}.rollingUpdate`)];
      const p = `${path}.rollingUpdate`;
      const errs = [
        ...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`),
        ...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`),
        ...isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`),
        ...isNotMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`),
      ];
      const hasUnavailable = rawIntOrPercent(ru.maxUnavailable) !== 0;
      const hasSurge = rawIntOrPercent(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) {
        errs.push(fieldError.invalid(`${p}.maxSurge`, ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
      } else if (!hasUnavailable && !hasSurge) {
        errs.push(fieldError.required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      }
      return errs;
    }
    default:
      return [fieldError.notSupported(path, us, ['RollingUpdate', 'OnDelete'])];
  }
}

/** ValidateDaemonSetSpec. */
export function validateDaemonSetSpec(ds: DaemonSet): FieldError[] {
  const spec = ds.spec;
  const errs: FieldError[] = [];
  errs.push(...validateLabelSelector(spec?.selector, 'spec.selector'));
  errs.push(...validateSelectorMatchesTemplateAlways(ds));
  if (spec?.selector && selectorIsEmpty(spec.selector)) {
    errs.push(fieldError.invalid('spec.selector', spec.selector, 'empty selector is invalid for daemonset'));
  }
  errs.push(...validatePodTemplateSpec(spec?.template, 'spec.template', { allowedRestartPolicies: ['Always'] }));
  if (spec?.template?.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(fieldError.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in DaemonSet is not Supported'));
  }
  errs.push(...validateNonnegative(spec?.minReadySeconds ?? 0, 'spec.minReadySeconds'));
  errs.push(...validateUpdateStrategy(ds));
  if (spec?.revisionHistoryLimit !== undefined) errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  return errs;
}

// DaemonSet checks the match even for a nil selector (which selects nothing): a missing selector always fails.
function validateSelectorMatchesTemplateAlways(ds: DaemonSet): FieldError[] {
  const sel = ds.spec?.selector;
  if (!sel) {
    return [fieldError.invalid('spec.template.metadata.labels', ds.spec?.template?.metadata?.labels ?? {}, '`selector` does not match template `labels`')];
  }
  return validateSelectorMatchesTemplate(sel, ds.spec?.template, 'spec.template');
}

/** validateDaemonSetStatus: every counter non-negative. */
export function validateDaemonSetStatus(ds: DaemonSet): FieldError[] {
  const s = ds.status;
  if (!s) return [];
  const errs: FieldError[] = [];
  for (const f of ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount'] as const) {
    if (s[f] !== undefined) errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  return errs;
}

/** The apps/v1 DaemonSet kind. */
export const daemonSets = defineResource<DaemonSet>({
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  subresources: { status: true },
  defaults: defaultDaemonSet,
  validate: (ds) => [
    ...validateObjectMeta(ds.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' }),
    ...validateDaemonSetSpec(ds),
    ...validateDaemonSetStatus(ds),
  ],
  validateUpdate: (ds, old) => [
    ...validateObjectMetaUpdate(ds.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
    ...validateImmutableField(ds.spec?.selector, old.spec?.selector, 'spec.selector'),
    ...statusCollisionCountNotDecremented(ds.status?.collisionCount, old.status?.collisionCount),
  ],
  strategy: {
    prepareForCreate: (ds) => {
      // The four scheduling counters have no omitempty upstream.
      setField(ds, 'status', { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 });
      initGeneration(ds.metadata);
    },
    prepareForUpdate: (ds, old) => {
      setField(ds, 'status', old.status);
      bumpGenerationIf(!deepEqual(ds.spec, old.spec), ds.metadata, old.metadata);
    },
    prepareForStatusUpdate: (ds, old) => {
      ds.spec = old.spec;
    },
    generation: true,
  },
  columns: [
    { name: 'Desired', type: 'integer', description: 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).', cell: (ds) => ds.status?.desiredNumberScheduled ?? 0 },
    { name: 'Current', type: 'integer', description: 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', cell: (ds) => ds.status?.currentNumberScheduled ?? 0 },
    { name: 'Ready', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', cell: (ds) => ds.status?.numberReady ?? 0 },
    { name: 'Up-to-date', type: 'integer', description: 'The total number of nodes that are running updated daemon pod', cell: (ds) => ds.status?.updatedNumberScheduled ?? 0 },
    { name: 'Available', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', cell: (ds) => ds.status?.numberAvailable ?? 0 },
    { name: 'Node Selector', type: 'string', description: "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node.", cell: (ds) => formatLabels(ds.spec?.template?.spec?.nodeSelector) },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (ds, now) => translateTimestampSince(ds.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (ds) => containerCells(ds.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (ds) => containerCells(ds.spec?.template?.spec?.containers).images },
    { name: 'Selector', type: 'string', priority: 1, description: "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels.", cell: (ds) => formatSelectorCell(ds.spec?.selector) },
  ],
  examples: [
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'node-agent', namespace: 'kube-system' },
      spec: {
        selector: { matchLabels: { app: 'node-agent' } },
        template: {
          metadata: { labels: { app: 'node-agent' } },
          spec: { containers: [{ name: 'agent', image: 'busybox:1.36', command: ['sleep', 'infinity'] }] },
        },
      },
    },
  ],
});

/** labels.FormatLabels: "k=v" pairs sorted by key joined with commas; "<none>" when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels?.[k] ?? ''}`).join(',');
}
