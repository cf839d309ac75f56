/**
 * PodTopologySpread: hard constraints (DoNotSchedule) as a Filter on the skew against the global minimum
 * (critical paths, minDomains, nodeAffinityPolicy / nodeTaintsPolicy), soft constraints (ScheduleAnyway)
 * as a Score weighted by log(domains + 2), and the cluster default constraints for pods without any.
 */
import type { Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from '../../../api/meta/labels.ts';
import { labelSelectorFromMeta, matchesLabels, newRequirement } from '../../../api/meta/labels.ts';
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin, Handle, PreFilterExtensions, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../../framework/interface.ts';
import { maxNodeScore } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { findMatchingUntoleratedTaint, requiredNodeAffinityMatches } from '../../framework/helpers.ts';
import { asStatus, newStatus, Status, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'PodTopologySpread';
/** Filter reasons, verbatim from upstream. */
export const errReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
export const errReasonNodeLabelNotMatch = errReasonConstraintsNotMatch + ' (missing required label)';

const hostnameLabel = 'kubernetes.io/hostname';

/** The cluster default constraints (defaultingType: System). */
export const systemDefaultConstraints: TopologySpreadConstraint[] = [
  { maxSkew: 3, topologyKey: hostnameLabel, whenUnsatisfiable: 'ScheduleAnyway' },
  { maxSkew: 5, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
];

/** PodTopologySpreadArgs. */
export interface PodTopologySpreadArgs {
  defaultConstraints?: TopologySpreadConstraint[];
  defaultingType?: 'System' | 'List';
}

/** A parsed constraint (topologySpreadConstraint). */
export interface Constraint {
  maxSkew: number;
  topologyKey: string;
  /** null selects nothing. */
  selector: LabelSelector | null;
  minDomains: number;
  nodeAffinityPolicy: 'Honor' | 'Ignore';
  nodeTaintsPolicy: 'Honor' | 'Ignore';
}

const pairKey = (k: string, v: string): string => `${k}\u0000${v}`;
const preFilterKey = 'PreFilter' + name;
const preScoreKey = 'PreScore' + name;

function parseConstraints(cs: TopologySpreadConstraint[], podLabels: Record<string, string>, action: string): Constraint[] {
  const out: Constraint[] = [];
  for (const c of cs) {
    if (c.whenUnsatisfiable !== action) continue;
    let selector: LabelSelector | null = c.labelSelector ? labelSelectorFromMeta(c.labelSelector) : null;
    if (selector !== null && c.matchLabelKeys?.length) {
      selector = [...selector];
      for (const k of c.matchLabelKeys) {
        const v = podLabels[k];
        if (v !== undefined) selector.push(newRequirement({ key: k, operator: 'In', values: [v] }));
      }
    }
    out.push({
      maxSkew: c.maxSkew, topologyKey: c.topologyKey, selector, minDomains: c.minDomains ?? 1,
      nodeAffinityPolicy: (c.nodeAffinityPolicy as 'Honor' | 'Ignore' | undefined) ?? 'Honor',
      nodeTaintsPolicy: (c.nodeTaintsPolicy as 'Honor' | 'Ignore' | undefined) ?? 'Ignore',
    });
  }
  return out;
}

function nodeLabelsMatchSpreadConstraints(labels: Record<string, string>, cs: Constraint[]): boolean {
  for (const c of cs) if (!Object.hasOwn(labels, c.topologyKey)) return false;
  return true;
}

function matchNodeInclusionPolicies(c: Constraint, pod: Pod, nodeInfo: NodeInfo): boolean {
  const node = nodeInfo.node;
  if (!node) return false;
  if (c.nodeAffinityPolicy === 'Honor') {
    try {
      if (!requiredNodeAffinityMatches(pod, node)) return false;
    } catch {
      // Parsing errors are ignored here, as upstream does for backwards compatibility.
    }
  }
  if (c.nodeTaintsPolicy === 'Honor') {
    if (findMatchingUntoleratedTaint(node.spec?.taints, pod.spec?.tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) return false;
  }
  return true;
}

/** countPodsMatchSelector: pods in `namespace`, not terminating, whose labels the selector matches. */
export function countPodsMatchSelector(pods: PodInfo[], selector: LabelSelector | null, namespace: string): number {
  if (selector === null) return 0;
  let n = 0;
  for (const p of pods) {
    if (p.pod.metadata?.deletionTimestamp || p.namespace !== namespace) continue;
    if (matchesLabels(selector, p.labels)) n++;
  }
  return n;
}

interface Path {
  value: string;
  num: number;
}

/** The two domains with the fewest matching pods of one topology key (criticalPaths). */
class CriticalPaths {
  p: [Path, Path] = [{ value: '', num: 2 ** 31 - 1 }, { value: '', num: 2 ** 31 - 1 }];

  update(value: string, num: number): void {
    const p = this.p;
    const i = value === p[0].value ? 0 : value === p[1].value ? 1 : -1;
    if (i === 0 || i === 1) {
      p[i].num = num;
      if (p[0].num > p[1].num) this.p = [p[1], p[0]];
    } else if (num < p[0].num) {
      this.p = [{ value, num }, p[0]];
    } else if (num < p[1].num) {
      p[1] = { value, num };
    }
  }

  copy(): CriticalPaths {
    const c = new CriticalPaths();
    c.p = [{ ...this.p[0] }, { ...this.p[1] }];
    return c;
  }
}

class PreFilterState {
  constructor(
    public constraints: Constraint[],
    public tpKeyToCriticalPaths: Map<string, CriticalPaths>,
    public tpKeyToDomainsNum: Map<string, number>,
    public tpPairToMatchNum: Map<string, number>,
  ) {}

  clone(): PreFilterState {
    const paths = new Map<string, CriticalPaths>();
    for (const [k, v] of this.tpKeyToCriticalPaths) paths.set(k, v.copy());
    return new PreFilterState(this.constraints, paths, new Map(this.tpKeyToDomainsNum), new Map(this.tpPairToMatchNum));
  }

  minMatchNum(tpKey: string, minDomains: number): number {
    const paths = this.tpKeyToCriticalPaths.get(tpKey);
    if (!paths) throw new Error(`failed to retrieve path by topology key ${tpKey}`);
    let min = paths.p[0].num;
    if ((this.tpKeyToDomainsNum.get(tpKey) ?? 0) < minDomains) min = 0;
    return min;
  }

  updateWithPod(updated: PodInfo, preemptor: PodInfo, nodeInfo: NodeInfo, delta: number): void {
    if (updated.namespace !== preemptor.namespace || !nodeInfo.node) return;
    if (!nodeLabelsMatchSpreadConstraints(nodeInfo.labels, this.constraints)) return;
    for (const c of this.constraints) {
      if (!matchNodeInclusionPolicies(c, preemptor.pod, nodeInfo)) continue;
      if (c.selector === null || !matchesLabels(c.selector, updated.labels)) continue;
      const v = nodeInfo.labels[c.topologyKey] ?? '';
      const k = pairKey(c.topologyKey, v);
      const n = (this.tpPairToMatchNum.get(k) ?? 0) + delta;
      this.tpPairToMatchNum.set(k, n);
      this.tpKeyToCriticalPaths.get(c.topologyKey)?.update(v, n);
    }
  }
}

interface PreScoreState {
  constraints: Constraint[];
  ignoredNodes: Set<string>;
  topologyPairToPodCounts: Map<string, number>;
  topologyNormalizingWeight: number[];
}

/** Builds the plugin. */
export function newPodTopologySpread(args: Record<string, unknown> | undefined, handle: Handle): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const a = (args ?? {}) as PodTopologySpreadArgs;
  const defaultingType = a.defaultingType ?? 'System';
  const systemDefaulted = defaultingType === 'System';
  const defaultConstraints = systemDefaulted ? systemDefaultConstraints : (a.defaultConstraints ?? []);

  const constraintsFor = (pod: PodInfo, action: string): Constraint[] => {
    const own = pod.pod.spec?.topologySpreadConstraints;
    if (own && own.length > 0) return parseConstraints(own, pod.labels, action);
    if (defaultConstraints.length === 0) return [];
    // buildDefaultConstraints: the selector comes from the services and controller that own the pod.
    const selector = handle.defaultSelector(pod.pod);
    if (selector.length === 0) return [];
    return parseConstraints(defaultConstraints, pod.labels, action).map((c) => ({ ...c, selector }));
  };

  const extensions: PreFilterExtensions = {
    addPod(state, pod, toAdd, nodeInfo) {
      state.read<PreFilterState>(preFilterKey)?.updateWithPod(toAdd, pod, nodeInfo, 1);
      return undefined;
    },
    removePod(state, pod, toRemove, nodeInfo) {
      state.read<PreFilterState>(preFilterKey)?.updateWithPod(toRemove, pod, nodeInfo, -1);
      return undefined;
    },
  };

  return {
    name,
    preFilter(state: CycleState, pod: PodInfo, nodes: NodeInfo[]) {
      let constraints: Constraint[];
      try {
        constraints = constraintsFor(pod, 'DoNotSchedule');
      } catch (e) {
        return { status: asStatus(e) };
      }
      if (constraints.length === 0) {
        state.write(preFilterKey, new PreFilterState([], new Map(), new Map(), new Map()));
        return { status: new Status('Skip') };
      }
      const tpPairToMatchNum = new Map<string, number>();
      for (const n of nodes) {
        if (!n.node || !nodeLabelsMatchSpreadConstraints(n.labels, constraints)) continue;
        for (const c of constraints) {
          if (!matchNodeInclusionPolicies(c, pod.pod, n)) continue;
          const k = pairKey(c.topologyKey, n.labels[c.topologyKey] ?? '');
          tpPairToMatchNum.set(k, (tpPairToMatchNum.get(k) ?? 0) + countPodsMatchSelector(n.pods, c.selector, pod.namespace));
        }
      }
      const paths = new Map<string, CriticalPaths>();
      const domains = new Map<string, number>();
      for (const c of constraints) if (!paths.has(c.topologyKey)) paths.set(c.topologyKey, new CriticalPaths());
      for (const [k, num] of tpPairToMatchNum) {
        const i = k.indexOf('\u0000');
        const key = k.slice(0, i);
        paths.get(key)?.update(k.slice(i + 1), num);
        domains.set(key, (domains.get(key) ?? 0) + 1);
      }
      state.write(preFilterKey, new PreFilterState(constraints, paths, domains, tpPairToMatchNum));
      return {};
    },
    preFilterExtensions: () => extensions,
    filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      const s = state.read<PreFilterState>(preFilterKey);
      if (!s) return newStatus('Error', 'reading "PreFilterPodTopologySpread" from cycleState: not found');
      for (const c of s.constraints) {
        const tv = nodeInfo.labels[c.topologyKey];
        if (tv === undefined) return newStatus('UnschedulableAndUnresolvable', errReasonNodeLabelNotMatch);
        let minMatch: number;
        try {
          minMatch = s.minMatchNum(c.topologyKey, c.minDomains);
        } catch (e) {
          return asStatus(e);
        }
        const selfMatch = c.selector !== null && matchesLabels(c.selector, pod.labels) ? 1 : 0;
        const matchNum = s.tpPairToMatchNum.get(pairKey(c.topologyKey, tv)) ?? 0;
        if (matchNum + selfMatch - minMatch > c.maxSkew) return newStatus('Unschedulable', errReasonConstraintsNotMatch);
      }
      return undefined;
    },
    preScore(state: CycleState, pod: PodInfo, filtered: NodeInfo[]): Result {
      const all = handle.nodeList();
      if (filtered.length === 0 || all.length === 0) return new Status('Skip');
      let constraints: Constraint[];
      try {
        constraints = constraintsFor(pod, 'ScheduleAnyway');
      } catch (e) {
        return asStatus(e);
      }
      if (constraints.length === 0) return new Status('Skip');
      const requireAllTopologies = (pod.pod.spec?.topologySpreadConstraints?.length ?? 0) > 0 || !systemDefaulted;
      const s: PreScoreState = { constraints, ignoredNodes: new Set(), topologyPairToPodCounts: new Map(), topologyNormalizingWeight: [] };
      const topoSize = new Array<number>(constraints.length).fill(0);
      for (const n of filtered) {
        if (requireAllTopologies && !nodeLabelsMatchSpreadConstraints(n.labels, constraints)) {
          s.ignoredNodes.add(n.name);
          continue;
        }
        constraints.forEach((c, i) => {
          if (c.topologyKey === hostnameLabel) return;
          const k = pairKey(c.topologyKey, n.labels[c.topologyKey] ?? '');
          if (!s.topologyPairToPodCounts.has(k)) {
            s.topologyPairToPodCounts.set(k, 0);
            topoSize[i] = (topoSize[i] ?? 0) + 1;
          }
        });
      }
      s.topologyNormalizingWeight = constraints.map((c, i) => {
        const size = c.topologyKey === hostnameLabel ? filtered.length - s.ignoredNodes.size : topoSize[i] ?? 0;
        return Math.log(size + 2);
      });
      for (const n of all) {
        if (!n.node || n.pods.length === 0) continue;
        if (requireAllTopologies && !nodeLabelsMatchSpreadConstraints(n.labels, constraints)) continue;
        for (const c of constraints) {
          if (!matchNodeInclusionPolicies(c, pod.pod, n)) continue;
          const k = pairKey(c.topologyKey, n.labels[c.topologyKey] ?? '');
          const cur = s.topologyPairToPodCounts.get(k);
          if (cur === undefined) continue;
          s.topologyPairToPodCounts.set(k, cur + countPodsMatchSelector(n.pods, c.selector, pod.namespace));
        }
      }
      state.write(preScoreKey, s);
      return undefined;
    },
    score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
      const s = state.read<PreScoreState>(preScoreKey);
      if (!s || s.ignoredNodes.has(nodeInfo.name)) return 0;
      let score = 0;
      s.constraints.forEach((c, i) => {
        const tv = nodeInfo.labels[c.topologyKey];
        if (tv === undefined) return;
        const cnt = c.topologyKey === hostnameLabel
          ? countPodsMatchSelector(nodeInfo.pods, c.selector, pod.namespace)
          : s.topologyPairToPodCounts.get(pairKey(c.topologyKey, tv)) ?? 0;
        score += cnt * (s.topologyNormalizingWeight[i] ?? 0) + (c.maxSkew - 1);
      });
      return Math.round(score);
    },
    normalizeScore(state: CycleState, _pod: PodInfo, nodes: NodeInfo[], scores: number[]): Result {
      const s = state.read<PreScoreState>(preScoreKey);
      if (!s) return undefined;
      let min = Number.MAX_SAFE_INTEGER;
      let max = 0;
      const ignored: boolean[] = nodes.map((n) => s.ignoredNodes.has(n.name));
      for (let i = 0; i < scores.length; i++) {
        if (ignored[i]) continue;
        const v = scores[i] ?? 0;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      for (let i = 0; i < scores.length; i++) {
        if (ignored[i]) {
          scores[i] = 0;
          continue;
        }
        if (max === 0) {
          scores[i] = maxNodeScore;
          continue;
        }
        scores[i] = Math.trunc((maxNodeScore * (max + min - (scores[i] ?? 0))) / max);
      }
      return undefined;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        { resource: 'AssignedPod', actions: ['Add', 'Update', 'Delete'] },
        { resource: 'Node', actions: ['Add', 'Update', 'Delete'] },
        { resource: 'Pod', actions: ['Update'] },
      ];
    },
  };
}
