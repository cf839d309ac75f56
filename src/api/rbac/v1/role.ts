/** rbac.authorization.k8s.io/v1 Role and ClusterRole. */
import type { ClusterRole, Role } from 'kubernetes-types/rbac/v1.js';
import { validateObjectMeta, validateObjectMetaUpdate, validatePathSegmentName } from '../../meta/validation.ts';
import { defineResource, type TableColumn } from '../../resource.ts';
import { creationTimestampDoc } from '../../apps/v1/workload.ts';
import type { StoredObject } from '../../meta/types.ts';
import { createdAt, validateAggregationRule, validateRules } from './validation.ts';

const createdAtColumn: TableColumn = {
  name: 'Created At', type: 'date', description: creationTimestampDoc,
  cell: (o: StoredObject) => createdAt(o.metadata.creationTimestamp),
};

/** The rbac.authorization.k8s.io/v1 Role kind (namespaced rules). */
export const roles = defineResource<Role>({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'Role',
  plural: 'roles',
  singular: 'role',
  namespaced: true,
  validate: (r) => [
    ...validateObjectMeta(r.metadata, { namespaced: true, nameValidator: validatePathSegmentName }),
    ...validateRules(r.rules, { namespaced: true }),
  ],
  validateUpdate: (r, old) => validateObjectMetaUpdate(r.metadata ?? {}, old.metadata ?? {}),
  strategy: {},
  columns: [createdAtColumn as unknown as TableColumn<Role>],
  examples: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role',
      metadata: { name: 'pod-reader', namespace: 'default' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    },
  ],
});

/** The rbac.authorization.k8s.io/v1 ClusterRole kind (cluster-wide rules, optionally aggregated). */
export const clusterRoles = defineResource<ClusterRole>({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRole',
  plural: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  validate: (r) => [
    ...validateObjectMeta(r.metadata, { namespaced: false, nameValidator: validatePathSegmentName }),
    ...validateRules(r.rules, { namespaced: false }),
    ...validateAggregationRule(r.aggregationRule),
  ],
  validateUpdate: (r, old) => validateObjectMetaUpdate(r.metadata ?? {}, old.metadata ?? {}),
  strategy: {},
  columns: [createdAtColumn as unknown as TableColumn<ClusterRole>],
  examples: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
      metadata: { name: 'secret-reader' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
    },
  ],
});
