/** SchedulingGates: keeps a pod out of the active queue while spec.schedulingGates is not empty. */
import type { ClusterEventWithHint, EnqueueExtensions, PreEnqueuePlugin } from '../../framework/interface.ts';
import type { PodInfo } from '../../framework/node-info.ts';
import { newStatus, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'SchedulingGates';

/** Builds the plugin. */
export function newSchedulingGates(): PreEnqueuePlugin & EnqueueExtensions {
  return {
    name,
    preEnqueue(p: PodInfo): Result {
      const gates = p.pod.spec?.schedulingGates ?? [];
      if (gates.length === 0) return undefined;
      return newStatus('UnschedulableAndUnresolvable', `waiting for scheduling gates: [${gates.map((g) => g.name).join(' ')}]`);
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [{ resource: 'Pod', actions: ['Update'] }];
    },
  };
}
