/**
 * Controller references (metav1.GetControllerOf, metav1.NewControllerRef) and the ControllerRefManager's claim
 * rules: a controller owns the objects whose controllerRef names it and that its selector matches; it adopts
 * matching orphans and releases owned objects that no longer match (pkg/controller/controller_ref_manager.go).
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ObjectLike, ResourceClient } from '../../client/index.ts';
import { isNotFound } from '../../client/index.ts';

/** The ownerReference with controller: true, if any. */
export function controllerRefOf(obj: ObjectLike): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** metav1.NewControllerRef: controller and blockOwnerDeletion set. */
export function newControllerRef(owner: ObjectLike, gvk: { apiVersion: string; kind: string }): OwnerReference {
  return {
    apiVersion: gvk.apiVersion,
    kind: gvk.kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** What claimObjects needs to know about the claiming controller. */
export interface ClaimOptions<T extends ObjectLike> {
  /** The controller object (its uid, namespace and deletionTimestamp matter). */
  owner: ObjectLike;
  /** Its apiVersion and kind, for the controllerRef written on adoption. */
  gvk: { apiVersion: string; kind: string };
  /** The selector test. */
  match: (obj: T) => boolean;
  /** Client of the claimed objects' resource, for the adopt and release patches. */
  client: ResourceClient<T>;
  /**
   * RecheckDeletionTimestamp: called once before the first adoption; must throw when the controller is gone or
   * being deleted (read it fresh from the API, not from a cache, as upstream does).
   */
  canAdopt: () => Promise<void>;
}

/**
 * ClaimObjects: the candidates this controller owns after adopting matching orphans and releasing owned
 * non-matching ones. Adopt/release races (the object vanished) are skipped; other write errors throw.
 */
export async function claimObjects<T extends ObjectLike>(candidates: T[], opts: ClaimOptions<T>): Promise<T[]> {
  const ownerUid = opts.owner.metadata?.uid;
  const ownerDeleting = !!opts.owner.metadata?.deletionTimestamp;
  const claimed: T[] = [];
  let adoptChecked = false;
  const errors: unknown[] = [];
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (opts.match(obj)) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      try {
        await patchOwnerRefs(obj, opts.client, (refs) => refs.filter((r) => r.uid !== ownerUid));
      } catch (e) {
        if (!isNotFound(e)) errors.push(e);
      }
      continue;
    }
    if (ownerDeleting || !opts.match(obj) || obj.metadata?.deletionTimestamp) continue;
    if (opts.owner.metadata?.namespace && opts.owner.metadata.namespace !== obj.metadata?.namespace) continue;
    try {
      if (!adoptChecked) {
        await opts.canAdopt();
        adoptChecked = true;
      }
      const adopted = await patchOwnerRefs(obj, opts.client, (refs) => [...refs, newControllerRef(opts.owner, opts.gvk)]);
      claimed.push(adopted);
    } catch (e) {
      if (!isNotFound(e)) errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
  return claimed;
}

/** JSON-patches metadata.ownerReferences, guarded by the object's uid and resourceVersion. */
export async function patchOwnerRefs<T extends ObjectLike>(obj: T, client: ResourceClient<T>, edit: (refs: OwnerReference[]) => OwnerReference[]): Promise<T> {
  const m = obj.metadata ?? {};
  const refs = edit([...(m.ownerReferences ?? [])]);
  const ops: unknown[] = [{ op: 'test', path: '/metadata/uid', value: m.uid }];
  if (m.resourceVersion) ops.push({ op: 'test', path: '/metadata/resourceVersion', value: m.resourceVersion });
  ops.push(refs.length > 0 ? { op: 'add', path: '/metadata/ownerReferences', value: refs } : { op: 'remove', path: '/metadata/ownerReferences' });
  return client.patch(m.name ?? '', ops, { type: 'json', namespace: m.namespace });
}
