/**
 * Node health as pure functions (pkg/controller/nodelifecycle): when a node's heartbeat (its Ready condition's
 * lastHeartbeatTime or its kube-node-lease Lease renewTime) is older than the grace period, its kubelet-owned
 * conditions become Unknown (NodeStatusUnknown / NodeStatusNeverUpdated); the NoExecute and NoSchedule taints that
 * follow from the conditions; and when a pod's tolerations let it stay on a NoExecute-tainted node.
 */
import type { Node, NodeCondition, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { timeMs } from '../common/pods.ts';
import { taintKeys, toleratesTaint } from '../daemonset/daemon-pods.ts';

/** The conditions the kubelet owns, set to Unknown when it stops reporting. */
export const kubeletConditions = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

/** The NoExecute taints of an unhealthy node (UnreachableTaintTemplate, NotReadyTaintTemplate). */
export const unreachableTaint: Taint = { key: taintKeys.unreachable, effect: 'NoExecute' };
/** NotReadyTaintTemplate. */
export const notReadyTaint: Taint = { key: taintKeys.notReady, effect: 'NoExecute' };

/** The node's condition of `type`. */
export function nodeCondition(node: Node, type: string): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

/**
 * The node status after its heartbeat expired: every kubelet condition Unknown ("Kubelet stopped posting node
 * status." / "Kubelet never posted node status."), transition time `nowMs` where the status changes. Returns
 * undefined when nothing changes (already Unknown).
 */
export function markNodeUnknown(node: Node, nowMs: number): NonNullable<Node['status']> | undefined {
  const status = structuredClone(node.status ?? {});
  const conds = status.conditions ?? [];
  const now = formatRFC3339(nowMs);
  let changed = false;
  for (const type of kubeletConditions) {
    const i = conds.findIndex((c) => c.type === type);
    if (i < 0) {
      conds.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: now });
      changed = true;
      continue;
    }
    const c = conds[i]!;
    if (c.status === 'Unknown') continue;
    conds[i] = { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now };
    changed = true;
  }
  if (!changed) return undefined;
  status.conditions = conds;
  return status;
}

/**
 * The NoExecute taint a node's Ready condition calls for: not-ready for False, unreachable for Unknown (a node that
 * never reported gets its Unknown condition once the grace period passes).
 */
export function wantedNoExecuteTaint(node: Node): Taint | undefined {
  const ready = nodeCondition(node, 'Ready');
  if (ready?.status === 'Unknown') return unreachableTaint;
  if (ready?.status === 'False') return notReadyTaint;
  return undefined;
}

/** doNoScheduleTaintingPass: the NoSchedule taints the conditions and spec.unschedulable call for. */
export function wantedNoScheduleTaints(node: Node): Taint[] {
  const out: Taint[] = [];
  const ready = nodeCondition(node, 'Ready');
  if (ready?.status === 'False') out.push({ key: taintKeys.notReady, effect: 'NoSchedule' });
  else if (ready?.status === 'Unknown') out.push({ key: taintKeys.unreachable, effect: 'NoSchedule' });
  const byCond: [string, string][] = [['MemoryPressure', taintKeys.memoryPressure], ['DiskPressure', taintKeys.diskPressure], ['PIDPressure', taintKeys.pidPressure], ['NetworkUnavailable', taintKeys.networkUnavailable]];
  for (const [type, key] of byCond) if (nodeCondition(node, type)?.status === 'True') out.push({ key, effect: 'NoSchedule' });
  if (node.spec?.unschedulable) out.push({ key: taintKeys.unschedulable, effect: 'NoSchedule' });
  return out;
}

/** The taint keys this controller manages (others are left alone). */
const managedNoSchedule = new Set<string>([taintKeys.notReady, taintKeys.unreachable, taintKeys.memoryPressure, taintKeys.diskPressure, taintKeys.pidPressure, taintKeys.networkUnavailable, taintKeys.unschedulable]);

/**
 * The node's taints with the controller-managed NoExecute and NoSchedule taints set as the conditions call for
 * (new ones stamped `nowMs` in timeAdded); undefined when they already are. With `addNoExecute: false` a NoExecute
 * taint is only swapped for its opposite (not-ready ⇄ unreachable), never added to a node without one: adding is
 * the rate-limited tainting pass's job (zone-eviction.ts).
 */
export function reconcileTaints(node: Node, nowMs: number, opts: { addNoExecute?: boolean } = {}): Taint[] | undefined {
  const cur = node.spec?.taints ?? [];
  const want: Taint[] = [...wantedNoScheduleTaints(node)];
  const isNoExecute = (t: Taint): boolean => t.effect === 'NoExecute' && (t.key === taintKeys.notReady || t.key === taintKeys.unreachable);
  const ne = wantedNoExecuteTaint(node);
  if (ne && (opts.addNoExecute !== false || cur.some(isNoExecute))) want.push(ne);
  const isManaged = (t: Taint): boolean => (t.effect === 'NoSchedule' && managedNoSchedule.has(t.key)) || isNoExecute(t);
  const kept = cur.filter((t) => !isManaged(t) || want.some((w) => w.key === t.key && w.effect === t.effect));
  const added = want.filter((w) => !cur.some((t) => t.key === w.key && t.effect === w.effect)).map((w) => ({ ...w, timeAdded: formatRFC3339(nowMs) }));
  if (added.length === 0 && kept.length === cur.length) return undefined;
  return [...kept, ...added];
}

/**
 * The taints the rate-limited NoExecute pass writes for a node: undefined when its Ready condition calls for no
 * NoExecute taint or it already carries the right one; otherwise its taints with that NoExecute taint added (its
 * opposite removed) together with the NoSchedule taints its conditions call for. Written in one patch, so that the
 * NoExecute taint never shows on a node without its NoSchedule counterpart, whichever pass reaches the API first.
 */
export function noExecuteTaints(node: Node, nowMs: number): Taint[] | undefined {
  const want = wantedNoExecuteTaint(node);
  if (!want) return undefined;
  const opposite = want === notReadyTaint ? unreachableTaint : notReadyTaint;
  const cur = node.spec?.taints ?? [];
  if (cur.some((t) => t.key === want.key && t.effect === want.effect) && !cur.some((t) => t.key === opposite.key && t.effect === opposite.effect)) return undefined;
  return reconcileTaints(node, nowMs, { addNoExecute: true });
}

/** Whether the node carries the not-ready or unreachable NoExecute taint. */
export function hasNoExecuteTaint(node: Node): boolean {
  return (node.spec?.taints ?? []).some((t) => t.effect === 'NoExecute' && (t.key === taintKeys.notReady || t.key === taintKeys.unreachable));
}

/** markNodeAsReachable: the node's taints without the not-ready/unreachable NoExecute ones (undefined: none to remove). */
export function withoutNoExecuteTaints(node: Node): Taint[] | undefined {
  if (!hasNoExecuteTaint(node)) return undefined;
  return (node.spec?.taints ?? []).filter((t) => !(t.effect === 'NoExecute' && (t.key === taintKeys.notReady || t.key === taintKeys.unreachable)));
}

/** The last heartbeat of a node: the later of its Ready heartbeat and its Lease renewal (ms; 0 when none). */
export function lastHeartbeat(node: Node, leaseRenewTime: string | undefined): number {
  return Math.max(timeMs(nodeCondition(node, 'Ready')?.lastHeartbeatTime), timeMs(leaseRenewTime));
}

/**
 * getMinTolerationTime semantics for one pod on a node: `undefined` when some NoExecute taint is not tolerated
 * (evict now), `Infinity` when every toleration is forever, else the milliseconds after which the pod must go,
 * counted from each taint's timeAdded.
 */
export function evictionDeadline(pod: Pod, taints: Taint[]): number | undefined {
  const noExec = taints.filter((t) => t.effect === 'NoExecute');
  if (noExec.length === 0) return Infinity;
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  let deadline = Infinity;
  for (const taint of noExec) {
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return undefined;
    // The shortest tolerationSeconds among the matching tolerations wins; none set means forever.
    let secs = Infinity;
    for (const t of matching) if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) secs = Math.min(secs, Math.max(0, t.tolerationSeconds));
    if (secs === Infinity) continue;
    const added = timeMs(taint.timeAdded);
    deadline = Math.min(deadline, added + secs * 1000);
  }
  return deadline;
}
