/**
 * TaintToleration: Filter rejects nodes with a NoSchedule/NoExecute taint the pod does not tolerate; Score
 * counts the PreferNoSchedule taints it does not tolerate, normalised in reverse (fewer is better).
 */
import type { Node, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin, PreScorePlugin, ScorePlugin } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { defaultNormalizeScore, findMatchingUntoleratedTaint, maxNodeScore, tolerationsTolerateTaint } from '../../framework/helpers.ts';
import { newStatus, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'TaintToleration';
const stateKey = 'PreScore' + name;

const noScheduleOrExecute = (t: Taint): boolean => t.effect === 'NoSchedule' || t.effect === 'NoExecute';

/** Builds the plugin. */
export function newTaintToleration(): FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  return {
    name,
    filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      const taints = nodeInfo.node?.spec?.taints;
      if (!taints || taints.length === 0) return undefined;
      const taint = findMatchingUntoleratedTaint(taints, pod.pod.spec?.tolerations, noScheduleOrExecute);
      if (!taint) return undefined;
      return newStatus('UnschedulableAndUnresolvable', `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
    },
    preScore(state: CycleState, pod: PodInfo): Result {
      // Only tolerations that could apply to PreferNoSchedule taints matter for scoring.
      const tols = (pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
      state.write(stateKey, tols);
      return undefined;
    },
    score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
      const tols = state.read<Toleration[]>(stateKey) ?? [];
      let n = 0;
      for (const taint of nodeInfo.node?.spec?.taints ?? []) {
        if (taint.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tols, taint)) n++;
      }
      return n;
    },
    normalizeScore(_state: CycleState, _pod: PodInfo, _nodes: NodeInfo[], scores: number[]): Result {
      defaultNormalizeScore(maxNodeScore, true, scores);
      return undefined;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        {
          resource: 'Node', actions: ['Add', 'Update'],
          hint: (pod, _old, newObj) => {
            const n = newObj as Node | undefined;
            if (!n) return 'QueueSkip';
            const t = findMatchingUntoleratedTaint(n.spec?.taints, pod.spec?.tolerations, noScheduleOrExecute);
            return t ? 'QueueSkip' : 'Queue';
          },
        },
        { resource: 'Pod', actions: ['Update'] },
      ];
    },
  };
}
