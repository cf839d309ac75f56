/**
 * Zone-aware rate limiting of NoExecute tainting, as pkg/controller/nodelifecycle does it: nodes are grouped by
 * zone (region + zone labels); each zone's health (ComputeZoneState) picks the rate at which its not-ready nodes get
 * the `not-ready`/`unreachable` NoExecute taint (and so lose their pods): the normal rate in a Normal zone, the
 * secondary rate in a partially disrupted large zone, nothing in a partially disrupted small one; a fully disrupted
 * zone keeps the normal rate unless every zone is fully disrupted, which stops all tainting (the control plane is the
 * likelier culprit) and lifts the NoExecute taints already set. Pure state plus time passed in, no I/O.
 */
import type { Node, NodeCondition } from 'kubernetes-types/core/v1.js';

/** The states of a zone (upstream ZoneState). */
export type ZoneState = 'Initial' | 'Normal' | 'FullDisruption' | 'PartialDisruption';

/** The flags of the node lifecycle controller that govern eviction rates, with upstream's defaults. */
export interface ZoneEvictionOptions {
  /** --node-eviction-rate: nodes tainted per second in a healthy zone (0.1). */
  evictionQPS?: number;
  /** --secondary-node-eviction-rate: in a partially disrupted large zone (0.01). */
  secondaryEvictionQPS?: number;
  /** --unhealthy-zone-threshold: the not-ready fraction (of at least 3 not-ready nodes) that is a partial disruption (0.55). */
  unhealthyZoneThreshold?: number;
  /** --large-cluster-size-threshold: above this many nodes a partially disrupted zone still evicts, slowly (50). */
  largeClusterSizeThreshold?: number;
}

/** The label that leaves a node out of the disruption computation (node.kubernetes.io/exclude-disruption). */
export const excludeDisruptionLabel = 'node.kubernetes.io/exclude-disruption';

/** GetZoneKey: region and zone from the topology labels (the beta failure-domain ones as fallback); '' for neither. */
export function zoneKey(node: Node): string {
  const l = node.metadata?.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (region === '' && zone === '') return '';
  return `${region}:\x00:${zone}`;
}

/**
 * ComputeZoneState over the Ready conditions of a zone's nodes (undefined: no condition, counted not ready):
 * FullDisruption when none is ready, PartialDisruption when more than two are not ready and they are at least
 * `threshold` of the zone, Normal otherwise. Also returns the number of not-ready nodes.
 */
export function computeZoneState(ready: readonly (NodeCondition | undefined)[], threshold: number): { notReady: number; state: ZoneState } {
  let readyNodes = 0;
  let notReady = 0;
  for (const c of ready) {
    if (c?.status === 'True') readyNodes++;
    else notReady++;
  }
  if (readyNodes === 0 && notReady > 0) return { notReady, state: 'FullDisruption' };
  if (notReady > 2 && notReady / (notReady + readyNodes) >= threshold) return { notReady, state: 'PartialDisruption' };
  return { notReady, state: 'Normal' };
}

/** flowcontrol's token bucket with burst 1 (EvictionRateLimiterBurst), or one that never accepts (qps ≤ 0). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly qps: number, nowMs: number) {
    // A new bucket starts full, as golang.org/x/time/rate's does.
    this.tokens = qps > 0 ? 1 : 0;
    this.last = nowMs;
  }

  /** Takes a token if one is there at `nowMs` (tokens refill continuously at qps, up to the burst of 1). */
  tryAccept(nowMs: number): boolean {
    if (this.qps <= 0) return false;
    if (nowMs > this.last) {
      this.tokens = Math.min(1, this.tokens + ((nowMs - this.last) / 1000) * this.qps);
      this.last = nowMs;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

interface TimedValue {
  value: string;
  uid: string;
  processAt: number;
  addedAt: number;
}

/** The outcome of one attempt on a queued node: done, or retry after `retryMs`. */
export type TryResult = { done: true } | { done: false; retryMs: number };

/**
 * RateLimitedTimedQueue: unique values in time order, handed out at most as fast as the limiter allows. Swapping the
 * limiter keeps the pace: when the old one had no token left, the new one starts drained too.
 */
export class RateLimitedTimedQueue {
  private items: TimedValue[] = [];
  private limiter: TokenBucket;

  constructor(qps: number, nowMs: number) {
    this.limiter = new TokenBucket(qps, nowMs);
  }

  /** The current rate (0: stopped). */
  get qps(): number {
    return this.limiter.qps;
  }

  /** Adds a value unless it is queued already; true when added. */
  add(value: string, uid: string, nowMs: number): boolean {
    if (this.items.some((i) => i.value === value)) return false;
    this.insert({ value, uid, processAt: nowMs, addedAt: nowMs });
    return true;
  }

  /** Removes a value; true when it was queued. */
  remove(value: string): boolean {
    const n = this.items.length;
    this.items = this.items.filter((i) => i.value !== value);
    return this.items.length !== n;
  }

  /** The queued values in processing order. */
  values(): string[] {
    return this.items.map((i) => i.value);
  }

  /** SwapLimiter: a new rate (≤ 0 stops the queue); no change when the rate is the same. */
  swapLimiter(qps: number, nowMs: number): void {
    if (this.limiter.qps === qps) return;
    const next = new TokenBucket(qps, nowMs);
    if (qps > 0 && !this.limiter.tryAccept(nowMs)) next.tryAccept(nowMs);
    this.limiter = next;
  }

  /**
   * Try: while the limiter gives a token and the head is due, runs `fn` on it; a value that is not done is put back
   * to be retried after its delay. Like upstream, a token is spent before the head's time is checked.
   */
  async try(nowMs: number, fn: (value: string, uid: string) => Promise<TryResult>): Promise<void> {
    for (let head = this.items[0]; head !== undefined; head = this.items[0]) {
      if (!this.limiter.tryAccept(nowMs)) return;
      if (nowMs < head.processAt) return;
      const r = await fn(head.value, head.uid);
      // fn may have removed or re-added values meanwhile: act on this value only if it is still the one queued.
      const i = this.items.indexOf(head);
      if (i < 0) continue;
      this.items.splice(i, 1);
      if (!r.done) this.insert({ ...head, processAt: nowMs + r.retryMs + 1 });
    }
  }

  private insert(v: TimedValue): void {
    let i = this.items.length;
    while (i > 0 && this.items[i - 1]!.processAt > v.processAt) i--;
    this.items.splice(i, 0, v);
  }
}

/** What handleDisruption asks the controller to do besides changing rates. */
export interface DisruptionChange {
  /** Every zone just became fully disrupted: lift the NoExecute taints of every node. */
  enteredFullDisruption: boolean;
  /** Some node is ready again after a full disruption: restart every node's grace period. */
  exitedFullDisruption: boolean;
}

/** The per-zone states and tainting queues of the node lifecycle controller. */
export class ZoneEviction {
  private readonly states = new Map<string, ZoneState>();
  private readonly queues = new Map<string, RateLimitedTimedQueue>();
  private readonly evictionQPS: number;
  private readonly secondaryQPS: number;
  private readonly threshold: number;
  private readonly largeCluster: number;

  constructor(opts: ZoneEvictionOptions = {}) {
    this.evictionQPS = opts.evictionQPS ?? 0.1;
    this.secondaryQPS = opts.secondaryEvictionQPS ?? 0.01;
    this.threshold = opts.unhealthyZoneThreshold ?? 0.55;
    this.largeCluster = opts.largeClusterSizeThreshold ?? 50;
  }

  /** The state of a zone (undefined for a zone never seen). */
  state(zone: string): ZoneState | undefined {
    return this.states.get(zone);
  }

  /** The tainting rate of a zone (undefined for a zone never seen). */
  rate(zone: string): number | undefined {
    return this.queues.get(zone)?.qps;
  }

  /** addPodEvictorForNewZone: a zone seen for the first time starts Initial, at the normal rate. */
  observeZone(zone: string, nowMs: number): void {
    if (this.queues.has(zone)) return;
    this.states.set(zone, 'Initial');
    this.queues.set(zone, new RateLimitedTimedQueue(this.evictionQPS, nowMs));
  }

  /** markNodeForTainting: queues the node in its zone; true when newly queued. */
  markForTainting(zone: string, node: string, uid: string, nowMs: number): boolean {
    this.observeZone(zone, nowMs);
    return this.queues.get(zone)!.add(node, uid, nowMs);
  }

  /** The node is reachable again (or its taints were lifted): it leaves its zone's queue. */
  unmark(zone: string, node: string): void {
    this.queues.get(zone)?.remove(node);
  }

  /** The queued nodes of a zone, in order. */
  queued(zone: string): string[] {
    return this.queues.get(zone)?.values() ?? [];
  }

  /** doNoExecuteTaintingPass: each zone hands out the nodes its rate allows to `fn`. */
  async taintingPass(nowMs: number, fn: (node: string, uid: string) => Promise<TryResult>): Promise<void> {
    for (const q of [...this.queues.values()]) await q.try(nowMs, fn);
  }

  /** ReducedQPSFunc / HealthyQPSFunc by state. */
  private limiterFor(state: ZoneState, zoneSize: number): number {
    if (state === 'PartialDisruption') return zoneSize > this.largeCluster ? this.secondaryQPS : 0;
    return this.evictionQPS;
  }

  /**
   * handleDisruption: new zone states from the Ready conditions of each zone's nodes (zones absent from the map are
   * forgotten), and the rates that follow. Returns what else the controller must do on entering or leaving the
   * all-zones-fully-disrupted mode.
   */
  handleDisruption(zoneConditions: ReadonlyMap<string, readonly (NodeCondition | undefined)[]>, nowMs: number): DisruptionChange {
    const none: DisruptionChange = { enteredFullDisruption: false, exitedFullDisruption: false };
    const next = new Map<string, ZoneState>();
    let allAreFull = true;
    for (const [zone, conds] of zoneConditions) {
      const { state } = computeZoneState(conds, this.threshold);
      if (state !== 'FullDisruption') allAreFull = false;
      next.set(zone, state);
      this.observeZone(zone, nowMs);
    }
    let allWereFull = true;
    for (const [zone, state] of [...this.states]) {
      if (!zoneConditions.has(zone)) {
        this.states.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWereFull = false;
        break;
      }
    }
    if (allAreFull && allWereFull) return none;
    if (allAreFull) {
      for (const q of this.queues.values()) q.swapLimiter(0, nowMs);
      for (const zone of this.states.keys()) this.states.set(zone, 'FullDisruption');
      return { enteredFullDisruption: true, exitedFullDisruption: false };
    }
    if (allWereFull) {
      for (const zone of this.states.keys()) this.setZone(zone, next.get(zone) ?? 'Normal', zoneConditions.get(zone)?.length ?? 0, nowMs);
      return { enteredFullDisruption: false, exitedFullDisruption: true };
    }
    for (const [zone, state] of this.states) {
      const ns = next.get(zone);
      if (ns === undefined || ns === state) continue;
      this.setZone(zone, ns, zoneConditions.get(zone)?.length ?? 0, nowMs);
    }
    return none;
  }

  private setZone(zone: string, state: ZoneState, size: number, nowMs: number): void {
    this.queues.get(zone)?.swapLimiter(this.limiterFor(state, size), nowMs);
    this.states.set(zone, state);
  }
}
