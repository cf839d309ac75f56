/**
 * The core/v1 group: every kind this group serves, for the catalog.
 */
import type { ResourceDefinition } from '../../resource.ts';
import { configmaps } from './configmap.ts';
import { endpoints } from './endpoints.ts';
import { events } from './event.ts';
import { limitranges } from './limitrange.ts';
import { namespaces } from './namespace.ts';
import { nodes } from './node.ts';
import { persistentvolumeclaims } from './persistentvolumeclaim.ts';
import { persistentvolumes } from './persistentvolume.ts';
import { pods } from './pod.ts';
import { replicationcontrollers } from './replicationcontroller.ts';
import { resourcequotas } from './resourcequota.ts';
import { secrets } from './secret.ts';
import { serviceaccounts } from './serviceaccount.ts';
import { services } from './service.ts';

export {
  configmaps, endpoints, events, limitranges, namespaces, nodes, persistentvolumeclaims, persistentvolumes, pods,
  replicationcontrollers, resourcequotas, secrets, serviceaccounts, services,
};
export { computeQOSClass, defaultPodSpec, defaultPodTemplateSpec, validatePodSpec, validatePodTemplateSpec } from './pod-spec.ts';

/** Every kind of the core/v1 group, in discovery order (alphabetical by plural, as upstream lists them). */
export const coreV1Resources: ResourceDefinition[] = [
  configmaps, endpoints, events, limitranges, namespaces, nodes, persistentvolumeclaims, persistentvolumes, pods,
  replicationcontrollers, resourcequotas, secrets, serviceaccounts, services,
];
