/**
 * ReplicaSet (and ReplicationController) status as pkg/controller/replicaset/replica_set_utils.go computes it:
 * counts over the controller's active pods, the ReplicaFailure condition, observedGeneration.
 */
import type { ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isPodAvailable, isPodReady } from '../common/pods.ts';

/** The fields of a replica controller the status depends on (ReplicaSet and ReplicationController alike). */
export interface ReplicaOwnerView {
  replicas: number;
  minReadySeconds: number;
  templateLabels: Record<string, string>;
  status: ReplicaSetStatus | undefined;
}

/**
 * calculateStatus: counts over `pods` (the active pods the controller owns) and the ReplicaFailure condition,
 * set (FailedCreate/FailedDelete with the error text) when `manageError` is given and none exists, removed when
 * it is not. observedGeneration is left to the caller.
 */
export function calculateReplicaSetStatus(owner: ReplicaOwnerView, pods: Pod[], opts: { manageError?: Error; nowMs: number }): ReplicaSetStatus {
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  const tl = Object.entries(owner.templateLabels);
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {};
    if (tl.every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, owner.minReadySeconds, opts.nowMs)) available++;
    }
  }
  let conditions: ReplicaSetCondition[] = [...(owner.status?.conditions ?? [])];
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (opts.manageError && !failure) {
    const diff = pods.length - owner.replicas;
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions.push({ type: 'ReplicaFailure', status: 'True', reason, message: opts.manageError.message, lastTransitionTime: new Date(opts.nowMs).toISOString().replace(/\.\d+Z$/, 'Z') });
  } else if (!opts.manageError && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const status: ReplicaSetStatus = { replicas: pods.length, fullyLabeledReplicas: fullyLabeled, readyReplicas: ready, availableReplicas: available };
  if (owner.status?.observedGeneration !== undefined) status.observedGeneration = owner.status.observedGeneration;
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** True when two statuses differ in a field the controller writes (missing numbers count as 0). */
export function replicaSetStatusChanged(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  const n = (v: number | undefined): number => v ?? 0;
  return n(a?.replicas) !== n(b.replicas) || n(a?.fullyLabeledReplicas) !== n(b.fullyLabeledReplicas) || n(a?.readyReplicas) !== n(b.readyReplicas)
    || n(a?.availableReplicas) !== n(b.availableReplicas) || n(a?.observedGeneration) !== n(b.observedGeneration)
    || JSON.stringify(a?.conditions ?? []) !== JSON.stringify(b.conditions ?? []);
}
