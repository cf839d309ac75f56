/**
 * The Job's failure and success rules as pure functions: podFailurePolicy matching (pod_failure_policy.go),
 * successPolicy matching (success_policy.go), and the pod-failure back-off (backoff_utils.go).
 */
import type { Job, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, SuccessPolicy } from 'kubernetes-types/batch/v1.js';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import type { OrderedIntervals } from './indexes.ts';
import { parseIndexes, totalIndexes } from './indexes.ts';
import { timeMs } from '../common/pods.ts';

/** A podFailurePolicy rule action. */
export type PodFailurePolicyAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

/** What matchPodFailurePolicy decided for one failed pod. */
export interface PodFailurePolicyMatch {
  /** Set when a FailJob rule matched: the Job's failure message. */
  failJobMessage?: string;
  /** False when an Ignore rule matched (the failure does not count towards backoffLimit). */
  countFailed: boolean;
  /** The action of the matching rule, if any. */
  action?: PodFailurePolicyAction;
}

function exitCodeMatches(code: number, req: PodFailurePolicyOnExitCodesRequirement): boolean {
  if (req.operator === 'In') return req.values.includes(code);
  if (req.operator === 'NotIn') return !req.values.includes(code);
  return false;
}

function matchingContainer(statuses: ContainerStatus[] | undefined, req: PodFailurePolicyOnExitCodesRequirement): ContainerStatus | undefined {
  for (const cs of statuses ?? []) {
    const term = cs.state?.terminated;
    // A container still terminating has no exit code to match; exit code 0 never matches.
    if (!term) continue;
    if (req.containerName !== undefined && req.containerName !== cs.name) continue;
    if (term.exitCode !== 0 && exitCodeMatches(term.exitCode, req)) return cs;
  }
  return undefined;
}

/** matchPodFailurePolicy: the first rule matching a failed pod (exit codes of containers, then init containers; or pod conditions). */
export function matchPodFailurePolicy(policy: PodFailurePolicy | undefined, pod: Pod): PodFailurePolicyMatch {
  if (!policy) return { countFailed: true };
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    const action = rule.action as PodFailurePolicyAction;
    if (rule.onExitCodes) {
      const cs = matchingContainer(pod.status?.containerStatuses, rule.onExitCodes) ?? matchingContainer(pod.status?.initContainerStatuses, rule.onExitCodes);
      if (!cs) continue;
      if (action === 'Ignore') return { countFailed: false, action };
      if (action === 'FailIndex' || action === 'Count') return { countFailed: true, action };
      if (action === 'FailJob') {
        return {
          failJobMessage: `Container ${cs.name} for pod ${ns}/${name} failed with exit code ${cs.state?.terminated?.exitCode ?? 0} matching ${action} rule at index ${index}`,
          countFailed: true,
          action,
        };
      }
    } else if (rule.onPodConditions) {
      const cond = (pod.status?.conditions ?? []).find((c) => rule.onPodConditions!.some((p) => p.type === c.type && (p.status ?? 'True') === c.status));
      if (!cond) continue;
      if (action === 'Ignore') return { countFailed: false, action };
      if (action === 'FailIndex' || action === 'Count') return { countFailed: true, action };
      if (action === 'FailJob') {
        return { failJobMessage: `Pod ${ns}/${name} has condition ${cond.type} matching ${action} rule at index ${index}`, countFailed: true, action };
      }
    }
  }
  return { countFailed: true };
}

/** JobReasonSuccessPolicy. */
export const successPolicyReason = 'SuccessPolicy';

function intersectionSize(a: OrderedIntervals, b: OrderedIntervals): number {
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const lo = Math.max(x.first, y.first);
    const hi = Math.min(x.last, y.last);
    if (lo <= hi) n += hi - lo + 1;
    if (x.last < y.last) i++;
    else j++;
  }
  return n;
}

/**
 * matchSuccessPolicy: "Matched rules at index <i>" for the first rule the succeeded indexes satisfy (all of its
 * succeededIndexes, or succeededCount of them, or succeededCount indexes overall), or undefined.
 */
export function matchSuccessPolicy(policy: SuccessPolicy | undefined, completions: number, succeeded: OrderedIntervals): string | undefined {
  if (!policy || succeeded.length === 0) return undefined;
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    if (rule.succeededIndexes !== undefined) {
      const required = parseIndexes(rule.succeededIndexes, completions);
      if (required.length === 0) continue;
      const contains = intersectionSize(required, succeeded);
      const need = rule.succeededCount ?? totalIndexes(required);
      if (contains >= need) return `Matched rules at index ${index}`;
    } else if (rule.succeededCount !== undefined && totalIndexes(succeeded) >= rule.succeededCount) {
      return `Matched rules at index ${index}`;
    }
  }
  return undefined;
}

/** DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const podFailureBackoffMs = { initial: 10_000, max: 600_000 } as const;

/**
 * getFinishedTime: when a pod finished — the latest container termination, else when Ready turned False, else
 * the deletion timestamp, else its creation (milliseconds).
 */
export function podFinishedTime(pod: Pod): number {
  let latest = 0;
  let any = false;
  for (const cs of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) {
    const term = cs.state?.terminated;
    if (!term) continue;
    any = true;
    const t = timeMs(term.finishedAt);
    if (t > latest) latest = t;
  }
  if (any && latest > 0) return latest;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'False' && ready.lastTransitionTime) return timeMs(ready.lastTransitionTime);
  if (pod.metadata?.deletionTimestamp) return timeMs(pod.metadata.deletionTimestamp);
  return timeMs(pod.metadata?.creationTimestamp);
}

/** A Job's failures since its last success (backoffRecord). */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** newBackoffRecord: the record after newly finished pods were seen (successes reset it). */
export function nextBackoffRecord(prev: BackoffRecord | undefined, newSucceeded: Pod[], newFailed: Pod[]): BackoffRecord {
  const rec: BackoffRecord = prev ? { ...prev } : { failuresAfterLastSuccess: 0 };
  const failedTimes = newFailed.map(podFinishedTime).sort((a, b) => a - b);
  if (newSucceeded.length === 0) {
    if (failedTimes.length === 0) return rec;
    rec.failuresAfterLastSuccess += failedTimes.length;
    rec.lastFailureTime = failedTimes[failedTimes.length - 1];
    return rec;
  }
  const lastSuccess = Math.max(...newSucceeded.map(podFinishedTime));
  const out: BackoffRecord = { failuresAfterLastSuccess: 0 };
  for (let i = failedTimes.length - 1; i >= 0; i--) {
    const t = failedTimes[i]!;
    if (t <= lastSuccess) break;
    out.lastFailureTime ??= t;
    out.failuresAfterLastSuccess++;
  }
  return out;
}

/** getRemainingTimeForFailuresCount: how long to wait before creating pods again (10 s doubling to 10 min). */
export function backoffRemainingMs(failures: number, lastFailureTime: number | undefined, nowMs: number): number {
  if (failures === 0 || lastFailureTime === undefined) return 0;
  let d: number = podFailureBackoffMs.initial;
  for (let i = 1; i < failures; i++) {
    d *= 2;
    if (d >= podFailureBackoffMs.max) {
      d = podFailureBackoffMs.max;
      break;
    }
  }
  const elapsed = nowMs - lastFailureTime;
  return d < elapsed ? 0 : d - elapsed;
}

/** isPodFailed: Failed, or (unless only failed pods are replaced) deleted before succeeding. */
export function isPodFailed(pod: Pod, job: Job): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

/** onlyReplaceFailedPods: podReplacementPolicy Failed, or a podFailurePolicy. */
export function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
}

/** pastBackoffLimitOnFailure: with restartPolicy OnFailure, container restarts of running/pending pods reach backoffLimit. */
export function pastBackoffLimitOnFailure(job: Job, pods: Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase !== 'Running' && phase !== 'Pending') continue;
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}
