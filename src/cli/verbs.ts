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
  { name: 'create', summary: 'Create a resource from a file or from stdin', load: () => import('./commands/create.ts') },
  { name: 'apply', summary: 'Apply a configuration to a resource by file name or stdin', load: () => import('./commands/apply.ts') },
  { name: 'delete', summary: 'Delete resources by file names, stdin, resources and names, or by resources and label selector', load: () => import('./commands/delete.ts') },
  { name: 'replace', summary: 'Replace a resource by file name or stdin', load: () => import('./commands/replace.ts') },
  { name: 'patch', summary: 'Update fields of a resource', load: () => import('./commands/patch.ts') },
  { name: 'label', summary: 'Update the labels on a resource', load: () => import('./commands/label.ts') },
  { name: 'annotate', summary: 'Update the annotations on a resource', load: () => import('./commands/annotate.ts') },
  { name: 'scale', summary: 'Set a new size for a deployment, replica set, or replication controller', load: () => import('./commands/scale.ts') },
  { name: 'rollout', summary: 'Manage the rollout of a resource', load: () => import('./commands/rollout.ts') },
  { name: 'wait', summary: 'Experimental: Wait for a specific condition on one or many resources', load: () => import('./commands/wait.ts') },
  { name: 'run', summary: 'Run a particular image on the cluster', load: () => import('./commands/run.ts') },
  { name: 'expose', summary: 'Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service', load: () => import('./commands/expose.ts') },
  { name: 'set', summary: 'Set specific features on objects', load: () => import('./commands/set.ts') },
  { name: 'autoscale', summary: 'Auto-scale a deployment, replica set, stateful set, or replication controller', load: () => import('./commands/autoscale.ts') },
  { name: 'auth', summary: 'Inspect authorization', load: () => import('./commands/auth.ts') },
  { name: 'top', summary: 'Display resource (CPU/memory) usage', load: () => import('./commands/top.ts') },
  { name: 'cordon', summary: 'Mark node as unschedulable', load: () => import('./commands/cordon.ts') },
  { name: 'uncordon', summary: 'Mark node as schedulable', load: () => import('./commands/uncordon.ts') },
  { name: 'drain', summary: 'Drain node in preparation for maintenance', load: () => import('./commands/drain.ts') },
  { name: 'taint', summary: 'Update the taints on one or more nodes', load: () => import('./commands/taint.ts') },
  { name: 'edit', summary: 'Edit a resource on the server', load: () => import('./commands/edit.ts') },
  { name: 'diff', summary: 'Diff the live version against a would-be applied version', load: () => import('./commands/diff.ts') },
  { name: 'logs', summary: 'Print the logs for a container in a pod', load: () => import('./commands/logs.ts') },
  { name: 'exec', summary: 'Execute a command in a container', load: () => import('./commands/exec.ts') },
  { name: 'attach', summary: 'Attach to a running container', load: () => import('./commands/attach.ts') },
  { name: 'port-forward', summary: 'Forward one or more local ports to a pod', load: () => import('./commands/port-forward.ts') },
  { name: 'cp', summary: 'Copy files and directories to and from containers', load: () => import('./commands/cp.ts') },
  { name: 'describe', summary: 'Show details of a specific resource or group of resources', load: () => import('./commands/describe.ts') },
  { name: 'api-resources', summary: 'Print the supported API resources on the server', load: () => import('./commands/api-resources.ts') },
  { name: 'api-versions', summary: 'Print the supported API versions on the server, in the form of "group/version"', load: () => import('./commands/api-versions.ts') },
  { name: 'version', summary: 'Print the client and server version information', load: () => import('./commands/version.ts') },
  { name: 'cluster-info', summary: 'Display cluster information', load: () => import('./commands/cluster-info.ts') },
  { name: 'explain', summary: 'Get documentation for a resource', load: () => import('./commands/explain.ts') },
  { name: 'events', summary: 'List events', load: () => import('./commands/events.ts') },
  { name: 'tree', summary: 'Show the ownership tree of an object with the status of each descendant', load: () => import('./commands/tree.ts') },
  { name: 'completion', summary: 'Output shell completion code for the specified shell (bash or zsh)', load: () => import('./commands/completion.ts') },
  { name: '__complete', summary: 'Print completion candidates (hidden)', load: () => import('./commands/complete.ts') },
  { name: 'config', summary: 'Modify kubeconfig files', load: () => import('./commands/config.ts') },
];
