/**
 * ClusterIP and NodePort allocation for Services (upstream's service REST allocators). Each allocated value is a
 * storage key created with create-if-absent, so concurrent creates (and several API servers on one etcd) never
 * hand out the same address or port. Values are released when the Service goes away.
 */
import type { Storage } from '../../storage/interface.ts';
import { isStorageError } from '../../storage/errors.ts';
import type { StoredObject } from '../../api/meta/types.ts';
import { ApiError, invalid } from '../errors.ts';
import { fieldError } from '../../api/meta/field-errors.ts';

/** Allocation ranges. */
export interface ServiceRanges {
  /** IPv4 CIDR of ClusterIPs (default 10.43.0.0/16, as k3s). */
  serviceCIDR: string;
  /** Inclusive NodePort range (default 30000-32767). */
  nodePortMin: number;
  nodePortMax: number;
}

/** The default ranges. */
export const DEFAULT_SERVICE_RANGES: ServiceRanges = { serviceCIDR: '10.43.0.0/16', nodePortMin: 30000, nodePortMax: 32767 };

const IP_PREFIX = '/registry/skiff/allocations/clusterips/';
const PORT_PREFIX = '/registry/skiff/allocations/nodeports/';

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return NaN;
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

interface ServicePort { port?: number; nodePort?: number; protocol?: string; name?: string }
interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  ports?: ServicePort[];
}

/** Allocates and releases ClusterIPs and NodePorts. */
export class ServiceAllocator {
  private readonly storage: Storage;
  private readonly base: number;
  private readonly size: number;
  private readonly ranges: ServiceRanges;
  private nextIp = 0;
  private nextPort = 0;

  constructor(storage: Storage, ranges: ServiceRanges = DEFAULT_SERVICE_RANGES) {
    this.storage = storage;
    this.ranges = ranges;
    const [net, bits] = ranges.serviceCIDR.split('/');
    const b = Number(bits);
    this.base = ipToInt(net ?? '');
    this.size = 2 ** (32 - b);
    if (Number.isNaN(this.base) || !(b >= 8 && b <= 30)) throw new Error(`invalid service CIDR ${ranges.serviceCIDR}`);
    this.nextIp = Math.floor(Math.random() * (this.size - 12)) + 10;
    this.nextPort = Math.floor(Math.random() * (ranges.nodePortMax - ranges.nodePortMin));
  }

  /** The first address of the range: the `kubernetes` Service's ClusterIP. */
  get apiServiceIP(): string {
    return intToIp(this.base + 1);
  }

  private inRange(ip: string): boolean {
    const n = ipToInt(ip);
    return !Number.isNaN(n) && n > this.base && n < this.base + this.size - 1;
  }

  private async claim(key: string, owner: string): Promise<boolean> {
    try {
      await this.storage.create(key, new TextEncoder().encode(owner));
      return true;
    } catch (e) {
      if (isStorageError(e, 'KeyExists')) return false;
      throw e;
    }
  }

  /**
   * Fills spec.clusterIP(s), ipFamilies and nodePorts of a Service being created, claiming each value.
   * Returns the claimed keys (to release if the create then fails).
   */
  async allocate(svc: StoredObject, opts: { dryRun?: boolean } = {}): Promise<string[]> {
    const spec = (svc.spec ?? {}) as ServiceSpec;
    const name = svc.metadata.name ?? '';
    const owner = `${svc.metadata.namespace ?? ''}/${name}`;
    const claimed: string[] = [];
    try {
      if (spec.type !== 'ExternalName') {
        const wanted = spec.clusterIP ?? spec.clusterIPs?.[0] ?? '';
        if (wanted === 'None') {
          spec.clusterIP = 'None';
          spec.clusterIPs = ['None'];
        } else if (wanted !== '') {
          if (!this.inRange(wanted)) {
            throw invalid({ group: '', kind: 'Service' }, name, [fieldError.invalid('spec.clusterIPs', [wanted], `failed to allocate IP ${wanted}: the provided IP (${wanted}) is not in the valid range. The range of valid IPs is ${this.ranges.serviceCIDR}`)]);
          }
          const key = IP_PREFIX + wanted;
          if (!opts.dryRun) {
            if (!(await this.claim(key, owner))) {
              throw invalid({ group: '', kind: 'Service' }, name, [fieldError.invalid('spec.clusterIPs', [wanted], `failed to allocate IP ${wanted}: provided IP is already allocated`)]);
            }
            claimed.push(key);
          }
          spec.clusterIP = wanted;
          spec.clusterIPs = [wanted];
        } else {
          const ip = await this.freeIp(owner, opts.dryRun === true);
          if (!opts.dryRun) claimed.push(IP_PREFIX + ip);
          spec.clusterIP = ip;
          spec.clusterIPs = [ip];
        }
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
        for (const [i, p] of (spec.ports ?? []).entries()) {
          if (p.nodePort) {
            if (p.nodePort < this.ranges.nodePortMin || p.nodePort > this.ranges.nodePortMax) {
              throw invalid({ group: '', kind: 'Service' }, name, [fieldError.invalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${this.ranges.nodePortMin}-${this.ranges.nodePortMax}`)]);
            }
            const key = `${PORT_PREFIX}${(p.protocol ?? 'TCP').toLowerCase()}/${p.nodePort}`;
            if (!opts.dryRun) {
              if (!(await this.claim(key, owner))) {
                throw invalid({ group: '', kind: 'Service' }, name, [fieldError.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated')]);
              }
              claimed.push(key);
            }
          } else {
            p.nodePort = await this.freePort(owner, p.protocol ?? 'TCP', opts.dryRun === true, claimed);
          }
        }
      }
      svc.spec = spec;
      return claimed;
    } catch (e) {
      await this.release(claimed);
      throw e;
    }
  }

  private async freeIp(owner: string, dryRun: boolean): Promise<string> {
    const usable = this.size - 2;
    for (let i = 0; i < usable; i++) {
      // Skip .1 (the kubernetes Service) unless asked for explicitly.
      const offset = ((this.nextIp + i) % usable) + 1;
      if (offset === 1) continue;
      const ip = intToIp(this.base + offset);
      if (dryRun) {
        const { kv } = await this.storage.get(IP_PREFIX + ip);
        if (!kv) return ip;
        continue;
      }
      if (await this.claim(IP_PREFIX + ip, owner)) {
        this.nextIp = offset;
        return ip;
      }
    }
    throw new ApiError({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError',
      message: `Internal error occurred: failed to allocate a serviceIP: range is full`,
    });
  }

  private async freePort(owner: string, protocol: string, dryRun: boolean, claimed: string[]): Promise<number> {
    const span = this.ranges.nodePortMax - this.ranges.nodePortMin + 1;
    for (let i = 0; i < span; i++) {
      const port = this.ranges.nodePortMin + ((this.nextPort + i) % span);
      const key = `${PORT_PREFIX}${protocol.toLowerCase()}/${port}`;
      if (dryRun) {
        const { kv } = await this.storage.get(key);
        if (!kv) return port;
        continue;
      }
      if (await this.claim(key, owner)) {
        claimed.push(key);
        this.nextPort = (this.nextPort + i + 1) % span;
        return port;
      }
    }
    throw new ApiError({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError',
      message: `Internal error occurred: failed to allocate a nodePort: range is full`,
    });
  }

  /** The keys a stored Service holds. */
  keysOf(svc: StoredObject): string[] {
    const spec = (svc.spec ?? {}) as ServiceSpec;
    const keys: string[] = [];
    for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) {
      if (ip && ip !== 'None') keys.push(IP_PREFIX + ip);
    }
    for (const p of spec.ports ?? []) {
      if (p.nodePort) keys.push(`${PORT_PREFIX}${(p.protocol ?? 'TCP').toLowerCase()}/${p.nodePort}`);
    }
    return keys;
  }

  /** Releases claimed keys (best effort: a leftover key only wastes one address). */
  async release(keys: string[]): Promise<void> {
    for (const k of keys) {
      try {
        await this.storage.delete(k);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Keeps allocated values across an update that leaves them unset (upstream patchAllocatedValues), and
   * allocates node ports for ports added to a NodePort Service. Returns newly claimed keys.
   */
  async reconcileUpdate(svc: StoredObject, old: StoredObject): Promise<string[]> {
    const spec = (svc.spec ?? {}) as ServiceSpec;
    const oldSpec = (old.spec ?? {}) as ServiceSpec;
    if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName') {
      if (!spec.clusterIP && oldSpec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
      if ((!spec.clusterIPs || spec.clusterIPs.length === 0) && oldSpec.clusterIPs) spec.clusterIPs = oldSpec.clusterIPs;
      spec.ipFamilies ??= oldSpec.ipFamilies;
      spec.ipFamilyPolicy ??= oldSpec.ipFamilyPolicy;
    }
    const claimed: string[] = [];
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      const oldPorts = new Map((oldSpec.ports ?? []).map((p) => [`${p.port}/${p.protocol ?? 'TCP'}`, p.nodePort]));
      const owner = `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
      for (const p of spec.ports ?? []) {
        if (!p.nodePort) {
          const prev = oldPorts.get(`${p.port}/${p.protocol ?? 'TCP'}`);
          p.nodePort = prev ?? (await this.freePort(owner, p.protocol ?? 'TCP', false, claimed));
        }
      }
    }
    svc.spec = spec;
    return claimed;
  }
}
