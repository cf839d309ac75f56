/**
 * The DaemonSet controller (pkg/controller/daemon): one pod per eligible node — node selector, required node
 * affinity, taints against the template's tolerations plus the daemon tolerations — each created with a node
 * affinity pinning it to its node (the scheduler binds it); pods on nodes that no longer qualify, failed pods and
 * extra pods are deleted; RollingUpdate with maxUnavailable or maxSurge, or OnDelete; ControllerRevisions with the
 * `controller-revision-hash` pod label; status counters.
 */
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import { getIntOrPercentValue } from '../../api/meta/intstr.ts';
import { daemonSets as dsDef } from '../../api/apps/v1/daemon-set.ts';
import { controllerRevisions as revisionsDef } from '../../api/apps/v1/controller-revision.ts';
import { nodes as nodesDef, pods as podsDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { claimObjects, controllerRefOf, newControllerRef } from '../common/controller-ref.ts';
import { Expectations } from '../common/expectations.ts';
import { isPodAvailable, isPodReady } from '../common/pods.ts';
import {
  controllerRevisionHashLabel, createRevision, equalRevision, newControllerRevision, nextRevision, sortRevisions, templatePatch,
} from '../history/controller-history.ts';
import {
  byCreationAndPhase, daemonPodTemplate, isPodUpdated, nodeShouldRunDaemonPod, pinToNode, targetNodeName, templateGeneration,
} from './daemon-pods.ts';

const gvk = { apiVersion: 'apps/v1', kind: 'DaemonSet' };
/** BurstReplicas of the DaemonSet controller. */
export const daemonBurstReplicas = 250;
/** The failed-pod back-off per DaemonSet and node (1 s doubling to 15 min). */
const failedPodBackoff = { initialMs: 1000, maxMs: 15 * 60_000 };

class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly dsLister: Lister<DaemonSet>;
  private readonly podLister: Lister<Pod>;
  private readonly nodeLister: Lister<Node>;
  private readonly revLister: Lister<ControllerRevision>;
  private readonly dsClient: ResourceClient<DaemonSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly revClient: ResourceClient<ControllerRevision>;
  private readonly recorder: EventRecorder;
  private readonly creations: Expectations;
  private readonly deletions: Expectations;
  private readonly failedBackoff = new Map<string, { delay: number; at: number }>();

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('daemonset', ctx.clock);
    this.workers = ctx.workers;
    this.creations = new Expectations({ clock: ctx.clock });
    this.deletions = new Expectations({ clock: ctx.clock });
    const dsInf = ctx.informers.informerFor<DaemonSet>(dsDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    const nodeInf = ctx.informers.informerFor<Node>(nodesDef);
    const revInf = ctx.informers.informerFor<ControllerRevision>(revisionsDef);
    this.dsLister = dsInf.lister();
    this.podLister = podInf.lister();
    this.nodeLister = nodeInf.lister();
    this.revLister = revInf.lister();
    this.dsClient = ctx.client.resource<DaemonSet>(dsDef);
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.revClient = ctx.client.resource<ControllerRevision>(revisionsDef);
    this.recorder = ctx.recorder('daemonset-controller');
    dsInf.addEventHandler({
      onAdd: (d) => this.queue.add(objectKey(d)),
      onUpdate: (_o, d) => this.queue.add(objectKey(d)),
      onDelete: (o) => {
        const d = isTombstone(o) ? o.obj : o;
        this.creations.delete(objectKey(d));
        this.deletions.delete(objectKey(d));
        this.queue.add(objectKey(d));
      },
    });
    podInf.addEventHandler({
      onAdd: (p) => {
        const ds = this.owner(p);
        if (ds) this.creations.creationObserved(objectKey(ds));
        this.podChanged(p);
      },
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        if (controllerRefOf(old)?.uid !== controllerRefOf(cur)?.uid) this.podChanged(old);
        this.podChanged(cur);
        const ds = this.owner(cur);
        const mrs = ds?.spec?.minReadySeconds ?? 0;
        if (ds && mrs > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(objectKey(ds), mrs * 1000);
      },
      onDelete: (o) => {
        const p = isTombstone(o) ? o.obj : o;
        const ds = this.owner(p);
        if (ds) this.deletions.deletionObserved(objectKey(ds), objectKey(p));
        this.podChanged(p);
      },
    });
    const allDaemonSets = (): void => {
      for (const d of this.dsLister.list()) this.queue.add(objectKey(d));
    };
    nodeInf.addEventHandler({
      onAdd: allDaemonSets,
      onUpdate: (old, cur) => {
        // shouldIgnoreNodeUpdate: only labels, taints, unschedulable and conditions decide placement.
        const relevant = (n: Node): string => JSON.stringify([n.metadata?.labels, n.spec?.taints, n.spec?.unschedulable]);
        if (relevant(old) !== relevant(cur)) allDaemonSets();
      },
      onDelete: allDaemonSets,
    });
  }

  private owner(pod: Pod): DaemonSet | undefined {
    const ref = controllerRefOf(pod);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const d = this.dsLister.get(pod.metadata?.namespace ?? '', ref.name);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  }

  private podChanged(pod: Pod): void {
    if (controllerRefOf(pod)) {
      const d = this.owner(pod);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    const labels = pod.metadata?.labels;
    if (!labels) return;
    for (const d of this.dsLister.list(pod.metadata?.namespace ?? '')) {
      try {
        const sel = labelSelectorFromMeta(d.spec?.selector);
        if (sel.length > 0 && matchesLabels(sel, labels)) this.queue.add(objectKey(d));
      } catch {
        // An invalid selector selects nothing.
      }
    }
  }

  private event(ds: DaemonSet, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ ...ds, ...gvk }, { type, reason, message });
  }

  private satisfied(key: string): boolean {
    return this.creations.satisfied(key) && this.deletions.satisfied(key);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.dsLister.get(namespace, name);
    if (!cached) {
      this.creations.delete(key);
      this.deletions.delete(key);
      return;
    }
    const ds = structuredClone(cached);
    const sel = ds.spec?.selector;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
      this.event(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    let selector: ReturnType<typeof labelSelectorFromMeta>;
    try {
      selector = labelSelectorFromMeta(sel);
    } catch (e) {
      this.event(ds, 'Warning', 'InvalidSelector', `Error parsing selector: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (ds.metadata?.deletionTimestamp) return;
    const match = (o: { metadata?: { labels?: Record<string, string> } }): boolean => matchesLabels(selector, o.metadata?.labels);
    const canAdopt = async (): Promise<void> => {
      const fresh = await this.dsClient.get(name, { namespace });
      if (fresh.metadata?.uid !== ds.metadata?.uid) throw new Error(`original DaemonSet ${namespace}/${name} is gone: got uid ${fresh.metadata?.uid}, wanted ${ds.metadata?.uid}`);
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    };
    const { cur, old } = await this.constructHistory(ds, await claimObjects<ControllerRevision>(this.revLister.list(namespace), { owner: ds, gvk, match, client: this.revClient, canAdopt }));
    const hash = cur.metadata?.labels?.[controllerRevisionHashLabel] ?? '';
    const nodes = this.nodeLister.list();
    const claimed = await claimObjects<Pod>(this.podLister.list(namespace), { owner: ds, gvk, match, client: this.podClient, canAdopt });
    const state = { requeueAfter: undefined as number | undefined };
    if (!this.satisfied(key)) {
      await this.updateStatus(ds, nodes, claimed, hash, false, state);
      return state.requeueAfter !== undefined ? { requeueAfter: state.requeueAfter } : undefined;
    }
    let err: unknown;
    try {
      await this.manage(ds, nodes, claimed, hash, state);
      if (this.satisfied(key) && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        await this.rollingUpdate(ds, nodes, this.claimedNow(ds, claimed), hash);
      }
      await this.cleanupHistory(ds, old, claimed);
    } catch (e) {
      err = e;
    }
    await this.updateStatus(ds, nodes, this.claimedNow(ds, claimed), hash, true, state);
    if (err) throw err;
    return state.requeueAfter !== undefined ? { requeueAfter: state.requeueAfter } : undefined;
  }

  /** The claimed pods re-read from the cache (after this sync's own writes the cache may have moved on). */
  private claimedNow(ds: DaemonSet, claimed: Pod[]): Pod[] {
    const ns = ds.metadata?.namespace ?? '';
    return claimed.map((p) => this.podLister.get(ns, p.metadata?.name ?? '')).filter((p): p is Pod => p !== undefined && p.metadata?.uid !== undefined);
  }

  /** constructHistory: the revision of the current template (created or re-numbered as needed) and the others. */
  private async constructHistory(ds: DaemonSet, owned: ControllerRevision[]): Promise<{ cur: ControllerRevision; old: ControllerRevision[] }> {
    const revisions = sortRevisions(owned);
    const collisionCount = ds.status?.collisionCount ?? 0;
    const candidate = newControllerRevision(ds, { gvk, labels: { ...(ds.spec?.template?.metadata?.labels ?? {}) }, data: templatePatch(ds.spec?.template), revision: nextRevision(revisions), collisionCount });
    const equal = revisions.filter((r) => equalRevision(r, candidate));
    const maxRevision = revisions.reduce((m, r) => Math.max(m, r.revision), 0);
    let cur: ControllerRevision;
    if (equal.length > 0) {
      // dedupCurHistories: keep the newest of equal revisions.
      cur = equal[equal.length - 1]!;
      for (const dup of equal.slice(0, -1)) {
        await this.revClient.delete(dup.metadata?.name ?? '', { namespace: dup.metadata?.namespace }).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      }
      if (cur.revision < maxRevision) cur = await this.revClient.update({ ...cur, revision: maxRevision + 1 }, { namespace: cur.metadata?.namespace });
    } else {
      const r = await createRevision(this.revClient, candidate, collisionCount);
      cur = r.revision;
      if (r.collisionCount !== collisionCount) {
        await this.dsClient.updateStatus({ ...ds, status: { ...(ds.status ?? {}), collisionCount: r.collisionCount } as DaemonSetStatus }, { namespace: ds.metadata?.namespace });
      }
    }
    const old = revisions.filter((r) => r.metadata?.name !== cur.metadata?.name && !equal.includes(r));
    return { cur, old };
  }

  /** getNodesToDaemonPods: the claimed pods by the node they run on or are pinned to. */
  private nodesToPods(pods: Pod[]): Map<string, Pod[]> {
    const m = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = targetNodeName(p);
      if (n === undefined) continue;
      const list = m.get(n);
      if (list) list.push(p);
      else m.set(n, [p]);
    }
    return m;
  }

  private inFailedBackoff(key: string): number | undefined {
    const b = this.failedBackoff.get(key);
    if (!b) return undefined;
    const left = b.at + b.delay - this.ctx.clock.now();
    return left > 0 ? left : undefined;
  }

  private nextFailedBackoff(key: string): void {
    const b = this.failedBackoff.get(key);
    const now = this.ctx.clock.now();
    // Reset after a quiet period of twice the maximum, as the flowcontrol back-off does.
    const delay = !b || now - b.at > 2 * failedPodBackoff.maxMs ? failedPodBackoff.initialMs : Math.min(b.delay * 2, failedPodBackoff.maxMs);
    this.failedBackoff.set(key, { delay, at: now });
  }

  /** manage: create pods on nodes that need one, delete pods on nodes that should not have them (podsShouldBeOnNode). */
  private async manage(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string, state: { requeueAfter?: number }): Promise<void> {
    const byNode = this.nodesToPods(pods);
    const needing: string[] = [];
    const toDelete: Pod[] = [];
    const surge = allowsSurge(ds);
    const now = this.ctx.clock.now();
    const dsKey = objectKey(ds);
    for (const node of nodes) {
      const nodeName = node.metadata?.name ?? '';
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
      const daemonPods = byNode.get(nodeName);
      if (shouldRun && !daemonPods) {
        needing.push(nodeName);
      } else if (shouldContinueRunning && daemonPods) {
        const running: Pod[] = [];
        for (const pod of daemonPods) {
          if (pod.metadata?.deletionTimestamp) continue;
          if (pod.status?.phase === 'Failed') {
            const bk = `${dsKey}/${nodeName}`;
            const left = this.inFailedBackoff(bk);
            if (left !== undefined) {
              state.requeueAfter = Math.min(state.requeueAfter ?? left, left);
              continue;
            }
            this.nextFailedBackoff(bk);
            this.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata?.namespace}/${pod.metadata?.name} on node ${nodeName}, will try to kill it`);
            toDelete.push(pod);
          } else if (pod.status?.phase === 'Succeeded') {
            this.event(ds, 'Warning', 'SucceededDaemonPod', `Found succeeded daemon pod ${pod.metadata?.namespace}/${pod.metadata?.name} on node ${nodeName}, will try to delete it`);
            toDelete.push(pod);
          } else {
            running.push(pod);
          }
        }
        running.sort(byCreationAndPhase);
        if (!surge) {
          toDelete.push(...running.slice(1));
          continue;
        }
        if (running.length <= 1) {
          if (running.length === 0 && shouldRun) needing.push(nodeName);
          continue;
        }
        let oldestNew: Pod | undefined;
        let oldestOld: Pod | undefined;
        const generation = templateGeneration(ds);
        for (const pod of running) {
          if (isPodUpdated(pod, hash, generation)) {
            if (!oldestNew) {
              oldestNew = pod;
              continue;
            }
          } else if (!oldestOld) {
            oldestOld = pod;
            continue;
          }
          toDelete.push(pod);
        }
        if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))) toDelete.push(oldestOld);
      } else if (!shouldContinueRunning && daemonPods) {
        for (const pod of daemonPods) if (!pod.metadata?.deletionTimestamp) toDelete.push(pod);
      }
    }
    // Unscheduled pods pinned to nodes that no longer exist would never be scheduled nor garbage collected.
    const existing = new Set(nodes.map((n) => n.metadata?.name));
    for (const [nodeName, list] of byNode) {
      if (existing.has(nodeName)) continue;
      for (const p of list) if (!p.spec?.nodeName && !p.metadata?.deletionTimestamp) toDelete.push(p);
    }
    await this.syncNodes(ds, toDelete, needing, hash);
  }

  /** syncNodes: slow-start creations pinned to nodes, deletions, under expectations (burst 250). */
  private async syncNodes(ds: DaemonSet, toDelete: Pod[], needing: string[], hash: string): Promise<void> {
    const key = objectKey(ds);
    const create = needing.slice(0, daemonBurstReplicas);
    const del = toDelete.slice(0, daemonBurstReplicas);
    if (create.length === 0 && del.length === 0) return;
    this.creations.expectCreations(key, create.length);
    this.deletions.expectDeletions(key, del.map((p) => objectKey(p)));
    const template = daemonPodTemplate(ds, hash);
    const ref = newControllerRef(ds, gvk);
    const ns = ds.metadata?.namespace;
    let error: unknown;
    let pos = 0;
    for (let batch = Math.min(create.length, 1); pos < create.length; batch = Math.min(2 * batch, create.length - pos)) {
      const slice = create.slice(pos, pos + batch);
      pos += batch;
      const results = await Promise.allSettled(slice.map(async (nodeName) => {
        const t = structuredClone(template);
        const pod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { generateName: `${ds.metadata?.name ?? ''}-`, namespace: ns, labels: t.metadata?.labels, ownerReferences: [ref] },
          spec: { ...t.spec!, affinity: pinToNode(t.spec?.affinity, nodeName) },
        };
        if (t.metadata?.annotations) pod.metadata!.annotations = t.metadata.annotations;
        if (t.metadata?.finalizers) pod.metadata!.finalizers = t.metadata.finalizers;
        try {
          const created = await this.podClient.create(pod, { namespace: ns });
          this.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name ?? ''}`);
        } catch (e) {
          if (e instanceof Error && /because it is being terminated/.test(e.message)) return;
          this.creations.creationObserved(key);
          this.event(ds, 'Warning', 'FailedCreate', `Error creating: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
      }));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) {
        error ??= failed.reason;
        for (let i = pos; i < create.length; i++) this.creations.creationObserved(key);
        break;
      }
    }
    const results = await Promise.allSettled(del.map(async (p) => {
      try {
        await this.podClient.delete(p.metadata?.name ?? '', { namespace: ns, preconditions: p.metadata?.uid ? { uid: p.metadata.uid } : undefined });
        this.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata?.name ?? ''}`);
      } catch (e) {
        this.deletions.deletionObserved(key, objectKey(p));
        if (isNotFound(e)) return;
        this.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
    }));
    const failedDel = results.find((r) => r.status === 'rejected');
    if (failedDel) error ??= failedDel.reason;
    if (error) throw error;
  }

  /** rollingUpdate: replace old pods within maxUnavailable, or surge new pods within maxSurge. */
  private async rollingUpdate(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string): Promise<void> {
    const byNode = this.nodesToPods(pods);
    const nodeByName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
    const { maxSurge, maxUnavailable, desired } = desiredCounts(ds, nodes, byNode);
    const now = this.ctx.clock.now();
    const mrs = ds.spec?.minReadySeconds ?? 0;
    const generation = templateGeneration(ds);
    const available = (p: Pod): boolean => isPodAvailable(p, mrs, now);
    if (maxSurge === 0) {
      let numUnavailable = 0;
      const allowed: Pod[] = [];
      const candidates: Pod[] = [];
      for (const [, list] of byNode) {
        const r = findUpdatedPodsOnNode(list, hash, generation);
        if (!r) {
          numUnavailable++;
          continue;
        }
        const { newPod, oldPod } = r;
        if ((!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
        else if (newPod) {
          if (!available(newPod)) numUnavailable++;
        } else if (oldPod) {
          if (!available(oldPod)) {
            allowed.push(oldPod);
            numUnavailable++;
          } else if (numUnavailable < maxUnavailable) {
            candidates.push(oldPod);
          }
        }
      }
      const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
      await this.syncNodes(ds, [...allowed, ...candidates.slice(0, remaining)], [], hash);
      return;
    }
    const oldToDelete: Pod[] = [];
    const shouldNotRun: Pod[] = [];
    const candidateNodes: string[] = [];
    const allowedNodes: string[] = [];
    let numSurge = 0;
    let numAvailable = 0;
    for (const [nodeName, list] of byNode) {
      const r = findUpdatedPodsOnNode(list, hash, generation);
      if (!r) {
        numSurge++;
        continue;
      }
      const { newPod, oldPod } = r;
      if (oldPod) {
        if (available(oldPod)) numAvailable++;
      } else if (newPod && available(newPod)) numAvailable++;
      if (!oldPod) continue;
      const node = nodeByName.get(nodeName);
      if (!newPod) {
        const shouldRun = node ? nodeShouldRunDaemonPod(node, ds).shouldRun : false;
        if (!available(oldPod)) {
          if (!shouldRun) oldToDelete.push(oldPod);
          else allowedNodes.push(nodeName);
        } else if (!shouldRun) {
          shouldNotRun.push(oldPod);
        } else if (numSurge < maxSurge) {
          candidateNodes.push(nodeName);
        }
        continue;
      }
      if (!available(newPod)) {
        numSurge++;
        continue;
      }
      oldToDelete.push(oldPod);
    }
    const deletable = Math.min(Math.max(0, numAvailable - desired), shouldNotRun.length);
    oldToDelete.push(...shouldNotRun.slice(0, deletable));
    const remainingSurge = Math.min(Math.max(0, maxSurge - numSurge), candidateNodes.length);
    await this.syncNodes(ds, oldToDelete, [...allowedNodes, ...candidateNodes.slice(0, remainingSurge)], hash);
  }

  /** cleanupHistory: delete old revisions no pod uses beyond revisionHistoryLimit. */
  private async cleanupHistory(ds: DaemonSet, old: ControllerRevision[], pods: Pod[]): Promise<void> {
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    if (old.length <= limit) return;
    const live = new Set(pods.map((p) => p.metadata?.labels?.[controllerRevisionHashLabel]).filter((h): h is string => !!h));
    const deletable = sortRevisions(old).filter((r) => !live.has(r.metadata?.labels?.[controllerRevisionHashLabel] ?? ''));
    for (const r of deletable.slice(0, old.length - limit)) {
      await this.revClient.delete(r.metadata?.name ?? '', { namespace: r.metadata?.namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }

  private async updateStatus(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string, updateObservedGen: boolean, state: { requeueAfter?: number }): Promise<void> {
    const status = computeDaemonSetStatus(ds, nodes, this.nodesToPods(pods), { hash, nowMs: this.ctx.clock.now() });
    const cur: DaemonSetStatus = ds.status ?? { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
    const next: DaemonSetStatus = { ...cur, ...status, observedGeneration: updateObservedGen ? ds.metadata?.generation : cur.observedGeneration };
    if (JSON.stringify(pickCounters(cur)) !== JSON.stringify(pickCounters(next))) {
      await this.dsClient.updateStatus({ ...ds, status: next }, { namespace: ds.metadata?.namespace });
    }
    const mrs = ds.spec?.minReadySeconds ?? 0;
    if (mrs > 0 && status.numberReady !== status.numberAvailable) state.requeueAfter = Math.min(state.requeueAfter ?? mrs * 1000, mrs * 1000);
  }
}

function pickCounters(s: DaemonSetStatus): number[] {
  return [s.currentNumberScheduled, s.desiredNumberScheduled, s.numberMisscheduled, s.numberReady, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, s.numberUnavailable ?? 0, s.observedGeneration ?? 0];
}

/** AllowsSurge: RollingUpdate with a non-zero maxSurge. */
export function allowsSurge(ds: DaemonSet): boolean {
  const s = ds.spec?.updateStrategy;
  if ((s?.type ?? 'RollingUpdate') !== 'RollingUpdate') return false;
  const v = s?.rollingUpdate?.maxSurge;
  return v !== undefined && v !== 0 && v !== '0%' && v !== '0';
}

/** updatedDesiredNodeCounts: maxSurge / maxUnavailable scaled to the desired count (unavailable 1 when both are 0). */
export function desiredCounts(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>): { maxSurge: number; maxUnavailable: number; desired: number } {
  let desired = 0;
  for (const n of nodes) {
    if (!nodeShouldRunDaemonPod(n, ds).shouldRun) continue;
    desired++;
    const name = n.metadata?.name ?? '';
    if (!byNode.has(name)) byNode.set(name, []);
  }
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  let maxUnavailable = getIntOrPercentValue(ru?.maxUnavailable ?? 1, desired, true);
  const maxSurge = allowsSurge(ds) ? getIntOrPercentValue(ru?.maxSurge ?? 0, desired, true) : 0;
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, desired };
}

/** findUpdatedPodsOnNode: the one new and one old live pod of a node, or undefined when there are more. */
export function findUpdatedPodsOnNode(pods: Pod[], hash: string, generation: string | undefined): { newPod?: Pod; oldPod?: Pod } | undefined {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(p, hash, generation)) {
      if (newPod) return undefined;
      newPod = p;
    } else {
      if (oldPod) return undefined;
      oldPod = p;
    }
  }
  return { newPod, oldPod };
}

/** The status counters of updateDaemonSetStatus (the oldest pod of each node counts). */
export function computeDaemonSetStatus(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, opts: { hash: string; nowMs: number }): Required<Pick<DaemonSetStatus, 'currentNumberScheduled' | 'desiredNumberScheduled' | 'numberMisscheduled' | 'numberReady' | 'updatedNumberScheduled' | 'numberAvailable' | 'numberUnavailable'>> {
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let updated = 0;
  let available = 0;
  const generation = templateGeneration(ds);
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = byNode.get(node.metadata?.name ?? '') ?? [];
    const scheduled = pods.length > 0;
    if (!shouldRun) {
      if (scheduled) misscheduled++;
      continue;
    }
    desired++;
    if (!scheduled) continue;
    current++;
    const pod = [...pods].sort(byCreationAndPhase)[0]!;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, ds.spec?.minReadySeconds ?? 0, opts.nowMs)) available++;
    }
    if (isPodUpdated(pod, opts.hash, generation)) updated++;
  }
  return {
    desiredNumberScheduled: desired, currentNumberScheduled: current, numberMisscheduled: misscheduled, numberReady: ready,
    updatedNumberScheduled: updated, numberAvailable: available, numberUnavailable: desired - available,
  };
}

/** The DaemonSet controller. */
export function newDaemonSetController(ctx: ControllerContext): Controller {
  return new DaemonSetController(ctx);
}
