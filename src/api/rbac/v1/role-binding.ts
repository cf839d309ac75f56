/** rbac.authorization.k8s.io/v1 RoleBinding and ClusterRoleBinding. */
import type { ClusterRoleBinding, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { validateObjectMeta, validateObjectMetaUpdate, validatePathSegmentName } from '../../meta/validation.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { defineResource, type TableColumn } from '../../resource.ts';
import { creationTimestampDoc } from '../../apps/v1/workload.ts';
import { defaultSubjects, subjectNames, validateRoleRef, validateRoleRefUpdate, validateSubjects } from './validation.ts';

type AnyBinding = RoleBinding | ClusterRoleBinding;

function bindingColumns<T extends AnyBinding>(): TableColumn<T>[] {
  return [
    { name: 'Role', type: 'string', description: 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.', cell: (b) => `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}` },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (b, now) => translateTimestampSince(b.metadata?.creationTimestamp, now) },
    { name: 'Users', type: 'string', priority: 1, description: 'Users in the binding', cell: (b) => subjectNames(b.subjects, 'User') },
    { name: 'Groups', type: 'string', priority: 1, description: 'Groups in the binding', cell: (b) => subjectNames(b.subjects, 'Group') },
    { name: 'ServiceAccounts', type: 'string', priority: 1, description: 'ServiceAccounts in the binding', cell: (b) => subjectNames(b.subjects, 'ServiceAccount') },
  ];
}

/** The rbac.authorization.k8s.io/v1 RoleBinding kind (grants a Role or ClusterRole within one namespace). */
export const roleBindings = defineResource<RoleBinding>({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'RoleBinding',
  plural: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  defaults: (b) => defaultSubjects(b.subjects),
  validate: (b) => [
    ...validateObjectMeta(b.metadata, { namespaced: true, nameValidator: validatePathSegmentName }),
    ...validateRoleRef(b.roleRef, ['Role', 'ClusterRole']),
    ...validateSubjects(b.subjects, { namespaced: true }),
  ],
  validateUpdate: (b, old) => [...validateObjectMetaUpdate(b.metadata ?? {}, old.metadata ?? {}), ...validateRoleRefUpdate(b.roleRef, old.roleRef)],
  strategy: {},
  columns: bindingColumns<RoleBinding>(),
  examples: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
      metadata: { name: 'read-pods', namespace: 'default' },
      subjects: [{ kind: 'User', name: 'jane', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'Role', name: 'pod-reader', apiGroup: 'rbac.authorization.k8s.io' },
    },
  ],
});

/** The rbac.authorization.k8s.io/v1 ClusterRoleBinding kind (grants a ClusterRole cluster-wide). */
export const clusterRoleBindings = defineResource<ClusterRoleBinding>({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  defaults: (b) => defaultSubjects(b.subjects),
  validate: (b) => [
    ...validateObjectMeta(b.metadata, { namespaced: false, nameValidator: validatePathSegmentName }),
    ...validateRoleRef(b.roleRef, ['ClusterRole']),
    ...validateSubjects(b.subjects, { namespaced: false }),
  ],
  validateUpdate: (b, old) => [...validateObjectMetaUpdate(b.metadata ?? {}, old.metadata ?? {}), ...validateRoleRefUpdate(b.roleRef, old.roleRef)],
  strategy: {},
  columns: bindingColumns<ClusterRoleBinding>(),
  examples: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: { name: 'read-secrets-global' },
      subjects: [{ kind: 'Group', name: 'manager', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'ClusterRole', name: 'secret-reader', apiGroup: 'rbac.authorization.k8s.io' },
    },
  ],
});
