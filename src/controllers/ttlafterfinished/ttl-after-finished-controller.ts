/**
 * The TTL-after-finished controller (pkg/controller/ttlafterfinished): deletes a finished Job (cascading, foreground,
 * guarded by its uid) once spec.ttlSecondsAfterFinished has passed since its Complete/Failed condition; it requeues
 * each Job for its expiry instead of polling, and re-checks the TTL on a fresh read before deleting.
 */
import type { Job } from 'kubernetes-types/batch/v1.js';
import { jobs as jobsDef } from '../../api/batch/v1/job.ts';
import type { Lister, ResourceClient } from '../../client/index.ts';
import { isNotFound, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { timeMs } from '../common/pods.ts';
import { finishedCondition } from '../job/util.ts';

/** needsCleanup: a TTL is set and the Job is finished. */
export function needsCleanup(job: Job): boolean {
  return job.spec?.ttlSecondsAfterFinished !== undefined && job.spec.ttlSecondsAfterFinished !== null && finishedCondition(job) !== undefined;
}

/**
 * timeLeft: milliseconds until the Job expires (≤ 0 once expired), from the last transition of its finished
 * condition; throws when that time is unknown, with upstream's message.
 */
export function ttlTimeLeft(job: Job, nowMs: number): { leftMs: number; expireAt: number } {
  const c = finishedCondition(job);
  const finishedAt = timeMs(c?.lastTransitionTime);
  if (!c || finishedAt === 0) throw new Error(`unable to find the time when the Job ${job.metadata?.namespace}/${job.metadata?.name} finished`);
  const expireAt = finishedAt + (job.spec?.ttlSecondsAfterFinished ?? 0) * 1000;
  return { leftMs: expireAt - nowMs, expireAt };
}

class TTLAfterFinishedController implements Controller {
  readonly name = 'ttl-after-finished';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly lister: Lister<Job>;
  private readonly client: ResourceClient<Job>;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('ttl_jobs_to_delete', ctx.clock);
    this.workers = ctx.workers;
    const inf = ctx.informers.informerFor<Job>(jobsDef);
    this.lister = inf.lister();
    this.client = ctx.client.resource<Job>(jobsDef);
    const maybe = (j: Job): void => {
      if (!j.metadata?.deletionTimestamp && needsCleanup(j)) this.queue.add(objectKey(j));
    };
    inf.addEventHandler({ onAdd: maybe, onUpdate: (_o, j) => maybe(j) });
  }

  /** processTTL: undefined when there is nothing to do yet (a requeue at expiry is returned instead), else expired. */
  private processTTL(job: Job): { expired: boolean; requeueAfter?: number } {
    if (job.metadata?.deletionTimestamp || !needsCleanup(job)) return { expired: false };
    const { leftMs } = ttlTimeLeft(job, this.ctx.clock.now());
    if (leftMs <= 0) return { expired: true };
    return { expired: false, requeueAfter: leftMs };
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.lister.get(namespace, name);
    if (!cached) return;
    const first = this.processTTL(cached);
    if (!first.expired) return first.requeueAfter !== undefined ? { requeueAfter: first.requeueAfter } : undefined;
    // The cached TTL may be stale: decide on a fresh read.
    let fresh: Job;
    try {
      fresh = await this.client.get(name, { namespace });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const second = this.processTTL(fresh);
    if (!second.expired) return second.requeueAfter !== undefined ? { requeueAfter: second.requeueAfter } : undefined;
    try {
      await this.client.delete(name, { namespace, propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata?.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The TTL-after-finished controller. */
export function newTTLAfterFinishedController(ctx: ControllerContext): Controller {
  return new TTLAfterFinishedController(ctx);
}
