/**
 * The default RBAC policy every cluster starts with (upstream plugin/pkg/auth/authorizer/rbac/bootstrappolicy):
 * cluster-admin, the aggregated admin/edit/view roles, the discovery and info roles, and one role per
 * component identity (scheduler, controller manager, nodes, node bootstrappers). Skiff names its components'
 * users as upstream does (system:kube-scheduler, system:kube-controller-manager, system:node:<name>).
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Subject } from 'kubernetes-types/rbac/v1.js';
import { RBAC_GROUP } from './validation.ts';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ_WRITE = [...READ, ...WRITE];

function rule(verbs: string[], groups: string[], resources: string[], names?: string[]): PolicyRule {
  return { apiGroups: groups, resources, verbs, ...(names ? { resourceNames: names } : {}) };
}

function urls(verbs: string[], paths: string[]): PolicyRule {
  return { nonResourceURLs: paths, verbs };
}

const META = {
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
};

function clusterRole(name: string, rules: PolicyRule[], extra: { labels?: Record<string, string>; aggregateTo?: string } = {}): ClusterRole {
  const labels = { ...META.labels, ...extra.labels };
  const role: ClusterRole = { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: { name, labels, annotations: { ...META.annotations } }, rules };
  if (extra.aggregateTo) {
    role.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${extra.aggregateTo}`]: 'true' } }] };
  }
  return role;
}

function binding(name: string, role: string, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...META.labels }, annotations: { ...META.annotations } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects,
  };
}

/** A User subject. */
export function userSubject(name: string): Subject {
  return { kind: 'User', apiGroup: RBAC_GROUP, name };
}

/** A Group subject. */
export function groupSubject(name: string): Subject {
  return { kind: 'Group', apiGroup: RBAC_GROUP, name };
}

const viewRules: PolicyRule[] = [
  rule(READ, [''], ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
  rule(READ, [''], ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
  rule(READ, [''], ['namespaces']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(READ, ['apps'], ['controllerrevisions', 'statefulsets', 'statefulsets/scale', 'statefulsets/status', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status']),
  rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];

const editRules: PolicyRule[] = [
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
  rule(['create'], [''], ['pods/eviction']),
  rule(WRITE, [''], ['replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy', 'persistentvolumeclaims', 'configmaps', 'secrets', 'events']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(READ, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
  rule(WRITE, ['apps'], ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale']),
  rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(WRITE, ['batch'], ['jobs', 'cronjobs']),
  rule(WRITE, ['policy'], ['poddisruptionbudgets']),
  rule(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  rule(READ_WRITE, ['coordination.k8s.io'], ['leases']),
  rule(WRITE, ['discovery.k8s.io'], ['endpointslices']),
];

const adminRules: PolicyRule[] = [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule(READ_WRITE, [RBAC_GROUP], ['rolebindings', 'roles']),
];

/**
 * Rules of the system:node role: what a node may do by type; the Node authorizer narrows reads of secrets,
 * config maps and volumes to those its pods use, and NodeRestriction narrows writes to itself and its pods.
 */
export const nodeRules: PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
  rule(READ, [''], ['services']),
  rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  rule(['update', 'patch'], [''], ['nodes']),
  rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
  rule(READ, [''], ['pods']),
  rule(['create', 'delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(['get'], [''], ['secrets', 'configmaps', 'persistentvolumeclaims', 'persistentvolumes', 'endpoints']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
  rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(READ, ['node.k8s.io'], ['runtimeclasses']),
];

const schedulerRules: PolicyRule[] = [
  rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler', 'skiff-scheduler']),
  rule(READ, [''], ['nodes', 'namespaces', 'services', 'replicationcontrollers', 'persistentvolumeclaims', 'persistentvolumes']),
  rule([...READ, 'delete'], [''], ['pods']),
  rule(['create'], [''], ['bindings', 'pods/binding']),
  rule(['patch', 'update'], [''], ['pods/status']),
  rule(READ, ['apps'], ['replicasets', 'statefulsets']),
  rule(READ, ['policy'], ['poddisruptionbudgets']),
  rule(READ, ['scheduling.k8s.io'], ['priorityclasses']),
  rule(READ, ['storage.k8s.io'], ['storageclasses', 'csinodes', 'csidrivers', 'csistoragecapacities']),
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
];

// One identity runs every Skiff controller, so it holds the union of upstream's per-controller roles; it cannot
// change RBAC objects or approve certificates, which keeps it short of cluster-admin.
const controllerManagerRules: PolicyRule[] = [
  rule(['*'], ['', 'apps', 'batch', 'coordination.k8s.io', 'events.k8s.io', 'discovery.k8s.io', 'policy', 'autoscaling', 'networking.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io'], ['*']),
  // Namespace deletion removes RBAC objects and CSRs; deleting grants nothing, so it needs no escalation rights.
  rule([...READ, 'delete', 'deletecollection'], [RBAC_GROUP, 'certificates.k8s.io'], ['*']),
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
];

/** The default ClusterRoles. */
export function bootstrapClusterRoles(): ClusterRole[] {
  const aggregated = (name: string, rules: PolicyRule[]): ClusterRole => clusterRole(name, rules, { aggregateTo: name });
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    aggregated('admin', [...adminRules, ...editRules, ...viewRules]),
    aggregated('edit', [...editRules, ...viewRules]),
    aggregated('view', viewRules),
    clusterRole('system:aggregate-to-admin', adminRules, { labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }),
    clusterRole('system:aggregate-to-edit', editRules, { labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }),
    clusterRole('system:aggregate-to-view', viewRules, { labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true', 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }),
    clusterRole('system:discovery', [urls(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'])]),
    clusterRole('system:public-info-viewer', [urls(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/'])]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:monitoring', [urls(['get'], ['/healthz', '/healthz/*', '/livez', '/livez/*', '/readyz', '/readyz/*', '/metrics', '/metrics/slis'])]),
    clusterRole('system:node', nodeRules),
    clusterRole('system:node-bootstrapper', [rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'])]),
    clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'])]),
    clusterRole('system:kube-scheduler', schedulerRules),
    clusterRole('system:kube-controller-manager', controllerManagerRules),
    clusterRole('system:service-account-issuer-discovery', [urls(['get'], ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'])]),
  ];
}

/** The default ClusterRoleBindings. */
export function bootstrapClusterRoleBindings(): ClusterRoleBinding[] {
  return [
    binding('cluster-admin', 'cluster-admin', [groupSubject('system:masters')]),
    binding('system:discovery', 'system:discovery', [groupSubject('system:authenticated')]),
    binding('system:basic-user', 'system:basic-user', [groupSubject('system:authenticated')]),
    binding('system:public-info-viewer', 'system:public-info-viewer', [groupSubject('system:authenticated'), groupSubject('system:unauthenticated')]),
    binding('system:monitoring', 'system:monitoring', [groupSubject('system:monitoring')]),
    binding('system:node', 'system:node', []),
    binding('system:node-bootstrapper', 'system:node-bootstrapper', [groupSubject('system:bootstrappers')]),
    binding('system:certificates.k8s.io:certificatesigningrequests:nodeclient', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', [groupSubject('system:bootstrappers')]),
    binding('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [groupSubject('system:nodes')]),
    binding('system:kube-scheduler', 'system:kube-scheduler', [userSubject('system:kube-scheduler')]),
    binding('system:kube-controller-manager', 'system:kube-controller-manager', [userSubject('system:kube-controller-manager')]),
    binding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [groupSubject('system:serviceaccounts')]),
  ];
}
