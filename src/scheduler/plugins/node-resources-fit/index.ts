/**
 * NodeResourcesFit: Filter checks the pod's requests (containers, init containers, overhead, extended
 * resources) and the pod count against the node's allocatable minus what is already requested; Score applies
 * the configured strategy — LeastAllocated (default), MostAllocated or RequestedToCapacityRatio — to the
 * configured resources (cpu and memory, weight 1) using the scoring defaults for unset requests.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { ClusterEventWithHint, CycleState, EnqueueExtensions, FilterPlugin, PreFilterPlugin, ScorePlugin } from '../../framework/interface.ts';
import { maxNodeScore } from '../../framework/interface.ts';
import type { NodeInfo, PodInfo } from '../../framework/node-info.ts';
import type { Resource } from '../../framework/resources.ts';
import { isExtendedResourceName, podRequests, resourceFromList } from '../../framework/resources.ts';
import { Status, type Result } from '../../framework/status.ts';

/** The plugin's registered name. */
export const name = 'NodeResourcesFit';

/** A resource and its weight in scoring (config.ResourceSpec). */
export interface ResourceSpec {
  name: string;
  weight: number;
}

/** One point of the RequestedToCapacityRatio shape: utilization 0–100 → score 0–10. */
export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

/** NodeResourcesFitArgs. */
export interface NodeResourcesFitArgs {
  ignoredResources?: string[];
  ignoredResourceGroups?: string[];
  scoringStrategy?: {
    type?: 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio';
    resources?: ResourceSpec[];
    requestedToCapacityRatio?: { shape?: UtilizationShapePoint[] };
  };
}

/** The default scored resources. */
export const defaultResources: ResourceSpec[] = [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }];

const maxUtilization = 100;
const maxCustomPriorityScore = 10;

/** One insufficient resource (InsufficientResource). */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

/**
 * The resources the node lacks for the pod (fitsRequest), in upstream's order: pods, cpu, memory,
 * ephemeral-storage, then scalar resources. Empty when it fits.
 */
export function fitsRequest(pod: PodInfo, nodeInfo: NodeInfo, opts: { ignoredResources?: Set<string>; ignoredResourceGroups?: Set<string> } = {}): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (nodeInfo.pods.length + 1 > alloc.allowedPodNumber) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: nodeInfo.pods.length, capacity: alloc.allowedPodNumber });
  }
  const req = pod.requests;
  if (req.milliCPU === 0 && req.memory === 0 && req.ephemeralStorage === 0 && (!req.scalar || req.scalar.size === 0)) return out;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) {
    out.push({ resourceName: 'cpu', reason: 'Insufficient cpu', requested: req.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU });
  }
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) {
    out.push({ resourceName: 'memory', reason: 'Insufficient memory', requested: req.memory, used: used.memory, capacity: alloc.memory });
  }
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    out.push({ resourceName: 'ephemeral-storage', reason: 'Insufficient ephemeral-storage', requested: req.ephemeralStorage, used: used.ephemeralStorage, capacity: alloc.ephemeralStorage });
  }
  if (req.scalar) {
    for (const [rName, rQuant] of req.scalar) {
      if (rQuant === 0) continue;
      if (isExtendedResourceName(rName)) {
        // Resources a scheduler extender manages are not checked here.
        const group = rName.slice(0, rName.indexOf('/'));
        if (opts.ignoredResources?.has(rName) || opts.ignoredResourceGroups?.has(group)) continue;
      }
      const a = alloc.scalar?.get(rName) ?? 0;
      const u = used.scalar?.get(rName) ?? 0;
      if (rQuant > a - u) out.push({ resourceName: rName, reason: `Insufficient ${rName}`, requested: rQuant, used: u, capacity: a });
    }
  }
  return out;
}

function resourceOf(r: Resource, name: string): number {
  switch (name) {
    case 'cpu': return r.milliCPU;
    case 'memory': return r.memory;
    case 'ephemeral-storage': return r.ephemeralStorage;
    case 'pods': return r.allowedPodNumber;
    default: return r.scalar?.get(name) ?? 0;
  }
}

/**
 * Allocatable and requested (including the pod) of each scored resource (calculateResourceAllocatableRequest):
 * cpu and memory use the non-zero requests unless `useRequested`; an extended resource the pod does not
 * request is left at 0/0 so that it does not affect the score.
 */
export function allocatableAndRequested(pod: PodInfo, nodeInfo: NodeInfo, resources: ResourceSpec[], useRequested: boolean, out: { alloc: number[]; req: number[] }): void {
  const nodeReq = useRequested ? nodeInfo.requested : nodeInfo.nonZeroRequested;
  const podReq = useRequested ? pod.requests : pod.nonZeroRequests;
  for (let i = 0; i < resources.length; i++) {
    const rn = (resources[i] as ResourceSpec).name;
    let alloc = 0;
    let req = 0;
    if (rn === 'cpu' || rn === 'memory') {
      alloc = resourceOf(nodeInfo.allocatable, rn);
      req = resourceOf(nodeReq, rn) + resourceOf(podReq, rn);
    } else if (rn === 'ephemeral-storage') {
      alloc = nodeInfo.allocatable.ephemeralStorage;
      req = nodeInfo.requested.ephemeralStorage + pod.requests.ephemeralStorage;
    } else {
      const podQ = pod.requests.scalar?.get(rn) ?? 0;
      if (!(isExtendedResourceName(rn) && podQ === 0)) {
        alloc = resourceOf(nodeInfo.allocatable, rn);
        req = resourceOf(nodeInfo.requested, rn) + podQ;
      }
    }
    out.alloc[i] = alloc;
    out.req[i] = req;
  }
}

/** leastRequestedScore: the unused share of capacity, 0–100. */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * maxNodeScore) / capacity);
}

/** mostRequestedScore: the used share of capacity, 0–100 (requests above capacity count as full). */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  const r = requested > capacity ? capacity : requested;
  return Math.trunc((r * maxNodeScore) / capacity);
}

/** helper.BuildBrokenLinearFunction over (utilization, score) points. */
export function brokenLinearFunction(shape: { utilization: number; score: number }[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      const cur = shape[i] as { utilization: number; score: number };
      if (p <= cur.utilization) {
        if (i === 0) return cur.score;
        const prev = shape[i - 1] as { utilization: number; score: number };
        return prev.score + Math.trunc(((cur.score - prev.score) * (p - prev.utilization)) / (cur.utilization - prev.utilization));
      }
    }
    return (shape[shape.length - 1] as { score: number }).score;
  };
}

/** A weighted scorer over (requested[], allocatable[]) for a strategy. */
export function strategyScorer(args: NodeResourcesFitArgs['scoringStrategy'] = {}): { resources: ResourceSpec[]; score: (req: number[], alloc: number[]) => number } {
  const resources = args.resources?.length ? args.resources : defaultResources;
  const type = args.type ?? 'LeastAllocated';
  if (type === 'RequestedToCapacityRatio') {
    const shape = (args.requestedToCapacityRatio?.shape ?? []).map((p) => ({ utilization: p.utilization, score: p.score * (maxNodeScore / maxCustomPriorityScore) }));
    const raw = brokenLinearFunction(shape);
    const perResource = (requested: number, capacity: number): number =>
      capacity === 0 || requested > capacity ? raw(maxUtilization) : raw(Math.trunc((requested * maxUtilization) / capacity));
    return {
      resources,
      score: (req, alloc) => {
        let nodeScore = 0;
        let weightSum = 0;
        for (let i = 0; i < req.length; i++) {
          const a = alloc[i] ?? 0;
          if (a === 0) continue;
          const w = (resources[i] as ResourceSpec).weight;
          const s = perResource(req[i] ?? 0, a);
          if (s > 0) {
            nodeScore += s * w;
            weightSum += w;
          }
        }
        return weightSum === 0 ? 0 : Math.round(nodeScore / weightSum);
      },
    };
  }
  const one = type === 'MostAllocated' ? mostRequestedScore : leastRequestedScore;
  return {
    resources,
    score: (req, alloc) => {
      let nodeScore = 0;
      let weightSum = 0;
      for (let i = 0; i < req.length; i++) {
        const a = alloc[i] ?? 0;
        if (a === 0) continue;
        const w = (resources[i] as ResourceSpec).weight;
        nodeScore += one(req[i] ?? 0, a) * w;
        weightSum += w;
      }
      return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum);
    },
  };
}

function nodeFitsPodRequest(pod: Pod, node: Node): boolean {
  const req = podRequests(pod);
  const alloc = resourceFromList(node.status?.allocatable as Record<string, string> | undefined);
  if (req.milliCPU > alloc.milliCPU || req.memory > alloc.memory || req.ephemeralStorage > alloc.ephemeralStorage) return false;
  for (const [k, v] of req.scalar ?? []) if (v > (alloc.scalar?.get(k) ?? 0)) return false;
  return true;
}

/** Builds the plugin. */
export function newNodeResourcesFit(args?: Record<string, unknown>): PreFilterPlugin & FilterPlugin & ScorePlugin & EnqueueExtensions {
  const a = (args ?? {}) as NodeResourcesFitArgs;
  const ignoredResources = new Set(a.ignoredResources ?? []);
  const ignoredResourceGroups = new Set(a.ignoredResourceGroups ?? []);
  const scorer = strategyScorer(a.scoringStrategy);
  const buf = { alloc: new Array<number>(scorer.resources.length).fill(0), req: new Array<number>(scorer.resources.length).fill(0) };
  return {
    name,
    preFilter() {
      return {};
    },
    filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
      const insufficient = fitsRequest(pod, nodeInfo, { ignoredResources, ignoredResourceGroups });
      if (insufficient.length === 0) return undefined;
      return new Status('Unschedulable', insufficient.map((r) => r.reason));
    },
    score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
      allocatableAndRequested(pod, nodeInfo, scorer.resources, false, buf);
      return scorer.score(buf.req, buf.alloc);
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        { resource: 'AssignedPod', actions: ['Delete'] },
        { resource: 'Pod', actions: ['Update'] },
        {
          resource: 'Node', actions: ['Add', 'Update'],
          hint: (pod, oldObj, newObj) => {
            const n = newObj as Node | undefined;
            if (!n || !nodeFitsPodRequest(pod, n)) return 'QueueSkip';
            const o = oldObj as Node | undefined;
            if (o && JSON.stringify(o.status?.allocatable ?? {}) === JSON.stringify(n.status?.allocatable ?? {})) return 'QueueSkip';
            return 'Queue';
          },
        },
      ];
    },
  };
}
