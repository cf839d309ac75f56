/**
 * The plugin contract of the scheduling framework (framework/interface.go): extension points, the cycle
 * state shared by one pod's scheduling attempt, the handle plugins use to reach the cluster, and the cluster
 * events a plugin declares so that the queue knows when a pod it rejected may fit again.
 */
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { LabelSelector } from '../../api/meta/labels.ts';
import type { NodeInfo, PodInfo } from './node-info.ts';
import type { Result, Status } from './status.ts';

/** The largest score a Score plugin may return after normalisation. */
export const maxNodeScore = 100;

/** Per-attempt plugin state (framework.CycleState); entries that preemption must copy implement `clone`. */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins that returned Skip at PreFilter / PreScore, so their Filter / Score are not run. */
  skipFilterPlugins = new Set<string>();
  skipScorePlugins = new Set<string>();

  /** Reads a plugin's state. */
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  /** Stores a plugin's state. */
  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }

  /** A copy whose cloneable entries are deep-copied (CycleState.Clone). */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) {
      const cl = (v as { clone?: () => unknown } | undefined)?.clone;
      c.data.set(k, typeof cl === 'function' ? cl.call(v) : v);
    }
    c.skipFilterPlugins = new Set(this.skipFilterPlugins);
    c.skipScorePlugins = new Set(this.skipScorePlugins);
    return c;
  }
}

/** A kind of change in the cluster (framework.ClusterEvent), reduced to what the queue needs. */
export interface ClusterEvent {
  resource: 'Node' | 'Pod' | 'AssignedPod' | 'PodDisruptionBudget' | 'Namespace';
  action: 'Add' | 'Update' | 'Delete';
  /** A readable label for logs and metrics, e.g. NodeAdd, AssignedPodDelete. */
  label: string;
}

/** A queueing hint's answer (framework.QueueingHint). */
export type QueueingHint = 'Queue' | 'QueueSkip';

/** Decides whether a change could make `pod` schedulable; `oldObj`/`newObj` are undefined for add/delete. */
export type QueueingHintFn = (pod: Pod, oldObj: unknown, newObj: unknown) => QueueingHint;

/** An event a plugin cares about, with an optional hint (framework.ClusterEventWithHint). */
export interface ClusterEventWithHint {
  resource: ClusterEvent['resource'];
  actions: ClusterEvent['action'][];
  hint?: QueueingHintFn;
}

/** The result of PreFilter: an optional subset of node names (undefined = all nodes). */
export interface PreFilterResult {
  nodeNames?: Set<string>;
}

/** Node name → the status that rejected it. */
export type NodeToStatus = Map<string, Status>;

/** A PostFilter (preemption) outcome. */
export interface PostFilterResult {
  nominatedNodeName?: string;
}

/** What plugins may use (framework.Handle): the cluster through the scheduler's caches and client. */
export interface Handle {
  /** The profile's scheduler name. */
  schedulerName: string;
  /** Every node, in the scheduler's (zone-interleaved) order. */
  nodeList(): NodeInfo[];
  /** The NodeInfo of one node. */
  getNodeInfo(name: string): NodeInfo | undefined;
  /** Namespace labels (for namespaceSelector) and the namespaces a selector picks. */
  namespaceLabels(name: string): Record<string, string> | undefined;
  listNamespaces(): Namespace[];
  /** The selector of the services and controller owning the pod (helper.DefaultSelector), [] when none. */
  defaultSelector(pod: Pod): LabelSelector;
  /** PodDisruptionBudgets (for preemption). */
  listPodDisruptionBudgets(): PodDisruptionBudget[];
  /** Pods nominated to a node (by preemption), higher-priority ones first. */
  nominatedPodsForNode(nodeName: string): PodInfo[];
  /** Runs Filter with the pods nominated to the node added (RunFilterPluginsWithNominatedPods). */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result;
  /** Runs the PreFilter extensions' AddPod / RemovePod on a state copy (for preemption). */
  runPreFilterExtensionAddPod(state: CycleState, pod: PodInfo, toAdd: PodInfo, nodeInfo: NodeInfo): Result;
  runPreFilterExtensionRemovePod(state: CycleState, pod: PodInfo, toRemove: PodInfo, nodeInfo: NodeInfo): Result;
  /** Cluster writes. */
  bindPod(pod: Pod, nodeName: string, opts?: { signal?: AbortSignal }): Promise<void>;
  deletePod(pod: Pod, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Merge-patches the pod's status (conditions, nominatedNodeName). */
  patchPodStatus(pod: Pod, status: Record<string, unknown>): Promise<void>;
  /** Records an event about an object (the scheduler's EventRecorder). */
  event(obj: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Pods waiting at Permit, so that preemption can reject a victim there. */
  rejectWaitingPod(key: string, plugin: string, msg: string): boolean;
}

/** Base of every plugin. */
export interface Plugin {
  readonly name: string;
}

/** Decides whether a pod may enter the active queue (SchedulingGates). */
export interface PreEnqueuePlugin extends Plugin {
  preEnqueue(pod: PodInfo): Result;
}

/** Orders the active queue. */
export interface QueueSortPlugin extends Plugin {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
}

/** Incremental updates of PreFilter state when preemption simulates adding or removing pods. */
export interface PreFilterExtensions {
  addPod(state: CycleState, pod: PodInfo, toAdd: PodInfo, nodeInfo: NodeInfo): Result;
  removePod(state: CycleState, pod: PodInfo, toRemove: PodInfo, nodeInfo: NodeInfo): Result;
}

/** Computes per-pod state once; may narrow the nodes, or reject the pod outright. */
export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): { result?: PreFilterResult; status?: Status };
  preFilterExtensions?(): PreFilterExtensions | undefined;
}

/** Rejects nodes that cannot run the pod. Must be cheap: it runs for every candidate node. */
export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result;
}

/** Runs when no node fits (preemption). */
export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, statuses: NodeToStatus, opts?: { signal?: AbortSignal }): Promise<{ result?: PostFilterResult; status: Result }>;
}

/** Computes scoring state over the feasible nodes; Skip status skips this plugin's Score. */
export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): Result;
}

/** Scores one feasible node; normalizeScore rescales all scores into [0, maxNodeScore]. */
export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number;
  normalizeScore?(state: CycleState, pod: PodInfo, nodes: NodeInfo[], scores: number[]): Result;
}

/** Reserves resources for the chosen node before binding; unreserve undoes it on a later failure. */
export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): Result;
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

/** Approves, rejects or delays (Wait + timeout) the binding. */
export interface PermitPlugin extends Plugin {
  permit(state: CycleState, pod: PodInfo, nodeName: string): { status: Result; timeoutMs?: number };
}

/** Work before binding (volumes, …). */
export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: PodInfo, nodeName: string, opts?: { signal?: AbortSignal }): Promise<Result>;
}

/** Binds the pod; Skip lets the next bind plugin do it. */
export interface BindPlugin extends Plugin {
  bind(state: CycleState, pod: PodInfo, nodeName: string, opts?: { signal?: AbortSignal }): Promise<Result>;
}

/** Informational, after a successful bind. */
export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: PodInfo, nodeName: string): void;
}

/** Declares the cluster events that may make a pod this plugin rejected schedulable. */
export interface EnqueueExtensions extends Plugin {
  eventsToRegister(): ClusterEventWithHint[];
}

/** A pod in the scheduling queue (framework.QueuedPodInfo). */
export interface QueuedPodInfo {
  podInfo: PodInfo;
  /** When the pod was last added to the queue (PrioritySort's tie-breaker). */
  timestamp: number;
  /** Scheduling attempts so far. */
  attempts: number;
  /** When the pod first entered the queue (for the end-to-end latency). */
  initialAttemptTimestamp: number | undefined;
  /** Plugins that rejected the pod in its last attempt. */
  unschedulablePlugins: Set<string>;
  /** Plugins that returned Pending in its last attempt. */
  pendingPlugins: Set<string>;
  /** The PreEnqueue plugin that is holding the pod back, if any. */
  gatingPlugin: string | undefined;
}

/** A plugin factory: builds a plugin from its args (pluginConfig) and the handle. */
export type PluginFactory = (args: Record<string, unknown> | undefined, handle: Handle) => Plugin;

/** Type guards for the extension points a plugin implements. */
export const implementsPoint = {
  preEnqueue: (p: Plugin): p is PreEnqueuePlugin => typeof (p as Partial<PreEnqueuePlugin>).preEnqueue === 'function',
  queueSort: (p: Plugin): p is QueueSortPlugin => typeof (p as Partial<QueueSortPlugin>).less === 'function',
  preFilter: (p: Plugin): p is PreFilterPlugin => typeof (p as Partial<PreFilterPlugin>).preFilter === 'function',
  filter: (p: Plugin): p is FilterPlugin => typeof (p as Partial<FilterPlugin>).filter === 'function',
  postFilter: (p: Plugin): p is PostFilterPlugin => typeof (p as Partial<PostFilterPlugin>).postFilter === 'function',
  preScore: (p: Plugin): p is PreScorePlugin => typeof (p as Partial<PreScorePlugin>).preScore === 'function',
  score: (p: Plugin): p is ScorePlugin => typeof (p as Partial<ScorePlugin>).score === 'function',
  reserve: (p: Plugin): p is ReservePlugin => typeof (p as Partial<ReservePlugin>).reserve === 'function',
  permit: (p: Plugin): p is PermitPlugin => typeof (p as Partial<PermitPlugin>).permit === 'function',
  preBind: (p: Plugin): p is PreBindPlugin => typeof (p as Partial<PreBindPlugin>).preBind === 'function',
  bind: (p: Plugin): p is BindPlugin => typeof (p as Partial<BindPlugin>).bind === 'function',
  postBind: (p: Plugin): p is PostBindPlugin => typeof (p as Partial<PostBindPlugin>).postBind === 'function',
  enqueueExtensions: (p: Plugin): p is EnqueueExtensions => typeof (p as Partial<EnqueueExtensions>).eventsToRegister === 'function',
};

/** The Node and Pod types plugins see, re-exported for convenience. */
export type { Node, Pod };
