/**
 * The CronJob controller (pkg/controller/cronjob, ControllerV2): creates a Job named `<cronjob>-<minutes>` at each
 * schedule time (in spec.timeZone), honouring suspend, startingDeadlineSeconds (MissSchedule), concurrencyPolicy
 * Allow/Forbid/Replace, too many missed schedules (TooManyMissedTimes), history limits, and keeps status.active,
 * lastScheduleTime and lastSuccessfulTime. It requeues itself for the next schedule time rather than polling.
 */
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { isKnownTimeZone } from '../../api/batch/v1/cron-schedule.ts';
import { cronJobs as cronJobsDef } from '../../api/batch/v1/cron-job.ts';
import { jobs as jobsDef } from '../../api/batch/v1/job.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { controllerRefOf } from '../common/controller-ref.ts';
import { timeMs } from '../common/pods.ts';
import { finishedCondition, isJobFinished, isJobSucceeded } from '../job/util.ts';
import type { ZonedSchedule } from './schedule.ts';
import { byJobStartTime, cronJobSchedule, jobFromTemplate, jobNameFor, mostRecentScheduleTime, nextScheduleDelay } from './schedule.ts';

const gvk = { apiVersion: 'batch/v1', kind: 'CronJob' };

class CronJobController implements Controller {
  readonly name = 'cronjob';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly cjLister: Lister<CronJob>;
  private readonly jobLister: Lister<Job>;
  private readonly cjClient: ResourceClient<CronJob>;
  private readonly jobClient: ResourceClient<Job>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('cronjob', ctx.clock);
    this.workers = ctx.workers;
    const cjInf = ctx.informers.informerFor<CronJob>(cronJobsDef);
    const jobInf = ctx.informers.informerFor<Job>(jobsDef);
    this.cjLister = cjInf.lister();
    this.jobLister = jobInf.lister();
    this.cjClient = ctx.client.resource<CronJob>(cronJobsDef);
    this.jobClient = ctx.client.resource<Job>(jobsDef);
    this.recorder = ctx.recorder('cronjob-controller');
    cjInf.addEventHandler({
      onAdd: (cj) => this.queue.add(objectKey(cj)),
      onUpdate: (old, cur) => {
        const scheduleChanged = old.spec?.schedule !== cur.spec?.schedule || (old.spec?.timeZone ?? null) !== (cur.spec?.timeZone ?? null);
        if (!scheduleChanged) {
          this.queue.add(objectKey(cur));
          return;
        }
        try {
          this.queue.addAfter(objectKey(cur), nextScheduleDelay(cur, this.ctx.clock.now(), cronJobSchedule(cur)));
        } catch {
          // An unparseable schedule is reported by the sync.
          this.queue.add(objectKey(cur));
        }
      },
      onDelete: (o) => this.queue.add(objectKey(isTombstone(o) ? o.obj : o)),
    });
    jobInf.addEventHandler({
      onAdd: (j) => this.enqueueOwner(j),
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        const oldRef = controllerRefOf(old);
        if (oldRef && oldRef.uid !== controllerRefOf(cur)?.uid) this.enqueueOwner(old);
        this.enqueueOwner(cur);
      },
      onDelete: (o) => this.enqueueOwner(isTombstone(o) ? o.obj : o),
    });
  }

  private enqueueOwner(job: Job): void {
    const ref = controllerRefOf(job);
    if (!ref || ref.kind !== 'CronJob') return;
    const cj = this.cjLister.get(job.metadata?.namespace ?? '', ref.name);
    if (cj && cj.metadata?.uid === ref.uid) this.queue.add(objectKey(cj));
  }

  private event(cj: CronJob, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ ...cj, ...gvk }, { type, reason, message });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.cjLister.get(namespace, name);
    if (!cached) return;
    // getJobsToBeReconciled: every job whose controllerRef names this CronJob, matching labels or not.
    const jobs = this.jobLister.list(namespace).filter((j) => {
      const ref = controllerRefOf(j);
      return ref !== undefined && ref.name === name && ref.kind === 'CronJob';
    });
    const cj = structuredClone(cached);
    cj.status ??= {};
    const cleaned = await this.cleanupFinishedJobs(cj, jobs);
    let requeueAfter: number | undefined;
    let synced = false;
    let syncError: unknown;
    try {
      const r = await this.syncCronJob(cj, jobs);
      requeueAfter = r.requeueAfter;
      synced = r.updateStatus;
    } catch (e) {
      syncError = e;
    }
    if ((cleaned || synced) && JSON.stringify(normalize(cached.status)) !== JSON.stringify(normalize(cj.status))) {
      const status = normalize(cj.status);
      await this.cjClient.updateStatus({ ...cj, status }, { namespace });
    }
    if (requeueAfter !== undefined) return { requeueAfter };
    if (syncError) throw syncError;
  }

  private removeFromActive(cj: CronJob, uid: string | undefined): void {
    const active = (cj.status?.active ?? []).filter((r) => r.uid !== uid);
    cj.status!.active = active;
  }

  private async deleteJob(cj: CronJob, job: Job): Promise<boolean> {
    try {
      await this.jobClient.delete(job.metadata?.name ?? '', { namespace: job.metadata?.namespace, propagationPolicy: 'Background' });
    } catch (e) {
      if (!isNotFound(e)) {
        this.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
    }
    this.removeFromActive(cj, job.metadata?.uid);
    this.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata?.name ?? ''}`);
    return true;
  }

  /** cleanupFinishedJobs: deletes the oldest finished jobs beyond the successful and failed history limits. */
  private async cleanupFinishedJobs(cj: CronJob, jobs: Job[]): Promise<boolean> {
    const sLimit = cj.spec?.successfulJobsHistoryLimit;
    const fLimit = cj.spec?.failedJobsHistoryLimit;
    if ((sLimit === undefined || sLimit === null) && (fLimit === undefined || fLimit === null)) return false;
    const succeeded: Job[] = [];
    const failed: Job[] = [];
    for (const j of jobs) {
      const c = finishedCondition(j);
      if (c?.type === 'Complete') succeeded.push(j);
      else if (c?.type === 'Failed') failed.push(j);
    }
    let update = false;
    for (const [list, limit] of [[succeeded, sLimit], [failed, fLimit]] as const) {
      if (limit === undefined || limit === null) continue;
      const n = list.length - limit;
      if (n <= 0) continue;
      const sorted = [...list].sort(byJobStartTime);
      for (let i = 0; i < n; i++) if (await this.deleteJob(cj, sorted[i]!)) update = true;
    }
    return update;
  }

  private async syncCronJob(cj: CronJob, jobs: Job[]): Promise<{ requeueAfter?: number; updateStatus: boolean }> {
    const now = this.ctx.clock.now();
    const status = cj.status!;
    let updateStatus = false;
    const children = new Set<string>();
    for (const j of jobs) {
      const uid = j.metadata?.uid ?? '';
      children.add(uid);
      const found = (status.active ?? []).some((r) => r.uid === uid);
      if (!found && !isJobFinished(j)) {
        const fresh = await this.cjClient.get(cj.metadata?.name ?? '', { namespace: cj.metadata?.namespace });
        if ((fresh.status?.active ?? []).some((r) => r.uid === uid)) {
          Object.assign(cj, fresh, { status: { ...(fresh.status ?? {}) } });
          continue;
        }
        this.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata?.name ?? ''}`);
      } else if (found && isJobFinished(j)) {
        const c = finishedCondition(j);
        this.removeFromActive(cj, uid);
        this.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata?.name ?? ''}, condition: ${c?.type ?? ''}`);
        updateStatus = true;
      } else if (isJobSucceeded(j)) {
        const done = j.status?.completionTime;
        if (done && (!cj.status!.lastSuccessfulTime || timeMs(done) > timeMs(cj.status!.lastSuccessfulTime))) {
          cj.status!.lastSuccessfulTime = done;
          updateStatus = true;
        }
      }
    }
    // Jobs in the active list that are gone (checked live, the cache may lag).
    for (const ref of [...(cj.status!.active ?? [])]) {
      if (children.has(ref.uid ?? '')) continue;
      try {
        await this.jobClient.get(ref.name ?? '', { namespace: ref.namespace ?? cj.metadata?.namespace });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name ?? ''}`);
        this.removeFromActive(cj, ref.uid);
        updateStatus = true;
      }
    }
    if (cj.metadata?.deletionTimestamp) return { updateStatus };
    const tz = cj.spec?.timeZone;
    if (tz !== undefined && tz !== null && !isKnownTimeZone(tz)) {
      this.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(tz)}: unknown time zone ${tz}`);
      return { updateStatus };
    }
    if (cj.spec?.suspend === true) return { updateStatus };
    if ((cj.spec?.schedule ?? '').includes('TZ')) {
      this.event(cj, 'Warning', 'UnsupportedSchedule', `CRON_TZ or TZ used in schedule ${JSON.stringify(cj.spec?.schedule)} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`);
    }
    let sched: ZonedSchedule;
    try {
      sched = cronJobSchedule(cj);
    } catch (e) {
      this.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)} : ${e instanceof Error ? e.message : String(e)}`);
      return { updateStatus };
    }
    let scheduled: number | undefined;
    try {
      const r = mostRecentScheduleTime(cj, now, sched, { includeStartingDeadline: true });
      if (r.mostRecent !== undefined && r.mostRecent <= now) {
        scheduled = r.mostRecent;
        if (r.missed === 'many') this.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
      }
    } catch (e) {
      this.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule ?? ''} : ${e instanceof Error ? e.message : String(e)}`);
      return { updateStatus };
    }
    const next = (): number => nextScheduleDelay(cj, now, sched);
    if (scheduled === undefined) return { requeueAfter: next(), updateStatus };
    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      this.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
      return { requeueAfter: next(), updateStatus };
    }
    const jobName = jobNameFor(cj, scheduled);
    if ((cj.status!.active ?? []).some((r) => r.name === jobName) || (cj.status!.lastScheduleTime && timeMs(cj.status!.lastScheduleTime) === scheduled)) {
      return { requeueAfter: next(), updateStatus };
    }
    if (cj.spec?.concurrencyPolicy === 'Forbid' && (cj.status!.active ?? []).length > 0) {
      this.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return { requeueAfter: next(), updateStatus };
    }
    if (cj.spec?.concurrencyPolicy === 'Replace') {
      for (const ref of [...(cj.status!.active ?? [])]) {
        let job: Job;
        try {
          job = await this.jobClient.get(ref.name ?? '', { namespace: ref.namespace ?? cj.metadata?.namespace });
        } catch (e) {
          this.event(cj, 'Warning', 'FailedGet', `Get job: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
        if (!(await this.deleteJob(cj, job))) throw new Error(`could not replace job ${job.metadata?.namespace}/${job.metadata?.name}`);
        updateStatus = true;
      }
    }
    const req = jobFromTemplate(cj, scheduled);
    let created: Job;
    let existed = false;
    try {
      created = await this.jobClient.create(req, { namespace: cj.metadata?.namespace });
    } catch (e) {
      if (e instanceof Error && /because it is being terminated/.test(e.message)) throw e;
      if (!isAlreadyExists(e)) {
        this.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
      existed = true;
      created = await this.jobClient.get(jobName, { namespace: cj.metadata?.namespace });
      // Created by someone else: they keep the status.
      if (controllerRefOf(created)?.uid !== cj.metadata?.uid) return { updateStatus };
      if ((cj.status!.active ?? []).some((r) => r.uid === created.metadata?.uid)) return { updateStatus };
    }
    if (!existed) this.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name ?? ''}`);
    const ref: ObjectReference = {
      kind: 'Job', namespace: created.metadata?.namespace, name: created.metadata?.name, uid: created.metadata?.uid,
      apiVersion: 'batch/v1', resourceVersion: created.metadata?.resourceVersion,
    };
    cj.status!.active = [...(cj.status!.active ?? []), ref];
    cj.status!.lastScheduleTime = formatRFC3339(scheduled);
    return { requeueAfter: next(), updateStatus: true };
  }
}

/** Drops an empty active list so that an unchanged status compares equal and is omitted as upstream's omitempty does. */
function normalize(status: CronJob['status']): NonNullable<CronJob['status']> {
  const s = { ...(status ?? {}) };
  if (s.active && s.active.length === 0) delete s.active;
  return s;
}

/** Go's time.RFC1123Z in UTC ("Mon, 02 Jan 2006 15:04:05 +0000"). */
export function rfc1123z(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** The CronJob controller. */
export function newCronJobController(ctx: ControllerContext): Controller {
  return new CronJobController(ctx);
}
