/**
 * Test fixtures for plugin unit tests: Node and Pod builders, NodeInfos with pods, and a Handle over them
 * (no API: writes are recorded).
 */
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Handle } from './interface.ts';
import { CycleState } from './interface.ts';
import { NodeInfo, newPodInfo, type PodInfo } from './node-info.ts';
import { Framework, type ResolvedProfile } from './framework.ts';
import { decodeSchedulerConfiguration } from '../config/config.ts';
import { inTreeRegistry } from '../plugins/registry.ts';

/** A node with allocatable resources, labels and taints. */
export function testNode(name: string, o: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints']; unschedulable?: boolean; extra?: Record<string, string> } = {}): Node {
  const alloc: Record<string, string> = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...o.extra };
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } }, spec: { taints: o.taints, unschedulable: o.unschedulable }, status: { allocatable: alloc, capacity: alloc } };
}

let uid = 0;

/** A pod with per-container requests (one container per entry) and any spec fields. */
export function testPod(name: string, o: { namespace?: string; labels?: Record<string, string>; requests?: Record<string, string>[]; spec?: Partial<NonNullable<Pod['spec']>>; nodeName?: string; priority?: number; startTime?: string } = {}): Pod {
  return {
    metadata: { name, namespace: o.namespace ?? 'default', uid: `uid-${name}-${++uid}`, labels: o.labels },
    spec: {
      containers: (o.requests ?? [{}]).map((r, i) => ({ name: `c${i}`, image: 'x', resources: { requests: r } })),
      nodeName: o.nodeName, priority: o.priority, ...o.spec,
    },
    status: o.startTime ? { startTime: o.startTime } : {},
  };
}

/** NodeInfos for nodes, with the given pods (placed by spec.nodeName). */
export function nodeInfos(nodes: Node[], pods: Pod[] = []): NodeInfo[] {
  const infos = nodes.map((n) => new NodeInfo(n));
  for (const p of pods) infos.find((n) => n.name === p.spec?.nodeName)?.addPod(newPodInfo(p));
  return infos;
}

/** A Handle over fixed NodeInfos; cluster writes are recorded in `writes`. */
export function testHandle(infos: NodeInfo[], o: { namespaces?: Namespace[]; pdbs?: PodDisruptionBudget[] } = {}): Handle & { writes: string[] } {
  const writes: string[] = [];
  const h: Handle & { writes: string[] } = {
    writes,
    schedulerName: 'default-scheduler',
    nodeList: () => infos,
    getNodeInfo: (name) => infos.find((n) => n.name === name),
    namespaceLabels: (name) => o.namespaces?.find((n) => n.metadata?.name === name)?.metadata?.labels ?? {},
    listNamespaces: () => o.namespaces ?? [],
    defaultSelector: () => [],
    listPodDisruptionBudgets: () => o.pdbs ?? [],
    nominatedPodsForNode: () => [],
    runFilterPluginsWithNominatedPods: () => undefined,
    runPreFilterExtensionAddPod: () => undefined,
    runPreFilterExtensionRemovePod: () => undefined,
    bindPod: async (p, n) => { writes.push(`bind ${p.metadata?.name ?? ''} ${n}`); },
    deletePod: async (p) => { writes.push(`delete ${p.metadata?.name ?? ''}`); },
    patchPodStatus: async (p, s) => { writes.push(`patch ${p.metadata?.name ?? ''} ${JSON.stringify(Object.keys(s))}`); },
    event: (p, _t, reason) => { writes.push(`event ${reason} ${p.metadata?.name ?? ''}`); },
    rejectWaitingPod: () => false,
  };
  return h;
}

/** The default profile's Framework over fixed NodeInfos (for preemption and framework tests). */
export function testFramework(infos: NodeInfo[], o: { pdbs?: PodDisruptionBudget[]; profile?: ResolvedProfile } = {}): { fw: Framework; writes: string[] } {
  const profile = o.profile ?? (decodeSchedulerConfiguration({ apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration' }).profiles[0] as ResolvedProfile);
  const base = testHandle(infos, { pdbs: o.pdbs });
  const fw = new Framework(profile, { registry: inTreeRegistry, cluster: base });
  return { fw, writes: base.writes };
}

/** Runs a plugin's score (after PreScore when it has one) and NormalizeScore over nodes, returning name → score. */
export function scoreNodes(
  plugin: { score(s: CycleState, p: PodInfo, n: NodeInfo): number; preScore?(s: CycleState, p: PodInfo, n: NodeInfo[]): unknown; normalizeScore?(s: CycleState, p: PodInfo, n: NodeInfo[], sc: number[]): unknown; preFilter?(s: CycleState, p: PodInfo, n: NodeInfo[]): unknown },
  pod: Pod,
  infos: NodeInfo[],
): Record<string, number> {
  const state = new CycleState();
  const pi = newPodInfo(pod);
  plugin.preScore?.(state, pi, infos);
  const scores = infos.map((n) => plugin.score(state, pi, n));
  plugin.normalizeScore?.(state, pi, infos, scores);
  return Object.fromEntries(infos.map((n, i) => [n.name, scores[i] ?? 0]));
}

export { CycleState, newPodInfo };
