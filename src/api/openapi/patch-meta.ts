/**
 * The one table of strategic-merge and list/map topology metadata for the built-in types, keyed by upstream
 * schema name and JSON field name. It mirrors the `patchStrategy`/`patchMergeKey` struct tags and the
 * `+listType`/`+listMapKey`/`+mapType` markers of upstream's types.go files, because `kubernetes-types` (our
 * source of schemas and descriptions) does not carry them. The OpenAPI generator copies every entry into the
 * generated schemas as `x-kubernetes-*` extensions, and the strategic-merge-patch engine reads it back.
 *
 * Fields not listed are plain: lists are atomic and replaced wholesale by a strategic merge patch (upstream's
 * behaviour for lists without a patch strategy), maps are granular.
 */

/** The strategic-merge and structural-merge metadata of one schema field. */
export interface PatchMeta {
  /** `x-kubernetes-patch-strategy`: "merge", "retainKeys", "merge,retainKeys" or "replace". */
  patchStrategy?: 'merge' | 'retainKeys' | 'merge,retainKeys' | 'replace';
  /** `x-kubernetes-patch-merge-key`: the key that identifies list items for a merging strategic patch. */
  patchMergeKey?: string;
  /** `x-kubernetes-list-type`. */
  listType?: 'atomic' | 'set' | 'map';
  /** `x-kubernetes-list-map-keys`, for listType "map". */
  listMapKeys?: string[];
  /** `x-kubernetes-map-type`. */
  mapType?: 'atomic' | 'granular';
}

const CORE = 'io.k8s.api.core.v1.';
const APPS = 'io.k8s.api.apps.v1.';
const BATCH = 'io.k8s.api.batch.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const atomic: PatchMeta = { listType: 'atomic' };
const atomicMap: PatchMeta = { mapType: 'atomic' };
const set: PatchMeta = { listType: 'set' };
/** A list merged by one key that is also its only structural map key (the common case). */
function mergeBy(key: string, strategy: PatchMeta['patchStrategy'] = 'merge', mapKeys: string[] = [key]): PatchMeta {
  return { patchStrategy: strategy, patchMergeKey: key, listType: 'map', listMapKeys: mapKeys };
}
/** Status conditions: merged by type everywhere (upstream's convention since the first API versions). */
const conditions = mergeBy('type');

/** Fields shared by Container and EphemeralContainer (upstream's EphemeralContainerCommon repeats Container). */
const containerFields: Record<string, PatchMeta> = {
  command: atomic,
  args: atomic,
  ports: mergeBy('containerPort', 'merge', ['containerPort', 'protocol']),
  envFrom: atomic,
  env: mergeBy('name'),
  resizePolicy: atomic,
  volumeMounts: mergeBy('mountPath'),
  volumeDevices: mergeBy('devicePath'),
};

/**
 * schema name → field → metadata. Sources: k8s.io/api {core,apps,batch,policy,discovery,rbac,networking,
 * autoscaling}/v1 types.go and k8s.io/apimachinery meta/v1 types.go at release-1.32 (newer list-type markers
 * included where they only describe the existing patch behaviour).
 */
export const PATCH_META: Readonly<Record<string, Readonly<Record<string, PatchMeta>>>> = {
  // meta/v1
  [`${META}ObjectMeta`]: {
    finalizers: { patchStrategy: 'merge', listType: 'set' },
    ownerReferences: mergeBy('uid'),
    managedFields: atomic,
  },
  [`${META}LabelSelector`]: { matchExpressions: atomic },
  [`${META}LabelSelectorRequirement`]: { values: atomic },
  [`${META}StatusDetails`]: { causes: atomic },
  [`${META}APIResource`]: { verbs: atomic, shortNames: atomic, categories: atomic },

  // core/v1: pods
  [`${CORE}PodSpec`]: {
    volumes: mergeBy('name', 'merge,retainKeys'),
    initContainers: mergeBy('name'),
    containers: mergeBy('name'),
    ephemeralContainers: mergeBy('name'),
    imagePullSecrets: mergeBy('name'),
    tolerations: atomic,
    hostAliases: mergeBy('ip'),
    readinessGates: atomic,
    topologySpreadConstraints: mergeBy('topologyKey', 'merge', ['topologyKey', 'whenUnsatisfiable']),
    schedulingGates: mergeBy('name'),
    resourceClaims: mergeBy('name', 'merge,retainKeys'),
    nodeSelector: atomicMap,
  },
  [`${CORE}Container`]: containerFields,
  [`${CORE}EphemeralContainer`]: containerFields,
  [`${CORE}PodStatus`]: {
    conditions,
    hostIPs: mergeBy('ip'),
    podIPs: mergeBy('ip'),
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    resourceClaimStatuses: mergeBy('name', 'merge,retainKeys'),
  },
  [`${CORE}ContainerStatus`]: {
    volumeMounts: mergeBy('mountPath'),
    allocatedResourcesStatus: mergeBy('name'),
  },
  [`${CORE}ResourceStatus`]: { resources: { listType: 'map', listMapKeys: ['resourceID'] } },
  [`${CORE}ResourceRequirements`]: { claims: { listType: 'map', listMapKeys: ['name'] } },
  [`${CORE}PodSecurityContext`]: { supplementalGroups: atomic, sysctls: atomic },
  [`${CORE}Capabilities`]: { add: atomic, drop: atomic },
  [`${CORE}PodDNSConfig`]: { nameservers: atomic, searches: atomic, options: atomic },
  [`${CORE}HostAlias`]: { hostnames: atomic },
  [`${CORE}ExecAction`]: { command: atomic },
  [`${CORE}HTTPGetAction`]: { httpHeaders: atomic },
  [`${CORE}NodeSelector`]: { nodeSelectorTerms: atomic },
  [`${CORE}NodeSelectorTerm`]: { matchExpressions: atomic, matchFields: atomic },
  [`${CORE}NodeSelectorRequirement`]: { values: atomic },
  [`${CORE}NodeAffinity`]: { preferredDuringSchedulingIgnoredDuringExecution: atomic },
  [`${CORE}PodAffinity`]: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [`${CORE}PodAntiAffinity`]: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [`${CORE}PodAffinityTerm`]: { namespaces: atomic, matchLabelKeys: atomic, mismatchLabelKeys: atomic },
  [`${CORE}TopologySpreadConstraint`]: { matchLabelKeys: atomic },
  [`${CORE}ConfigMapVolumeSource`]: { items: atomic },
  [`${CORE}SecretVolumeSource`]: { items: atomic },
  [`${CORE}ConfigMapProjection`]: { items: atomic },
  [`${CORE}SecretProjection`]: { items: atomic },
  [`${CORE}DownwardAPIVolumeSource`]: { items: atomic },
  [`${CORE}DownwardAPIProjection`]: { items: atomic },
  [`${CORE}ProjectedVolumeSource`]: { sources: atomic },
  [`${CORE}ISCSIVolumeSource`]: { portals: atomic },
  [`${CORE}ISCSIPersistentVolumeSource`]: { portals: atomic },
  [`${CORE}CephFSVolumeSource`]: { monitors: atomic },
  [`${CORE}CephFSPersistentVolumeSource`]: { monitors: atomic },
  [`${CORE}RBDVolumeSource`]: { monitors: atomic },
  [`${CORE}RBDPersistentVolumeSource`]: { monitors: atomic },
  [`${CORE}FCVolumeSource`]: { targetWWNs: atomic, wwids: atomic },

  // core/v1: services, endpoints, nodes, namespaces, the rest
  [`${CORE}ServiceSpec`]: {
    ports: mergeBy('port', 'merge', ['port', 'protocol']),
    selector: atomicMap,
    clusterIPs: atomic,
    externalIPs: atomic,
    loadBalancerSourceRanges: atomic,
    ipFamilies: atomic,
  },
  [`${CORE}ServiceStatus`]: { conditions },
  [`${CORE}LoadBalancerStatus`]: { ingress: atomic },
  [`${CORE}LoadBalancerIngress`]: { ports: atomic },
  [`${CORE}Endpoints`]: { subsets: atomic },
  [`${CORE}EndpointSubset`]: { addresses: atomic, notReadyAddresses: atomic, ports: atomic },
  [`${CORE}NodeSpec`]: { podCIDRs: { patchStrategy: 'merge', listType: 'set' }, taints: atomic },
  [`${CORE}NodeStatus`]: {
    conditions,
    addresses: mergeBy('type'),
    images: atomic,
    volumesInUse: atomic,
    volumesAttached: atomic,
    runtimeHandlers: atomic,
  },
  [`${CORE}ContainerImage`]: { names: atomic },
  [`${CORE}NamespaceSpec`]: { finalizers: atomic },
  [`${CORE}NamespaceStatus`]: { conditions },
  [`${CORE}ServiceAccount`]: { secrets: mergeBy('name'), imagePullSecrets: atomic },
  [`${CORE}ReplicationControllerSpec`]: { selector: atomicMap },
  [`${CORE}ReplicationControllerStatus`]: { conditions },
  [`${CORE}PersistentVolumeSpec`]: { accessModes: atomic, mountOptions: atomic },
  [`${CORE}PersistentVolumeClaimSpec`]: { accessModes: atomic },
  [`${CORE}PersistentVolumeClaimStatus`]: { accessModes: atomic, conditions },
  [`${CORE}LimitRangeSpec`]: { limits: atomic },
  [`${CORE}ResourceQuotaSpec`]: { scopes: atomic },
  [`${CORE}ScopeSelector`]: { matchExpressions: atomic },
  [`${CORE}ScopedResourceSelectorRequirement`]: { values: atomic },
  [`${CORE}ComponentStatus`]: { conditions },

  // apps/v1
  [`${APPS}DeploymentSpec`]: { strategy: { patchStrategy: 'retainKeys' } },
  [`${APPS}DeploymentStatus`]: { conditions },
  [`${APPS}ReplicaSetStatus`]: { conditions },
  [`${APPS}DaemonSetStatus`]: { conditions },
  [`${APPS}StatefulSetSpec`]: { volumeClaimTemplates: atomic },
  [`${APPS}StatefulSetStatus`]: { conditions },

  // batch/v1: Job conditions keep the merge strategy but are atomic for server-side apply.
  [`${BATCH}JobStatus`]: { conditions: { patchStrategy: 'merge', patchMergeKey: 'type', listType: 'atomic' } },
  [`${BATCH}CronJobStatus`]: { active: atomic },
  [`${BATCH}PodFailurePolicy`]: { rules: atomic },
  [`${BATCH}PodFailurePolicyRule`]: { onPodConditions: atomic },
  [`${BATCH}PodFailurePolicyOnExitCodesRequirement`]: { values: set },
  [`${BATCH}UncountedTerminatedPods`]: { succeeded: set, failed: set },

  // policy/v1, discovery.k8s.io/v1, autoscaling/v2, rbac, networking
  ['io.k8s.api.policy.v1.PodDisruptionBudgetStatus']: { conditions },
  ['io.k8s.api.discovery.v1.EndpointSlice']: { endpoints: atomic, ports: atomic },
  ['io.k8s.api.discovery.v1.Endpoint']: { addresses: set },
  ['io.k8s.api.discovery.v1.EndpointHints']: { forZones: atomic },
  ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec']: { metrics: atomic },
  ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus']: { conditions, currentMetrics: atomic },
  ['io.k8s.api.autoscaling.v2.HPAScalingRules']: { policies: atomic },
  ['io.k8s.api.rbac.v1.Role']: { rules: atomic },
  ['io.k8s.api.rbac.v1.ClusterRole']: { rules: atomic },
  ['io.k8s.api.rbac.v1.AggregationRule']: { clusterRoleSelectors: atomic },
  ['io.k8s.api.rbac.v1.RoleBinding']: { subjects: atomic },
  ['io.k8s.api.rbac.v1.ClusterRoleBinding']: { subjects: atomic },
  ['io.k8s.api.rbac.v1.PolicyRule']: {
    verbs: atomic,
    apiGroups: atomic,
    resources: atomic,
    resourceNames: atomic,
    nonResourceURLs: atomic,
  },
  ['io.k8s.api.networking.v1.NetworkPolicySpec']: { ingress: atomic, egress: atomic, policyTypes: atomic },
  ['io.k8s.api.networking.v1.NetworkPolicyIngressRule']: { ports: atomic, from: atomic },
  ['io.k8s.api.networking.v1.NetworkPolicyEgressRule']: { ports: atomic, to: atomic },
  ['io.k8s.api.networking.v1.IngressSpec']: { tls: atomic, rules: atomic },
  ['io.k8s.api.networking.v1.IngressTLS']: { hosts: atomic },
  ['io.k8s.api.networking.v1.HTTPIngressRuleValue']: { paths: atomic },
  ['io.k8s.api.networking.v1.IngressLoadBalancerStatus']: { ingress: atomic },
  ['io.k8s.api.networking.v1.IngressLoadBalancerIngress']: { ports: atomic },
};

/** The metadata of `field` in the schema named `schemaName` (an upstream name such as io.k8s.api.core.v1.PodSpec), if any. */
export function patchMetaFor(schemaName: string, field: string): PatchMeta | undefined {
  const fields = PATCH_META[schemaName];
  return fields !== undefined && Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/** The `x-kubernetes-*` OpenAPI extensions that express `meta`, in upstream's key order. */
export function patchMetaExtensions(meta: PatchMeta): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (meta.listMapKeys !== undefined) out['x-kubernetes-list-map-keys'] = [...meta.listMapKeys];
  if (meta.listType !== undefined) out['x-kubernetes-list-type'] = meta.listType;
  if (meta.mapType !== undefined) out['x-kubernetes-map-type'] = meta.mapType;
  if (meta.patchMergeKey !== undefined) out['x-kubernetes-patch-merge-key'] = meta.patchMergeKey;
  if (meta.patchStrategy !== undefined) out['x-kubernetes-patch-strategy'] = meta.patchStrategy;
  return out;
}

/** Reads the metadata back from a property schema's `x-kubernetes-*` extensions (works for any schema, CRDs included). */
export function patchMetaFromSchema(schema: Readonly<Record<string, unknown>>): PatchMeta {
  const meta: PatchMeta = {};
  const strategy = schema['x-kubernetes-patch-strategy'];
  if (typeof strategy === 'string') meta.patchStrategy = strategy as PatchMeta['patchStrategy'];
  const key = schema['x-kubernetes-patch-merge-key'];
  if (typeof key === 'string') meta.patchMergeKey = key;
  const listType = schema['x-kubernetes-list-type'];
  if (typeof listType === 'string') meta.listType = listType as PatchMeta['listType'];
  const mapKeys = schema['x-kubernetes-list-map-keys'];
  if (Array.isArray(mapKeys)) meta.listMapKeys = mapKeys.filter((k): k is string => typeof k === 'string');
  const mapType = schema['x-kubernetes-map-type'];
  if (typeof mapType === 'string') meta.mapType = mapType as PatchMeta['mapType'];
  return meta;
}
