/**
 * The autoscaling/v1 Scale subresource: GET reads replicas and selector from the parent, PUT and PATCH change
 * spec.replicas of the parent (409 on a stale resourceVersion), as upstream's ScaleREST.
 */
import type { RequestContext } from './request.ts';
import { sendJson } from './request.ts';
import type { Store, WriteParams } from './registry/store.ts';
import { badRequest, conflict, methodNotAllowed, invalid } from './errors.ts';
import { toScale } from '../api/autoscaling/v1/scale.ts';
import type { KubeObject, StoredObject } from '../api/meta/types.ts';
import { applyPatch, patchTypeOf } from './patch.ts';
import { fieldError } from '../api/meta/field-errors.ts';

/** Serves GET/PUT/PATCH on …/{name}/scale. Returns the HTTP code sent. */
export async function scaleOf(ctx: RequestContext, store: Store, o: {
  namespace: string; name: string;
  readObject: () => Promise<{ obj: KubeObject }>;
  readRaw: () => Promise<Buffer>;
  writeParams: () => WriteParams;
}): Promise<number> {
  const access = store.def.subresources!.scale!;
  const scaleFrom = (obj: StoredObject): Record<string, unknown> => toScale(store.def, obj, access) as Record<string, unknown>;
  if (ctx.method === 'GET') {
    ctx.req.resume();
    sendJson(ctx.res, 200, scaleFrom(await store.get(o.namespace, o.name)));
    return 200;
  }
  if (ctx.method !== 'PUT' && ctx.method !== 'PATCH') {
    ctx.req.resume();
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  }
  const params = o.writeParams();
  let desired: (current: StoredObject) => Promise<Record<string, unknown>>;
  if (ctx.method === 'PUT') {
    const { obj } = await o.readObject();
    if (obj.kind !== undefined && obj.kind !== 'Scale') throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (Scale)`);
    desired = async () => obj as Record<string, unknown>;
  } else {
    const type = patchTypeOf(ctx.req.headers['content-type']);
    const raw = await o.readRaw();
    desired = async (current) => (await applyPatch(type, scaleFrom(current) as StoredObject, raw, { gvk: { group: 'autoscaling', version: 'v1', kind: 'Scale' } })) as Record<string, unknown>;
  }
  const updated = await store.guaranteedUpdate(o.namespace, o.name, async (current) => {
    const scale = await desired(current);
    const meta = (scale.metadata ?? {}) as { resourceVersion?: string; name?: string };
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) throw conflict(store.def, o.name);
    const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas ?? 0;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
      throw invalid({ group: 'autoscaling', kind: 'Scale' }, o.name, [fieldError.invalid('spec.replicas', replicas, 'must be an integer')]);
    }
    if (replicas < 0) {
      throw invalid({ group: 'autoscaling', kind: 'Scale' }, o.name, [fieldError.invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
    }
    access.setReplicas(current, replicas);
    return current;
  }, { ...params, subresource: 'scale' });
  sendJson(ctx.res, 200, scaleFrom(updated));
  return 200;
}
