/**
 * The node lifecycle controller (pkg/controller/nodelifecycle) and the taint eviction controller
 * (pkg/controller/tainteviction). Every monitor period each node's heartbeat — its Ready condition's
 * lastHeartbeatTime or its Lease in kube-node-lease — is checked against the grace period (40 s): past it, the
 * kubelet conditions become Unknown (NodeStatusUnknown), the pods on the node are marked not Ready and a
 * NodeNotReady event is recorded. Taints follow the conditions: `node.kubernetes.io/unreachable` (Unknown) or
 * `not-ready` (False) with NoExecute, plus the NoSchedule taints of TaintNodesByCondition. NoExecute taints are
 * added by a rate-limited pass per zone whose rate follows the zone's health (zone-eviction.ts: 0.1 nodes/s, 0.01
 * or none in a partially disrupted zone, nothing at all while every zone is fully disrupted). The taint eviction
 * controller deletes pods from NoExecute-tainted nodes once their tolerations run out (at once without one),
 * adding the DisruptionTarget condition first.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { leases as leasesDef } from '../../api/coordination/v1/lease.ts';
import { nodes as nodesDef, pods as podsDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isConflict, isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { timeMs } from '../common/pods.ts';
import { evictionDeadline, hasNoExecuteTaint, lastHeartbeat, markNodeUnknown, noExecuteTaints, nodeCondition, reconcileTaints, withoutNoExecuteTaints, wantedNoExecuteTaint } from './node-health.ts';
import { ZoneEviction, excludeDisruptionLabel, zoneKey } from './zone-eviction.ts';
import type { TryResult, ZoneEvictionOptions } from './zone-eviction.ts';

const log = logger('node-lifecycle-controller');

/** The pod index by node name both controllers use. */
export const podsByNodeIndex = 'spec.nodeName';
/** The namespace of node heartbeat Leases. */
export const nodeLeaseNamespace = 'kube-node-lease';

/** Options of the node lifecycle controller (upstream flags). */
export interface NodeLifecycleOptions extends ZoneEvictionOptions {
  /** How often the NoExecute tainting pass runs (upstream's nodeEvictionPeriod, 100 ms). */
  evictionPassMs?: number;
  /** --node-monitor-grace-period (default 40 s). */
  gracePeriodMs?: number;
  /** --node-startup-grace-period for nodes that never reported (default 60 s). */
  startupGracePeriodMs?: number;
  /** --node-monitor-period (default 5 s). */
  monitorPeriodMs?: number;
}

interface Health {
  /** The last heartbeat value seen and when (local clock) it was first seen. */
  heartbeat: number;
  probeMs: number;
}

class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly nodeLister: Lister<Node>;
  private readonly leaseLister: Lister<Lease>;
  private readonly podLister: Lister<Pod>;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly health = new Map<string, Health>();
  private readonly grace: number;
  private readonly startupGrace: number;
  private readonly period: number;
  private readonly evictionPass: number;
  private readonly zones: ZoneEviction;

  constructor(ctx: ControllerContext, opts: NodeLifecycleOptions) {
    this.ctx = ctx;
    this.queue = newQueue('node_lifecycle_controller', ctx.clock);
    this.workers = 1;
    this.grace = opts.gracePeriodMs ?? 40_000;
    this.startupGrace = opts.startupGracePeriodMs ?? 60_000;
    this.period = opts.monitorPeriodMs ?? 5_000;
    this.evictionPass = opts.evictionPassMs ?? 100;
    this.zones = new ZoneEviction(opts);
    const nodeInf = ctx.informers.informerFor<Node>(nodesDef);
    const leaseInf = ctx.informers.informerFor<Lease>(leasesDef, { namespace: nodeLeaseNamespace });
    const podInf = ctx.informers.informerFor<Pod>(podsDef, { indexers: { [podsByNodeIndex]: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) } });
    this.nodeLister = nodeInf.lister();
    this.leaseLister = leaseInf.lister();
    this.podLister = podInf.lister();
    this.nodeClient = ctx.client.resource<Node>(nodesDef);
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.recorder = ctx.recorder('node-controller');
    nodeInf.addEventHandler({
      onAdd: (n) => this.queue.add(objectKey(n)),
      onUpdate: (_o, n) => this.queue.add(objectKey(n)),
      onDelete: (o) => this.health.delete(objectKey(isTombstone(o) ? o.obj : o)),
    });
    leaseInf.addEventHandler({
      onAdd: (l) => this.queue.add(l.metadata?.name ?? ''),
      onUpdate: (_o, l) => this.queue.add(l.metadata?.name ?? ''),
    });
  }

  /**
   * monitorNodeHealth: every monitor period every node is looked at (heartbeats expire without any event) and the
   * zones' disruption states are recomputed; meanwhile the tainting pass hands out queued nodes at each zone's rate.
   */
  async run(signal: AbortSignal): Promise<void> {
    const every = async (ms: number, what: string, fn: () => Promise<void>): Promise<void> => {
      while (!signal.aborted) {
        try {
          await fn();
        } catch (e) {
          log.warn(`${what} failed`, { err: e });
        }
        try {
          await this.ctx.clock.sleep(ms, { signal });
        } catch {
          return;
        }
      }
    };
    await Promise.all([
      every(this.period, 'node health monitor', async () => {
        for (const n of this.nodeLister.list()) this.queue.add(objectKey(n));
        await this.handleDisruption();
      }),
      every(this.evictionPass, 'NoExecute tainting pass', () => this.zones.taintingPass(this.ctx.clock.now(), (name) => this.taintNode(name))),
    ]);
  }

  /** handleDisruption over the Ready conditions in the cache (nodes labelled exclude-disruption left out). */
  private async handleDisruption(): Promise<void> {
    const now = this.ctx.clock.now();
    const nodes = this.nodeLister.list();
    const byZone = new Map<string, (ReturnType<typeof nodeCondition>)[]>();
    for (const n of nodes) {
      if (n.metadata?.labels?.[excludeDisruptionLabel] !== undefined) continue;
      const z = zoneKey(n);
      const list = byZone.get(z) ?? [];
      list.push(nodeCondition(n, 'Ready'));
      byZone.set(z, list);
    }
    const change = this.zones.handleDisruption(byZone, now);
    if (change.enteredFullDisruption) {
      log.info('Controller detected that all Nodes are not-Ready. Entering master disruption mode', {});
      for (const n of nodes) await this.markNodeAsReachable(n);
    }
    if (change.exitedFullDisruption) {
      log.info('Controller detected that some Nodes are Ready. Exiting master disruption mode', {});
      // Every node gets a fresh grace period: their silence was most likely the control plane's.
      for (const h of this.health.values()) h.probeMs = now;
    }
  }

  /** markNodeAsReachable: lifts the not-ready/unreachable NoExecute taints and forgets any queued tainting. */
  private async markNodeAsReachable(node: Node): Promise<void> {
    const name = node.metadata?.name ?? '';
    this.zones.unmark(zoneKey(node), name);
    const taints = withoutNoExecuteTaints(node);
    if (!taints) return;
    try {
      await this.nodeClient.patch(name, { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: taints.length > 0 ? taints : null } }, { type: 'merge' });
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
      this.queue.add(name);
    }
  }

  /** The tainting pass's action on one queued node: the NoExecute taint its Ready condition calls for, if any still. */
  private async taintNode(name: string): Promise<TryResult> {
    const node = this.nodeLister.get('', name);
    if (!node) return { done: true };
    const ready = nodeCondition(node, 'Ready');
    if (!ready) return { done: false, retryMs: 50 };
    // The NoSchedule taints go in the same write: reconcile's NoSchedule patch may lose the race to this one.
    const taints = noExecuteTaints(node, this.ctx.clock.now());
    if (!taints) return { done: true };
    try {
      await this.nodeClient.patch(name, { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints } }, { type: 'merge' });
    } catch (e) {
      if (isNotFound(e)) return { done: true };
      if (!isConflict(e)) log.warn('failed to taint node', { node: name, err: e });
      return { done: false, retryMs: 50 };
    }
    return { done: true };
  }

  private event(node: Node, type: 'Normal' | 'Warning', reason: string, message: string): void {
    // Node events live in the default namespace, keyed by the node's name as the uid (RecordNodeStatusChange).
    this.recorder.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata?.name, uid: node.metadata?.name } }, { type, reason, message });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { name } = splitKey(key);
    const cached = this.nodeLister.get('', name);
    if (!cached) {
      this.health.delete(name);
      return;
    }
    let node = cached;
    const now = this.ctx.clock.now();
    const lease = this.leaseLister.get(nodeLeaseNamespace, name);
    const hb = lastHeartbeat(node, lease?.spec?.renewTime);
    let h = this.health.get(name);
    if (!h) {
      // A node that never reported is measured from its creation, with the startup grace period.
      h = { heartbeat: hb, probeMs: hb === 0 ? timeMs(node.metadata?.creationTimestamp) || now : now };
      this.health.set(name, h);
    } else if (h.heartbeat !== hb) {
      // Observed locally: the controller's clock, not the kubelet's, measures the grace period.
      h.heartbeat = hb;
      h.probeMs = now;
    }
    const neverReported = !nodeCondition(node, 'Ready');
    const grace = neverReported ? this.startupGrace : this.grace;
    let requeueAfter: number | undefined;
    if (now - h.probeMs > grace) {
      const status = markNodeUnknown(node, now);
      if (status) {
        const wasReady = nodeCondition(node, 'Ready')?.status === 'True';
        log.info('node stopped posting status', { node: name, lastHeartbeat: hb ? formatRFC3339(hb) : 'never' });
        node = await this.nodeClient.updateStatus({ ...node, status }, {});
        if (wasReady) {
          this.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
          await this.markPodsNotReady(name);
        }
      }
    } else {
      requeueAfter = grace - (now - h.probeMs) + 100;
    }
    // processTaintBaseEviction: a NoExecute taint is swapped at once, but added only by the rate-limited pass.
    const wantNoExecute = wantedNoExecuteTaint(node);
    const zone = zoneKey(node);
    if (!wantNoExecute) this.zones.unmark(zone, name);
    else if (!hasNoExecuteTaint(node)) this.zones.markForTainting(zone, name, node.metadata?.uid ?? '', now);
    const taints = reconcileTaints(node, now, { addNoExecute: false });
    if (taints) {
      try {
        await this.nodeClient.patch(name, { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: taints.length > 0 ? taints : null } }, { type: 'merge' });
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) throw e;
        requeueAfter = 0;
      }
    }
    return requeueAfter !== undefined ? { requeueAfter } : undefined;
  }

  /** MarkPodsNotReady: the Ready condition of every pod on the node turns False. */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    const pods = this.podLister.byIndex(podsByNodeIndex, nodeName);
    await Promise.all(pods.map(async (p) => {
      const conds = p.status?.conditions ?? [];
      const i = conds.findIndex((c) => c.type === 'Ready');
      if (i < 0 || conds[i]!.status === 'False') return;
      const next = structuredClone(p);
      next.status!.conditions![i] = { ...conds[i]!, status: 'False', lastTransitionTime: formatRFC3339(this.ctx.clock.now()) };
      try {
        await this.podClient.updateStatus(next, { namespace: p.metadata?.namespace });
      } catch (e) {
        if (!isNotFound(e)) log.warn('failed to mark pod not ready', { pod: objectKey(p), err: e });
      }
    }));
  }
}

class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly nodeLister: Lister<Node>;
  private readonly podLister: Lister<Pod>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('noexec_taint_pod', ctx.clock);
    this.workers = ctx.workers;
    const nodeInf = ctx.informers.informerFor<Node>(nodesDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef, { indexers: { [podsByNodeIndex]: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) } });
    this.nodeLister = nodeInf.lister();
    this.podLister = podInf.lister();
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.recorder = ctx.recorder('taint-eviction-controller');
    const nodePods = (n: Node): void => {
      for (const p of this.podLister.byIndex(podsByNodeIndex, n.metadata?.name ?? '')) this.queue.add(objectKey(p));
    };
    nodeInf.addEventHandler({
      onAdd: (n) => {
        if ((n.spec?.taints ?? []).some((t) => t.effect === 'NoExecute')) nodePods(n);
      },
      onUpdate: (old, cur) => {
        const ne = (n: Node): string => JSON.stringify((n.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute'));
        if (ne(old) !== ne(cur)) nodePods(cur);
      },
    });
    podInf.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) this.queue.add(objectKey(p));
      },
      onUpdate: (old, cur) => {
        if (cur.spec?.nodeName && (old.spec?.nodeName !== cur.spec.nodeName || JSON.stringify(old.spec?.tolerations) !== JSON.stringify(cur.spec.tolerations))) this.queue.add(objectKey(cur));
      },
    });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const pod = this.podLister.get(namespace, name);
    if (!pod?.spec?.nodeName || pod.metadata?.deletionTimestamp) return;
    const node = this.nodeLister.get('', pod.spec.nodeName);
    if (!node) return;
    const deadline = evictionDeadline(pod, node.spec?.taints ?? []);
    if (deadline === Infinity) return;
    const now = this.ctx.clock.now();
    if (deadline !== undefined && deadline > now) return { requeueAfter: deadline - now };
    this.recorder.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, { type: 'Normal', reason: 'TaintManagerEviction', message: `Marking for deletion Pod ${namespace}/${name}` });
    try {
      // addConditionAndDeletePod: DisruptionTarget explains the deletion to controllers such as the Job's.
      const status = structuredClone(pod.status ?? {});
      const conds = (status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
      conds.push({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: formatRFC3339(now) });
      status.conditions = conds;
      await this.podClient.patch(name, [
        { op: 'test', path: '/metadata/uid', value: pod.metadata?.uid },
        { op: 'replace', path: '/status', value: status },
      ], { type: 'json', namespace, subresource: 'status' });
      await this.podClient.delete(name, { namespace, preconditions: pod.metadata?.uid ? { uid: pod.metadata.uid } : undefined });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The node lifecycle controller; `opts` override upstream's periods (tests). */
export function newNodeLifecycleController(ctx: ControllerContext, opts: NodeLifecycleOptions = {}): Controller {
  return new NodeLifecycleController(ctx, opts);
}

/** The taint eviction controller (NoExecute taint manager). */
export function newTaintEvictionController(ctx: ControllerContext): Controller {
  return new TaintEvictionController(ctx);
}
