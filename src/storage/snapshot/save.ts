/**
 * Taking a snapshot: the keyspace listed page by page at one revision (the continue token pins it) while
 * the store keeps serving, streamed through the format encoder so memory stays flat whatever the size.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants as zlibConstants, type ZlibOptions } from 'node:zlib';
import { createWriteStream, mkdirSync } from 'node:fs';
import type { KeyValue, ListResult, Storage } from '../interface.ts';
import {
  encodeEnd,
  encodeHeader,
  encodeRecords,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotError,
  type SnapshotHeader,
  withChecksum,
} from './format.ts';

/** How snapshots are compressed: level 1 gives most of the size gain for little CPU. */
export const SNAPSHOT_GZIP_OPTIONS: ZlibOptions = { level: 1, chunkSize: 256 * 1024, strategy: zlibConstants.Z_DEFAULT_STRATEGY };

/** Options of a snapshot stream. */
export interface SnapshotStreamOptions {
  /** The key prefix to save; default "/" (the whole keyspace, internal allocation keys included). */
  prefix?: string;
  /** Keys per list page; default 1000. */
  pageSize?: number;
  /** gzip the stream (default true, at level 1: most of the size gain for little CPU). */
  compress?: boolean;
  /** The Skiff version recorded in the header (the storage layer cannot know it); default "unknown". */
  skiffVersion?: string;
  /** Stops the listing; the stream then fails. */
  signal?: AbortSignal;
}

/** A snapshot being produced: the header is known (the first page has been read), the bytes follow. */
export interface SnapshotStream {
  header: SnapshotHeader;
  /** The file bytes, compressed when asked; consume once. */
  body: Readable;
}

/**
 * Starts a consistent snapshot of `storage`: reads the first page (fixing the revision and the count),
 * then streams every page at that revision. Fails with Compacted if compaction passes the revision mid-way.
 */
export async function openSnapshotStream(storage: Storage, opts: SnapshotStreamOptions = {}): Promise<SnapshotStream> {
  const prefix = opts.prefix ?? '/';
  const limit = opts.pageSize ?? 1000;
  const firstPage = await storage.list(prefix, { limit });
  const header: SnapshotHeader = {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    skiffVersion: opts.skiffVersion ?? 'unknown',
    engine: storage.engine,
    prefix,
    revision: firstPage.revision,
    count: firstPage.kvs.length + (firstPage.continue !== undefined ? (firstPage.remaining ?? 0) : 0),
    createdAt: new Date().toISOString(),
  };
  const signal = opts.signal;
  async function* parts(): AsyncGenerator<Buffer> {
    yield encodeHeader(header);
    let page: ListResult = firstPage;
    let written = 0;
    for (;;) {
      checkOrder(page.kvs, prefix);
      written += page.kvs.length;
      if (written > header.count) break;
      yield encodeRecords(page.kvs);
      if (page.continue === undefined) break;
      signal?.throwIfAborted();
      // A macrotask between pages: an engine whose list is synchronous (SQLite) would otherwise run page
      // after page in one stretch of microtasks while the server's other requests wait.
      await new Promise<void>((resolve) => setImmediate(resolve));
      page = await storage.list(prefix, { limit, continue: page.continue, countRemaining: false });
      if (page.revision !== header.revision) {
        throw new SnapshotError('Failed', `the store changed the snapshot revision mid-way (${header.revision} → ${page.revision})`);
      }
    }
    if (written !== header.count) {
      throw new SnapshotError('Failed', `the store listed ${written} keys at revision ${header.revision} after announcing ${header.count}`);
    }
    yield encodeEnd(written);
  }
  const plain = Readable.from(withChecksum(parts()), { objectMode: false, highWaterMark: 4 });
  if (opts.compress === false) return { header, body: plain };
  const gz = createGzip(SNAPSHOT_GZIP_OPTIONS);
  plain.on('error', (e) => gz.destroy(e));
  return { header, body: plain.pipe(gz) };
}

function checkOrder(kvs: KeyValue[], prefix: string): void {
  for (const kv of kvs) {
    if (!kv.key.startsWith(prefix)) throw new SnapshotError('Failed', `the store listed key ${JSON.stringify(kv.key)} outside prefix ${prefix}`);
  }
}

/** What a saved snapshot holds. */
export interface SnapshotInfo {
  file: string;
  header: SnapshotHeader;
  /** Size of the file. */
  bytes: number;
  /** SHA-256 (hex) of the file as written (of the compressed bytes when compressed). */
  fileSha256: string;
  durationMs: number;
}

/**
 * Writes a consistent snapshot of `storage` to `file` atomically: into `<file>.partial`, fsynced, then
 * renamed, so an interrupted save never leaves a file that looks complete. The store keeps serving.
 */
export async function saveSnapshot(storage: Storage, file: string, opts: SnapshotStreamOptions = {}): Promise<SnapshotInfo> {
  const started = Date.now();
  const stream = await openSnapshotStream(storage, opts);
  const info = await writeStreamToFile(stream.body, file);
  return { file, header: stream.header, bytes: info.bytes, fileSha256: info.sha256, durationMs: Date.now() - started };
}

/**
 * Writes a byte stream to `file` atomically (partial file, fsync, rename) and returns its size and
 * SHA-256; the partial file is removed on failure.
 */
export async function writeStreamToFile(body: AsyncIterable<Uint8Array> | Readable, file: string): Promise<{ bytes: number; sha256: string }> {
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const out = createWriteStream(partial, { mode: 0o600 });
  try {
    await pipeline(body, tap, out as Writable);
    const fd = openSync(partial, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    await rename(partial, file);
    fsyncDir(dirname(file));
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
  return { bytes: (await stat(file)).size || bytes, sha256: hash.digest('hex') };
}

/** Makes a rename durable (the directory entry); best effort where directories cannot be opened. */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not supported on this platform: the rename is still atomic, just not yet durable.
  }
}
