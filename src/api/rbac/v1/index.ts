/** The rbac.authorization.k8s.io/v1 group: its four kinds, in discovery order. */
import type { ResourceDefinition } from '../../resource.ts';
import { clusterRoles, roles } from './role.ts';
import { clusterRoleBindings, roleBindings } from './role-binding.ts';

export { clusterRoles, roles, clusterRoleBindings, roleBindings };

/** ClusterRoleBindings, ClusterRoles, RoleBindings, Roles (upstream's discovery order). */
export const rbacResources: ResourceDefinition[] = [clusterRoleBindings, clusterRoles, roleBindings, roles];
