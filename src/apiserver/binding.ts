/**
 * pods/binding: assigns a pod to a node (upstream BindingREST): sets spec.nodeName once, refuses a second
 * binding with 409, and records the PodScheduled condition.
 */
import type { Store, WriteParams } from './registry/store.ts';
import type { KubeObject } from '../api/meta/types.ts';
import { badRequest, conflict, invalid } from './errors.ts';
import { fieldError } from '../api/meta/field-errors.ts';
import { rfc3339Now } from '../api/meta/time.ts';

/** Binds pod `name` to the node named by the Binding body's target. */
export async function bindPod(store: Store, namespace: string, name: string, body: KubeObject, params: WriteParams): Promise<void> {
  if (body.kind !== undefined && body.kind !== 'Binding') throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (Binding)`);
  const target = (body as { target?: { name?: unknown; kind?: unknown } }).target;
  const nodeName = target?.name;
  if (typeof nodeName !== 'string' || nodeName === '') {
    throw invalid({ group: '', kind: 'Binding' }, name, [fieldError.required('target.name', '')]);
  }
  const bodyName = body.metadata?.name;
  if (bodyName && bodyName !== name) throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
  await store.guaranteedUpdate(namespace, name, (pod) => {
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (pod.metadata.deletionTimestamp) throw conflict(store.def, name, 'pod is being deleted, cannot be assigned to a host');
    if (spec.nodeName) throw conflict(store.def, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    spec.nodeName = nodeName;
    pod.spec = spec;
    const status = (pod.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string; lastProbeTime?: null }[] };
    const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339Now() });
    status.conditions = conds;
    pod.status = status;
    return pod;
  }, { ...params, subresource: 'binding' });
}
