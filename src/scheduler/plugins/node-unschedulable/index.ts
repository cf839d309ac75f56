/** NodeUnschedulable: rejects nodes with spec.unschedulable unless the pod tolerates the unschedulable taint. */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { tolerationsTolerateTaint } from '../../framework/helpers.ts';
import { newStatus, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'NodeUnschedulable';
/** The reason shown for an unschedulable node. */
export const errReasonUnschedulable = 'node(s) were unschedulable';

const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** Builds the plugin. */
export function newNodeUnschedulable(): FilterPlugin & EnqueueExtensions {
  return {
    name,
    filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      if (!nodeInfo.node?.spec?.unschedulable) return undefined;
      if (tolerationsTolerateTaint(pod.pod.spec?.tolerations, unschedulableTaint)) return undefined;
      return newStatus('UnschedulableAndUnresolvable', errReasonUnschedulable);
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [{
        resource: 'Node', actions: ['Add', 'Update'],
        hint: (_pod, oldObj, newObj) => {
          const n = newObj as Node | undefined;
          const o = oldObj as Node | undefined;
          if (!n) return 'QueueSkip';
          return !n.spec?.unschedulable && (o === undefined || !!o.spec?.unschedulable) ? 'Queue' : 'QueueSkip';
        },
      }];
    },
  };
}
