/**
 * The Namespace controller (pkg/controller/namespace): for a namespace being deleted that still carries the
 * `kubernetes` finalizer, deletes every namespaced object in it, reports progress in the five deletion
 * conditions, and once nothing remains PUTs `/finalize` without the finalizer so that the API server removes
 * the namespace.
 */
import type { Namespace, NamespaceCondition } from 'kubernetes-types/core/v1.js';
import { namespaces as namespacesDef } from '../../api/core/v1/index.ts';
import type { ResourceDefinition } from '../../api/resource.ts';
import type { ApiClient, Lister, ObjectLike, ResourceClient } from '../../client/index.ts';
import { codeOf, isNotFound } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';

/** The finalizer this controller owns. */
export const kubernetesFinalizer = 'kubernetes';

/** What remains in a namespace after a deletion pass. */
export interface ContentSummary {
  /** `<group resource>` → objects left. */
  remaining: Map<string, number>;
  /** finalizer → objects carrying it. */
  finalizers: Map<string, number>;
  /** Deletion errors. */
  errors: string[];
}

/** The group-resource string upstream prints ("pods", "deployments.apps"). */
function groupResource(def: ResourceDefinition): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

/** The deletion conditions (NamespaceDeletion*, NamespaceContentRemaining, NamespaceFinalizersRemaining) for a summary. */
export function namespaceConditions(summary: ContentSummary, old: NamespaceCondition[] | undefined, nowMs: number): NamespaceCondition[] {
  const t = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z');
  const rem = [...summary.remaining].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1));
  const fin = [...summary.finalizers].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1));
  const want: Omit<NamespaceCondition, 'lastTransitionTime'>[] = [
    { type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
    { type: 'NamespaceDeletionGroupVersionParsingFailure', status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
    summary.errors.length > 0
      ? { type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${summary.errors.length} remaining: ${summary.errors.join(', ')}` }
      : { type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
    rem.length > 0
      ? { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${rem.map(([r, n]) => `${r} has ${n} resource instances`).join(', ')}` }
      : { type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'All content successfully removed' },
    fin.length > 0
      ? { type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${fin.map(([f, n]) => `${f} in ${n} resource instances`).join(', ')}` }
      : { type: 'NamespaceFinalizersRemaining', status: 'False', reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
  ];
  return want.map((c) => {
    const prev = old?.find((o) => o.type === c.type);
    const same = prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message;
    return same ? prev : { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : t };
  });
}

class NamespaceController implements Controller {
  readonly name = 'namespace';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly lister: Lister<Namespace>;
  private readonly nsClient: ResourceClient<Namespace>;
  private readonly kinds: ResourceDefinition[];

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('namespace', ctx.clock);
    this.workers = ctx.workers;
    const inf = ctx.informers.informerFor<Namespace>(namespacesDef);
    this.lister = inf.lister();
    this.nsClient = ctx.client.resource<Namespace>(namespacesDef);
    this.kinds = ctx.served.filter((d) => d.namespaced);
    const enqueue = (n: Namespace): void => {
      if (n.metadata?.deletionTimestamp) this.queue.add(n.metadata.name ?? '');
    };
    inf.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  }

  async reconcile(name: string): Promise<ReconcileResult | void> {
    const ns = this.lister.get('', name);
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes(kubernetesFinalizer)) return;
    const summary = await deleteAllContent(this.ctx.client, name, this.kinds);
    const conditions = namespaceConditions(summary, ns.status?.conditions, this.ctx.clock.now());
    let current = ns;
    if (JSON.stringify(conditions) !== JSON.stringify(ns.status?.conditions ?? [])) {
      try {
        current = await this.nsClient.updateStatus({ ...ns, status: { ...(ns.status ?? {}), phase: 'Terminating', conditions } });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    const left = [...summary.remaining.values()].reduce((a, b) => a + b, 0);
    if (summary.errors.length > 0) throw new Error(`namespace ${name}: ${summary.errors.join('; ')}`);
    if (left > 0) return { requeueAfter: 1000 };
    const finalizers = (current.spec?.finalizers ?? []).filter((f) => f !== kubernetesFinalizer);
    try {
      await this.nsClient.updateSubresource(name, 'finalize', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, resourceVersion: current.metadata?.resourceVersion }, spec: { finalizers } },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/**
 * deleteAllContent: deletes the objects of every namespaced kind in `namespace` (a collection DELETE, or one by
 * one where that is not allowed), then counts what remains and the finalizers holding it.
 */
export async function deleteAllContent(client: ApiClient, namespace: string, kinds: ResourceDefinition[]): Promise<ContentSummary> {
  const summary: ContentSummary = { remaining: new Map(), finalizers: new Map(), errors: [] };
  await Promise.all(kinds.map(async (def) => {
    const rc = client.resource<ObjectLike>(def);
    try {
      try {
        await rc.deleteCollection({ namespace, propagationPolicy: 'Background' });
      } catch (e) {
        if (codeOf(e) !== 405) throw e;
        const list = await rc.list({ namespace });
        for (const o of list.items) {
          if (o.metadata?.deletionTimestamp) continue;
          await rc.delete(o.metadata?.name ?? '', { namespace, propagationPolicy: 'Background' }).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        }
      }
      const left = await rc.list({ namespace });
      if (left.items.length > 0) {
        summary.remaining.set(groupResource(def), left.items.length);
        for (const o of left.items) for (const f of o.metadata?.finalizers ?? []) summary.finalizers.set(f, (summary.finalizers.get(f) ?? 0) + 1);
      }
    } catch (e) {
      if (codeOf(e) === 404 || codeOf(e) === 405) return;
      summary.errors.push(`${groupResource(def)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }));
  return summary;
}

/** The Namespace controller. */
export function newNamespaceController(ctx: ControllerContext): Controller {
  return new NamespaceController(ctx);
}
