/**
 * Helpers shared by plugins: score normalisation (pluginhelper.DefaultNormalizeScore), taints and
 * tolerations (v1helper), and node selectors with upstream's operators (nodeaffinity.NodeSelector).
 */
import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { maxNodeScore } from './interface.ts';

/** Scales scores to [0, maxPriority] by the largest one; `reverse` flips them (DefaultNormalizeScore). */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: number[]): void {
  let maxCount = 0;
  for (const s of scores) if (s > maxCount) maxCount = s;
  if (maxCount === 0) {
    if (reverse) scores.fill(maxPriority);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((maxPriority * (scores[i] ?? 0)) / maxCount);
    if (reverse) s = maxPriority - s;
    scores[i] = s;
  }
}

export { maxNodeScore };

/** Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** True when some toleration tolerates the taint (TolerationsTolerateTaint). */
export function tolerationsTolerateTaint(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  for (const t of tolerations ?? []) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint passing `filter` that no toleration tolerates (FindMatchingUntoleratedTaint). */
export function findMatchingUntoleratedTaint(taints: Taint[] | undefined, tolerations: Toleration[] | undefined, filter: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!filter(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

function requirementMatches(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.hasOwn(values, r.key);
  const v = has ? values[r.key] ?? '' : '';
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(v);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const want = r.values ?? [];
      if (!has || want.length !== 1 || !/^-?\d+$/.test(v) || !/^-?\d+$/.test(want[0] ?? '')) return false;
      const a = BigInt(v);
      const b = BigInt(want[0] ?? '0');
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      throw new Error(`${JSON.stringify(r.operator)} is not a valid node selector operator`);
  }
}

/**
 * True when the node matches the term: every matchExpression against labels and every matchField against
 * metadata.name; a term with neither matches nothing (nodeaffinity.nodeSelectorTerm).
 */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels)) return false;
  if (fields.length > 0) {
    const f = { 'metadata.name': node.metadata?.name ?? '' };
    for (const r of fields) {
      if (r.key !== 'metadata.name') throw new Error(`${JSON.stringify(r.key)} is not a valid field selector key`);
      if (!requirementMatches(r, f)) return false;
    }
  }
  return true;
}

/** True when any term matches (terms are ORed); an empty list matches nothing. */
export function nodeSelectorMatches(sel: NodeSelector, node: Node): boolean {
  for (const t of sel.nodeSelectorTerms ?? []) if (nodeSelectorTermMatches(t, node)) return true;
  return false;
}

/**
 * The pod's required node affinity (nodeaffinity.GetRequiredNodeAffinity): spec.nodeSelector and the required
 * terms must both match. Throws on an invalid operator so that callers report it.
 */
export function requiredNodeAffinityMatches(pod: Pod, node: Node): boolean {
  const sel = pod.spec?.nodeSelector;
  if (sel) {
    const labels = node.metadata?.labels ?? {};
    for (const k of Object.keys(sel)) if (!Object.hasOwn(labels, k) || labels[k] !== sel[k]) return false;
  }
  const req = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (req) return nodeSelectorMatches(req, node);
  return true;
}
