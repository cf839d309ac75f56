/**
 * The Endpoints controller (pkg/controller/endpoint): for every Service with a selector, an Endpoints object of
 * the same name listing the selected pods' addresses (ready and not-ready apart, named target ports resolved from
 * container ports, hostnames for the pods whose subdomain is the Service), the Service's labels plus the headless
 * label, capped at 1000 addresses. It also keeps the endpoints of the `kubernetes` Service in `default` pointing at
 * the API server it talks to (upstream's apiserver endpoint reconciler; see kubernetes-service.ts).
 */
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import { endpoints as endpointsDef, pods as podsDef, services as servicesDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isForbidden, isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { computeSubsets, headlessServiceLabel, isServiceIPSet, overCapacityAnnotation, serviceSelector, truncateSubsets } from './endpoint-util.ts';
import { apiServerEndpoint, kubernetesServiceKey, reconcileKubernetesService } from './kubernetes-service.ts';

const log = logger('endpoints-controller');

/** How often the `kubernetes` Service's endpoints are re-checked (upstream's endpoint reconciler interval). */
export const masterEndpointReconcileMs = 10_000;

class EndpointsController implements Controller {
  readonly name = 'endpoint';
  readonly queue;
  readonly workers: number;
  private readonly ctx: ControllerContext;
  private readonly svcLister: Lister<Service>;
  private readonly podLister: Lister<Pod>;
  private readonly epLister: Lister<Endpoints>;
  private readonly epClient: ResourceClient<Endpoints>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.queue = newQueue('endpoint', ctx.clock);
    this.workers = ctx.workers;
    const svcInf = ctx.informers.informerFor<Service>(servicesDef);
    const podInf = ctx.informers.informerFor<Pod>(podsDef);
    const epInf = ctx.informers.informerFor<Endpoints>(endpointsDef);
    this.svcLister = svcInf.lister();
    this.podLister = podInf.lister();
    this.epLister = epInf.lister();
    this.epClient = ctx.client.resource<Endpoints>(endpointsDef);
    this.recorder = ctx.recorder('endpoint-controller');
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
    epInf.addEventHandler({
      // An Endpoints object changed or deleted by someone else is put back.
      onUpdate: (_o, ep) => this.queue.add(objectKey(ep)),
      onDelete: (ep) => this.queue.add(objectKey(isTombstone(ep) ? ep.obj : ep)),
    });
  }

  /** getPodServiceMemberships: every Service in the pod's namespace whose selector matches it. */
  private podChanged(pod: Pod): void {
    for (const svc of this.svcLister.list(pod.metadata?.namespace ?? '')) {
      if (serviceSelector(svc)?.(pod.metadata?.labels)) this.queue.add(objectKey(svc));
    }
  }

  /** Keeps the `kubernetes` Service and its endpoints current, every 10 s (and at once). */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.queue.add(kubernetesServiceKey);
      try {
        await this.ctx.clock.sleep(masterEndpointReconcileMs, { signal });
      } catch {
        return;
      }
    }
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    if (key === kubernetesServiceKey) {
      const ep = apiServerEndpoint(this.ctx.client);
      if (!ep) {
        log.v(2).info('API server address is not an IP: not publishing the kubernetes endpoints', { server: this.ctx.client.rest.config.server });
        return;
      }
      await reconcileKubernetesService(this.ctx.client, ep);
      return;
    }
    const { namespace, name } = splitKey(key);
    const svc = this.svcLister.get(namespace, name);
    if (!svc) {
      // Service gone: its Endpoints go too.
      await this.epClient.delete(name, { namespace }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      return;
    }
    const match = serviceSelector(svc);
    if (!match) return;
    const pods = this.podLister.list(namespace).filter((p) => match(p.metadata?.labels));
    const subsets = computeSubsets(svc, pods);
    const current = this.epLister.get(namespace, name);
    const create = !current?.metadata?.resourceVersion;
    const compareLabels = { ...(current?.metadata?.labels ?? {}) };
    delete compareLabels[headlessServiceLabel];
    const overCapacity = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0) > 1000;
    const capacityOk = overCapacity === (current?.metadata?.annotations?.[overCapacityAnnotation] === 'truncated');
    if (!create && JSON.stringify(current?.subsets ?? []) === JSON.stringify(subsets) && JSON.stringify(sortKeys(compareLabels)) === JSON.stringify(sortKeys(svc.metadata?.labels ?? {})) && capacityOk) {
      return;
    }
    const next: Endpoints = create
      ? { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } }
      : structuredClone(current!);
    next.subsets = subsets;
    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (!isServiceIPSet(svc)) labels[headlessServiceLabel] = '';
    next.metadata = { ...next.metadata, labels };
    const annotations = { ...(next.metadata.annotations ?? {}) };
    if (truncateSubsets(subsets)) annotations[overCapacityAnnotation] = 'truncated';
    else delete annotations[overCapacityAnnotation];
    next.metadata.annotations = annotations;
    if (Object.keys(annotations).length === 0) delete next.metadata.annotations;
    try {
      if (create) await this.epClient.create(next, { namespace });
      else await this.epClient.update(next, { namespace });
    } catch (e) {
      // A terminating namespace forbids creations: nothing to do.
      if (create && (isForbidden(e) || isAlreadyExists(e) || (e instanceof Error && /being terminated/.test(e.message)))) return;
      this.recorder.event({ ...next, apiVersion: 'v1', kind: 'Endpoints' }, { type: 'Warning', reason: 'FailedToUpdateEndpoint', message: `Failed to update endpoint ${namespace}/${name}: ${e instanceof Error ? e.message : String(e)}` });
      throw e;
    }
  }
}

function sortKeys(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The Endpoints controller. */
export function newEndpointsController(ctx: ControllerContext): Controller {
  return new EndpointsController(ctx);
}
