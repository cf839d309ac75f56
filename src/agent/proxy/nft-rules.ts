/**
 * Pure translation of Services + EndpointSlices into one nftables table, in the shape of kube-proxy's nftables
 * mode but with the common case kept out of the chain graph: a service port without ClientIP affinity or Local
 * traffic policies is one element of the `service-ips` verdict map (to a shared `lb-<proto>-<n>` chain) plus n
 * elements of the `service-endpoints-<proto>` map, which `lb-<proto>-<n>` reads with `numgen random mod n`. So a full sync of thousands
 * of services is a few dozen chains and large element lists, which the kernel loads in one cheap transaction.
 * Service ports with affinity or Local policies get kube-proxy's per-service and per-endpoint chains.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { chainName, defaultMasqueradeBit, endpointsForPort, serviceNameLabel } from './rules.ts';
import type { ProxyEndpoint, ProxyRulesOptions } from './rules.ts';

/** Default nftables table (family ip) of the proxy. */
export const defaultNftTable = 'skiff';

/** One chain: an optional base-chain spec (hook, priority) and its rules. */
export interface NftChain {
  spec?: string;
  rules: string[];
}

/** A set or map: its declaration and static elements (key → value; '' for sets). */
export interface NftSet {
  kind: 'set' | 'map';
  spec: string;
  elements: Map<string, string>;
  /** Dynamic state (affinity): declared but never flushed, so that it survives syncs. */
  dynamic?: boolean;
}

/** The desired content of the proxy's table. */
export interface NftRuleset {
  table: string;
  chains: Map<string, NftChain>;
  sets: Map<string, NftSet>;
  servicePorts: number;
}

/** Options of buildNftRules. */
export interface NftRulesOptions extends ProxyRulesOptions {
  /** Table name (default skiff). */
  table?: string;
}

const proto4 = (p: string): string => p.toLowerCase();
const protocols = ['tcp', 'udp', 'sctp'] as const;

/** Builds the proxy's nftables table for the given services and slices (deterministic). */
export function buildNftRules(services: Service[], slices: EndpointSlice[], opts: NftRulesOptions): NftRuleset {
  const table = opts.table ?? defaultNftTable;
  const bit = `0x${(opts.masqueradeBit ?? defaultMasqueradeBit).toString(16)}`;
  const chains = new Map<string, NftChain>();
  const sets = new Map<string, NftSet>();
  const chain = (name: string, rules: string[] = [], spec?: string): string[] => {
    chains.set(name, { rules, ...(spec ? { spec } : {}) });
    return rules;
  };
  const set = (name: string, kind: 'set' | 'map', spec: string, dynamic = false): Map<string, string> => {
    const elements = new Map<string, string>();
    sets.set(name, { kind, spec, elements, ...(dynamic ? { dynamic } : {}) });
    return elements;
  };
  set('service-ips', 'map', 'type ipv4_addr . inet_proto . inet_service : verdict ;');
  set('service-nodeports', 'map', 'type inet_proto . inet_service : verdict ;');
  // One endpoint map per protocol: the protocol is then not part of every element (nft's cost grows with each
  // component of each element). typeof (not type) because the key ends in numgen's integer.
  for (const p of protocols) set(`service-endpoints-${p}`, 'map', `typeof ip daddr . ${p} dport . numgen random mod 1 : ip daddr . ${p} dport ;`);
  set('no-endpoint-services', 'map', 'type ipv4_addr . inet_proto . inet_service : verdict ;');
  set('no-endpoint-nodeports', 'map', 'type inet_proto . inet_service : verdict ;');
  const nodePortIPs = set('nodeport-ips', 'set', 'type ipv4_addr ;');
  set('hairpin', 'set', 'type ipv4_addr . ipv4_addr ;');
  for (const ip of opts.nodeIPs) nodePortIPs.set(ip, '');

  chain('nat-prerouting', ['jump services'], 'type nat hook prerouting priority -100 ; policy accept ;');
  chain('nat-output', ['jump services'], 'type nat hook output priority -100 ; policy accept ;');
  chain('nat-postrouting', ['jump masquerading'], 'type nat hook postrouting priority 100 ; policy accept ;');
  // Before DNAT on output (-110 < -100, the dstnat priority), so that a ClusterIP without endpoints is still seen as such.
  const input = chain('filter-input', ['ct state new jump service-endpoints-check'], 'type filter hook input priority -110 ; policy accept ;');
  chain('filter-forward', ['ct state new jump service-endpoints-check'], 'type filter hook forward priority -110 ; policy accept ;');
  chain('filter-output', ['ct state new jump service-endpoints-check'], 'type filter hook output priority -110 ; policy accept ;');
  chain('service-endpoints-check', [
    'ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
    'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports',
  ]);
  chain('reject-chain', ['reject']);
  chain('mark-for-masquerade', [`meta mark set meta mark or ${bit}`]);
  chain('masquerading', [
    // Hairpin: a pod reaching its own service must see the reply come from the service address.
    'ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random',
    `meta mark & ${bit} == 0 return`,
    // The mark is cleared so that a packet re-traversing the chains is not masqueraded twice.
    `meta mark set meta mark xor ${bit}`,
    'masquerade fully-random',
  ]);
  const svcRules = chain('services');
  if (opts.localDns) {
    const { ip, port } = opts.localDns;
    // The cluster DNS address answers from this node's DNS server (node-local, like NodeLocal DNSCache).
    svcRules.push(`ip daddr ${ip} meta l4proto { tcp, udp } th dport 53 redirect to :${port}`);
    // Only redirected (or local) queries reach the server: it is no resolver for the node's other networks.
    input.unshift(`iifname != "lo" meta l4proto { tcp, udp } th dport ${port} ct status & dnat == 0 drop`);
  }
  svcRules.push('ip daddr . meta l4proto . th dport vmap @service-ips', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports');

  // `<proto>-<n>`: the shared chains for n endpoints of one protocol.
  const lbChains = new Set<string>();
  const extChains = new Set<string>();
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
  // Everything the fragments read from the options (the table, mark bit and DNS redirect are not in them).
  const optsKey = `${opts.nodeName}\0${opts.nodeIPs.join(',')}\0${opts.clusterCIDR ?? ''}`;
  for (const svc of services) {
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const frag = serviceFragment(svc, key, slicesBySvc.get(key) ?? [], opts, optsKey);
    if (!frag) continue;
    servicePorts += frag.servicePorts;
    const els = frag.elements;
    for (let i = 0; i < els.length; i += 3) sets.get(els[i]!)!.elements.set(els[i + 1]!, els[i + 2]!);
    for (const [name, c] of frag.chains) chains.set(name, c);
    for (const [name, spec] of frag.dynamicSets) set(name, 'set', spec, true);
    for (const n of frag.lb) lbChains.add(n);
    for (const n of frag.ext) extChains.add(n);
  }
  for (const pn of sortLb(lbChains)) {
    const [p, n] = pn.split('-');
    chain(`lb-${pn}`, [`meta l4proto ${p} dnat ip to ip daddr . ${p} dport . numgen random mod ${n} map @service-endpoints-${p}`]);
  }
  for (const pn of sortLb(extChains)) chain(`ext-${pn}`, ['jump mark-for-masquerade', `goto lb-${pn}`]);
  return { table, chains, sets, servicePorts };
}

function sortLb(names: Set<string>): string[] {
  const key = (pn: string): [string, number] => {
    const [p, n] = pn.split('-');
    return [p!, Number(n)];
  };
  return [...names].sort((a, b) => {
    const [pa, na] = key(a);
    const [pb, nb] = key(b);
    return pa < pb ? -1 : pa > pb ? 1 : na - nb;
  });
}

/** What one Service contributes to the table; kept per Service object (informer objects are replaced, never changed). */
interface ServiceFragment {
  servicePorts: number;
  /** set name, key, value, … */
  elements: string[];
  chains: [string, NftChain][];
  dynamicSets: [string, string][];
  /** `<proto>-<n>` of the shared lb and ext chains used. */
  lb: string[];
  ext: string[];
}

const fragments = new WeakMap<Service, { slices: EndpointSlice[]; optsKey: string; frag: ServiceFragment | undefined }>();

/** The Service's fragment, recomputed only when the Service, its slices or the node's options changed. */
function serviceFragment(svc: Service, key: string, svcSlices: EndpointSlice[], opts: NftRulesOptions, optsKey: string): ServiceFragment | undefined {
  const hit = fragments.get(svc);
  if (hit && hit.optsKey === optsKey && hit.slices.length === svcSlices.length && hit.slices.every((s, i) => s === svcSlices[i])) return hit.frag;
  const frag = computeFragment(svc, key, svcSlices, opts);
  fragments.set(svc, { slices: svcSlices, optsKey, frag });
  return frag;
}

function computeFragment(svc: Service, key: string, svcSlices: EndpointSlice[], opts: NftRulesOptions): ServiceFragment | undefined {
  const frag: ServiceFragment = { servicePorts: 0, elements: [], chains: [], dynamicSets: [], lb: [], ext: [] };
  const el = (set: string, k: string, v: string): void => {
    frag.elements.push(set, k, v);
  };
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return undefined;
  const clusterIP = spec.clusterIP;
  if (!clusterIP || !/^\d{1,3}(\.\d{1,3}){3}$/.test(clusterIP)) return undefined;
  const affinity = spec.sessionAffinity === 'ClientIP';
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800;
  const internalLocal = spec.internalTrafficPolicy === 'Local';
  const extLocal = spec.externalTrafficPolicy === 'Local';
  for (const port of spec.ports ?? []) {
    const proto = proto4(port.protocol ?? 'TCP');
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') continue;
    frag.servicePorts++;
    const id = `${key}:${port.name ?? ''}/${proto}`;
    const eps = endpointsForPort(svcSlices, port);
    const localEps = eps.filter((e) => e.nodeName === opts.nodeName);
    const clusterEps = internalLocal ? localEps : eps;
    const portalKey = `${clusterIP} . ${proto} . ${port.port}`;
    const nodePort = (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && typeof port.nodePort === 'number' && port.nodePort > 0 ? port.nodePort : undefined;
    const npKey = nodePort !== undefined ? `${proto} . ${nodePort}` : undefined;
    const extTargets = extLocal ? localEps : eps;

    if (!affinity && !internalLocal && !extLocal) {
      // The common case: elements only.
      const n = eps.length;
      if (n === 0) {
        el('no-endpoint-services', portalKey, 'goto reject-chain');
        if (npKey) el('no-endpoint-nodeports', npKey, 'goto reject-chain');
        continue;
      }
      frag.lb.push(`${proto}-${n}`);
      el('service-ips', portalKey, `goto lb-${proto}-${n}`);
      eps.forEach((e, i) => {
        el(`service-endpoints-${proto}`, `${clusterIP} . ${port.port} . ${i}`, `${e.ip} . ${e.port}`);
        // Only a pod of this node can reach itself through this node's rules: other endpoints never hairpin here.
        if (e.nodeName === undefined || e.nodeName === opts.nodeName) el('hairpin', `${e.ip} . ${e.ip}`, '');
      });
      if (npKey && nodePort !== undefined) {
        frag.ext.push(`${proto}-${n}`);
        el('service-nodeports', npKey, `goto ext-${proto}-${n}`);
        for (const ip of opts.nodeIPs) eps.forEach((e, i) => el(`service-endpoints-${proto}`, `${ip} . ${nodePort} . ${i}`, `${e.ip} . ${e.port}`));
      }
      continue;
    }

    // Affinity or Local policies: kube-proxy's chains for this service port.
    const svcChain = chainName('', 'svc', id);
    const epChains = new Map<ProxyEndpoint, string>();
    const used = new Set<ProxyEndpoint>();
    const affSets = new Map<ProxyEndpoint, string>();
    for (const e of eps) {
      epChains.set(e, chainName('', 'ep', `${id}/${e.ip}:${e.port}`));
      // The timeout is part of the name: a set's declaration never changes, so it is never re-created in place.
      if (affinity) affSets.set(e, chainName('', 'aff', `${id}/${e.ip}:${e.port}/${timeout}`));
    }
    const balance = (targets: ProxyEndpoint[]): string[] => {
      const out: string[] = [];
      for (const e of targets) used.add(e);
      if (affinity) for (const e of targets) out.push(`ip saddr @${affSets.get(e)!} goto ${epChains.get(e)!}`);
      out.push(`numgen random mod ${targets.length} vmap { ${targets.map((e, i) => `${i} : goto ${epChains.get(e)!}`).join(', ')} }`);
      return out;
    };
    if (clusterEps.length === 0) el('no-endpoint-services', portalKey, 'goto reject-chain');
    else {
      frag.chains.push([svcChain, { rules: balance(clusterEps) }]);
      el('service-ips', portalKey, `goto ${svcChain}`);
    }
    if (npKey) {
      const extChain = chainName('', 'ext', id);
      const rules: string[] = [];
      if (extLocal) {
        // Pods reaching a Local NodePort are treated as cluster traffic (kube-proxy's short-circuit).
        if (opts.clusterCIDR && clusterEps.length > 0) rules.push(`ip saddr ${opts.clusterCIDR} goto ${svcChain}`);
        if (localEps.length === 0) rules.push('drop');
        else rules.push(...balance(localEps));
      } else {
        rules.push('jump mark-for-masquerade');
        if (clusterEps.length > 0 && !internalLocal) rules.push(`goto ${svcChain}`);
        else if (extTargets.length > 0) rules.push(...balance(extTargets));
      }
      if (extTargets.length === 0 && !(extLocal && opts.clusterCIDR && clusterEps.length > 0)) el('no-endpoint-nodeports', npKey, 'goto reject-chain');
      else {
        frag.chains.push([extChain, { rules }]);
        el('service-nodeports', npKey, `goto ${extChain}`);
      }
    }
    for (const e of used) {
      const ep = epChains.get(e)!;
      const rules = [`ip saddr ${e.ip} jump mark-for-masquerade`];
      const aff = affSets.get(e);
      if (aff) {
        frag.dynamicSets.push([aff, `type ipv4_addr ; flags dynamic,timeout ; timeout ${timeout}s ;`]);
        rules.push(`update @${aff} { ip saddr }`);
      }
      rules.push(`meta l4proto ${proto} dnat ip to ${e.ip}:${e.port}`);
      frag.chains.push([ep, { rules }]);
    }
  }
  return frag;
}

/** Names of the chains and sets/maps in nft list output; with `table`, only those of `table ip <table>`. */
export function parseNftNames(listing: string, opts: { table?: string } = {}): NftNames {
  const chains = new Set<string>();
  const sets = new Map<string, 'set' | 'map'>();
  let inTable = opts.table === undefined;
  for (const line of listing.split('\n')) {
    const t = /^table\s+(\S+)\s+(\S+)\s*\{/.exec(line);
    if (t) {
      inTable = opts.table === undefined || (t[1] === 'ip' && t[2] === opts.table);
      continue;
    }
    if (!inTable) continue;
    const m = /^\s*(chain|set|map)\s+(\S+)\s*\{/.exec(line);
    if (!m) continue;
    if (m[1] === 'chain') chains.add(m[2]!);
    else sets.set(m[2]!, m[1] as 'set' | 'map');
  }
  return { chains, sets };
}

/** The chains and sets/maps (with their kind) present in a table. */
export interface NftNames {
  chains: Set<string>;
  sets: Map<string, 'set' | 'map'>;
}

/**
 * The `nft -f` batch (one transaction) that turns the table into `rules`. Without `previous` every chain and map
 * is rewritten (flush, then content); with it only changed chains are rewritten and maps get element-level
 * additions and deletions. Objects in `existing` (or `previous`) that are no longer wanted are deleted, after
 * everything that referenced them was flushed. Affinity sets are never flushed.
 */
export function renderNft(rules: NftRuleset, opts: { previous?: NftRuleset; existing?: NftNames } = {}): string {
  const t = `ip ${rules.table}`;
  const prev = opts.previous;
  const out: string[] = [`add table ${t}`];
  const flushes: string[] = [];
  const body: string[] = [];
  const deletes: string[] = [];
  const adds: string[] = [];
  for (const [name, s] of rules.sets) {
    const old = prev?.sets.get(name);
    if (!old) {
      out.push(`add ${s.kind} ${t} ${name} { ${s.spec} }`);
      if (!s.dynamic && !prev) flushes.push(`flush ${s.kind} ${t} ${name}`);
      if (s.elements.size) adds.push(`add element ${t} ${name} { ${elementList(s)} }`);
      continue;
    }
    const gone: string[] = [];
    const added: string[] = [];
    for (const [k, v] of old.elements) if (s.elements.get(k) !== v) gone.push(k);
    for (const [k, v] of s.elements) if (old.elements.get(k) !== v) added.push(s.kind === 'map' ? `${k} : ${v}` : k);
    if (gone.length) deletes.push(`delete element ${t} ${name} { ${gone.join(', ')} }`);
    if (added.length) adds.push(`add element ${t} ${name} { ${added.join(', ')} }`);
  }
  for (const [name, c] of rules.chains) {
    const old = prev?.chains.get(name);
    if (old && old.spec === c.spec && old.rules.join('\n') === c.rules.join('\n')) continue;
    out.push(`add chain ${t} ${name}${c.spec ? ` { ${c.spec} }` : ''}`);
    flushes.push(`flush chain ${t} ${name}`);
    for (const r of c.rules) body.push(`add rule ${t} ${name} ${r}`);
  }
  const staleChains = new Set<string>([...(opts.existing?.chains ?? []), ...(prev?.chains.keys() ?? [])]);
  const staleSets = new Map<string, 'set' | 'map'>([...(opts.existing?.sets ?? []), ...[...(prev?.sets ?? [])].map(([n, s]) => [n, s.kind] as const)]);
  for (const c of rules.chains.keys()) staleChains.delete(c);
  for (const s of rules.sets.keys()) staleSets.delete(s);
  // A stale chain may jump to another: all are flushed before any is deleted.
  for (const c of staleChains) flushes.push(`flush chain ${t} ${c}`);
  const tail = [...[...staleChains].map((c) => `delete chain ${t} ${c}`), ...[...staleSets].map(([s, kind]) => `delete ${kind} ${t} ${s}`)];
  return [...out, ...flushes, ...deletes, ...body, ...adds, ...tail, ''].join('\n');
}

function elementList(s: NftSet): string {
  const parts: string[] = [];
  for (const [k, v] of s.elements) parts.push(s.kind === 'map' ? `${k} : ${v}` : k);
  return parts.join(', ');
}
