/**
 * Job conditions and finished-state helpers shared by the Job, CronJob and TTL-after-finished controllers
 * (pkg/controller/job/util and the condition helpers of job_controller.go).
 */
import type { Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import { formatRFC3339 } from '../../api/meta/time.ts';

/** batch.JobTrackingFinalizer: kept on a Job's pods until the controller has counted them. */
export const jobTrackingFinalizer = 'batch.kubernetes.io/job-tracking';

/** Job condition reasons (batch.JobReason*). */
export const jobReasons = {
  podFailurePolicy: 'PodFailurePolicy',
  backoffLimitExceeded: 'BackoffLimitExceeded',
  deadlineExceeded: 'DeadlineExceeded',
  maxFailedIndexesExceeded: 'MaxFailedIndexesExceeded',
  failedIndexes: 'FailedIndexes',
  successPolicy: 'SuccessPolicy',
} as const;

/** The condition of `type`, or undefined. */
export function findJobCondition(job: Job, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

/** IsJobFinished / FinishedCondition: the Complete or Failed condition that is True, if any. */
export function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** IsJobFinished. */
export function isJobFinished(job: Job): boolean {
  return finishedCondition(job) !== undefined;
}

/** IsJobSucceeded. */
export function isJobSucceeded(job: Job): boolean {
  return job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
}

/** newCondition: a condition stamped `nowMs` (probe and transition time). */
export function newJobCondition(type: string, status: 'True' | 'False', reason: string, message: string, nowMs: number): JobCondition {
  const t = formatRFC3339(nowMs);
  const c: JobCondition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/**
 * ensureJobConditionStatus: sets the condition of `type` (replacing it when status, reason or message differ);
 * a False condition is never added from nothing. Returns whether the list changed.
 */
export function ensureJobCondition(list: JobCondition[], c: { type: string; status: 'True' | 'False'; reason: string; message: string }, nowMs: number): boolean {
  const i = list.findIndex((x) => x.type === c.type);
  if (i >= 0) {
    const cur = list[i]!;
    if (cur.status !== c.status || (cur.reason ?? '') !== c.reason || (cur.message ?? '') !== c.message) {
      list[i] = newJobCondition(c.type, c.status, c.reason, c.message, nowMs);
      return true;
    }
    return false;
  }
  if (c.status === 'False') return false;
  list.push(newJobCondition(c.type, c.status, c.reason, c.message, nowMs));
  return true;
}
