/**
 * The pod garbage collector (pkg/controller/podgc): every 20 s it force-deletes terminated pods beyond the
 * threshold (12,500; evicted first, then oldest), pods bound to nodes that are gone (after a 40 s quarantine and a
 * live GET), terminating pods on out-of-service NotReady nodes, and terminating pods that were never scheduled.
 * Pods still running are first marked Failed (with a DisruptionTarget condition when orphaned), as upstream does.
 */
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import { isAbortError } from '../../base/clock.ts';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { nodes as nodesDef, pods as podsDef } from '../../api/core/v1/index.ts';
import type { Lister, ResourceClient } from '../../client/index.ts';
import { isNotFound } from '../../client/index.ts';
import type { Controller, ControllerContext } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { timeMs } from '../common/pods.ts';

const log = logger('podgc-controller');

/** Options of the pod GC (upstream's flags and constants). */
export interface PodGCOptions {
  /** --terminated-pod-gc-threshold (default 12,500; 0 disables that part). */
  terminatedPodThreshold?: number;
  /** gcCheckPeriod (default 20 s). */
  periodMs?: number;
  /** quarantineTime before a missing node counts as deleted (default 40 s). */
  quarantineMs?: number;
}

/** The out-of-service taint that lets terminating pods on a NotReady node be force-deleted. */
export const outOfServiceTaint = 'node.kubernetes.io/out-of-service';

/** isPodTerminated: a phase other than Pending, Running or Unknown. */
export function isPodTerminated(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p !== 'Pending' && p !== 'Running' && p !== 'Unknown';
}

/** byEvictionAndCreationTimestamp: evicted pods first, then oldest, then by name. */
export function byEvictionAndCreation(a: Pod, b: Pod): number {
  const ea = a.status?.phase === 'Failed' && a.status.reason === 'Evicted';
  const eb = b.status?.phase === 'Failed' && b.status.reason === 'Evicted';
  if (ea !== eb) return ea ? -1 : 1;
  const d = timeMs(a.metadata?.creationTimestamp) - timeMs(b.metadata?.creationTimestamp);
  if (d !== 0) return d;
  return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0;
}

/** The terminated pods to delete so that at most `threshold` remain. */
export function terminatedPodsToDelete(pods: Pod[], threshold: number): Pod[] {
  if (threshold <= 0) return [];
  const terminated = pods.filter(isPodTerminated);
  const n = terminated.length - threshold;
  if (n <= 0) return [];
  return terminated.sort(byEvictionAndCreation).slice(0, n);
}

class PodGCController implements Controller {
  readonly name = 'podgc';
  readonly queue;
  readonly workers = 1;
  private readonly ctx: ControllerContext;
  private readonly podLister: Lister<Pod>;
  private readonly nodeLister: Lister<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly threshold: number;
  private readonly periodMs: number;
  private readonly quarantineMs: number;
  /** Node name → when pods bound to it were first seen while it was missing from the cache. */
  private readonly missingSince = new Map<string, number>();

  constructor(ctx: ControllerContext, opts: PodGCOptions) {
    this.ctx = ctx;
    this.queue = newQueue('podgc', ctx.clock);
    this.podLister = ctx.informers.informerFor<Pod>(podsDef).lister();
    this.nodeLister = ctx.informers.informerFor<Node>(nodesDef).lister();
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.nodeClient = ctx.client.resource<Node>(nodesDef);
    this.threshold = opts.terminatedPodThreshold ?? 12_500;
    this.periodMs = opts.periodMs ?? 20_000;
    this.quarantineMs = opts.quarantineMs ?? 40_000;
  }

  /** Nothing is queued: the work is the periodic scan in run(). */
  async reconcile(): Promise<void> {}

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.gc(signal);
      } catch (e) {
        if (!signal.aborted || !isAbortError(e)) log.warn('pod gc pass failed', { err: e });
      }
      try {
        await this.ctx.clock.sleep(this.periodMs, { signal });
      } catch {
        return;
      }
    }
  }

  /** One pass (gc): terminated over threshold, terminating on out-of-service nodes, orphaned, unscheduled terminating. */
  async gc(signal?: AbortSignal): Promise<void> {
    const pods = this.podLister.list();
    const nodes = this.nodeLister.list();
    await Promise.all(terminatedPodsToDelete(pods, this.threshold).map((p) => this.forceDelete(p)));
    await this.gcTerminating(pods, nodes);
    await this.gcOrphaned(pods, nodes, signal);
    await Promise.all(pods.filter((p) => p.metadata?.deletionTimestamp && !p.spec?.nodeName).map((p) => this.forceDelete(p)));
  }

  private async gcTerminating(pods: Pod[], nodes: Node[]): Promise<void> {
    const outOfService = new Set(nodes.filter((n) => {
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status !== 'True' && (n.spec?.taints ?? []).some((t) => t.key === outOfServiceTaint && t.effect === 'NoExecute');
    }).map((n) => n.metadata?.name));
    const victims = pods.filter((p) => p.metadata?.deletionTimestamp && isPodTerminated(p) === false && outOfService.has(p.spec?.nodeName));
    await Promise.all(victims.map((p) => this.forceDelete(p, { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' })));
  }

  private async gcOrphaned(pods: Pod[], nodes: Node[], signal?: AbortSignal): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata?.name ?? ''));
    const now = this.ctx.clock.now();
    const referenced = new Set<string>();
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || existing.has(n)) continue;
      referenced.add(n);
      if (!this.missingSince.has(n)) this.missingSince.set(n, now);
    }
    const deleted = new Set<string>();
    for (const [n, since] of [...this.missingSince]) {
      if (existing.has(n) || !referenced.has(n)) {
        this.missingSince.delete(n);
        continue;
      }
      if (now - since < this.quarantineMs) continue;
      try {
        await this.nodeClient.get(n, { signal });
        // It exists after all (the cache lags): forget it.
        this.missingSince.delete(n);
      } catch (e) {
        if (isNotFound(e)) deleted.add(n);
        else log.warn('error while getting node', { node: n, err: e });
      }
    }
    const orphans = pods.filter((p) => deleted.has(p.spec?.nodeName ?? ''));
    await Promise.all(orphans.map((p) => this.forceDelete(p, { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' })));
    for (const n of deleted) this.missingSince.delete(n);
  }

  /** markFailedAndDeletePodWithCondition: a non-terminal pod is marked Failed first, then deleted with grace 0. */
  private async forceDelete(pod: Pod, condition?: PodCondition): Promise<void> {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    log.info('PodGC is force deleting Pod', { pod: `${ns}/${name}` });
    try {
      if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
        const status = structuredClone(pod.status ?? {});
        status.phase = 'Failed';
        if (condition) {
          const conds = (status.conditions ?? []).filter((c) => c.type !== condition.type);
          conds.push({ ...condition, lastTransitionTime: formatRFC3339(this.ctx.clock.now()) });
          status.conditions = conds;
        }
        await this.podClient.patch(name, [
          { op: 'test', path: '/metadata/uid', value: pod.metadata?.uid },
          { op: 'replace', path: '/status', value: status },
        ], { type: 'json', namespace: ns, subresource: 'status' });
      }
      await this.podClient.delete(name, { namespace: ns, gracePeriodSeconds: 0, preconditions: pod.metadata?.uid ? { uid: pod.metadata.uid } : undefined });
    } catch (e) {
      if (!isNotFound(e)) log.warn('failed to delete pod', { pod: `${ns}/${name}`, err: e });
    }
  }
}

/** The pod garbage collector; `opts` override upstream's threshold and periods (tests). */
export function newPodGCController(ctx: ControllerContext, opts: PodGCOptions = {}): Controller {
  return new PodGCController(ctx, opts);
}
