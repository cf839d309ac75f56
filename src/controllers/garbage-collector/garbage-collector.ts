/**
 * The garbage collector (pkg/controller/garbagecollector), level-triggered over the shared informer caches of
 * every served kind of the catalog (events excepted): the ownerReferences graph is two cache indexes (objects by uid,
 * dependents by owner uid). An object whose owners are all gone is deleted (Background, or the policy its own
 * finalizers ask for); dangling references next to a live owner are removed; an owner carrying `orphan` has the
 * references to it stripped from its dependents and then loses the finalizer; an owner carrying
 * `foregroundDeletion` has its dependents deleted (in foreground where they block) and loses the finalizer once
 * no dependent with blockOwnerDeletion remains. Owners missing from the cache are confirmed by a live GET, so a
 * cache that lags never deletes a dependent whose owner was just created.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { apiVersionOf } from '../../api/meta/types.ts';
import type { ResourceDefinition } from '../../api/resource.ts';
import type { ObjectLike, ResourceClient, SharedInformer } from '../../client/index.ts';
import { isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';

/** Index of objects by the uids of their owners. */
export const ownerUidIndex = 'gc-owner-uid';
/** Index of objects by their own uid. */
export const uidIndex = 'gc-uid';

/** The kinds the collector watches: every catalog kind that can be listed, watched and deleted, except events. */
export function monitoredKinds(defs: ResourceDefinition[]): ResourceDefinition[] {
  return defs.filter((d) => !(d.kind === 'Event') && ['list', 'watch', 'delete'].every((v) => !d.verbs || d.verbs.includes(v)));
}

interface Monitor {
  def: ResourceDefinition;
  informer: SharedInformer<ObjectLike>;
  client: ResourceClient<ObjectLike>;
}

function refsChanged(a: ObjectLike, b: ObjectLike): boolean {
  return JSON.stringify(a.metadata?.ownerReferences ?? []) !== JSON.stringify(b.metadata?.ownerReferences ?? []);
}

function hasFinalizer(o: ObjectLike, f: string): boolean {
  return (o.metadata?.finalizers ?? []).includes(f);
}

class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  readonly queue;
  readonly workers: number;
  private readonly monitors: Monitor[] = [];
  private readonly byGvk = new Map<string, number>();

  constructor(ctx: ControllerContext) {
    this.queue = newQueue('garbage-collector', ctx.clock);
    // Upstream runs 20 workers: deletions of large cascades are I/O bound.
    this.workers = Math.max(ctx.workers, 10);
    for (const def of monitoredKinds(ctx.served)) {
      const informer = ctx.informers.informerFor<ObjectLike>(def, {
        indexers: {
          [ownerUidIndex]: (o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid),
          [uidIndex]: (o) => (o.metadata?.uid ? [o.metadata.uid] : []),
        },
      });
      const i = this.monitors.length;
      this.monitors.push({ def, informer, client: ctx.client.resource<ObjectLike>(def) });
      this.byGvk.set(`${apiVersionOf(def.group, def.version)}|${def.kind}`, i);
      informer.addEventHandler({
        onAdd: (o) => {
          if ((o.metadata?.ownerReferences ?? []).length > 0 || this.deletingWithGcFinalizer(o)) this.enqueue(i, o);
        },
        onUpdate: (old, cur) => {
          if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
          const finalizersChanged = JSON.stringify(old.metadata?.finalizers ?? []) !== JSON.stringify(cur.metadata?.finalizers ?? []);
          if (refsChanged(old, cur) || finalizersChanged || old.metadata?.deletionTimestamp !== cur.metadata?.deletionTimestamp) this.enqueue(i, cur);
        },
        onDelete: (d) => {
          const o = isTombstone(d) ? d.obj : d;
          const uid = o.metadata?.uid;
          if (uid) for (const dep of this.dependentsOf(uid)) this.enqueue(dep.monitor, dep.obj);
          // An owner waiting for its blocking dependents looks again when one goes.
          for (const r of o.metadata?.ownerReferences ?? []) {
            const owner = this.cachedByUid(r.uid);
            if (owner) this.enqueue(owner.monitor, owner.obj);
          }
        },
      });
    }
  }

  private deletingWithGcFinalizer(o: ObjectLike): boolean {
    return !!o.metadata?.deletionTimestamp && (hasFinalizer(o, 'orphan') || hasFinalizer(o, 'foregroundDeletion'));
  }

  private enqueue(monitor: number, o: ObjectLike): void {
    this.queue.add(`${monitor}|${objectKey(o)}`);
  }

  private dependentsOf(uid: string): { monitor: number; obj: ObjectLike }[] {
    const out: { monitor: number; obj: ObjectLike }[] = [];
    this.monitors.forEach((m, i) => {
      for (const obj of m.informer.lister().byIndex(ownerUidIndex, uid)) out.push({ monitor: i, obj });
    });
    return out;
  }

  private cachedByUid(uid: string): { monitor: number; obj: ObjectLike } | undefined {
    for (let i = 0; i < this.monitors.length; i++) {
      const obj = this.monitors[i]!.informer.lister().byIndex(uidIndex, uid)[0];
      if (obj) return { monitor: i, obj };
    }
    return undefined;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const bar = key.indexOf('|');
    const m = this.monitors[Number(key.slice(0, bar))];
    if (!m) return;
    const { namespace, name } = splitKey(key.slice(bar + 1));
    const obj = m.informer.lister().get(namespace, name);
    if (!obj) return;
    if (obj.metadata?.deletionTimestamp) {
      if (hasFinalizer(obj, 'orphan')) {
        await this.orphanDependents(obj);
        await this.removeFinalizer(m, obj, 'orphan');
        return;
      }
      if (hasFinalizer(obj, 'foregroundDeletion')) {
        await this.processDeletingDependents(m, obj);
        return;
      }
      return;
    }
    if ((obj.metadata?.ownerReferences ?? []).length === 0) return;
    await this.attemptToDelete(m, obj);
  }

  private async orphanDependents(owner: ObjectLike): Promise<void> {
    const uid = owner.metadata?.uid ?? '';
    for (const dep of this.dependentsOf(uid)) {
      const client = this.monitors[dep.monitor]!.client;
      try {
        await patchRefs(client, dep.obj, (refs) => refs.filter((r) => r.uid !== uid));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private async removeFinalizer(m: Monitor, obj: ObjectLike, finalizer: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const rest = (meta.finalizers ?? []).filter((f) => f !== finalizer);
    const ops: unknown[] = [
      { op: 'test', path: '/metadata/uid', value: meta.uid },
      { op: 'test', path: '/metadata/finalizers', value: meta.finalizers ?? [] },
      rest.length > 0 ? { op: 'replace', path: '/metadata/finalizers', value: rest } : { op: 'remove', path: '/metadata/finalizers' },
    ];
    try {
      await m.client.patch(meta.name ?? '', ops, { type: 'json', namespace: meta.namespace || undefined });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async processDeletingDependents(m: Monitor, owner: ObjectLike): Promise<ReconcileResult | void> {
    const uid = owner.metadata?.uid ?? '';
    const blocking = this.dependentsOf(uid).filter((d) => d.obj.metadata?.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    if (blocking.length === 0) {
      await this.removeFinalizer(m, owner, 'foregroundDeletion');
      return;
    }
    for (const d of blocking) if (!d.obj.metadata?.deletionTimestamp) this.enqueue(d.monitor, d.obj);
  }

  private async attemptToDelete(m: Monitor, obj: ObjectLike): Promise<void> {
    const meta = obj.metadata ?? {};
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of meta.ownerReferences ?? []) {
      const owner = await this.resolveOwner(obj, ref);
      if (owner === 'absent') dangling.push(ref);
      else if (owner === 'unknown') solid.push(ref);
      else if (owner.metadata?.deletionTimestamp && hasFinalizer(owner, 'foregroundDeletion')) waiting.push(ref);
      else solid.push(ref);
    }
    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return;
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      try {
        await patchRefs(m.client, obj, (refs) => refs.filter((r) => !drop.has(r.uid)));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    let policy: 'Foreground' | 'Background' | 'Orphan';
    if (waiting.length > 0 && this.dependentsOf(meta.uid ?? '').length > 0) policy = 'Foreground';
    else if (hasFinalizer(obj, 'orphan')) policy = 'Orphan';
    else if (hasFinalizer(obj, 'foregroundDeletion')) policy = 'Foreground';
    else policy = 'Background';
    try {
      await m.client.delete(meta.name ?? '', { namespace: meta.namespace || undefined, propagationPolicy: policy, preconditions: { uid: meta.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** The owner a reference names: from the cache by uid, else confirmed by a live GET; 'unknown' for unmapped kinds. */
  private async resolveOwner(obj: ObjectLike, ref: OwnerReference): Promise<ObjectLike | 'absent' | 'unknown'> {
    const cached = this.cachedByUid(ref.uid);
    if (cached) return cached.obj;
    const i = this.byGvk.get(`${ref.apiVersion}|${ref.kind}`);
    if (i === undefined) return 'unknown';
    const om = this.monitors[i]!;
    const ns = obj.metadata?.namespace ?? '';
    // A namespaced owner of a cluster-scoped object cannot exist.
    if (om.def.namespaced && !ns) return 'absent';
    try {
      const live = await om.client.get(ref.name, { namespace: om.def.namespaced ? ns : undefined });
      return live.metadata?.uid === ref.uid ? live : 'absent';
    } catch (e) {
      if (isNotFound(e)) return 'absent';
      throw e;
    }
  }
}

/** JSON-patches an object's ownerReferences, guarded by its uid and resourceVersion. */
async function patchRefs(client: ResourceClient<ObjectLike>, obj: ObjectLike, edit: (refs: OwnerReference[]) => OwnerReference[]): Promise<void> {
  const m = obj.metadata ?? {};
  const refs = edit([...(m.ownerReferences ?? [])]);
  const ops: unknown[] = [{ op: 'test', path: '/metadata/uid', value: m.uid }, { op: 'test', path: '/metadata/resourceVersion', value: m.resourceVersion }];
  ops.push(refs.length > 0 ? { op: 'replace', path: '/metadata/ownerReferences', value: refs } : { op: 'remove', path: '/metadata/ownerReferences' });
  await client.patch(m.name ?? '', ops, { type: 'json', namespace: m.namespace || undefined });
}

/** The garbage collector. */
export function newGarbageCollector(ctx: ControllerContext): Controller {
  return new GarbageCollector(ctx);
}
