/**
 * The service proxy (Skiff's kube-proxy, nftables or iptables): `startServiceProxy` programs ClusterIPs and
 * NodePorts from the informer caches; `cleanupProxyRules` removes everything it wrote.
 */
export { cleanupProxyRules, detectProxyMode, startServiceProxy } from './proxier.ts';
export type { ProxyMode, RunningServiceProxy, ServiceProxyOptions } from './proxier.ts';
export { buildProxyRules, chainName, defaultChainPrefix, endpointsForPort, jumpRules, renderRestore } from './rules.ts';
export type { ProxyEndpoint, ProxyRules, ProxyRulesOptions } from './rules.ts';
export { buildNftRules, defaultNftTable, parseNftNames, renderNft } from './nft-rules.ts';
export type { NftChain, NftNames, NftRuleset, NftRulesOptions, NftSet } from './nft-rules.ts';
export { chainsWithPrefix, hostIptables, IptablesError } from './iptables.ts';
export type { Iptables } from './iptables.ts';
export { hostNft, nftAvailable, NftError } from './nft.ts';
export { createNftSyncer } from './nft-sync.ts';
export type { NftSyncer, NftSyncStats } from './nft-sync.ts';
export type { Nft } from './nft.ts';
