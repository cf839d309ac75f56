/**
 * The Job controller (pkg/controller/job, 1.32 semantics): runs a Job's pods to completion — parallelism,
 * completions, NonIndexed and Indexed completion modes, backoffLimit with exponential pod-failure back-off,
 * backoffLimitPerIndex/maxFailedIndexes, activeDeadlineSeconds, podFailurePolicy, successPolicy, suspend,
 * podReplacementPolicy — and counts finished pods through the `batch.kubernetes.io/job-tracking` finalizer and
 * `status.uncountedTerminatedPods`, so that no pod is counted twice or lost. A finishing Job first gets the interim
 * SuccessCriteriaMet / FailureTarget condition, then Complete / Failed once no pod is terminating.
 */
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { logger } from '../../base/log.ts';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { jobs as jobsDef } from '../../api/batch/v1/job.ts';
import { pods as podsDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isNotFound, isTombstone, objectKey, splitKey, WorkQueue } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { claimObjects, controllerRefOf, newControllerRef } from '../common/controller-ref.ts';
import { Expectations } from '../common/expectations.ts';
import { deleteBefore, filterActivePods, isPodReady, timeMs } from '../common/pods.ts';
import type { OrderedIntervals } from './indexes.ts';
import {
  addCompletionIndexEnv, completionIndexAnnotation, completionIndexOf, duplicatedIndexPods, firstPendingIndexes, formatIndexes,
  generateNameWithIndex, hasBackoffLimitPerIndex, hasIndex, indexAbsoluteFailureCount, indexesOf, indexFailureCount,
  indexFailureCountAnnotation, indexIgnoredFailureCount, indexIgnoredFailureCountAnnotation, isIndexedJob, parseIndexes,
  totalIndexes, unknownCompletionIndex, withOrderedIndexes,
} from './indexes.ts';
import type { BackoffRecord } from './policy.ts';
import {
  backoffRemainingMs, isPodFailed, matchPodFailurePolicy, matchSuccessPolicy, nextBackoffRecord, onlyReplaceFailedPods,
  pastBackoffLimitOnFailure, podFinishedTime,
} from './policy.ts';
import { ensureJobCondition, findJobCondition, isJobFinished, jobReasons, jobTrackingFinalizer, newJobCondition } from './util.ts';

const log = logger('job-controller');
const gvk = { apiVersion: 'batch/v1', kind: 'Job' };

/** syncJobBatchPeriod: pod events and status-only Job updates are batched this long. */
export const syncJobBatchPeriodMs = 1000;
/** MaxUncountedPods: the most UIDs kept in status.uncountedTerminatedPods. */
export const maxUncountedPods = 500;
/** MaxPodCreateDeletePerSync. */
export const maxPodCreateDeletePerSync = 500;
/** batch.JobControllerName, the spec.managedBy value this controller handles (as does an unset one). */
export const jobControllerName = 'kubernetes.io/job-controller';

/** True when the pod still carries the tracking finalizer. */
export function hasTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(jobTrackingFinalizer) ?? false;
}

/** CountTerminatingPods: pods being deleted that have not reached a terminal phase. */
export function countTerminatingPods(pods: Pod[]): number {
  return pods.filter((p) => !!p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
}

/** The Job's pod template made into a pod to create (GetPodFromTemplate): labels, annotations, finalizers, spec. */
export function jobPodFromTemplate(job: Job, ref: OwnerReference, opts: { index?: number; failureCounts?: { failed: number; ignored: number } } = {}): Pod {
  const t = structuredClone(job.spec?.template ?? {});
  const index = opts.index ?? unknownCompletionIndex;
  if (isIndexedJob(job)) addCompletionIndexEnv(t);
  const finalizers = [...(t.metadata?.finalizers ?? [])];
  if (!finalizers.includes(jobTrackingFinalizer)) finalizers.push(jobTrackingFinalizer);
  const annotations: Record<string, string> = { ...(t.metadata?.annotations ?? {}) };
  const labels: Record<string, string> = { ...(t.metadata?.labels ?? {}) };
  const spec = t.spec ?? { containers: [] };
  const name = job.metadata?.name ?? '';
  let generateName = `${name}-`;
  if (index !== unknownCompletionIndex) {
    annotations[completionIndexAnnotation] = String(index);
    labels[completionIndexAnnotation] = String(index);
    spec.hostname = `${name}-${index}`;
    generateName = generateNameWithIndex(name, index);
    if (opts.failureCounts) {
      annotations[indexFailureCountAnnotation] = String(opts.failureCounts.failed);
      if (opts.failureCounts.ignored > 0) annotations[indexIgnoredFailureCountAnnotation] = String(opts.failureCounts.ignored);
    }
  }
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName, namespace: job.metadata?.namespace, labels, finalizers, ownerReferences: [ref] },
    spec,
  };
  if (Object.keys(annotations).length > 0) pod.metadata!.annotations = annotations;
  return pod;
}

/** Per-sync state (syncJobCtx). */
interface SyncCtx {
  job: Job;
  pods: Pod[];
  activePods: Pod[];
  finishedCondition?: JobCondition;
  succeeded: number;
  failed: number;
  prevSucceededIndexes: OrderedIntervals;
  succeededIndexes: OrderedIntervals;
  failedIndexes?: OrderedIntervals;
  newBackoffRecord: BackoffRecord;
  expectedRmFinalizers: Set<string>;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  podsWithDelayedDeletionPerIndex: Map<number, Pod>;
  terminating: number;
  ready: number;
  /** The earliest requeue the sync asks for. */
  requeueAfter?: number;
}

class JobController implements Controller {
  readonly name = 'job';
  readonly queue;
  readonly workers: number;
  private readonly orphanQueue: WorkQueue<string>;
  private readonly ctx: ControllerContext;
  private readonly jobLister: Lister<Job>;
  private readonly podLister: Lister<Pod>;
  private readonly jobClient: ResourceClient<Job>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations: Expectations;
  /** Pod UIDs whose finalizer removal was issued and not yet observed, per Job key. */
  private readonly finalizerExpectations = new Map<string, Set<string>>();
  private readonly backoff = new Map<string, BackoffRecord>();

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('job', ctx.clock);
    this.orphanQueue = newQueue('job_orphan_pod', ctx.clock);
    this.workers = ctx.workers;
    this.expectations = new Expectations({ clock: ctx.clock });
    const jobInf = ctx.informers.informerFor<Job>(jobsDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    this.jobLister = jobInf.lister();
    this.podLister = podInf.lister();
    this.jobClient = ctx.client.resource<Job>(jobsDef);
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.recorder = ctx.recorder('job-controller');

    jobInf.addEventHandler({
      onAdd: (j) => this.queue.add(objectKey(j)),
      onUpdate: (old, cur) => this.updateJob(old, cur),
      onDelete: (o) => {
        const j = isTombstone(o) ? o.obj : o;
        this.queue.add(objectKey(j));
        this.cleanupPodFinalizers(j);
      },
    });
    podInf.addEventHandler({
      onAdd: (p) => this.addPod(p),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (o) => this.deletePod(isTombstone(o) ? o.obj : o, true),
    });
  }

  // --- event handlers (enqueue only) ------------------------------------------------------------------------

  private batched(job: Job): void {
    this.queue.addAfter(objectKey(job), syncJobBatchPeriodMs);
  }

  private updateJob(old: Job, cur: Job): void {
    if (cur.metadata?.generation === old.metadata?.generation) this.batched(cur);
    else this.queue.add(objectKey(cur));
    if (isJobFinished(cur)) this.cleanupPodFinalizers(cur);
    const start = cur.status?.startTime;
    const ads = cur.spec?.activeDeadlineSeconds;
    if (start && ads !== undefined && ads !== old.spec?.activeDeadlineSeconds) {
      this.queue.addAfter(objectKey(cur), ads * 1000 - (this.ctx.clock.now() - timeMs(start)));
    }
  }

  private resolve(namespace: string, ref: OwnerReference | undefined): Job | undefined {
    if (!ref || ref.kind !== 'Job') return undefined;
    const j = this.jobLister.get(namespace, ref.name);
    return j && j.metadata?.uid === ref.uid ? j : undefined;
  }

  private jobsSelecting(pod: Pod): Job[] {
    const labels = pod.metadata?.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.jobLister.list(pod.metadata?.namespace ?? '').filter((j) => {
      try {
        const sel = labelSelectorFromMeta(j.spec?.selector);
        return sel.length > 0 && matchesLabels(sel, labels);
      } catch {
        return false;
      }
    });
  }

  private finalizerRemovalObserved(jobKey: string, uid: string | undefined): void {
    if (uid) this.finalizerExpectations.get(jobKey)?.delete(uid);
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      this.deletePod(pod, false);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const job = this.resolve(pod.metadata?.namespace ?? '', ref);
      if (!job) return;
      this.expectations.creationObserved(objectKey(job));
      this.batched(job);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.orphanQueue.add(objectKey(pod));
    for (const j of this.jobsSelecting(pod)) this.batched(j);
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    if (cur.metadata?.deletionTimestamp) {
      this.deletePod(cur, false);
      return;
    }
    const ns = cur.metadata?.namespace ?? '';
    const finalizerRemoved = !hasTrackingFinalizer(cur);
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const j = this.resolve(ns, oldRef);
      if (j) {
        if (finalizerRemoved) this.finalizerRemovalObserved(objectKey(j), cur.metadata?.uid);
        this.batched(j);
      }
    }
    if (curRef) {
      const j = this.resolve(ns, curRef);
      if (!j) return;
      if (finalizerRemoved) this.finalizerRemovalObserved(objectKey(j), cur.metadata?.uid);
      this.batched(j);
      return;
    }
    if (hasTrackingFinalizer(cur)) this.orphanQueue.add(objectKey(cur));
    const labelChanged = JSON.stringify(cur.metadata?.labels ?? {}) !== JSON.stringify(old.metadata?.labels ?? {});
    if (labelChanged || refChanged) for (const j of this.jobsSelecting(cur)) this.batched(j);
  }

  private deletePod(pod: Pod, final: boolean): void {
    const ref = controllerRefOf(pod);
    const hasFinalizer = hasTrackingFinalizer(pod);
    if (!ref) {
      if (hasFinalizer) this.orphanQueue.add(objectKey(pod));
      return;
    }
    const job = this.resolve(pod.metadata?.namespace ?? '', ref);
    if (!job || isJobFinished(job)) {
      if (hasFinalizer) this.orphanQueue.add(objectKey(pod));
      return;
    }
    const key = objectKey(job);
    this.expectations.deletionObserved(key, objectKey(pod));
    if (final || !hasFinalizer) this.finalizerRemovalObserved(key, pod.metadata?.uid);
    this.batched(job);
  }

  private cleanupPodFinalizers(job: Job): void {
    for (const p of this.podLister.list(job.metadata?.namespace ?? '')) {
      if (controllerRefOf(p)?.uid === job.metadata?.uid && hasTrackingFinalizer(p)) this.orphanQueue.add(objectKey(p));
    }
  }

  /** The orphan-pod worker: removes the tracking finalizer from pods no unfinished Job owns. */
  async run(signal: AbortSignal): Promise<void> {
    const stop = (): void => this.orphanQueue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (;;) {
        const { item, shutdown } = await this.orphanQueue.get();
        if (shutdown) return;
        try {
          await this.syncOrphanPod(item);
          this.orphanQueue.forget(item);
        } catch (e) {
          if (!signal.aborted) {
            log.warn('orphan pod sync failed', { pod: item, err: e });
            this.orphanQueue.addRateLimited(item);
          }
        } finally {
          this.orphanQueue.done(item);
        }
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  private async syncOrphanPod(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.podLister.get(namespace, name);
    if (!pod) return;
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolve(namespace, ref);
      if (job && job.spec?.managedBy && job.spec.managedBy !== jobControllerName) return;
      if (job && !isJobFinished(job)) return;
    }
    await this.removeFinalizer(pod).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** removeTrackingFinalizerPatch as a JSON patch guarded by a test of the list entry (strategic merge not needed). */
  private async removeFinalizer(pod: Pod): Promise<void> {
    const fins = pod.metadata?.finalizers ?? [];
    const i = fins.indexOf(jobTrackingFinalizer);
    if (i < 0) return;
    await this.podClient.patch(pod.metadata?.name ?? '', [
      { op: 'test', path: '/metadata/uid', value: pod.metadata?.uid },
      { op: 'test', path: `/metadata/finalizers/${i}`, value: jobTrackingFinalizer },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ], { type: 'json', namespace: pod.metadata?.namespace });
  }

  // --- sync -------------------------------------------------------------------------------------------------

  private event(job: Job, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ ...job, ...gvk }, { type, reason, message });
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const shared = this.jobLister.get(namespace, name);
    if (!shared) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoff.delete(key);
      return;
    }
    if (shared.spec?.managedBy && shared.spec.managedBy !== jobControllerName) return;
    const job = structuredClone(shared);
    if (isJobFinished(job)) {
      this.backoff.delete(key);
      return;
    }
    const mode = job.spec?.completionMode;
    if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.event(job, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    const status: JobStatus = (job.status ??= {});
    status.uncountedTerminatedPods ??= {};
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    const activePods = filterActivePods(pods);
    const uncounted = status.uncountedTerminatedPods;
    const c: SyncCtx = {
      job,
      pods,
      activePods,
      succeeded: 0,
      failed: 0,
      prevSucceededIndexes: [],
      succeededIndexes: [],
      newBackoffRecord: { failuresAfterLastSuccess: 0 },
      expectedRmFinalizers: new Set(this.finalizerExpectations.get(key) ?? []),
      uncountedSucceeded: new Set(uncounted.succeeded ?? []),
      uncountedFailed: new Set(uncounted.failed ?? []),
      podsWithDelayedDeletionPerIndex: new Map(),
      terminating: countTerminatingPods(pods),
      ready: activePods.filter(isPodReady).length,
    };
    let active = activePods.length;
    const newSucceeded = this.validPods(c, c.uncountedSucceeded, (p) => p.status?.phase === 'Succeeded');
    const newFailed = this.validPods(c, c.uncountedFailed, (p) => isPodFailed(p, job));
    c.succeeded = (status.succeeded ?? 0) + newSucceeded.length + c.uncountedSucceeded.size;
    const nonIgnored = job.spec?.podFailurePolicy ? newFailed.filter((p) => matchPodFailurePolicy(job.spec?.podFailurePolicy, p).countFailed).length : newFailed.length;
    c.failed = (status.failed ?? 0) + nonIgnored + c.uncountedFailed.size;
    const suspended = job.spec?.suspend === true;
    if (!status.startTime && !suspended) status.startTime = formatRFC3339(this.now());
    c.newBackoffRecord = nextBackoffRecord(this.backoff.get(key), newSucceeded, newFailed);

    let manageError: unknown;
    const exceedsBackoffLimit = c.failed > (job.spec?.backoffLimit ?? 6);
    c.finishedCondition = findJobCondition(job, 'SuccessCriteriaMet');
    if (!c.finishedCondition) {
      const target = findJobCondition(job, 'FailureTarget');
      if (target?.status === 'True') {
        c.finishedCondition = newJobCondition('Failed', 'True', target.reason ?? '', target.message ?? '', this.now());
      } else {
        const msg = this.failJobMessage(job, pods);
        if (msg !== undefined) c.finishedCondition = newJobCondition('FailureTarget', 'True', jobReasons.podFailurePolicy, msg, this.now());
      }
    }
    if (!c.finishedCondition) {
      if (exceedsBackoffLimit || pastBackoffLimitOnFailure(job, pods)) {
        c.finishedCondition = this.failure(jobReasons.backoffLimitExceeded, 'Job has reached the specified backoff limit');
      } else if (this.pastActiveDeadline(job)) {
        c.finishedCondition = this.failure(jobReasons.deadlineExceeded, 'Job was active longer than specified deadline');
      } else if (job.spec?.activeDeadlineSeconds !== undefined && !suspended && status.startTime) {
        this.requeue(c, job.spec.activeDeadlineSeconds * 1000 - (this.now() - timeMs(status.startTime)));
      }
    }
    if (isIndexedJob(job)) {
      const completions = job.spec?.completions ?? 0;
      c.prevSucceededIndexes = parseIndexes(status.completedIndexes, completions);
      const newIdx = [...new Set(pods.filter((p) => p.status?.phase === 'Succeeded' && hasTrackingFinalizer(p)).map(completionIndexOf)
        .filter((ix) => ix !== unknownCompletionIndex && ix < completions))].sort((a, b) => a - b);
      c.succeededIndexes = withOrderedIndexes(c.prevSucceededIndexes, newIdx);
      c.succeeded = totalIndexes(c.succeededIndexes);
      if (hasBackoffLimitPerIndex(job)) {
        c.failedIndexes = this.calculateFailedIndexes(job, pods);
        if (!c.finishedCondition) {
          const failedTotal = totalIndexes(c.failedIndexes);
          if (job.spec?.maxFailedIndexes !== undefined && failedTotal > job.spec.maxFailedIndexes) {
            c.finishedCondition = this.failure(jobReasons.maxFailedIndexesExceeded, 'Job has exceeded the specified maximal number of failed indexes');
          } else if (failedTotal > 0 && failedTotal + totalIndexes(c.succeededIndexes) >= completions) {
            c.finishedCondition = this.failure(jobReasons.failedIndexes, 'Job has failed indexes');
          }
        }
        c.podsWithDelayedDeletionPerIndex = this.podsWithDelayedDeletionPerIndex(c);
      }
      if (!c.finishedCondition) {
        const msg = matchSuccessPolicy(job.spec?.successPolicy, completions, c.succeededIndexes);
        if (msg !== undefined) c.finishedCondition = newJobCondition('SuccessCriteriaMet', 'True', jobReasons.successPolicy, msg, this.now());
      }
    }
    let suspendCondChanged = false;
    if (c.finishedCondition) {
      const { deleted, deletedReady, error } = await this.deleteActivePods(job, c.activePods);
      if (deleted !== active || !satisfied) c.finishedCondition = undefined;
      active -= deleted;
      c.terminating += deleted;
      c.ready -= deletedReady;
      manageError = error;
    } else {
      let manageCalled = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        try {
          active = await this.manageJob(job, c, key);
        } catch (e) {
          manageError = e;
          active = c.activePods.length;
        }
        manageCalled = true;
      }
      const completions = job.spec?.completions;
      const complete = completions === undefined || completions === null ? c.succeeded > 0 && active === 0 : c.succeeded >= completions && active === 0;
      if (complete) {
        c.finishedCondition = newJobCondition('SuccessCriteriaMet', 'True', '', '', this.now());
      } else if (manageCalled) {
        const conds = (status.conditions ??= []);
        if (suspended) {
          if (ensureJobCondition(conds, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, this.now())) {
            suspendCondChanged = true;
            this.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (ensureJobCondition(conds, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, this.now())) {
          suspendCondChanged = true;
          this.event(job, 'Normal', 'Resumed', 'Job resumed');
          // activeDeadlineSeconds counts continuous activity: resuming restarts the clock.
          status.startTime = formatRFC3339(this.now());
        }
        if (conds.length === 0) delete status.conditions;
      }
    }
    const needsStatusUpdate = suspendCondChanged || active !== (status.active ?? 0) || c.ready !== status.ready || c.terminating !== status.terminating;
    status.active = active;
    status.ready = c.ready;
    status.terminating = c.terminating;
    await this.trackJobStatusAndRemoveFinalizers(c, key, needsStatusUpdate);
    if (manageError) throw manageError;
    return c.requeueAfter !== undefined ? { requeueAfter: c.requeueAfter } : undefined;
  }

  private requeue(c: SyncCtx, ms: number): void {
    const d = Math.max(0, ms);
    c.requeueAfter = c.requeueAfter === undefined ? d : Math.min(c.requeueAfter, d);
  }

  /** newFailureCondition with the delayed terminal condition (JobPodReplacementPolicy on): FailureTarget. */
  private failure(reason: string, message: string): JobCondition {
    return newJobCondition('FailureTarget', 'True', reason, message, this.now());
  }

  private pastActiveDeadline(job: Job): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = job.status?.startTime;
    if (ads === undefined || ads === null || !start || job.spec?.suspend === true) return false;
    return this.now() - timeMs(start) >= ads * 1000;
  }

  private failJobMessage(job: Job, pods: Pod[]): string | undefined {
    if (!job.spec?.podFailurePolicy) return undefined;
    for (const p of pods) {
      if (!isPodFailed(p, job)) continue;
      const m = matchPodFailurePolicy(job.spec.podFailurePolicy, p);
      if (m.failJobMessage !== undefined) return m.failJobMessage;
    }
    return undefined;
  }

  /** getValidPodsWithFilter: pods still carrying the finalizer, not yet uncounted, with a valid index for Indexed Jobs. */
  private validPods(c: SyncCtx, uncounted: Set<string>, filter: (p: Pod) => boolean): Pod[] {
    const completions = c.job.spec?.completions ?? 0;
    return c.pods.filter((p) => {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || uncounted.has(uid) || c.expectedRmFinalizers.has(uid)) return false;
      if (isIndexedJob(c.job)) {
        const ix = completionIndexOf(p);
        if (ix === unknownCompletionIndex || ix >= completions) return false;
      }
      return filter(p);
    });
  }

  private isIndexFailed(job: Job, pod: Pod): boolean {
    let counted = false;
    if (isPodFailed(pod, job)) {
      if (job.spec?.podFailurePolicy) {
        const m = matchPodFailurePolicy(job.spec.podFailurePolicy, pod);
        if (m.action === 'FailIndex') return true;
        counted = m.countFailed;
      } else {
        counted = true;
      }
    }
    return counted && indexFailureCount(pod) >= (job.spec?.backoffLimitPerIndex ?? 0);
  }

  private calculateFailedIndexes(job: Job, pods: Pod[]): OrderedIntervals {
    const completions = job.spec?.completions ?? 0;
    const prev = parseIndexes(job.status?.failedIndexes ?? undefined, completions);
    const fresh = new Set<number>();
    for (const p of pods) {
      const ix = completionIndexOf(p);
      if (ix !== unknownCompletionIndex && ix < completions && hasTrackingFinalizer(p) && this.isIndexFailed(job, p)) fresh.add(ix);
    }
    return withOrderedIndexes(prev, [...fresh].sort((a, b) => a - b));
  }

  /** getPodsWithDelayedDeletionPerIndex: the last failed pod of each pending index, kept to carry its failure count. */
  private podsWithDelayedDeletionPerIndex(c: SyncCtx): Map<number, Pod> {
    const activeIdx = new Set(indexesOf(c.activePods));
    const out = new Map<number, Pod>();
    const completions = c.job.spec?.completions ?? 0;
    this.validPods(c, new Set(), (p) => {
      if (!isPodFailed(p, c.job)) return false;
      const ix = completionIndexOf(p);
      if (ix === unknownCompletionIndex || ix >= completions) return false;
      if (hasIndex(c.succeededIndexes, ix) || (c.failedIndexes && hasIndex(c.failedIndexes, ix)) || activeIdx.has(ix)) return false;
      const last = out.get(ix);
      if (!last || (indexAbsoluteFailureCount(last) <= indexAbsoluteFailureCount(p) && podFinishedTime(p) >= podFinishedTime(last))) out.set(ix, p);
      return false;
    });
    return out;
  }

  /** getPodsForJob: the pods this Job owns after adoption/release; adopted pods get the tracking finalizer too. */
  private async podsForJob(job: Job): Promise<Pod[]> {
    const ns = job.metadata?.namespace ?? '';
    let sel: ReturnType<typeof labelSelectorFromMeta>;
    try {
      sel = labelSelectorFromMeta(job.spec?.selector);
    } catch (e) {
      throw new Error(`couldn't convert Job selector: ${e instanceof Error ? e.message : String(e)}`);
    }
    const all = this.podLister.list(ns);
    const claimed = await claimObjects<Pod>(all, {
      owner: job,
      gvk,
      match: (p) => sel.length > 0 && matchesLabels(sel, p.metadata?.labels),
      client: this.podClient,
      canAdopt: async () => {
        const fresh = await this.jobClient.get(job.metadata?.name ?? '', { namespace: ns });
        if (fresh.metadata?.uid !== job.metadata?.uid) throw new Error(`original Job ${ns}/${job.metadata?.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${job.metadata?.uid}`);
        if (fresh.metadata?.deletionTimestamp) throw new Error(`${ns}/${job.metadata?.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
    const out: Pod[] = [];
    for (const p of claimed) {
      if (hasTrackingFinalizer(p) || this.podLister.get(ns, p.metadata?.name ?? '')?.metadata?.ownerReferences?.some((r) => r.uid === job.metadata?.uid)) {
        out.push(p);
        continue;
      }
      // Adopted just now: track it like the pods this controller created.
      try {
        out.push(await this.podClient.patch(p.metadata?.name ?? '', [
          { op: 'test', path: '/metadata/uid', value: p.metadata?.uid },
          p.metadata?.finalizers
            ? { op: 'add', path: '/metadata/finalizers/-', value: jobTrackingFinalizer }
            : { op: 'add', path: '/metadata/finalizers', value: [jobTrackingFinalizer] },
        ], { type: 'json', namespace: ns }));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return out;
  }

  /** deleteActivePods: DELETE every active pod, keeping finalizers (they are removed once counted). */
  private async deleteActivePods(job: Job, pods: Pod[]): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(pods.map(async (p) => {
      try {
        await this.podClient.delete(p.metadata?.name ?? '', { namespace: job.metadata?.namespace });
        deleted++;
      } catch (e) {
        if (isNotFound(e)) deleted++;
        else error ??= e;
      }
      if (isPodReady(p)) deletedReady++;
    }));
    return { deleted, deletedReady, error };
  }

  /** deleteJobPods: remove the finalizer, then DELETE; expectations lowered for failures. */
  private async deleteJobPods(job: Job, key: string, pods: Pod[]): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(pods.map(async (p) => {
      try {
        await this.removeFinalizer(p);
        await this.podClient.delete(p.metadata?.name ?? '', { namespace: job.metadata?.namespace });
        deleted++;
      } catch (e) {
        this.expectations.deletionObserved(key, objectKey(p));
        if (isNotFound(e)) deleted++;
        else error ??= e;
      }
      if (isPodReady(p)) deletedReady++;
    }));
    return { deleted, deletedReady, error };
  }

  /** activePodsForRemoval: duplicated/invalid index pods first, then the lowest-ranked of the rest. */
  private activePodsForRemoval(job: Job, pods: Pod[], rmAtLeast: number): Pod[] {
    const now = this.now();
    const worstFirst = (a: Pod, b: Pod): number => (deleteBefore(a, b, { rankA: 0, rankB: 0, nowMs: now }) ? -1 : deleteBefore(b, a, { rankA: 0, rankB: 0, nowMs: now }) ? 1 : 0);
    let rm: Pod[] = [];
    let left = pods;
    if (isIndexedJob(job)) ({ rm, left } = duplicatedIndexPods(pods, job.spec?.completions ?? 0, worstFirst));
    if (rm.length < rmAtLeast) rm = [...rm, ...[...left].sort(worstFirst).slice(0, rmAtLeast - rm.length)];
    return rm;
  }

  /** manageJob: deletes or creates pods towards the wanted number of active pods; returns the new active count. */
  private async manageJob(job: Job, c: SyncCtx, key: string): Promise<number> {
    let active = c.activePods.length;
    const parallelism = job.spec?.parallelism ?? 1;
    if (job.spec?.suspend === true) {
      const victims = this.activePodsForRemoval(job, c.activePods, active);
      this.expectations.expectDeletions(key, victims.map((p) => objectKey(p)));
      const r = await this.deleteJobPods(job, key, victims);
      active -= r.deleted;
      c.terminating += r.deleted;
      c.ready -= r.deletedReady;
      if (r.error) throw r.error;
      return active;
    }
    let wantActive: number;
    const completions = job.spec?.completions;
    if (completions === undefined || completions === null) {
      wantActive = c.succeeded > 0 ? active : parallelism;
    } else {
      wantActive = Math.max(0, Math.min(completions - c.succeeded, parallelism));
    }
    const rmAtLeast = Math.max(0, active - wantActive);
    let victims = this.activePodsForRemoval(job, c.activePods, rmAtLeast);
    if (victims.length > maxPodCreateDeletePerSync) victims = victims.slice(0, maxPodCreateDeletePerSync);
    if (victims.length > 0) {
      this.expectations.expectDeletions(key, victims.map((p) => objectKey(p)));
      const r = await this.deleteJobPods(job, key, victims);
      active -= r.deleted;
      c.terminating += r.deleted;
      c.ready -= r.deletedReady;
      if (r.error) throw r.error;
      return active;
    }
    const terminating = onlyReplaceFailedPods(job) ? c.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return active;
    if (!hasBackoffLimitPerIndex(job)) {
      const remaining = backoffRemainingMs(c.newBackoffRecord.failuresAfterLastSuccess, c.newBackoffRecord.lastFailureTime, this.now());
      if (remaining > 0) {
        this.requeue(c, Math.max(remaining, syncJobBatchPeriodMs));
        return active;
      }
    }
    diff = Math.min(diff, maxPodCreateDeletePerSync);
    let indexes: number[] | undefined;
    if (isIndexedJob(job)) {
      indexes = firstPendingIndexes({ activePods: c.activePods, succeeded: c.succeededIndexes, failed: c.failedIndexes, count: diff, completions: job.spec?.completions ?? 0 });
      if (hasBackoffLimitPerIndex(job)) {
        const now = this.now();
        const ready: number[] = [];
        let minRemaining: number | undefined;
        for (const ix of indexes) {
          const last = c.podsWithDelayedDeletionPerIndex.get(ix);
          const rem = last ? backoffRemainingMs(indexAbsoluteFailureCount(last) + 1, podFinishedTime(last), now) : 0;
          if (rem === 0) ready.push(ix);
          else if (minRemaining === undefined || rem < minRemaining) minRemaining = rem;
        }
        if (ready.length === 0 && minRemaining !== undefined) {
          this.requeue(c, Math.max(minRemaining, syncJobBatchPeriodMs));
          return active;
        }
        indexes = ready;
      }
      diff = indexes.length;
    }
    if (diff <= 0) return active;
    this.expectations.expectCreations(key, diff);
    const ref = newControllerRef(job, gvk);
    const queue = [...(indexes ?? [])];
    let created = 0;
    let error: unknown;
    let remaining = diff;
    for (let batch = Math.min(remaining, 1); remaining > 0; batch = Math.min(2 * batch, remaining)) {
      const results = await Promise.allSettled(Array.from({ length: batch }, async () => {
        const ix = queue.length > 0 ? queue.shift()! : unknownCompletionIndex;
        let failureCounts: { failed: number; ignored: number } | undefined;
        if (ix !== unknownCompletionIndex && hasBackoffLimitPerIndex(job)) failureCounts = this.newIndexFailureCounts(job, c.podsWithDelayedDeletionPerIndex.get(ix));
        const pod = jobPodFromTemplate(job, ref, { index: ix, failureCounts });
        try {
          await this.podClient.create(pod, { namespace: job.metadata?.namespace });
        } catch (e) {
          // A terminating namespace refuses every creation: nothing to retry.
          if (e instanceof Error && /because it is being terminated/.test(e.message)) return;
          this.expectations.creationObserved(key);
          this.event(job, 'Warning', 'FailedCreate', `Error creating: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
        this.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata?.name ?? pod.metadata?.generateName ?? ''}`);
      }));
      for (const r of results) {
        if (r.status === 'fulfilled') created++;
        else error ??= r.reason;
      }
      remaining -= batch;
      if (error) {
        // Pods never attempted after a failed batch are not expected.
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(key);
        break;
      }
    }
    active += created;
    if (error) throw error;
    return active;
  }

  private newIndexFailureCounts(job: Job, replaced: Pod | undefined): { failed: number; ignored: number } {
    if (!replaced) return { failed: 0, ignored: 0 };
    let failed = indexFailureCount(replaced);
    let ignored = indexIgnoredFailureCount(replaced);
    if (job.spec?.podFailurePolicy && !matchPodFailurePolicy(job.spec.podFailurePolicy, replaced).countFailed) ignored++;
    else failed++;
    return { failed, ignored };
  }

  private canRemoveFinalizer(c: SyncCtx, pod: Pod, failed: boolean): boolean {
    if (c.job.metadata?.deletionTimestamp || c.finishedCondition || pod.status?.phase === 'Succeeded') return true;
    if (!failed) return false;
    if (hasBackoffLimitPerIndex(c.job)) {
      const ix = completionIndexOf(pod);
      if (ix !== unknownCompletionIndex && c.podsWithDelayedDeletionPerIndex.get(ix)?.metadata?.uid === pod.metadata?.uid) return false;
    }
    return true;
  }

  /**
   * trackJobStatusAndRemoveFinalizers: records finished pods in uncountedTerminatedPods, removes their finalizers,
   * moves them into the counters, writes the interim and then the terminal condition.
   */
  private async trackJobStatusAndRemoveFinalizers(c: SyncCtx, key: string, needsFlushIn: boolean): Promise<void> {
    let needsFlush = needsFlushIn;
    const job = c.job;
    const indexed = isIndexedJob(job);
    const completions = job.spec?.completions ?? 0;
    if (indexed) c.pods = [...c.pods].sort((a, b) => completionIndexOf(a) - completionIndexOf(b));
    const uidsWithFinalizer = new Set<string>();
    for (const p of c.pods) {
      const uid = p.metadata?.uid ?? '';
      if (hasTrackingFinalizer(p) && !c.expectedRmFinalizers.has(uid)) uidsWithFinalizer.add(uid);
    }
    const uncounted = (job.status!.uncountedTerminatedPods ??= {});
    if (cleanUncounted(job.status!, uidsWithFinalizer)) needsFlush = true;
    const toRemove: Pod[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMax = false;
    for (const pod of c.pods) {
      const uid = pod.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(pod) || c.expectedRmFinalizers.has(uid)) continue;
      const failed = isPodFailed(pod, job);
      if (!this.canRemoveFinalizer(c, pod, failed)) continue;
      toRemove.push(pod);
      if (pod.status?.phase === 'Succeeded' && !c.uncountedFailed.has(uid)) {
        if (indexed) {
          const ix = completionIndexOf(pod);
          if (ix !== unknownCompletionIndex && ix < completions && !hasIndex(c.prevSucceededIndexes, ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!c.uncountedSucceeded.has(uid)) {
          needsFlush = true;
          (uncounted.succeeded ??= []).push(uid);
        }
      } else if (failed || (c.finishedCondition && c.finishedCondition.type !== 'SuccessCriteriaMet')) {
        // Once the Job is finishing, every pod not terminated successfully counts as failed.
        const ix = completionIndexOf(pod);
        if (!c.uncountedFailed.has(uid) && (!indexed || (ix !== unknownCompletionIndex && ix < completions))) {
          if (!job.spec?.podFailurePolicy || matchPodFailurePolicy(job.spec.podFailurePolicy, pod).countFailed) {
            needsFlush = true;
            (uncounted.failed ??= []).push(uid);
          }
        }
      }
      if (newSucceededIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= maxUncountedPods) {
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      c.succeededIndexes = withOrderedIndexes(c.succeededIndexes, [...new Set(newSucceededIndexes)].sort((a, b) => a - b));
      const s = formatIndexes(c.succeededIndexes);
      if (s !== (job.status!.completedIndexes ?? '')) needsFlush = true;
      job.status!.succeeded = totalIndexes(c.succeededIndexes);
      job.status!.completedIndexes = s;
      const failedStr = c.failedIndexes ? formatIndexes(c.failedIndexes) : undefined;
      if (failedStr !== (job.status!.failedIndexes ?? undefined)) {
        if (failedStr === undefined) delete job.status!.failedIndexes;
        else job.status!.failedIndexes = failedStr;
        needsFlush = true;
      }
    }
    if (c.finishedCondition?.type === 'FailureTarget') {
      (job.status!.conditions ??= []).push(c.finishedCondition);
      needsFlush = true;
      c.finishedCondition = newJobCondition('Failed', 'True', c.finishedCondition.reason ?? '', c.finishedCondition.message ?? '', this.now());
    }
    if (c.finishedCondition?.type === 'SuccessCriteriaMet') {
      if (!findJobCondition(job, 'SuccessCriteriaMet')) {
        (job.status!.conditions ??= []).push(c.finishedCondition);
        needsFlush = true;
      }
      c.finishedCondition = newJobCondition('Complete', 'True', c.finishedCondition.reason ?? '', c.finishedCondition.message ?? '', this.now());
    }
    needsFlush = await this.flushUncountedAndRemoveFinalizers(c, key, toRemove, uidsWithFinalizer, needsFlush);
    const finished = !reachedMax && this.enactJobFinished(c);
    if (finished) needsFlush = true;
    if (needsFlush) {
      c.job = await this.updateStatus(c.job);
      if (finished && c.finishedCondition) this.recordJobFinished(c.job, c.finishedCondition);
    }
  }

  private async updateStatus(job: Job): Promise<Job> {
    const status = job.status;
    const u = status?.uncountedTerminatedPods;
    if (u) {
      if (u.succeeded?.length === 0) delete u.succeeded;
      if (u.failed?.length === 0) delete u.failed;
    }
    return this.jobClient.updateStatus(job, { namespace: job.metadata?.namespace });
  }

  private async flushUncountedAndRemoveFinalizers(c: SyncCtx, key: string, toRemove: Pod[], uidsWithFinalizer: Set<string>, needsFlushIn: boolean): Promise<boolean> {
    let needsFlush = needsFlushIn;
    if (needsFlush) {
      c.job = await this.updateStatus(c.job);
      c.job.status ??= {};
      c.job.status.uncountedTerminatedPods ??= {};
      this.backoff.set(key, c.newBackoffRecord);
      needsFlush = false;
    }
    let rmError: unknown;
    if (toRemove.length > 0) {
      let exp = this.finalizerExpectations.get(key);
      if (!exp) this.finalizerExpectations.set(key, (exp = new Set()));
      for (const p of toRemove) exp.add(p.metadata?.uid ?? '');
      await Promise.all(toRemove.map(async (p) => {
        const uid = p.metadata?.uid ?? '';
        try {
          await this.removeFinalizer(p);
          uidsWithFinalizer.delete(uid);
        } catch (e) {
          // No update will show this finalizer gone: stop expecting it.
          exp.delete(uid);
          if (isNotFound(e)) uidsWithFinalizer.delete(uid);
          else rmError ??= e;
        }
      }));
    }
    if (cleanUncounted(c.job.status!, uidsWithFinalizer)) needsFlush = true;
    if (rmError !== undefined && needsFlush) {
      c.job = await this.updateStatus(c.job);
    }
    if (rmError !== undefined) throw rmError instanceof Error ? rmError : new Error(String(rmError));
    return needsFlush;
  }

  private enactJobFinished(c: SyncCtx): boolean {
    const cond = c.finishedCondition;
    if (!cond) return false;
    const u = c.job.status?.uncountedTerminatedPods;
    if ((u?.succeeded?.length ?? 0) + (u?.failed?.length ?? 0) > 0) return false;
    if (c.terminating > 0) return false;
    const status = (c.job.status ??= {});
    const conds = (status.conditions ??= []);
    ensureJobCondition(conds, { type: cond.type, status: cond.status as 'True', reason: cond.reason ?? '', message: cond.message ?? '' }, this.now());
    if (cond.type === 'Complete') status.completionTime = cond.lastTransitionTime;
    return true;
  }

  private recordJobFinished(job: Job, cond: JobCondition): void {
    if (cond.type === 'Complete') {
      const completions = job.spec?.completions;
      if (completions !== undefined && completions !== null && (job.status?.succeeded ?? 0) > completions) {
        this.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
      }
      this.event(job, 'Normal', 'Completed', 'Job completed');
    } else {
      this.event(job, 'Warning', cond.reason ?? '', cond.message ?? '');
    }
  }
}

/** cleanUncountedPodsWithoutFinalizers: moves uncounted UIDs whose finalizer is gone into the counters. */
export function cleanUncounted(status: JobStatus, uidsWithFinalizer: Set<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let updated = false;
  const keepS = (u.succeeded ?? []).filter((uid) => uidsWithFinalizer.has(uid));
  if (keepS.length !== (u.succeeded ?? []).length) {
    updated = true;
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded ?? []).length - keepS.length;
    u.succeeded = keepS;
  }
  const keepF = (u.failed ?? []).filter((uid) => uidsWithFinalizer.has(uid));
  if (keepF.length !== (u.failed ?? []).length) {
    updated = true;
    status.failed = (status.failed ?? 0) + (u.failed ?? []).length - keepF.length;
    u.failed = keepF;
  }
  return updated;
}

/** The Job controller. */
export function newJobController(ctx: ControllerContext): Controller {
  return new JobController(ctx);
}
