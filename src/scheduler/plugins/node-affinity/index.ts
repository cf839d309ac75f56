/**
 * NodeAffinity: Filter enforces spec.nodeSelector, the required node affinity terms and the profile's
 * addedAffinity; Score sums the weights of the preferred terms a node matches.
 */
import type { Node, NodeAffinity, PreferredSchedulingTerm } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { defaultNormalizeScore, maxNodeScore, nodeSelectorMatches, nodeSelectorTermMatches, requiredNodeAffinityMatches } from '../../framework/helpers.ts';
import { asStatus, newStatus, Status, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'NodeAffinity';
/** Reason for a node the pod's own affinity or selector rejects. */
export const errReasonPod = "node(s) didn't match Pod's node affinity/selector";
/** Reason for a node the profile's addedAffinity rejects. */
export const errReasonEnforced = "node(s) didn't match scheduler-enforced node affinity";

/** NodeAffinityArgs. */
export interface NodeAffinityArgs {
  addedAffinity?: NodeAffinity;
}

const scoreKey = 'PreScore' + name;

/** Builds the plugin. */
export function newNodeAffinity(args?: Record<string, unknown>): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const added = (args as NodeAffinityArgs | undefined)?.addedAffinity;
  const addedRequired = added?.requiredDuringSchedulingIgnoredDuringExecution;
  const addedPreferred = added?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const enforcedMatches = (node: Node): boolean => !addedRequired || nodeSelectorMatches(addedRequired, node);
  const podMatches = (pod: PodInfo, node: Node): boolean => requiredNodeAffinityMatches(pod.pod, node);
  return {
    name,
    preFilter(state: CycleState, pod: PodInfo) {
      const spec = pod.pod.spec;
      const hasRequired = !!spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
      if (!hasRequired && !spec?.nodeSelector && !addedRequired) return { status: new Status('Skip') };
      // Validate operators once, so that Filter never throws per node.
      try {
        const probe: Node = { metadata: { name: '', labels: {} } };
        for (const t of spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) nodeSelectorTermMatches(t, probe);
      } catch (e) {
        return { status: asStatus(e) };
      }
      void state;
      return {};
    },
    filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      const node = nodeInfo.node;
      if (!node) return newStatus('Error', 'node not found');
      if (!enforcedMatches(node)) return newStatus('UnschedulableAndUnresolvable', errReasonEnforced);
      if (!podMatches(pod, node)) return newStatus('UnschedulableAndUnresolvable', errReasonPod);
      return undefined;
    },
    preScore(state: CycleState, pod: PodInfo): Result {
      const preferred: PreferredSchedulingTerm[] = [...(pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []), ...addedPreferred];
      if (preferred.length === 0) return new Status('Skip');
      state.write(scoreKey, preferred.filter((t) => t.weight !== 0));
      return undefined;
    },
    score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
      const terms = state.read<PreferredSchedulingTerm[]>(scoreKey) ?? [];
      const node = nodeInfo.node;
      if (!node) return 0;
      let count = 0;
      for (const t of terms) {
        try {
          if (nodeSelectorTermMatches(t.preference, node)) count += t.weight;
        } catch {
          // An invalid preferred term simply never matches, as upstream's lazy-error selector.
        }
      }
      return count;
    },
    normalizeScore(_state: CycleState, _pod: PodInfo, _nodes: NodeInfo[], scores: number[]): Result {
      defaultNormalizeScore(maxNodeScore, false, scores);
      return undefined;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        {
          resource: 'Node', actions: ['Add', 'Update'],
          hint: (pod, oldObj, newObj) => {
            const n = newObj as Node | undefined;
            if (!n) return 'QueueSkip';
            try {
              const fits = (x: Node): boolean => enforcedMatches(x) && requiredNodeAffinityMatches(pod, x);
              if (!fits(n)) return 'QueueSkip';
              const o = oldObj as Node | undefined;
              return o && fits(o) ? 'QueueSkip' : 'Queue';
            } catch {
              return 'QueueSkip';
            }
          },
        },
        { resource: 'Pod', actions: ['Update'] },
      ];
    },
  };
}
