/** NodePorts: rejects nodes where a host port the pod asks for (protocol, IP, port) is already in use. */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin, PreFilterPlugin } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { portConflicts } from '../../framework/node-info.ts';
import { newStatus, Status, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'NodePorts';
/** The reason shown for a node with a conflicting port. */
export const errReason = "node(s) didn't have free ports for the requested pod ports";

/** Builds the plugin. */
export function newNodePorts(): PreFilterPlugin & FilterPlugin & EnqueueExtensions {
  return {
    name,
    preFilter(_state: CycleState, pod: PodInfo) {
      if (pod.hostPorts.length === 0) return { status: new Status('Skip') };
      return {};
    },
    filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      for (const hp of pod.hostPorts) {
        if (portConflicts(nodeInfo.usedPorts, hp)) return newStatus('Unschedulable', errReason);
      }
      return undefined;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        {
          resource: 'AssignedPod', actions: ['Delete'],
          hint: (_pod, oldObj) => {
            const deleted = oldObj as Pod | undefined;
            const uses = (deleted?.spec?.containers ?? []).some((c) => (c.ports ?? []).some((p) => (p.hostPort ?? 0) > 0));
            return uses ? 'Queue' : 'QueueSkip';
          },
        },
        { resource: 'Node', actions: ['Add'] },
      ];
    },
  };
}
