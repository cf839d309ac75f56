/**
 * core/v1 messages (package k8s.io.api.core.v1) reachable from the kinds kubectl's typed clients
 * send: Namespace, Secret, ConfigMap, ServiceAccount, Service, ResourceQuota and every PodSpec part
 * used by workload templates. Notation: see schema.ts.
 */

const CONTAINER =
  'name=1 image=2 command=3[] args=4[] workingDir=5 ports=6:ContainerPort[] envFrom=19:EnvFromSource[] env=7:EnvVar[] ' +
  'resources=8:ResourceRequirements resizePolicy=23:ContainerResizePolicy[] restartPolicy=24* ' +
  'restartPolicyRules=25:ContainerRestartRule[] volumeMounts=9:VolumeMount[] volumeDevices=21:VolumeDevice[] ' +
  'livenessProbe=10:Probe readinessProbe=11:Probe startupProbe=22:Probe lifecycle=12:Lifecycle ' +
  'terminationMessagePath=13 terminationMessagePolicy=20 imagePullPolicy=14 securityContext=15:SecurityContext ' +
  'stdin=16:bool stdinOnce=17:bool tty=18:bool';

const AFFINITY_TERMS =
  'requiredDuringSchedulingIgnoredDuringExecution=1:PodAffinityTerm[] ' +
  'preferredDuringSchedulingIgnoredDuringExecution=2:WeightedPodAffinityTerm[]';

/** core/v1 message table. */
export const coreV1: Record<string, string> = {
  // Top-level kinds.
  Namespace: 'metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus',
  NamespaceSpec: 'finalizers=1[]',
  NamespaceStatus: 'phase=1 conditions=2:NamespaceCondition[]',
  NamespaceCondition: 'type=1 status=2 lastTransitionTime=4:Time reason=5 message=6',
  ConfigMap: 'metadata=1:ObjectMeta immutable=4:bool* data=2{} binaryData=3:bytes{}',
  Secret: 'metadata=1:ObjectMeta immutable=5:bool* data=2:bytes{} stringData=4{} type=3',
  ServiceAccount:
    'metadata=1:ObjectMeta secrets=2:ObjectReference[] imagePullSecrets=3:LocalObjectReference[] ' +
    'automountServiceAccountToken=4:bool*',
  Service: 'metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus',
  ServiceSpec:
    'ports=1:ServicePort[] selector=2{} clusterIP=3 clusterIPs=18[] type=4 externalIPs=5[] sessionAffinity=7 ' +
    'loadBalancerIP=8 loadBalancerSourceRanges=9[] externalName=10 externalTrafficPolicy=11 ' +
    'healthCheckNodePort=12:int32 publishNotReadyAddresses=13:bool sessionAffinityConfig=14:SessionAffinityConfig ' +
    'ipFamilies=19[] ipFamilyPolicy=17* allocateLoadBalancerNodePorts=20:bool* loadBalancerClass=21* ' +
    'internalTrafficPolicy=22* trafficDistribution=23*',
  ServicePort: 'name=1 protocol=2 appProtocol=6* port=3:int32* targetPort=4:IntOrString nodePort=5:int32',
  ServiceStatus: 'loadBalancer=1:LoadBalancerStatus conditions=2:Condition[]',
  SessionAffinityConfig: 'clientIP=1:ClientIPConfig',
  ClientIPConfig: 'timeoutSeconds=1:int32*',
  LoadBalancerStatus: 'ingress=1:LoadBalancerIngress[]',
  LoadBalancerIngress: 'ip=1 hostname=2 ipMode=3* ports=4:PortStatus[]',
  PortStatus: 'port=1:int32* protocol=2 error=3*',
  ResourceQuota: 'metadata=1:ObjectMeta spec=2:ResourceQuotaSpec status=3:ResourceQuotaStatus',
  ResourceQuotaSpec: 'hard=1:Quantity{} scopes=2[] scopeSelector=3:ScopeSelector',
  ResourceQuotaStatus: 'hard=1:Quantity{} used=2:Quantity{}',
  ScopeSelector: 'matchExpressions=1:ScopedResourceSelectorRequirement[]',
  ScopedResourceSelectorRequirement: 'scopeName=1 operator=2 values=3[]',
  ObjectReference: 'kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7',
  LocalObjectReference: 'name=1',
  TypedLocalObjectReference: 'apiGroup=1* kind=2 name=3',
  TypedObjectReference: 'apiGroup=1* kind=2 name=3 namespace=4*',

  // Pod templates.
  PodTemplateSpec: 'metadata=1:ObjectMeta spec=2:PodSpec',
  PodSpec:
    'volumes=1:Volume[] initContainers=20:Container[] containers=2:Container[] ' +
    'ephemeralContainers=34:EphemeralContainer[] restartPolicy=3 terminationGracePeriodSeconds=4:int64* ' +
    'activeDeadlineSeconds=5:int64* dnsPolicy=6 nodeSelector=7{} serviceAccountName=8 serviceAccount=9 ' +
    'automountServiceAccountToken=21:bool* nodeName=10 hostNetwork=11:bool hostPID=12:bool hostIPC=13:bool ' +
    'shareProcessNamespace=27:bool* securityContext=14:PodSecurityContext imagePullSecrets=15:LocalObjectReference[] ' +
    'hostname=16 subdomain=17 affinity=18:Affinity schedulerName=19 tolerations=22:Toleration[] ' +
    'hostAliases=23:HostAlias[] priorityClassName=24 priority=25:int32* dnsConfig=26:PodDNSConfig ' +
    'readinessGates=28:PodReadinessGate[] runtimeClassName=29* enableServiceLinks=30:bool* preemptionPolicy=31* ' +
    'overhead=32:Quantity{} topologySpreadConstraints=33:TopologySpreadConstraint[] setHostnameAsFQDN=35:bool* ' +
    'os=36:PodOS hostUsers=37:bool* schedulingGates=38:PodSchedulingGate[] resourceClaims=39:PodResourceClaim[] ' +
    'resources=40:ResourceRequirements hostnameOverride=41* workloadRef=42:WorkloadReference',
  WorkloadReference: 'name=1 podGroup=2 podGroupReplicaKey=3',
  PodOS: 'name=1',
  PodReadinessGate: 'conditionType=1',
  PodSchedulingGate: 'name=1',
  PodResourceClaim: 'name=1 resourceClaimName=3* resourceClaimTemplateName=4*',
  PodDNSConfig: 'nameservers=1[] searches=2[] options=3:PodDNSConfigOption[]',
  PodDNSConfigOption: 'name=1 value=2*',
  HostAlias: 'ip=1 hostnames=2[]',
  Toleration: 'key=1 operator=2 value=3 effect=4 tolerationSeconds=5:int64*',
  TopologySpreadConstraint:
    'maxSkew=1:int32* topologyKey=2 whenUnsatisfiable=3 labelSelector=4:LabelSelector minDomains=5:int32* ' +
    'nodeAffinityPolicy=6* nodeTaintsPolicy=7* matchLabelKeys=8[]',
  PodSecurityContext:
    'seLinuxOptions=1:SELinuxOptions windowsOptions=8:WindowsSecurityContextOptions runAsUser=2:int64* ' +
    'runAsGroup=6:int64* runAsNonRoot=3:bool* supplementalGroups=4:int64[] supplementalGroupsPolicy=12* ' +
    'fsGroup=5:int64* sysctls=7:Sysctl[] fsGroupChangePolicy=9* seccompProfile=10:SeccompProfile ' +
    'appArmorProfile=11:AppArmorProfile seLinuxChangePolicy=13*',
  SecurityContext:
    'capabilities=1:Capabilities privileged=2:bool* seLinuxOptions=3:SELinuxOptions ' +
    'windowsOptions=10:WindowsSecurityContextOptions runAsUser=4:int64* runAsGroup=8:int64* runAsNonRoot=5:bool* ' +
    'readOnlyRootFilesystem=6:bool* allowPrivilegeEscalation=7:bool* procMount=9* seccompProfile=11:SeccompProfile ' +
    'appArmorProfile=12:AppArmorProfile ulimits=13:Ulimit[]',
  Capabilities: 'add=1[] drop=2[]',
  SELinuxOptions: 'user=1 role=2 type=3 level=4',
  WindowsSecurityContextOptions: 'gmsaCredentialSpecName=1* gmsaCredentialSpec=2* runAsUserName=3* hostProcess=4:bool*',
  SeccompProfile: 'type=1 localhostProfile=2*',
  AppArmorProfile: 'type=1 localhostProfile=2*',
  Sysctl: 'name=1 value=2',
  Ulimit: 'name=1 hard=2:int64* soft=3:int64*',
  Affinity: 'nodeAffinity=1:NodeAffinity podAffinity=2:PodAffinity podAntiAffinity=3:PodAntiAffinity',
  NodeAffinity:
    'requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector ' +
    'preferredDuringSchedulingIgnoredDuringExecution=2:PreferredSchedulingTerm[]',
  NodeSelector: 'nodeSelectorTerms=1:NodeSelectorTerm[]',
  NodeSelectorTerm: 'matchExpressions=1:NodeSelectorRequirement[] matchFields=2:NodeSelectorRequirement[]',
  NodeSelectorRequirement: 'key=1 operator=2 values=3[]',
  PreferredSchedulingTerm: 'weight=1:int32* preference=2:NodeSelectorTerm',
  PodAffinity: AFFINITY_TERMS,
  PodAntiAffinity: AFFINITY_TERMS,
  PodAffinityTerm:
    'labelSelector=1:LabelSelector namespaces=2[] topologyKey=3 namespaceSelector=4:LabelSelector ' +
    'matchLabelKeys=5[] mismatchLabelKeys=6[]',
  WeightedPodAffinityTerm: 'weight=1:int32* podAffinityTerm=2:PodAffinityTerm',

  // Containers.
  Container: CONTAINER,
  EphemeralContainer: '^ephemeralContainerCommon=1:EphemeralContainerCommon targetContainerName=2',
  EphemeralContainerCommon: CONTAINER,
  ContainerPort: 'name=1 hostPort=2:int32 containerPort=3:int32* protocol=4 hostIP=5',
  ContainerResizePolicy: 'resourceName=1 restartPolicy=2',
  ContainerRestartRule: 'action=1 exitCodes=2:ContainerRestartRuleOnExitCodes',
  ContainerRestartRuleOnExitCodes: 'operator=1 values=2:int32[]',
  EnvFromSource: 'prefix=1 configMapRef=2:ConfigMapEnvSource secretRef=3:SecretEnvSource',
  ConfigMapEnvSource: '^localObjectReference=1:LocalObjectReference optional=2:bool*',
  SecretEnvSource: '^localObjectReference=1:LocalObjectReference optional=2:bool*',
  EnvVar: 'name=1 value=2 valueFrom=3:EnvVarSource',
  EnvVarSource:
    'fieldRef=1:ObjectFieldSelector resourceFieldRef=2:ResourceFieldSelector configMapKeyRef=3:ConfigMapKeySelector ' +
    'secretKeyRef=4:SecretKeySelector fileKeyRef=5:FileKeySelector',
  ObjectFieldSelector: 'apiVersion=1 fieldPath=2',
  ResourceFieldSelector: 'containerName=1 resource=2 divisor=3:Quantity',
  ConfigMapKeySelector: '^localObjectReference=1:LocalObjectReference key=2 optional=3:bool*',
  SecretKeySelector: '^localObjectReference=1:LocalObjectReference key=2 optional=3:bool*',
  FileKeySelector: 'volumeName=1 path=2 key=3 optional=4:bool*',
  ResourceRequirements: 'limits=1:Quantity{} requests=2:Quantity{} claims=3:ResourceClaim[]',
  ResourceClaim: 'name=1 request=2',
  VolumeMount: 'name=1 readOnly=2:bool recursiveReadOnly=7* mountPath=3 subPath=4 mountPropagation=5* subPathExpr=6',
  VolumeDevice: 'name=1 devicePath=2',
  Probe:
    '^handler=1:ProbeHandler initialDelaySeconds=2:int32 timeoutSeconds=3:int32 periodSeconds=4:int32 ' +
    'successThreshold=5:int32 failureThreshold=6:int32 terminationGracePeriodSeconds=7:int64*',
  ProbeHandler: 'exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction grpc=4:GRPCAction',
  Lifecycle: 'postStart=1:LifecycleHandler preStop=2:LifecycleHandler stopSignal=3*',
  LifecycleHandler: 'exec=1:ExecAction httpGet=2:HTTPGetAction tcpSocket=3:TCPSocketAction sleep=4:SleepAction',
  ExecAction: 'command=1[]',
  HTTPGetAction: 'path=1 port=2:IntOrString host=3 scheme=4 httpHeaders=5:HTTPHeader[]',
  HTTPHeader: 'name=1 value=2*',
  TCPSocketAction: 'port=1:IntOrString host=2',
  GRPCAction: 'port=1:int32* service=2*',
  SleepAction: 'seconds=1:int64*',

  // Volumes.
  Volume: 'name=1 ^volumeSource=2:VolumeSource',
  VolumeSource:
    'hostPath=1:HostPathVolumeSource emptyDir=2:EmptyDirVolumeSource gcePersistentDisk=3:GCEPersistentDiskVolumeSource ' +
    'awsElasticBlockStore=4:AWSElasticBlockStoreVolumeSource gitRepo=5:GitRepoVolumeSource secret=6:SecretVolumeSource ' +
    'nfs=7:NFSVolumeSource iscsi=8:ISCSIVolumeSource glusterfs=9:GlusterfsVolumeSource ' +
    'persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource rbd=11:RBDVolumeSource flexVolume=12:FlexVolumeSource ' +
    'cinder=13:CinderVolumeSource cephfs=14:CephFSVolumeSource flocker=15:FlockerVolumeSource ' +
    'downwardAPI=16:DownwardAPIVolumeSource fc=17:FCVolumeSource azureFile=18:AzureFileVolumeSource ' +
    'configMap=19:ConfigMapVolumeSource vsphereVolume=20:VsphereVirtualDiskVolumeSource quobyte=21:QuobyteVolumeSource ' +
    'azureDisk=22:AzureDiskVolumeSource photonPersistentDisk=23:PhotonPersistentDiskVolumeSource ' +
    'projected=26:ProjectedVolumeSource portworxVolume=24:PortworxVolumeSource scaleIO=25:ScaleIOVolumeSource ' +
    'storageos=27:StorageOSVolumeSource csi=28:CSIVolumeSource ephemeral=29:EphemeralVolumeSource image=30:ImageVolumeSource',
  HostPathVolumeSource: 'path=1 type=2*',
  EmptyDirVolumeSource: 'medium=1 sizeLimit=2:Quantity',
  GCEPersistentDiskVolumeSource: 'pdName=1 fsType=2 partition=3:int32 readOnly=4:bool',
  AWSElasticBlockStoreVolumeSource: 'volumeID=1 fsType=2 partition=3:int32 readOnly=4:bool',
  GitRepoVolumeSource: 'repository=1 revision=2 directory=3',
  SecretVolumeSource: 'secretName=1 items=2:KeyToPath[] defaultMode=3:int32* optional=4:bool*',
  NFSVolumeSource: 'server=1 path=2 readOnly=3:bool',
  ISCSIVolumeSource:
    'targetPortal=1 iqn=2 lun=3:int32* iscsiInterface=4 fsType=5 readOnly=6:bool portals=7[] ' +
    'chapAuthDiscovery=8:bool chapAuthSession=11:bool secretRef=10:LocalObjectReference initiatorName=12*',
  GlusterfsVolumeSource: 'endpoints=1 path=2 readOnly=3:bool',
  PersistentVolumeClaimVolumeSource: 'claimName=1 readOnly=2:bool',
  RBDVolumeSource:
    'monitors=1[] image=2 fsType=3 pool=4 user=5 keyring=6 secretRef=7:LocalObjectReference readOnly=8:bool',
  FlexVolumeSource: 'driver=1 fsType=2 secretRef=3:LocalObjectReference readOnly=4:bool options=5{}',
  CinderVolumeSource: 'volumeID=1 fsType=2 readOnly=3:bool secretRef=4:LocalObjectReference',
  CephFSVolumeSource: 'monitors=1[] path=2 user=3 secretFile=4 secretRef=5:LocalObjectReference readOnly=6:bool',
  FlockerVolumeSource: 'datasetName=1 datasetUUID=2',
  DownwardAPIVolumeSource: 'items=1:DownwardAPIVolumeFile[] defaultMode=2:int32*',
  DownwardAPIVolumeFile:
    'path=1 fieldRef=2:ObjectFieldSelector resourceFieldRef=3:ResourceFieldSelector mode=4:int32*',
  FCVolumeSource: 'targetWWNs=1[] lun=2:int32* fsType=3 readOnly=4:bool wwids=5[]',
  AzureFileVolumeSource: 'secretName=1 shareName=2 readOnly=3:bool',
  ConfigMapVolumeSource:
    '^localObjectReference=1:LocalObjectReference items=2:KeyToPath[] defaultMode=3:int32* optional=4:bool*',
  VsphereVirtualDiskVolumeSource: 'volumePath=1 fsType=2 storagePolicyName=3 storagePolicyID=4',
  QuobyteVolumeSource: 'registry=1 volume=2 readOnly=3:bool user=4 group=5 tenant=6',
  AzureDiskVolumeSource: 'diskName=1 diskURI=2 cachingMode=3* fsType=4* readOnly=5:bool* kind=6*',
  PhotonPersistentDiskVolumeSource: 'pdID=1 fsType=2',
  ProjectedVolumeSource: 'sources=1:VolumeProjection[] defaultMode=2:int32*',
  VolumeProjection:
    'secret=1:SecretProjection downwardAPI=2:DownwardAPIProjection configMap=3:ConfigMapProjection ' +
    'serviceAccountToken=4:ServiceAccountTokenProjection clusterTrustBundle=5:ClusterTrustBundleProjection ' +
    'podCertificate=6:PodCertificateProjection',
  SecretProjection: '^localObjectReference=1:LocalObjectReference items=2:KeyToPath[] optional=4:bool*',
  ConfigMapProjection: '^localObjectReference=1:LocalObjectReference items=2:KeyToPath[] optional=4:bool*',
  DownwardAPIProjection: 'items=1:DownwardAPIVolumeFile[]',
  ServiceAccountTokenProjection: 'audience=1 expirationSeconds=2:int64* path=3',
  ClusterTrustBundleProjection:
    'name=1* signerName=2* labelSelector=3:LabelSelector optional=5:bool* path=4',
  PodCertificateProjection:
    'signerName=1 keyType=2 maxExpirationSeconds=3:int32* credentialBundlePath=4 keyPath=5 ' +
    'certificateChainPath=6 userAnnotations=7{}',
  KeyToPath: 'key=1 path=2 mode=3:int32*',
  PortworxVolumeSource: 'volumeID=1 fsType=2 readOnly=3:bool',
  ScaleIOVolumeSource:
    'gateway=1 system=2 secretRef=3:LocalObjectReference sslEnabled=4:bool protectionDomain=5 storagePool=6 ' +
    'storageMode=7 volumeName=8 fsType=9 readOnly=10:bool',
  StorageOSVolumeSource: 'volumeName=1 volumeNamespace=2 fsType=3 readOnly=4:bool secretRef=5:LocalObjectReference',
  CSIVolumeSource:
    'driver=1 readOnly=2:bool* fsType=3* volumeAttributes=4{} nodePublishSecretRef=5:LocalObjectReference',
  EphemeralVolumeSource: 'volumeClaimTemplate=1:PersistentVolumeClaimTemplate',
  PersistentVolumeClaimTemplate: 'metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec',
  PersistentVolumeClaimSpec:
    'accessModes=1[] selector=4:LabelSelector resources=2:VolumeResourceRequirements volumeName=3 ' +
    'storageClassName=5* volumeMode=6* dataSource=7:TypedLocalObjectReference dataSourceRef=8:TypedObjectReference ' +
    'volumeAttributesClassName=9*',
  VolumeResourceRequirements: 'limits=1:Quantity{} requests=2:Quantity{}',
  ImageVolumeSource: 'reference=1 pullPolicy=2',
};
