/**
 * The in-tree plugin registry: every plugin the scheduler knows, by name, in one explicit map (no
 * registration by import side effect).
 */
import type { PluginFactory } from '../framework/interface.ts';
import { newDefaultBinder } from './default-binder/index.ts';
import { newDefaultPreemption } from './default-preemption/index.ts';
import { newInterPodAffinity } from './inter-pod-affinity/index.ts';
import { newNodeAffinity } from './node-affinity/index.ts';
import { newNodeName } from './node-name/index.ts';
import { newNodePorts } from './node-ports/index.ts';
import { newNodeResourcesBalancedAllocation } from './node-resources-balanced-allocation/index.ts';
import { newNodeResourcesFit } from './node-resources-fit/index.ts';
import { newNodeUnschedulable } from './node-unschedulable/index.ts';
import { newPodTopologySpread } from './pod-topology-spread/index.ts';
import { newPrioritySort } from './priority-sort/index.ts';
import { newSchedulingGates } from './scheduling-gates/index.ts';
import { newTaintToleration } from './taint-toleration/index.ts';

/** Plugin name → factory. */
export const inTreeRegistry: Record<string, PluginFactory> = {
  SchedulingGates: () => newSchedulingGates(),
  PrioritySort: () => newPrioritySort(),
  NodeUnschedulable: () => newNodeUnschedulable(),
  NodeName: () => newNodeName(),
  TaintToleration: () => newTaintToleration(),
  NodeAffinity: (args) => newNodeAffinity(args),
  NodePorts: () => newNodePorts(),
  NodeResourcesFit: (args) => newNodeResourcesFit(args),
  NodeResourcesBalancedAllocation: (args) => newNodeResourcesBalancedAllocation(args),
  InterPodAffinity: (args, h) => newInterPodAffinity(args, h),
  PodTopologySpread: (args, h) => newPodTopologySpread(args, h),
  DefaultPreemption: (args, h) => newDefaultPreemption(args, h),
  DefaultBinder: (args, h) => newDefaultBinder(args, h),
};

/** The default multiPoint plugins and score weights of a profile (v1 getDefaultPlugins), in order. */
export const defaultMultiPoint: { name: string; weight?: number }[] = [
  { name: 'SchedulingGates' },
  { name: 'PrioritySort' },
  { name: 'NodeUnschedulable' },
  { name: 'NodeName' },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts' },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DefaultPreemption' },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'DefaultBinder' },
];
