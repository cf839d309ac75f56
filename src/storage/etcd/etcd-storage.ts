/**
 * The etcd engine: the Storage interface mapped straight onto etcd v3's KV, Txn, Watch, Lease and
 * Compact, for several API servers sharing one etcd cluster. KV requests (Range, Txn, DeleteRange,
 * Compact) go through a lean unary gRPC transport with hand-written protobuf (grpc-unary.ts,
 * kv-codec.ts): through etcd3 and grpc-js the client spent more CPU per create than etcd did. Watch,
 * Lease and Maintenance stay on the etcd3 client.
 * Revisions, compaction and watch history are etcd's own, shifted by a persisted revision offset (see
 * below); nothing is cached here except leases and that offset.
 *
 * The revision offset: a restore writes ~100 keys per etcd revision, so etcd's revision after a restore
 * can be far below the snapshot's, yet clients must see revisions continue above it. Rather than spend
 * one etcd write per skipped revision, the engine adds an offset, stored under a reserved key outside
 * every object prefix, to every revision it reports and subtracts it from every revision it is given.
 * Every engine on that etcd reads the same offset at open, so they agree; only a restore (servers
 * stopped) raises it.
 */
import { AlarmAction, Etcd3, type IKeyValue, type IOptions, type IWatchResponse, type IDuplexStream, type IWatchRequest } from 'etcd3';
import { backoffDelay } from '../../base/backoff.ts';
import { sleep } from '../../base/clock.ts';
import { logger } from '../../base/log.ts';
import { decodeContinue, encodeContinue } from '../continue-token.ts';
import { checkValueSize, StorageError } from '../errors.ts';
import { GrpcCallError, GrpcClientClosedError, GrpcStatus, GrpcUnaryClient } from './grpc-unary.ts';
import {
  decodeDeleteRange,
  decodeHeaderRevision,
  decodeRange,
  decodeTxn,
  encodeCompaction,
  encodeDeleteRange,
  encodeRange,
  encodeTxn,
  type DeleteRangeResponse,
  type RangeRequest,
  type RangeResponse,
  type RawKv,
  type TxnRequest,
  type TxnResponse,
} from './kv-codec.ts';
import type {
  DeleteOptions,
  KeyValue,
  ListOptions,
  ListResult,
  ReadOptions,
  Storage,
  UpdateOptions,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from '../interface.ts';

const log = logger('storage-etcd');

/** Options for openEtcdStorage. */
export interface EtcdStorageOptions {
  /** Prepended to every key on the wire and stripped from keys returned; default none (keys verbatim). */
  keyPrefix?: string;
  /** Bound on the reachability check at open and in health() (ms); default 5000. */
  dialTimeoutMs?: number;
  /** Deadline of every unary request (ms); default 15000. */
  requestTimeoutMs?: number;
  /** Events a watch may hold for a slow consumer before it ends with WatchOverflow; default 10000. */
  watchBufferEvents?: number;
  /** Upper bound on how long one lease is reused for keys of the same TTL (s); default 60, as kube-apiserver. */
  leaseReuseSeconds?: number;
  /** Keys attached to one lease before a new one is granted; default 1000, as kube-apiserver. */
  leaseMaxObjects?: number;
}

/** Keys starting with NUL are the engine's own (the probe key, the revision offset); Storage callers cannot write them. */
const RESERVED = '\u0000';
const OFFSET_KEY = `${RESERVED}skiff-revision-offset`;

function checkKey(key: string): void {
  if (key.startsWith(RESERVED)) throw new StorageError('Invalid', `key ${JSON.stringify(key)} is reserved: keys starting with NUL belong to the etcd engine`, { key });
}

/** Opens the etcd engine on `endpoints` (host:port or http(s)://host:port); fails with Unavailable naming them when unreachable. */
export async function openEtcdStorage(endpoints: string[], opts: EtcdStorageOptions = {}): Promise<Storage> {
  if (endpoints.length === 0) throw new StorageError('Invalid', 'no etcd endpoints given');
  const normalized = endpoints.map((e) => {
    const m = /^(https?:\/\/)?([^/\s:]+)(:\d+)?\/?$/.exec(e);
    if (m === null) throw new StorageError('Invalid', `malformed etcd endpoint ${JSON.stringify(e)} (want host:port or http://host:port)`);
    return `${m[1] ?? ''}${m[2] ?? ''}${m[3] ?? ':2379'}`;
  });
  const storage = new EtcdStorage(normalized, opts);
  try {
    await storage.probe(storage.dialTimeoutMs);
  } catch (e) {
    storage.destroy();
    throw new StorageError('Unavailable', `etcd at ${normalized.join(',')} is unreachable: ${oneLine(e)}`, { cause: e });
  }
  try {
    await storage.loadRevisionOffset();
  } catch (e) {
    storage.destroy();
    throw e instanceof StorageError ? e : new StorageError('Unavailable', `etcd at ${normalized.join(',')}: cannot read the revision offset: ${oneLine(e)}`, { cause: e });
  }
  return storage;
}

/** One key for EtcdBulkLoader.createAll. */
export interface BulkRecord {
  key: string;
  value: Uint8Array;
  /** Attach a lease of this TTL (shared as by create). */
  ttlSeconds?: number;
}

/** Options of EtcdBulkLoader.createAll. */
export interface BulkCreateOptions {
  /** Txns in flight; default 8. */
  concurrency?: number;
  /** Puts per Txn; default 128 (etcd's default --max-txn-ops). */
  maxOps?: number;
  /** Bytes of keys and values per Txn; default 1 MiB (etcd refuses requests over --max-request-bytes, 1.5 MiB). */
  maxBytes?: number;
}

/**
 * Bulk writes into an etcd store for snapshot restore, with every server on that etcd stopped: they read
 * the revision offset once, at open.
 */
export interface EtcdBulkLoader {
  /** What the engine adds to etcd's revisions (0 until a restore raises it). */
  readonly revisionOffset: number;
  /** Deletes every key with `prefix` in one request; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Raises the persisted revision offset so that the store's revision is at least `revision`; returns the store's revision. */
  raiseRevision(revision: number): Promise<number>;
  /** Creates keys that must not exist, many per Txn with several Txns in flight; fails with KeyExists naming one that does. */
  createAll(records: AsyncIterable<BulkRecord>, opts?: BulkCreateOptions): Promise<{ written: number; revision: number }>;
}

/** The etcd engine's bulk loader, or null when `storage` is not the etcd engine. */
export function etcdBulkLoader(storage: Storage): EtcdBulkLoader | null {
  return storage instanceof EtcdStorage ? storage : null;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

// etcd3 wraps calls in a retry policy and per-host circuit breakers by default. Retrying a Txn whose
// reply was lost could turn a successful create into KeyExists, and a breaker left open after a
// restart fails calls that would succeed: reads are retried here instead, writes never.
const neverAborted = new AbortController().signal;
const passThrough = {
  // async: etcd3's markFailed hands in a function that throws and expects a rejection back.
  execute: async (fn: (ctx: { signal: AbortSignal }) => unknown) => fn({ signal: neverAborted }),
} as unknown as Policy;

const COMPACTED = 'required revision has been compacted';
/** gRPC statuses that say etcd could not be reached or could not answer, as opposed to refusing the request. */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.CANCELLED, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.ABORTED, GrpcStatus.INTERNAL, GrpcStatus.UNAVAILABLE,
]);
const FUTURE = 'required revision is a future revision';

class EtcdStorage implements Storage, EtcdBulkLoader {
  readonly engine = 'etcd';
  readonly dialTimeoutMs: number;
  private readonly client: Etcd3;
  /** KV requests: see the file comment. */
  private readonly kv: GrpcUnaryClient;
  private readonly prefix: Buffer;
  /** A key that is never written, read to learn revisions (inside keyPrefix, so prefix-scoped etcd roles allow it). */
  private readonly probeKey: Buffer;
  private readonly requestTimeoutMs: number;
  private readonly watchBufferEvents: number;
  private readonly leases: LeaseManager;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly watchStop = new AbortController();
  /** The open watch sessions, for requestProgress. */
  private readonly sessions = new Set<WatchSession>();
  private closed = false;
  /** The highest compacted revision seen (etcd's numbering); etcd only ever raises it. */
  private knownCompacted = 0;
  /** Added to etcd's revisions on the way out, subtracted on the way in; see the file comment. */
  private offset = 0;
  private readonly offsetKey: Buffer;

  constructor(
    private readonly endpoints: string[],
    opts: EtcdStorageOptions,
  ) {
    this.prefix = Buffer.from(opts.keyPrefix ?? '', 'utf8');
    this.probeKey = Buffer.concat([this.prefix, Buffer.from(`${RESERVED}skiff-probe`)]);
    this.offsetKey = Buffer.concat([this.prefix, Buffer.from(OFFSET_KEY)]);
    this.dialTimeoutMs = opts.dialTimeoutMs ?? 5000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.watchBufferEvents = opts.watchBufferEvents ?? 10_000;
    const requestTimeoutMs = this.requestTimeoutMs;
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: this.dialTimeoutMs,
      // Lists of many objects exceed gRPC's 4 MiB default; etcd itself bounds requests.
      grpcOptions: { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: { global: passThrough, host: () => passThrough },
    });
    this.kv = new GrpcUnaryClient(endpoints);
    this.leases = new LeaseManager(this.client, {
      reuseSeconds: opts.leaseReuseSeconds ?? 60,
      maxObjects: opts.leaseMaxObjects ?? 1000,
    });
  }

  async get(key: string, opts: ReadOptions = {}): Promise<{ kv: KeyValue | null; revision: number }> {
    return this.track(async () => {
      const revision = this.readRevision(opts.revision);
      const res = await this.read(key, () => this.range({ key: this.wireKey(key), revision }));
      const raw = res.kvs[0];
      return { kv: raw === undefined ? null : this.fromRaw(raw), revision: opts.revision || this.reported(res.revision) };
    });
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return this.track(async () => {
      const range = this.prefixRange(prefix);
      let start = range.key;
      let revision = opts.revision ?? 0;
      if (opts.continue !== undefined && opts.continue !== '') {
        const token = decodeContinue(opts.continue);
        if (!token.lastKey.startsWith(prefix)) throw new StorageError('Invalid', 'continue key is not valid: it belongs to another prefix');
        if (revision !== 0 && revision !== token.revision) {
          throw new StorageError('Invalid', `revision ${revision} differs from the continue token's revision ${token.revision}`);
        }
        revision = token.revision;
        // Kubernetes' next-key: the smallest key strictly after the last one returned.
        start = Buffer.concat([this.wireKey(token.lastKey), Buffer.from([0])]);
      }
      const limit = opts.limit ?? 0;
      const req: RangeRequest = { key: start, rangeEnd: range.end, revision: this.readRevision(revision), limit };
      const res = await this.read(prefix, () => this.range(req));
      const kvs = res.kvs.map((raw) => this.fromRaw(raw));
      const snapshot = revision || this.reported(res.revision);
      const out: ListResult = { kvs, revision: snapshot };
      const last = kvs[kvs.length - 1];
      if (res.more && last !== undefined) {
        out.continue = encodeContinue({ revision: snapshot, lastKey: last.key });
        out.remaining = res.count - kvs.length;
      }
      return out;
    });
  }

  async count(prefix: string): Promise<{ count: number; revision: number }> {
    return this.track(async () => {
      const range = this.prefixRange(prefix);
      const res = await this.read(prefix, () => this.range({ key: range.key, rangeEnd: range.end, countOnly: true }));
      return { count: res.count, revision: this.reported(res.revision) };
    });
  }

  async create(key: string, value: Uint8Array, opts: WriteOptions = {}): Promise<KeyValue> {
    checkValueSize(key, value);
    checkKey(key);
    return this.track(async () => {
      const wire = this.wireKey(key);
      const res = await this.writeWithLease(key, opts.ttlSeconds, (lease) =>
        this.txn({
          // As kube-apiserver: no else branch, the hot path stays one compare and one put.
          compare: [{ key: wire, target: 'mod', result: 'equal', revision: 0 }],
          success: [{ put: { key: wire, value: toBuffer(value), lease } }],
        }),
      );
      if (!res.succeeded) throw new StorageError('KeyExists', `key ${JSON.stringify(key)} already exists`, { key });
      const rev = this.reported(res.revision);
      return { key, value, createRevision: rev, modRevision: rev };
    });
  }

  async update(key: string, value: Uint8Array, opts: UpdateOptions): Promise<KeyValue> {
    checkValueSize(key, value);
    checkKey(key);
    return this.track(async () => {
      const wire = this.wireKey(key);
      const expected = this.givenModRevision(opts.expectedModRevision);
      const res = await this.writeWithLease(key, opts.ttlSeconds, (lease) =>
        this.txn({
          // The create_revision guard keeps an expected revision of 0 from creating a missing key.
          compare: [
            { key: wire, target: 'create', result: 'greater', revision: 0 },
            { key: wire, target: 'mod', result: 'equal', revision: expected },
          ],
          success: [{ put: { key: wire, value: toBuffer(value), lease, prevKv: true } }],
          failure: [{ range: { key: wire } }],
        }),
      );
      if (!res.succeeded) throw this.casFailure(key, res.responses[0]?.range?.kvs[0], opts.expectedModRevision);
      const rev = this.reported(res.revision);
      const prev = res.responses[0]?.put?.prevKv;
      return { key, value, createRevision: prev ? this.reported(prev.createRevision) : rev, modRevision: rev };
    });
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<{ prevKv: KeyValue; revision: number }> {
    return this.track(async () => {
      const wire = this.wireKey(key);
      const expected = opts.expectedModRevision;
      const res = await this.write(key, () =>
        this.txn({
          compare: [
            { key: wire, target: 'create', result: 'greater', revision: 0 },
            ...(expected === undefined ? [] : [{ key: wire, target: 'mod' as const, result: 'equal' as const, revision: this.givenModRevision(expected) }]),
          ],
          success: [{ deleteRange: { key: wire, prevKv: true } }],
          failure: [{ range: { key: wire } }],
        }),
      );
      if (!res.succeeded) throw this.casFailure(key, res.responses[0]?.range?.kvs[0], expected);
      const prev = res.responses[0]?.deleteRange?.prevKvs[0];
      if (prev === undefined) throw new StorageError('NotFound', `key ${JSON.stringify(key)} not found`, { key });
      return { prevKv: this.fromRaw(prev), revision: this.reported(res.revision) };
    });
  }

  requestProgress(): void {
    for (const session of this.sessions) session.requestProgress();
  }

  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchEvent> {
    return { [Symbol.asyncIterator]: () => this.runWatch(prefix, opts) };
  }

  async currentRevision(): Promise<number> {
    return this.track(async () => this.reported(await this.headRevision()));
  }

  async compactedRevision(): Promise<number> {
    return this.track(async () => {
      // etcd 3.4 has no call that reports the compacted revision, but a read below it fails: find the
      // smallest readable revision, starting from the last one known (usually one round trip).
      const current = await this.headRevision();
      const low = Math.max(this.knownCompacted, 1);
      if (low >= current || (await this.readableAt(low))) return this.reportedCompacted();
      let bad = low;
      let good = current;
      while (good - bad > 1) {
        const mid = Math.floor((bad + good) / 2);
        if (await this.readableAt(mid)) good = mid;
        else bad = mid;
      }
      this.noteCompacted(good);
      return this.reportedCompacted();
    });
  }

  async compact(revision: number): Promise<void> {
    return this.track(async () => {
      const etcdRevision = revision - this.offset;
      // At or below the offset is before this store's etcd history began: nothing to discard.
      if (etcdRevision < 1) return;
      try {
        await this.kv.call('/etcdserverpb.KV/Compact', encodeCompaction(etcdRevision), { timeoutMs: this.requestTimeoutMs }).then(decodeHeaderRevision);
        this.noteCompacted(etcdRevision);
      } catch (e) {
        if (errorText(e).includes(COMPACTED)) return; // already compacted at or beyond `revision`
        throw this.mapError(e, undefined);
      }
    });
  }

  async health(): Promise<void> {
    if (this.closed) throw new StorageError('Closed', 'storage is closed');
    try {
      await this.probe(this.dialTimeoutMs);
      const alarms = await this.client.maintenance.alarm({ action: AlarmAction.Get }, { deadline: Date.now() + this.dialTimeoutMs });
      const active = alarms.alarms.map((a) => String(a.alarm)).filter((a) => a !== 'NONE' && a !== '0');
      if (active.length > 0) throw new Error(`alarm ${active.join(',')} is active (etcd refuses writes)`);
    } catch (e) {
      throw new StorageError('Unavailable', `etcd at ${this.endpoints.join(',')} is not healthy: ${oneLine(e)}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchStop.abort();
    await Promise.allSettled([...this.inflight]);
    // Leases are left to expire: revoking them would delete every key still attached.
    this.destroy();
  }

  /** Reads the store's head revision with a bounded deadline; used at open and by health(). */
  async probe(timeoutMs: number): Promise<number> {
    const res = await this.range({ key: this.probeKey, countOnly: true }, timeoutMs);
    return res.revision;
  }

  /** Releases the client without waiting for anything. */
  destroy(): void {
    this.kv.close();
    this.client.close();
  }

  /** Reads the persisted revision offset (0 when none was ever set); called once at open. */
  async loadRevisionOffset(): Promise<void> {
    const res = await this.read(undefined, () => this.range({ key: this.offsetKey }));
    this.offset = this.parseOffset(res.kvs[0]);
  }

  // ---- EtcdBulkLoader ----

  get revisionOffset(): number {
    return this.offset;
  }

  async deletePrefix(prefix: string): Promise<number> {
    return this.track(async () => {
      const range = this.prefixRange(prefix);
      const res = await this.write(prefix, () => this.deleteRange({ key: range.key, rangeEnd: range.end }));
      return res.deleted;
    });
  }

  async raiseRevision(revision: number): Promise<number> {
    if (!Number.isSafeInteger(revision) || revision < 0) throw new StorageError('Invalid', `revision must be a non-negative integer, got ${revision}`);
    return this.track(async () => {
      for (;;) {
        const res = await this.read(undefined, () => this.range({ key: this.offsetKey }));
        const raw = res.kvs[0];
        const current = this.parseOffset(raw);
        const head = res.revision;
        if (head + current >= revision) {
          this.offset = current;
          return head + current;
        }
        // The put below takes etcd to head + 1 at least, so the store's revision passes `revision`.
        const next = revision - head;
        const put = await this.write(undefined, () =>
          this.txn({
            compare: [{ key: this.offsetKey, target: 'mod', result: 'equal', revision: raw === undefined ? 0 : raw.modRevision }],
            success: [{ put: { key: this.offsetKey, value: Buffer.from(String(next)) } }],
          }),
        );
        if (put.succeeded) {
          this.offset = next;
          log.info('revision offset raised', { offset: next, etcdRevision: put.revision });
          return put.revision + next;
        }
        // Another loader raised it meanwhile: read it again.
      }
    });
  }

  async createAll(records: AsyncIterable<BulkRecord>, opts: BulkCreateOptions = {}): Promise<{ written: number; revision: number }> {
    const concurrency = Math.max(1, opts.concurrency ?? 8);
    const maxOps = Math.max(1, opts.maxOps ?? 128);
    const maxBytes = opts.maxBytes ?? 1024 * 1024;
    return this.track(async () => {
      let written = 0;
      let head = 0;
      let failure: { e: unknown } | undefined;
      const inflight = new Set<Promise<void>>();
      const send = (batch: { key: string; wire: Buffer; value: Buffer; ttlSeconds?: number }[]): void => {
        const p: Promise<void> = this.createBatch(batch).then(
          (rev) => {
            inflight.delete(p);
            written += batch.length;
            if (rev > head) head = rev;
          },
          (e: unknown) => {
            inflight.delete(p);
            failure ??= { e };
          },
        );
        inflight.add(p);
      };
      let batch: { key: string; wire: Buffer; value: Buffer; ttlSeconds?: number }[] = [];
      let bytes = 0;
      for await (const r of records) {
        if (failure !== undefined) break;
        checkValueSize(r.key, r.value);
        checkKey(r.key);
        const wire = this.wireKey(r.key);
        const size = wire.length + r.value.byteLength;
        if (batch.length > 0 && (batch.length >= maxOps || bytes + size > maxBytes)) {
          send(batch);
          batch = [];
          bytes = 0;
          while (inflight.size >= concurrency) await Promise.race(inflight);
        }
        batch.push({ key: r.key, wire, value: toBuffer(r.value), ...(r.ttlSeconds === undefined ? {} : { ttlSeconds: r.ttlSeconds }) });
        bytes += size;
      }
      if (batch.length > 0 && failure === undefined) send(batch);
      await Promise.all(inflight);
      if (failure !== undefined) throw (failure as { e: unknown }).e;
      return { written, revision: head === 0 ? this.reported(await this.headRevision()) : head };
    });
  }

  /** One Txn creating every key of `batch` (all or none); returns the reported revision it wrote at. */
  private async createBatch(batch: { key: string; wire: Buffer; value: Buffer; ttlSeconds?: number }[]): Promise<number> {
    const leases = await Promise.all(batch.map(async (r) => (r.ttlSeconds === undefined ? '0' : this.leases.get(r.ttlSeconds))));
    const res = await this.write(batch[0]?.key, () =>
      this.txn({
        compare: batch.map((r) => ({ key: r.wire, target: 'mod' as const, result: 'equal' as const, revision: 0 })),
        success: batch.map((r, i) => ({ put: { key: r.wire, value: r.value, lease: leases[i] ?? '0' } })),
        // Only on failure: which keys exist, to name one.
        failure: batch.map((r) => ({ range: { key: r.wire, countOnly: true } })),
      }),
    );
    if (!res.succeeded) {
      const i = res.responses.findIndex((x) => (x.range?.count ?? 0) > 0);
      const key = batch[Math.max(i, 0)]?.key ?? '';
      throw new StorageError('KeyExists', `key ${JSON.stringify(key)} already exists`, { key });
    }
    return this.reported(res.revision);
  }

  // ---- internals ----

  private range(req: RangeRequest, timeoutMs = this.requestTimeoutMs): Promise<RangeResponse> {
    return this.kv.call('/etcdserverpb.KV/Range', encodeRange(req), { timeoutMs }).then(decodeRange);
  }

  private txn(req: TxnRequest): Promise<TxnResponse> {
    return this.kv.call('/etcdserverpb.KV/Txn', encodeTxn(req), { timeoutMs: this.requestTimeoutMs }).then(decodeTxn);
  }

  private deleteRange(req: { key: Buffer; rangeEnd?: Buffer }): Promise<DeleteRangeResponse> {
    return this.kv.call('/etcdserverpb.KV/DeleteRange', encodeDeleteRange(req), { timeoutMs: this.requestTimeoutMs }).then(decodeDeleteRange);
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError('Closed', 'storage is closed');
    const p = fn();
    this.inflight.add(p);
    try {
      return await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  /** A revision from etcd as the engine reports it. */
  private reported(etcdRevision: number | string): number {
    return Number(etcdRevision) + this.offset;
  }

  private reportedCompacted(): number {
    return this.knownCompacted > 0 ? this.knownCompacted + this.offset : this.offset;
  }

  /** The etcd revision to read at for a given one (0: the latest); Compacted when it predates the store's etcd history. */
  private readRevision(revision: number | undefined): number {
    if (revision === undefined || revision === 0) return 0;
    const e = revision - this.offset;
    if (e < 1) {
      throw new StorageError('Compacted', 'the requested revision has been compacted', { compactRevision: this.reportedCompacted() });
    }
    return e;
  }

  /** A given modRevision in etcd's numbering; one at or below the offset matches no key (0 with the create guard). */
  private givenModRevision(revision: number): number {
    return Math.max(0, revision - this.offset);
  }

  private parseOffset(raw: RawKv | undefined): number {
    if (raw === undefined) return 0;
    const text = raw.value.toString('utf8');
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
      throw new StorageError('Invalid', `etcd key ${JSON.stringify(this.offsetKey.toString('utf8'))} holds ${JSON.stringify(text.slice(0, 40))}, not a revision offset`);
    }
    return n;
  }

  private async headRevision(): Promise<number> {
    const res = await this.read(undefined, () => this.range({ key: this.probeKey, countOnly: true }));
    return res.revision;
  }

  private async readableAt(revision: number): Promise<boolean> {
    try {
      await this.range({ key: this.probeKey, countOnly: true, revision });
      return true;
    } catch (e) {
      if (errorText(e).includes(COMPACTED)) return false;
      throw this.mapError(e, undefined);
    }
  }

  private noteCompacted(revision: number): void {
    if (revision > this.knownCompacted) this.knownCompacted = revision;
  }

  /** Runs an idempotent read, retrying briefly when etcd is momentarily unavailable. */
  private async read<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const mapped = this.mapError(e, key);
        if (mapped instanceof StorageError && mapped.code === 'Unavailable' && attempt < 2 && !this.closed) {
          await sleep(backoffDelay(attempt, { initialMs: 50, maxMs: 500, jitter: 0.2 }));
          continue;
        }
        throw mapped;
      }
    }
  }

  /** A write that attaches the TTL's shared lease; a lease that vanished (revoked elsewhere) is replaced once. */
  private async writeWithLease<T>(key: string, ttlSeconds: number | undefined, fn: (lease: string) => Promise<T>): Promise<T> {
    if (ttlSeconds === undefined) return this.write(key, () => fn('0'));
    const lease = await this.leases.get(ttlSeconds);
    try {
      return await this.write(key, () => fn(lease));
    } catch (e) {
      if (!errorText(e).includes('requested lease not found')) throw e;
      this.leases.forget(ttlSeconds, lease);
      const fresh = await this.leases.get(ttlSeconds);
      return this.write(key, () => fn(fresh));
    }
  }

  private async write<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.mapError(e, key);
    }
  }

  private casFailure(key: string, raw: RawKv | undefined, expected: number | undefined): StorageError {
    if (raw === undefined) return new StorageError('NotFound', `key ${JSON.stringify(key)} not found`, { key, current: null });
    const current = this.fromRaw(raw);
    return new StorageError(
      'Conflict',
      `key ${JSON.stringify(key)} was modified: modRevision is ${current.modRevision}, expected ${expected ?? 'any'}`,
      { key, current },
    );
  }

  private mapError(e: unknown, key: string | undefined): unknown {
    if (e instanceof StorageError) return e;
    const text = errorText(e);
    const k = key === undefined ? {} : { key };
    if (text.includes(COMPACTED)) return new StorageError('Compacted', 'the requested revision has been compacted', { ...k, cause: e });
    if (text.includes(FUTURE)) return new StorageError('Invalid', 'the requested revision is newer than the current revision', { ...k, cause: e });
    if (text.includes('request is too large')) return new StorageError('TooLarge', `request for ${JSON.stringify(key)} is too large for etcd`, { ...k, cause: e });
    const name = e instanceof Error ? e.constructor.name : '';
    if (e instanceof GrpcClientClosedError || name === 'ClientClosedError') return new StorageError('Closed', 'storage is closed', { ...k, cause: e });
    if (e instanceof GrpcCallError && UNAVAILABLE_CODES.has(e.code)) {
      return new StorageError('Unavailable', `etcd at ${this.endpoints.join(',')}: ${oneLine(e)}`, { ...k, cause: e });
    }
    if (
      name === 'GRPCUnavailableError' || name === 'GRPCDeadlineExceededError' || name === 'GRPCCancelledError' ||
      name === 'GRPCInternalError' || name === 'GRPCAbortedError' || name === 'GRPCResourceExhastedError' ||
      name === 'BrokenCircuitError' || text.includes('etcdserver: request timed out') ||
      text.includes('etcdserver: leader changed') || text.includes('etcdserver: no leader')
    ) {
      return new StorageError('Unavailable', `etcd at ${this.endpoints.join(',')}: ${oneLine(e)}`, { ...k, cause: e });
    }
    return e;
  }

  private wireKey(key: string): Buffer {
    const k = Buffer.from(key, 'utf8');
    return this.prefix.length === 0 ? k : Buffer.concat([this.prefix, k]);
  }

  /**
   * The etcd key range of a prefix. The empty prefix is every key after the engine's reserved ones
   * (from keyPrefix + "\x01"; "\0" as range end means to the end of the keyspace).
   */
  private prefixRange(prefix: string): { key: Buffer; end: Buffer } {
    const wire = this.wireKey(prefix);
    if (prefix === '') {
      return { key: Buffer.concat([wire, Buffer.from([1])]), end: wire.length === 0 ? Buffer.from([0]) : rangeEnd(wire) };
    }
    return { key: wire, end: rangeEnd(wire) };
  }

  private fromWire(key: Buffer): string {
    return key.subarray(this.prefix.length).toString('utf8');
  }

  private fromRaw(raw: RawKv): KeyValue {
    return {
      key: this.fromWire(raw.key),
      value: raw.value,
      createRevision: raw.createRevision + this.offset,
      modRevision: raw.modRevision + this.offset,
    };
  }

  /** A KeyValue of etcd3's watch responses (revisions as decimal strings). */
  private toKv(raw: IKeyValue): KeyValue {
    return {
      key: this.fromWire(raw.key),
      value: raw.value,
      createRevision: this.reported(raw.create_revision),
      modRevision: this.reported(raw.mod_revision),
    };
  }

  private async *runWatch(prefix: string, opts: WatchOptions): AsyncGenerator<WatchEvent> {
    if (this.closed) throw new StorageError('Closed', 'storage is closed');
    const signals = [this.watchStop.signal, ...(opts.signal ? [opts.signal] : [])];
    const signal = AbortSignal.any(signals);
    if (signal.aborted) return;
    try {
      await this.checkWatchStart(opts.fromRevision);
    } catch (e) {
      if (signal.aborted) return; // closed or aborted meanwhile: the watch simply ends
      throw e;
    }
    if (signal.aborted) return;
    const range = this.prefixRange(prefix);
    const session = new WatchSession({
      client: this.client,
      key: range.key,
      rangeEnd: range.end,
      fromRevision: opts.fromRevision,
      progressIntervalMs: opts.progressIntervalMs ?? 5000,
      bufferLimit: this.watchBufferEvents,
      toKv: (raw) => this.toKv(raw),
      offset: this.offset,
      unavailable: (e) => new StorageError('Unavailable', `etcd watch at ${this.endpoints.join(',')} failed: ${oneLine(e)}`, { cause: e }),
      signal,
    });
    this.sessions.add(session);
    try {
      session.start();
      for (;;) {
        const ev = await session.next();
        if (ev === null) return;
        yield ev;
      }
    } finally {
      this.sessions.delete(session);
      session.stop();
    }
  }

  /**
   * etcd refuses a watch only when its first revision (fromRevision + 1) is compacted; the interface
   * also refuses fromRevision itself, whose successor's prevKv may already be gone.
   */
  private async checkWatchStart(fromRevision: number): Promise<void> {
    const e = fromRevision - this.offset;
    if (e < 0) throw await this.compactedError(fromRevision);
    if (e < 1) {
      if (this.knownCompacted > 0 || (this.offset > 0 && !(await this.readableAt(1)))) throw await this.compactedError(fromRevision);
      return;
    }
    try {
      await this.range({ key: this.probeKey, countOnly: true, revision: e });
    } catch (e) {
      const text = errorText(e);
      if (text.includes(FUTURE)) return;
      if (text.includes(COMPACTED)) throw await this.compactedError(fromRevision);
      throw this.mapError(e, undefined);
    }
  }

  private async compactedError(fromRevision: number): Promise<StorageError> {
    const compactRevision = await this.compactedRevision();
    return new StorageError('Compacted', `watch from revision ${fromRevision} is below the compacted revision ${compactRevision}`, { compactRevision });
  }
}

/** Grants leases, reusing one per TTL for a while as kube-apiserver's leaseManager does, to avoid lease churn. */
class LeaseManager {
  private readonly byTtl = new Map<number, { id: string; expiresAt: number; attached: number }>();
  private readonly pending = new Map<number, Promise<void>>();

  constructor(
    private readonly client: Etcd3,
    private readonly cfg: { reuseSeconds: number; maxObjects: number },
  ) {}

  /** Drops a cached lease that etcd no longer knows. */
  forget(ttlSeconds: number, id: string): void {
    if (this.byTtl.get(ttlSeconds)?.id === id) this.byTtl.delete(ttlSeconds);
  }

  async get(ttlSeconds: number): Promise<string> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new StorageError('Invalid', `ttlSeconds must be a positive integer, got ${ttlSeconds}`);
    }
    for (;;) {
      const now = Date.now();
      // kube-apiserver: reuse for min(60 s, 5 % of the TTL), so a key outlives its TTL by at most that.
      const reuse = Math.min(this.cfg.reuseSeconds, Math.floor(ttlSeconds * 0.05));
      const cur = this.byTtl.get(ttlSeconds);
      if (cur !== undefined) {
        const valid = now + ttlSeconds * 1000 < cur.expiresAt;
        const sufficient = now + (ttlSeconds + reuse) * 1000 > cur.expiresAt;
        if (valid && sufficient && cur.attached < this.cfg.maxObjects) {
          cur.attached++;
          return cur.id;
        }
      }
      const inFlight = this.pending.get(ttlSeconds);
      if (inFlight !== undefined) {
        await inFlight;
        continue;
      }
      const grant = (async () => {
        const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds + reuse });
        this.byTtl.set(ttlSeconds, { id: res.ID, expiresAt: now + (ttlSeconds + reuse) * 1000, attached: 0 });
      })();
      this.pending.set(ttlSeconds, grant);
      try {
        await grant;
      } finally {
        this.pending.delete(ttlSeconds);
      }
      const fresh = this.byTtl.get(ttlSeconds);
      if (fresh !== undefined) {
        fresh.attached++;
        return fresh.id;
      }
    }
  }
}

interface WatchSessionConfig {
  client: Etcd3;
  key: Buffer;
  rangeEnd: Buffer;
  fromRevision: number;
  progressIntervalMs: number;
  bufferLimit: number;
  /** Maps etcd's revisions to the engine's (KeyValues from toKv are already mapped). */
  toKv: (raw: IKeyValue) => KeyValue;
  /** The engine's revision offset: revisions here are the engine's, etcd's plus this. */
  offset: number;
  unavailable: (e: unknown) => StorageError;
  signal: AbortSignal;
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * One etcd watch on its own gRPC stream. The stream is owned here rather than through etcd3's
 * Watcher, which resumes from the last response header (skipping events of a catch-up batch), drops
 * compact_revision, and cannot take progress requests.
 */
class WatchSession {
  private readonly queue: WatchEvent[] = [];
  private queuedEvents = 0;
  private terminal: unknown = null;
  private ended = false;
  private wake: (() => void) | null = null;
  private stream: WatchStream | null = null;
  private generation = 0;
  /** The revision of the last event queued. */
  private delivered: number;
  /** The revision of the last progress queued: every change up to it has been queued. */
  private lastProgress = 0;
  private lastActivity = Date.now();
  private progressRequested = false;
  private progressRequestedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private readonly onAbort = (): void => this.finish(null);

  constructor(private readonly cfg: WatchSessionConfig) {
    this.delivered = cfg.fromRevision;
  }

  start(): void {
    if (this.cfg.signal.aborted) {
      this.finish(null);
      return;
    }
    this.cfg.signal.addEventListener('abort', this.onAbort, { once: true });
    if (this.cfg.progressIntervalMs > 0) {
      this.timer = setInterval(() => this.tick(), Math.max(10, Math.floor(this.cfg.progressIntervalMs / 2)));
      this.timer.unref();
    }
    void this.open();
  }

  async next(): Promise<WatchEvent | null> {
    for (;;) {
      const ev = this.queue.shift();
      if (ev !== undefined) {
        if (ev.type !== 'progress') this.queuedEvents--;
        return ev;
      }
      if (this.terminal !== null) throw this.terminal;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  stop(): void {
    this.cfg.signal.removeEventListener('abort', this.onAbort);
    this.ended = true;
    this.closeStream();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.notify();
  }

  private async open(): Promise<void> {
    const gen = ++this.generation;
    let stream: WatchStream;
    try {
      stream = await this.cfg.client.watchClient.watch();
    } catch (e) {
      this.onStreamError(gen, e);
      return;
    }
    if (gen !== this.generation || this.ended) {
      endStream(stream);
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => this.onResponse(gen, res));
    stream.on('error', (e) => this.onStreamError(gen, e));
    stream.on('end', () => this.onStreamError(gen, new Error('watch stream ended by the server')));
    stream.write({
      create_request: {
        key: this.cfg.key,
        range_end: this.cfg.rangeEnd,
        start_revision: Math.max(1, Math.max(this.delivered, this.lastProgress) + 1 - this.cfg.offset),
        prev_kv: true,
        progress_notify: true,
      },
    });
  }

  private onResponse(gen: number, res: IWatchResponse): void {
    if (gen !== this.generation || this.ended) return;
    const compactRevision = Number(res.compact_revision) + this.cfg.offset;
    if (res.canceled) {
      if (compactRevision > this.cfg.offset) {
        this.finish(new StorageError('Compacted', `watch from revision ${this.delivered} is below the compacted revision ${compactRevision}`, { compactRevision }));
      } else {
        this.finish(this.cfg.unavailable(new Error(`watch canceled by etcd: ${res.cancel_reason || 'no reason given'}`)));
      }
      return;
    }
    if (res.created) {
      this.failures = 0;
      return;
    }
    const header = Number(res.header.revision) + this.cfg.offset;
    if (res.events.length === 0) {
      if (res.watch_id === '-1') {
        // Answer to our progress request. etcd before 3.4.26 answers at once with its head revision even
        // while this watch is still catching up, so the revision is trusted only after a grace period
        // without older events (an older event arriving later ends the watch rather than reorder).
        const gen2 = this.generation;
        setTimeout(() => {
          if (gen2 === this.generation && !this.ended) {
            this.progressRequested = false;
            this.emitProgress(header);
          }
        }, 250).unref();
      } else {
        // etcd's periodic notification reaches synced watchers only: safe as it stands.
        this.emitProgress(header);
      }
      return;
    }
    let rev = this.delivered;
    for (const ev of res.events) {
      const kv = this.cfg.toKv(ev.kv);
      if (kv.modRevision <= this.delivered) continue; // replayed after a resume
      if (kv.modRevision <= this.lastProgress) {
        this.finish(this.cfg.unavailable(new Error(`event at revision ${kv.modRevision} arrived after progress ${this.lastProgress}`)));
        return;
      }
      const prev = ev.prev_kv ? this.cfg.toKv(ev.prev_kv) : null;
      // The typings say 'Delete'; the wire (proto enum names) says 'DELETE'.
      if (String(ev.type).toUpperCase() === 'DELETE') {
        if (prev === null) {
          this.finish(new StorageError('Compacted', `the previous value of a delete at revision ${kv.modRevision} was compacted`));
          return;
        }
        this.push({ type: 'delete', key: kv.key, prevKv: prev, revision: kv.modRevision });
      } else {
        if (prev === null && kv.createRevision !== kv.modRevision) {
          this.finish(new StorageError('Compacted', `the previous value of an update at revision ${kv.modRevision} was compacted`));
          return;
        }
        this.push({ type: 'put', kv, prevKv: prev, revision: kv.modRevision });
      }
      rev = Math.max(rev, kv.modRevision);
      // Checked per event: one etcd response may carry any number of events (a catch-up after a
      // slow start), and the buffer bound must hold however they arrive.
      if (this.queuedEvents > this.cfg.bufferLimit) {
        this.finish(new StorageError('WatchOverflow', `watch consumer fell more than ${this.cfg.bufferLimit} events behind`));
        return;
      }
    }
    this.delivered = rev;
  }

  private push(ev: WatchEvent): void {
    this.queue.push(ev);
    this.queuedEvents++;
    this.lastActivity = Date.now();
    this.notify();
  }

  private emitProgress(revision: number): void {
    if (this.cfg.progressIntervalMs <= 0 || this.terminal !== null) return;
    const rev = Math.max(revision, this.delivered, this.lastProgress);
    this.lastProgress = rev;
    this.lastActivity = Date.now();
    const tail = this.queue[this.queue.length - 1];
    if (tail?.type === 'progress') tail.revision = rev;
    else this.queue.push({ type: 'progress', revision: rev });
    this.notify();
  }

  private tick(): void {
    if (Date.now() - this.lastActivity < this.cfg.progressIntervalMs) return;
    this.requestProgress();
  }

  /** Sends etcd a progress request on this stream unless one is already waiting for its answer. */
  requestProgress(): void {
    if (this.ended || this.terminal !== null || this.stream === null) return;
    const now = Date.now();
    // A request etcd never answered (older servers ignore it) must not stop progress for good.
    if (this.progressRequested && now - this.progressRequestedAt < Math.max(2 * this.cfg.progressIntervalMs, 1000)) return;
    this.progressRequested = true;
    this.progressRequestedAt = now;
    try {
      this.stream.write({ progress_request: {} });
    } catch (e) {
      this.progressRequested = false;
      log.v(2).info('progress request failed', { error: e });
    }
  }

  private onStreamError(gen: number, e: unknown): void {
    if (gen !== this.generation || this.ended || this.terminal !== null) return;
    if (this.cfg.signal.aborted) {
      this.finish(null);
      return;
    }
    this.closeStream();
    this.progressRequested = false;
    // Resume from the last delivered revision, as clientv3 does; give up after a while so the consumer
    // learns that etcd is gone and can re-list.
    if (this.failures >= 8) {
      this.finish(this.cfg.unavailable(e));
      return;
    }
    const delay = backoffDelay(this.failures++, { initialMs: 100, maxMs: 3000, jitter: 0.2 });
    log.v(1).info('etcd watch stream failed, resuming', { revision: this.delivered, delayMs: Math.round(delay), error: oneLine(e) });
    const next = ++this.generation;
    setTimeout(() => {
      if (next === this.generation && !this.ended && this.terminal === null) void this.open();
    }, delay).unref();
  }

  private finish(err: unknown): void {
    if (this.terminal !== null || this.ended) return;
    if (err === null) this.ended = true;
    else this.terminal = err;
    this.closeStream();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.notify();
  }

  private closeStream(): void {
    const s = this.stream;
    this.stream = null;
    this.generation++;
    if (s !== null) endStream(s);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

/** Ends a watch stream without etcd3 treating it as a failed host (it resets every channel on a writable stream's error). */
function endStream(s: WatchStream): void {
  try {
    s.end();
    s.cancel();
  } catch {
    // already closed
  }
}

/** etcd's range end for a byte prefix: the prefix with its last non-0xff byte incremented. */
function rangeEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i];
    if (b !== undefined && b < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = b + 1;
      return end;
    }
  }
  // Empty or all-0xff prefix: "\0" as range end means every key from `key` on.
  return Buffer.from([0]);
}

function toBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function oneLine(e: unknown): string {
  // grpc-js appends an often empty "Resolution note:"; it adds nothing to a one-line message.
  return errorText(e).replace(/\s+/g, ' ').replace(/\s*Resolution note:\s*$/, '').trim();
}
