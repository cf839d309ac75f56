/**
 * Pod networking through CNI plugins: the generic plugin invoker and the per-agent pod network (bridge,
 * host-local, loopback, portmap).
 */
export { CniError, CniInvoker } from './cni.ts';
export type { CniAttachment, CniConfigList, CniPluginConfig, CniResult } from './cni.ts';
export { defaultCniBinDir, PodNetwork } from './pod-network.ts';
export type { PodAttachment, PodNetworkOptions, PodNetworkStatus } from './pod-network.ts';
