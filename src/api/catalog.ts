/**
 * The explicit list of built-in kinds (no registration by import side effect) and the objects every cluster
 * has from its first start.
 */
import { cloneJson } from '../base/json-value.ts';
import type { ResourceDefinition } from './resource.ts';
import { coreV1Resources } from './core/v1/index.ts';
import { namedGroupResources } from './groups.ts';
import { namespaces } from './core/v1/namespace.ts';
import { builtinPriorityClasses } from './scheduling/v1/priority-class.ts';
import { priorityClasses } from './scheduling/v1/priority-class.ts';
import { clusterRoleBindings, clusterRoles } from './rbac/v1/index.ts';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './rbac/v1/bootstrap-policy.ts';

/** Every kind the API server serves, core group first. */
export const catalog: ResourceDefinition[] = [...coreV1Resources, ...namedGroupResources];

/** An object created at start-up when missing. */
export interface BootstrapObject {
  def: ResourceDefinition;
  namespace: string;
  object: Record<string, unknown>;
}

/**
 * The namespaces default, kube-system, kube-public and kube-node-lease, the built-in PriorityClasses and the
 * default RBAC policy (ClusterRoles and ClusterRoleBindings).
 */
export function bootstrapObjects(): BootstrapObject[] {
  const ns = ['default', 'kube-system', 'kube-public', 'kube-node-lease'].map((name) => ({
    def: namespaces, namespace: '', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
  }));
  const pcs = builtinPriorityClasses.map((pc) => ({ def: priorityClasses, namespace: '', object: cloneJson(pc) as Record<string, unknown> }));
  const roles = bootstrapClusterRoles().map((r) => ({ def: clusterRoles, namespace: '', object: r as unknown as Record<string, unknown> }));
  const bindings = bootstrapClusterRoleBindings().map((b) => ({ def: clusterRoleBindings, namespace: '', object: b as unknown as Record<string, unknown> }));
  return [...ns, ...pcs, ...roles, ...bindings];
}
