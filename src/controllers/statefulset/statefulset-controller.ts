/**
 * The StatefulSet controller (pkg/controller/statefulset): pods `<set>-<ordinal>` with stable identity, created in
 * order and deleted in reverse (OrderedReady: one at a time, each waiting for its predecessors to be Running and
 * Ready) or all at once (Parallel); failed or finished pods recreated; RollingUpdate from the highest ordinal down
 * to the partition, or OnDelete; ControllerRevisions recording each template (pods labelled with the revision
 * name); PVCs `<claim>-<set>-<ordinal>` from volumeClaimTemplates (left Pending: no volume provisioning here), owned
 * as persistentVolumeClaimRetentionPolicy says so that the garbage collector deletes them with the set (whenDeleted)
 * or with their scaled-down pod (whenScaled).
 */
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import { statefulSets as setsDef } from '../../api/apps/v1/stateful-set.ts';
import { controllerRevisions as revisionsDef } from '../../api/apps/v1/controller-revision.ts';
import { persistentvolumeclaims as pvcsDef, pods as podsDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { claimObjects, controllerRefOf } from '../common/controller-ref.ts';
import { createRevision, findEqualRevisions, equalRevision, newControllerRevision, nextRevision, sortRevisions, templatePatch } from '../history/controller-history.ts';
import { isPodReady } from '../common/pods.ts';
import {
  applyRevision, claimOwnerRefsFor, claimsFor, completeRollingUpdate, hasStaleOwnerRef, hasUnexpectedController, identityMatches, isClaimOwnerUpToDate,
  isCreated, isHealthy, isMemberOf, isRunningAndAvailable, isRunningAndReady, isTerminating, newVersionedPod, ordinalOf, podIndexLabel, podNameLabel,
  podRevision, replicaCounts, retentionPolicy, startOrdinal,
} from './stateful-pods.ts';

const gvk = { apiVersion: 'apps/v1', kind: 'StatefulSet' };

/** One sync's view of the set. */
interface SetSync {
  set: StatefulSet;
  currentSet: StatefulSet;
  updateSet: StatefulSet;
  current: ControllerRevision;
  update: ControllerRevision;
  monotonic: boolean;
  now: number;
}

class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly setLister: Lister<StatefulSet>;
  private readonly podLister: Lister<Pod>;
  private readonly revLister: Lister<ControllerRevision>;
  private readonly pvcLister: Lister<PersistentVolumeClaim>;
  private readonly setClient: ResourceClient<StatefulSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly revClient: ResourceClient<ControllerRevision>;
  private readonly pvcClient: ResourceClient<PersistentVolumeClaim>;
  private readonly recorder: EventRecorder;
  private readonly pvRecorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('statefulset', ctx.clock);
    this.workers = ctx.workers;
    const setInf = ctx.informers.informerFor<StatefulSet>(setsDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    const revInf = ctx.informers.informerFor<ControllerRevision>(revisionsDef);
    const pvcInf = ctx.informers.informerFor<PersistentVolumeClaim>(pvcsDef);
    this.setLister = setInf.lister();
    this.podLister = podInf.lister();
    this.revLister = revInf.lister();
    this.pvcLister = pvcInf.lister();
    this.setClient = ctx.client.resource<StatefulSet>(setsDef);
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.revClient = ctx.client.resource<ControllerRevision>(revisionsDef);
    this.pvcClient = ctx.client.resource<PersistentVolumeClaim>(pvcsDef);
    this.recorder = ctx.recorder('statefulset-controller');
    this.pvRecorder = ctx.recorder('persistentvolume-controller');
    setInf.addEventHandler({
      onAdd: (s) => this.queue.add(objectKey(s)),
      onUpdate: (_o, s) => this.queue.add(objectKey(s)),
      onDelete: (s) => this.queue.add(objectKey(isTombstone(s) ? s.obj : s)),
    });
    podInf.addEventHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        const oldRef = controllerRefOf(old);
        if (oldRef && oldRef.uid !== controllerRefOf(cur)?.uid) this.podChanged(old);
        this.podChanged(cur);
        const set = this.owner(cur);
        const mrs = set?.spec?.minReadySeconds ?? 0;
        if (set && mrs > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(objectKey(set), mrs * 1000);
      },
      onDelete: (p) => this.podChanged(isTombstone(p) ? p.obj : p),
    });
  }

  private owner(pod: Pod): StatefulSet | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'StatefulSet') return undefined;
    const s = this.setLister.get(pod.metadata?.namespace ?? '', ref.name);
    return s && s.metadata?.uid === ref.uid ? s : undefined;
  }

  private podChanged(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (ref) {
      const s = this.owner(pod);
      if (s) this.queue.add(objectKey(s));
      return;
    }
    const labels = pod.metadata?.labels;
    if (!labels) return;
    for (const s of this.setLister.list(pod.metadata?.namespace ?? '')) {
      try {
        const sel = labelSelectorFromMeta(s.spec?.selector);
        if (sel.length > 0 && matchesLabels(sel, labels)) this.queue.add(objectKey(s));
      } catch {
        // An invalid selector selects nothing.
      }
    }
  }

  private event(set: StatefulSet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ ...set, ...gvk }, { type, reason, message });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.setLister.get(namespace, name);
    if (!cached) return;
    const set = structuredClone(cached);
    let sel: ReturnType<typeof labelSelectorFromMeta>;
    try {
      sel = labelSelectorFromMeta(set.spec?.selector);
    } catch (e) {
      this.event(set, 'Warning', 'InvalidSelector', `Error parsing selector: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (sel.length === 0) {
      this.event(set, 'Warning', 'SelectingAll', 'This statefulset is selecting all pods. A non-empty selector is required.');
      return;
    }
    const match = (o: { metadata?: { labels?: Record<string, string> } }): boolean => matchesLabels(sel, o.metadata?.labels);
    const canAdopt = async (): Promise<void> => {
      const fresh = await this.setClient.get(name, { namespace });
      if (fresh.metadata?.uid !== set.metadata?.uid) throw new Error(`original StatefulSet ${namespace}/${name} is gone: got uid ${fresh.metadata?.uid}, wanted ${set.metadata?.uid}`);
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    };
    const revisions = await claimObjects<ControllerRevision>(this.revLister.list(namespace), { owner: set, gvk, match, client: this.revClient, canAdopt });
    const pods = await claimObjects<Pod>(this.podLister.list(namespace).filter((p) => isMemberOf(set, p) || controllerRefOf(p)?.uid === set.metadata?.uid), {
      owner: set, gvk, match: (p) => match(p) && isMemberOf(set, p), client: this.podClient, canAdopt,
    });
    const { current, update, collisionCount } = await this.revisionsFor(set, revisions);
    const s: SetSync = {
      set,
      currentSet: applyRevision(set, current),
      updateSet: applyRevision(set, update),
      current,
      update,
      monotonic: (set.spec?.podManagementPolicy ?? 'OrderedReady') !== 'Parallel',
      now: this.ctx.clock.now(),
    };
    const status = await this.updateStatefulSet(s, pods);
    status.observedGeneration = set.metadata?.generation;
    status.collisionCount = collisionCount;
    status.currentRevision = current.metadata?.name;
    status.updateRevision = update.metadata?.name;
    completeRollingUpdate(set, status);
    if (statusChanged(set.status, status)) {
      await this.setClient.updateStatus({ ...set, status: { ...(set.status ?? {}), ...status } }, { namespace });
    }
    await this.truncateHistory(set, pods, revisions, current, update);
    const mrs = set.spec?.minReadySeconds ?? 0;
    if (mrs > 0 && status.readyReplicas !== status.availableReplicas) return { requeueAfter: mrs * 1000 };
  }

  /** getStatefulSetRevisions: the current and update revisions, creating or re-numbering the update one. */
  private async revisionsFor(set: StatefulSet, owned: ControllerRevision[]): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    const revisions = sortRevisions(owned);
    let collisionCount = set.status?.collisionCount ?? 0;
    const candidate = newControllerRevision(set, {
      gvk, labels: { ...(set.spec?.template?.metadata?.labels ?? {}) }, data: templatePatch(set.spec?.template), revision: nextRevision(revisions), collisionCount,
    });
    const equal = findEqualRevisions(revisions, candidate);
    let update: ControllerRevision;
    const last = revisions[revisions.length - 1];
    if (equal.length > 0 && equalRevision(last, equal[equal.length - 1])) {
      update = last!;
    } else if (equal.length > 0) {
      // Back to an older template: that revision becomes the newest again.
      const old = equal[equal.length - 1]!;
      update = await this.revClient.update({ ...old, revision: candidate.revision }, { namespace: old.metadata?.namespace });
    } else {
      const r = await createRevision(this.revClient, candidate, collisionCount);
      update = r.revision;
      collisionCount = r.collisionCount;
    }
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  private async createPod(s: SetSync, pod: Pod): Promise<void> {
    const set = s.set;
    const ordinal = ordinalOf(pod);
    for (const claim of claimsFor(set, ordinal)) {
      if (this.pvcLister.get(set.metadata?.namespace ?? '', claim.metadata?.name ?? '')) continue;
      try {
        const created = await this.pvcClient.create(claim, { namespace: set.metadata?.namespace });
        this.event(set, 'Normal', 'SuccessfulCreate', `create Claim ${claim.metadata?.name} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} success`);
        this.pendingClaimEvent(created);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.event(set, 'Warning', 'FailedCreate', `create Claim ${claim.metadata?.name} for Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
    }
    let created: Pod;
    try {
      created = await this.podClient.create(pod, { namespace: set.metadata?.namespace });
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.event(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    // Claims kept from an earlier pod (or a changed policy) are owned as the policy says as soon as possible.
    await this.updateClaimsForRetentionPolicy(set, created);
    this.event(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`);
  }

  /** ClaimsMatchRetentionPolicy over the claims in the cache (a missing claim is picked up by a later sync). */
  private claimsMatchRetentionPolicy(set: StatefulSet, pod: Pod): boolean {
    const ns = set.metadata?.namespace ?? '';
    for (const want of claimsFor(set, ordinalOf(pod))) {
      const claim = this.pvcLister.get(ns, want.metadata?.name ?? '');
      if (claim && !isClaimOwnerUpToDate(claim, set, pod)) return false;
    }
    return true;
  }

  /** UpdatePodClaimForRetentionPolicy: rewrites the ownerReferences of the pod's claims that do not follow the policy. */
  private async updateClaimsForRetentionPolicy(set: StatefulSet, pod: Pod): Promise<void> {
    const ns = set.metadata?.namespace ?? '';
    for (const want of claimsFor(set, ordinalOf(pod))) {
      const name = want.metadata?.name ?? '';
      const claim = this.pvcLister.get(ns, name);
      if (!claim) continue;
      if (hasUnexpectedController(claim, set, pod)) {
        this.event(set, 'Warning', 'ConflictingController', `PersistentVolumeClaim ${name} has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim`);
      }
      if (isClaimOwnerUpToDate(claim, set, pod)) continue;
      const refs = claimOwnerRefsFor(claim, set, pod);
      try {
        await this.pvcClient.update({ ...claim, metadata: { ...claim.metadata, ownerReferences: refs } }, { namespace: ns });
      } catch (e) {
        if (isNotFound(e)) continue;
        throw new Error(`could not update claim ${name} for delete policy ownerRefs: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** PodClaimIsStale: under whenScaled=Delete, a claim still owned by a previous pod of this name blocks its successor. */
  private podClaimIsStale(set: StatefulSet, pod: Pod): boolean {
    if (retentionPolicy(set).whenScaled === 'Retain') return false;
    const ns = set.metadata?.namespace ?? '';
    return claimsFor(set, ordinalOf(pod)).some((want) => {
      const claim = this.pvcLister.get(ns, want.metadata?.name ?? '');
      return claim !== undefined && hasStaleOwnerRef(claim, pod, { apiVersion: 'v1', kind: 'Pod' });
    });
  }

  /**
   * There is no volume binder or provisioner: a new claim stays Pending. Say why on the claim, as the
   * persistentvolume-controller would.
   */
  private pendingClaimEvent(claim: PersistentVolumeClaim): void {
    const sc = claim.spec?.storageClassName;
    const subject = { ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' };
    if (!sc) this.pvRecorder.event(subject, { type: 'Normal', reason: 'FailedBinding', message: 'no persistent volumes available for this claim and no storage class is set' });
    else this.pvRecorder.event(subject, { type: 'Warning', reason: 'ProvisioningFailed', message: `storageclass.storage.k8s.io "${sc}" not found` });
  }

  private async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.podClient.delete(pod.metadata?.name ?? '', { namespace: set.metadata?.namespace, preconditions: pod.metadata?.uid ? { uid: pod.metadata.uid } : undefined });
    } catch (e) {
      if (isNotFound(e)) return;
      this.event(set, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    this.event(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`);
  }

  /** processReplica: true when the sync must stop here (monotonic waits or an error). */
  private async processReplica(s: SetSync, replicas: Pod[], i: number): Promise<boolean> {
    const set = s.set;
    let pod = replicas[i]!;
    const ns = set.metadata?.namespace ?? '';
    if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') {
      if (pod.status.phase === 'Failed') this.event(set, 'Warning', 'RecreatingFailedPod', `StatefulSet ${ns}/${set.metadata?.name} is recreating failed Pod ${pod.metadata?.name}`);
      else this.event(set, 'Normal', 'RecreatingTerminatedPod', `StatefulSet ${ns}/${set.metadata?.name} is recreating terminated Pod ${pod.metadata?.name}`);
      await this.deletePod(set, pod);
      // The old pod must be gone before its name can be reused: the next sync creates it.
      return true;
    }
    if (!isCreated(pod)) {
      // The claim is about to be collected with the pod that owned it: wait rather than mount it.
      if (this.podClaimIsStale(set, pod)) return true;
      await this.createPod(s, pod);
      return s.monotonic;
    }
    if (pod.status?.phase === 'Pending') {
      for (const claim of claimsFor(set, ordinalOf(pod))) {
        if (this.pvcLister.get(ns, claim.metadata?.name ?? '')) continue;
        try {
          this.pendingClaimEvent(await this.pvcClient.create(claim, { namespace: ns }));
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
      }
    }
    if (isTerminating(pod) && s.monotonic) return true;
    if (!isRunningAndReady(pod) && s.monotonic) return true;
    if (!isRunningAndAvailable(pod, set.spec?.minReadySeconds ?? 0, s.now) && s.monotonic) return true;
    if (!isTerminating(pod) && !this.claimsMatchRetentionPolicy(s.updateSet, pod)) await this.updateClaimsForRetentionPolicy(s.updateSet, pod);
    if (identityMatches(set, pod) || isTerminating(pod)) return false;
    // Restore the identity labels (the spec parts of identity and storage are immutable on a pod).
    pod = await this.podClient.patch(pod.metadata?.name ?? '', {
      metadata: { labels: { [podNameLabel]: pod.metadata?.name ?? '', [podIndexLabel]: String(ordinalOf(pod)) } },
    }, { type: 'merge', namespace: ns });
    replicas[i] = pod;
    this.event(set, 'Normal', 'SuccessfulUpdate', `update Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} successful`);
    return false;
  }

  /** updateStatefulSet: replicas in ordinal order, then condemned pods in reverse, then the rolling update. */
  private async updateStatefulSet(s: SetSync, pods: Pod[]): Promise<StatefulSetStatus> {
    const set = s.set;
    const replicaCount = set.spec?.replicas ?? 1;
    const start = startOrdinal(set);
    const end = start + replicaCount;
    const replicas: (Pod | undefined)[] = new Array<Pod | undefined>(replicaCount).fill(undefined);
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(p);
      if (ord >= start && ord < end) replicas[ord - start] = p;
      else if (ord >= 0) condemned.push(p);
    }
    const currentName = s.current.metadata?.name ?? '';
    const updateName = s.update.metadata?.name ?? '';
    const counts = replicaCounts(pods, { minReadySeconds: set.spec?.minReadySeconds ?? 0, currentRevision: currentName, updateRevision: updateName, nowMs: s.now });
    const status: StatefulSetStatus = { ...counts, availableReplicas: counts.availableReplicas };
    const full: Pod[] = replicas.map((p, i) => p ?? newVersionedPod({ currentSet: s.currentSet, updateSet: s.updateSet, currentRevision: currentName, updateRevision: updateName, ordinal: start + i }));
    condemned.sort((a, b) => ordinalOf(a) - ordinalOf(b));
    let firstUnhealthy: Pod | undefined = full.find((p) => !isHealthy(p));
    if (!firstUnhealthy) for (let i = condemned.length - 1; i >= 0 && !firstUnhealthy; i--) if (!isHealthy(condemned[i]!)) firstUnhealthy = condemned[i];
    if (set.metadata?.deletionTimestamp) return status;

    // Claims of scaled-down pods pass to the pod (whenScaled=Delete) before the pod goes, so they go with it.
    for (const pod of condemned) {
      if (!this.claimsMatchRetentionPolicy(s.updateSet, pod)) await this.updateClaimsForRetentionPolicy(s.updateSet, pod);
    }

    if (s.monotonic) {
      for (let i = 0; i < full.length; i++) if (await this.processReplica(s, full, i)) return status;
    } else {
      const results = await Promise.allSettled(full.map((_p, i) => this.processReplica(s, full, i)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    if (s.monotonic) {
      for (let t = condemned.length - 1; t >= 0; t--) {
        const pod = condemned[t]!;
        if (isTerminating(pod)) return status;
        if (!isRunningAndReady(pod) && pod !== firstUnhealthy) return status;
        if (!isRunningAndAvailable(pod, set.spec?.minReadySeconds ?? 0, s.now) && pod !== firstUnhealthy) return status;
        await this.deletePod(set, pod);
        return status;
      }
    } else {
      const results = await Promise.allSettled(condemned.filter((p) => !isTerminating(p)).map((p) => this.deletePod(set, p)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    const strategy = set.spec?.updateStrategy;
    if (strategy?.type === 'OnDelete') return status;
    const updateMin = strategy?.rollingUpdate?.partition ?? 0;
    for (let target = full.length - 1; target >= updateMin; target--) {
      const pod = full[target]!;
      if (podRevision(pod) !== updateName && !isTerminating(pod)) {
        if (isCreated(pod)) {
          await this.deletePod(set, pod);
          status.currentReplicas = (status.currentReplicas ?? 0) - 1;
        }
        return status;
      }
      if (!isHealthy(pod)) return status;
    }
    return status;
  }

  /** truncateHistory: delete the oldest revisions no pod uses beyond revisionHistoryLimit. */
  private async truncateHistory(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const live = new Set<string>([current.metadata?.name ?? '', update.metadata?.name ?? '', ...pods.map(podRevision)]);
    const history = sortRevisions(revisions).filter((r) => !live.has(r.metadata?.name ?? ''));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    if (history.length <= limit) return;
    for (const r of history.slice(0, history.length - limit)) {
      await this.revClient.delete(r.metadata?.name ?? '', { namespace: r.metadata?.namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }
}

/** inconsistentStatus: any field the controller writes differs (missing numbers count as 0). */
export function statusChanged(a: StatefulSetStatus | undefined, b: StatefulSetStatus): boolean {
  const n = (v: number | undefined | null): number => v ?? 0;
  return n(a?.observedGeneration) !== n(b.observedGeneration) || n(a?.replicas) !== n(b.replicas) || n(a?.readyReplicas) !== n(b.readyReplicas)
    || n(a?.currentReplicas) !== n(b.currentReplicas) || n(a?.updatedReplicas) !== n(b.updatedReplicas) || n(a?.availableReplicas) !== n(b.availableReplicas)
    || (a?.currentRevision ?? '') !== (b.currentRevision ?? '') || (a?.updateRevision ?? '') !== (b.updateRevision ?? '') || n(a?.collisionCount) !== n(b.collisionCount);
}

/** The StatefulSet controller. */
export function newStatefulSetController(ctx: ControllerContext): Controller {
  return new StatefulSetController(ctx);
}
