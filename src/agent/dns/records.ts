/**
 * Cluster DNS records, following the Kubernetes DNS specification (as CoreDNS's kubernetes plugin serves it):
 * `<svc>.<ns>.svc.<zone>` A (ClusterIP, or the ready endpoint IPs of a headless service), `<host>.<svc>.<ns>.svc`
 * for endpoints with a hostname (pod hostname/subdomain), `_<port>._<proto>.<svc>.<ns>.svc` SRV for named ports,
 * ExternalName as CNAME, `a-b-c-d.<ns>.pod.<zone>` pod records, NXDOMAIN (with the zone's SOA) for the rest.
 * Pure: reads the cluster through `ClusterView`, so tests and the server share it.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Answer, SoaAnswer } from 'dns-packet';

/** What the resolver reads (informer listers in the server). */
export interface ClusterView {
  service(namespace: string, name: string): Service | undefined;
  /** The EndpointSlices labelled with the service's name. */
  slices(namespace: string, service: string): EndpointSlice[];
  /** True if the namespace exists (NXDOMAIN vs NODATA is not distinguished by it; kept for `<ns>.svc` queries). */
  namespaceExists?(namespace: string): boolean;
  /**
   * A number that changes whenever anything the view answers from changes. When given, the server caches
   * answers and drops the cache as soon as it changes; without it, every query is resolved afresh.
   */
  version?(): number;
}

/** The outcome of resolving one question in the cluster zone. */
export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  additionals: Answer[];
  authorities: Answer[];
}

/** Options of the resolver. */
export interface ZoneOptions {
  /** The cluster domain (default cluster.local). */
  zone?: string;
  /** Record TTL in seconds (default 5, CoreDNS's kubernetes plugin default). */
  ttl?: number;
}

/** The SOA of the cluster zone (served in the authority section of negative answers). */
export function soaRecord(zone: string, ttl: number): SoaAnswer {
  return {
    name: zone,
    type: 'SOA',
    ttl,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

/** True if `name` is in the cluster zone (case-insensitive, trailing dot ignored). */
export function inZone(name: string, zone = 'cluster.local'): boolean {
  const n = normalize(name);
  return n === zone || n.endsWith(`.${zone}`);
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

interface Endpoint {
  ip: string;
  hostname?: string;
}

function readyEndpoints(slices: EndpointSlice[]): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const s of slices) {
    if (s.addressType !== 'IPv4') continue;
    for (const ep of s.endpoints) {
      // Headless records list ready endpoints only (publishNotReadyAddresses makes the controller mark them ready).
      if (ep.conditions?.ready === false) continue;
      for (const ip of ep.addresses) if (!seen.has(ip)) seen.set(ip, { ip, ...(ep.hostname ? { hostname: ep.hostname } : {}) });
    }
  }
  return [...seen.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

/** Resolves one question in the cluster zone. `type` is the question's record type (A, AAAA, SRV, CNAME, ANY…). */
export function resolveInZone(name: string, type: string, view: ClusterView, opts: ZoneOptions = {}): ZoneAnswer {
  const zone = opts.zone ?? 'cluster.local';
  const ttl = opts.ttl ?? 5;
  const qname = normalize(name);
  const out: ZoneAnswer = { rcode: 'NOERROR', answers: [], additionals: [], authorities: [] };
  const nx = (): ZoneAnswer => ({ rcode: 'NXDOMAIN', answers: [], additionals: [], authorities: [soaRecord(zone, ttl)] });
  const nodata = (): ZoneAnswer => ({ ...out, authorities: [soaRecord(zone, ttl)] });
  const wantA = type === 'A' || type === 'ANY';
  const labels = qname === zone ? [] : qname.slice(0, -(zone.length + 1)).split('.');

  if (labels.length === 0) {
    if (type === 'SOA' || type === 'ANY') out.answers.push(soaRecord(zone, ttl));
    return out.answers.length ? out : nodata();
  }
  const kind = labels[labels.length - 1];
  if (kind === 'pod' && labels.length === 3) {
    // a-b-c-d.<ns>.pod.<zone>: the address spelled in the name ("pods insecure" mode of CoreDNS).
    const ip = labels[0]!.replace(/-/g, '.');
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255)) return nx();
    if (wantA) out.answers.push({ name: qname, type: 'A', ttl, data: ip });
    return out.answers.length ? out : nodata();
  }
  if (kind === 'pod') return labels.length <= 2 ? nodata() : nx();
  if (kind !== 'svc') return nx();
  // labels: [..., svc, ns, 'svc']
  if (labels.length < 3) return labels.length === 2 && view.namespaceExists?.(labels[0]!) ? nodata() : nx();
  const ns = labels[labels.length - 2]!;
  const svcName = labels[labels.length - 3]!;
  const svc = view.service(ns, svcName);
  if (!svc) return nx();
  const svcFqdn = `${svcName}.${ns}.svc.${zone}`;
  const rest = labels.slice(0, -3);

  if (rest.length === 0) {
    if (svc.spec?.type === 'ExternalName') {
      const target = normalize(svc.spec.externalName ?? '');
      if (!target) return nx();
      out.answers.push({ name: qname, type: 'CNAME', ttl, data: target });
      return out;
    }
    if (wantA) {
      if (isHeadless(svc)) {
        for (const ep of readyEndpoints(view.slices(ns, svcName))) out.answers.push({ name: qname, type: 'A', ttl, data: ep.ip });
      } else {
        const ip = svc.spec?.clusterIP;
        if (ip && /^\d/.test(ip)) out.answers.push({ name: qname, type: 'A', ttl, data: ip });
      }
    }
    if (type === 'SRV' || type === 'ANY') srvFor(svc, svcFqdn, qname, undefined, view, ttl, out);
    return out.answers.length ? out : nodata();
  }

  if (rest.length === 2 && rest[0]!.startsWith('_') && rest[1]!.startsWith('_')) {
    // _<port>._<proto>.<svc>.<ns>.svc
    const portName = rest[0]!.slice(1);
    const proto = rest[1]!.slice(1).toUpperCase();
    const port = (svc.spec?.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === proto);
    if (!port || svc.spec?.type === 'ExternalName') return nx();
    if (type === 'SRV' || type === 'ANY') srvFor(svc, svcFqdn, qname, port.name ?? '', view, ttl, out);
    return out.answers.length ? out : nodata();
  }

  if (rest.length === 1 && isHeadless(svc)) {
    // <hostname>.<svc>.<ns>.svc: an endpoint with that hostname, or with the address spelled with dashes.
    const host = rest[0]!;
    const ep = readyEndpoints(view.slices(ns, svcName)).find((e) => (e.hostname ?? e.ip.replace(/\./g, '-')) === host);
    if (!ep) return nx();
    if (wantA) out.answers.push({ name: qname, type: 'A', ttl, data: ep.ip });
    return out.answers.length ? out : nodata();
  }
  return nx();
}

function srvFor(svc: Service, svcFqdn: string, qname: string, portName: string | undefined, view: ClusterView, ttl: number, out: ZoneAnswer): void {
  const ports = (svc.spec?.ports ?? []).filter((p) => (portName === undefined ? !!p.name : (p.name ?? '') === portName));
  if (isHeadless(svc)) {
    const slices = view.slices(svc.metadata?.namespace ?? '', svc.metadata?.name ?? '');
    for (const p of ports) {
      for (const s of slices) {
        const sp = (s.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? ''));
        if (!sp?.port) continue;
        for (const ep of s.endpoints) {
          if (ep.conditions?.ready === false) continue;
          const ip = ep.addresses[0];
          if (!ip) continue;
          const target = `${ep.hostname ?? ip.replace(/\./g, '-')}.${svcFqdn}`;
          out.answers.push({ name: qname, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: sp.port, target } });
          out.additionals.push({ name: target, type: 'A', ttl, data: ip });
        }
      }
    }
    return;
  }
  const ip = svc.spec?.clusterIP;
  for (const p of ports) {
    out.answers.push({ name: qname, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: p.port, target: svcFqdn } });
  }
  if (ports.length > 0 && ip && /^\d/.test(ip)) out.additionals.push({ name: svcFqdn, type: 'A', ttl, data: ip });
}
