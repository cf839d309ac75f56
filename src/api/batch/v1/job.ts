/** batch/v1 Job: defaults, the server-generated selector, validation, strategy and Table columns. */
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { defaultPodTemplateSpec, validatePodTemplateSpec } from '../../core/v1/pod-spec.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { labelSelectorFromMeta, matchesLabels } from '../../meta/labels.ts';
import { humanDuration, translateTimestampSince } from '../../meta/time.ts';
import {
  isDNS1123Label, nameIsDNSSubdomain, validateImmutableField, validateNonnegative, validateObjectMeta,
  validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import {
  bumpGenerationIf, containerCells, creationTimestampDoc, deepEqual, formatSelectorCell, initGeneration,
  selectorConverts, setField, validateLabelSelector, validateSelectorMatchesTemplate,
} from '../../apps/v1/workload.ts';

/** The labels the server puts on a Job's pod template and selector (batch.LegacyJobNameLabel and friends). */
export const jobLabels = {
  legacyJobName: 'job-name',
  legacyControllerUid: 'controller-uid',
  jobName: 'batch.kubernetes.io/job-name',
  controllerUid: 'batch.kubernetes.io/controller-uid',
} as const;

/** SetDefaults_Job (batch/v1, JobPodReplacementPolicy on) plus the pod template defaults; in place, idempotent. */
export function defaultJob(job: Job): void {
  const spec = (job.spec ??= { template: {} });
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  const templateLabels = spec.template?.metadata?.labels;
  if (templateLabels && Object.keys(job.metadata?.labels ?? {}).length === 0) {
    (job.metadata ??= {}).labels = { ...templateLabels };
  }
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  spec.manualSelector ??= false;
  spec.template ??= {};
  defaultPodTemplateSpec(spec.template);
}

/**
 * The Job strategy's generateSelector: labels the pod template with job-name / controller-uid (legacy and
 * batch.kubernetes.io/ forms) unless already present, and selects on batch.kubernetes.io/controller-uid.
 * Runs on create when spec.manualSelector is not true; needs metadata.uid to be assigned.
 */
export function generateJobSelector(job: Job): void {
  const spec = (job.spec ??= { template: {} });
  const template = (spec.template ??= {});
  const labels = ((template.metadata ??= {}).labels ??= {});
  const name = job.metadata?.name ?? '';
  const uid = job.metadata?.uid ?? '';
  for (const k of [jobLabels.legacyJobName, jobLabels.jobName]) if (!(k in labels)) labels[k] = name;
  for (const k of [jobLabels.legacyControllerUid, jobLabels.controllerUid]) if (!(k in labels)) labels[k] = uid;
  const sel = (spec.selector ??= {});
  const ml = (sel.matchLabels ??= {});
  if (!(jobLabels.controllerUid in ml)) ml[jobLabels.controllerUid] = uid;
}

function hasLabel(template: PodTemplateSpec | undefined, key: string, value: string): FieldError[] {
  const labels = template?.metadata?.labels ?? {};
  const path = `spec.template.metadata.labels[${key}]`;
  if (!(key in labels)) return [fieldError.required(path, value)];
  if (labels[key] !== value) return [fieldError.invalid(path, labels, `must be '${value}'`)];
  return [];
}

/** validateGeneratedSelector: with a generated selector the template must carry the job's name and uid labels. */
export function validateGeneratedSelector(job: Job, requirePrefixedLabels: boolean): FieldError[] {
  const spec = job.spec;
  if (spec?.manualSelector === true || !spec?.selector) return [];
  const errs: FieldError[] = [];
  const uid = job.metadata?.uid ?? '';
  const name = job.metadata?.name ?? '';
  if (uid === '') errs.push(fieldError.required('metadata.uid'));
  errs.push(...hasLabel(spec.template, jobLabels.legacyControllerUid, uid));
  errs.push(...hasLabel(spec.template, jobLabels.legacyJobName, name));
  const expected: Record<string, string> = {};
  if (requirePrefixedLabels) {
    errs.push(...hasLabel(spec.template, jobLabels.controllerUid, uid));
    errs.push(...hasLabel(spec.template, jobLabels.jobName, name));
    expected[jobLabels.controllerUid] = uid;
    expected[jobLabels.jobName] = name;
  }
  expected[jobLabels.legacyControllerUid] = uid;
  expected[jobLabels.legacyJobName] = name;
  try {
    if (!matchesLabels(labelSelectorFromMeta(spec.selector), expected)) {
      errs.push(fieldError.invalid('spec.selector', spec.selector, '`selector` not auto-generated'));
    }
  } catch {
    // an invalid selector is reported by the spec validation
  }
  return errs;
}

/** validateJobSpec (shared with CronJob's jobTemplate): counts, completion mode, replacement policy, template. */
export function validateJobSpecFields(spec: Job['spec'] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex'] as const) {
    if (spec?.[f] !== undefined) errs.push(...validateNonnegative(spec[f], `${path}.${f}`));
  }
  if (spec?.maxFailedIndexes !== undefined) {
    errs.push(...validateNonnegative(spec.maxFailedIndexes, `${path}.maxFailedIndexes`));
    if (spec.backoffLimitPerIndex === undefined) errs.push(fieldError.required(`${path}.backoffLimitPerIndex`, 'when maxFailedIndexes is specified'));
  }
  const mode = spec?.completionMode;
  if (mode !== undefined) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') {
      errs.push(fieldError.notSupported(`${path}.completionMode`, mode, ['NonIndexed', 'Indexed']));
    }
    if (mode === 'Indexed') {
      if (spec?.completions === undefined) errs.push(fieldError.required(`${path}.completions`, 'when completion mode is Indexed'));
      if ((spec?.parallelism ?? 0) > 100000) {
        errs.push(fieldError.invalid(`${path}.parallelism`, spec?.parallelism, 'must be less than or equal to 100000 when completion mode is Indexed'));
      }
    }
  }
  if (mode === undefined || mode === 'NonIndexed') {
    if (spec?.backoffLimitPerIndex !== undefined) errs.push(fieldError.invalid(`${path}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, 'requires indexed completion mode'));
    if (spec?.maxFailedIndexes !== undefined) errs.push(fieldError.invalid(`${path}.maxFailedIndexes`, spec.maxFailedIndexes, 'requires indexed completion mode'));
  }
  const rpp = spec?.podReplacementPolicy;
  if (rpp !== undefined) {
    if (spec?.podFailurePolicy) {
      if (rpp !== 'Failed') errs.push(fieldError.notSupported(`${path}.podReplacementPolicy`, rpp, ['Failed']));
    } else if (rpp !== 'Failed' && rpp !== 'TerminatingOrFailed') {
      errs.push(fieldError.notSupported(`${path}.podReplacementPolicy`, rpp, ['Failed', 'TerminatingOrFailed']));
    }
  }
  errs.push(...validatePodTemplateSpec(spec?.template, `${path}.template`));
  // The pod defaults turn an unset restartPolicy into Always, so both mean "not chosen" for a Job.
  const rp = spec?.template?.spec?.restartPolicy ?? '';
  const rpPath = `${path}.template.spec.restartPolicy`;
  if (rp === 'Always' || rp === '') {
    errs.push(fieldError.required(rpPath, 'valid values: "OnFailure", "Never"'));
  } else if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(fieldError.notSupported(rpPath, rp, ['OnFailure', 'Never']));
  } else if (spec?.podFailurePolicy && rp !== 'Never') {
    errs.push(fieldError.invalid(rpPath, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  }
  return errs;
}

/** ValidateJob: metadata, the generated selector, the spec, and the indexed pod hostname limit. */
export function validateJob(job: Job, opts: { requirePrefixedLabels: boolean }): FieldError[] {
  const errs = validateObjectMeta(job.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' });
  errs.push(...validateGeneratedSelector(job, opts.requirePrefixedLabels));
  const spec = job.spec;
  errs.push(...validateJobSpecFields(spec, 'spec'));
  if (!spec?.selector) {
    errs.push(fieldError.required('spec.selector'));
  } else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (selectorConverts(spec.selector)) errs.push(...validateSelectorMatchesTemplate(spec.selector, spec.template, 'spec.template'));
  }
  if (spec?.completionMode === 'Indexed' && (spec.completions ?? 0) > 0) {
    const host = `${job.metadata?.name ?? ''}-${(spec.completions ?? 1) - 1}`;
    if (isDNS1123Label(host).length > 0) {
      errs.push(fieldError.invalid('metadata.name', job.metadata?.name, `will not able to create pod with invalid DNS label: ${host}`));
    }
  }
  return errs;
}

/** ValidateJobSpecUpdate's immutability rules (template, selector, completions for non-indexed jobs, …). */
export function validateJobUpdate(job: Job, old: Job): FieldError[] {
  const errs = validateObjectMetaUpdate(job.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' });
  const a = job.spec;
  const b = old.spec;
  if (a?.completionMode === 'Indexed') {
    if (!deepEqual(a.completions, b?.completions) && a.completions !== undefined && a.completions !== a.parallelism) {
      errs.push(fieldError.invalid('spec.completions', a.completions, 'can only be modified in tandem with spec.parallelism'));
    }
  } else {
    errs.push(...validateImmutableField(a?.completions, b?.completions, 'spec.completions'));
  }
  errs.push(...validateImmutableField(a?.selector, b?.selector, 'spec.selector'));
  errs.push(...validateImmutableField(a?.template, b?.template, 'spec.template'));
  errs.push(...validateImmutableField(a?.completionMode, b?.completionMode, 'spec.completionMode'));
  errs.push(...validateImmutableField(a?.podFailurePolicy, b?.podFailurePolicy, 'spec.podFailurePolicy'));
  errs.push(...validateImmutableField(a?.backoffLimitPerIndex, b?.backoffLimitPerIndex, 'spec.backoffLimitPerIndex'));
  errs.push(...validateImmutableField(a?.managedBy, b?.managedBy, 'spec.managedBy'));
  errs.push(...validateImmutableField(a?.successPolicy, b?.successPolicy, 'spec.successPolicy'));
  return errs;
}

/** validateJobStatus's basic rules: non-negative counters and ready ≤ active. */
export function validateJobStatus(job: Job): FieldError[] {
  const s = job.status;
  if (!s) return [];
  const errs: FieldError[] = [];
  for (const f of ['active', 'succeeded', 'failed', 'ready', 'terminating'] as const) {
    if (s[f] !== undefined) errs.push(...validateNonnegative(s[f], `status.${f}`));
  }
  return errs;
}

function conditionTrue(job: Job, type: string): boolean {
  // printers.go looks at the first condition of the type only
  const c = (job.status?.conditions ?? []).find((x) => x.type === type);
  return c?.status === 'True';
}

/** printJob's STATUS cell: Complete, Failed, Terminating, Suspended, FailureTarget or Running. */
export function jobStatusCell(job: Job): string {
  if (conditionTrue(job, 'Complete')) return 'Complete';
  if (conditionTrue(job, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (conditionTrue(job, 'Suspended')) return 'Suspended';
  if (conditionTrue(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** printJob's COMPLETIONS cell: "1/3", or "0/1 of 4" for work-queue jobs with parallelism. */
export function jobCompletionsCell(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions !== undefined) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** printJob's DURATION cell: empty before start, running time, or start→completion. */
export function jobDurationCell(job: Job, now: number): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : now;
  return humanDuration(end - Date.parse(start));
}

/** The batch/v1 Job kind. */
export const jobs = defineResource<Job>({
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  subresources: { status: true },
  defaults: defaultJob,
  validate: (job) => [...validateJob(job, { requirePrefixedLabels: true }), ...validateJobStatus(job)],
  validateUpdate: validateJobUpdate,
  strategy: {
    prepareForCreate: (job) => {
      if (job.spec?.manualSelector !== true) generateJobSelector(job);
      setField(job, 'status', {});
      initGeneration(job.metadata);
    },
    prepareForUpdate: (job, old) => {
      setField(job, 'status', old.status);
      bumpGenerationIf(!deepEqual(job.spec, old.spec), job.metadata, old.metadata);
    },
    prepareForStatusUpdate: (job, old) => {
      job.spec = old.spec;
    },
    generation: true,
  },
  columns: [
    { name: 'Status', type: 'string', description: 'Status of the job.', cell: jobStatusCell },
    { name: 'Completions', type: 'string', description: 'The number of pods which reached phase Succeeded.', cell: jobCompletionsCell },
    { name: 'Duration', type: 'string', description: 'Time required to complete the job.', cell: jobDurationCell },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (j, now) => translateTimestampSince(j.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (j) => containerCells(j.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (j) => containerCells(j.spec?.template?.spec?.containers).images },
    { name: 'Selector', type: 'string', priority: 1, description: 'A label query over pods that should match the pod count.', cell: (j) => formatSelectorCell(j.spec?.selector) },
  ],
  fieldSelectors: { 'status.successful': (j) => String(j.status?.succeeded ?? 0) },
  examples: [
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', namespace: 'default' },
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34', command: ['perl', '-e', 'print 1'] }] },
        },
      },
    },
  ],
});
