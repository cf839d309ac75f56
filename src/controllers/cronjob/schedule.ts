/**
 * The CronJob controller's pure scheduling arithmetic (pkg/controller/cronjob/utils.go): the most recent unmet
 * schedule time, the number of missed schedules, the requeue delay, job names and the Job built from the template.
 */
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { CronSchedule } from '../../api/batch/v1/cron-schedule.ts';
import { nextScheduleTime, parseCronSchedule } from '../../api/batch/v1/cron-schedule.ts';
import { timeMs } from '../common/pods.ts';
import { newControllerRef } from '../common/controller-ref.ts';

/** nextScheduleDelta: requeues are padded this much for clock skew. */
export const nextScheduleDeltaMs = 100;
/** batch.CronJobScheduledTimestampAnnotation. */
export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** How many schedules were missed (missedSchedulesType). */
export type MissedSchedules = 'none' | 'few' | 'many';

/** A parsed schedule with the time zone it runs in. */
export interface ZonedSchedule {
  schedule: CronSchedule;
  timeZone?: string;
}

/** Schedule.Next in the CronJob's zone. */
export function nextAfter(s: ZonedSchedule, after: number): number {
  return nextScheduleTime(s.schedule, after, { timeZone: s.timeZone });
}

/** formatSchedule + cron.ParseStandard: the schedule in spec.timeZone unless the schedule names TZ itself. */
export function cronJobSchedule(cj: CronJob): ZonedSchedule {
  const spec = cj.spec?.schedule ?? '';
  const schedule = parseCronSchedule(spec);
  if (spec.includes('TZ')) return { schedule };
  return { schedule, timeZone: cj.spec?.timeZone ?? undefined };
}

/** The result of mostRecentScheduleTime. */
export interface MostRecent {
  /** Last schedule time or creation time (or the starting deadline window start). */
  earliest: number;
  /** The most recent schedule time not after now, if any. */
  mostRecent?: number;
  missed: MissedSchedules;
}

/**
 * mostRecentScheduleTime: from the last schedule time (or creation), the most recent time a Job should have been
 * created by `now`, and whether schedules were missed (more than one: few, more than 100: many). Throws when two
 * consecutive schedule times are less than a second apart (a schedule that names an impossible date).
 */
export function mostRecentScheduleTime(cj: CronJob, now: number, s: ZonedSchedule, opts: { includeStartingDeadline: boolean }): MostRecent {
  let earliest = timeMs(cj.metadata?.creationTimestamp);
  if (cj.status?.lastScheduleTime) earliest = timeMs(cj.status.lastScheduleTime);
  const sds = cj.spec?.startingDeadlineSeconds;
  if (opts.includeStartingDeadline && sds !== undefined && sds !== null) {
    const deadline = now - sds * 1000;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = nextAfter(s, earliest);
  const t2 = nextAfter(s, t1);
  if (now < t1) return { earliest, missed: 'none' };
  if (now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error('time difference between two schedules is less than 1 second');
  const elapsed = Math.floor((now - t1) / 1000);
  const missedCount = Math.floor(elapsed / between) + 1;
  let mostRecent = Math.floor(t1 / 1000) * 1000 + (missedCount - 1) * between * 1000;
  const missed: MissedSchedules = missedCount > 100 ? 'many' : missedCount > 1 ? 'few' : 'none';
  // Schedules with gaps (some weekdays only) may have slots after the estimate: walk them.
  for (let t = nextAfter(s, mostRecent); t <= now; t = nextAfter(s, t)) mostRecent = t;
  return { earliest, mostRecent, missed };
}

/** nextScheduleTimeDuration: how long until the next schedule after the most recent one, plus 100 ms. */
export function nextScheduleDelay(cj: CronJob, now: number, s: ZonedSchedule): number {
  let base: number;
  try {
    const r = mostRecentScheduleTime(cj, now, s, { includeStartingDeadline: false });
    base = r.mostRecent ?? (r.missed === 'none' ? r.earliest : now);
  } catch {
    base = now;
  }
  return nextAfter(s, base) + nextScheduleDeltaMs - now;
}

/** getJobName: `<cronjob>-<scheduled time in minutes since the epoch>`. */
export function jobNameFor(cj: CronJob, scheduledMs: number): string {
  return `${cj.metadata?.name ?? ''}-${Math.floor(scheduledMs / 60_000)}`;
}

/** The scheduled time as RFC 3339 in `timeZone` (with its offset), as Go formats time.RFC3339 in a location. */
export function formatInZone(ms: number, timeZone: string | undefined): string {
  const whole = Math.floor(ms / 1000) * 1000;
  if (!timeZone || timeZone === 'UTC' || timeZone === 'Etc/UTC') return new Date(whole).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(whole));
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '00';
  const wallUtc = Date.UTC(Number(get('year')), Number(get('month')) - 1, Number(get('day')), Number(get('hour')), Number(get('minute')), Number(get('second')));
  const offsetMin = Math.round((wallUtc - whole) / 60_000);
  const wall = `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}`;
  if (offsetMin === 0) return `${wall}Z`;
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** getJobFromTemplate2: the Job for one scheduled time (labels, annotations + scheduled timestamp, controllerRef, spec). */
export function jobFromTemplate(cj: CronJob, scheduledMs: number): Job {
  const t = cj.spec?.jobTemplate;
  const annotations: Record<string, string> = { ...(t?.metadata?.annotations ?? {}) };
  annotations[scheduledTimestampAnnotation] = formatInZone(scheduledMs, cj.spec?.timeZone ?? undefined);
  const job: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj, scheduledMs),
      namespace: cj.metadata?.namespace,
      annotations,
      ownerReferences: [newControllerRef(cj, { apiVersion: 'batch/v1', kind: 'CronJob' })],
    },
    spec: structuredClone(t?.spec ?? { template: {} }),
  };
  const labels = t?.metadata?.labels;
  if (labels && Object.keys(labels).length > 0) job.metadata!.labels = { ...labels };
  return job;
}

/** byJobStartTime: jobs without a start time last, then by start time, then by name. */
export function byJobStartTime(a: Job, b: Job): number {
  const sa = a.status?.startTime;
  const sb = b.status?.startTime;
  if (!sa && sb) return 1;
  if (sa && !sb) return -1;
  const d = timeMs(sa) - timeMs(sb);
  if (d !== 0) return d;
  return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0;
}
