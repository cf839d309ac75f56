import type Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setImmediate as immediate } from 'node:timers/promises';
import { realClock } from '../../base/clock.ts';
import type { Clock } from '../../base/clock.ts';
import { logger } from '../../base/log.ts';
import { decodeContinue, encodeContinue, prefixEnd } from '../continue-token.ts';
import { checkValueSize, StorageError } from '../errors.ts';
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
import { acquireLockFile } from './lock-file.ts';
import type { LockFile } from './lock-file.ts';
import { openDatabase } from './schema.ts';

const log = logger('storage-sqlite');

/** Tuning knobs of the SQLite engine; the defaults suit a server. */
export interface SqliteStorageOptions {
  /** Events a watcher may have queued before it is ended with WatchOverflow (default 10,000). */
  watchBufferLimit?: number;
  /** How often expired TTL keys are swept (default 500 ms). */
  ttlSweepIntervalMs?: number;
  /** How often the WAL is checkpointed and truncated (default 30 s; 0 disables the timer). */
  checkpointIntervalMs?: number;
  /** Most writes committed in one transaction (default 1,000). */
  maxBatch?: number;
  /** Revisions examined per compaction transaction, bounding how long one chunk holds the writer (default 5,000). */
  compactChunk?: number;
  /** Run PRAGMA quick_check when opening (default true). */
  integrityCheck?: boolean;
  /** Time source for TTL expiry. */
  clock?: Clock;
}

/** What SqliteStorage.stats() reports. */
export interface SqliteStats {
  revision: number;
  compactRevision: number;
  /** Rows of history, live and superseded. */
  logRows: number;
  liveKeys: number;
  /** Transactions committed by the write path (each one fsync). */
  commits: number;
  dbBytes: number;
  walBytes: number;
}

type Op =
  | { kind: 'create'; key: string; value: Buffer; ttlSeconds: number }
  | { kind: 'update'; key: string; value: Buffer; ttlSeconds: number; expected: number }
  | { kind: 'delete'; key: string; expected: number | undefined };

type Outcome = { ok: true; event: Extract<WatchEvent, { type: 'put' | 'delete' }> } | { ok: false; error: StorageError };

interface PendingWrite {
  op: Op;
  done: (o: Outcome) => void;
}

interface CurrentRow {
  revision: number;
  create_revision: number;
  value: Buffer;
}

interface LogRow {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: Buffer | null;
  prev_value: Buffer | null;
}

interface KvRow {
  name: string;
  id: number;
  create_revision: number;
  value: Buffer;
}

interface Watcher {
  prefix: string;
  queue: WatchEvent[];
  wake: (() => void) | null;
  error: StorageError | null;
  /** A progress event was asked for (requestProgress): sent once the queue is empty. */
  progressWanted: boolean;
}

/** Revisions scanned per synchronous step of a watch replaying history. */
const REPLAY_CHUNK = 2000;
/** Above this many revisions since a snapshot, paging skips the "nothing changed" probe and reads history. */
const UNCHANGED_PROBE_LIMIT = 10_000;

function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function validKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') throw new StorageError('Invalid', 'key must be a non-empty string');
}

function ttlOf(opts: WriteOptions | undefined): number {
  const ttl = opts?.ttlSeconds ?? 0;
  if (!Number.isFinite(ttl) || ttl < 0) throw new StorageError('Invalid', `ttlSeconds must be a positive number, got ${ttl}`);
  return ttl;
}

/**
 * The embedded engine: a kine-style revision log in one SQLite file owned by this process, with group
 * commit, in-process watch fan-out, chunked compaction and TTL sweeping. Create it with openSqliteStorage.
 */
export class SqliteStorage implements Storage {
  readonly engine = 'sqlite';
  /** The database file. */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly lock: LockFile;
  private readonly clock: Clock;
  private readonly bufferLimit: number;
  private readonly maxBatch: number;
  private readonly compactChunk: number;
  private rev: number;
  private compactRev: number;
  private compactDone: number;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  private readonly live = new Set<Watcher>();
  private readonly watchers = new Set<Watcher>();
  private compaction: Promise<void> = Promise.resolve();
  private sweeping = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private commits = 0;
  private readonly stmt: Statements;
  private readonly commitBatch: (batch: PendingWrite[]) => Outcome[];

  /** Use openSqliteStorage: the constructor only wires an opened database and its recovered state. */
  constructor(path: string, parts: OpenedDatabase, opts: SqliteStorageOptions = {}) {
    this.path = path;
    this.db = parts.db;
    this.lock = parts.lock;
    this.stmt = parts.stmt;
    this.rev = parts.rev;
    this.compactRev = parts.compactRev;
    this.compactDone = parts.compactDone;
    this.clock = opts.clock ?? realClock;
    this.bufferLimit = opts.watchBufferLimit ?? 10_000;
    this.maxBatch = opts.maxBatch ?? 1000;
    this.compactChunk = opts.compactChunk ?? 5000;
    this.commitBatch = parts.db.transaction((batch: PendingWrite[]) => batch.map((p) => this.apply(p.op)));
  }

  /** Starts the TTL sweeper and the checkpoint timer; called by openSqliteStorage. */
  start(opts: SqliteStorageOptions = {}): void {
    const sweepMs = opts.ttlSweepIntervalMs ?? 500;
    const checkpointMs = opts.checkpointIntervalMs ?? 30_000;
    this.timers.push(setInterval(() => this.sweepExpired(), sweepMs).unref());
    if (checkpointMs > 0) this.timers.push(setInterval(() => this.checkpoint(), checkpointMs).unref());
    if (this.compactDone < this.compactRev) {
      // A compaction was cut short by a shutdown or crash: finish purging in the background.
      this.compaction = this.purge().catch((e: unknown) => log.warn('resumed compaction failed', { path: this.path, err: e }));
    }
  }

  // ---- reads -------------------------------------------------------------------------------------

  async get(key: string, opts: ReadOptions = {}): Promise<{ kv: KeyValue | null; revision: number }> {
    this.checkOpen();
    validKey(key);
    const rev = this.readRevision(opts.revision);
    if (rev === this.rev) {
      const row = this.stmt.current.get(key) as CurrentRow | undefined;
      return { kv: row ? { key, value: bytes(row.value), createRevision: row.create_revision, modRevision: row.revision } : null, revision: rev };
    }
    const row = this.stmt.getAt.get(key, rev) as (KvRow & { deleted: number }) | undefined;
    if (!row || row.deleted) return { kv: null, revision: rev };
    return { kv: { key, value: bytes(row.value), createRevision: row.create_revision, modRevision: row.id }, revision: rev };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    let requested = opts.revision ?? 0;
    let lo = prefix;
    if (opts.continue) {
      const token = decodeContinue(opts.continue);
      requested = token.revision;
      const after = token.lastKey + '\u0000';
      if (after > lo) lo = after;
    }
    const hi = prefixEnd(prefix);
    const rev = this.readRevision(requested);
    const limit = opts.limit !== undefined && opts.limit > 0 ? Math.floor(opts.limit) : 0;
    const latest = rev === this.rev || this.unchangedSince(rev, lo, hi);
    const rows = (latest
      ? this.stmt.listLatest.all(lo, hi, limit > 0 ? limit + 1 : -1)
      : this.stmt.listAt.all(lo, hi, rev, limit > 0 ? limit + 1 : -1)) as KvRow[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.pop();
    const kvs = rows.map((r) => ({ key: r.name, value: bytes(r.value), createRevision: r.create_revision, modRevision: r.id }));
    const result: ListResult = { kvs, revision: rev };
    const last = kvs[kvs.length - 1];
    if (more && last) {
      result.continue = encodeContinue({ revision: rev, lastKey: last.key });
      if (opts.countRemaining !== false) {
        const from = last.key + '\u0000';
        const counted = (latest ? this.stmt.countLatest.get(from, hi) : this.stmt.countAt.get(from, hi, rev)) as { n: number };
        result.remaining = counted.n;
      }
    }
    return result;
  }

  async count(prefix: string): Promise<{ count: number; revision: number }> {
    this.checkOpen();
    const row = this.stmt.countLatest.get(prefix, prefixEnd(prefix)) as { n: number };
    return { count: row.n, revision: this.rev };
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.checkOpen();
    return this.compactRev;
  }

  async health(): Promise<void> {
    this.checkOpen();
    if (this.closing) throw new StorageError('Closed', `storage ${this.path} is closing`);
    this.stmt.maxId.get();
  }

  /** Counters and file sizes for benchmarks and tests (counting history rows scans the log). */
  stats(): SqliteStats {
    this.checkOpen();
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    return {
      revision: this.rev,
      compactRevision: this.compactRev,
      logRows: (this.stmt.countLog.get() as { n: number }).n,
      liveKeys: (this.stmt.countLatest.get('', prefixEnd('')) as { n: number }).n,
      commits: this.commits,
      dbBytes: size(this.path),
      walBytes: size(`${this.path}-wal`),
    };
  }

  /** The revision a read is served at; throws Compacted below the window and Invalid beyond the head. */
  private readRevision(requested: number | undefined): number {
    const rev = requested === undefined || requested === 0 ? this.rev : requested;
    if (!Number.isInteger(rev) || rev < 0) throw new StorageError('Invalid', `revision ${rev} is not a valid revision`);
    if (rev < this.compactRev) throw this.compactedError(rev);
    if (rev > this.rev) throw new StorageError('Invalid', `revision ${rev} is a future revision (current ${this.rev})`);
    return rev;
  }

  /** True when no key in [lo, hi) changed after `rev`, so the snapshot equals the current table. */
  private unchangedSince(rev: number, lo: string, hi: string): boolean {
    if (this.rev - rev > UNCHANGED_PROBE_LIMIT) return false;
    return this.stmt.changedAfter.get(rev, lo, hi) === undefined;
  }

  private compactedError(rev: number): StorageError {
    return new StorageError(
      'Compacted',
      `required revision ${rev} has been compacted (oldest available ${this.compactRev})`,
      { compactRevision: this.compactRev },
    );
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('Closed', `storage ${this.path} is closed`);
  }

  // ---- writes ------------------------------------------------------------------------------------

  async create(key: string, value: Uint8Array, opts?: WriteOptions): Promise<KeyValue> {
    validKey(key);
    checkValueSize(key, value);
    const event = await this.enqueue({ kind: 'create', key, value: Buffer.from(value), ttlSeconds: ttlOf(opts) });
    if (event.type !== 'put') throw new Error('unreachable: create produced a delete');
    return event.kv;
  }

  async update(key: string, value: Uint8Array, opts: UpdateOptions): Promise<KeyValue> {
    validKey(key);
    checkValueSize(key, value);
    const expected = opts.expectedModRevision;
    if (!Number.isInteger(expected) || expected <= 0) {
      throw new StorageError('Invalid', `expectedModRevision must be a positive integer, got ${expected}`, { key });
    }
    const event = await this.enqueue({ kind: 'update', key, value: Buffer.from(value), ttlSeconds: ttlOf(opts), expected });
    if (event.type !== 'put') throw new Error('unreachable: update produced a delete');
    return event.kv;
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<{ prevKv: KeyValue; revision: number }> {
    validKey(key);
    const event = await this.enqueue({ kind: 'delete', key, expected: opts.expectedModRevision });
    if (event.type !== 'delete') throw new Error('unreachable: delete produced a put');
    return { prevKv: event.prevKv, revision: event.revision };
  }

  private enqueue(op: Op): Promise<Extract<WatchEvent, { type: 'put' | 'delete' }>> {
    if (this.closing) return Promise.reject(new StorageError('Closed', `storage ${this.path} is closed`, { key: op.key }));
    return new Promise((resolve, reject) => {
      this.pending.push({ op, done: (o) => (o.ok ? resolve(o.event) : reject(o.error)) });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: writers woken by the previous commit get to enqueue first, so
    // concurrent writers share one transaction and one fsync.
    setImmediate(() => this.flush());
  }

  /** Commits the queued writes as one transaction, then publishes their events and settles their promises. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length > 0) this.scheduleFlush();
    if (batch.length === 0) return;
    const startRev = this.rev;
    let outcomes: Outcome[];
    try {
      outcomes = this.commitBatch(batch);
      this.commits++;
    } catch (e) {
      // Something failed below the per-write checks (I/O, a constraint): redo each write in its own
      // transaction so that one bad write cannot take the others down with it.
      this.rev = startRev;
      log.warn('batch commit failed; retrying writes one by one', { writes: batch.length, err: e });
      outcomes = batch.map((p) => {
        const before = this.rev;
        try {
          const [o] = this.commitBatch([p]);
          if (!o) throw new Error('no outcome');
          return o;
        } catch (e2) {
          this.rev = before;
          return { ok: false, error: new StorageError('Unavailable', `write to ${this.path} failed: ${(e2 as Error).message}`, { key: p.op.key, cause: e2 }) };
        }
      });
    }
    for (const o of outcomes) if (o.ok) this.dispatch(o.event);
    batch.forEach((p, i) => {
      const o = outcomes[i];
      p.done(o ?? { ok: false, error: new StorageError('Unavailable', 'write lost its outcome', { key: p.op.key }) });
    });
  }

  /** Applies one write inside the batch transaction; precondition failures touch nothing. */
  private apply(op: Op): Outcome {
    const { key } = op;
    const cur = this.stmt.current.get(key) as CurrentRow | undefined;
    const curKv = (c: CurrentRow): KeyValue => ({ key, value: bytes(c.value), createRevision: c.create_revision, modRevision: c.revision });
    const rev = this.rev + 1;
    if (op.kind === 'create') {
      if (cur) return { ok: false, error: new StorageError('KeyExists', `key ${JSON.stringify(key)} already exists`, { key }) };
      const prev = (this.stmt.latestId.get(key) as { id: number } | undefined)?.id ?? 0;
      this.stmt.insertLog.run(rev, key, 1, 0, rev, prev, op.ttlSeconds, op.value);
      this.stmt.insertCurrent.run(key, rev, rev, this.expiry(op.ttlSeconds));
      this.rev = rev;
      return { ok: true, event: { type: 'put', kv: { key, value: bytes(op.value), createRevision: rev, modRevision: rev }, prevKv: null, revision: rev } };
    }
    if (!cur) return { ok: false, error: new StorageError('NotFound', `key ${JSON.stringify(key)} not found`, { key }) };
    if (op.expected !== undefined && op.expected !== cur.revision) {
      return {
        ok: false,
        error: new StorageError(
          'Conflict',
          `key ${JSON.stringify(key)} has been modified: expected modRevision ${op.expected}, current ${cur.revision}`,
          { key, current: curKv(cur) },
        ),
      };
    }
    if (op.kind === 'update') {
      this.stmt.insertLog.run(rev, key, 0, 0, cur.create_revision, cur.revision, op.ttlSeconds, op.value);
      this.stmt.updateCurrent.run(rev, this.expiry(op.ttlSeconds), key);
      this.rev = rev;
      const kv = { key, value: bytes(op.value), createRevision: cur.create_revision, modRevision: rev };
      return { ok: true, event: { type: 'put', kv, prevKv: curKv(cur), revision: rev } };
    }
    this.stmt.insertLog.run(rev, key, 0, 1, cur.create_revision, cur.revision, 0, null);
    this.stmt.deleteCurrent.run(key);
    this.rev = rev;
    return { ok: true, event: { type: 'delete', key, prevKv: curKv(cur), revision: rev } };
  }

  private expiry(ttlSeconds: number): number | null {
    return ttlSeconds > 0 ? this.clock.now() + Math.round(ttlSeconds * 1000) : null;
  }

  /** Deletes keys whose TTL passed, through the ordinary write path so that watchers see the deletes. */
  private sweepExpired(): void {
    if (this.sweeping || this.closing) return;
    let due: { name: string; revision: number }[];
    try {
      due = this.stmt.expired.all(this.clock.now()) as { name: string; revision: number }[];
    } catch (e) {
      log.warn('TTL sweep failed', { path: this.path, err: e });
      return;
    }
    if (due.length === 0) return;
    this.sweeping = true;
    const deletes = due.map((d) =>
      this.enqueue({ kind: 'delete', key: d.name, expected: d.revision }).then(
        () => true,
        // A racing update renewed or replaced the key: its new expiry decides.
        () => false,
      ),
    );
    void Promise.all(deletes).then((r) => {
      this.sweeping = false;
      log.v(4).info('expired keys deleted', { count: r.filter(Boolean).length });
    });
  }

  // ---- watch -------------------------------------------------------------------------------------

  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchEvent> {
    return this.watchEvents(prefix, opts);
  }

  private async *watchEvents(prefix: string, opts: WatchOptions): AsyncGenerator<WatchEvent> {
    this.checkOpen();
    const { signal } = opts;
    let last = opts.fromRevision;
    if (!Number.isInteger(last) || last < 0) throw new StorageError('Invalid', `fromRevision ${last} is not a valid revision`);
    const hi = prefixEnd(prefix);
    const w: Watcher = { prefix, queue: [], wake: null, error: null, progressWanted: false };
    const onAbort = (): void => w.wake?.();
    signal?.addEventListener('abort', onAbort);
    this.watchers.add(w);
    try {
      // Replay history from the log until the head; because commits and fan-out happen in one
      // synchronous step, joining the live set at the head can neither miss nor repeat an event.
      for (;;) {
        if (signal?.aborted) return;
        if (w.error) throw w.error;
        if (last < this.compactRev) throw this.compactedError(last);
        if (last >= this.rev) {
          this.live.add(w);
          break;
        }
        const upTo = Math.min(this.rev, last + REPLAY_CHUNK);
        const rows = this.stmt.replay.all(last, upTo, prefix, hi) as LogRow[];
        last = upTo;
        if (rows.length === 0) await immediate();
        for (const r of rows) yield rowEvent(r);
      }
      const progressMs = opts.progressIntervalMs ?? 5000;
      for (;;) {
        if (signal?.aborted) return;
        const ev = w.queue.shift();
        if (ev) {
          yield ev;
          continue;
        }
        if (w.error) throw w.error;
        if (w.progressWanted) {
          // Commits fan out synchronously, so an empty queue means every change up to this.rev was delivered.
          w.progressWanted = false;
          yield { type: 'progress', revision: this.rev };
          continue;
        }
        const idle = await this.waitForEvents(w, progressMs);
        if (idle && w.queue.length === 0 && !w.error && !signal?.aborted) yield { type: 'progress', revision: this.rev };
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.watchers.delete(w);
      this.live.delete(w);
    }
  }

  requestProgress(): void {
    for (const w of this.watchers) {
      w.progressWanted = true;
      w.wake?.();
    }
  }

  /** Resolves true when `ms` passed with nothing to deliver, false when woken. */
  private waitForEvents(w: Watcher, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      w.wake = () => {
        w.wake = null;
        if (timer) clearTimeout(timer);
        resolve(false);
      };
      if (ms > 0) {
        timer = setTimeout(() => {
          w.wake = null;
          resolve(true);
        }, ms);
      }
    });
  }

  private dispatch(ev: Extract<WatchEvent, { type: 'put' | 'delete' }>): void {
    const key = ev.type === 'put' ? ev.kv.key : ev.key;
    for (const w of this.live) {
      if (!key.startsWith(w.prefix)) continue;
      if (w.queue.length >= this.bufferLimit) {
        w.error = new StorageError(
          'WatchOverflow',
          `watcher on ${JSON.stringify(w.prefix)} fell more than ${this.bufferLimit} events behind; re-watch from the last revision seen`,
        );
        w.queue = [];
        this.live.delete(w);
      } else {
        w.queue.push(ev);
      }
      w.wake?.();
    }
  }

  // ---- compaction and maintenance ----------------------------------------------------------------

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(revision) || revision < 0) throw new StorageError('Invalid', `cannot compact to revision ${revision}`);
    if (revision > this.rev) throw new StorageError('Invalid', `cannot compact to future revision ${revision} (current ${this.rev})`);
    if (revision <= this.compactRev) return;
    // Raise the floor first, durably: from here on no read or watch may ask for what is about to go.
    this.stmt.setMeta.run(revision, 'compact_revision');
    this.compactRev = revision;
    const run = this.compaction.then(() => this.purge());
    this.compaction = run.catch(() => undefined);
    await run;
  }

  /**
   * Deletes superseded rows up to the compacted revision in small transactions, yielding between them
   * so that group commits interleave. A row is superseded when a later row of its key, itself within the
   * compacted range, names it as prev_revision; tombstones within the range go too. Rows that later
   * writes name as their previous value therefore survive, which is what watch replay reads prevKv from.
   */
  private async purge(): Promise<void> {
    const target = this.compactRev;
    const chunk = this.db.transaction((from: number, to: number) => {
      const superseded = this.stmt.purgeSuperseded.run(from, to).changes;
      const tombstones = this.stmt.purgeTombstones.run(from, to).changes;
      this.stmt.setMeta.run(to, 'compact_done');
      return superseded + tombstones;
    });
    let removed = 0;
    const started = Date.now();
    while (this.compactDone < target && !this.closing) {
      const to = Math.min(target, this.compactDone + this.compactChunk);
      removed += chunk(this.compactDone, to);
      this.compactDone = to;
      await immediate();
    }
    if (!this.closing) this.checkpoint();
    log.v(2).info('compacted', { revision: target, removed, ms: Date.now() - started });
  }

  /** Copies the WAL into the database and truncates it, so the WAL cannot grow without bound. */
  private checkpoint(): void {
    if (this.closed) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      log.warn('WAL checkpoint failed', { path: this.path, err: e });
    }
  }

  async close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    while (this.pending.length > 0 || this.flushScheduled) await immediate();
    await this.compaction;
    for (const w of this.watchers) {
      w.error ??= new StorageError('Closed', `storage ${this.path} is closed`);
      w.wake?.();
    }
    this.live.clear();
    this.checkpoint();
    this.closed = true;
    this.db.close();
    this.lock.release();
  }
}

function rowEvent(r: LogRow): Extract<WatchEvent, { type: 'put' | 'delete' }> {
  const prevKv: KeyValue | null =
    r.created || r.prev_value === null
      ? null
      : { key: r.name, value: bytes(r.prev_value), createRevision: r.create_revision, modRevision: r.prev_revision };
  if (r.deleted) {
    if (!prevKv) throw new StorageError('Corrupt', `history of ${JSON.stringify(r.name)} lacks the value deleted at revision ${r.id}`);
    return { type: 'delete', key: r.name, prevKv, revision: r.id };
  }
  const kv = { key: r.name, value: bytes(r.value ?? Buffer.alloc(0)), createRevision: r.create_revision, modRevision: r.id };
  return { type: 'put', kv, prevKv, revision: r.id };
}

type Statements = ReturnType<typeof prepareStatements>;

/** An opened database with its prepared statements and the state recovered from it. */
export interface OpenedDatabase {
  db: Database.Database;
  lock: LockFile;
  stmt: Statements;
  /** The latest revision. */
  rev: number;
  compactRev: number;
  /** Revision up to which superseded rows have been purged. */
  compactDone: number;
}

function recover(db: Database.Database, lock: LockFile): OpenedDatabase {
  const stmt = prepareStatements(db);
  const meta = (key: string): number => (stmt.getMeta.get(key) as { value: number } | undefined)?.value ?? 0;
  const compactRev = meta('compact_revision');
  const maxId = (stmt.maxId.get() as { id: number | null }).id ?? 0;
  // Compaction may remove the newest row (a tombstone at the compacted revision), so the compacted
  // revision also bounds the current one from below.
  return { db, lock, stmt, rev: Math.max(maxId, compactRev), compactRev, compactDone: meta('compact_done') };
}

function prepareStatements(db: Database.Database) {
  const kvAt = `SELECT name, max(id) AS id FROM log WHERE name >= ? AND name < ? AND id <= ? GROUP BY name`;
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
    maxId: db.prepare('SELECT max(id) AS id FROM log'),
    countLog: db.prepare('SELECT count(*) AS n FROM log'),
    current: db.prepare('SELECT c.revision, c.create_revision, l.value FROM current c JOIN log l ON l.id = c.revision WHERE c.name = ?'),
    latestId: db.prepare('SELECT id FROM log WHERE name = ? ORDER BY id DESC LIMIT 1'),
    getAt: db.prepare('SELECT name, id, deleted, create_revision, value FROM log WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1'),
    insertLog: db.prepare(
      'INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, lease, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertCurrent: db.prepare('INSERT INTO current (name, revision, create_revision, expires_at) VALUES (?, ?, ?, ?)'),
    updateCurrent: db.prepare('UPDATE current SET revision = ?, expires_at = ? WHERE name = ?'),
    deleteCurrent: db.prepare('DELETE FROM current WHERE name = ?'),
    listLatest: db.prepare(
      'SELECT c.name, c.revision AS id, c.create_revision, l.value FROM current c JOIN log l ON l.id = c.revision ' +
        'WHERE c.name >= ? AND c.name < ? ORDER BY c.name LIMIT ?',
    ),
    countLatest: db.prepare('SELECT count(*) AS n FROM current WHERE name >= ? AND name < ?'),
    // One pass over the (name, id) index in name order: SQLite's bare columns come from the max(id) row
    // of each group, HAVING drops keys deleted at the revision, and LIMIT stops the scan after one page
    // (a join on a grouped subquery grouped the whole rest of the range for every page: 124 → 7 ms per
    // 1,000-key page of a 100,000-key store).
    listAt: db.prepare(
      'SELECT name, max(id) AS id, create_revision, value, deleted FROM log WHERE name >= ? AND name < ? AND id <= ? ' +
        'GROUP BY name HAVING deleted = 0 ORDER BY name LIMIT ?',
    ),
    countAt: db.prepare(`SELECT count(*) AS n FROM (${kvAt}) g JOIN log l ON l.id = g.id WHERE l.deleted = 0`),
    // Unary + keeps the planner on the revision (rowid) range instead of scanning a key's whole history.
    changedAfter: db.prepare('SELECT 1 FROM log WHERE id > ? AND +name >= ? AND +name < ? LIMIT 1'),
    replay: db.prepare(
      'SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.prev_revision, l.value, p.value AS prev_value ' +
        'FROM log l LEFT JOIN log p ON p.id = l.prev_revision AND l.created = 0 ' +
        'WHERE l.id > ? AND l.id <= ? AND +l.name >= ? AND +l.name < ? ORDER BY l.id',
    ),
    expired: db.prepare('SELECT name, revision FROM current WHERE expires_at <= ? ORDER BY expires_at LIMIT 1000'),
    purgeSuperseded: db.prepare(
      'DELETE FROM log WHERE id IN (SELECT prev_revision FROM log WHERE id > ? AND id <= ? AND prev_revision > 0)',
    ),
    purgeTombstones: db.prepare('DELETE FROM log WHERE id > ? AND id <= ? AND deleted = 1'),
  };
}

/**
 * Opens the SQLite store at `path` (created with its parent directory when missing), taking the
 * `<path>.lock` file; fails with Locked when another process holds it and Corrupt for a foreign or damaged file.
 */
export async function openSqliteStorage(path: string, opts: SqliteStorageOptions = {}): Promise<SqliteStorage> {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const lock = acquireLockFile(`${abs}.lock`, { what: `SQLite datastore ${abs}` });
  try {
    const db = openDatabase(abs, { integrityCheck: opts.integrityCheck ?? true });
    let parts: OpenedDatabase;
    try {
      parts = recover(db, lock);
    } catch (e) {
      db.close();
      throw new StorageError('Corrupt', `${abs} is damaged: ${(e as Error).message}`, { cause: e });
    }
    const storage = new SqliteStorage(abs, parts, opts);
    storage.start(opts);
    log.v(1).info('sqlite storage opened', { path: abs });
    return storage;
  } catch (e) {
    lock.release();
    throw e;
  }
}
