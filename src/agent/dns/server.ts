/**
 * The cluster DNS server: UDP and TCP on one address and port, answering names in the cluster zone from a
 * `ClusterView` and forwarding the rest to upstream resolvers (SERVFAIL at once when there is none). A query
 * that cannot be decoded gets FORMERR (when its header is readable) and never stops the server.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import { logger } from '../../base/log.ts';
import { inZone, resolveInZone } from './records.ts';
import type { ClusterView, ZoneOptions } from './records.ts';

const log = logger('cluster-dns');

const rcodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof rcodes;

/** Options of startDnsServer. */
export interface DnsServerOptions extends ZoneOptions {
  /** Listen address (default 127.0.0.1). */
  address?: string;
  /** Port (default 53; 0 = any free port, the same for UDP and TCP). */
  port?: number;
  /** Upstream resolvers for names outside the zone, as `ip` or `ip:port` (default none: SERVFAIL). */
  upstreams?: string[];
  /** Upstream timeout (default 2000 ms). */
  forwardTimeoutMs?: number;
  /** Answers kept while the view's version is unchanged (default 10,000; 0 disables the cache). */
  cacheSize?: number;
}

/** A running DNS server. */
export interface RunningDnsServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

function reply(query: DecodedPacket, rcode: Rcode, extra: Partial<Packet> & { authoritative?: boolean } = {}): Buffer {
  const flags = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: flags | dnsPacket.RECURSION_AVAILABLE | (extra.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcodes[rcode],
    questions: query.questions ?? [],
    answers: extra.answers ?? [],
    authorities: extra.authorities ?? [],
    additionals: extra.additionals ?? [],
  });
}

/** A FORMERR for bytes that do not decode: the id and opcode of the header are kept when present. */
export function formerr(raw: Buffer): Buffer | undefined {
  if (raw.length < 2) return undefined;
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  const opcodeRd = raw.length >= 3 ? raw[2]! & 0x79 : 0; // opcode and RD of the query
  out.writeUInt16BE(0x8000 | (opcodeRd << 8) | rcodes.FORMERR, 2);
  return out;
}

/** Answers one query packet (the whole DNS logic of the server, without sockets). */
export async function answerQuery(raw: Buffer, view: ClusterView, opts: DnsServerOptions & { forward?: (raw: Buffer) => Promise<Buffer | undefined> } = {}): Promise<Buffer | undefined> {
  return (await answerWithOrigin(raw, view, opts)).out;
}

/** The answer and whether it came from the cluster zone (only those may be cached). */
async function answerWithOrigin(raw: Buffer, view: ClusterView, opts: DnsServerOptions & { forward?: (raw: Buffer) => Promise<Buffer | undefined> }): Promise<{ out: Buffer | undefined; zone: boolean }> {
  let q: DecodedPacket;
  try {
    q = dnsPacket.decode(raw);
  } catch {
    return { out: formerr(raw), zone: false };
  }
  if (q.type !== 'query') return { out: undefined, zone: false }; // never answer a response: it could loop between servers
  const question = q.questions?.[0];
  if (!question || (q.questions?.length ?? 0) !== 1) return { out: reply(q, 'FORMERR'), zone: false };
  const opcode = (raw[2]! >> 3) & 0xf;
  if (opcode !== 0) return { out: reply(q, 'NOTIMP'), zone: false };
  const zone = opts.zone ?? 'cluster.local';
  if (inZone(question.name, zone)) {
    const r = resolveInZone(question.name, question.type, view, opts);
    return { out: reply(q, r.rcode, { answers: r.answers, authorities: r.authorities, additionals: r.additionals, authoritative: true }), zone: true };
  }
  if (question.type === 'PTR' && /\.in-addr\.arpa\.?$/i.test(question.name)) {
    // Reverse lookups of cluster addresses are not served; answer at once rather than leak them upstream.
    if (!opts.forward) return { out: reply(q, 'NXDOMAIN'), zone: false };
  }
  if (!opts.forward) return { out: reply(q, 'SERVFAIL'), zone: false };
  const up = await opts.forward(raw).catch(() => undefined);
  return { out: up ?? reply(q, 'SERVFAIL'), zone: false };
}

/**
 * Answers of the cluster zone keyed by the query without its id (flags, question, EDNS: everything that shapes
 * the answer), as CoreDNS's cache plugin keeps them. Only answers of the cluster zone are kept (never forwarded
 * ones, whose TTLs are the upstream's), and the whole cache is dropped as soon as the view's version changes, so an
 * answer is never staler than the informer cache. A hit costs a map lookup and a copy instead of a decode,
 * a resolution and an encode.
 */
function answerCache(view: ClusterView, size: number): { get(raw: Buffer): Buffer | number | undefined; put(raw: Buffer, out: Buffer, version: number): void } {
  const entries = new Map<string, Buffer>();
  let version: number | undefined;
  return {
    /** The cached answer, else the view's version to hand to put (undefined: do not cache). */
    get(raw) {
      const v = size > 0 && raw.length >= 12 ? view.version?.() : undefined;
      if (v === undefined) return undefined;
      if (v !== version) {
        entries.clear();
        version = v;
      }
      const hit = entries.get(raw.toString('latin1', 2));
      if (!hit) return v;
      const out = Buffer.allocUnsafe(hit.length);
      hit.copy(out);
      out[0] = raw[0]!;
      out[1] = raw[1]!;
      return out;
    },
    put(raw, out, v) {
      // An answer computed before a change is not kept under the new version.
      if (v !== version || view.version?.() !== v || out.length < 12) return;
      if (entries.size >= size) entries.clear();
      entries.set(raw.toString('latin1', 2), Buffer.from(out));
    },
  };
}

function upstreamForwarder(upstreams: string[], timeoutMs: number): ((raw: Buffer) => Promise<Buffer | undefined>) | undefined {
  const targets = upstreams.map((u) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(u)!;
    return { host: m[1]!, port: Number(m[2] ?? 53) };
  });
  if (targets.length === 0) return undefined;
  return (raw) =>
    new Promise((resolve) => {
      const sock = dgram.createSocket('udp4');
      let i = 0;
      const done = (v: Buffer | undefined): void => {
        clearTimeout(timer);
        sock.close();
        resolve(v);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      sock.on('error', () => done(undefined));
      sock.on('message', (msg) => {
        if (msg.length >= 2 && msg.readUInt16BE(0) === raw.readUInt16BE(0)) done(msg);
      });
      // Ask every upstream at once; the first answer wins (resolv.conf order is only a preference).
      for (; i < targets.length; i++) sock.send(raw, targets[i]!.port, targets[i]!.host);
    });
}

/** Starts the DNS server on UDP and TCP; resolves once both listen. */
export async function startDnsServer(view: ClusterView, opts: DnsServerOptions = {}): Promise<RunningDnsServer> {
  const address = opts.address ?? '127.0.0.1';
  const forward = upstreamForwarder(opts.upstreams ?? [], opts.forwardTimeoutMs ?? 2000);
  const answerOpts = { ...opts, ...(forward ? { forward } : {}) };
  const cache = answerCache(view, opts.cacheSize ?? 10_000);
  const answer = (raw: Buffer): Promise<Buffer | undefined> => {
    const hit = cache.get(raw);
    if (typeof hit === 'object') return Promise.resolve(hit);
    return answerWithOrigin(raw, view, answerOpts).then(({ out, zone }) => {
      if (out && zone && hit !== undefined) cache.put(raw, out, hit);
      return out;
    });
  };
  // With port 0 the UDP socket picks a free port that TCP may not have free: try again with another (bounded).
  for (let attempt = 0; ; attempt++) {
    try {
      return await listenDns(address, opts.port ?? 53, answer);
    } catch (e) {
      if (opts.port !== 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw e;
    }
  }
}

async function listenDns(address: string, wantPort: number, answer: (raw: Buffer) => Promise<Buffer | undefined>): Promise<RunningDnsServer> {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    answer(msg).then((out) => {
      if (!out) return;
      // Over UDP an answer larger than 512 bytes (no EDNS) is truncated with TC set, so the client retries on TCP.
      if (out.length > 512 && !hasEdns(msg)) out = truncate(out);
      udp.send(out, rinfo.port, rinfo.address);
    }).catch((e: unknown) => log.warn('dns query failed', { err: e }));
  });
  udp.on('error', (e) => log.warn('dns udp socket error', { err: e }));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(wantPort, address, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        answer(Buffer.from(msg)).then((out) => {
          if (!out || sock.destroyed) return;
          const hdr = Buffer.alloc(2);
          hdr.writeUInt16BE(out.length);
          sock.write(Buffer.concat([hdr, out]));
        }).catch((e: unknown) => log.warn('dns query failed', { err: e }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, address, () => {
      tcp.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    udp.close();
    throw e;
  });
  log.info('cluster dns listening', { address, port: (tcp.address() as AddressInfo).port });
  return {
    address,
    port,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

function hasEdns(raw: Buffer): boolean {
  try {
    return (dnsPacket.decode(raw).additionals ?? []).some((a: Answer) => a.type === 'OPT');
  } catch {
    return false;
  }
}

function truncate(out: Buffer): Buffer {
  const p = dnsPacket.decode(out);
  return dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: [] });
}
