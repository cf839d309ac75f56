/**
 * Restoring a snapshot into an empty store of either engine. The whole file is verified before the
 * target is touched; afterwards the store's revision continues above the snapshot's and everything
 * below it is marked compacted, so that clients' watches fail with "too old" and re-list instead of
 * replaying history that no longer matches (etcdutl's --bump-revision / --mark-compacted).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { logger } from '../../base/log.ts';
import { etcdBulkLoader, type BulkRecord, type EtcdBulkLoader } from '../etcd/etcd-storage.ts';
import { StorageError } from '../errors.ts';
import type { Storage } from '../interface.ts';
import { acquireLockFile } from '../sqlite/lock-file.ts';
import { openDatabase } from '../sqlite/schema.ts';
import { openSnapshotReader, SnapshotError, verifySnapshot, type SnapshotHeader, type VerifiedSnapshot } from './format.ts';

const log = logger('snapshot');

/** How far above the snapshot revision a SQLite store restarts by default: free there, as Kubernetes advises for etcd. */
export const DEFAULT_SQLITE_BUMP = 1_000_000_000;
/** How far above the snapshot revision an etcd store restarts by default: free too, since it is a revision offset. */
export const DEFAULT_ETCD_BUMP = 1_000_000_000;
/** The default bump of an engine restored through the generic path, where every skipped revision costs one write. */
export const DEFAULT_STORAGE_BUMP = 1_000;

/** Options of a restore. */
export interface RestoreOptions {
  /** Replace whatever the target holds (default: refuse a non-empty target with NotEmpty). */
  force?: boolean;
  /** Revisions to leave between the snapshot's revision (or the target's, if higher) and the restored store's; default per engine. */
  bumpRevision?: number;
  /** A TTL (seconds) to give restored keys, e.g. Events (the format keeps no leases); undefined for none. */
  ttlSeconds?: (key: string) => number | undefined;
  /** Writes in flight when restoring through the Storage interface; default 64 (etcd: Txns of up to 128 keys in flight, default 8). */
  concurrency?: number;
  /** Called once the file is verified and the target checked, before anything is written (say what will be replaced). */
  onStart?: (plan: RestorePlan) => void;
}

/** What a restore is about to do. */
export interface RestorePlan {
  header: SnapshotHeader;
  /** Keys the target held that will be replaced (0 for an empty target). */
  replacing: number;
  /** The target's revision before the restore. */
  targetRevision: number;
}

/** What a restore did. */
export interface RestoreResult {
  header: SnapshotHeader;
  /** Keys written. */
  restored: number;
  /** Keys the target held before (replaced under force). */
  replaced: number;
  /** The target's revision before the restore. */
  previousRevision: number;
  /** The store's revision after the restore; history below it is compacted. */
  revision: number;
  /** Whether restored keys kept the snapshot's modRevisions (SQLite) or got new ones (etcd). */
  revisionsPreserved: boolean;
  durationMs: number;
}

/** Where to restore: a SQLite file (written directly, server stopped) or an opened Storage (etcd). */
export type RestoreTarget = { sqlitePath: string } | { storage: Storage };

/** Restores `file` into `target`; refuses a bad file (SnapshotError) before touching the target. */
export async function restoreSnapshot(file: string, target: RestoreTarget, opts: RestoreOptions = {}): Promise<RestoreResult> {
  if ('sqlitePath' in target) return restoreIntoSqlite(file, target.sqlitePath, opts);
  const loader = etcdBulkLoader(target.storage);
  return loader === null ? restoreIntoStorage(file, target.storage, opts) : restoreIntoEtcd(file, target.storage, loader, opts);
}

function notEmpty(what: string, count: number, revision: number): SnapshotError {
  return new SnapshotError(
    'NotEmpty',
    `restore target ${what} is not empty: it holds ${count.toLocaleString('en-US')} keys at revision ${revision}; ` +
      'restoring would replace them (pass --force to replace them)',
  );
}

function changedError(file: string, e: unknown): unknown {
  if (e instanceof SnapshotError) {
    return new SnapshotError(e.code, `${e.message} (the file changed after it was verified)`, { cause: e });
  }
  return e;
}

/**
 * Restores into a SQLite file with the server stopped: takes the store's lock (Locked naming the lock
 * file when a server holds it), writes every key with its snapshot revisions in one transaction, and
 * sets the store's revision and compaction floor above the snapshot's.
 */
export async function restoreIntoSqlite(file: string, dbPath: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const started = Date.now();
  const verified = await verifySnapshot(file);
  const abs = resolve(dbPath);
  mkdirSync(dirname(abs), { recursive: true });
  let lock;
  try {
    lock = acquireLockFile(`${abs}.lock`, { what: `SQLite datastore ${abs}` });
  } catch (e) {
    if (e instanceof StorageError && e.code === 'Locked' && e.message.includes(' is in use')) {
      throw new SnapshotError('Locked', `cannot restore while the store is in use: ${e.message}`, { cause: e });
    }
    throw e;
  }
  try {
    const db = openDatabase(abs);
    try {
      const existing = (db.prepare('SELECT count(*) AS n FROM current').get() as { n: number }).n;
      const maxId = (db.prepare('SELECT max(id) AS id FROM log').get() as { id: number | null }).id ?? 0;
      const floor = (db.prepare("SELECT value FROM meta WHERE key = 'compact_revision'").get() as { value: number } | undefined)?.value ?? 0;
      const previousRevision = Math.max(maxId, floor);
      if (existing > 0 && !opts.force) throw notEmpty(abs, existing, previousRevision);
      opts.onStart?.({ header: verified.header, replacing: existing, targetRevision: previousRevision });
      const bump = opts.bumpRevision ?? DEFAULT_SQLITE_BUMP;
      const insertLog = db.prepare(
        'INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, lease, value) VALUES (?, ?, 1, 0, ?, 0, ?, ?)',
      );
      const insertCurrent = db.prepare('INSERT INTO current (name, revision, create_revision, expires_at) VALUES (?, ?, ?, ?)');
      const setMeta = db.prepare('UPDATE meta SET value = ? WHERE key = ?');
      const snapRev = verified.header.revision;
      // Keys keep their modRevision (so resourceVersions survive); a revision shared by several keys (an
      // etcd transaction wrote them together) cannot be a row id twice, so later ones get fresh ids above.
      const used = new Set<number>();
      let spare = snapRev;
      let restored = 0;
      const now = Date.now();
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec('DELETE FROM current; DELETE FROM log;');
        const reader = await openSnapshotReader(file);
        try {
          for await (const kv of reader.records()) {
            let id = kv.modRevision;
            if (id <= 0 || id > snapRev || used.has(id)) id = ++spare;
            used.add(id);
            const ttl = opts.ttlSeconds?.(kv.key) ?? 0;
            insertLog.run(id, kv.key, Math.min(kv.createRevision > 0 ? kv.createRevision : id, id), ttl, Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength));
            insertCurrent.run(kv.key, id, Math.min(kv.createRevision > 0 ? kv.createRevision : id, id), ttl > 0 ? now + ttl * 1000 : null);
            restored++;
          }
        } catch (e) {
          throw changedError(file, e);
        }
        if (reader.checksum() !== verified.sha256) throw new SnapshotError('ChecksumMismatch', `snapshot ${file} changed after it was verified`);
        const revision = Math.max(snapRev, previousRevision, spare) + bump;
        setMeta.run(revision, 'compact_revision');
        setMeta.run(revision, 'compact_done');
        db.exec('COMMIT');
        db.pragma('wal_checkpoint(TRUNCATE)');
        log.info('snapshot restored', { file, target: abs, keys: restored, snapshotRevision: snapRev, revision });
        return {
          header: verified.header, restored, replaced: existing, previousRevision, revision,
          revisionsPreserved: spare === snapRev, durationMs: Date.now() - started,
        };
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    } finally {
      db.close();
    }
  } finally {
    lock.release();
  }
}

/** Runs `fn` over items with at most `limit` in flight; stops at (and rethrows) the first failure. */
async function pool<T>(items: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: { e: unknown } | undefined;
  for await (const item of items) {
    if (failure) break;
    const p: Promise<void> = fn(item).then(
      () => { inflight.delete(p); },
      (e: unknown) => { inflight.delete(p); failure ??= { e }; },
    );
    inflight.add(p);
    if (inflight.size >= limit) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failure) throw failure.e;
}

/**
 * Restores into the etcd engine (every server on that etcd stopped): deletes the prefix in one request
 * when forced, raises the engine's persisted revision offset so that the revision continues at least
 * `bumpRevision` above the snapshot's (or the target's, if higher), writes the keys ~128 per Txn with
 * several Txns in flight, then compacts at the new head. Restored keys get new modRevisions.
 */
export async function restoreIntoEtcd(file: string, storage: Storage, loader: EtcdBulkLoader, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const started = Date.now();
  const verified = await verifySnapshot(file);
  const prefix = verified.header.prefix;
  const before = await storage.count(prefix);
  if (before.count > 0 && !opts.force) throw notEmpty(`${storage.engine} store`, before.count, before.revision);
  opts.onStart?.({ header: verified.header, replacing: before.count, targetRevision: before.revision });
  if (before.count > 0) await loader.deletePrefix(prefix);
  // Raised before the keys are written: a restore cut short leaves a store whose revisions are already
  // above every old one, and a second attempt (with --force) starts from there.
  const target = Math.max(verified.header.revision, before.revision) + (opts.bumpRevision ?? DEFAULT_ETCD_BUMP);
  await loader.raiseRevision(target);
  const reader = await openSnapshotReader(file);
  async function* records(): AsyncGenerator<BulkRecord> {
    for await (const kv of reader.records()) {
      const ttl = opts.ttlSeconds?.(kv.key);
      yield ttl === undefined ? { key: kv.key, value: kv.value } : { key: kv.key, value: kv.value, ttlSeconds: ttl };
    }
  }
  let restored: number;
  try {
    restored = (await loader.createAll(records(), opts.concurrency === undefined ? {} : { concurrency: opts.concurrency })).written;
  } catch (e) {
    reader.close();
    throw changedError(file, e);
  }
  if (reader.checksum() !== verified.sha256) throw new SnapshotError('ChecksumMismatch', `snapshot ${file} changed after it was verified`);
  const head = await storage.currentRevision();
  await storage.compact(head);
  log.info('snapshot restored', { file, engine: storage.engine, keys: restored, snapshotRevision: verified.header.revision, revision: head, revisionOffset: loader.revisionOffset });
  return {
    header: verified.header, restored, replaced: before.count, previousRevision: before.revision, revision: head,
    revisionsPreserved: false, durationMs: Date.now() - started,
  };
}

/**
 * Restores through the generic Storage interface (an engine without a bulk path): writes every
 * key, then advances the revision with marker writes until it exceeds the snapshot's by `bumpRevision`,
 * then compacts there. Restored keys get new modRevisions (resourceVersions). The caller must ensure no
 * server is writing to the store; a non-empty store is refused unless forced.
 */
export async function restoreIntoStorage(file: string, storage: Storage, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const started = Date.now();
  const verified: VerifiedSnapshot = await verifySnapshot(file);
  const prefix = verified.header.prefix;
  const before = await storage.count(prefix);
  if (before.count > 0 && !opts.force) throw notEmpty(`${storage.engine} store`, before.count, before.revision);
  opts.onStart?.({ header: verified.header, replacing: before.count, targetRevision: before.revision });
  const limit = opts.concurrency ?? 64;
  if (before.count > 0) {
    async function* existing(): AsyncGenerator<string> {
      let cont: string | undefined;
      do {
        const page = await storage.list(prefix, { limit: 1000, ...(cont === undefined ? {} : { continue: cont }) });
        for (const kv of page.kvs) yield kv.key;
        cont = page.continue;
      } while (cont !== undefined);
    }
    // Listed first, deleted after: deleting while paging would be safe on one snapshot too, but this keeps
    // the listing cheap on engines that re-read history for old snapshots.
    const keys: string[] = [];
    for await (const k of existing()) keys.push(k);
    await pool(toAsync(keys), limit, async (k) => {
      await storage.delete(k).catch((e: unknown) => {
        if (!(e instanceof StorageError && e.code === 'NotFound')) throw e;
      });
    });
  }
  let restored = 0;
  let head = 0;
  const reader = await openSnapshotReader(file);
  try {
    await pool(reader.records(), limit, async (kv) => {
      const ttl = opts.ttlSeconds?.(kv.key);
      const written = await storage.create(kv.key, kv.value, ttl === undefined ? {} : { ttlSeconds: ttl });
      restored++;
      if (written.modRevision > head) head = written.modRevision;
    });
  } catch (e) {
    reader.close();
    throw changedError(file, e);
  }
  if (reader.checksum() !== verified.sha256) throw new SnapshotError('ChecksumMismatch', `snapshot ${file} changed after it was verified`);
  const target = Math.max(verified.header.revision, before.revision) + (opts.bumpRevision ?? DEFAULT_STORAGE_BUMP);
  head = Math.max(head, await storage.currentRevision());
  if (head < target) head = await bumpRevision(storage, target, { prefix, workers: Math.min(limit, 32) });
  await storage.compact(head);
  log.info('snapshot restored', { file, engine: storage.engine, keys: restored, snapshotRevision: verified.header.revision, revision: head });
  return {
    header: verified.header, restored, replaced: before.count, previousRevision: before.revision, revision: head,
    revisionsPreserved: false, durationMs: Date.now() - started,
  };
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/** Writes and deletes marker keys until the store's revision reaches `target`; returns the revision reached. */
async function bumpRevision(storage: Storage, target: number, o: { prefix: string; workers: number }): Promise<number> {
  let reached = 0;
  const marker = `${o.prefix.endsWith('/') ? o.prefix : `${o.prefix}/`}skiff-restore-marker/`;
  const empty = new Uint8Array(0);
  const workers = Array.from({ length: o.workers }, async (_, i) => {
    const key = `${marker}${i}`;
    while (reached < target) {
      await storage.create(key, empty);
      const del = await storage.delete(key);
      if (del.revision > reached) reached = del.revision;
    }
  });
  await Promise.all(workers);
  return Math.max(reached, await storage.currentRevision());
}
