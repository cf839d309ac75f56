/**
 * FitError's message (framework.FitError.Error): "0/3 nodes are available: 1 node(s) had untolerated taint
 * {a: b}, 2 Insufficient cpu. preemption: …" — reasons counted per node, sorted as strings.
 */
import type { NodeToStatus } from './interface.ts';

/** Why no node fitted (framework.Diagnosis). */
export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  /** The message of a PreFilter rejection (then node statuses are not listed, to avoid duplicates). */
  preFilterMsg?: string;
  /** The PostFilter (preemption) message. */
  postFilterMsg?: string;
  /** Plugins that rejected the pod. */
  unschedulablePlugins?: Set<string>;
}

/** Formats upstream's FitError message. */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const reasons = new Map<string, number>();
    for (const st of d.nodeToStatus.values()) {
      for (const r of st.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    const list = [...reasons].map(([r, n]) => `${n} ${r}`);
    // Go's sort.Strings compares bytes; plain < on UTF-16 agrees for the ASCII upstream messages use.
    list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (list.length > 0) msg += ` ${list.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}
