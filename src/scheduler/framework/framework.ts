/**
 * The framework runtime of one profile (frameworkImpl): the enabled plugins of each extension point in
 * order, with score weights, and the functions that run them. Everything up to Reserve is synchronous, so
 * that a scheduling cycle sees one consistent view of the cache without copying it.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import type {
  BindPlugin, ClusterEventWithHint, FilterPlugin, Handle, Plugin, PluginFactory, PermitPlugin, PostBindPlugin,
  PostFilterPlugin, PostFilterResult, PreBindPlugin, PreEnqueuePlugin, PreFilterPlugin, PreFilterResult,
  PreScorePlugin, QueueSortPlugin, QueuedPodInfo, ReservePlugin, ScorePlugin, NodeToStatus,
} from './interface.ts';
import { CycleState, implementsPoint, maxNodeScore } from './interface.ts';
import type { NodeInfo, PodInfo } from './node-info.ts';
import { asStatus, isSuccess, newStatus, Status, type Result } from './status.ts';

const log = logger('scheduler');

/** The extension points a profile configures, in upstream's spelling. */
export const extensionPoints = ['preEnqueue', 'queueSort', 'preFilter', 'filter', 'postFilter', 'preScore', 'score', 'reserve', 'permit', 'preBind', 'bind', 'postBind'] as const;
/** One extension point name. */
export type ExtensionPoint = (typeof extensionPoints)[number];

/** An enabled plugin of an extension point, with its weight (score only). */
export interface EnabledPlugin {
  name: string;
  weight?: number;
}

/** A profile after defaulting: per extension point, the enabled plugins in order; args per plugin. */
export interface ResolvedProfile {
  schedulerName: string;
  percentageOfNodesToScore?: number;
  plugins: Record<ExtensionPoint, EnabledPlugin[]>;
  pluginConfig: Map<string, Record<string, unknown>>;
}

/** What the framework needs from the scheduler: the Handle minus the methods the framework itself provides. */
export type ClusterHandle = Omit<Handle, 'schedulerName' | 'runFilterPluginsWithNominatedPods' | 'runPreFilterExtensionAddPod' | 'runPreFilterExtensionRemovePod' | 'rejectWaitingPod'>;

interface WaitingPod {
  pod: PodInfo;
  pending: Set<string>;
  resolve: (s: Result) => void;
  timers: NodeJS.Timeout[];
}

/** The plugins of one profile and the code that runs each extension point. */
export class Framework {
  readonly profileName: string;
  readonly percentageOfNodesToScore: number | undefined;
  readonly handle: Handle;
  readonly preEnqueuePlugins: PreEnqueuePlugin[] = [];
  readonly queueSortPlugins: QueueSortPlugin[] = [];
  readonly preFilterPlugins: PreFilterPlugin[] = [];
  readonly filterPlugins: FilterPlugin[] = [];
  readonly postFilterPlugins: PostFilterPlugin[] = [];
  readonly preScorePlugins: PreScorePlugin[] = [];
  readonly scorePlugins: { plugin: ScorePlugin; weight: number }[] = [];
  readonly reservePlugins: ReservePlugin[] = [];
  readonly permitPlugins: PermitPlugin[] = [];
  readonly preBindPlugins: PreBindPlugin[] = [];
  readonly bindPlugins: BindPlugin[] = [];
  readonly postBindPlugins: PostBindPlugin[] = [];
  /** Every instantiated plugin by name. */
  readonly plugins = new Map<string, Plugin>();
  private readonly waiting = new Map<string, WaitingPod>();

  constructor(profile: ResolvedProfile, opts: { registry: Record<string, PluginFactory>; cluster: ClusterHandle }) {
    this.profileName = profile.schedulerName;
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore;
    const fw = this;
    this.handle = {
      ...opts.cluster,
      schedulerName: profile.schedulerName,
      runFilterPluginsWithNominatedPods: (state, pod, nodeInfo) => fw.runFilterPluginsWithNominatedPods(state, pod, nodeInfo),
      runPreFilterExtensionAddPod: (state, pod, toAdd, nodeInfo) => fw.runPreFilterExtension('addPod', state, pod, toAdd, nodeInfo),
      runPreFilterExtensionRemovePod: (state, pod, toRemove, nodeInfo) => fw.runPreFilterExtension('removePod', state, pod, toRemove, nodeInfo),
      rejectWaitingPod: (key, plugin, msg) => fw.rejectWaitingPod(key, plugin, msg),
    };
    const instance = (name: string): Plugin => {
      let p = this.plugins.get(name);
      if (!p) {
        const factory = opts.registry[name];
        if (!factory) throw new Error(`plugin "${name}" does not exist`);
        p = factory(profile.pluginConfig.get(name), this.handle);
        this.plugins.set(name, p);
      }
      return p;
    };
    const add = <P extends Plugin>(point: ExtensionPoint, guard: (p: Plugin) => p is P, into: P[]): void => {
      for (const e of profile.plugins[point]) {
        const p = instance(e.name);
        if (!guard(p)) throw new Error(`plugin "${e.name}" does not extend ${point} plugin`);
        into.push(p);
      }
    };
    add('preEnqueue', implementsPoint.preEnqueue, this.preEnqueuePlugins);
    add('queueSort', implementsPoint.queueSort, this.queueSortPlugins);
    add('preFilter', implementsPoint.preFilter, this.preFilterPlugins);
    add('filter', implementsPoint.filter, this.filterPlugins);
    add('postFilter', implementsPoint.postFilter, this.postFilterPlugins);
    add('preScore', implementsPoint.preScore, this.preScorePlugins);
    const scores: ScorePlugin[] = [];
    add('score', implementsPoint.score, scores);
    scores.forEach((p, i) => this.scorePlugins.push({ plugin: p, weight: profile.plugins.score[i]?.weight ?? 1 }));
    add('reserve', implementsPoint.reserve, this.reservePlugins);
    add('permit', implementsPoint.permit, this.permitPlugins);
    add('preBind', implementsPoint.preBind, this.preBindPlugins);
    add('bind', implementsPoint.bind, this.bindPlugins);
    add('postBind', implementsPoint.postBind, this.postBindPlugins);
    if (this.queueSortPlugins.length !== 1) throw new Error(`only one queue sort plugin can be enabled, got ${this.queueSortPlugins.length}`);
    if (this.bindPlugins.length === 0) throw new Error('at least one bind plugin is needed');
  }

  /** Orders the active queue with the profile's QueueSort plugin. */
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    return (this.queueSortPlugins[0] as QueueSortPlugin).less(a, b);
  }

  /** The events each plugin registered, by plugin name. */
  eventsToRegister(): Map<string, ClusterEventWithHint[]> {
    const m = new Map<string, ClusterEventWithHint[]>();
    for (const [name, p] of this.plugins) if (implementsPoint.enqueueExtensions(p)) m.set(name, p.eventsToRegister());
    return m;
  }

  /** Runs PreEnqueue; the first rejecting status (with its plugin) or undefined. */
  runPreEnqueuePlugins(pod: PodInfo): Result {
    for (const p of this.preEnqueuePlugins) {
      const s = p.preEnqueue(pod);
      if (!isSuccess(s)) return s.withPlugin(p.name);
    }
    return undefined;
  }

  /** Runs PreFilter: intersects node subsets, records Skip, stops at the first failure. */
  runPreFilterPlugins(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): { result?: PreFilterResult; status: Result } {
    let result: PreFilterResult | undefined;
    for (const p of this.preFilterPlugins) {
      let r: ReturnType<PreFilterPlugin['preFilter']>;
      try {
        r = p.preFilter(state, pod, nodes);
      } catch (e) {
        return { status: asStatus(e).withPlugin(p.name) };
      }
      const s = r.status;
      if (s && s.code === 'Skip') {
        state.skipFilterPlugins.add(p.name);
        continue;
      }
      if (!isSuccess(s)) {
        if (s.isRejected()) return { status: s.withPlugin(p.name) };
        return { status: new Status('Error', [`running PreFilter plugin "${p.name}": ${s.message()}`], { plugin: p.name, err: s.err }) };
      }
      if (r.result?.nodeNames) {
        const names = r.result.nodeNames;
        result = { nodeNames: result?.nodeNames ? new Set([...result.nodeNames].filter((n) => names.has(n))) : names };
        if (result.nodeNames?.size === 0) {
          return { status: newStatus('UnschedulableAndUnresolvable', `node(s) didn't satisfy plugin(s) [${p.name}] simultaneously`).withPlugin(p.name) };
        }
      }
    }
    return { result, status: undefined };
  }

  /** Runs the PreFilter extensions' addPod or removePod (used by preemption and nominated pods). */
  runPreFilterExtension(which: 'addPod' | 'removePod', state: CycleState, pod: PodInfo, other: PodInfo, nodeInfo: NodeInfo): Result {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      const s = ext[which](state, pod, other, nodeInfo);
      if (!isSuccess(s)) return new Status('Error', [`running ${which === 'addPod' ? 'AddPod' : 'RemovePod'} on PreFilter plugin "${p.name}": ${s.message()}`], { plugin: p.name });
    }
    return undefined;
  }

  /** Runs Filter on one node; the first failure (with its plugin) or undefined. */
  runFilterPlugins(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const skip = state.skipFilterPlugins;
    for (const p of this.filterPlugins) {
      if (skip.size > 0 && skip.has(p.name)) continue;
      let s: Result;
      try {
        s = p.filter(state, pod, nodeInfo);
      } catch (e) {
        s = asStatus(e);
      }
      if (s !== undefined && s.code !== 'Success') {
        if (!s.isRejected()) return new Status('Error', [`running "${p.name}" filter plugin: ${s.message()}`], { plugin: p.name, err: s.err });
        return s.withPlugin(p.name);
      }
    }
    return undefined;
  }

  /** Runs Filter with the higher-or-equal-priority pods nominated to the node added, then (if any) without them. */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Result {
    const nominated = this.handle.nominatedPodsForNode(nodeInfo.name);
    if (nominated.length === 0) return this.runFilterPlugins(state, pod, nodeInfo);
    let stateOut = state;
    let infoOut = nodeInfo;
    let added = false;
    for (const np of nominated) {
      if (np.priority >= pod.priority && np.key !== pod.key) {
        if (!added) {
          stateOut = state.clone();
          infoOut = nodeInfo.clone();
          added = true;
        }
        infoOut.addPod(np);
        const s = this.runPreFilterExtension('addPod', stateOut, pod, np, infoOut);
        if (!isSuccess(s)) return s;
      }
    }
    const s = this.runFilterPlugins(stateOut, pod, infoOut);
    if (!added || !isSuccess(s)) return s;
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  /** Runs PostFilter plugins until one succeeds (preemption). */
  async runPostFilterPlugins(state: CycleState, pod: PodInfo, statuses: NodeToStatus, opts: { signal?: AbortSignal } = {}): Promise<{ result?: PostFilterResult; status: Result }> {
    let result: PostFilterResult | undefined;
    const reasons: string[] = [];
    let rejector = '';
    for (const p of this.postFilterPlugins) {
      let r: { result?: PostFilterResult; status: Result };
      try {
        r = await p.postFilter(state, pod, statuses, opts);
      } catch (e) {
        return { status: asStatus(e).withPlugin(p.name) };
      }
      const s = r.status;
      if (isSuccess(s)) return r;
      if (s.code === 'UnschedulableAndUnresolvable') return { result: r.result, status: s.withPlugin(p.name) };
      if (!s.isRejected()) return { status: new Status('Error', s.reasons, { plugin: p.name, err: s.err }) };
      if (r.result?.nominatedNodeName) result = r.result;
      reasons.push(...s.reasons);
      if (!rejector) rejector = p.name;
    }
    return { result, status: new Status('Unschedulable', reasons, { plugin: rejector }) };
  }

  /** Runs PreScore; Skip marks the plugin's Score as skipped. */
  runPreScorePlugins(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): Result {
    for (const p of this.preScorePlugins) {
      let s: Result;
      try {
        s = p.preScore(state, pod, nodes);
      } catch (e) {
        s = asStatus(e);
      }
      if (s && s.code === 'Skip') {
        state.skipScorePlugins.add(p.name);
        continue;
      }
      if (!isSuccess(s)) return new Status('Error', [`running PreScore plugin "${p.name}": ${s.message()}`], { plugin: p.name });
    }
    return undefined;
  }

  /** Runs Score, NormalizeScore and weights; returns the total per node (same order as `nodes`). */
  runScorePlugins(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): { totals: number[]; status: Result } {
    const totals = new Array<number>(nodes.length).fill(0);
    const scores = new Array<number>(nodes.length);
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScorePlugins.has(plugin.name)) continue;
      try {
        for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i] as NodeInfo);
        if (plugin.normalizeScore) {
          const s = plugin.normalizeScore(state, pod, nodes, scores);
          if (!isSuccess(s)) return { totals, status: new Status('Error', [`running Normalize on Score plugins: plugin "${plugin.name}" failed with: ${s.message()}`]) };
        }
      } catch (e) {
        return { totals, status: asStatus(e).withPlugin(plugin.name) };
      }
      for (let i = 0; i < nodes.length; i++) {
        const v = scores[i] ?? 0;
        if (v > maxNodeScore || v < 0) {
          return { totals, status: new Status('Error', [`plugin "${plugin.name}" returns an invalid score ${v}, it should in the range of [0, ${maxNodeScore}] after normalizing`]) };
        }
        totals[i] = (totals[i] ?? 0) + v * weight;
      }
    }
    return { totals, status: undefined };
  }

  /** Runs Reserve in order; on failure the caller runs Unreserve. */
  runReservePluginsReserve(state: CycleState, pod: PodInfo, nodeName: string): Result {
    for (const p of this.reservePlugins) {
      const s = p.reserve(state, pod, nodeName);
      if (!isSuccess(s)) return new Status(s.code === 'Error' ? 'Error' : s.code, [`running Reserve plugin "${p.name}": ${s.message()}`], { plugin: p.name });
    }
    return undefined;
  }

  /** Runs Unreserve in reverse order. */
  runReservePluginsUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) {
      try {
        this.reservePlugins[i]?.unreserve(state, pod, nodeName);
      } catch (e) {
        log.error('unreserve failed', { plugin: this.reservePlugins[i]?.name, err: e });
      }
    }
  }

  /** Runs Permit: a rejection, Wait (the pod is parked until allowed, rejected or timed out), or success. */
  runPermitPlugins(state: CycleState, pod: PodInfo, nodeName: string): Result {
    const waits = new Map<string, number>();
    for (const p of this.permitPlugins) {
      const { status: s, timeoutMs } = p.permit(state, pod, nodeName);
      if (isSuccess(s)) continue;
      if (s.isRejected()) return s.withPlugin(p.name);
      if (s.code === 'Wait') {
        waits.set(p.name, Math.min(timeoutMs ?? 15 * 60_000, 15 * 60_000));
        continue;
      }
      return new Status('Error', [`running Permit plugin "${p.name}": ${s.message()}`], { plugin: p.name });
    }
    if (waits.size === 0) return undefined;
    let resolve!: (s: Result) => void;
    const done = new Promise<Result>((r) => (resolve = r));
    const wp: WaitingPod = { pod, pending: new Set(waits.keys()), resolve, timers: [] };
    for (const [plugin, ms] of waits) {
      wp.timers.push(setTimeout(() => this.rejectWaitingPod(pod.key, plugin, `rejected due to timeout after waiting ${ms / 1000}s at plugin ${plugin}`), ms));
    }
    this.waiting.set(pod.key, wp);
    this.waitDone.set(pod.key, done);
    return new Status('Wait');
  }

  private readonly waitDone = new Map<string, Promise<Result>>();

  /** Resolves when a waiting pod is allowed (undefined) or rejected; immediately for pods that do not wait. */
  waitOnPermit(pod: PodInfo): Promise<Result> {
    const p = this.waitDone.get(pod.key);
    if (!p) return Promise.resolve(undefined);
    return p.finally(() => this.waitDone.delete(pod.key));
  }

  /** Lets one Permit plugin allow a waiting pod; it proceeds once every waiting plugin allowed it. */
  allowWaitingPod(key: string, plugin: string): void {
    const wp = this.waiting.get(key);
    if (!wp) return;
    wp.pending.delete(plugin);
    if (wp.pending.size > 0) return;
    for (const t of wp.timers) clearTimeout(t);
    this.waiting.delete(key);
    wp.resolve(undefined);
  }

  /** Rejects a pod waiting at Permit; false when no such pod waits. */
  rejectWaitingPod(key: string, plugin: string, msg: string): boolean {
    const wp = this.waiting.get(key);
    if (!wp) return false;
    for (const t of wp.timers) clearTimeout(t);
    this.waiting.delete(key);
    wp.resolve(newStatus('Unschedulable', msg).withPlugin(plugin));
    return true;
  }

  /** Runs PreBind. */
  async runPreBindPlugins(state: CycleState, pod: PodInfo, nodeName: string, opts: { signal?: AbortSignal } = {}): Promise<Result> {
    for (const p of this.preBindPlugins) {
      const s = await p.preBind(state, pod, nodeName, opts);
      if (!isSuccess(s)) return new Status(s.isRejected() ? s.code : 'Error', [`running PreBind plugin "${p.name}": ${s.message()}`], { plugin: p.name });
    }
    return undefined;
  }

  /** Runs Bind plugins until one does not Skip. */
  async runBindPlugins(state: CycleState, pod: PodInfo, nodeName: string, opts: { signal?: AbortSignal } = {}): Promise<Result> {
    let last: Result = new Status('Skip');
    for (const p of this.bindPlugins) {
      last = await p.bind(state, pod, nodeName, opts);
      if (last && last.code === 'Skip') continue;
      if (!isSuccess(last)) return new Status(last.isRejected() ? last.code : 'Error', [`running Bind plugin "${p.name}": ${last.message()}`], { plugin: p.name, err: last.err });
      return undefined;
    }
    return last;
  }

  /** Runs PostBind (informational). */
  runPostBindPlugins(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (const p of this.postBindPlugins) p.postBind(state, pod, nodeName);
  }
}

/** The pod's profile name (spec.schedulerName, defaulted). */
export function schedulerNameOf(pod: Pod): string {
  return pod.spec?.schedulerName || 'default-scheduler';
}
