/** NodeName: when spec.nodeName is set on a pending pod, only that node fits. */
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import { newStatus, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'NodeName';
/** The reason shown for other nodes. */
export const errReason = "node(s) didn't match the requested node name";

/** Builds the plugin. */
export function newNodeName(): FilterPlugin & EnqueueExtensions {
  return {
    name,
    filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      const want = pod.pod.spec?.nodeName;
      if (!want || want === nodeInfo.name) return undefined;
      return newStatus('UnschedulableAndUnresolvable', errReason);
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [{ resource: 'Node', actions: ['Add'] }];
    },
  };
}
