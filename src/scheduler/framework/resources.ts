/**
 * Resource arithmetic of the scheduler (framework.Resource and the pod request helpers): CPU in millicores,
 * everything else in units, parsed once per distinct quantity string.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../api/meta/quantity.ts';

/** Default CPU request (millicores) of a container without one, for scoring only (schedutil.DefaultMilliCPURequest). */
export const defaultMilliCPURequest = 100;
/** Default memory request (bytes) of a container without one, for scoring only (200 MiB). */
export const defaultMemoryRequest = 200 * 1024 * 1024;

/** Amounts of resources (framework.Resource). */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  allowedPodNumber: number;
  /** Extended and other scalar resources (hugepages-*, example.com/gpu…), in units. */
  scalar: Map<string, number> | undefined;
}

/** An empty Resource. */
export function emptyResource(): Resource {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0, scalar: undefined };
}

/** A copy of `r`. */
export function cloneResource(r: Resource): Resource {
  return { milliCPU: r.milliCPU, memory: r.memory, ephemeralStorage: r.ephemeralStorage, allowedPodNumber: r.allowedPodNumber, scalar: r.scalar ? new Map(r.scalar) : undefined };
}

const milliCache = new Map<string, number>();
const valueCache = new Map<string, number>();

/** The millivalue of a quantity string (cached; an unparsable quantity counts as 0). */
export function milliValue(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const s = String(q);
  let v = milliCache.get(s);
  if (v === undefined) {
    try {
      v = parseQuantity(s).milliValue();
    } catch {
      v = 0;
    }
    if (milliCache.size > 10_000) milliCache.clear();
    milliCache.set(s, v);
  }
  return v;
}

/** The integer value of a quantity string, rounded up (cached; an unparsable quantity counts as 0). */
export function quantityValue(q: string | number | undefined): number {
  if (q === undefined) return 0;
  const s = String(q);
  let v = valueCache.get(s);
  if (v === undefined) {
    try {
      v = parseQuantity(s).value();
    } catch {
      v = 0;
    }
    if (valueCache.size > 10_000) valueCache.clear();
    valueCache.set(s, v);
  }
  return v;
}

/** Adds one named quantity to `r` (framework.Resource.Add for one entry). */
export function addQuantity(r: Resource, name: string, q: string | number): void {
  switch (name) {
    case 'cpu':
      r.milliCPU += milliValue(q);
      return;
    case 'memory':
      r.memory += quantityValue(q);
      return;
    case 'ephemeral-storage':
      r.ephemeralStorage += quantityValue(q);
      return;
    case 'pods':
      r.allowedPodNumber += quantityValue(q);
      return;
    default:
      if (isScalarResourceName(name)) {
        r.scalar ??= new Map();
        r.scalar.set(name, (r.scalar.get(name) ?? 0) + quantityValue(q));
      }
  }
}

/** A Resource from a ResourceList (node allocatable, container requests). */
export function resourceFromList(list: Record<string, string | number> | undefined): Resource {
  const r = emptyResource();
  if (!list) return r;
  for (const name of Object.keys(list)) {
    const q = list[name];
    if (q !== undefined) addQuantity(r, name, q);
  }
  return r;
}

/** True for resources tracked as scalars: extended (domain-prefixed), hugepages-*, attachable-volumes-* (IsScalarResourceName). */
export function isScalarResourceName(name: string): boolean {
  return isExtendedResourceName(name) || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

/** True for extended resources: a domain-prefixed name outside kubernetes.io/ and not requests.* (IsExtendedResourceName). */
export function isExtendedResourceName(name: string): boolean {
  if (name.startsWith('requests.')) return false;
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const prefix = name.slice(0, slash);
  return prefix !== 'kubernetes.io' && !prefix.endsWith('.kubernetes.io');
}

function addInto(a: Resource, b: Resource): void {
  a.milliCPU += b.milliCPU;
  a.memory += b.memory;
  a.ephemeralStorage += b.ephemeralStorage;
  if (b.scalar) {
    a.scalar ??= new Map();
    for (const [k, v] of b.scalar) a.scalar.set(k, (a.scalar.get(k) ?? 0) + v);
  }
}

function maxInto(a: Resource, b: Resource): void {
  a.milliCPU = Math.max(a.milliCPU, b.milliCPU);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
  if (b.scalar) {
    a.scalar ??= new Map();
    for (const [k, v] of b.scalar) a.scalar.set(k, Math.max(a.scalar.get(k) ?? 0, v));
  }
}

function containerRequests(c: Container, nonZero: boolean): Resource {
  const req = c.resources?.requests as Record<string, string> | undefined;
  const r = resourceFromList(req);
  if (nonZero) {
    if (!req || req['cpu'] === undefined) r.milliCPU = defaultMilliCPURequest;
    if (!req || req['memory'] === undefined) r.memory = defaultMemoryRequest;
  }
  return r;
}

/**
 * The pod's effective request (resource.PodRequests): the sum of its containers, at least the largest init
 * container (restartable init containers — sidecars — add to both), plus the pod overhead. With `nonZero`,
 * containers without a CPU or memory request count the scoring defaults (100m, 200Mi).
 */
export function podRequests(pod: Pod, opts: { nonZero?: boolean } = {}): Resource {
  const nonZero = opts.nonZero ?? false;
  const spec = pod.spec;
  const reqs = emptyResource();
  if (!spec) return reqs;
  for (const c of spec.containers ?? []) addInto(reqs, containerRequests(c, nonZero));
  if (spec.initContainers?.length) {
    const restartable = emptyResource();
    const initMax = emptyResource();
    for (const ic of spec.initContainers) {
      const cr = containerRequests(ic, nonZero);
      if (ic.restartPolicy === 'Always') {
        addInto(reqs, cr);
        addInto(restartable, cr);
        maxInto(initMax, restartable);
      } else {
        const tmp = emptyResource();
        addInto(tmp, cr);
        addInto(tmp, restartable);
        maxInto(initMax, tmp);
      }
    }
    maxInto(reqs, initMax);
  }
  const overhead = spec.overhead as Record<string, string> | undefined;
  if (overhead) addInto(reqs, resourceFromList(overhead));
  return reqs;
}

/** Adds (sign 1) or subtracts (sign -1) `b` into `a`, keeping pod counts out of it. */
export function accumulate(a: Resource, b: Resource, sign: 1 | -1): void {
  a.milliCPU += sign * b.milliCPU;
  a.memory += sign * b.memory;
  a.ephemeralStorage += sign * b.ephemeralStorage;
  if (b.scalar) {
    a.scalar ??= new Map();
    for (const [k, v] of b.scalar) a.scalar.set(k, (a.scalar.get(k) ?? 0) + sign * v);
  }
}
