/**
 * The Deployment controller (pkg/controller/deployment): owns ReplicaSets named `<deployment>-<pod-template-hash>`,
 * rolls between them with the RollingUpdate (maxSurge/maxUnavailable) or Recreate strategy, scales proportionally,
 * keeps revision annotations (rollback = the template of an old ReplicaSet, which is then reused with a new
 * revision), honours pause, cleans up beyond revisionHistoryLimit, and reports the Available and Progressing
 * conditions, including ProgressDeadlineExceeded.
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import { deployments as deploymentsDef } from '../../api/apps/v1/deployment.ts';
import { replicaSets as replicaSetsDef } from '../../api/apps/v1/replica-set.ts';
import { pods as podsDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { claimObjects, controllerRefOf, newControllerRef } from '../common/controller-ref.ts';
import { computeHash } from './hash.ts';
import {
  activeReplicaSets, availableReplicaCount, byCreation, byRevision, bySizeNewer, bySizeOlder, calculateStatus, deploymentComplete,
  deploymentProgressing, deploymentTimedOut, desiredReplicasOf, equalIgnoreHash, findActiveOrLatest, findNewReplicaSet, findOldReplicaSets, getCondition,
  hasProgressDeadline, isRollingUpdate, isSaturated, maxRevision, maxSurge, maxUnavailable, newCondition, newRSNewReplicas, podTemplateHashLabel,
  proportion, reasons, removeCondition, replicaCount, revisionAnnotation, setCondition, setNewReplicaSetAnnotations, setReplicasAnnotations,
  specReplicas, statusEqual,
} from './util.ts';

const gvk = { apiVersion: 'apps/v1', kind: 'Deployment' };

/** One sync's view: the deployment (a private copy that follows our writes) and its ReplicaSets. */
interface Sync {
  d: Deployment;
  rsList: ReplicaSet[];
  podMap: Map<string, Pod[]>;
  /** A requeue the sync asks for (progress deadline checks). */
  requeueAfter?: number;
}

class DeploymentController implements Controller {
  readonly name = 'deployment';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly dLister: Lister<Deployment>;
  private readonly rsLister: Lister<ReplicaSet>;
  private readonly podLister: Lister<Pod>;
  private readonly dClient: ResourceClient<Deployment>;
  private readonly rsClient: ResourceClient<ReplicaSet>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('deployment', ctx.clock);
    this.workers = ctx.workers;
    const dInf = ctx.informers.informerFor<Deployment>(deploymentsDef);
    const rsInf = ctx.informers.informerFor<ReplicaSet>(replicaSetsDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    this.dLister = dInf.lister();
    this.rsLister = rsInf.lister();
    this.podLister = podInf.lister();
    this.dClient = ctx.client.resource<Deployment>(deploymentsDef);
    this.rsClient = ctx.client.resource<ReplicaSet>(replicaSetsDef);
    this.recorder = ctx.recorder('deployment-controller');

    dInf.addEventHandler({
      onAdd: (d) => this.queue.add(objectKey(d)),
      onUpdate: (_o, d) => this.queue.add(objectKey(d)),
      onDelete: (d) => this.queue.add(objectKey(isTombstone(d) ? d.obj : d)),
    });
    rsInf.addEventHandler({
      onAdd: (rs) => this.rsChanged(rs),
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        const oldRef = controllerRefOf(old);
        const curRef = controllerRefOf(cur);
        if (oldRef && oldRef.uid !== curRef?.uid) this.enqueueOwner(old);
        const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
        if (curRef) this.enqueueOwner(cur);
        else if (labelsChanged || oldRef) this.enqueueSelecting(cur);
      },
      onDelete: (rs) => this.enqueueOwner(isTombstone(rs) ? rs.obj : rs),
    });
    podInf.addEventHandler({
      // Recreate waits for the old pods to be gone.
      onDelete: (p) => {
        const pod = isTombstone(p) ? p.obj : p;
        const rsRef = controllerRefOf(pod);
        if (!rsRef || rsRef.kind !== 'ReplicaSet') return;
        const rs = this.rsLister.get(pod.metadata?.namespace ?? '', rsRef.name);
        if (rs) this.enqueueOwner(rs);
      },
    });
  }

  private rsChanged(rs: ReplicaSet): void {
    if (controllerRefOf(rs)) this.enqueueOwner(rs);
    else this.enqueueSelecting(rs);
  }

  private enqueueOwner(rs: ReplicaSet): void {
    const ref = controllerRefOf(rs);
    if (!ref || ref.kind !== 'Deployment') return;
    const d = this.dLister.get(rs.metadata?.namespace ?? '', ref.name);
    if (d && d.metadata?.uid === ref.uid) this.queue.add(objectKey(d));
  }

  /** getDeploymentsForReplicaSet: deployments whose selector matches an orphan ReplicaSet. */
  private enqueueSelecting(rs: ReplicaSet): void {
    const labels = rs.metadata?.labels;
    if (!labels) return;
    for (const d of this.dLister.list(rs.metadata?.namespace ?? '')) {
      try {
        const sel = labelSelectorFromMeta(d.spec?.selector);
        if (sel.length > 0 && matchesLabels(sel, labels)) this.queue.add(objectKey(d));
      } catch {
        // An invalid selector selects nothing.
      }
    }
  }

  private event(d: Deployment, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ ...d, ...gvk }, { type, reason, message });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.dLister.get(namespace, name);
    if (!cached) return;
    const d = structuredClone(cached);
    const sel = d.spec?.selector;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
      this.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        await this.dClient.updateStatus({ ...d, status: { ...(d.status ?? {}), observedGeneration: d.metadata?.generation } }, { namespace });
      }
      return;
    }
    let selector: ReturnType<typeof labelSelectorFromMeta>;
    try {
      selector = labelSelectorFromMeta(sel);
    } catch (e) {
      this.event(d, 'Warning', 'InvalidSelector', `invalid label selector: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const rsList = (await claimObjects<ReplicaSet>(this.rsLister.list(namespace), {
      owner: d,
      gvk,
      match: (rs) => matchesLabels(selector, rs.metadata?.labels),
      client: this.rsClient,
      canAdopt: async () => {
        const fresh = await this.dClient.get(name, { namespace });
        if (fresh.metadata?.uid !== d.metadata?.uid) throw new Error(`original Deployment ${namespace}/${name} is gone: got uid ${fresh.metadata?.uid}, wanted ${d.metadata?.uid}`);
        if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    })).map((rs) => structuredClone(rs));
    const podMap = new Map<string, Pod[]>();
    for (const rs of rsList) podMap.set(rs.metadata?.uid ?? '', []);
    for (const p of this.podLister.list(namespace)) {
      const r = controllerRefOf(p);
      if (r) podMap.get(r.uid)?.push(p);
    }
    const s: Sync = { d, rsList, podMap };
    if (d.metadata?.deletionTimestamp) {
      await this.syncStatusOnly(s);
      return;
    }
    await this.checkPausedConditions(s);
    if (d.spec?.paused) await this.sync(s);
    else if (await this.isScalingEvent(s)) await this.sync(s);
    else if (isRollingUpdate(d)) await this.rolloutRolling(s);
    else await this.rolloutRecreate(s);
    return s.requeueAfter !== undefined ? { requeueAfter: s.requeueAfter } : undefined;
  }

  // --- status ---------------------------------------------------------------------------------------------

  private async writeStatus(s: Sync, status: DeploymentStatus): Promise<void> {
    s.d = await this.dClient.updateStatus({ ...s.d, status }, { namespace: s.d.metadata?.namespace });
  }

  private async checkPausedConditions(s: Sync): Promise<void> {
    const d = s.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === reasons.TimedOut) return;
    const pausedExists = cond?.reason === reasons.PausedDeploy;
    const status: DeploymentStatus = structuredClone(d.status ?? {});
    const now = this.ctx.clock.now();
    if (d.spec?.paused && !pausedExists) setCondition(status, newCondition('Progressing', 'Unknown', reasons.PausedDeploy, 'Deployment is paused', now));
    else if (!d.spec?.paused && pausedExists) setCondition(status, newCondition('Progressing', 'Unknown', reasons.ResumedDeploy, 'Deployment is resumed', now));
    else return;
    await this.writeStatus(s, status);
  }

  private async syncStatusOnly(s: Sync): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.syncDeploymentStatus(s, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
  }

  private async syncDeploymentStatus(s: Sync, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const status = calculateStatus(allRSs, newRS, s.d, this.ctx.clock.now());
    if (statusEqual(s.d.status, status)) return;
    await this.writeStatus(s, status);
  }

  private async syncRolloutStatus(s: Sync, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const d = s.d;
    const now = this.ctx.clock.now();
    const status = calculateStatus(allRSs, newRS, d, now);
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const current = getCondition(d.status, 'Progressing');
    const isComplete = status.replicas === status.updatedReplicas && current?.reason === reasons.NewRSAvailable;
    if (hasProgressDeadline(d) && !isComplete) {
      if (deploymentComplete(d, status)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" has successfully progressed.` : `Deployment "${d.metadata?.name}" has successfully progressed.`;
        setCondition(status, newCondition('Progressing', 'True', reasons.NewRSAvailable, msg, now));
      } else if (deploymentProgressing(d, status)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" is progressing.` : `Deployment "${d.metadata?.name}" is progressing.`;
        const cond = newCondition('Progressing', 'True', reasons.ReplicaSetUpdated, msg, now);
        // Refresh lastUpdateTime even when status and reason stay the same: that is what keeps the deadline away.
        if (current) {
          if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, cond);
      } else if (deploymentTimedOut(d, status, now)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" has timed out progressing.` : `Deployment "${d.metadata?.name}" has timed out progressing.`;
        setCondition(status, newCondition('Progressing', 'False', reasons.TimedOut, msg, now));
      }
    }
    const failure = allRSs.map((rs) => rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True')).find((c) => c !== undefined);
    if (failure) setCondition(status, newCondition('ReplicaFailure', failure.status as 'True', failure.reason ?? '', failure.message ?? '', now));
    else removeCondition(status, 'ReplicaFailure');
    if (statusEqual(d.status, status)) {
      this.requeueStuck(s, status);
      return;
    }
    await this.writeStatus(s, status);
  }

  /** requeueStuckDeployment: look again just after the progress deadline would pass. */
  private requeueStuck(s: Sync, status: DeploymentStatus): void {
    const d = s.d;
    // The stored condition (whose lastUpdateTime moves only on progress) first; the one just computed when the stored
    // status has none yet, so that a Deployment whose pods never become ready is still looked at again.
    const cond = getCondition(d.status, 'Progressing') ?? getCondition(status, 'Progressing');
    if (!hasProgressDeadline(d) || !cond) return;
    if (deploymentComplete(d, status) || cond.reason === reasons.TimedOut) return;
    const at = Date.parse(cond.lastUpdateTime ?? '') + (d.spec?.progressDeadlineSeconds ?? 0) * 1000;
    if (Number.isNaN(at)) return;
    const after = at - this.ctx.clock.now();
    s.requeueAfter = after < 1000 ? 1000 : after + 1000;
  }

  // --- replica sets ---------------------------------------------------------------------------------------

  private async getAllReplicaSetsAndSyncRevision(s: Sync, createIfNotExisted: boolean): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const existing = findNewReplicaSet(s.d, s.rsList);
    const oldRSs = findOldReplicaSets(s.rsList, existing);
    const newRS = await this.getNewReplicaSet(s, existing, oldRSs, createIfNotExisted);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(s: Sync, existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const d = s.d;
    const ns = d.metadata?.namespace ?? '';
    const newRevision = maxRevision(oldRSs) + 1;
    const now = this.ctx.clock.now();
    if (existing) {
      const annotationsUpdated = setNewReplicaSetAnnotations(d, existing, { newRevision, exists: true });
      const mrsChanged = (existing.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      let rs = existing;
      if (annotationsUpdated || mrsChanged) {
        existing.spec = { ...existing.spec!, minReadySeconds: d.spec?.minReadySeconds ?? 0 };
        rs = await this.rsClient.update(existing, { namespace: ns });
        this.replaceRS(s, rs);
      }
      const status: DeploymentStatus = structuredClone(d.status ?? {});
      const needsUpdate = this.setDeploymentRevision(s, rs.metadata?.annotations?.[revisionAnnotation] ?? '');
      let condChanged = false;
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        setCondition(status, newCondition('Progressing', 'True', reasons.FoundNewRS, `Found new replica set "${rs.metadata?.name}"`, now));
        condChanged = true;
      }
      if (needsUpdate || condChanged) await this.writeStatus(s, status);
      return rs;
    }
    if (!create) return undefined;
    const template = structuredClone(d.spec?.template ?? {});
    const hash = computeHash(d.spec?.template, d.status?.collisionCount);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [podTemplateHashLabel]: hash } };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash };
    const fresh: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${d.metadata?.name}-${hash}`, namespace: ns, ownerReferences: [newControllerRef(d, gvk)], labels: template.metadata.labels },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const newReplicas = newRSNewReplicas(d, [...oldRSs, fresh], fresh);
    fresh.spec!.replicas = newReplicas;
    setNewReplicaSetAnnotations(d, fresh, { newRevision, exists: false });
    let created: ReplicaSet;
    let alreadyExists = false;
    try {
      created = await this.rsClient.create(fresh, { namespace: ns });
    } catch (e) {
      if (!isAlreadyExists(e)) {
        const status: DeploymentStatus = structuredClone(d.status ?? {});
        const msg = `Failed to create new replica set "${fresh.metadata?.name}": ${e instanceof Error ? e.message : String(e)}`;
        if (hasProgressDeadline(d)) setCondition(status, newCondition('Progressing', 'False', reasons.FailedRSCreate, msg, now));
        this.event(d, 'Warning', reasons.FailedRSCreate, msg);
        await this.writeStatus(s, status).catch(() => undefined);
        throw e;
      }
      // Our cache may just be behind: the existing one is ours if it has our controllerRef and template.
      const other = await this.rsClient.get(fresh.metadata!.name!, { namespace: ns });
      if (controllerRefOf(other)?.uid === d.metadata?.uid && equalIgnoreHash(other.spec?.template, d.spec?.template)) {
        created = other;
        alreadyExists = true;
      } else {
        const status: DeploymentStatus = structuredClone(d.status ?? {});
        status.collisionCount = (status.collisionCount ?? 0) + 1;
        await this.writeStatus(s, status);
        throw new Error(`found a hash collision for deployment "${d.metadata?.name}" - bumping collisionCount (${status.collisionCount - 1}->${status.collisionCount}) to resolve it`);
      }
    }
    s.rsList.push(created);
    if (!alreadyExists && newReplicas > 0) this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata?.name} from 0 to ${newReplicas}`);
    const status: DeploymentStatus = structuredClone(s.d.status ?? {});
    let needsUpdate = this.setDeploymentRevision(s, String(newRevision));
    if (!alreadyExists && hasProgressDeadline(d)) {
      setCondition(status, newCondition('Progressing', 'True', reasons.NewReplicaSet, `Created new replica set "${created.metadata?.name}"`, now));
      needsUpdate = true;
    }
    if (needsUpdate) await this.writeStatus(s, status);
    return created;
  }

  /** SetDeploymentRevision on our copy (written with the next status update, which keeps annotations). */
  private setDeploymentRevision(s: Sync, revision: string): boolean {
    const a = (s.d.metadata!.annotations ??= {});
    if (a[revisionAnnotation] === revision) return false;
    a[revisionAnnotation] = revision;
    return true;
  }

  private replaceRS(s: Sync, rs: ReplicaSet): void {
    const i = s.rsList.findIndex((r) => r.metadata?.uid === rs.metadata?.uid);
    if (i >= 0) s.rsList[i] = rs;
  }

  /** scaleReplicaSetAndRecordEvent. */
  private async scaleAndRecord(s: Sync, rs: ReplicaSet, newScale: number): Promise<boolean> {
    if (specReplicas(rs) === newScale) return false;
    return this.scaleReplicaSet(s, rs, newScale, specReplicas(rs) > newScale ? 'down' : 'up');
  }

  /** scaleReplicaSet: writes the size and the replicas annotations; mutates `rs` to the written object. */
  private async scaleReplicaSet(s: Sync, rs: ReplicaSet, newScale: number, op: string): Promise<boolean> {
    const d = s.d;
    const sizeChanged = specReplicas(rs) !== newScale;
    const copy = structuredClone(rs);
    const annotationsChanged = setReplicasAnnotations(copy, specReplicas(d), specReplicas(d) + maxSurge(d));
    if (!sizeChanged && !annotationsChanged) return false;
    const oldScale = specReplicas(rs);
    copy.spec = { ...copy.spec!, replicas: newScale };
    const updated = await this.rsClient.update(copy, { namespace: rs.metadata?.namespace });
    Object.assign(rs, updated);
    this.replaceRS(s, rs);
    if (sizeChanged) this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata?.name} from ${oldScale} to ${newScale}`);
    return sizeChanged;
  }

  // --- sync (scaling, paused) -----------------------------------------------------------------------------

  private async isScalingEvent(s: Sync): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    for (const rs of activeReplicaSets([...oldRSs, newRS])) {
      const desired = desiredReplicasOf(rs);
      if (desired === undefined) continue;
      if (desired !== specReplicas(s.d)) return true;
    }
    return false;
  }

  private async sync(s: Sync): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.scale(s, newRS, oldRSs);
    if (s.d.spec?.paused) await this.cleanupDeployment(s, oldRSs);
    await this.syncDeploymentStatus(s, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
  }

  private async scale(s: Sync, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const d = s.d;
    const target = findActiveOrLatest(newRS, oldRSs);
    if (target) {
      if (specReplicas(target) === specReplicas(d)) return;
      await this.scaleAndRecord(s, target, specReplicas(d));
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) await this.scaleAndRecord(s, old, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const all = activeReplicaSets([...oldRSs, newRS]);
    const current = replicaCount(all);
    const allowed = specReplicas(d) > 0 ? specReplicas(d) + maxSurge(d) : 0;
    const toAdd = allowed - current;
    let op = '';
    if (toAdd > 0) {
      all.sort(bySizeNewer);
      op = 'up';
    } else if (toAdd < 0) {
      all.sort(bySizeOlder);
      op = 'down';
    }
    let added = 0;
    const sizes = new Map<ReplicaSet, number>();
    for (const rs of all) {
      if (toAdd !== 0) {
        const p = proportion(rs, d, { toAdd, added });
        sizes.set(rs, specReplicas(rs) + p);
        added += p;
      } else sizes.set(rs, specReplicas(rs));
    }
    for (let i = 0; i < all.length; i++) {
      const rs = all[i]!;
      if (i === 0 && toAdd !== 0) sizes.set(rs, Math.max(0, (sizes.get(rs) ?? 0) + toAdd - added));
      await this.scaleReplicaSet(s, rs, sizes.get(rs) ?? 0, op);
    }
  }

  /** cleanupDeployment: delete old, fully scaled-down ReplicaSets beyond revisionHistoryLimit, lowest revision first. */
  private async cleanupDeployment(s: Sync, oldRSs: ReplicaSet[]): Promise<void> {
    const limit = s.d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp).sort(byRevision);
    const diff = cleanable.length - limit;
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i]!;
      if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.rsClient.delete(rs.metadata?.name ?? '', { namespace: rs.metadata?.namespace, preconditions: { uid: rs.metadata?.uid } });
      } catch (e) {
        if (!(e instanceof Error && /not found|NotFound/.test(e.message))) throw e;
      }
    }
  }

  // --- rolling update -------------------------------------------------------------------------------------

  private async rolloutRolling(s: Sync): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true);
    const rs = newRS!;
    const all = (): ReplicaSet[] => [...oldRSs, rs];
    if (await this.reconcileNewReplicaSet(s, all(), rs)) {
      await this.syncRolloutStatus(s, all(), rs);
      return;
    }
    if (await this.reconcileOldReplicaSets(s, all(), activeReplicaSets(oldRSs), rs)) {
      await this.syncRolloutStatus(s, all(), rs);
      return;
    }
    if (deploymentComplete(s.d, s.d.status ?? {})) await this.cleanupDeployment(s, oldRSs);
    await this.syncRolloutStatus(s, all(), rs);
  }

  private async reconcileNewReplicaSet(s: Sync, allRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const d = s.d;
    if (specReplicas(newRS) === specReplicas(d)) return false;
    if (specReplicas(newRS) > specReplicas(d)) return this.scaleAndRecord(s, newRS, specReplicas(d));
    return this.scaleAndRecord(s, newRS, newRSNewReplicas(d, allRSs, newRS));
  }

  private async reconcileOldReplicaSets(s: Sync, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const d = s.d;
    if (replicaCount(oldRSs) === 0) return false;
    const allPods = replicaCount(allRSs);
    const minAvailable = specReplicas(d) - maxUnavailable(d);
    const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const cleaned = await this.cleanupUnhealthyReplicas(s, oldRSs, maxScaledDown);
    const scaled = await this.scaleDownOldForRollingUpdate(s, [...oldRSs, newRS], oldRSs);
    return cleaned + scaled > 0;
  }

  /** cleanupUnhealthyReplicas: first remove old replicas that are not available anyway. */
  private async cleanupUnhealthyReplicas(s: Sync, oldRSs: ReplicaSet[], maxCleanup: number): Promise<number> {
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= maxCleanup) break;
      const replicas = specReplicas(rs);
      const available = rs.status?.availableReplicas ?? 0;
      if (replicas === 0 || replicas === available) continue;
      const down = Math.min(maxCleanup - total, replicas - available);
      await this.scaleAndRecord(s, rs, replicas - down);
      total += down;
    }
    return total;
  }

  /** scaleDownOldReplicaSetsForRollingUpdate: scale old ones down while availability stays above the minimum. */
  private async scaleDownOldForRollingUpdate(s: Sync, allRSs: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
    const d = s.d;
    const minAvailable = specReplicas(d) - maxUnavailable(d);
    const available = availableReplicaCount(allRSs);
    if (available <= minAvailable) return 0;
    const totalDown = available - minAvailable;
    let done = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (done >= totalDown) break;
      if (specReplicas(rs) === 0) continue;
      const down = Math.min(specReplicas(rs), totalDown - done);
      await this.scaleAndRecord(s, rs, specReplicas(rs) - down);
      done += down;
    }
    return done;
  }

  // --- recreate -------------------------------------------------------------------------------------------

  private async rolloutRecreate(s: Sync): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    const all = (): ReplicaSet[] => [...oldRSs, ...(newRS ? [newRS] : [])];
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) if (await this.scaleAndRecord(s, rs, 0)) scaledDown = true;
    if (scaledDown) {
      await this.syncRolloutStatus(s, all(), newRS);
      return;
    }
    if (this.oldPodsRunning(s, newRS, oldRSs)) {
      await this.syncRolloutStatus(s, all(), newRS);
      return;
    }
    if (!newRS) ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true));
    if (newRS) await this.scaleAndRecord(s, newRS, specReplicas(s.d));
    if (deploymentComplete(s.d, s.d.status ?? {})) await this.cleanupDeployment(s, oldRSs);
    await this.syncRolloutStatus(s, all(), newRS);
  }

  private oldPodsRunning(s: Sync, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
    if (oldRSs.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0) > 0) return true;
    for (const [uid, pods] of s.podMap) {
      if (newRS && newRS.metadata?.uid === uid) continue;
      for (const p of pods) if (p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded') return true;
    }
    return false;
  }
}

/** The Deployment controller. */
export function newDeploymentController(ctx: ControllerContext): Controller {
  return new DeploymentController(ctx);
}
