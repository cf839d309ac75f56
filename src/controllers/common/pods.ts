/**
 * Pod predicates and the deletion ranking shared by the workload controllers (pkg/controller/controller_utils.go
 * and pkg/api/v1/pod): which pods are active, ready and available, and upstream's order of pods to delete first.
 */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';

/** The pod annotation whose integer value makes a pod cheaper (lower) or dearer to delete (controller.kubernetes.io/pod-deletion-cost). */
export const podDeletionCostAnnotation = 'controller.kubernetes.io/pod-deletion-cost';

/** controller.IsPodActive: not Succeeded, not Failed, not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** controller.FilterActivePods. */
export function filterActivePods(pods: Pod[]): Pod[] {
  return pods.filter(isPodActive);
}

/** The pod condition of `type`, or undefined. */
export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** podutil.IsPodAvailable: ready, and ready for at least minReadySeconds as of `nowMs`. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds === 0) return true;
  const since = timeMs(podCondition(pod, 'Ready')?.lastTransitionTime);
  return since !== 0 && since + minReadySeconds * 1000 < nowMs;
}

/** Milliseconds of an RFC 3339 timestamp; 0 for a missing or malformed one (Go's zero time). */
export function timeMs(ts: string | undefined): number {
  if (!ts) return 0;
  const n = Date.parse(ts);
  return Number.isNaN(n) ? 0 : n;
}

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[podDeletionCostAnnotation];
  if (v === undefined || !/^-?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

function maxRestarts(pod: Pod): { regular: number; sidecar: number } {
  let regular = 0;
  let sidecar = 0;
  for (const s of pod.status?.containerStatuses ?? []) regular = Math.max(regular, s.restartCount ?? 0);
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const s of pod.status?.initContainerStatuses ?? []) if (sidecars.has(s.name)) sidecar = Math.max(sidecar, s.restartCount ?? 0);
  return { regular, sidecar };
}

/** afterOrZero: a zero time sorts first, otherwise the later one does. */
function afterOrZero(t1: number, t2: number): boolean {
  if (t1 === 0 || t2 === 0) return t1 === 0;
  return t1 > t2;
}

/** logarithmicRankDiff: compares floor(log2(age in ns)) so that pods of similar age rank equal. */
function logRankDiff(t1: number, t2: number, now: number): number {
  const rank = (t: number): number => {
    const ns = (now - t) * 1e6;
    return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
  };
  return rank(t1) - rank(t2);
}

/**
 * ActivePodsWithRanks.Less: true when pod `a` should be deleted before pod `b`. `rankA`/`rankB` count the active
 * related pods on each pod's node (doubled-up pods go first); `nowMs` enables LogarithmicScaleDown (GA upstream).
 */
export function deleteBefore(a: Pod, b: Pod, opts: { rankA: number; rankB: number; nowMs: number }): boolean {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const pa = phaseOrdinal[a.status?.phase ?? ''] ?? 0;
  const pb = phaseOrdinal[b.status?.phase ?? ''] ?? 0;
  if (pa !== pb) return pa < pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return !ra;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca < cb;
  if (opts.rankA !== opts.rankB) return opts.rankA > opts.rankB;
  const uidLess = (): boolean => (a.metadata?.uid ?? '') < (b.metadata?.uid ?? '');
  if (ra && rb) {
    const t1 = timeMs(podCondition(a, 'Ready')?.lastTransitionTime);
    const t2 = timeMs(podCondition(b, 'Ready')?.lastTransitionTime);
    if (t1 !== t2) {
      if (t1 === 0 || t2 === 0) return afterOrZero(t1, t2);
      const d = logRankDiff(t1, t2, opts.nowMs);
      return d === 0 ? uidLess() : d < 0;
    }
  }
  const xa = maxRestarts(a);
  const xb = maxRestarts(b);
  if (xa.regular !== xb.regular) return xa.regular > xb.regular;
  if (xa.sidecar !== xb.sidecar) return xa.sidecar > xb.sidecar;
  const c1 = timeMs(a.metadata?.creationTimestamp);
  const c2 = timeMs(b.metadata?.creationTimestamp);
  if (c1 !== c2) {
    if (c1 === 0 || c2 === 0) return afterOrZero(c1, c2);
    const d = logRankDiff(c1, c2, opts.nowMs);
    return d === 0 ? uidLess() : d < 0;
  }
  return false;
}

/**
 * getPodsToDelete: the `diff` pods of `pods` to delete first, ranked by upstream's rules; `related` are the active
 * pods of the same controller family (sibling ReplicaSets of one Deployment) used to find doubled-up nodes.
 */
export function podsToDelete(pods: Pod[], related: Pod[], opts: { diff: number; nowMs: number }): Pod[] {
  if (opts.diff >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((x, y) => {
    if (deleteBefore(x.pod, y.pod, { rankA: x.rank, rankB: y.rank, nowMs: opts.nowMs })) return -1;
    if (deleteBefore(y.pod, x.pod, { rankA: y.rank, rankB: x.rank, nowMs: opts.nowMs })) return 1;
    return 0;
  });
  return ranked.slice(0, opts.diff).map((r) => r.pod);
}
