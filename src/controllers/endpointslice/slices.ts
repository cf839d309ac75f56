/**
 * The EndpointSlice reconciler's pure parts (staging/src/k8s.io/endpointslice): the desired endpoints of a Service
 * grouped by address type and port set, and the plan that turns the existing slices into the desired ones — keep
 * endpoints in the slice that holds them, fill slices up to 100 endpoints, create the rest, delete emptied slices,
 * and keep one placeholder slice for a Service with no endpoints.
 */
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { canonicalJSON } from '../../api/apps/v1/workload.ts';
import { newControllerRef } from '../common/controller-ref.ts';
import { isPodReady } from '../common/pods.ts';
import { findPort, headlessServiceLabel, isServiceIPSet, podIPsOf, serviceFamilies, shouldPodBeInEndpoints, shouldSetHostname } from '../endpoints/endpoint-util.ts';

/** discovery.LabelServiceName. */
export const serviceNameLabel = 'kubernetes.io/service-name';
/** discovery.LabelManagedBy. */
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
/** The managed-by value of this controller. */
export const controllerName = 'endpointslice-controller.k8s.io';
/** --max-endpoints-per-slice default. */
export const maxEndpointsPerSlice = 100;

/** Endpoints sharing one address type and one port list. */
export interface EndpointGroup {
  addressType: 'IPv4' | 'IPv6';
  ports: EndpointPort[];
  /** Desired endpoints by key (the pod UID). */
  endpoints: Map<string, Endpoint>;
}

/** The key that identifies an endpoint across syncs (its pod, else its first address). */
export function endpointKey(ep: Endpoint): string {
  return ep.targetRef?.uid ?? ep.addresses[0] ?? '';
}

/** The key of a group: address type plus the canonical port list. */
export function groupKey(addressType: string, ports: EndpointPort[] | undefined): string {
  const sorted = [...(ports ?? [])].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || (a.port ?? 0) - (b.port ?? 0));
  return `${addressType}|${canonicalJSON(sorted)}`;
}

/** podToEndpoint: ready (never while terminating, unless publishNotReadyAddresses), serving, terminating, hostname, node, zone. */
export function podToEndpoint(pod: Pod, svc: Service, addresses: string[], node: Node | undefined): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses,
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.['topology.kubernetes.io/zone'];
  if (zone) ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  return ep;
}

/** The desired endpoint groups of a Service over the pods it selects (terminating pods included). */
export function desiredGroups(svc: Service, pods: Pod[], nodeOf: (name: string) => Node | undefined): Map<string, EndpointGroup> {
  const groups = new Map<string, EndpointGroup>();
  for (const family of serviceFamilies(svc)) {
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ips = podIPsOf(pod, family);
      if (ips.length === 0) continue;
      const ports: EndpointPort[] = [];
      for (const sp of svc.spec?.ports ?? []) {
        const n = findPort(pod, sp);
        if (n === undefined) continue;
        const p: EndpointPort = { name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' };
        if (sp.appProtocol) p.appProtocol = sp.appProtocol;
        ports.push(p);
      }
      const key = groupKey(family, ports);
      const g = groups.get(key) ?? { addressType: family, ports, endpoints: new Map() };
      groups.set(key, g);
      const ep = podToEndpoint(pod, svc, [ips[0]!], nodeOf(pod.spec?.nodeName ?? ''));
      g.endpoints.set(endpointKey(ep), ep);
    }
  }
  return groups;
}

/** The labels of a managed slice: the Service's, the service-name and managed-by labels, headless when it is. */
export function sliceLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  labels[serviceNameLabel] = svc.metadata?.name ?? '';
  labels[managedByLabel] = controllerName;
  if (!isServiceIPSet(svc)) labels[headlessServiceLabel] = '';
  else delete labels[headlessServiceLabel];
  return labels;
}

/** A new slice of `svc` (generateName `<service>-`, controllerRef to the Service). */
export function newSlice(svc: Service, addressType: 'IPv4' | 'IPv6', ports: EndpointPort[] | undefined, endpoints: Endpoint[]): EndpointSlice {
  let prefix = `${svc.metadata?.name ?? ''}-`;
  if (prefix.length > 63 - 5) prefix = prefix.slice(0, 63 - 5);
  const s: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: prefix,
      namespace: svc.metadata?.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [newControllerRef(svc, { apiVersion: 'v1', kind: 'Service' })],
    },
    addressType,
    endpoints,
  };
  if (ports !== undefined) s.ports = ports;
  return s;
}

/** What to do with a Service's slices. */
export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

function isPlaceholder(s: EndpointSlice): boolean {
  return (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0;
}

/**
 * reconcile: the creates, updates and deletes that make `existing` (the Service's managed slices) hold exactly the
 * desired endpoints, touching as few slices as possible.
 */
export function planSlices(svc: Service, existing: EndpointSlice[], desired: Map<string, EndpointGroup>): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const labels = sliceLabels(svc);
  const byGroup = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    const k = groupKey(s.addressType, s.ports ?? undefined);
    const list = byGroup.get(k);
    if (list) list.push(s);
    else byGroup.set(k, [s]);
  }
  let totalDesired = 0;
  for (const g of desired.values()) totalDesired += g.endpoints.size;
  if (totalDesired === 0) {
    // One placeholder slice stands for a Service without endpoints.
    const placeholder = existing.find(isPlaceholder);
    for (const s of existing) if (s !== placeholder) plan.delete.push(s);
    const family = serviceFamilies(svc)[0]!;
    if (!placeholder) plan.create.push(newSlice(svc, family, undefined, []));
    else if (canonicalJSON(placeholder.metadata?.labels ?? {}) !== canonicalJSON(labels)) plan.update.push({ ...structuredClone(placeholder), metadata: { ...placeholder.metadata, labels } });
    return plan;
  }
  for (const [k, slices] of byGroup) {
    if (!desired.has(k)) plan.delete.push(...slices);
  }
  for (const [k, g] of desired) {
    const slices = (byGroup.get(k) ?? []).map((s) => structuredClone(s));
    const placed = new Set<string>();
    const changed = new Set<EndpointSlice>();
    for (const s of slices) {
      const kept: Endpoint[] = [];
      for (const ep of s.endpoints ?? []) {
        const key = endpointKey(ep);
        const want = g.endpoints.get(key);
        if (!want || placed.has(key)) {
          changed.add(s);
          continue;
        }
        placed.add(key);
        if (canonicalJSON(want) !== canonicalJSON(ep)) changed.add(s);
        kept.push(want);
      }
      s.endpoints = kept;
      if (canonicalJSON(s.metadata?.labels ?? {}) !== canonicalJSON(labels)) {
        s.metadata = { ...s.metadata, labels };
        changed.add(s);
      }
    }
    const pending = [...g.endpoints.entries()].filter(([key]) => !placed.has(key)).map(([, ep]) => ep);
    // Fill the fullest slices first so that slices stay few.
    const withRoom = [...slices].sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
    for (const s of withRoom) {
      while (pending.length > 0 && (s.endpoints?.length ?? 0) < maxEndpointsPerSlice && (s.endpoints?.length ?? 0) > 0) {
        (s.endpoints ??= []).push(pending.shift()!);
        changed.add(s);
      }
    }
    // Empty slices are reused before new ones are made.
    for (const s of slices) {
      if ((s.endpoints?.length ?? 0) > 0 || pending.length === 0) continue;
      s.endpoints = pending.splice(0, maxEndpointsPerSlice);
      changed.add(s);
    }
    while (pending.length > 0) plan.create.push(newSlice(svc, g.addressType, g.ports, pending.splice(0, maxEndpointsPerSlice)));
    for (const s of slices) {
      if ((s.endpoints?.length ?? 0) === 0) plan.delete.push(s);
      else if (changed.has(s)) plan.update.push(s);
    }
  }
  return plan;
}
