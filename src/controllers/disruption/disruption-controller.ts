/**
 * The disruption controller (pkg/controller/disruption): keeps each PodDisruptionBudget's status — expectedPods
 * (the pods, or for percentages and maxUnavailable the scale of their controllers), desiredHealthy,
 * currentHealthy (ready pods not being deleted nor recently evicted), disruptionsAllowed, disruptedPods (entries
 * the eviction API added, dropped once the pod is gone or after two minutes), observedGeneration and the
 * DisruptionAllowed condition (SufficientPods / InsufficientPods / SyncFailed).
 */
import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.js';
import { getIntOrPercentValue } from '../../api/meta/intstr.ts';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { podDisruptionBudgets as pdbDef } from '../../api/policy/v1/pod-disruption-budget.ts';
import { pods as podsDef, replicationcontrollers as rcDef } from '../../api/core/v1/index.ts';
import { deployments as deployDef } from '../../api/apps/v1/deployment.ts';
import { replicaSets as rsDef } from '../../api/apps/v1/replica-set.ts';
import { statefulSets as stsDef } from '../../api/apps/v1/stateful-set.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { controllerRefOf } from '../common/controller-ref.ts';
import { isPodReady, timeMs } from '../common/pods.ts';

/** DeletionTimeout: an eviction not followed by the pod's deletion within this long is forgotten. */
export const deletionTimeoutMs = 2 * 60_000;

type Condition = NonNullable<PodDisruptionBudgetStatus['conditions']>[number];

/** What a controller finder returns: the controller's uid and desired scale. */
export interface ControllerScale {
  uid: string;
  scale: number;
}

/** buildDisruptedPodMap: still-pending evictions, and the earliest time one expires (a recheck). */
export function disruptedPodMap(pods: Pod[], pdb: PodDisruptionBudget, nowMs: number): { map: Record<string, string>; recheckAt?: number } {
  const map: Record<string, string> = {};
  let recheckAt: number | undefined;
  const byName = new Map(pods.map((p) => [p.metadata?.name ?? '', p]));
  for (const [name, ts] of Object.entries(pdb.status?.disruptedPods ?? {})) {
    const pod = byName.get(name);
    // A pod that is gone or already being deleted needs no entry.
    if (!pod || pod.metadata?.deletionTimestamp) continue;
    const expires = timeMs(ts) + deletionTimeoutMs;
    if (expires < nowMs) continue;
    map[name] = ts;
    if (recheckAt === undefined || expires < recheckAt) recheckAt = expires;
  }
  return { map, recheckAt };
}

/** countHealthyPods: ready pods that are neither being deleted nor recently evicted. */
export function countHealthy(pods: Pod[], disrupted: Record<string, string>): number {
  return pods.filter((p) => !p.metadata?.deletionTimestamp && !Object.hasOwn(disrupted, p.metadata?.name ?? '') && isPodReady(p)).length;
}

/**
 * getExpectedPodCount: expectedPods and desiredHealthy. An integer minAvailable counts the pods themselves; a
 * percentage or maxUnavailable needs the scale of the pods' controllers (`scaleOf`), and pods without a controller
 * are reported as unmanaged.
 */
export function expectedPodCount(pdb: PodDisruptionBudget, pods: Pod[], scaleOf: (ref: OwnerReference, namespace: string) => ControllerScale | undefined): { expected: number; desiredHealthy: number; unmanaged: string[] } {
  const spec = pdb.spec;
  const scaled = (): { expected: number; unmanaged: string[] } => {
    const byController = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const p of pods) {
      const ref = controllerRefOf(p);
      if (!ref) {
        unmanaged.push(p.metadata?.name ?? '');
        continue;
      }
      if (byController.has(ref.uid)) continue;
      const found = scaleOf(ref, p.metadata?.namespace ?? '');
      if (!found) throw new Error(`found no controllers for pod "${p.metadata?.name ?? ''}"`);
      byController.set(found.uid, found.scale);
    }
    let expected = 0;
    for (const n of byController.values()) expected += n;
    return { expected, unmanaged };
  };
  if (spec?.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    const { expected, unmanaged } = scaled();
    const maxUnavailable = getIntOrPercentValue(spec.maxUnavailable, expected, true);
    return { expected, desiredHealthy: Math.max(0, expected - maxUnavailable), unmanaged };
  }
  if (spec?.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === 'number') return { expected: pods.length, desiredHealthy: spec.minAvailable, unmanaged: [] };
    const { expected, unmanaged } = scaled();
    return { expected, desiredHealthy: getIntOrPercentValue(spec.minAvailable, expected, true), unmanaged };
  }
  return { expected: 0, desiredHealthy: 0, unmanaged: [] };
}

/** UpdateDisruptionAllowedCondition (SetStatusCondition semantics: the transition time moves only on a status change). */
export function withDisruptionAllowed(conditions: Condition[] | undefined, c: { status: 'True' | 'False'; reason: string; message?: string; observedGeneration?: number }, nowMs: number): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === 'DisruptionAllowed');
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: 'DisruptionAllowed', status: c.status, reason: c.reason, message: c.message ?? '',
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : formatRFC3339(nowMs),
  };
  if (c.observedGeneration !== undefined) next.observedGeneration = c.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

class DisruptionController implements Controller {
  readonly name = 'disruption';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly pdbLister: Lister<PodDisruptionBudget>;
  private readonly podLister: Lister<Pod>;
  private readonly rsLister: Lister<ReplicaSet>;
  private readonly rcLister: Lister<ReplicationController>;
  private readonly deployLister: Lister<Deployment>;
  private readonly stsLister: Lister<StatefulSet>;
  private readonly pdbClient: ResourceClient<PodDisruptionBudget>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('disruption', ctx.clock);
    this.workers = ctx.workers;
    const pdbInf = ctx.informers.informerFor<PodDisruptionBudget>(pdbDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    this.pdbLister = pdbInf.lister();
    this.podLister = podInf.lister();
    this.rsLister = ctx.informers.informerFor<ReplicaSet>(rsDef).lister();
    this.rcLister = ctx.informers.informerFor<ReplicationController>(rcDef).lister();
    this.deployLister = ctx.informers.informerFor<Deployment>(deployDef).lister();
    this.stsLister = ctx.informers.informerFor<StatefulSet>(stsDef).lister();
    this.pdbClient = ctx.client.resource<PodDisruptionBudget>(pdbDef);
    this.recorder = ctx.recorder('controllermanager');
    pdbInf.addEventHandler({
      onAdd: (p) => this.queue.add(objectKey(p)),
      onUpdate: (_o, p) => this.queue.add(objectKey(p)),
      onDelete: (p) => this.queue.add(objectKey(isTombstone(p) ? p.obj : p)),
    });
    podInf.addEventHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        this.podChanged(cur);
        if (JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {})) this.podChanged(old);
      },
      onDelete: (p) => this.podChanged(isTombstone(p) ? p.obj : p),
    });
  }

  private selects(pdb: PodDisruptionBudget, labels: Record<string, string> | undefined): boolean {
    try {
      const sel = labelSelectorFromMeta(pdb.spec?.selector);
      // policy/v1: an empty selector selects every pod of the namespace.
      return sel.length === 0 ? pdb.spec?.selector !== undefined && pdb.spec.selector !== null : matchesLabels(sel, labels);
    } catch {
      return false;
    }
  }

  private podChanged(pod: Pod): void {
    for (const pdb of this.pdbLister.list(pod.metadata?.namespace ?? '')) {
      if (this.selects(pdb, pod.metadata?.labels)) this.queue.add(objectKey(pdb));
    }
  }

  /** The finders: ReplicaSet (or its Deployment), ReplicationController, StatefulSet. */
  private scaleOf(ref: OwnerReference, namespace: string): ControllerScale | undefined {
    if (ref.kind === 'ReplicaSet' && ref.apiVersion.startsWith('apps/')) {
      const rs = this.rsLister.get(namespace, ref.name);
      if (!rs || rs.metadata?.uid !== ref.uid) return undefined;
      const parent = controllerRefOf(rs);
      if (parent?.kind === 'Deployment') {
        const d = this.deployLister.get(namespace, parent.name);
        if (!d || d.metadata?.uid !== parent.uid) return undefined;
        return { uid: d.metadata?.uid ?? '', scale: d.spec?.replicas ?? 1 };
      }
      return { uid: rs.metadata?.uid ?? '', scale: rs.spec?.replicas ?? 1 };
    }
    if (ref.kind === 'ReplicationController') {
      const rc = this.rcLister.get(namespace, ref.name);
      return rc && rc.metadata?.uid === ref.uid ? { uid: ref.uid, scale: rc.spec?.replicas ?? 1 } : undefined;
    }
    if (ref.kind === 'StatefulSet') {
      const s = this.stsLister.get(namespace, ref.name);
      return s && s.metadata?.uid === ref.uid ? { uid: ref.uid, scale: s.spec?.replicas ?? 1 } : undefined;
    }
    return undefined;
  }

  private event(pdb: PodDisruptionBudget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' }, { type, reason, message });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.pdbLister.get(namespace, name);
    if (!cached) return;
    const pdb = structuredClone(cached);
    const now = this.ctx.clock.now();
    try {
      const pods = this.podLister.list(namespace).filter((p) => this.selects(pdb, p.metadata?.labels));
      if (pods.length === 0) this.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
      let counts: ReturnType<typeof expectedPodCount>;
      try {
        counts = expectedPodCount(pdb, pods, (ref, ns) => this.scaleOf(ref, ns));
      } catch (e) {
        this.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
      if (counts.unmanaged.length > 0) {
        this.event(pdb, 'Warning', 'UnmanagedPods', `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`);
      }
      const { map, recheckAt } = disruptedPodMap(pods, pdb, now);
      const currentHealthy = countHealthy(pods, map);
      let allowed = currentHealthy - counts.desiredHealthy;
      if (counts.expected <= 0 || allowed <= 0) allowed = 0;
      await this.writeStatus(pdb, { currentHealthy, desiredHealthy: counts.desiredHealthy, expectedPods: counts.expected, disruptionsAllowed: allowed, disruptedPods: map }, now);
      return recheckAt !== undefined ? { requeueAfter: recheckAt - now } : undefined;
    } catch (e) {
      // failSafe: on any error no disruption is allowed.
      const status: PodDisruptionBudgetStatus = { ...(pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptionsAllowed: 0 }), disruptionsAllowed: 0 };
      status.conditions = withDisruptionAllowed(status.conditions, { status: 'False', reason: 'SyncFailed', message: e instanceof Error ? e.message : String(e), observedGeneration: status.observedGeneration }, now);
      await this.pdbClient.updateStatus({ ...pdb, status }, { namespace }).catch(() => undefined);
      throw e;
    }
  }

  private async writeStatus(pdb: PodDisruptionBudget, s: Omit<PodDisruptionBudgetStatus, 'conditions' | 'observedGeneration'>, nowMs: number): Promise<void> {
    const cur = pdb.status;
    const gen = pdb.metadata?.generation;
    const cond = s.disruptionsAllowed > 0 ? { status: 'True' as const, reason: 'SufficientPods' } : { status: 'False' as const, reason: 'InsufficientPods' };
    const curCond = cur?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    const condOk = curCond?.status === cond.status && curCond.reason === cond.reason && (curCond.observedGeneration ?? undefined) === gen;
    if (cur && cur.currentHealthy === s.currentHealthy && cur.desiredHealthy === s.desiredHealthy && cur.expectedPods === s.expectedPods
      && cur.disruptionsAllowed === s.disruptionsAllowed && JSON.stringify(cur.disruptedPods ?? {}) === JSON.stringify(s.disruptedPods ?? {})
      && cur.observedGeneration === gen && condOk) return;
    const status: PodDisruptionBudgetStatus = { ...s, observedGeneration: gen };
    if (Object.keys(s.disruptedPods ?? {}).length === 0) delete status.disruptedPods;
    status.conditions = withDisruptionAllowed(cur?.conditions, { ...cond, observedGeneration: gen }, nowMs);
    await this.pdbClient.updateStatus({ ...pdb, status }, { namespace: pdb.metadata?.namespace });
  }
}

/** The disruption controller. */
export function newDisruptionController(ctx: ControllerContext): Controller {
  return new DisruptionController(ctx);
}
