/**
 * The service proxy (Skiff's kube-proxy in iptables mode): `startServiceProxy` programs ClusterIPs and NodePorts
 * from the informer caches; `cleanupProxyRules` removes everything it wrote.
 */
export { cleanupProxyRules, startServiceProxy } from './proxier.ts';
export type { RunningServiceProxy, ServiceProxyOptions } from './proxier.ts';
export { buildProxyRules, chainName, defaultChainPrefix, endpointsForPort, jumpRules, renderRestore } from './rules.ts';
export type { ProxyEndpoint, ProxyRules, ProxyRulesOptions } from './rules.ts';
export { chainsWithPrefix, hostIptables, IptablesError } from './iptables.ts';
export type { Iptables } from './iptables.ts';
