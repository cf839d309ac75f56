/**
 * The verb table: each verb's module is imported only when that verb runs, so `skiff get` never loads the code
 * of `describe`, `apply` or the control plane.
 */
import type { VerbModule } from './command.ts';

/** A verb name, its one-line summary and its lazily loaded module. */
export interface VerbEntry {
  name: string;
  summary: string;
  load: () => Promise<VerbModule>;
}

/** Every client verb, in kubectl's help order. */
export const verbs: readonly VerbEntry[] = [
  { name: 'get', summary: 'Display one or many resources', load: () => import('./commands/get.ts') },
  { name: 'describe', summary: 'Show details of a specific resource or group of resources', load: () => import('./commands/describe.ts') },
  { name: 'api-resources', summary: 'Print the supported API resources on the server', load: () => import('./commands/api-resources.ts') },
  { name: 'api-versions', summary: 'Print the supported API versions on the server, in the form of "group/version"', load: () => import('./commands/api-versions.ts') },
  { name: 'version', summary: 'Print the client and server version information', load: () => import('./commands/version.ts') },
  { name: 'cluster-info', summary: 'Display cluster information', load: () => import('./commands/cluster-info.ts') },
  { name: 'config', summary: 'Modify kubeconfig files', load: () => import('./commands/config.ts') },
];
