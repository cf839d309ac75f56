/** autoscaling/v1 Scale: the object the /scale subresource of Deployments, ReplicaSets and StatefulSets serves. */
import type { Scale } from 'kubernetes-types/autoscaling/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import type { ResourceDefinition, ScaleAccess } from '../../resource.ts';

/**
 * Builds the autoscaling/v1 Scale of an object, as upstream's scaleFromDeployment & co: metadata name, namespace,
 * uid, resourceVersion and creationTimestamp of the parent; spec.replicas (omitted when 0, as omitempty does);
 * status.replicas (always present) and status.selector (omitted when empty).
 */
export function toScale(def: Pick<ResourceDefinition, 'kind'>, obj: StoredObject, scaleAccess: ScaleAccess): Scale {
  void def;
  const m = obj.metadata;
  const metadata: ObjectMeta = {};
  if (m.name !== undefined) metadata.name = m.name;
  if (m.namespace !== undefined) metadata.namespace = m.namespace;
  if (m.uid !== undefined) (metadata as { uid?: string }).uid = m.uid;
  if (m.resourceVersion !== undefined) (metadata as { resourceVersion?: string }).resourceVersion = m.resourceVersion;
  (metadata as { creationTimestamp?: string | null }).creationTimestamp = m.creationTimestamp ?? null;
  const specReplicas = scaleAccess.specReplicas(obj);
  const selector = scaleAccess.selector(obj);
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata,
    spec: specReplicas !== 0 ? { replicas: specReplicas } : {},
    status: selector !== '' ? { replicas: scaleAccess.statusReplicas(obj), selector } : { replicas: scaleAccess.statusReplicas(obj) },
  };
}

/** The desired replica count carried by an incoming Scale (0 when spec.replicas is omitted). */
export function scaleSpecReplicas(scale: Scale): number {
  return scale.spec?.replicas ?? 0;
}
