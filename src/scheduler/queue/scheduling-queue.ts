/**
 * The scheduling queue (PriorityQueue): activeQ, a heap ordered by the profile's QueueSort plugin; backoffQ,
 * pods waiting out their exponential back-off (1 s doubling to 10 s by default); and the unschedulable pool,
 * pods that failed and wait for a cluster event that one of the plugins that rejected them says could help
 * (the QueueingHints idea, kept simple: each plugin registers resource/action pairs and an optional hint).
 * Pods held back by a PreEnqueue plugin (scheduling gates) wait in the pool too, as "gated". Also the pod
 * nominator: pods nominated to a node by preemption.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../base/clock.ts';
import { realClock } from '../../base/clock.ts';
import type { ClusterEvent, ClusterEventWithHint, QueuedPodInfo } from '../framework/interface.ts';
import type { PodInfo } from '../framework/node-info.ts';
import { newPodInfo, podKey } from '../framework/node-info.ts';
import type { Status } from '../framework/status.ts';
import { Heap } from './heap.ts';

/** Forces a move regardless of plugins (flushUnschedulablePodsLeftover's UnschedulableTimeout). */
export const unschedulableTimeout: ClusterEvent = { resource: 'Pod', action: 'Update', label: 'UnschedulableTimeout' };

/** Options of a SchedulingQueue. */
export interface SchedulingQueueOptions {
  less: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean;
  clock?: Clock;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  /** How long a pod may stay in the unschedulable pool before it is retried anyway (default 5 min). */
  podMaxInUnschedulablePodsDurationMs?: number;
  /** Runs the pod's profile's PreEnqueue plugins (undefined = may enter activeQ). */
  preEnqueue?: (p: PodInfo) => Status | undefined;
  /** The registrations of the plugins of the pod's profile, by plugin name. */
  pluginEvents?: (pod: Pod) => Map<string, ClusterEventWithHint[]> | undefined;
}

interface RecordedEvent {
  event: ClusterEvent;
  oldObj: unknown;
  newObj: unknown;
}

/** Counts of pending pods by queue, for metrics. */
export interface PendingCounts {
  active: number;
  backoff: number;
  unschedulable: number;
  gated: number;
}

/** The scheduler's priority queue with back-off and an unschedulable pool. */
export class SchedulingQueue {
  private readonly opts: SchedulingQueueOptions;
  private readonly clock: Clock;
  private readonly activeQ: Heap<QueuedPodInfo>;
  private readonly backoffQ: Heap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** Pods popped and not yet done, with the index of the first event recorded after their pop. */
  private readonly inFlight = new Map<string, number>();
  private events: RecordedEvent[] = [];
  private eventBase = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  /** Incremented on every pop (upstream's schedulingCycle). */
  schedulingCycle = 0;
  private readonly nominatedByNode = new Map<string, PodInfo[]>();
  private readonly nominatedNodeOf = new Map<string, string>();

  constructor(opts: SchedulingQueueOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.activeQ = new Heap((q) => q.podInfo.key, opts.less);
    this.backoffQ = new Heap((q) => q.podInfo.key, (a, b) => this.backoffTime(a) < this.backoffTime(b));
  }

  /** Adds a new pending pod (to activeQ, or the gated pool if a PreEnqueue plugin holds it). */
  add(pod: Pod): void {
    const now = this.clock.now();
    const q: QueuedPodInfo = { podInfo: newPodInfo(pod), timestamp: now, attempts: 0, initialAttemptTimestamp: undefined, unschedulablePlugins: new Set(), pendingPlugins: new Set(), gatingPlugin: undefined };
    this.unschedulable.delete(q.podInfo.key);
    this.backoffQ.delete(q.podInfo.key);
    this.moveToActiveQ(q);
    this.nominate(q.podInfo);
  }

  /** Handles an update of a pending pod: refreshes it where it waits and retries it if its spec changed. */
  update(oldPod: Pod, newPod: Pod): void {
    const key = podKey(newPod);
    const info = newPodInfo(newPod);
    this.nominate(info);
    const inActive = this.activeQ.get(key);
    if (inActive) {
      inActive.podInfo = info;
      this.activeQ.addOrUpdate(inActive);
      return;
    }
    const inBackoff = this.backoffQ.get(key);
    if (inBackoff) {
      inBackoff.podInfo = info;
      this.backoffQ.addOrUpdate(inBackoff);
      return;
    }
    const u = this.unschedulable.get(key);
    if (u) {
      u.podInfo = info;
      if (isPodUpdated(oldPod, newPod)) {
        if (u.gatingPlugin) {
          this.unschedulable.delete(key);
          this.moveToActiveQ(u);
        } else if (this.isPodWorthRequeuing(u, { resource: 'Pod', action: 'Update', label: 'PodUpdate' }, oldPod, newPod)) {
          this.unschedulable.delete(key);
          if (this.isBackingOff(u)) this.backoffQ.addOrUpdate(u);
          else this.moveToActiveQ(u);
        }
      }
      return;
    }
    if (!this.inFlight.has(key)) this.add(newPod);
  }

  /** Removes a pod from every queue and the nominator. */
  delete(pod: Pod): void {
    const key = podKey(pod);
    this.activeQ.delete(key);
    this.backoffQ.delete(key);
    this.unschedulable.delete(key);
    this.deleteNominatedPodIfExists(key);
  }

  /** True when the pod waits in one of the queues. */
  has(key: string): boolean {
    return this.activeQ.has(key) || this.backoffQ.has(key) || this.unschedulable.has(key);
  }

  /** Takes the next pod from activeQ without waiting (undefined when empty); the caller must call done(). */
  pop(): QueuedPodInfo | undefined {
    const q = this.activeQ.pop();
    if (!q) return undefined;
    q.attempts++;
    q.initialAttemptTimestamp ??= this.clock.now();
    this.schedulingCycle++;
    this.inFlight.set(q.podInfo.key, this.eventBase + this.events.length);
    return q;
  }

  /** Resolves when activeQ has a pod, the queue closes, or `signal` aborts. */
  waitForPod(signal?: AbortSignal): Promise<void> {
    if (this.activeQ.size > 0 || this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Marks the attempt of a popped pod finished. */
  done(key: string): void {
    this.inFlight.delete(key);
    if (this.inFlight.size === 0) {
      this.eventBase += this.events.length;
      this.events = [];
    }
  }

  /**
   * Puts back a pod whose attempt failed (AddUnschedulableIfNotPresent): to backoffQ when nothing names the
   * plugins that rejected it, or when an event that could help arrived during the attempt; otherwise to the
   * unschedulable pool.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo): void {
    const key = q.podInfo.key;
    if (this.has(key)) {
      this.done(key);
      return;
    }
    q.timestamp = this.clock.now();
    const start = this.inFlight.get(key);
    let worth = q.unschedulablePlugins.size === 0 && q.pendingPlugins.size === 0;
    if (!worth && start !== undefined) {
      for (let i = Math.max(0, start - this.eventBase); i < this.events.length; i++) {
        const e = this.events[i] as RecordedEvent;
        if (this.isPodWorthRequeuing(q, e.event, e.oldObj, e.newObj)) {
          worth = true;
          break;
        }
      }
    }
    if (worth) this.backoffQ.addOrUpdate(q);
    else this.unschedulable.set(key, q);
    this.done(key);
  }

  /**
   * Moves the unschedulable pods for which `event` could help to backoffQ or activeQ (MoveAllToActiveOrBackoffQueue),
   * and remembers the event for pods in flight.
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj: unknown, newObj: unknown, opts: { preCheck?: (pod: Pod) => boolean } = {}): number {
    if (this.inFlight.size > 0) this.events.push({ event, oldObj, newObj });
    let moved = 0;
    for (const [key, q] of this.unschedulable) {
      if (q.gatingPlugin) continue;
      if (opts.preCheck && !opts.preCheck(q.podInfo.pod)) continue;
      if (!this.isPodWorthRequeuing(q, event, oldObj, newObj)) continue;
      this.unschedulable.delete(key);
      if (this.isBackingOff(q)) this.backoffQ.addOrUpdate(q);
      else this.moveToActiveQ(q);
      moved++;
    }
    return moved;
  }

  /** Moves pods whose back-off has expired to activeQ (flushBackoffQCompleted). */
  flushBackoffQCompleted(): void {
    const now = this.clock.now();
    for (;;) {
      const q = this.backoffQ.peek();
      if (!q || this.backoffTime(q) > now) return;
      this.backoffQ.pop();
      this.moveToActiveQ(q);
    }
  }

  /** Retries pods that stayed in the unschedulable pool longer than the maximum (flushUnschedulablePodsLeftover). */
  flushUnschedulablePodsLeftover(): void {
    const now = this.clock.now();
    const max = this.opts.podMaxInUnschedulablePodsDurationMs ?? 5 * 60_000;
    for (const [key, q] of this.unschedulable) {
      if (q.gatingPlugin || now - q.timestamp <= max) continue;
      this.unschedulable.delete(key);
      if (this.isBackingOff(q)) this.backoffQ.addOrUpdate(q);
      else this.moveToActiveQ(q);
    }
  }

  /** Runs the periodic flushes until `signal` aborts. */
  run(signal: AbortSignal): void {
    const a = setInterval(() => this.flushBackoffQCompleted(), 1000);
    const b = setInterval(() => this.flushUnschedulablePodsLeftover(), 30_000);
    a.unref();
    b.unref();
    signal.addEventListener('abort', () => {
      clearInterval(a);
      clearInterval(b);
      this.close();
    }, { once: true });
  }

  /** Wakes every waiter; pop keeps returning queued pods. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Pending pods by queue. */
  pendingCounts(): PendingCounts {
    let gated = 0;
    for (const q of this.unschedulable.values()) if (q.gatingPlugin) gated++;
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulable.size - gated, gated };
  }

  /** The unschedulable pool's pods (for tests and debugging). */
  unschedulablePods(): QueuedPodInfo[] {
    return [...this.unschedulable.values()];
  }

  /** Records that `pod` is nominated to `nodeName` (empty clears it). */
  addNominatedPod(pod: PodInfo, nodeName: string): void {
    this.deleteNominatedPodIfExists(pod.key);
    if (!nodeName) return;
    this.nominatedNodeOf.set(pod.key, nodeName);
    let list = this.nominatedByNode.get(nodeName);
    if (!list) this.nominatedByNode.set(nodeName, (list = []));
    list.push(pod);
    list.sort((a, b) => b.priority - a.priority);
  }

  /** Forgets a pod's nomination. */
  deleteNominatedPodIfExists(key: string): void {
    const node = this.nominatedNodeOf.get(key);
    if (node === undefined) return;
    this.nominatedNodeOf.delete(key);
    const list = (this.nominatedByNode.get(node) ?? []).filter((p) => p.key !== key);
    if (list.length === 0) this.nominatedByNode.delete(node);
    else this.nominatedByNode.set(node, list);
  }

  /** Pods nominated to a node, highest priority first. */
  nominatedPodsForNode(nodeName: string): PodInfo[] {
    return this.nominatedByNode.get(nodeName) ?? [];
  }

  private nominate(p: PodInfo): void {
    const n = p.pod.status?.nominatedNodeName;
    if (n) this.addNominatedPod(p, n);
    else if (this.nominatedNodeOf.has(p.key)) this.deleteNominatedPodIfExists(p.key);
  }

  private moveToActiveQ(q: QueuedPodInfo): void {
    const gate = this.opts.preEnqueue?.(q.podInfo);
    if (gate) {
      q.gatingPlugin = gate.plugin || 'PreEnqueue';
      this.unschedulable.set(q.podInfo.key, q);
      return;
    }
    q.gatingPlugin = undefined;
    this.activeQ.addOrUpdate(q);
    for (const w of this.waiters.splice(0)) w();
  }

  private backoffDuration(q: QueuedPodInfo): number {
    const initial = this.opts.podInitialBackoffMs ?? 1000;
    const max = this.opts.podMaxBackoffMs ?? 10_000;
    let d = initial;
    for (let i = 1; i < q.attempts; i++) {
      if (d > max - d) return max;
      d += d;
    }
    return Math.min(d, max);
  }

  private backoffTime(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    return this.backoffTime(q) > this.clock.now();
  }

  /** isPodWorthRequeuing: a pod with no rejector plugins always; otherwise when a rejector registered the event and its hint says Queue. */
  private isPodWorthRequeuing(q: QueuedPodInfo, event: ClusterEvent, oldObj: unknown, newObj: unknown): boolean {
    if (event === unschedulableTimeout) return true;
    const rejectors = new Set([...q.unschedulablePlugins, ...q.pendingPlugins]);
    if (rejectors.size === 0) return true;
    const regs = this.opts.pluginEvents?.(q.podInfo.pod);
    if (!regs) return true;
    for (const plugin of rejectors) {
      for (const r of regs.get(plugin) ?? []) {
        if (r.resource !== event.resource || !r.actions.includes(event.action)) continue;
        if (!r.hint) return true;
        try {
          if (r.hint(q.podInfo.pod, oldObj, newObj) === 'Queue') return true;
        } catch {
          // A failing hint is treated as "might help", as upstream does on errors.
          return true;
        }
      }
    }
    return false;
  }
}

/** True when an update changed more than status and bookkeeping metadata (isPodUpdated). */
export function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  const strip = (p: Pod): unknown => {
    const { resourceVersion: _rv, generation: _g, managedFields: _m, ...meta } = p.metadata ?? {};
    void _rv;
    void _g;
    void _m;
    return { metadata: meta, spec: p.spec };
  };
  return JSON.stringify(strip(oldPod)) !== JSON.stringify(strip(newPod));
}
