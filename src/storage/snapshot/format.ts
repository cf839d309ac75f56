/**
 * The portable snapshot format (see docs/snapshots.md). One file, optionally gzip-compressed as a whole:
 *
 *   magic "SKIFFSNP" (8 bytes) · format version (u32 BE) · header length (u32 BE) · header (UTF-8 JSON)
 *   records: 0x01 · key length (u32) · key (UTF-8) · value length (u32) · value · createRevision (u64) · modRevision (u64)
 *   trailer: 0x00 · record count (u64) · SHA-256 (32 bytes) of every byte before it
 *
 * The format version sits before anything version-specific so that a newer file is refused clearly
 * rather than misparsed. The checksum covers the uncompressed bytes, so it also proves the decompression.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { KeyValue } from '../interface.ts';

/** The first bytes of every (uncompressed) snapshot. */
export const SNAPSHOT_MAGIC = Buffer.from('SKIFFSNP', 'ascii');
/** The format version this build writes and the newest it reads. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** The file name extension of snapshots in a snapshot folder. */
export const SNAPSHOT_EXTENSION = '.snap';

const TAG_RECORD = 0x01;
const TAG_END = 0x00;
const CHECKSUM_BYTES = 32;
/** Bounds that keep a corrupted length field from turning into a giant allocation. */
const MAX_KEY_BYTES = 1 << 20;
const MAX_VALUE_BYTES = 64 << 20;
const MAX_HEADER_BYTES = 1 << 20;

/** What a snapshot's header records. */
export interface SnapshotHeader {
  formatVersion: number;
  /** The Skiff version that wrote it. */
  skiffVersion: string;
  /** The engine it was taken from ("sqlite", "etcd"). */
  engine: string;
  /** The key prefix that was saved ("/" is the whole keyspace). */
  prefix: string;
  /** The store revision the snapshot reflects exactly. */
  revision: number;
  /** The number of records that follow. */
  count: number;
  /** When it was taken (ISO 8601). */
  createdAt: string;
}

/** Why a snapshot was refused. */
export type SnapshotErrorCode = 'NotSnapshot' | 'NewerVersion' | 'Truncated' | 'Corrupt' | 'ChecksumMismatch' | 'NotEmpty' | 'Locked' | 'Failed';

/** A snapshot could not be read, verified, written or restored; the message names the file and the problem. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  readonly code: SnapshotErrorCode;
  constructor(code: SnapshotErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
  }
}

/** Encodes the magic, version and header: the first bytes of a snapshot. */
export function encodeHeader(header: SnapshotHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const fixed = Buffer.alloc(SNAPSHOT_MAGIC.length + 8);
  SNAPSHOT_MAGIC.copy(fixed, 0);
  fixed.writeUInt32BE(header.formatVersion, SNAPSHOT_MAGIC.length);
  fixed.writeUInt32BE(json.length, SNAPSHOT_MAGIC.length + 4);
  return Buffer.concat([fixed, json]);
}

/** Encodes a batch of records into one buffer (one allocation per batch, not per field). */
export function encodeRecords(kvs: readonly KeyValue[]): Buffer {
  const keys = kvs.map((kv) => Buffer.from(kv.key, 'utf8'));
  let size = 0;
  kvs.forEach((kv, i) => {
    size += 1 + 4 + (keys[i]?.length ?? 0) + 4 + kv.value.byteLength + 16;
  });
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  kvs.forEach((kv, i) => {
    const key = keys[i] ?? Buffer.alloc(0);
    o = out.writeUInt8(TAG_RECORD, o);
    o = out.writeUInt32BE(key.length, o);
    o += key.copy(out, o);
    o = out.writeUInt32BE(kv.value.byteLength, o);
    out.set(kv.value, o);
    o += kv.value.byteLength;
    o = out.writeBigUInt64BE(BigInt(kv.createRevision), o);
    o = out.writeBigUInt64BE(BigInt(kv.modRevision), o);
  });
  return out;
}

/** Encodes the end marker and record count: the bytes before the checksum. */
export function encodeEnd(count: number): Buffer {
  const out = Buffer.alloc(9);
  out.writeUInt8(TAG_END, 0);
  out.writeBigUInt64BE(BigInt(count), 1);
  return out;
}

/** Hashes everything written so far and yields the checksum trailer last. */
export async function* withChecksum(parts: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const part of parts) {
    hash.update(part);
    yield part;
  }
  yield hash.digest();
}

/** True when the bytes start like a gzip stream. */
function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Reads exact byte counts from a chunk stream, hashing what it hands out. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  /** Bytes handed out so far (uncompressed offset). */
  offset = 0;
  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly hash: Hash,
    private readonly onShort: (offset: number) => SnapshotError,
  ) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length - this.pos < n) {
      if (this.done) return false;
      const next = await this.chunks.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.buf = this.pos === this.buf.length ? next.value : Buffer.concat([this.buf.subarray(this.pos), next.value]);
      this.pos = 0;
    }
    return true;
  }

  /** The next `n` bytes, included in the checksum unless `hashed` is false; throws the short-read error at the end. */
  async read(n: number, hashed = true): Promise<Buffer> {
    if (!(await this.fill(n))) throw this.onShort(this.offset + (this.buf.length - this.pos));
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    if (hashed) this.hash.update(out);
    return out;
  }

  /** True when nothing follows. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }
}

/** Options of openSnapshotReader. */
export interface SnapshotReaderOptions {
  /** Stop after the header: no record is read and nothing is verified beyond it. */
  headerOnly?: boolean;
}

/** A snapshot being read: its header, then its records, verified at the end. */
export interface SnapshotReader {
  header: SnapshotHeader;
  /** Whether the file is gzip-compressed. */
  compressed: boolean;
  /**
   * Yields every record in file order; after the last one checks the count and the checksum and throws
   * SnapshotError (Truncated, Corrupt, ChecksumMismatch) on any problem. Consume it at most once.
   */
  records(): AsyncGenerator<KeyValue>;
  /** The SHA-256 (hex) once records() has finished cleanly. */
  checksum(): string | undefined;
  /** Releases the file early (when records() is not consumed to the end). */
  close(): void;
}

/** Opens a snapshot file: reads and checks the magic, version and header; records follow on demand. */
export async function openSnapshotReader(file: string, opts: SnapshotReaderOptions = {}): Promise<SnapshotReader> {
  const raw = createReadStream(file, { highWaterMark: 256 * 1024 });
  const rawIter = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // Peek at the first chunk to tell gzip from a plain file.
  let first: IteratorResult<Buffer>;
  try {
    first = await rawIter.next();
  } catch (e) {
    raw.destroy();
    throw new SnapshotError('Failed', `cannot read snapshot ${file}: ${(e as Error).message}`, { cause: e });
  }
  const head = first.done ? Buffer.alloc(0) : first.value;
  const compressed = isGzip(head);
  async function* rawChunks(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const n = await rawIter.next();
      if (n.done) return;
      yield n.value;
    }
  }
  let source: AsyncIterator<Buffer>;
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  if (compressed) {
    gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const g = gunzip;
    // Pump by hand: a failing pipe must surface as an error of the reading side, not an unhandled one.
    void (async () => {
      try {
        for await (const c of rawChunks()) if (!g.write(c)) await new Promise((r) => g.once('drain', r));
        g.end();
      } catch (e) {
        g.destroy(e as Error);
      }
    })();
    source = (g[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  } else {
    source = rawChunks();
  }
  const hash = createHash('sha256');
  let recordIndex = -1;
  let expectedCount = 0;
  const shortError = (offset: number): SnapshotError =>
    new SnapshotError(
      'Truncated',
      `snapshot ${file} is truncated: it ends after ${offset} bytes` +
        (recordIndex < 0 ? ', inside the header' : recordIndex >= expectedCount ? ', before its checksum trailer' : `, inside record ${recordIndex + 1} of ${expectedCount}`),
    );
  // Decompression failures arrive as read errors; name them as what they mean for the file.
  const guarded: AsyncIterator<Buffer> = {
    next: async () => {
      try {
        return await source.next();
      } catch (e) {
        const msg = (e as Error).message;
        if (/unexpected end of file/i.test(msg)) throw shortError(reader.offset);
        throw new SnapshotError('Corrupt', `snapshot ${file} is corrupted: ${msg}`, { cause: e });
      }
    },
  };
  const reader = new ByteReader(guarded, hash, shortError);
  const close = (): void => {
    raw.destroy();
    gunzip?.destroy();
  };
  let header: SnapshotHeader;
  try {
    const magic = await reader.read(SNAPSHOT_MAGIC.length).catch((e: unknown) => {
      if (e instanceof SnapshotError && e.code === 'Truncated') throw new SnapshotError('NotSnapshot', `${file} is not a Skiff snapshot (too short)`);
      throw e;
    });
    if (!magic.equals(SNAPSHOT_MAGIC)) throw new SnapshotError('NotSnapshot', `${file} is not a Skiff snapshot (bad magic bytes)`);
    const version = (await reader.read(4)).readUInt32BE(0);
    if (version > SNAPSHOT_FORMAT_VERSION) {
      throw new SnapshotError(
        'NewerVersion',
        `snapshot ${file} has format version ${version}, newer than this Skiff reads (${SNAPSHOT_FORMAT_VERSION}); restore it with a newer Skiff`,
      );
    }
    if (version < 1) throw new SnapshotError('Corrupt', `snapshot ${file} is corrupted: format version ${version} does not exist`);
    const len = (await reader.read(4)).readUInt32BE(0);
    if (len > MAX_HEADER_BYTES) throw new SnapshotError('Corrupt', `snapshot ${file} is corrupted: header length ${len} is impossible`);
    header = parseHeader(file, await reader.read(len));
    expectedCount = header.count;
  } catch (e) {
    close();
    throw e;
  }
  let digest: string | undefined;
  let consumed = false;
  async function* records(): AsyncGenerator<KeyValue> {
    if (consumed) throw new Error('snapshot records can be read only once');
    consumed = true;
    try {
      for (recordIndex = 0; ; recordIndex++) {
        const tag = (await reader.read(1))[0];
        if (tag === TAG_END) break;
        if (tag !== TAG_RECORD) throw corrupt(`unknown record tag ${tag} at byte ${reader.offset - 1}`);
        if (recordIndex >= header.count) throw corrupt(`more records than the ${header.count} its header announces`);
        const klen = (await reader.read(4)).readUInt32BE(0);
        if (klen === 0 || klen > MAX_KEY_BYTES) throw corrupt(`record ${recordIndex + 1} has an impossible key length ${klen}`);
        const key = (await reader.read(klen)).toString('utf8');
        const vlen = (await reader.read(4)).readUInt32BE(0);
        if (vlen > MAX_VALUE_BYTES) throw corrupt(`record ${recordIndex + 1} has an impossible value length ${vlen}`);
        // Copied: the reader's buffer is reused for later chunks.
        const value = new Uint8Array(await reader.read(vlen));
        const revs = await reader.read(16);
        const createRevision = Number(revs.readBigUInt64BE(0));
        const modRevision = Number(revs.readBigUInt64BE(8));
        yield { key, value, createRevision, modRevision };
      }
      const count = Number((await reader.read(8)).readBigUInt64BE(0));
      if (count !== header.count || recordIndex !== header.count) {
        throw corrupt(`it holds ${recordIndex} records, its trailer says ${count} and its header ${header.count}`);
      }
      const computed = hash.digest();
      const stored = await reader.read(CHECKSUM_BYTES, false);
      if (!computed.equals(stored)) {
        throw new SnapshotError(
          'ChecksumMismatch',
          `snapshot ${file} failed verification: checksum mismatch (stored sha256 ${stored.toString('hex').slice(0, 16)}…, computed ${computed.toString('hex').slice(0, 16)}…); the file is corrupted`,
        );
      }
      if (!(await reader.atEnd())) throw corrupt('unexpected bytes after the checksum trailer');
      digest = computed.toString('hex');
    } finally {
      close();
    }
  }
  function corrupt(what: string): SnapshotError {
    return new SnapshotError('Corrupt', `snapshot ${file} is corrupted: ${what}`);
  }
  if (opts.headerOnly) close();
  return { header, compressed, records, checksum: () => digest, close };
}

function parseHeader(file: string, bytes: Buffer): SnapshotHeader {
  let h: unknown;
  try {
    h = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new SnapshotError('Corrupt', `snapshot ${file} is corrupted: its header is not valid JSON`);
  }
  const o = h as Partial<Record<keyof SnapshotHeader, unknown>>;
  const int = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (
    typeof h !== 'object' || h === null || !int(o.formatVersion) || typeof o.skiffVersion !== 'string' ||
    typeof o.engine !== 'string' || typeof o.prefix !== 'string' || !int(o.revision) || !int(o.count) ||
    typeof o.createdAt !== 'string'
  ) {
    throw new SnapshotError('Corrupt', `snapshot ${file} is corrupted: its header lacks required fields`);
  }
  return h as SnapshotHeader;
}

/** What verifySnapshot found in a sound file. */
export interface VerifiedSnapshot {
  header: SnapshotHeader;
  compressed: boolean;
  /** SHA-256 (hex) of the uncompressed content before the trailer. */
  sha256: string;
  /** The largest modRevision of any record. */
  maxModRevision: number;
}

/** Reads a whole snapshot and checks its structure, count and checksum; throws SnapshotError naming the problem. */
export async function verifySnapshot(file: string): Promise<VerifiedSnapshot> {
  const r = await openSnapshotReader(file);
  let maxModRevision = 0;
  for await (const kv of r.records()) if (kv.modRevision > maxModRevision) maxModRevision = kv.modRevision;
  return { header: r.header, compressed: r.compressed, sha256: r.checksum() ?? '', maxModRevision };
}
