/**
 * The tar archives `skiff cp` exchanges with `tar` inside a container: a writer producing what Go's archive/tar
 * writes for kubectl (USTAR headers, a PAX record when a name does not fit), and a streaming reader for what GNU
 * or busybox tar produces (USTAR and old-GNU headers, GNU long names and links, PAX path/linkpath/size records).
 * Only the entry kinds kubectl handles are modelled: regular files, directories and symbolic links.
 */

const BLOCK = 512;

/** One archive member; `body` is the content of a regular file. */
export interface TarHeader {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}

function octal(value: number, width: number): string {
  // Octal digits, zero-padded, then NUL: the USTAR numeric field layout.
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function writeString(buf: Buffer, s: string, offset: number, width: number): void {
  buf.write(s, offset, Math.min(Buffer.byteLength(s), width), 'utf8');
}

const typeFlag: Record<TarHeader['type'], string> = { file: '0', directory: '5', symlink: '2', hardlink: '1', other: '0' };

function headerBlock(h: { name: string; prefix: string; typeflag: string; mode: number; uid: number; gid: number; size: number; mtime: number; linkname: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, h.name, 0, 100);
  b.write(octal(h.mode & 0o7777, 8), 100, 'latin1');
  b.write(octal(h.uid, 8), 108, 'latin1');
  b.write(octal(h.gid, 8), 116, 'latin1');
  b.write(octal(h.size, 12), 124, 'latin1');
  b.write(octal(Math.max(0, Math.floor(h.mtime)), 12), 136, 'latin1');
  b.write('        ', 148, 'latin1');
  b.write(h.typeflag, 156, 'latin1');
  writeString(b, h.linkname, 157, 100);
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  writeString(b, h.prefix, 345, 155);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** Splits a long name into USTAR's prefix and name fields, as Go's splitUSTARPath does; undefined when it cannot. */
function splitUstar(name: string): { prefix: string; name: string } | undefined {
  const len = Buffer.byteLength(name);
  if (len <= 100) return { prefix: '', name };
  if (len > 256 || Buffer.byteLength(name) !== name.length) return undefined;
  let i = Math.min(name.length - 1, 155);
  while (i > 0 && name[i] !== '/') i--;
  if (i <= 0) return undefined;
  const prefix = name.slice(0, i);
  const rest = name.slice(i + 1);
  if (rest.length === 0 || rest.length > 100) return undefined;
  return { prefix, name: rest };
}

function paxRecord(key: string, value: string): string {
  // The record's length counts its own digits (Go's formatPAXRecord).
  const body = ` ${key}=${value}\n`;
  let size = Buffer.byteLength(body);
  size += String(size).length;
  let record = `${size}${body}`;
  if (Buffer.byteLength(record) !== size) {
    size = Buffer.byteLength(record);
    record = `${size}${body}`;
  }
  return record;
}

function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** Encodes one member's header (with a PAX record first when the names do not fit USTAR) into tar blocks. */
export function encodeHeader(h: TarHeader): Buffer {
  const split = splitUstar(h.name);
  const linkFits = Buffer.byteLength(h.linkname) <= 100;
  const parts: Buffer[] = [];
  if (!split || !linkFits) {
    let records = '';
    if (!split) records += paxRecord('path', h.name);
    if (!linkFits) records += paxRecord('linkpath', h.linkname);
    const data = Buffer.from(records, 'utf8');
    const paxName = `PaxHeaders.0/${h.name.split('/').pop() ?? ''}`.slice(0, 99);
    parts.push(headerBlock({ name: paxName, prefix: '', typeflag: 'x', mode: 0, uid: 0, gid: 0, size: data.length, mtime: 0, linkname: '' }), data, padding(data.length));
  }
  const fields = split ?? { prefix: '', name: h.name.slice(0, 100) };
  parts.push(headerBlock({ ...fields, typeflag: typeFlag[h.type], mode: h.mode, uid: h.uid, gid: h.gid, size: h.type === 'file' ? h.size : 0, mtime: h.mtime, linkname: linkFits ? h.linkname : h.linkname.slice(0, 100) }));
  return Buffer.concat(parts);
}

/** Zero padding after a file body of `size` bytes. */
export function bodyPadding(size: number): Buffer {
  return padding(size);
}

/** The end-of-archive marker: two zero blocks. */
export const tarTrailer: Buffer = Buffer.alloc(2 * BLOCK);

/** Pulls exact byte counts out of an async stream of chunks. */
class ChunkReader {
  private readonly it: AsyncIterator<Buffer | string>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.buf = this.buf.length === 0 ? Buffer.from(r.value) : Buffer.concat([this.buf, Buffer.from(r.value)]);
    }
    return this.buf.length >= n;
  }

  /** Exactly n bytes, or undefined at end of stream (a short tail counts as the end). */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Passes n bytes to `sink` chunk by chunk; false when the stream ends first. */
  async pipe(n: number, sink: (b: Buffer) => Promise<void> | void): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill(1))) return false;
      const take = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      left -= take.length;
      await sink(take);
    }
    return true;
  }
}

function cstring(b: Buffer, offset: number, width: number): string {
  const field = b.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? width : end).toString('utf8');
}

function parseNumber(b: Buffer, offset: number, width: number): number {
  const field = b.subarray(offset, offset + width);
  // GNU base-256 for values that do not fit in octal.
  if ((field[0]! & 0x80) !== 0) {
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const s = cstring(b, offset, width).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** A malformed archive (kubectl reports these as Go's archive/tar errors). */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

/**
 * Reads members from `source` until the end-of-archive marker or the end of the stream, calling `onEntry` for
 * each; a file's body is delivered through the `body` callback it is handed (unread bodies are skipped).
 */
export async function readTar(
  source: AsyncIterable<Buffer | string>,
  onEntry: (h: TarHeader, body: (sink: (chunk: Buffer) => Promise<void> | void) => Promise<void>) => Promise<void>,
): Promise<void> {
  const r = new ChunkReader(source);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    const block = await r.read(BLOCK);
    if (!block) return;
    if (block.every((x) => x === 0)) return;
    const stored = parseNumber(block, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (stored !== sum) throw new TarFormatError('archive/tar: invalid tar header');
    const typeflag = String.fromCharCode(block[156]!);
    const size = parseNumber(block, 124, 12);
    const dataBlocks = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g') {
      const data = await r.read(dataBlocks);
      if (!data) throw new TarFormatError('unexpected EOF');
      const content = data.subarray(0, size);
      if (typeflag === 'L') longName = cstring(content, 0, content.length);
      else if (typeflag === 'K') longLink = cstring(content, 0, content.length);
      else if (typeflag === 'x') pax = { ...pax, ...parsePax(content) };
      continue;
    }
    const magic = block.subarray(257, 263).toString('latin1');
    let name = cstring(block, 0, 100);
    // POSIX ustar keeps a prefix field; the old GNU format uses those bytes for times.
    if (magic === 'ustar\0') {
      const prefix = cstring(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const h: TarHeader = {
      name: pax['path'] ?? longName ?? name,
      type: typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : typeflag === '2' ? 'symlink' : typeflag === '1' ? 'hardlink' : 'other',
      mode: parseNumber(block, 100, 8),
      uid: parseNumber(block, 108, 8),
      gid: parseNumber(block, 116, 8),
      size: pax['size'] !== undefined ? Number(pax['size']) : size,
      mtime: parseNumber(block, 136, 12),
      linkname: pax['linkpath'] ?? longLink ?? cstring(block, 157, 100),
    };
    longName = undefined;
    longLink = undefined;
    pax = {};
    const bodySize = h.type === 'file' || h.type === 'other' ? h.size : 0;
    let consumed = false;
    await onEntry(h, async (sink) => {
      consumed = true;
      if (!(await r.pipe(bodySize, sink))) throw new TarFormatError('unexpected EOF');
    });
    if (!consumed && !(await r.pipe(bodySize, () => undefined))) throw new TarFormatError('unexpected EOF');
    const pad = (BLOCK - (bodySize % BLOCK)) % BLOCK;
    if (pad > 0 && !(await r.read(pad))) return;
  }
}
