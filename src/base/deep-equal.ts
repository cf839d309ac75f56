/**
 * Structural equality of JSON values, as upstream's equality.Semantic.DeepEqual is used on API objects: key
 * order is ignored and a member holding undefined equals an absent one. A walk, not a serialisation: comparing
 * two 10-container Deployments by canonical JSON cost more than the rest of a patch.
 */

/** True when two JSON values are deeply equal (key order ignored; undefined members equal absent ones). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const aArray = Array.isArray(a);
  if (aArray !== Array.isArray(b)) return false;
  if (aArray) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let inX = 0;
  for (const k in x) {
    const v = x[k];
    if (v === undefined) continue;
    inX++;
    if (!Object.hasOwn(y, k) || !deepEqual(v, y[k])) return false;
  }
  let inY = 0;
  for (const k in y) if (y[k] !== undefined) inY++;
  return inX === inY;
}
