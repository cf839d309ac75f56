/**
 * The scheduler (pkg/scheduler): informers feed the cache (bound pods, nodes) and the queue (pending pods
 * of our profiles); one loop pops a pod and runs its scheduling cycle — synchronously up to Reserve, so the
 * cache is its own consistent snapshot — then assumes it and starts the binding cycle in the background
 * (Permit wait, PreBind, Bind through pods/binding) with a bound on concurrent binds. Failures set
 * PodScheduled=False with upstream's reason and message, record FailedScheduling, and put the pod back in
 * the queue; PostFilter (preemption) may nominate a node.
 */
import type { Namespace, Node, Pod, ReplicationController, Service } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Event as CoreEvent } from 'kubernetes-types/core/v1.js';
import { logger } from '../base/log.ts';
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import type { LabelSelector } from '../api/meta/labels.ts';
import { labelSelectorFromMeta, newRequirement } from '../api/meta/labels.ts';
import { events, namespaces, nodes, pods, replicationcontrollers, services } from '../api/core/v1/index.ts';
import { replicaSets } from '../api/apps/v1/replica-set.ts';
import { statefulSets } from '../api/apps/v1/stateful-set.ts';
import { podDisruptionBudgets } from '../api/policy/v1/pod-disruption-budget.ts';
import type { ApiClient, Lister, ResourceClient, SharedInformer } from '../client/index.ts';
import { EventRecorder, SharedInformerFactory, isNotFound, isTombstone } from '../client/index.ts';
import type { SchedulerConfiguration } from './config/config.ts';
import type { ClusterEvent, ClusterEventWithHint, NodeToStatus, PluginFactory, QueuedPodInfo } from './framework/interface.ts';
import { CycleState } from './framework/interface.ts';
import type { ClusterHandle } from './framework/framework.ts';
import { Framework, schedulerNameOf } from './framework/framework.ts';
import type { Diagnosis } from './framework/fit-error.ts';
import { fitErrorMessage } from './framework/fit-error.ts';
import type { NodeInfo, PodInfo } from './framework/node-info.ts';
import { newPodInfo, podKey } from './framework/node-info.ts';
import { asStatus, isSuccess, newStatus, Status, type Result } from './framework/status.ts';
import { SchedulerCache } from './cache/cache.ts';
import { SchedulingQueue } from './queue/scheduling-queue.ts';
import { SchedulerMetrics } from './metrics.ts';
import { inTreeRegistry } from './plugins/registry.ts';

const log = logger('scheduler');

const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

/**
 * How many feasible nodes to look for before scoring (numFeasibleNodesToFind): every node below 100;
 * otherwise the configured percentage, or the adaptive 50 − nodes/125 (at least 5 %), and at least 100.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore: number): number {
  if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
  let pct = percentageOfNodesToScore;
  if (pct === 0) {
    pct = Math.trunc(50 - numAllNodes / 125);
    if (pct < minFeasibleNodesPercentageToFind) pct = minFeasibleNodesPercentageToFind;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < minFeasibleNodesToFind ? minFeasibleNodesToFind : n;
}

/** Options of a Scheduler. */
export interface SchedulerOptions {
  api: ApiClient;
  config: SchedulerConfiguration;
  /** An informer factory to share (the composition root's); one is created otherwise. */
  informers?: SharedInformerFactory;
  registry?: Record<string, PluginFactory>;
  clock?: Clock;
  metrics?: SchedulerMetrics;
  /** Record core/v1 events (Scheduled, FailedScheduling, Preempted); default true. */
  recordEvents?: boolean;
  /** Bindings in flight at once before the loop waits (default 64). */
  maxConcurrentBinds?: number;
}

interface ScheduleResult {
  suggestedHost: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

class FitError extends Error {
  constructor(readonly numAllNodes: number, readonly diagnosis: Diagnosis) {
    super('');
  }

  /** The message as upstream's FitError.Error(), computed late so that PostFilter's message is included. */
  text(): string {
    return fitErrorMessage(this.numAllNodes, this.diagnosis);
  }
}

/** The scheduler: informers, cache, queue, profiles and the scheduling loop. */
export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly metrics: SchedulerMetrics;
  readonly profiles = new Map<string, Framework>();
  private readonly opts: SchedulerOptions;
  private readonly clock: Clock;
  private readonly informers: SharedInformerFactory;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly nodeInformer: SharedInformer<Node>;
  private readonly nsLister: Lister<Namespace>;
  private readonly pdbLister: Lister<PodDisruptionBudget>;
  private readonly svcLister: Lister<Service>;
  private readonly rsLister: Lister<ReplicaSet>;
  private readonly ssLister: Lister<StatefulSet>;
  private readonly rcLister: Lister<ReplicationController>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly pluginEvents = new Map<string, Map<string, ClusterEventWithHint[]>>();
  private nextStartNodeIndex = 0;
  private bindsInFlight = 0;
  private readonly bindSlotWaiters: (() => void)[] = [];
  private readonly pendingBinds = new Set<Promise<void>>();

  constructor(opts: SchedulerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.metrics = opts.metrics ?? new SchedulerMetrics();
    this.informers = opts.informers ?? new SharedInformerFactory(opts.api);
    this.podClient = opts.api.resource<Pod>(pods);
    const cluster = this.clusterHandle();
    for (const p of opts.config.profiles) {
      const fw = new Framework(p, { registry: opts.registry ?? inTreeRegistry, cluster });
      this.profiles.set(p.schedulerName, fw);
      this.pluginEvents.set(p.schedulerName, fw.eventsToRegister());
      if (opts.recordEvents ?? true) {
        this.recorders.set(p.schedulerName, new EventRecorder({ client: opts.api.resource<CoreEvent>(events), component: p.schedulerName }));
      }
    }
    const first = this.profiles.values().next().value as Framework | undefined;
    if (!first) throw new Error('at least one profile is required');
    this.queue = new SchedulingQueue({
      less: (a, b) => first.less(a, b),
      clock: this.clock,
      podInitialBackoffMs: opts.config.podInitialBackoffSeconds * 1000,
      podMaxBackoffMs: opts.config.podMaxBackoffSeconds * 1000,
      preEnqueue: (p) => this.profiles.get(schedulerNameOf(p.pod))?.runPreEnqueuePlugins(p),
      pluginEvents: (pod) => this.pluginEvents.get(schedulerNameOf(pod)),
    });
    this.metrics.setPendingSource(() => this.queue.pendingCounts());
    this.podInformer = this.informers.informerFor<Pod>(pods);
    this.nodeInformer = this.informers.informerFor<Node>(nodes);
    this.nsLister = this.informers.informerFor<Namespace>(namespaces).lister();
    this.pdbLister = this.informers.informerFor<PodDisruptionBudget>(podDisruptionBudgets).lister();
    this.svcLister = this.informers.informerFor<Service>(services).lister();
    this.rsLister = this.informers.informerFor<ReplicaSet>(replicaSets).lister();
    this.ssLister = this.informers.informerFor<StatefulSet>(statefulSets).lister();
    this.rcLister = this.informers.informerFor<ReplicationController>(replicationcontrollers).lister();
    this.addEventHandlers();
  }

  /** Starts the informers and waits for their caches; false when `signal` aborted first. */
  async startInformers(signal: AbortSignal): Promise<boolean> {
    this.informers.start(signal);
    return this.informers.waitForCacheSync(signal);
  }

  /** Runs the scheduling loop until `signal` aborts; then waits for in-flight bindings. */
  async run(signal: AbortSignal): Promise<void> {
    this.queue.run(signal);
    log.info('scheduler started', { profiles: [...this.profiles.keys()] });
    while (!signal.aborted) {
      await this.queue.waitForPod(signal);
      if (signal.aborted) break;
      // Schedule a batch without yielding, then let I/O (watch events, bind responses) through.
      const until = performance.now() + 20;
      while (!signal.aborted && performance.now() < until) {
        const q = this.queue.pop();
        if (!q) break;
        const p = this.scheduleOne(q, signal);
        if (p) await p;
        if (this.bindsInFlight >= (this.opts.maxConcurrentBinds ?? 64)) await new Promise<void>((r) => this.bindSlotWaiters.push(r));
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    await Promise.allSettled([...this.pendingBinds]);
  }

  /** Waits for in-flight bindings, stops the event recorders and (when it owns them) the informers. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.pendingBinds]);
    await Promise.all([...this.recorders.values()].map((r) => r.flush().then(() => r.stop())));
    if (!this.opts.informers) await this.informers.shutdown();
  }

  /** Resolves once every queued event has been written (tests). */
  async flushEvents(): Promise<void> {
    await Promise.all([...this.recorders.values()].map((r) => r.flush()));
  }

  // --- event handlers (eventhandlers.go) -------------------------------------------------------------------

  private responsibleForPod(pod: Pod): boolean {
    return this.profiles.has(schedulerNameOf(pod));
  }

  private addEventHandlers(): void {
    const assigned = (p: Pod): boolean => !!p.spec?.nodeName;
    const terminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
    const event = (resource: ClusterEvent['resource'], action: ClusterEvent['action']): ClusterEvent => ({ resource, action, label: `${resource}${action}` });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        if (assigned(pod)) {
          this.cache.addPod(pod);
          this.queue.moveAllToActiveOrBackoffQueue(event('AssignedPod', 'Add'), undefined, pod);
        } else if (this.responsibleForPod(pod) && !terminal(pod) && !pod.metadata?.deletionTimestamp) {
          this.queue.add(pod);
        }
      },
      onUpdate: (oldPod, pod) => {
        if (assigned(pod)) {
          if (!assigned(oldPod)) {
            this.queue.delete(pod);
            this.cache.addPod(pod);
            this.queue.moveAllToActiveOrBackoffQueue(event('AssignedPod', 'Add'), undefined, pod);
          } else {
            if (oldPod.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
            this.cache.updatePod(oldPod, pod);
            this.queue.moveAllToActiveOrBackoffQueue(event('AssignedPod', 'Update'), oldPod, pod);
          }
        } else if (this.responsibleForPod(pod)) {
          if (terminal(pod)) this.queue.delete(pod);
          else if (!this.cache.isAssumedPod(podKey(pod))) this.queue.update(oldPod, pod);
        }
      },
      onDelete: (obj) => {
        const pod = isTombstone(obj) ? obj.obj : obj;
        if (assigned(pod) || this.cache.hasPod(podKey(pod))) {
          this.cache.removePod(pod);
          this.queue.deleteNominatedPodIfExists(podKey(pod));
          this.queue.moveAllToActiveOrBackoffQueue(event('AssignedPod', 'Delete'), pod, undefined);
        }
        this.queue.delete(pod);
        for (const fw of this.profiles.values()) fw.rejectWaitingPod(podKey(pod), '', 'pod deleted');
      },
    });
    this.nodeInformer.addEventHandler({
      onAdd: (node) => {
        this.cache.addNode(node);
        this.queue.moveAllToActiveOrBackoffQueue(event('Node', 'Add'), undefined, node);
      },
      onUpdate: (oldNode, node) => {
        if (oldNode.metadata?.resourceVersion === node.metadata?.resourceVersion) return;
        this.cache.updateNode(oldNode, node);
        // Heartbeat-only updates cannot make a pod fit; skip the queue scan for them.
        if (!nodeSchedulingPropertiesChanged(oldNode, node)) return;
        this.queue.moveAllToActiveOrBackoffQueue(event('Node', 'Update'), oldNode, node);
      },
      onDelete: (obj) => {
        const node = isTombstone(obj) ? obj.obj : obj;
        this.cache.removeNode(node);
        this.queue.moveAllToActiveOrBackoffQueue(event('Node', 'Delete'), node, undefined);
      },
    });
  }

  // --- the handle plugins use ----------------------------------------------------------------------------

  private clusterHandle(): ClusterHandle {
    return {
      nodeList: () => this.cache.nodeList(),
      getNodeInfo: (name) => this.cache.getNodeInfo(name),
      namespaceLabels: (name) => this.nsLister.get('', name)?.metadata?.labels ?? (this.nsLister.get('', name) ? {} : undefined),
      listNamespaces: () => this.nsLister.list(),
      listPodDisruptionBudgets: () => this.pdbLister.list(),
      defaultSelector: (pod) => this.defaultSelector(pod),
      nominatedPodsForNode: (name) => this.queue.nominatedPodsForNode(name),
      bindPod: async (pod, nodeName, o) => {
        const ns = pod.metadata?.namespace ?? '';
        const name = pod.metadata?.name ?? '';
        await this.podClient.createSubresource(name, 'binding', {
          namespace: ns, signal: o?.signal,
          body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns, uid: pod.metadata?.uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
        });
      },
      deletePod: async (pod, o) => {
        try {
          await this.podClient.delete(pod.metadata?.name ?? '', { namespace: pod.metadata?.namespace, signal: o?.signal });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      },
      patchPodStatus: async (pod, status) => {
        try {
          await this.podClient.patch(pod.metadata?.name ?? '', { status }, { type: 'merge', subresource: 'status', namespace: pod.metadata?.namespace });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      },
      event: (pod, type, reason, message) => {
        this.recorders.get(schedulerNameOf(pod))?.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, { type, reason, message });
      },
    };
  }

  /** helper.DefaultSelector: the selectors of the services, RC, ReplicaSet or StatefulSet that own the pod, merged. */
  private defaultSelector(pod: Pod): LabelSelector {
    const ns = pod.metadata?.namespace ?? '';
    const labels = pod.metadata?.labels ?? {};
    const set: Record<string, string> = {};
    for (const svc of this.svcLister.list(ns)) {
      const sel = svc.spec?.selector;
      if (!sel || Object.keys(sel).length === 0) continue;
      if (Object.entries(sel).every(([k, v]) => labels[k] === v)) Object.assign(set, sel);
    }
    let selector: LabelSelector = Object.entries(set).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => newRequirement({ key: k, operator: 'Equals', values: [v] }));
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
    if (!owner) return selector;
    try {
      if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
        const rc = this.rcLister.get(ns, owner.name);
        if (rc?.spec?.selector) {
          Object.assign(set, rc.spec.selector);
          selector = labelSelectorFromMeta({ matchLabels: set });
        }
      } else if (owner.kind === 'ReplicaSet' && owner.apiVersion === 'apps/v1') {
        const rs = this.rsLister.get(ns, owner.name);
        if (rs?.spec?.selector) selector = [...selector, ...labelSelectorFromMeta(rs.spec.selector)];
      } else if (owner.kind === 'StatefulSet' && owner.apiVersion === 'apps/v1') {
        const ss = this.ssLister.get(ns, owner.name);
        if (ss?.spec?.selector) selector = [...selector, ...labelSelectorFromMeta(ss.spec.selector)];
      }
    } catch {
      // An owner with an invalid selector contributes nothing.
    }
    return selector;
  }

  // --- scheduling cycle (schedule_one.go) ----------------------------------------------------------------

  /** Schedules one popped pod; returns a promise only when the attempt continues asynchronously (preemption). */
  scheduleOne(q: QueuedPodInfo, signal?: AbortSignal): Promise<void> | undefined {
    const pod = q.podInfo.pod;
    const key = q.podInfo.key;
    const fw = this.profiles.get(schedulerNameOf(pod));
    if (!fw) {
      this.queue.done(key);
      return undefined;
    }
    // skipPodSchedule: deleted meanwhile, or already assumed (an update re-queued it).
    const latest = this.podInformer.lister().get(q.podInfo.namespace, q.podInfo.name);
    if (!latest || latest.metadata?.uid !== pod.metadata?.uid || latest.metadata?.deletionTimestamp || latest.spec?.nodeName || this.cache.hasPod(key)) {
      this.queue.done(key);
      return undefined;
    }
    const start = performance.now();
    const state = new CycleState();
    let result: ScheduleResult;
    try {
      result = this.schedulePod(fw, state, q.podInfo);
    } catch (e) {
      if (!(e instanceof FitError)) {
        this.handleSchedulingFailure(fw, q, asStatus(e), undefined, start);
        return undefined;
      }
      if (fw.postFilterPlugins.length === 0) {
        this.handleSchedulingFailure(fw, q, fitStatus(e), undefined, start);
        return undefined;
      }
      return this.runPostFilter(fw, state, q, e, start, signal);
    }
    return this.assumeAndBind(fw, state, q, result.suggestedHost, start, signal);
  }

  private async runPostFilter(fw: Framework, state: CycleState, q: QueuedPodInfo, fitErr: FitError, start: number, signal: AbortSignal | undefined): Promise<void> {
    this.metrics.preemptionAttempts.inc();
    let nominated: string | undefined;
    try {
      const { result, status } = await fw.runPostFilterPlugins(state, q.podInfo, fitErr.diagnosis.nodeToStatus, { signal });
      if (status && status.code !== 'Success') fitErr.diagnosis.postFilterMsg = status.message();
      if (status?.code === 'Error') log.error('status after running PostFilter plugins', { pod: `${q.podInfo.namespace}/${q.podInfo.name}`, err: status.message() });
      nominated = result?.nominatedNodeName;
    } catch (e) {
      log.error('PostFilter failed', { pod: `${q.podInfo.namespace}/${q.podInfo.name}`, err: e });
    }
    this.handleSchedulingFailure(fw, q, fitStatus(fitErr), nominated, start);
  }

  private assumeAndBind(fw: Framework, state: CycleState, q: QueuedPodInfo, host: string, start: number, signal: AbortSignal | undefined): undefined {
    const pod = q.podInfo.pod;
    const assumedPod: Pod = { ...pod, spec: { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: host } };
    const assumed: PodInfo = { ...q.podInfo, pod: assumedPod };
    try {
      this.cache.assumePod(assumed);
    } catch (e) {
      this.handleSchedulingFailure(fw, q, asStatus(e), undefined, start);
      return undefined;
    }
    const reserve = fw.runReservePluginsReserve(state, assumed, host);
    if (!isSuccess(reserve)) {
      fw.runReservePluginsUnreserve(state, assumed, host);
      this.cache.forgetPod(assumed.key);
      this.handleSchedulingFailure(fw, q, reserve, undefined, start);
      return undefined;
    }
    const permit = fw.runPermitPlugins(state, assumed, host);
    if (permit && permit.code !== 'Wait' && !isSuccess(permit)) {
      fw.runReservePluginsUnreserve(state, assumed, host);
      this.cache.forgetPod(assumed.key);
      this.handleSchedulingFailure(fw, q, permit, undefined, start);
      return undefined;
    }
    // The pod leaves the queue's bookkeeping; a nomination it had is now moot.
    this.queue.deleteNominatedPodIfExists(assumed.key);
    this.queue.done(assumed.key);
    this.bindsInFlight++;
    const p = this.bindingCycle(fw, state, q, assumed, host, start, signal).finally(() => {
      this.bindsInFlight--;
      this.pendingBinds.delete(p);
      this.bindSlotWaiters.shift()?.();
    });
    this.pendingBinds.add(p);
    return undefined;
  }

  private async bindingCycle(fw: Framework, state: CycleState, q: QueuedPodInfo, assumed: PodInfo, host: string, start: number, signal: AbortSignal | undefined): Promise<void> {
    let st: Result;
    try {
      st = await fw.waitOnPermit(assumed);
      if (isSuccess(st)) st = await fw.runPreBindPlugins(state, assumed, host, { signal });
      // The node may have disappeared since the decision: fail now so the pod is retried elsewhere.
      if (isSuccess(st) && !this.cache.getNodeInfo(host)?.node) st = newStatus('Error', `node "${host}" not found`);
      if (isSuccess(st)) st = await fw.runBindPlugins(state, assumed, host, { signal });
    } catch (e) {
      st = asStatus(e);
    }
    if (!isSuccess(st)) {
      fw.runReservePluginsUnreserve(state, assumed, host);
      this.cache.forgetPod(assumed.key);
      // The resources the pod held may fit someone else now.
      this.queue.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', action: 'Delete', label: 'AssignedPodDelete' }, assumed.pod, undefined);
      this.handleSchedulingFailure(fw, q, st, undefined, start, { fromBinding: true });
      return;
    }
    this.cache.finishBinding(assumed.key);
    const seconds = (performance.now() - start) / 1000;
    this.metrics.attempts.inc({ result: 'scheduled', profile: fw.profileName });
    this.metrics.attemptDuration.observe({ result: 'scheduled', profile: fw.profileName }, seconds);
    if (q.initialAttemptTimestamp !== undefined) {
      this.metrics.e2eDuration.observe({ attempts: String(Math.min(q.attempts, 16)) }, Math.max(0, this.clock.now() - q.initialAttemptTimestamp) / 1000);
    }
    fw.handle.event(assumed.pod, 'Normal', 'Scheduled', `Successfully assigned ${assumed.namespace}/${assumed.name} to ${host}`);
    fw.runPostBindPlugins(state, assumed, host);
  }

  /** schedulePod: PreFilter, Filter over a rotating window of nodes, then PreScore/Score and selectHost. */
  private schedulePod(fw: Framework, state: CycleState, pod: PodInfo): ScheduleResult {
    if (pod.parseError) throw new Error(pod.parseError);
    const all = this.cache.nodeList();
    if (all.length === 0) throw new Error('no nodes available to schedule pods');
    const { feasible, diagnosis } = this.findNodesThatFitPod(fw, state, pod, all);
    if (feasible.length === 0) throw new FitError(all.length, diagnosis);
    if (feasible.length === 1) return { suggestedHost: (feasible[0] as NodeInfo).name, evaluatedNodes: 1 + diagnosis.nodeToStatus.size, feasibleNodes: 1 };
    const pre = fw.runPreScorePlugins(state, pod, feasible);
    if (!isSuccess(pre)) throw new Error(pre.message());
    const { totals, status } = fw.runScorePlugins(state, pod, feasible);
    if (!isSuccess(status)) throw new Error(status.message());
    return { suggestedHost: selectHost(feasible, totals), evaluatedNodes: feasible.length + diagnosis.nodeToStatus.size, feasibleNodes: feasible.length };
  }

  private findNodesThatFitPod(fw: Framework, state: CycleState, pod: PodInfo, all: NodeInfo[]): { feasible: NodeInfo[]; diagnosis: Diagnosis } {
    const diagnosis: Diagnosis = { nodeToStatus: new Map(), unschedulablePlugins: new Set() };
    const { result, status } = fw.runPreFilterPlugins(state, pod, all);
    if (status) {
      if (!status.isRejected()) throw new Error(status.message());
      for (const n of all) diagnosis.nodeToStatus.set(n.name, status);
      diagnosis.preFilterMsg = status.message();
      if (status.plugin) diagnosis.unschedulablePlugins?.add(status.plugin);
      return { feasible: [], diagnosis };
    }
    // A pod nominated by an earlier preemption tries its nominated node first.
    const nominated = pod.pod.status?.nominatedNodeName;
    if (nominated) {
      const ni = this.cache.getNodeInfo(nominated);
      if (ni?.node && (!result?.nodeNames || result.nodeNames.has(nominated))) {
        const st = fw.runFilterPluginsWithNominatedPods(state, pod, ni);
        if (isSuccess(st)) return { feasible: [ni], diagnosis };
      }
    }
    let nodes = all;
    if (result?.nodeNames) {
      const names = result.nodeNames;
      nodes = all.filter((n) => names.has(n.name));
    }
    const numToFind = numFeasibleNodesToFind(nodes.length, fw.percentageOfNodesToScore ?? this.opts.config.percentageOfNodesToScore);
    const feasible: NodeInfo[] = [];
    const n = nodes.length;
    const startIdx = nodes === all ? this.nextStartNodeIndex % n : 0;
    let processed = 0;
    for (let i = 0; i < n && feasible.length < numToFind; i++) {
      const ni = nodes[(startIdx + i) % n] as NodeInfo;
      processed++;
      const st = fw.runFilterPluginsWithNominatedPods(state, pod, ni);
      if (st === undefined || st.code === 'Success') {
        feasible.push(ni);
        continue;
      }
      if (st.code === 'Error') throw new Error(st.message());
      diagnosis.nodeToStatus.set(ni.name, st);
      if (st.plugin) diagnosis.unschedulablePlugins?.add(st.plugin);
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % all.length;
    return { feasible, diagnosis };
  }

  /** handleSchedulingFailure: condition, event, nomination, and back into the queue. */
  private handleSchedulingFailure(fw: Framework, q: QueuedPodInfo, status: Status, nominatedNode: string | undefined, start: number, o: { fromBinding?: boolean } = {}): void {
    const isError = status.code === 'Error';
    const result = isError ? 'error' : 'unschedulable';
    this.metrics.attempts.inc({ result, profile: fw.profileName });
    this.metrics.attemptDuration.observe({ result, profile: fw.profileName }, (performance.now() - start) / 1000);
    const pod = q.podInfo.pod;
    const msg = status.message();
    const fit = (status.err as { fitError?: FitError } | undefined)?.fitError;
    q.unschedulablePlugins = new Set(fit?.diagnosis.unschedulablePlugins ?? []);
    if (!fit && status.isRejected() && status.plugin) q.unschedulablePlugins.add(status.plugin);
    q.pendingPlugins = new Set();
    const latest = this.podInformer.lister().get(q.podInfo.namespace, q.podInfo.name);
    if (!latest || latest.metadata?.uid !== pod.metadata?.uid) {
      // Deleted meanwhile: nothing to retry.
      this.queue.done(q.podInfo.key);
      return;
    }
    if (latest.spec?.nodeName) {
      this.queue.done(q.podInfo.key);
      return;
    }
    q.podInfo = latest === pod ? q.podInfo : newPodInfo(latest);
    if (o.fromBinding) this.queue.done(q.podInfo.key);
    this.queue.addUnschedulableIfNotPresent(q);
    if (nominatedNode) this.queue.addNominatedPod(q.podInfo, nominatedNode);
    log.v(2).info('unable to schedule pod', { pod: `${q.podInfo.namespace}/${q.podInfo.name}`, err: msg });
    fw.handle.event(latest, 'Warning', 'FailedScheduling', truncate(msg, 1024));
    const reason = isError ? 'SchedulerError' : 'Unschedulable';
    const conds = latest.status?.conditions ?? [];
    const cur = conds.find((c) => c.type === 'PodScheduled');
    const nnnChange = nominatedNode !== undefined && nominatedNode !== (latest.status?.nominatedNodeName ?? '');
    const condChange = !cur || cur.status !== 'False' || cur.reason !== reason || cur.message !== msg;
    if (!condChange && !nnnChange) return;
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = {
      type: 'PodScheduled', status: 'False', reason, message: msg, lastProbeTime: null,
      lastTransitionTime: cur && cur.status === 'False' ? cur.lastTransitionTime ?? now : now,
    };
    const status2: Record<string, unknown> = { conditions: [...conds.filter((c) => c.type !== 'PodScheduled'), cond] };
    if (nnnChange) status2['nominatedNodeName'] = nominatedNode;
    fw.handle.patchPodStatus(latest, status2).catch((e: unknown) => log.warn('error updating pod condition', { pod: `${q.podInfo.namespace}/${q.podInfo.name}`, err: e }));
  }
}

function fitStatus(e: FitError): Status {
  const s = new Status('Unschedulable', [e.text()], { err: { fitError: e } });
  return s;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 3) + '...';
}

/** selectHost: the highest total, ties broken uniformly at random (reservoir sampling). */
export function selectHost(nodes: NodeInfo[], totals: number[]): string {
  let best = 0;
  let max = totals[0] ?? 0;
  let ties = 1;
  for (let i = 1; i < totals.length; i++) {
    const s = totals[i] ?? 0;
    if (s > max) {
      max = s;
      best = i;
      ties = 1;
    } else if (s === max) {
      ties++;
      if (Math.floor(Math.random() * ties) === 0) best = i;
    }
  }
  return (nodes[best] as NodeInfo).name;
}

/** True when a node change can affect scheduling (labels, taints, unschedulable, allocatable, conditions). */
function nodeSchedulingPropertiesChanged(a: Node, b: Node): boolean {
  const j = (v: unknown): string => JSON.stringify(v ?? null);
  return j(a.metadata?.labels) !== j(b.metadata?.labels) || j(a.spec?.taints) !== j(b.spec?.taints)
    || (a.spec?.unschedulable ?? false) !== (b.spec?.unschedulable ?? false) || j(a.status?.allocatable) !== j(b.status?.allocatable);
}
