/**
 * The ReplicaSet controller, which also runs ReplicationControllers through the same code (as upstream's
 * replication manager wraps it): keeps `spec.replicas` active pods carrying a controllerRef to the owner, creating
 * them in slow-start batches and deleting the lowest-ranked first, adopting and releasing pods by selector,
 * guarded by expectations, and reports status on the status subresource.
 */
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import type { ResourceDefinition } from '../../api/resource.ts';
import { pods as podsDef, replicationcontrollers } from '../../api/core/v1/index.ts';
import { replicaSets } from '../../api/apps/v1/replica-set.ts';
import type { EventRecorder, Lister, ObjectLike, ResourceClient, SharedInformer } from '../../client/index.ts';
import { isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { claimObjects, controllerRefOf, newControllerRef } from '../common/controller-ref.ts';
import { Expectations } from '../common/expectations.ts';
import { filterActivePods, isPodReady, podsToDelete } from '../common/pods.ts';
import { calculateReplicaSetStatus, replicaSetStatusChanged } from './status.ts';


/** BurstReplicas: the most pods created or deleted in one sync. */
export const burstReplicas = 500;
/** SlowStartInitialBatchSize. */
export const slowStartInitialBatchSize = 1;

/** A ReplicaSet or a ReplicationController, seen through the fields both share. */
type ReplicaOwner = ReplicaSet | ReplicationController;

/** How one of the two kinds differs. */
interface ReplicaKind {
  name: string;
  component: string;
  def: ResourceDefinition;
  gvk: { apiVersion: string; kind: string };
  /** The selector test, or undefined when the selector is invalid (or a nil RS selector, which selects nothing). */
  selector(obj: ReplicaOwner): ((labels: Record<string, string> | undefined) => boolean) | undefined;
}

const replicaSetKind: ReplicaKind = {
  name: 'replicaset',
  component: 'replicaset-controller',
  def: replicaSets as unknown as ResourceDefinition,
  gvk: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  selector(obj) {
    const sel = (obj as ReplicaSet).spec?.selector;
    if (!sel) return undefined;
    try {
      const parsed = labelSelectorFromMeta(sel);
      return (labels) => matchesLabels(parsed, labels);
    } catch {
      return undefined;
    }
  },
};

const replicationControllerKind: ReplicaKind = {
  name: 'replicationcontroller',
  component: 'replication-controller',
  def: replicationcontrollers as unknown as ResourceDefinition,
  gvk: { apiVersion: 'v1', kind: 'ReplicationController' },
  selector(obj) {
    const sel = Object.entries((obj as ReplicationController).spec?.selector ?? {});
    return (labels) => sel.every(([k, v]) => labels?.[k] === v);
  },
};

/**
 * getPodsPrefix: `<name>-`, unless that is not a valid pod generateName (then the bare name).
 */
export function podNamePrefix(ownerName: string): string {
  const prefix = `${ownerName}-`;
  return prefix.length <= 253 - 5 ? prefix : ownerName;
}

/** GetPodFromTemplate: the pod a controller creates from its template (labels, annotations, finalizers, spec). */
export function podFromTemplate(owner: ReplicaOwner, ref: OwnerReference): Pod {
  const t = owner.spec?.template;
  const labels = { ...(t?.metadata?.labels ?? {}) };
  if (Object.keys(labels).length === 0) throw new Error('unable to create pods, no labels');
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: podNamePrefix(owner.metadata?.name ?? ''),
      namespace: owner.metadata?.namespace,
      labels,
      ownerReferences: [ref],
    },
    spec: structuredClone(t?.spec ?? { containers: [] }),
  };
  if (t?.metadata?.annotations) pod.metadata!.annotations = { ...t.metadata.annotations };
  if (t?.metadata?.finalizers) pod.metadata!.finalizers = [...t.metadata.finalizers];
  return pod;
}

/**
 * slowStartBatch: runs `fn` `count` times in batches of 1, 2, 4 … (in parallel within a batch), stopping after
 * the first batch with a failure; resolves the successes and the first error.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: Error }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    let error: Error | undefined;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason instanceof Error ? r.reason : new Error(String(r.reason));
    }
    if (error) return { successes, error };
    remaining -= batch;
  }
  return { successes };
}

class ReplicaController implements Controller {
  readonly name: string;
  readonly queue;
  readonly workers: number;
  readonly expectations: Expectations;
  private readonly ctx: ControllerContext;
  private readonly kind: ReplicaKind;
  private readonly owners: SharedInformer<ReplicaOwner>;
  private readonly ownerLister: Lister<ReplicaOwner>;
  private readonly podLister: Lister<Pod>;
  private readonly ownerClient: ResourceClient<ReplicaOwner>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext, kind: ReplicaKind) {
    this.ctx = ctx;
    this.kind = kind;
    this.name = kind.name;
    this.queue = newQueue(kind.name, ctx.clock);
    this.workers = ctx.workers;
    this.expectations = new Expectations({ clock: ctx.clock });
    this.owners = ctx.informers.informerFor<ReplicaOwner>(kind.def);
    this.ownerLister = this.owners.lister();
    const podInformer = ctx.informers.informerFor<Pod>(podsDef);
    this.podLister = podInformer.lister();
    this.ownerClient = ctx.client.resource<ReplicaOwner>(kind.def);
    this.podClient = ctx.client.resource<Pod>(podsDef);
    this.recorder = ctx.recorder(kind.component);

    this.owners.addEventHandler({
      onAdd: (o) => this.enqueue(o),
      onUpdate: (_old, cur) => this.enqueue(cur),
      onDelete: (o) => {
        const obj = isTombstone(o) ? o.obj : o;
        this.expectations.delete(objectKey(obj));
        this.enqueue(obj);
      },
    });
    podInformer.addEventHandler({
      onAdd: (pod) => this.addPod(pod),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (p) => this.deletePod(isTombstone(p) ? p.obj : p),
    });
  }

  private enqueue(o: ObjectLike): void {
    this.queue.add(objectKey(o));
  }

  /** resolveControllerRef: the owner a controllerRef names, if it is of our kind and the uid matches. */
  private resolve(namespace: string, ref: OwnerReference | undefined): ReplicaOwner | undefined {
    if (!ref || ref.kind !== this.kind.gvk.kind) return undefined;
    const o = this.ownerLister.get(namespace, ref.name);
    return o && o.metadata?.uid === ref.uid ? o : undefined;
  }

  /** getPodReplicaSets: owners in the pod's namespace whose selector matches an orphan pod. */
  private ownersSelecting(pod: Pod): ReplicaOwner[] {
    const labels = pod.metadata?.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.ownerLister.list(pod.metadata?.namespace ?? '').filter((o) => this.kind.selector(o)?.(labels) === true);
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      this.deletePod(pod);
      return;
    }
    const ns = pod.metadata?.namespace ?? '';
    const ref = controllerRefOf(pod);
    if (ref) {
      const owner = this.resolve(ns, ref);
      if (!owner) return;
      this.expectations.creationObserved(objectKey(owner));
      this.enqueue(owner);
      return;
    }
    for (const o of this.ownersSelecting(pod)) this.enqueue(o);
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (cur.metadata?.deletionTimestamp) {
      this.deletePod(cur);
      if (labelChanged) this.deletePod(old);
      return;
    }
    const ns = cur.metadata?.namespace ?? '';
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const o = this.resolve(ns, oldRef);
      if (o) this.enqueue(o);
    }
    if (curRef) {
      const o = this.resolve(ns, curRef);
      if (!o) return;
      this.enqueue(o);
      const mrs = o.spec?.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && mrs > 0) this.queue.addAfter(objectKey(o), mrs * 1000);
      return;
    }
    if (labelChanged || refChanged) for (const o of this.ownersSelecting(cur)) this.enqueue(o);
  }

  private deletePod(pod: Pod): void {
    const ref = controllerRefOf(pod);
    const owner = this.resolve(pod.metadata?.namespace ?? '', ref);
    if (!owner) return;
    const key = objectKey(owner);
    this.expectations.deletionObserved(key, objectKey(pod));
    this.queue.add(key);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const cached = this.ownerLister.get(namespace, name);
    if (!cached) {
      this.expectations.delete(key);
      return;
    }
    const owner = structuredClone(cached);
    const match = this.kind.selector(owner);
    if (!match) {
      this.recorder.event(this.withKind(owner), { type: 'Warning', reason: 'InvalidSelector', message: 'the selector of this object is not valid; it selects nothing' });
      return;
    }
    const needsSync = this.expectations.satisfied(key) && !owner.metadata?.deletionTimestamp;
    const all = this.podLister.list(namespace);
    const active = filterActivePods(all);
    const claimed = await claimObjects<Pod>(active, {
      owner,
      gvk: this.kind.gvk,
      match: (p) => match(p.metadata?.labels),
      client: this.podClient,
      canAdopt: async () => {
        const fresh = await this.ownerClient.get(name, { namespace });
        if (fresh.metadata?.uid !== owner.metadata?.uid) throw new Error(`original ${namespace}/${name} is gone: got uid ${fresh.metadata?.uid}, wanted ${owner.metadata?.uid}`);
        if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
    let manageError: Error | undefined;
    if (needsSync) {
      try {
        await this.manageReplicas(claimed, owner, key);
      } catch (e) {
        manageError = e instanceof Error ? e : new Error(String(e));
      }
    }
    const now = this.ctx.clock.now();
    const replicas = owner.spec?.replicas ?? 1;
    const status = calculateReplicaSetStatus(
      { replicas, minReadySeconds: owner.spec?.minReadySeconds ?? 0, templateLabels: owner.spec?.template?.metadata?.labels ?? {}, status: owner.status },
      claimed,
      { manageError, nowMs: now },
    );
    status.observedGeneration = owner.metadata?.generation ?? status.observedGeneration;
    let updated = owner;
    if (replicaSetStatusChanged(owner.status, status)) {
      updated = await this.ownerClient.updateStatus({ ...owner, status } as ReplicaOwner, { namespace });
    }
    if (manageError) throw manageError;
    const mrs = updated.spec?.minReadySeconds ?? 0;
    const st = updated.status;
    if (mrs > 0 && (st?.readyReplicas ?? 0) === replicas && (st?.availableReplicas ?? 0) !== replicas) return { requeueAfter: mrs * 1000 };
  }

  private withKind(o: ReplicaOwner): ReplicaOwner {
    return { ...o, apiVersion: this.kind.gvk.apiVersion, kind: this.kind.gvk.kind } as ReplicaOwner;
  }

  private async manageReplicas(pods: Pod[], owner: ReplicaOwner, key: string): Promise<void> {
    const namespace = owner.metadata?.namespace ?? '';
    const subject = this.withKind(owner);
    let diff = pods.length - (owner.spec?.replicas ?? 1);
    if (diff < 0) {
      diff = Math.min(-diff, burstReplicas);
      this.expectations.expectCreations(key, diff);
      const ref = newControllerRef(owner, this.kind.gvk);
      const { successes, error } = await slowStartBatch(diff, slowStartInitialBatchSize, async () => {
        let created: Pod;
        try {
          created = await this.podClient.create(podFromTemplate(owner, ref), { namespace });
        } catch (e) {
          // A terminating namespace refuses creations: nothing to do until it is gone.
          if (e instanceof Error && /because it is being terminated/.test(e.message)) return;
          this.expectations.creationObserved(key);
          this.recorder.event(subject, { type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${e instanceof Error ? e.message : String(e)}` });
          throw e;
        }
        this.recorder.event(subject, { type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${created.metadata?.name ?? ''}` });
      });
      // Pods never attempted after a failed batch are not expected.
      const attempted = successes + (error ? 1 : 0);
      for (let i = attempted; i < diff; i++) this.expectations.creationObserved(key);
      if (error) throw error;
      return;
    }
    if (diff > 0) {
      diff = Math.min(diff, burstReplicas);
      const victims = podsToDelete(pods, this.relatedPods(owner), { diff, nowMs: this.ctx.clock.now() });
      this.expectations.expectDeletions(key, victims.map((p) => objectKey(p)));
      const results = await Promise.allSettled(victims.map(async (p) => {
        const podName = p.metadata?.name ?? '';
        try {
          await this.podClient.delete(podName, { namespace, preconditions: p.metadata?.uid ? { uid: p.metadata.uid } : undefined });
          this.recorder.event(subject, { type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${podName}` });
        } catch (e) {
          this.expectations.deletionObserved(key, objectKey(p));
          if (isNotFound(e)) return;
          this.recorder.event(subject, { type: 'Warning', reason: 'FailedDelete', message: `Error deleting: ${e instanceof Error ? e.message : String(e)}` });
          throw e;
        }
      }));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /** getIndirectlyRelatedPods: pods of every owner that shares this owner's controller (sibling ReplicaSets). */
  private relatedPods(owner: ReplicaOwner): Pod[] {
    const ns = owner.metadata?.namespace ?? '';
    const parent = controllerRefOf(owner);
    const siblings = new Set<string>();
    for (const o of this.ownerLister.list(ns)) {
      const r = controllerRefOf(o);
      if (o.metadata?.uid === owner.metadata?.uid || (parent && r?.uid === parent.uid)) siblings.add(o.metadata?.uid ?? '');
    }
    return this.podLister.list(ns).filter((p) => {
      const r = controllerRefOf(p);
      return r !== undefined && siblings.has(r.uid);
    });
  }
}

/** The ReplicaSet controller. */
export function newReplicaSetController(ctx: ControllerContext): Controller {
  return new ReplicaController(ctx, replicaSetKind);
}

/** The ReplicationController manager (the same controller over core/v1 ReplicationControllers). */
export function newReplicationControllerController(ctx: ControllerContext): Controller {
  return new ReplicaController(ctx, replicationControllerKind);
}

