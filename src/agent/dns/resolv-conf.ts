/**
 * Pods' /etc/resolv.conf as the kubelet writes it: ClusterFirst (cluster DNS, the three search domains,
 * ndots:5), Default (the node's resolv.conf), None (only dnsConfig), with `dnsConfig` merged in each case;
 * and the node's upstream resolvers for the DNS server's forwarding.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';

/** A parsed resolv.conf. */
export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: string[];
}

/** Parses resolv.conf text (nameserver, search/domain, options; comments ignored). */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...vals] = line.split(/\s+/);
    if (key === 'nameserver' && vals[0]) out.nameservers.push(vals[0]);
    else if (key === 'search' || key === 'domain') out.searches = vals;
    else if (key === 'options') out.options.push(...vals);
  }
  return out;
}

/** Renders a ResolvConf. */
export function formatResolvConf(rc: ResolvConf): string {
  const lines: string[] = [];
  if (rc.searches.length) lines.push(`search ${rc.searches.join(' ')}`);
  for (const ns of rc.nameservers) lines.push(`nameserver ${ns}`);
  if (rc.options.length) lines.push(`options ${rc.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Options of podResolvConf. */
export interface PodResolvConfOptions {
  /** Cluster DNS server addresses (the kubelet's clusterDNS). */
  clusterDNS: string[];
  /** Cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** The node's resolv.conf text (for Default, and for ClusterFirst on hostNetwork without cluster DNS). */
  hostResolvConf?: string;
}

// The resolver's limits the kubelet enforces (glibc: 3 name servers; 32 search domains since Kubernetes 1.28).
const maxNameservers = 3;
const maxSearches = 32;

/** The resolv.conf of a pod for its dnsPolicy and dnsConfig (the kubelet's semantics). */
export function podResolvConf(pod: Pod, opts: PodResolvConfOptions): string {
  return formatResolvConf(podDnsConfig(pod, opts));
}

/** The DNS settings of a pod (the kubelet's GetPodDNS: what CRI's PodSandboxConfig.dns_config carries). */
export function podDnsConfig(pod: Pod, opts: PodResolvConfOptions): ResolvConf {
  const spec = pod.spec;
  const domain = opts.clusterDomain ?? 'cluster.local';
  const host = parseResolvConf(opts.hostResolvConf ?? '');
  // Loopback name servers of the host do not answer inside the pod's network namespace.
  host.nameservers = host.nameservers.filter((n) => !n.startsWith('127.') && n !== '::1');
  let policy = spec?.dnsPolicy ?? 'ClusterFirst';
  // hostNetwork pods with ClusterFirst get the node's resolv.conf, unless they ask for ClusterFirstWithHostNet.
  if (policy === 'ClusterFirst' && spec?.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  if (policy === 'ClusterFirst' && opts.clusterDNS.length === 0) policy = 'Default';
  let rc: ResolvConf;
  if (policy === 'None') rc = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default') rc = host;
  else {
    const ns = pod.metadata?.namespace ?? 'default';
    rc = { nameservers: [...opts.clusterDNS], searches: [`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...host.searches], options: ['ndots:5'] };
  }
  const cfg = spec?.dnsConfig;
  if (cfg) {
    rc.nameservers = unique([...rc.nameservers, ...(cfg.nameservers ?? [])]);
    rc.searches = unique([...rc.searches, ...(cfg.searches ?? [])]);
    // dnsConfig options override options of the same name.
    const opt = new Map<string, string>();
    for (const o of rc.options) {
      const [k, v] = o.split(':');
      opt.set(k!, o.includes(':') ? `${k}:${v}` : k!);
    }
    for (const o of cfg.options ?? []) if (o.name) opt.set(o.name, o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : o.name);
    rc.options = [...opt.values()];
  }
  rc.nameservers = rc.nameservers.slice(0, maxNameservers);
  rc.searches = rc.searches.slice(0, maxSearches);
  return rc;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Upstream resolvers for forwarding, from the node's resolv.conf (excluding `exclude`, e.g. the DNS server's own address). */
export function upstreamsFromResolvConf(text: string, exclude: string[] = []): string[] {
  return parseResolvConf(text).nameservers.filter((n) => !exclude.includes(n) && !n.includes(':'));
}
