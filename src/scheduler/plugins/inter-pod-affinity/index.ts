/**
 * InterPodAffinity: required pod affinity and anti-affinity (the incoming pod's terms and existing pods'
 * anti-affinity against it) as a Filter; preferred terms of both sides, and existing pods' required affinity
 * weighted by hardPodAffinityWeight, as a Score. Counts are kept per topology pair (key, value), as upstream.
 */
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin, Handle, PreFilterExtensions, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../../framework/interface.ts';
import { maxNodeScore } from '../../framework/interface.ts';
import type { AffinityTerm, NodeInfo, PodInfo, WeightedAffinityTerm } from '../../framework/node-info.ts';
import { matchesAllTerms, termMatches } from '../../framework/node-info.ts';
import { matchesLabels } from '../../../api/meta/labels.ts';
import { asStatus, newStatus, Status, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'InterPodAffinity';
/** Filter reasons, verbatim from upstream. */
export const errReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules";
export const errReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
export const errReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";

/** InterPodAffinityArgs. */
export interface InterPodAffinityArgs {
  hardPodAffinityWeight?: number;
  ignorePreferredTermsOfExistingPods?: boolean;
}

const preFilterKey = 'PreFilter' + name;
const preScoreKey = 'PreScore' + name;

const pairKey = (k: string, v: string): string => `${k}\u0000${v}`;

/** topologyToMatchedTermCount. */
class TopologyCounts extends Map<string, number> {
  update(nodeInfo: NodeInfo, tk: string, value: number): void {
    const tv = nodeInfo.labels[tk];
    if (tv === undefined) return;
    const k = pairKey(tk, tv);
    const n = (this.get(k) ?? 0) + value;
    if (n === 0) this.delete(k);
    else this.set(k, n);
  }

  updateWithAffinityTerms(terms: AffinityTerm[], pod: PodInfo, nodeInfo: NodeInfo, value: number): void {
    if (matchesAllTerms(terms, pod)) for (const t of terms) this.update(nodeInfo, t.topologyKey, value);
  }

  updateWithAntiAffinityTerms(terms: AffinityTerm[], pod: PodInfo, nsLabels: Record<string, string> | undefined, nodeInfo: NodeInfo, value: number): void {
    for (const t of terms) if (termMatches(t, pod, nsLabels)) this.update(nodeInfo, t.topologyKey, value);
  }

  copy(): TopologyCounts {
    const c = new TopologyCounts();
    for (const [k, v] of this) c.set(k, v);
    return c;
  }
}

class PreFilterState {
  constructor(
    public podInfo: PodInfo,
    public namespaceLabels: Record<string, string> | undefined,
    public existingAntiAffinityCounts: TopologyCounts,
    public affinityCounts: TopologyCounts,
    public antiAffinityCounts: TopologyCounts,
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(this.podInfo, this.namespaceLabels, this.existingAntiAffinityCounts.copy(), this.affinityCounts.copy(), this.antiAffinityCounts.copy());
  }

  updateWithPod(p: PodInfo, nodeInfo: NodeInfo, multiplier: number): void {
    this.existingAntiAffinityCounts.updateWithAntiAffinityTerms(p.requiredAntiAffinityTerms, this.podInfo, this.namespaceLabels, nodeInfo, multiplier);
    this.affinityCounts.updateWithAffinityTerms(this.podInfo.requiredAffinityTerms, p, nodeInfo, multiplier);
    this.antiAffinityCounts.updateWithAntiAffinityTerms(this.podInfo.requiredAntiAffinityTerms, p, undefined, nodeInfo, multiplier);
  }
}

/** Replaces each term's non-empty namespaceSelector with the namespaces it selects (mergeAffinityTermNamespacesIfNotEmpty). */
function mergeNamespaces<T extends AffinityTerm>(terms: T[], handle: Handle): T[] {
  return terms.map((t) => {
    if (t.namespaceSelector === null || t.namespaceSelector.length === 0) return t;
    const namespaces = new Set(t.namespaces);
    for (const ns of handle.listNamespaces()) {
      if (matchesLabels(t.namespaceSelector, ns.metadata?.labels)) namespaces.add(ns.metadata?.name ?? '');
    }
    return { ...t, namespaces, namespaceSelector: null };
  });
}

function withMergedNamespaces(pod: PodInfo, handle: Handle): PodInfo {
  const needs = (ts: AffinityTerm[]): boolean => ts.some((t) => t.namespaceSelector !== null && t.namespaceSelector.length > 0);
  if (!needs(pod.requiredAffinityTerms) && !needs(pod.requiredAntiAffinityTerms) && !needs(pod.preferredAffinityTerms) && !needs(pod.preferredAntiAffinityTerms)) return pod;
  return {
    ...pod,
    requiredAffinityTerms: mergeNamespaces(pod.requiredAffinityTerms, handle),
    requiredAntiAffinityTerms: mergeNamespaces(pod.requiredAntiAffinityTerms, handle),
    preferredAffinityTerms: mergeNamespaces(pod.preferredAffinityTerms, handle),
    preferredAntiAffinityTerms: mergeNamespaces(pod.preferredAntiAffinityTerms, handle),
  };
}

type ScoreMap = Map<string, Map<string, number>>;

function processTerm(m: ScoreMap, t: AffinityTerm, weight: number, pod: PodInfo, nsLabels: Record<string, string> | undefined, nodeInfo: NodeInfo, multiplier: number): void {
  if (!termMatches(t, pod, nsLabels)) return;
  const tv = nodeInfo.labels[t.topologyKey];
  if (tv === undefined) return;
  let byValue = m.get(t.topologyKey);
  if (!byValue) m.set(t.topologyKey, (byValue = new Map()));
  byValue.set(tv, (byValue.get(tv) ?? 0) + weight * multiplier);
}

function processTerms(m: ScoreMap, terms: WeightedAffinityTerm[], pod: PodInfo, nsLabels: Record<string, string> | undefined, nodeInfo: NodeInfo, multiplier: number): void {
  for (const t of terms) processTerm(m, t, t.weight, pod, nsLabels, nodeInfo, multiplier);
}

/** Builds the plugin. */
export function newInterPodAffinity(args: Record<string, unknown> | undefined, handle: Handle): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const a = (args ?? {}) as InterPodAffinityArgs;
  const hardPodAffinityWeight = a.hardPodAffinityWeight ?? 1;
  const ignoreExisting = a.ignorePreferredTermsOfExistingPods ?? false;

  const extensions: PreFilterExtensions = {
    addPod(state, _pod, toAdd, nodeInfo) {
      state.read<PreFilterState>(preFilterKey)?.updateWithPod(toAdd, nodeInfo, 1);
      return undefined;
    },
    removePod(state, _pod, toRemove, nodeInfo) {
      state.read<PreFilterState>(preFilterKey)?.updateWithPod(toRemove, nodeInfo, -1);
      return undefined;
    },
  };

  return {
    name,
    preFilter(state: CycleState, podIn: PodInfo, nodes: NodeInfo[]) {
      if (podIn.parseError) return { status: asStatus(new Error(podIn.parseError)) };
      const withAnti = nodes.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
      if (podIn.requiredAffinityTerms.length === 0 && podIn.requiredAntiAffinityTerms.length === 0 && withAnti.length === 0) {
        return { status: new Status('Skip') };
      }
      const pod = withMergedNamespaces(podIn, handle);
      const nsLabels = handle.namespaceLabels(pod.namespace);
      const existing = new TopologyCounts();
      for (const n of withAnti) {
        for (const ep of n.podsWithRequiredAntiAffinity) existing.updateWithAntiAffinityTerms(ep.requiredAntiAffinityTerms, pod, nsLabels, n, 1);
      }
      const affinity = new TopologyCounts();
      const anti = new TopologyCounts();
      if (pod.requiredAffinityTerms.length > 0 || pod.requiredAntiAffinityTerms.length > 0) {
        for (const n of nodes) {
          for (const ep of n.pods) {
            if (pod.requiredAffinityTerms.length > 0) affinity.updateWithAffinityTerms(pod.requiredAffinityTerms, ep, n, 1);
            if (pod.requiredAntiAffinityTerms.length > 0) anti.updateWithAntiAffinityTerms(pod.requiredAntiAffinityTerms, ep, undefined, n, 1);
          }
        }
      }
      state.write(preFilterKey, new PreFilterState(pod, nsLabels, existing, affinity, anti));
      return {};
    },
    preFilterExtensions: () => extensions,
    filter(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): Result {
      const s = state.read<PreFilterState>(preFilterKey);
      if (!s) return newStatus('Error', 'reading "PreFilterInterPodAffinity" from cycleState: not found');
      // satisfyPodAffinity
      let podsExist = true;
      for (const t of s.podInfo.requiredAffinityTerms) {
        const tv = nodeInfo.labels[t.topologyKey];
        if (tv === undefined) return newStatus('UnschedulableAndUnresolvable', errReasonAffinityRulesNotMatch);
        if ((s.affinityCounts.get(pairKey(t.topologyKey, tv)) ?? 0) <= 0) podsExist = false;
      }
      if (!podsExist) {
        // The first pod of a group with affinity to itself may go anywhere its topology keys exist.
        if (!(s.affinityCounts.size === 0 && matchesAllTerms(s.podInfo.requiredAffinityTerms, s.podInfo))) {
          return newStatus('UnschedulableAndUnresolvable', errReasonAffinityRulesNotMatch);
        }
      }
      // satisfyPodAntiAffinity
      if (s.antiAffinityCounts.size > 0) {
        for (const t of s.podInfo.requiredAntiAffinityTerms) {
          const tv = nodeInfo.labels[t.topologyKey];
          if (tv !== undefined && (s.antiAffinityCounts.get(pairKey(t.topologyKey, tv)) ?? 0) > 0) {
            return newStatus('Unschedulable', errReasonAntiAffinityRulesNotMatch);
          }
        }
      }
      // satisfyExistingPodsAntiAffinity
      if (s.existingAntiAffinityCounts.size > 0) {
        for (const k of Object.keys(nodeInfo.labels)) {
          if ((s.existingAntiAffinityCounts.get(pairKey(k, nodeInfo.labels[k] ?? '')) ?? 0) > 0) {
            return newStatus('Unschedulable', errReasonExistingAntiAffinityRulesNotMatch);
          }
        }
      }
      return undefined;
    },
    preScore(state: CycleState, podIn: PodInfo, nodes: NodeInfo[]): Result {
      if (nodes.length === 0) return new Status('Skip');
      const hasConstraints = podIn.preferredAffinityTerms.length > 0 || podIn.preferredAntiAffinityTerms.length > 0;
      if (ignoreExisting && !hasConstraints) return new Status('Skip');
      const pod = withMergedNamespaces(podIn, handle);
      const nsLabels = handle.namespaceLabels(pod.namespace);
      const topologyScore: ScoreMap = new Map();
      const all = handle.nodeList();
      for (const n of all) {
        const existingPods = hasConstraints ? n.pods : n.podsWithAffinity;
        if (existingPods.length === 0 || Object.keys(n.labels).length === 0) continue;
        for (const ep of existingPods) {
          processTerms(topologyScore, pod.preferredAffinityTerms, ep, undefined, n, 1);
          processTerms(topologyScore, pod.preferredAntiAffinityTerms, ep, undefined, n, -1);
          if (hardPodAffinityWeight > 0) {
            for (const t of ep.requiredAffinityTerms) processTerm(topologyScore, t, hardPodAffinityWeight, pod, nsLabels, n, 1);
          }
          processTerms(topologyScore, ep.preferredAffinityTerms, pod, nsLabels, n, 1);
          processTerms(topologyScore, ep.preferredAntiAffinityTerms, pod, nsLabels, n, -1);
        }
      }
      if (topologyScore.size === 0) return new Status('Skip');
      state.write(preScoreKey, topologyScore);
      return undefined;
    },
    score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
      const m = state.read<ScoreMap>(preScoreKey);
      if (!m) return 0;
      let score = 0;
      for (const [tk, byValue] of m) {
        const v = nodeInfo.labels[tk];
        if (v !== undefined) score += byValue.get(v) ?? 0;
      }
      return score;
    },
    normalizeScore(state: CycleState, _pod: PodInfo, _nodes: NodeInfo[], scores: number[]): Result {
      const m = state.read<ScoreMap>(preScoreKey);
      if (!m || m.size === 0) return undefined;
      let min = Infinity;
      let max = -Infinity;
      for (const s of scores) {
        if (s > max) max = s;
        if (s < min) min = s;
      }
      const diff = max - min;
      for (let i = 0; i < scores.length; i++) {
        scores[i] = diff > 0 ? Math.trunc(maxNodeScore * (((scores[i] ?? 0) - min) / diff)) : 0;
      }
      return undefined;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        { resource: 'AssignedPod', actions: ['Add', 'Update', 'Delete'] },
        { resource: 'Node', actions: ['Add', 'Update'] },
      ];
    },
  };
}
