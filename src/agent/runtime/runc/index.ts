/**
 * The runc runtime's public surface: the runtime, the host check the agent's runtime selection uses, and the
 * mapping of a pod's container to the Linux settings (resources, security context) the runtime enforces.
 */
export { createRuncRuntime, runcAvailable, RuncRuntime, hostsFile, podResolvConf } from './runc-runtime.ts';
export type { RuncNetworkOptions, RuncRuntimeOptions } from './runc-runtime.ts';
export { buildSpec, capabilitySet, containerArgs, defaultCapabilities, linuxConfigFor, oomScoreAdj, resolveUser } from './spec.ts';
export type { LinuxContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext, RuncContainerConfig } from './spec.ts';
