/**
 * Completion indexes of Indexed Jobs (pkg/controller/job/indexed_job_utils.go): ordered intervals parsed from and
 * printed as `status.completedIndexes` ("1,3-5,7"), the completion index annotation/label, the pending indexes to
 * start next, duplicated or out-of-range index pods to remove, and the per-index failure counts of
 * backoffLimitPerIndex.
 */
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';

/** batch.JobCompletionIndexAnnotation (also the label name with PodIndexLabel). */
export const completionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';
/** batch.JobIndexFailureCountAnnotation. */
export const indexFailureCountAnnotation = 'batch.kubernetes.io/job-index-failure-count';
/** batch.JobIndexIgnoredFailureCountAnnotation. */
export const indexIgnoredFailureCountAnnotation = 'batch.kubernetes.io/job-index-ignored-failure-count';
/** batch.JobCompletionIndexEnvName. */
export const completionIndexEnvName = 'JOB_COMPLETION_INDEX';
/** unknownCompletionIndex. */
export const unknownCompletionIndex = -1;

/** One closed interval of indexes. */
export interface Interval {
  first: number;
  last: number;
}

/** Disjoint, non-adjacent intervals in increasing order (orderedIntervals). */
export type OrderedIntervals = Interval[];

/** True for an Indexed Job. */
export function isIndexedJob(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

/** True when backoffLimitPerIndex is set. */
export function hasBackoffLimitPerIndex(job: Job): boolean {
  return job.spec?.backoffLimitPerIndex !== undefined && job.spec.backoffLimitPerIndex !== null;
}

/** getCompletionIndex: the pod's completion index annotation as a non-negative integer, or -1. */
export function completionIndexOf(pod: Pod): number {
  const v = pod.metadata?.annotations?.[completionIndexAnnotation];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return unknownCompletionIndex;
  const n = Number(v);
  return n < 0 || !Number.isSafeInteger(n) ? unknownCompletionIndex : n;
}

/** Total number of indexes in the intervals. */
export function totalIndexes(oi: OrderedIntervals): number {
  let n = 0;
  for (const iv of oi) n += iv.last - iv.first + 1;
  return n;
}

/** True when `ix` is in the intervals (binary search). */
export function hasIndex(oi: OrderedIntervals, ix: number): boolean {
  let lo = 0;
  let hi = oi.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const iv = oi[mid]!;
    if (ix < iv.first) hi = mid - 1;
    else if (ix > iv.last) lo = mid + 1;
    else return true;
  }
  return false;
}

/** orderedIntervals.String: "1,3-5,7". */
export function formatIndexes(oi: OrderedIntervals): string {
  return oi.map((iv) => (iv.first === iv.last ? String(iv.first) : `${iv.first}-${iv.last}`)).join(',');
}

/** withOrderedIndexes: the intervals with the (increasing) indexes added. */
export function withOrderedIndexes(oi: OrderedIntervals, newIndexes: number[]): OrderedIntervals {
  return mergeIntervals(oi, newIndexes.map((ix) => ({ first: ix, last: ix })));
}

/** merge: the union of two ordered interval lists. */
export function mergeIntervals(a: OrderedIntervals, b: OrderedIntervals): OrderedIntervals {
  const all = [...a, ...b].sort((x, y) => x.first - y.first);
  const out: OrderedIntervals = [];
  for (const iv of all) {
    const last = out[out.length - 1];
    if (last && iv.first <= last.last + 1) last.last = Math.max(last.last, iv.last);
    else out.push({ ...iv });
  }
  return out;
}

/**
 * parseIndexesFromString: the intervals of "1,3-5" below `completions`; malformed parts are skipped (upstream
 * logs them) and an interval crossing `completions` is cut.
 */
export function parseIndexes(s: string | undefined, completions: number): OrderedIntervals {
  const out: OrderedIntervals = [];
  if (!s) return out;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const first = Number(m[1]);
    let last = m[2] === undefined ? first : Number(m[2]);
    if (last < first || first >= completions) continue;
    last = Math.min(last, completions - 1);
    out.push({ first, last });
  }
  return mergeIntervals(out, []);
}

/** getIndexes: the valid completion indexes of the pods, sorted, duplicates kept. */
export function indexesOf(pods: Pod[]): number[] {
  return pods.map(completionIndexOf).filter((ix) => ix !== unknownCompletionIndex).sort((a, b) => a - b);
}

/**
 * firstPendingIndexes: up to `count` indexes below `completions` that are neither succeeded, nor held by an active
 * pod, nor failed, lowest first.
 */
export function firstPendingIndexes(opts: { activePods: Pod[]; succeeded: OrderedIntervals; failed?: OrderedIntervals; count: number; completions: number }): number[] {
  if (opts.count <= 0) return [];
  let nonPending = withOrderedIndexes(opts.succeeded, indexesOf(opts.activePods));
  if (opts.failed) nonPending = mergeIntervals(nonPending, opts.failed);
  const result: number[] = [];
  let candidate = 0;
  for (const iv of nonPending) {
    for (; candidate < opts.completions && result.length < opts.count && candidate < iv.first; candidate++) result.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < opts.completions && result.length < opts.count; candidate++) result.push(candidate);
  return result;
}

/** byCompletionIndex: pods without a valid index first, then by index. */
export function byCompletionIndex(a: Pod, b: Pod): number {
  return completionIndexOf(a) - completionIndexOf(b);
}

/**
 * appendDuplicatedIndexPodsForRemoval: of active pods, those to remove because their index is missing, out of range
 * or held by another pod too (all but the best-ranked one, `keepBest` ordering worst first), and those left.
 */
export function duplicatedIndexPods(pods: Pod[], completions: number, worstFirst: (a: Pod, b: Pod) => number): { rm: Pod[]; left: Pod[] } {
  const sorted = [...pods].sort(byCompletionIndex);
  const rm: Pod[] = [];
  const left: Pod[] = [];
  const groups = new Map<number, Pod[]>();
  for (const p of sorted) {
    const ix = completionIndexOf(p);
    if (ix === unknownCompletionIndex || ix >= completions) {
      rm.push(p);
      continue;
    }
    const g = groups.get(ix);
    if (g) g.push(p);
    else groups.set(ix, [p]);
  }
  for (const g of groups.values()) {
    if (g.length === 1) {
      left.push(g[0]!);
      continue;
    }
    g.sort(worstFirst);
    rm.push(...g.slice(0, -1));
    left.push(g[g.length - 1]!);
  }
  return { rm, left };
}

/** addCompletionIndexEnvVariables: JOB_COMPLETION_INDEX from the annotation in every (init) container lacking it. */
export function addCompletionIndexEnv(template: PodTemplateSpec): void {
  const spec = template.spec;
  if (!spec) return;
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    if ((c.env ?? []).some((e) => e.name === completionIndexEnvName)) continue;
    (c.env ??= []).push({ name: completionIndexEnvName, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${completionIndexAnnotation}']` } } });
  }
}

/** podGenerateNameWithIndex: `<job>-<index>-`, the job name cut so that the prefix stays within 58 characters. */
export function generateNameWithIndex(jobName: string, index: number): string {
  const append = `-${index}-`;
  let prefix = jobName + append;
  const maxGenerated = 63 - 5;
  if (prefix.length > maxGenerated) prefix = prefix.slice(0, maxGenerated - append.length) + append;
  return prefix;
}

function annotationInt(pod: Pod | undefined, key: string): number {
  const v = pod?.metadata?.annotations?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  return Number(v);
}

/** getIndexFailureCount: the pod's job-index-failure-count annotation (0 when absent or malformed). */
export function indexFailureCount(pod: Pod | undefined): number {
  return annotationInt(pod, indexFailureCountAnnotation);
}

/** getIndexAbsoluteFailureCount: counted plus ignored failures of the pod's index. */
export function indexAbsoluteFailureCount(pod: Pod | undefined): number {
  return annotationInt(pod, indexFailureCountAnnotation) + annotationInt(pod, indexIgnoredFailureCountAnnotation);
}

/** The ignored-failure count annotation. */
export function indexIgnoredFailureCount(pod: Pod | undefined): number {
  return annotationInt(pod, indexIgnoredFailureCountAnnotation);
}
