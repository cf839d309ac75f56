/**
 * apimachinery messages: meta/v1 (ObjectMeta, LabelSelector, DeleteOptions, Time …), runtime
 * (Unknown, RawExtension), api/resource (Quantity) and util/intstr (IntOrString). Notation: see
 * schema.ts. Time, MicroTime, Quantity, IntOrString, RawExtension, FieldsV1 and ExtraValue have
 * custom JSON forms applied by the decoder (decode.ts).
 */

/** apimachinery message table. */
export const apimachinery: Record<string, string> = {
  // runtime: the envelope after the `k8s\0` magic.
  Unknown: 'typeMeta=1:TypeMeta raw=2:bytes contentEncoding=3 contentType=4',
  TypeMeta: 'apiVersion=1 kind=2',
  RawExtension: 'raw=1:bytes',

  // Well-known values with custom JSON.
  Time: 'seconds=1:int64 nanos=2:int32',
  MicroTime: 'seconds=1:int64 nanos=2:int32',
  Quantity: 'string=1',
  IntOrString: 'type=1:int64 intVal=2:int32 strVal=3',
  FieldsV1: 'Raw=1:bytes',

  // meta/v1.
  ObjectMeta:
    'name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7:int64 ' +
    'creationTimestamp=8:Time deletionTimestamp=9:Time deletionGracePeriodSeconds=10:int64* labels=11{} ' +
    'annotations=12{} ownerReferences=13:OwnerReference[] finalizers=14[] managedFields=17:ManagedFieldsEntry[]',
  OwnerReference: 'apiVersion=5 kind=1 name=3 uid=4 controller=6:bool* blockOwnerDeletion=7:bool*',
  ManagedFieldsEntry:
    'manager=1 operation=2 apiVersion=3 time=4:Time fieldsType=6 fieldsV1=7:FieldsV1 subresource=8',
  LabelSelector: 'matchLabels=1{} matchExpressions=2:LabelSelectorRequirement[]',
  LabelSelectorRequirement: 'key=1 operator=2 values=3[]',
  FieldSelectorRequirement: 'key=1 operator=2 values=3[]',
  Condition: 'type=1 status=2 observedGeneration=3:int64 lastTransitionTime=4:Time reason=5 message=6',
  // Field 6 (ignoreStoreReadErrorWithClusterBreakingPotential) is from types.go's protobuf tag.
  DeleteOptions:
    'gracePeriodSeconds=1:int64* preconditions=2:Preconditions orphanDependents=3:bool* propagationPolicy=4* ' +
    'dryRun=5[] ignoreStoreReadErrorWithClusterBreakingPotential=6:bool*',
  Preconditions: 'uid=1* resourceVersion=2*',
};
