/**
 * Messages of the named API groups kubectl's typed clients write: apps/v1, batch/v1,
 * rbac.authorization.k8s.io/v1, authentication.k8s.io/v1, authorization.k8s.io/v1, policy/v1,
 * scheduling.k8s.io/v1, networking.k8s.io/v1 and autoscaling/v1. Notation: see schema.ts.
 */

const SUBJECT_ACCESS_REVIEW = 'metadata=1:ObjectMeta spec=2:SubjectAccessReviewSpec status=3:SubjectAccessReviewStatus';

/** Named-group message table. */
export const groups: Record<string, string> = {
  // apps/v1
  Deployment: 'metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus',
  DeploymentSpec:
    'replicas=1:int32* selector=2:LabelSelector template=3:PodTemplateSpec strategy=4:DeploymentStrategy ' +
    'minReadySeconds=5:int32 revisionHistoryLimit=6:int32* paused=7:bool progressDeadlineSeconds=9:int32* ' +
    'podReplacementPolicy=10*',
  DeploymentStrategy: 'type=1 rollingUpdate=2:RollingUpdateDeployment',
  RollingUpdateDeployment: 'maxUnavailable=1:IntOrString maxSurge=2:IntOrString',
  DeploymentStatus:
    'observedGeneration=1:int64 replicas=2:int32 updatedReplicas=3:int32 readyReplicas=7:int32 ' +
    'availableReplicas=4:int32 unavailableReplicas=5:int32 terminatingReplicas=9:int32* ' +
    'conditions=6:DeploymentCondition[] collisionCount=8:int32*',
  DeploymentCondition:
    'type=1 status=2 lastUpdateTime=6:Time lastTransitionTime=7:Time reason=4 message=5',
  ReplicaSet: 'metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus',
  ReplicaSetSpec: 'replicas=1:int32* minReadySeconds=4:int32 selector=2:LabelSelector template=3:PodTemplateSpec',
  ReplicaSetStatus:
    'replicas=1:int32* fullyLabeledReplicas=2:int32 readyReplicas=4:int32 availableReplicas=5:int32 ' +
    'terminatingReplicas=7:int32* observedGeneration=3:int64 conditions=6:ReplicaSetCondition[]',
  ReplicaSetCondition: 'type=1 status=2 lastTransitionTime=3:Time reason=4 message=5',

  // batch/v1
  Job: 'metadata=1:ObjectMeta spec=2:JobSpec status=3:JobStatus',
  JobSpec:
    'parallelism=1:int32* completions=2:int32* activeDeadlineSeconds=3:int64* podFailurePolicy=11:PodFailurePolicy ' +
    'successPolicy=16:SuccessPolicy backoffLimit=7:int32* backoffLimitPerIndex=12:int32* maxFailedIndexes=13:int32* ' +
    'selector=4:LabelSelector manualSelector=5:bool* template=6:PodTemplateSpec ttlSecondsAfterFinished=8:int32* ' +
    'completionMode=9* suspend=10:bool* podReplacementPolicy=14* managedBy=15*',
  JobStatus:
    'conditions=1:JobCondition[] startTime=2:Time completionTime=3:Time active=4:int32 succeeded=5:int32 ' +
    'failed=6:int32 terminating=11:int32* completedIndexes=7 failedIndexes=10* ' +
    'uncountedTerminatedPods=8:UncountedTerminatedPods ready=9:int32*',
  JobCondition: 'type=1 status=2 lastProbeTime=3:Time lastTransitionTime=4:Time reason=5 message=6',
  UncountedTerminatedPods: 'succeeded=1[] failed=2[]',
  PodFailurePolicy: 'rules=1:PodFailurePolicyRule[]',
  PodFailurePolicyRule:
    'action=1 onExitCodes=2:PodFailurePolicyOnExitCodesRequirement onPodConditions=3:PodFailurePolicyOnPodConditionsPattern[]',
  PodFailurePolicyOnExitCodesRequirement: 'containerName=1* operator=2 values=3:int32[]',
  PodFailurePolicyOnPodConditionsPattern: 'type=1 status=2',
  SuccessPolicy: 'rules=1:SuccessPolicyRule[]',
  SuccessPolicyRule: 'succeededIndexes=1* succeededCount=2:int32*',
  JobTemplateSpec: 'metadata=1:ObjectMeta spec=2:JobSpec',
  CronJob: 'metadata=1:ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus',
  CronJobSpec:
    'schedule=1 timeZone=8* startingDeadlineSeconds=2:int64* concurrencyPolicy=3 suspend=4:bool* ' +
    'jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:int32* failedJobsHistoryLimit=7:int32*',
  CronJobStatus: 'active=1:ObjectReference[] lastScheduleTime=4:Time lastSuccessfulTime=5:Time',

  // rbac.authorization.k8s.io/v1
  Role: 'metadata=1:ObjectMeta rules=2:PolicyRule[]',
  ClusterRole: 'metadata=1:ObjectMeta rules=2:PolicyRule[] aggregationRule=3:AggregationRule',
  AggregationRule: 'clusterRoleSelectors=1:LabelSelector[]',
  PolicyRule: 'verbs=1[] apiGroups=2[] resources=3[] resourceNames=4[] nonResourceURLs=5[]',
  RoleBinding: 'metadata=1:ObjectMeta subjects=2:Subject[] roleRef=3:RoleRef',
  ClusterRoleBinding: 'metadata=1:ObjectMeta subjects=2:Subject[] roleRef=3:RoleRef',
  Subject: 'kind=1 apiGroup=2 name=3 namespace=4',
  RoleRef: 'apiGroup=1 kind=2 name=3',

  // authentication.k8s.io/v1
  TokenRequest: 'metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus',
  TokenRequestSpec: 'audiences=1[] expirationSeconds=4:int64* boundObjectRef=3:BoundObjectReference',
  BoundObjectReference: 'kind=1 apiVersion=2 name=3 uid=4',
  TokenRequestStatus: 'token=1 expirationTimestamp=2:Time',
  SelfSubjectReview: 'metadata=1:ObjectMeta status=2:SelfSubjectReviewStatus',
  SelfSubjectReviewStatus: 'userInfo=1:UserInfo',
  UserInfo: 'username=1 uid=2 groups=3[] extra=4:ExtraValue{}',
  ExtraValue: 'items=1[]',

  // authorization.k8s.io/v1
  SelfSubjectAccessReview:
    'metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  SelfSubjectAccessReviewSpec:
    'resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes',
  SubjectAccessReview: SUBJECT_ACCESS_REVIEW,
  LocalSubjectAccessReview: SUBJECT_ACCESS_REVIEW,
  SubjectAccessReviewSpec:
    'resourceAttributes=1:ResourceAttributes nonResourceAttributes=2:NonResourceAttributes user=3 groups=4[] ' +
    'extra=5:ExtraValue{} uid=6',
  ResourceAttributes:
    'namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7 ' +
    'fieldSelector=8:FieldSelectorAttributes labelSelector=9:LabelSelectorAttributes',
  FieldSelectorAttributes: 'rawSelector=1 requirements=2:FieldSelectorRequirement[]',
  LabelSelectorAttributes: 'rawSelector=1 requirements=2:LabelSelectorRequirement[]',
  NonResourceAttributes: 'path=1 verb=2',
  SubjectAccessReviewStatus: 'allowed=1:bool* denied=4:bool reason=2 evaluationError=3',
  SelfSubjectRulesReview:
    'metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec status=3:SubjectRulesReviewStatus',
  SelfSubjectRulesReviewSpec: 'namespace=1',
  SubjectRulesReviewStatus:
    'resourceRules=1:ResourceRule[] nonResourceRules=2:NonResourceRule[] incomplete=3:bool* evaluationError=4',
  ResourceRule: 'verbs=1[] apiGroups=2[] resources=3[] resourceNames=4[]',
  NonResourceRule: 'verbs=1[] nonResourceURLs=2[]',

  // policy/v1
  Eviction: 'metadata=1:ObjectMeta deleteOptions=2:DeleteOptions',
  PodDisruptionBudget:
    'metadata=1:ObjectMeta spec=2:PodDisruptionBudgetSpec status=3:PodDisruptionBudgetStatus',
  PodDisruptionBudgetSpec:
    'minAvailable=1:IntOrString selector=2:LabelSelector maxUnavailable=3:IntOrString unhealthyPodEvictionPolicy=4*',
  PodDisruptionBudgetStatus:
    'observedGeneration=1:int64 disruptedPods=2:Time{} disruptionsAllowed=3:int32* currentHealthy=4:int32* ' +
    'desiredHealthy=5:int32* expectedPods=6:int32* conditions=7:Condition[]',

  // scheduling.k8s.io/v1
  PriorityClass: 'metadata=1:ObjectMeta value=2:int32* globalDefault=3:bool description=4 preemptionPolicy=5*',

  // networking.k8s.io/v1
  Ingress: 'metadata=1:ObjectMeta spec=2:IngressSpec status=3:IngressStatus',
  IngressSpec: 'ingressClassName=4* defaultBackend=1:IngressBackend tls=2:IngressTLS[] rules=3:IngressRule[]',
  IngressBackend: 'service=4:IngressServiceBackend resource=3:TypedLocalObjectReference',
  IngressServiceBackend: 'name=1 port=2:ServiceBackendPort',
  ServiceBackendPort: 'name=1 number=2:int32',
  IngressTLS: 'hosts=1[] secretName=2',
  IngressRule: 'host=1 ^ingressRuleValue=2:IngressRuleValue',
  IngressRuleValue: 'http=1:HTTPIngressRuleValue',
  HTTPIngressRuleValue: 'paths=1:HTTPIngressPath[]',
  HTTPIngressPath: 'path=1 pathType=3* backend=2:IngressBackend',
  IngressStatus: 'loadBalancer=1:IngressLoadBalancerStatus',
  IngressLoadBalancerStatus: 'ingress=1:IngressLoadBalancerIngress[]',
  IngressLoadBalancerIngress: 'ip=1 hostname=2 ports=4:IngressPortStatus[]',
  IngressPortStatus: 'port=1:int32* protocol=2 error=3*',

  // autoscaling/v1 (the scale subresource)
  Scale: 'metadata=1:ObjectMeta spec=2:ScaleSpec status=3:ScaleStatus',
  ScaleSpec: 'replicas=1:int32*',
  ScaleStatus: 'replicas=1:int32* selector=2',
};

/** The kinds a protobuf body may carry, by `apiVersion/kind`; DeleteOptions is accepted under any apiVersion. */
export const KINDS: Readonly<Record<string, string>> = {
  'v1/Namespace': 'Namespace',
  'v1/Secret': 'Secret',
  'v1/ConfigMap': 'ConfigMap',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/ResourceQuota': 'ResourceQuota',
  'apps/v1/Deployment': 'Deployment',
  'apps/v1/ReplicaSet': 'ReplicaSet',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'authorization.k8s.io/v1/SubjectAccessReview': 'SubjectAccessReview',
  'authorization.k8s.io/v1/LocalSubjectAccessReview': 'LocalSubjectAccessReview',
  'policy/v1/Eviction': 'Eviction',
  'policy/v1/PodDisruptionBudget': 'PodDisruptionBudget',
  'scheduling.k8s.io/v1/PriorityClass': 'PriorityClass',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'autoscaling/v1/Scale': 'Scale',
};
