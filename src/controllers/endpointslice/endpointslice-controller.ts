/**
 * The EndpointSlice controller (pkg/controller/endpointslice): for every Service with a selector, EndpointSlices
 * labelled `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`,
 * owned by the Service, holding at most 100 endpoints each with the ready / serving / terminating conditions of the
 * selected pods, grouped by address type and resolved port set; a placeholder slice when there are no endpoints.
 */
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { formatRFC3339 } from '../../api/meta/time.ts';
import { nodes as nodesDef, pods as podsDef, services as servicesDef } from '../../api/core/v1/index.ts';
import { endpointSlices as slicesDef } from '../../api/discovery/v1/endpoint-slice.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { serviceSelector } from '../endpoints/endpoint-util.ts';
import { controllerName, desiredGroups, managedByLabel, planSlices, serviceNameLabel } from './slices.ts';

/** v1.EndpointsLastChangeTriggerTime. */
const lastChangeTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';

class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly svcLister: Lister<Service>;
  private readonly podLister: Lister<Pod>;
  private readonly nodeLister: Lister<Node>;
  private readonly sliceLister: Lister<EndpointSlice>;
  private readonly sliceClient: ResourceClient<EndpointSlice>;
  private readonly recorder: EventRecorder;
  /**
   * endpointSliceTracker: what this controller last wrote per Service (slice name → resourceVersion, or null once
   * deleted), so that a sync never plans from a cache that has not caught up with its own writes.
   */
  private readonly written = new Map<string, Map<string, string | null>>();
  private readonly writtenAt = new Map<string, number>();

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('endpoint_slice', ctx.clock);
    this.workers = ctx.workers;
    const svcInf = ctx.informers.informerFor<Service>(servicesDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    const nodeInf = ctx.informers.informerFor<Node>(nodesDef);
    const sliceInf = ctx.informers.informerFor<EndpointSlice>(slicesDef);
    this.svcLister = svcInf.lister();
    this.podLister = podInf.lister();
    this.nodeLister = nodeInf.lister();
    this.sliceLister = sliceInf.lister();
    this.sliceClient = ctx.client.resource<EndpointSlice>(slicesDef);
    this.recorder = ctx.recorder('endpoint-slice-controller');
    svcInf.addEventHandler({
      onAdd: (s) => this.queue.add(objectKey(s)),
      onUpdate: (_o, s) => this.queue.add(objectKey(s)),
      onDelete: (s) => this.queue.add(objectKey(isTombstone(s) ? s.obj : s)),
    });
    podInf.addEventHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (old, cur) => {
        if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
        this.podChanged(cur);
        if (JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {})) this.podChanged(old);
      },
      onDelete: (p) => this.podChanged(isTombstone(p) ? p.obj : p),
    });
    const sliceChanged = (s: EndpointSlice): void => {
      const svc = s.metadata?.labels?.[serviceNameLabel];
      if (svc && s.metadata?.labels?.[managedByLabel] === controllerName) this.queue.add(`${s.metadata?.namespace ?? ''}/${svc}`);
    };
    sliceInf.addEventHandler({
      onUpdate: (_o, s) => sliceChanged(s),
      onDelete: (s) => sliceChanged(isTombstone(s) ? s.obj : s),
    });
  }

  /** True while the slice cache lacks one of this controller's own writes for the Service `key`. */
  private cacheIsStale(key: string, namespace: string): boolean {
    const w = this.written.get(key);
    if (!w) return false;
    // Someone else may have changed the slices since: stop waiting after a while.
    if (this.ctx.clock.now() - (this.writtenAt.get(key) ?? 0) > 5000) {
      this.written.delete(key);
      return false;
    }
    for (const [name, rv] of w) {
      const cur = this.sliceLister.get(namespace, name);
      if (rv === null ? cur !== undefined : olderThan(cur?.metadata?.resourceVersion, rv)) return true;
    }
    this.written.delete(key);
    return false;
  }

  private podChanged(pod: Pod): void {
    for (const svc of this.svcLister.list(pod.metadata?.namespace ?? '')) {
      if (serviceSelector(svc)?.(pod.metadata?.labels)) this.queue.add(objectKey(svc));
    }
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    if (this.cacheIsStale(key, namespace)) return { requeueAfter: 100 };
    const svc = this.svcLister.get(namespace, name);
    const mine = this.sliceLister.list(namespace).filter((s) => s.metadata?.labels?.[serviceNameLabel] === name && s.metadata.labels[managedByLabel] === controllerName);
    if (!svc || !serviceSelector(svc) || svc.metadata?.deletionTimestamp) {
      // No Service (or no selector): its managed slices go.
      if (!svc || !serviceSelector(svc)) {
        await Promise.all(mine.map((s) => this.sliceClient.delete(s.metadata?.name ?? '', { namespace }).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        })));
      }
      return;
    }
    const match = serviceSelector(svc)!;
    const pods = this.podLister.list(namespace).filter((p) => match(p.metadata?.labels));
    const desired = desiredGroups(svc, pods, (n) => (n ? this.nodeLister.get('', n) : undefined));
    // Slices owned by an older Service of the same name are replaced.
    const owned = mine.filter((s) => (s.metadata?.ownerReferences ?? []).some((r) => r.uid === svc.metadata?.uid));
    const stale = mine.filter((s) => !owned.includes(s));
    const plan = planSlices(svc, owned, desired);
    plan.delete.push(...stale);
    const trigger = formatRFC3339(this.ctx.clock.now());
    const withTrigger = (s: EndpointSlice): EndpointSlice => ({ ...s, metadata: { ...s.metadata, annotations: { ...(s.metadata?.annotations ?? {}), [lastChangeTriggerTime]: trigger } } });
    const errors: unknown[] = [];
    let written = this.written.get(key);
    if (!written) this.written.set(key, (written = new Map()));
    const track = written;
    this.writtenAt.set(key, this.ctx.clock.now());
    const remember = (s: EndpointSlice): void => {
      if (s.metadata?.name) track.set(s.metadata.name, s.metadata.resourceVersion ?? '');
    };
    await Promise.all([
      ...plan.create.map((s) => this.sliceClient.create(withTrigger(s), { namespace }).then(remember, (e: unknown) => {
        if (!(e instanceof Error && /being terminated/.test(e.message))) errors.push(e);
      })),
      ...plan.update.map((s) => this.sliceClient.update(withTrigger(s), { namespace }).then(remember, (e: unknown) => {
        errors.push(e);
      })),
      ...plan.delete.map((s) => this.sliceClient.delete(s.metadata?.name ?? '', { namespace }).then(() => {
        track.set(s.metadata?.name ?? '', null);
      }, (e: unknown) => {
        if (!isNotFound(e)) errors.push(e);
      })),
    ]);
    if (errors.length > 0) {
      const e = errors[0];
      this.recorder.event({ ...svc, apiVersion: 'v1', kind: 'Service' }, { type: 'Warning', reason: 'FailedToUpdateEndpointSlices', message: `Error updating Endpoint Slices for Service ${namespace}/${name}: ${e instanceof Error ? e.message : String(e)}` });
      throw e;
    }
  }
}

/** True when resourceVersion `seen` is older than `wanted` (both numeric, as this server's are). */
function olderThan(seen: string | undefined, wanted: string): boolean {
  if (seen === undefined) return true;
  if (/^\d+$/.test(seen) && /^\d+$/.test(wanted)) return BigInt(seen) < BigInt(wanted);
  return seen !== wanted;
}

/** The EndpointSlice controller. */
export function newEndpointSliceController(ctx: ControllerContext): Controller {
  return new EndpointSliceController(ctx);
}
