/** batch/v1 CronJob: defaults, schedule/time zone validation, strategy and Table columns. */
import type { CronJob } from 'kubernetes-types/batch/v1.js';
import { defaultPodTemplateSpec } from '../../core/v1/pod-spec.ts';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { nameIsDNSSubdomain, validateNonnegative, validateObjectMeta, validateObjectMetaUpdate } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import {
  bumpGenerationIf, containerCells, creationTimestampDoc, deepEqual, formatSelectorCell, initGeneration, setField,
} from '../../apps/v1/workload.ts';
import { CronParseError, isKnownTimeZone, parseCronSchedule } from './cron-schedule.ts';
import { validateJobSpecFields } from './job.ts';

/** SetDefaults_CronJob plus the job template's pod defaults; in place and idempotent. */
export function defaultCronJob(cj: CronJob): void {
  const spec = (cj.spec ??= { schedule: '', jobTemplate: {} });
  spec.concurrencyPolicy ||= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  const jobSpec = (spec.jobTemplate ??= {}).spec;
  if (jobSpec?.template) defaultPodTemplateSpec(jobSpec.template);
}

/** validateScheduleFormat: robfig/cron's parse error, and TZ / CRON_TZ only when the old schedule had it. */
export function validateSchedule(schedule: string, opts: { allowTZInSchedule: boolean; timeZone: string | undefined }): FieldError[] {
  const errs: FieldError[] = [];
  try {
    parseCronSchedule(schedule);
  } catch (e) {
    if (!(e instanceof CronParseError)) throw e;
    errs.push(fieldError.invalid('spec.schedule', schedule, e.message));
  }
  if (opts.allowTZInSchedule && schedule.includes('TZ') && opts.timeZone !== undefined) {
    errs.push(fieldError.invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
  } else if (!opts.allowTZInSchedule && schedule.includes('TZ')) {
    errs.push(fieldError.invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  return errs;
}

/** validateTimeZone: an explicit IANA name, not "Local", made of valid name components. */
export function validateTimeZone(tz: string | undefined): FieldError[] {
  if (tz === undefined) return [];
  const path = 'spec.timeZone';
  if (tz === '') return [fieldError.invalid(path, tz, 'timeZone must be nil or non-empty string')];
  for (const part of tz.split('/')) {
    if (part === '.' || part === '..' || part.startsWith('-') || !/^[A-Za-z.\-_0-9+]{1,14}$/.test(part)) {
      return [fieldError.invalid(path, tz, `unknown time zone ${tz}`)];
    }
  }
  if (tz.toLowerCase() === 'local') {
    return [fieldError.invalid(path, tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones')];
  }
  return isKnownTimeZone(tz) ? [] : [fieldError.invalid(path, tz, `unknown time zone ${tz}`)];
}

/** validateCronJobSpec (old = undefined on create). */
export function validateCronJobSpec(cj: CronJob, old: CronJob | undefined): FieldError[] {
  const spec = cj.spec;
  const errs: FieldError[] = [];
  if (!spec?.schedule) {
    errs.push(fieldError.required('spec.schedule'));
  } else {
    errs.push(...validateSchedule(spec.schedule, {
      allowTZInSchedule: old ? (old.spec?.schedule ?? '').includes('TZ') : false,
      timeZone: spec.timeZone,
    }));
  }
  if (spec?.startingDeadlineSeconds !== undefined) errs.push(...validateNonnegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  if (!old || old.spec?.timeZone !== spec?.timeZone) errs.push(...validateTimeZone(spec?.timeZone));
  const cp = spec?.concurrencyPolicy ?? '';
  if (cp === '') errs.push(fieldError.required('spec.concurrencyPolicy'));
  else if (!['Allow', 'Forbid', 'Replace'].includes(cp)) errs.push(fieldError.notSupported('spec.concurrencyPolicy', cp, ['Allow', 'Forbid', 'Replace']));
  const jt = spec?.jobTemplate?.spec;
  errs.push(...validateJobSpecFields(jt, 'spec.jobTemplate.spec'));
  if (jt?.selector) errs.push(fieldError.invalid('spec.jobTemplate.spec.selector', jt.selector, '`selector` will be auto-generated'));
  if (jt?.manualSelector === true) errs.push(fieldError.notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
  if (spec?.successfulJobsHistoryLimit !== undefined) errs.push(...validateNonnegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  if (spec?.failedJobsHistoryLimit !== undefined) errs.push(...validateNonnegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  return errs;
}

/** The batch/v1 CronJob kind. */
export const cronJobs = defineResource<CronJob>({
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  subresources: { status: true },
  defaults: defaultCronJob,
  validate: (cj) => {
    const errs = validateObjectMeta(cj.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' });
    errs.push(...validateCronJobSpec(cj, undefined));
    // The controller appends an 11-character suffix to make Job names, which are limited to 63.
    const name = cj.metadata?.name ?? '';
    if (name.length > 52) errs.push(fieldError.invalid('metadata.name', name, 'must be no more than 52 characters'));
    return errs;
  },
  validateUpdate: (cj, old) => [
    ...validateObjectMetaUpdate(cj.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
  ],
  strategy: {
    prepareForCreate: (cj) => {
      setField(cj, 'status', {});
      initGeneration(cj.metadata);
    },
    prepareForUpdate: (cj, old) => {
      setField(cj, 'status', old.status);
      bumpGenerationIf(!deepEqual(cj.spec, old.spec), cj.metadata, old.metadata);
    },
    prepareForStatusUpdate: (cj, old) => {
      cj.spec = old.spec;
    },
    generation: true,
  },
  columns: [
    { name: 'Schedule', type: 'string', description: 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.', cell: (cj) => cj.spec?.schedule ?? '' },
    { name: 'Timezone', type: 'string', description: 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.', cell: (cj) => cj.spec?.timeZone ?? '<none>' },
    { name: 'Suspend', type: 'boolean', description: 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.', cell: (cj) => (cj.spec?.suspend === undefined ? '<unset>' : cj.spec.suspend ? 'True' : 'False') },
    { name: 'Active', type: 'integer', description: 'A list of pointers to currently running jobs.', cell: (cj) => (cj.status?.active ?? []).length },
    { name: 'Last Schedule', type: 'string', description: 'Information when was the last time the job was successfully scheduled.', cell: (cj, now) => (cj.status?.lastScheduleTime ? translateTimestampSince(cj.status.lastScheduleTime, now) : '<none>') },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (cj, now) => translateTimestampSince(cj.metadata?.creationTimestamp, now) },
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (cj) => containerCells(cj.spec?.jobTemplate?.spec?.template?.spec?.containers).names },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (cj) => containerCells(cj.spec?.jobTemplate?.spec?.template?.spec?.containers).images },
    { name: 'Selector', type: 'string', priority: 1, description: 'A label query over pods that should match the pod count.', cell: (cj) => formatSelectorCell(cj.spec?.jobTemplate?.spec?.selector) },
  ],
  examples: [
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'hello', namespace: 'default' },
      spec: {
        schedule: '*/5 * * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: { restartPolicy: 'OnFailure', containers: [{ name: 'hello', image: 'busybox:1.36', command: ['date'] }] },
            },
          },
        },
      },
    },
  ],
});
