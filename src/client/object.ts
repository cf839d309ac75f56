/**
 * The structural type the client works with. kubernetes-types interfaces (Pod, Lease…) have no index
 * signature, so they do not extend KubeObject; every object shape does extend this.
 */
import type { ObjectMeta } from '../api/meta/types.ts';

/** Any Kubernetes object: type meta plus optional metadata. */
export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}
