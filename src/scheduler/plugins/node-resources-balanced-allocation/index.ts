/**
 * NodeResourcesBalancedAllocation: favours nodes whose resource fractions (requested / allocatable,
 * including the pod) stay close to each other: score = (1 − standard deviation) × 100.
 */
import type { CycleState, ScorePlugin } from '../../framework/interface.ts';
import { maxNodeScore } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import type { ResourceSpec } from '../node-resources-fit/index.ts';
import { allocatableAndRequested, defaultResources } from '../node-resources-fit/index.ts';

/** The plugin's registered name. */
export const name = 'NodeResourcesBalancedAllocation';

/** balancedResourceScorer: fractions capped at 1; two resources use |f1 − f2| / 2, more use the population std. */
export function balancedResourceScore(requested: number[], allocatable: number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    const a = allocatable[i] ?? 0;
    if (a === 0) continue;
    let f = (requested[i] ?? 0) / a;
    if (f > 1) f = 1;
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) {
    std = Math.abs(((fractions[0] ?? 0) - (fractions[1] ?? 0)) / 2);
  } else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * maxNodeScore);
}

/** Builds the plugin (args: { resources }). */
export function newNodeResourcesBalancedAllocation(args?: Record<string, unknown>): ScorePlugin {
  const resources = ((args as { resources?: ResourceSpec[] } | undefined)?.resources ?? defaultResources);
  const buf = { alloc: new Array<number>(resources.length).fill(0), req: new Array<number>(resources.length).fill(0) };
  return {
    name,
    score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
      allocatableAndRequested(pod, nodeInfo, resources, true, buf);
      return balancedResourceScore(buf.req, buf.alloc);
    },
  };
}
