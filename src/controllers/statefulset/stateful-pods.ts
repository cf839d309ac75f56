/**
 * StatefulSet pod identity and status as pure functions (pkg/controller/statefulset/stateful_set_utils.go): pod
 * names `<set>-<ordinal>`, the pod-name / pod-index / controller-revision-hash labels, hostname and subdomain, PVC
 * names `<claim>-<set>-<ordinal>` and the volumes that mount them, the ownerReferences that carry the
 * persistentVolumeClaimRetentionPolicy, and the replica counts of the status.
 */
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isPodAvailable, isPodReady } from '../common/pods.ts';
import { controllerRevisionHashLabel, templateOf } from '../history/controller-history.ts';
import { newControllerRef } from '../common/controller-ref.ts';

/** apps.StatefulSetPodNameLabel. */
export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
/** apps.PodIndexLabel. */
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

const gvk = { apiVersion: 'apps/v1', kind: 'StatefulSet' };

/** getStartOrdinal: spec.ordinals.start (0 by default). */
export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

/** getParentNameAndOrdinal: the set name and ordinal a pod name encodes, or ordinal -1. */
export function parentAndOrdinal(podName: string): { parent: string; ordinal: number } {
  const m = /^(.*)-([0-9]+)$/.exec(podName);
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1]!, ordinal: Number.isSafeInteger(n) ? n : -1 };
}

/** getOrdinal. */
export function ordinalOf(pod: Pod): number {
  return parentAndOrdinal(pod.metadata?.name ?? '').ordinal;
}

/** isMemberOf: the pod's name is `<set>-<ordinal>`. */
export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  return parentAndOrdinal(pod.metadata?.name ?? '').parent === set.metadata?.name;
}

/** getPodName. */
export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata?.name ?? ''}-${ordinal}`;
}

/** getPersistentVolumeClaimName. */
export function claimName(set: StatefulSet, claim: string, ordinal: number): string {
  return `${claim}-${set.metadata?.name ?? ''}-${ordinal}`;
}

/** getPodRevision: the pod's controller-revision-hash label (a revision name for StatefulSets). */
export function podRevision(pod: Pod): string {
  return pod.metadata?.labels?.[controllerRevisionHashLabel] ?? '';
}

/** isCreated: the pod has a phase (the API server sets Pending on create). */
export function isCreated(pod: Pod): boolean {
  return !!pod.status?.phase;
}

/** isTerminating. */
export function isTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp;
}

/** isRunningAndReady. */
export function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/** isRunningAndAvailable. */
export function isRunningAndAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  return pod.status?.phase === 'Running' && isPodAvailable(pod, minReadySeconds, nowMs);
}

/** isHealthy: running, ready and not terminating. */
export function isHealthy(pod: Pod): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/** identityMatches: name, namespace and the pod-name / pod-index labels. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata?.name ?? '');
  return ordinal >= 0 && parent === set.metadata?.name && pod.metadata?.namespace === set.metadata?.namespace
    && pod.metadata?.labels?.[podNameLabel] === pod.metadata?.name && pod.metadata?.labels?.[podIndexLabel] === String(ordinal);
}

/** The PVCs a pod of the set uses, by template name (getPersistentVolumeClaims), owned as the retention policy says for an in-range pod. */
export function claimsFor(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const match = set.spec?.selector?.matchLabels ?? {};
  const pod: Pod = { metadata: { name: podName(set, ordinal), namespace: set.metadata?.namespace } };
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => {
    const { status: _status, ...rest } = structuredClone(t);
    void _status;
    const claim: PersistentVolumeClaim = { ...rest, apiVersion: 'v1', kind: 'PersistentVolumeClaim' };
    const tplName = t.metadata?.name ?? '';
    claim.metadata = { ...(claim.metadata ?? {}), name: claimName(set, tplName, ordinal), namespace: set.metadata?.namespace, labels: { ...(claim.metadata?.labels ?? {}), ...match } };
    const refs = claimOwnerRefsFor(claim, set, pod);
    if (refs.length > 0) claim.metadata.ownerReferences = refs;
    return claim;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// persistentVolumeClaimRetentionPolicy (StatefulSetAutoDeletePVC, GA in 1.32): who owns a pod's claims

/** The effective retention policy: Retain for whatever is not set (getPersistentVolumeClaimRetentionPolicy). */
export function retentionPolicy(set: StatefulSet): { whenDeleted: string; whenScaled: string } {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: p?.whenDeleted ?? 'Retain', whenScaled: p?.whenScaled ?? 'Retain' };
}

/** podInOrdinalRange: the pod's ordinal is one the set's replicas still cover. */
export function podInOrdinalRange(pod: Pod, set: StatefulSet): boolean {
  const ordinal = ordinalOf(pod);
  const start = startOrdinal(set);
  return ordinal >= start && ordinal < start + (set.spec?.replicas ?? 1);
}

const podGvk = { apiVersion: 'v1', kind: 'Pod' };
type Owner = { metadata?: { name?: string; uid?: string } };

/** matchesRef: same apiVersion, kind and name (whatever the uid). */
function matchesRef(ref: OwnerReference, owner: Owner, kind: { apiVersion: string; kind: string }): boolean {
  return ref.apiVersion === kind.apiVersion && ref.kind === kind.kind && ref.name === (owner.metadata?.name ?? '');
}

/** hasOwnerRef: a reference with the owner's uid (an owner not created yet has none). */
function hasOwnerRef(claim: PersistentVolumeClaim, owner: Owner): boolean {
  const uid = owner.metadata?.uid ?? '';
  return (claim.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);
}

/** hasStaleOwnerRef: the first reference naming the owner carries another uid (a deleted predecessor). */
export function hasStaleOwnerRef(claim: PersistentVolumeClaim, owner: Owner, kind: { apiVersion: string; kind: string }): boolean {
  const ref = (claim.metadata?.ownerReferences ?? []).find((r) => matchesRef(r, owner, kind));
  return ref !== undefined && ref.uid !== (owner.metadata?.uid ?? '');
}

/** hasUnexpectedController: under a deleting policy, a controller other than this set or pod (or a stale one of them). */
export function hasUnexpectedController(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  const policy = retentionPolicy(set);
  if (policy.whenScaled === 'Retain' && policy.whenDeleted === 'Retain') return false;
  for (const ref of claim.metadata?.ownerReferences ?? []) {
    if (matchesRef(ref, set, gvk)) {
      if (ref.uid !== set.metadata?.uid) return true;
      continue;
    }
    if (matchesRef(ref, pod, podGvk)) {
      if (ref.uid !== (pod.metadata?.uid ?? '')) return true;
      continue;
    }
    if (ref.controller === true) return true;
  }
  return false;
}

/** hasNonControllerOwner: the set or pod owns the claim without being marked its controller (older controllers did). */
function hasNonControllerOwner(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  return (claim.metadata?.ownerReferences ?? []).some((r) => (r.uid === set.metadata?.uid || r.uid === (pod.metadata?.uid ?? '')) && r.controller !== true);
}

/**
 * isClaimOwnerUpToDate: the claim's references follow the policy — Retain/Retain none; whenDeleted=Delete the set;
 * whenScaled=Delete the pod once it is scaled down (and then not the set). Stale references and foreign controllers
 * are left alone (the garbage collector or their owner handles them).
 */
export function isClaimOwnerUpToDate(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  if (hasStaleOwnerRef(claim, set, gvk) || hasStaleOwnerRef(claim, pod, podGvk)) return true;
  if (hasUnexpectedController(claim, set, pod)) return !(hasOwnerRef(claim, set) || hasOwnerRef(claim, pod));
  if (hasNonControllerOwner(claim, set, pod)) return false;
  const policy = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  const wantSet = policy.whenDeleted === 'Delete' && (policy.whenScaled !== 'Delete' || !scaledDown);
  const wantPod = policy.whenScaled === 'Delete' && scaledDown;
  return hasOwnerRef(claim, set) === wantSet && hasOwnerRef(claim, pod) === wantPod;
}

/**
 * updateClaimOwnerRefForSetAndPod: the claim's ownerReferences with this set's and pod's scrubbed and the ones the
 * policy asks for added as controller references (none on top of a foreign controller).
 */
export function claimOwnerRefsFor(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): OwnerReference[] {
  const unexpected = hasUnexpectedController(claim, set, pod);
  const refs = (claim.metadata?.ownerReferences ?? []).filter((r) => !matchesRef(r, set, gvk) && !matchesRef(r, pod, podGvk));
  if (unexpected) return refs;
  const policy = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  const add = (owner: Owner, kind: { apiVersion: string; kind: string }): void => {
    if (!refs.some((r) => r.uid === (owner.metadata?.uid ?? ''))) refs.push(newControllerRef(owner, kind));
  };
  if (policy.whenScaled === 'Delete' && scaledDown) add(pod, podGvk);
  else if (policy.whenDeleted === 'Delete' && (policy.whenScaled === 'Retain' || policy.whenScaled === 'Delete')) add(set, gvk);
  return refs;
}

/** storageMatches: every claim template is mounted from the pod's own claim. */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const vols = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const v = vols.get(t.metadata?.name ?? '');
    if (v?.persistentVolumeClaim?.claimName !== claimName(set, t.metadata?.name ?? '', ordinal)) return false;
  }
  return true;
}

/** newStatefulSetPod: the pod of `ordinal` from the set's template, with identity, storage and controllerRef. */
export function newStatefulSetPod(set: StatefulSet, ordinal: number): Pod {
  const t = set.spec?.template;
  const name = podName(set, ordinal);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata?.namespace,
      labels: { ...(t?.metadata?.labels ?? {}), [podNameLabel]: name, [podIndexLabel]: String(ordinal) },
      ownerReferences: [newControllerRef(set, gvk)],
    },
    spec: structuredClone(t?.spec ?? { containers: [] }),
  };
  if (t?.metadata?.annotations) pod.metadata!.annotations = { ...t.metadata.annotations };
  if (t?.metadata?.finalizers) pod.metadata!.finalizers = [...t.metadata.finalizers];
  pod.spec!.hostname = name;
  if (set.spec?.serviceName) pod.spec!.subdomain = set.spec.serviceName;
  const claimVols: Volume[] = (set.spec?.volumeClaimTemplates ?? []).map((c) => ({
    name: c.metadata?.name ?? '',
    persistentVolumeClaim: { claimName: claimName(set, c.metadata?.name ?? '', ordinal) },
  }));
  const claimNames = new Set(claimVols.map((v) => v.name));
  const others = (pod.spec!.volumes ?? []).filter((v) => !claimNames.has(v.name));
  if (claimVols.length + others.length > 0) pod.spec!.volumes = [...claimVols, ...others];
  return pod;
}

/** ApplyRevision: the set with the template a revision recorded. */
export function applyRevision(set: StatefulSet, rev: ControllerRevision): StatefulSet {
  const clone = structuredClone(set);
  clone.spec = { ...clone.spec!, template: templateOf(rev) };
  return clone;
}

/**
 * newVersionedStatefulSetPod: ordinals below the partition (RollingUpdate) or below the current replica count (a
 * RollingUpdate without parameters) keep the current revision; the others get the update revision.
 */
export function newVersionedPod(opts: { currentSet: StatefulSet; updateSet: StatefulSet; currentRevision: string; updateRevision: string; ordinal: number }): Pod {
  const cs = opts.currentSet;
  const strategy = cs.spec?.updateStrategy;
  const start = startOrdinal(cs);
  const rolling = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const keepCurrent = rolling && (strategy?.rollingUpdate === undefined
    ? opts.ordinal < start + (cs.status?.currentReplicas ?? 0)
    : opts.ordinal < start + (strategy.rollingUpdate.partition ?? 0));
  const pod = keepCurrent ? newStatefulSetPod(cs, opts.ordinal) : newStatefulSetPod(opts.updateSet, opts.ordinal);
  pod.metadata!.labels![controllerRevisionHashLabel] = keepCurrent ? opts.currentRevision : opts.updateRevision;
  return pod;
}

/** computeReplicaStatus over pods: replicas, ready, available, current and updated counts. */
export function replicaCounts(pods: Pod[], opts: { minReadySeconds: number; currentRevision: string; updateRevision: string; nowMs: number }): Required<Pick<StatefulSetStatus, 'replicas' | 'readyReplicas' | 'availableReplicas' | 'currentReplicas' | 'updatedReplicas'>> {
  const s = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
  for (const p of pods) {
    if (isCreated(p)) s.replicas++;
    if (isRunningAndReady(p)) {
      s.readyReplicas++;
      if (isRunningAndAvailable(p, opts.minReadySeconds, opts.nowMs)) s.availableReplicas++;
    }
    if (isCreated(p) && !isTerminating(p)) {
      const rev = podRevision(p);
      if (rev === opts.currentRevision) s.currentReplicas++;
      if (rev === opts.updateRevision) s.updatedReplicas++;
    }
  }
  return s;
}

/** completeRollingUpdate: once every replica is updated and ready, the update revision becomes current. */
export function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus): void {
  if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}
