/**
 * Unknown-field pruning: what Go's typed decoding silently drops when fieldValidation is Warn or Ignore.
 */
import type { GroupVersionKind } from '../../api/meta/types.ts';
import { isObject, typeNodeFor } from './type-node.ts';
import type { TypeNode } from './type-node.ts';

/**
 * Removes, in place, every field of `obj` that the kind's schema does not declare. Map values
 * (additionalProperties), x-kubernetes-preserve-unknown-fields subtrees and free-form values are kept; objects of
 * kinds without a schema are left untouched.
 */
export function pruneUnknownFields(obj: object, gvk: GroupVersionKind): void {
  const node = typeNodeFor(gvk);
  if (node !== undefined) pruneValue(obj, node);
}

function pruneValue(v: unknown, node: TypeNode | undefined): void {
  if (node === undefined) return;
  if (Array.isArray(v)) {
    if (node.kind === 'list') {
      const elem = node.elem;
      for (const item of v) pruneValue(item, elem);
    }
    return;
  }
  if (!isObject(v)) return;
  if (node.kind === 'struct') {
    for (const k of Object.keys(v)) {
      const child = node.field(k);
      if (child === undefined) {
        if (!node.preserveUnknown) delete v[k];
      } else pruneValue(v[k], child);
    }
  } else if (node.kind === 'map') {
    const elem = node.elem;
    for (const k of Object.keys(v)) pruneValue(v[k], elem);
  }
}
