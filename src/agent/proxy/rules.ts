/**
 * Pure translation of Services + EndpointSlices into one `iptables-restore --noflush` batch, in the shape of
 * kube-proxy's iptables mode: a SERVICES dispatch chain, one SVC chain per service port (even random balancing
 * with `statistic --mode random --probability 1/n`), one SEP chain per endpoint (hairpin masquerade, DNAT),
 * EXT chains for NodePorts (externalTrafficPolicy), `recent` for ClientIP affinity, and a filter chain that
 * rejects service ports without endpoints. Every chain carries a dedicated prefix so that syncs and cleanup
 * never touch rules they did not write.
 */
import { createHash } from 'node:crypto';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';

/** Default chain prefix (kube-proxy uses KUBE-; a different one lets both coexist). */
export const defaultChainPrefix = 'SKIFF-';
/** Default fwmark bit that asks POSTROUTING to masquerade (kube-proxy uses 0x4000; this one avoids a clash). */
export const defaultMasqueradeBit = 0x10000;
/** The label that ties an EndpointSlice to its Service. */
export const serviceNameLabel = 'kubernetes.io/service-name';

/** Options of buildProxyRules. */
export interface ProxyRulesOptions {
  /** This node's name (local endpoints for externalTrafficPolicy/internalTrafficPolicy Local). */
  nodeName: string;
  /** Addresses on which NodePorts answer (the node's InternalIP). */
  nodeIPs: string[];
  /** The pod CIDR of the cluster: pod sources short-circuit Local policies, as in kube-proxy. */
  clusterCIDR?: string;
  /** Chain prefix (≤ 8 characters; default SKIFF-). */
  chainPrefix?: string;
  /** The masquerade mark bit (default 0x10000). */
  masqueradeBit?: number;
  /**
   * The cluster DNS address (`ip`, port 53 UDP/TCP) is redirected to this node's DNS server listening on all
   * addresses at `port`; other traffic to that port from outside the node is dropped.
   */
  localDns?: { ip: string; port: number };
}

/** One endpoint picked for a service port. */
export interface ProxyEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
  /** Ready, or serving while terminating (used only when nothing is ready). */
  ready: boolean;
}

/** The iptables text and what it contains (tests and the syncer read the chain lists). */
export interface ProxyRules {
  /** Lines for the nat table (without `*nat`/`COMMIT`). */
  nat: string[];
  /** Lines for the filter table. */
  filter: string[];
  /** Every chain declared in nat / filter. */
  natChains: Set<string>;
  filterChains: Set<string>;
  /** The nat rules of each chain, joined (partial syncs rewrite only the chains whose text changed). */
  natByChain: Map<string, string>;
  /** Number of service ports programmed. */
  servicePorts: number;
}

/** The chains the built-in chains jump to, and where from (programmed outside the batch, once). */
export function jumpRules(opts: Pick<ProxyRulesOptions, 'chainPrefix'> = {}): { table: 'nat' | 'filter'; chain: string; args: string[] }[] {
  const p = opts.chainPrefix ?? defaultChainPrefix;
  const c = (comment: string): string[] => ['-m', 'comment', '--comment', comment];
  return [
    { table: 'nat', chain: 'PREROUTING', args: [...c('skiff service portals'), '-j', `${p}SERVICES`] },
    { table: 'nat', chain: 'OUTPUT', args: [...c('skiff service portals'), '-j', `${p}SERVICES`] },
    { table: 'nat', chain: 'POSTROUTING', args: [...c('skiff postrouting rules'), '-j', `${p}POSTROUTING`] },
    { table: 'filter', chain: 'OUTPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', ...c('skiff service portals'), '-j', `${p}SERVICES`] },
    { table: 'filter', chain: 'FORWARD', args: ['-m', 'conntrack', '--ctstate', 'NEW', ...c('skiff service portals'), '-j', `${p}SERVICES`] },
    { table: 'filter', chain: 'INPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', ...c('skiff service portals'), '-j', `${p}SERVICES`] },
  ];
}

// Hashing dominates rule generation at scale; names never change for an identity, so they are memoised (bounded).
const nameCache = new Map<string, string>();

/** A stable chain name (kube-proxy: sha256 of the port's identity, base32, truncated to fit 28 characters). */
export function chainName(prefix: string, kind: string, identity: string): string {
  const key = `${prefix}\0${kind}\0${identity}`;
  const hit = nameCache.get(key);
  if (hit) return hit;
  const room = 28 - prefix.length - kind.length - 1;
  const hash = base32(createHash('sha256').update(identity).digest()).slice(0, Math.min(16, room));
  const name = `${prefix}${kind}-${hash}`;
  if (nameCache.size > 200_000) nameCache.clear();
  nameCache.set(key, name);
  return name;
}

function base32(buf: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The endpoints of one service port from its slices: ready ones, else serving+terminating ones (KEP-1669). */
export function endpointsForPort(slices: EndpointSlice[], port: ServicePort): ProxyEndpoint[] {
  const byKey = new Map<string, ProxyEndpoint>();
  const proto = port.protocol ?? 'TCP';
  for (const s of slices) {
    if (s.addressType !== 'IPv4') continue;
    const sp = (s.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === proto);
    if (!sp || sp.port === undefined || sp.port === null) continue;
    for (const ep of s.endpoints) {
      const ready = ep.conditions?.ready !== false;
      const serving = ep.conditions?.serving ?? ready;
      if (!ready && !serving) continue;
      const ip = ep.addresses[0];
      if (!ip) continue;
      const key = `${ip}:${sp.port}`;
      const prev = byKey.get(key);
      if (prev && prev.ready) continue;
      byKey.set(key, { ip, port: sp.port, ready, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}) });
    }
  }
  // Numeric keys computed once: comparing dotted strings inside the sort dominated large syncs.
  const all = [...byKey.values()].map((e) => ({ e, k: ipNumber(e.ip) })).sort((a, b) => a.k - b.k || (a.e.ip < b.e.ip ? -1 : a.e.ip > b.e.ip ? 1 : 0) || a.e.port - b.e.port).map((x) => x.e);
  const ready = all.filter((e) => e.ready);
  return ready.length > 0 ? ready : all;
}

function ipNumber(ip: string): number {
  let n = 0;
  let part = 0;
  let parts = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + part;
      part = 0;
      parts++;
    } else if (c >= 48 && c <= 57) part = part * 10 + (c - 48);
    else return Number.MAX_SAFE_INTEGER; // not dotted IPv4: after every address
  }
  return parts === 3 ? n * 256 + part : Number.MAX_SAFE_INTEGER;
}

function isIPv4(ip: string | undefined): ip is string {
  return !!ip && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
}

/** Builds the nat and filter rules for the given services and slices (deterministic: same input, same text). */
export function buildProxyRules(services: Service[], slices: EndpointSlice[], opts: ProxyRulesOptions): ProxyRules {
  const p = opts.chainPrefix ?? defaultChainPrefix;
  const bit = `0x${(opts.masqueradeBit ?? defaultMasqueradeBit).toString(16)}`;
  const SERVICES = `${p}SERVICES`;
  const NODEPORTS = `${p}NODEPORTS`;
  const POST = `${p}POSTROUTING`;
  const MASQ = `${p}MARK-MASQ`;
  const natChains = new Set([SERVICES, NODEPORTS, POST, MASQ]);
  const filterChains = new Set([SERVICES]);
  const natRules: string[] = [];
  const nodePortRules: string[] = [];
  const filterRules: string[] = [];
  const perChain: string[] = [];
  let servicePorts = 0;

  const slicesBySvc = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[serviceNameLabel];
    if (!svc) continue;
    const key = `${s.metadata?.namespace ?? ''}/${svc}`;
    let list = slicesBySvc.get(key);
    if (!list) slicesBySvc.set(key, (list = []));
    list.push(s);
  }

  const sorted = [...services].sort((a, b) => svcKey(a).localeCompare(svcKey(b)));
  for (const svc of sorted) {
    const spec = svc.spec;
    if (!spec || spec.type === 'ExternalName') continue;
    const clusterIP = spec.clusterIP;
    if (!isIPv4(clusterIP)) continue; // headless ("None") and dual-stack-only IPv6 services have no portal
    const key = svcKey(svc);
    const svcSlices = slicesBySvc.get(key) ?? [];
    const affinity = spec.sessionAffinity === 'ClientIP';
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800;
    for (const port of spec.ports ?? []) {
      const proto = (port.protocol ?? 'TCP').toLowerCase();
      if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') continue;
      servicePorts++;
      const id = `${key}:${port.name ?? ''}`;
      const comment = `"${id}"`;
      const eps = endpointsForPort(svcSlices, port);
      const svcChain = chainName(p, 'SVC', `${id}/${proto}`);
      const dst = `-d ${clusterIP}/32 -p ${proto} -m ${proto} --dport ${port.port}`;
      const localEps = eps.filter((e) => e.nodeName === opts.nodeName);
      const internalLocal = spec.internalTrafficPolicy === 'Local';
      const clusterEps = internalLocal ? localEps : eps;
      const epChains = new Map<ProxyEndpoint, string>();
      for (const e of eps) epChains.set(e, chainName(p, 'SEP', `${id}/${proto}/${e.ip}:${e.port}`));

      if (clusterEps.length === 0) {
        // kube-proxy: a service port without endpoints is rejected in the filter table, so clients fail fast.
        filterRules.push(`-A ${SERVICES} -m comment --comment ${q(`${id} has no endpoints`)} ${dst} -j REJECT --reject-with icmp-port-unreachable`);
      } else {
        natChains.add(svcChain);
        natRules.push(`-A ${SERVICES} -m comment --comment ${q(`${id} cluster IP`)} ${dst} -j ${svcChain}`);
        perChain.push(`:${svcChain} - [0:0]`);
        perChain.push(...balance(svcChain, clusterEps, epChains, comment, affinity, timeout));
      }

      const nodePort = port.nodePort;
      const hasNodePort = (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && typeof nodePort === 'number' && nodePort > 0;
      if (hasNodePort) {
        const extChain = chainName(p, 'EXT', `${id}/${proto}`);
        const extLocal = spec.externalTrafficPolicy === 'Local';
        const targets = extLocal ? localEps : eps;
        if (targets.length === 0 && !(extLocal && opts.clusterCIDR && eps.length > 0)) {
          filterRules.push(`-A ${SERVICES} -m comment --comment ${q(`${id} has no ${extLocal ? 'local ' : ''}endpoints`)} -m addrtype --dst-type LOCAL -p ${proto} -m ${proto} --dport ${nodePort} -j REJECT --reject-with icmp-port-unreachable`);
        } else {
          natChains.add(extChain);
          perChain.push(`:${extChain} - [0:0]`);
          if (extLocal) {
            // Pods reaching a Local NodePort are treated as cluster traffic (kube-proxy's short-circuit).
            if (opts.clusterCIDR && clusterEps.length > 0) perChain.push(`-A ${extChain} -m comment --comment ${q('pod traffic for ' + id + ' external destinations')} -s ${opts.clusterCIDR} -j ${svcChain}`);
            if (localEps.length === 0) {
              perChain.push(`-A ${extChain} -m comment --comment ${q(`${id} has no local endpoints`)} -j DROP`);
            } else {
              perChain.push(...balance(extChain, localEps, epChains, comment, affinity, timeout));
            }
          } else {
            // Cluster policy: the source is rewritten so that replies come back through this node.
            perChain.push(`-A ${extChain} -m comment --comment ${q(`masquerade traffic for ${id} external destinations`)} -j ${MASQ}`);
            if (clusterEps.length > 0 && !internalLocal) perChain.push(`-A ${extChain} -j ${svcChain}`);
            else perChain.push(...balance(extChain, eps, epChains, comment, affinity, timeout));
          }
          for (const ip of opts.nodeIPs) {
            nodePortRules.push(`-A ${NODEPORTS} -m comment --comment ${q(id)} -d ${ip}/32 -p ${proto} -m ${proto} --dport ${nodePort} -j ${extChain}`);
          }
        }
      }

      for (const [e, sep] of epChains) {
        if (!clusterEps.includes(e) && !(hasNodePort && (spec.externalTrafficPolicy === 'Local' ? localEps : eps).includes(e))) continue;
        natChains.add(sep);
        perChain.push(`:${sep} - [0:0]`);
        // Hairpin: a pod reaching its own service must see the reply come from the service, so its source is rewritten.
        perChain.push(`-A ${sep} -m comment --comment ${comment} -s ${e.ip}/32 -j ${MASQ}`);
        const recent = affinity ? ` -m recent --name ${sep} --set` : '';
        perChain.push(`-A ${sep} -m comment --comment ${comment} -p ${proto}${recent} -m ${proto} -j DNAT --to-destination ${e.ip}:${e.port}`);
      }
    }
  }

  const dns = opts.localDns;
  if (dns) {
    // Redirected to the address of the interface the query came in on, where the DNS server listens (all addresses).
    natRules.unshift(...['udp', 'tcp'].map((pr) => `-A ${SERVICES} -m comment --comment ${q('cluster dns')} -d ${dns.ip}/32 -p ${pr} -m ${pr} --dport 53 -j REDIRECT --to-ports ${dns.port}`));
    filterRules.unshift(...['udp', 'tcp'].map((pr) => `-A ${SERVICES} -m comment --comment ${q('cluster dns only through its address')} ! -i lo -p ${pr} -m ${pr} --dport ${dns.port} -m conntrack ! --ctstate DNAT -j DROP`));
  }
  // iptables-restore wants every chain declared before a rule jumps to it.
  const nat: string[] = [
    `:${SERVICES} - [0:0]`,
    `:${NODEPORTS} - [0:0]`,
    `:${POST} - [0:0]`,
    `:${MASQ} - [0:0]`,
    ...perChain.filter((l) => l.startsWith(':')),
    `-A ${POST} -m mark ! --mark ${bit}/${bit} -j RETURN`,
    // The mark is cleared so that a packet re-traversing the chains is not masqueraded twice.
    `-A ${POST} -j MARK --xor-mark ${bit}`,
    `-A ${POST} -m comment --comment ${q('skiff service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
    `-A ${MASQ} -j MARK --or-mark ${bit}`,
    ...natRules,
    ...opts.nodeIPs.map((ip) => `-A ${SERVICES} -m comment --comment ${q('skiff service nodeports')} -d ${ip}/32 -j ${NODEPORTS}`),
    ...nodePortRules,
    ...perChain.filter((l) => !l.startsWith(':')),
  ];
  const filter: string[] = [`:${SERVICES} - [0:0]`, ...filterRules];
  const natByChain = new Map<string, string>();
  for (const c of natChains) natByChain.set(c, '');
  for (const l of nat) {
    if (!l.startsWith('-A ')) continue;
    const c = l.slice(3, l.indexOf(' ', 3));
    natByChain.set(c, natByChain.get(c) + l + '\n');
  }
  return { nat, filter, natChains, filterChains, natByChain, servicePorts };
}

function balance(chain: string, eps: ProxyEndpoint[], epChains: Map<ProxyEndpoint, string>, comment: string, affinity: boolean, timeout: number): string[] {
  const out: string[] = [];
  if (affinity) {
    for (const e of eps) {
      const sep = epChains.get(e)!;
      out.push(`-A ${chain} -m comment --comment ${comment} -m recent --name ${sep} --rcheck --seconds ${timeout} --reap -j ${sep}`);
    }
  }
  const n = eps.length;
  eps.forEach((e, i) => {
    const sep = epChains.get(e)!;
    // 1/(n-i) for the i-th rule gives every endpoint the same 1/n share overall.
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
    out.push(`-A ${chain} -m comment --comment ${comment}${stat} -j ${sep}`);
  });
  return out;
}

/** kube-proxy's formatting of 1/n: ten decimals. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

function svcKey(s: Service): string {
  return `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
}

function q(s: string): string {
  return `"${s.replace(/"/g, '')}"`;
}

/**
 * The `iptables-restore --noflush` input: the given tables, plus the deletion of chains no longer used. With
 * `previous` (the rules of the last successful sync), nat chains whose rules did not change are left out: with
 * --noflush, chains not named in the batch stay as they are (kube-proxy's partial sync).
 */
export function renderRestore(rules: ProxyRules, stale: { nat?: Iterable<string>; filter?: Iterable<string> } = {}, opts: { previous?: ProxyRules } = {}): string {
  const out: string[] = ['*filter', ...rules.filter];
  for (const c of stale.filter ?? []) if (!rules.filterChains.has(c)) out.push(`:${c} - [0:0]`);
  for (const c of stale.filter ?? []) if (!rules.filterChains.has(c)) out.push(`-X ${c}`);
  out.push('COMMIT', '*nat');
  const prev = opts.previous?.natByChain;
  if (!prev) out.push(...rules.nat);
  else {
    const changed = [...rules.natByChain].filter(([c, text]) => prev.get(c) !== text);
    for (const [c] of changed) out.push(`:${c} - [0:0]`);
    for (const [, text] of changed) if (text) out.push(text.slice(0, -1));
  }
  // Stale chains are declared (which flushes them) before being deleted, in the same transaction.
  const staleNat = [...(stale.nat ?? [])].filter((c) => !rules.natChains.has(c));
  for (const c of staleNat) out.push(`:${c} - [0:0]`);
  for (const c of staleNat) out.push(`-X ${c}`);
  out.push('COMMIT', '');
  return out.join('\n');
}
