/**
 * The few Reflect metadata functions tsyringe (a dependency of @peculiar/x509) checks for at load time; it only
 * uses them for decorator metadata, which Skiff never emits. Imported for its effect, before @peculiar/x509.
 */
type MetaStore = WeakMap<object, Map<unknown, unknown>>;
const store: MetaStore = new WeakMap();

function mapOf(target: object, create: boolean): Map<unknown, unknown> | undefined {
  let m = store.get(target);
  if (!m && create) {
    m = new Map();
    store.set(target, m);
  }
  return m;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (key: unknown, value: unknown, target: object): void => {
    mapOf(target, true)!.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: object): unknown => mapOf(target, false)?.get(key);
  R.getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const v = mapOf(t, false)?.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/** Marker so the import is not elided. */
export const reflectMetadataInstalled = true;
