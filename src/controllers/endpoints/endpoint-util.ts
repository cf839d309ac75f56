/**
 * What the Endpoints and EndpointSlice controllers share (pkg/controller/util/endpoint and endpointslice util):
 * which pods a Service selects, whether a pod belongs in its endpoints, the container port a service port names
 * (podutil.FindPort), hostnames, and the packing of Endpoints subsets (RepackSubsets).
 */
import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { isPodReady } from '../common/pods.ts';

/** v1.IsHeadlessService: the label put on the endpoints of a headless Service. */
export const headlessServiceLabel = 'service.kubernetes.io/headless';
/** v1.EndpointsOverCapacity annotation. */
export const overCapacityAnnotation = 'endpoints.kubernetes.io/over-capacity';
/** maxCapacity of an Endpoints object. */
export const maxEndpointsCapacity = 1000;

/** The selector of a Service as a predicate over labels, or undefined when it has none (no managed endpoints). */
export function serviceSelector(svc: Service): ((labels: Record<string, string> | undefined) => boolean) | undefined {
  const sel = svc.spec?.selector;
  if (!sel || svc.spec?.type === 'ExternalName') return undefined;
  const entries = Object.entries(sel);
  return (labels) => entries.every(([k, v]) => labels?.[k] === v);
}

/** IsServiceIPSet: the Service has a cluster IP (is not headless). */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/** IsPodTerminal: Succeeded or Failed. */
export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** ShouldPodBeInEndpoints: not terminal, has an IP, and not terminating unless `includeTerminating`. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && (pod.status?.podIPs ?? []).length === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** ShouldSetHostname: the pod names this Service as its subdomain and has a hostname. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/** The pod IPs of one family. */
export function podIPsOf(pod: Pod, family: 'IPv4' | 'IPv6'): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.filter((ip) => (family === 'IPv6') === ip.includes(':'));
}

/** The IP families a Service's endpoints use (spec.ipFamilies, IPv4 by default). */
export function serviceFamilies(svc: Service): ('IPv4' | 'IPv6')[] {
  const f = (svc.spec?.ipFamilies ?? []).filter((x): x is 'IPv4' | 'IPv6' => x === 'IPv4' || x === 'IPv6');
  return f.length > 0 ? f : ['IPv4'];
}

/**
 * podutil.FindPort: the container port a service port targets — a named targetPort resolved among the pod's
 * container ports of the same protocol, a number as is (the port itself when unset). Undefined when not found.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

/** endpointPortFromServicePort. */
export function endpointPortOf(sp: ServicePort, port: number): EndpointPort {
  const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
  if (sp.name) ep.name = sp.name;
  if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
  return ep;
}

/** The Endpoints address of a pod for a Service (podToEndpointAddressForService), or undefined without an IP. */
export function endpointAddressOf(pod: Pod, svc: Service): EndpointAddress | undefined {
  const ip = podIPsOf(pod, serviceFamilies(svc)[0]!)[0];
  if (!ip) return undefined;
  const a: EndpointAddress = { ip, targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid } };
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, svc)) a.hostname = pod.spec!.hostname;
  return a;
}

/**
 * The Endpoints subsets of a Service over the pods it selects (the syncService loop plus RepackSubsets): one
 * subset per distinct set of ports, ready and not-ready addresses apart, everything sorted for stable output.
 */
export function computeSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const tolerateUnready = svc.spec?.publishNotReadyAddresses === true;
  // address key → address, ready flag, ports
  const byAddr = new Map<string, { addr: EndpointAddress; ready: boolean; ports: EndpointPort[] }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const addr = endpointAddressOf(pod, svc);
    if (!addr) continue;
    const ready = tolerateUnready || isPodReady(pod);
    const key = `${addr.ip}/${addr.targetRef?.uid ?? ''}`;
    const entry = byAddr.get(key) ?? { addr, ready, ports: [] };
    byAddr.set(key, entry);
    const ports = svc.spec?.ports ?? [];
    if (ports.length === 0) continue;
    for (const sp of ports) {
      const n = findPort(pod, sp);
      if (n === undefined) continue;
      entry.ports.push(endpointPortOf(sp, n));
    }
  }
  const headlessNoPorts = (svc.spec?.ports ?? []).length === 0;
  if (headlessNoPorts && isServiceIPSet(svc)) return [];
  // Group addresses by their exact port set.
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const { addr, ready, ports } of byAddr.values()) {
    if (!headlessNoPorts && ports.length === 0) continue;
    const sorted = [...ports].sort(comparePorts);
    const key = JSON.stringify(sorted);
    const g = groups.get(key) ?? { ports: sorted, ready: [], notReady: [] };
    groups.set(key, g);
    (ready ? g.ready : g.notReady).push(addr);
  }
  const subsets: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const s: EndpointSubset = {};
    if (g.ready.length > 0) s.addresses = g.ready.sort(compareAddresses);
    if (g.notReady.length > 0) s.notReadyAddresses = g.notReady.sort(compareAddresses);
    if (g.ports.length > 0) s.ports = g.ports;
    subsets.push(s);
  }
  return subsets.sort((a, b) => subsetKey(a).localeCompare(subsetKey(b)));
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port || (a.protocol ?? '').localeCompare(b.protocol ?? '');
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip.localeCompare(b.ip, 'en', { numeric: true }) || (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? '');
}

function subsetKey(s: EndpointSubset): string {
  return JSON.stringify(s.ports ?? []) + (s.addresses?.[0]?.ip ?? s.notReadyAddresses?.[0]?.ip ?? '');
}

/** truncateEndpoints: keep at most 1000 addresses, spread over subsets; true when anything was cut. */
export function truncateSubsets(subsets: EndpointSubset[]): boolean {
  let total = 0;
  for (const s of subsets) total += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (total <= maxEndpointsCapacity) return false;
  const ratio = maxEndpointsCapacity / total;
  let left = maxEndpointsCapacity;
  for (const [i, s] of subsets.entries()) {
    const n = (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
    const keep = i === subsets.length - 1 ? left : Math.min(left, Math.floor(n * ratio));
    left -= keep;
    const readyKeep = Math.min(keep, s.addresses?.length ?? 0);
    if (s.addresses) s.addresses = s.addresses.slice(0, readyKeep);
    if (s.notReadyAddresses) s.notReadyAddresses = s.notReadyAddresses.slice(0, keep - readyKeep);
  }
  return true;
}
