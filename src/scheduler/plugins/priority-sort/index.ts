/** PrioritySort: orders the active queue by priority, then by the time the pod was queued. */
import type { QueueSortPlugin, QueuedPodInfo } from '../../framework/interface.ts';

/** The plugin's registered name. */
export const name = 'PrioritySort';

/** Higher priority first; equal priorities in queue order (PrioritySort.Less). */
export function less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const p1 = a.podInfo.priority;
  const p2 = b.podInfo.priority;
  return p1 > p2 || (p1 === p2 && a.timestamp < b.timestamp);
}

/** Builds the plugin. */
export function newPrioritySort(): QueueSortPlugin {
  return { name, less };
}
