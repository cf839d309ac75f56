/**
 * The node IPAM range allocator's arithmetic (pkg/controller/nodeipam/ipam/cidrset): a cluster CIDR cut into
 * per-node subnets of a fixed mask (IPv4), allocated round-robin, with subnets already on nodes marked used.
 */

/** An IPv4 CIDR as a base address (32-bit unsigned) and prefix length. */
export interface Cidr4 {
  base: number;
  prefix: number;
}

/** Parses "a.b.c.d/n" (the host bits are cleared); throws for anything else. */
export function parseCidr4(s: string): Cidr4 {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s.trim());
  if (!m) throw new Error(`invalid CIDR address: ${s}`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`invalid CIDR address: ${s}`);
  const ip = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix };
}

/** Formats a CIDR as "a.b.c.d/n". */
export function formatCidr4(c: Cidr4): string {
  const b = c.base;
  return `${b >>> 24}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}/${c.prefix}`;
}

/** A set of node subnets cut from a cluster CIDR (cidrset.CidrSet). */
export class CidrSet {
  readonly cluster: Cidr4;
  readonly nodeMask: number;
  private readonly used = new Set<number>();
  private readonly max: number;
  private next = 0;

  constructor(cluster: string, nodeMask: number) {
    this.cluster = parseCidr4(cluster);
    if (nodeMask < this.cluster.prefix || nodeMask > 32) throw new Error(`node CIDR mask /${nodeMask} does not fit cluster CIDR ${cluster}`);
    this.nodeMask = nodeMask;
    this.max = 2 ** (nodeMask - this.cluster.prefix);
  }

  private indexOf(c: Cidr4): number | undefined {
    if (c.prefix !== this.nodeMask) return undefined;
    const size = 2 ** (32 - this.nodeMask);
    const off = c.base - this.cluster.base;
    if (off < 0 || off % size !== 0) return undefined;
    const i = off / size;
    return i < this.max ? i : undefined;
  }

  /** Occupy: marks a subnet already assigned to a node; false when it is not one of this set's subnets. */
  occupy(cidr: string): boolean {
    let c: Cidr4;
    try {
      c = parseCidr4(cidr);
    } catch {
      return false;
    }
    const i = this.indexOf(c);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  /** Release: frees a subnet. */
  release(cidr: string): void {
    try {
      const i = this.indexOf(parseCidr4(cidr));
      if (i !== undefined) this.used.delete(i);
    } catch {
      // Not ours.
    }
  }

  /** AllocateNext: the next free subnet (round-robin from the last allocation), or undefined when full. */
  allocateNext(): string | undefined {
    const size = 2 ** (32 - this.nodeMask);
    for (let k = 0; k < this.max; k++) {
      const i = (this.next + k) % this.max;
      if (this.used.has(i)) continue;
      this.used.add(i);
      this.next = (i + 1) % this.max;
      return formatCidr4({ base: (this.cluster.base + i * size) >>> 0, prefix: this.nodeMask });
    }
    return undefined;
  }
}
