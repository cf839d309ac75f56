/** DefaultBinder: binds the pod through the pods/binding subresource. */
import type { BindPlugin, CycleState, Handle } from '../../framework/interface.ts';
import type { PodInfo } from '../../framework/node-info.ts';
import { asStatus, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'DefaultBinder';

/** Builds the plugin. */
export function newDefaultBinder(_args: Record<string, unknown> | undefined, handle: Handle): BindPlugin {
  return {
    name,
    async bind(_state: CycleState, pod: PodInfo, nodeName: string, opts?: { signal?: AbortSignal }): Promise<Result> {
      try {
        await handle.bindPod(pod.pod, nodeName, opts);
        return undefined;
      } catch (e) {
        return asStatus(e);
      }
    },
  };
}
