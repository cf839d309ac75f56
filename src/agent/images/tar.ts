/**
 * A streaming tar reader (ustar, GNU long names, PAX headers, base-256 sizes) and a small writer. Image layers and
 * image archives are tar streams; reading them here keeps whiteout handling and path checks in our hands.
 */
import type { Readable } from 'node:stream';

/** Entry types the store cares about. */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

/** One tar header, after PAX and GNU extensions are applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** A malformed archive. */
export class TarError extends Error {
  override readonly name = 'TarError';
}

/** Pulls exact byte counts out of an async byte stream. */
class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.it = stream[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least 1), or undefined at end of stream. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.buf.length === 0) {
      if (this.done) return undefined;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.buf = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      if (this.buf.length === 0) return this.some(max);
    }
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Exactly `n` bytes, or undefined when the stream ends first (a short read at end counts as end). */
  async exact(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = await this.some(n - got);
      if (!c) return got === 0 ? undefined : Buffer.concat(parts);
      parts.push(c);
      got += c.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const c = await this.some(Math.min(left, 1 << 20));
      if (!c) throw new TarError('unexpected end of archive');
      left -= c.length;
    }
  }

  /** Drains the rest (so that a gzip trailer is read and the source's errors surface). */
  async drain(): Promise<void> {
    while (await this.some(1 << 20)) {
      // discard
    }
  }
}

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
}

function num(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if ((f[0]! & 0x80) !== 0) {
    // base-256 (GNU) for values that do not fit in octal
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return v;
  }
  const s = cstr(b, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0': case '\0': case '': case '7': return 'file';
    case '5': return 'directory';
    case '2': return 'symlink';
    case '1': return 'hardlink';
    case '3': return 'char';
    case '4': return 'block';
    case '6': return 'fifo';
    default: return 'other';
  }
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(32, pos);
    if (sp < 0) break;
    const len = parseInt(data.subarray(pos, sp).toString(), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, pos + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** The body of the current entry: read it (in chunks) or leave it and it is skipped. */
export interface TarBody {
  /** Yields the entry's bytes. */
  chunks(): AsyncGenerator<Buffer>;
  /** The whole body in memory (for small entries such as manifests). */
  buffer(): Promise<Buffer>;
}

/**
 * Reads a tar stream and calls `onEntry` for each entry in order; the callback may consume the body. Resolves at
 * the end of the archive. Rejects with TarError on a malformed archive and with the source's error when it fails.
 */
export async function readTar(stream: Readable | AsyncIterable<Buffer>, onEntry: (h: TarHeader, body: TarBody) => Promise<void> | void): Promise<void> {
  const r = new ByteReader(stream as AsyncIterable<Buffer>);
  let global: Record<string, string> = {};
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.exact(512);
    if (!block) break;
    if (block.length < 512) throw new TarError('unexpected end of archive');
    if (block.every((x) => x === 0)) {
      // End of archive: two zero blocks; tolerate one.
      break;
    }
    const sum = num(block, 148, 8);
    let calc = 0;
    for (let i = 0; i < 512; i++) calc += i >= 148 && i < 156 ? 32 : block[i]!;
    if (sum !== calc) throw new TarError('invalid tar header checksum');
    const flag = String.fromCharCode(block[156]!);
    const size = num(block, 124, 12);
    const padded = Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = (await r.exact(padded)) ?? Buffer.alloc(0);
      if (data.length < padded) throw new TarError('unexpected end of archive');
      const body = data.subarray(0, size);
      if (flag === 'x') pax = { ...pax, ...parsePax(body) };
      else if (flag === 'g') global = { ...global, ...parsePax(body) };
      else if (flag === 'L') longName = cstr(body, 0, body.length);
      else longLink = cstr(body, 0, body.length);
      continue;
    }
    const ext = { ...global, ...pax };
    const isUstar = cstr(block, 257, 6).startsWith('ustar');
    let name = cstr(block, 0, 100);
    const prefix = isUstar ? cstr(block, 345, 155) : '';
    if (prefix && cstr(block, 257, 8) !== 'ustar  ') name = `${prefix}/${name}`;
    if (longName !== undefined) name = longName;
    if (ext['path'] !== undefined) name = ext['path'];
    let linkname = cstr(block, 157, 100);
    if (longLink !== undefined) linkname = longLink;
    if (ext['linkpath'] !== undefined) linkname = ext['linkpath'];
    const realSize = ext['size'] !== undefined ? Number(ext['size']) : size;
    const header: TarHeader = {
      name,
      type: typeOf(flag),
      size: realSize,
      mode: num(block, 100, 8) & 0o7777,
      uid: ext['uid'] !== undefined ? Number(ext['uid']) : num(block, 108, 8),
      gid: ext['gid'] !== undefined ? Number(ext['gid']) : num(block, 116, 8),
      mtime: ext['mtime'] !== undefined ? Math.floor(Number(ext['mtime'])) : num(block, 136, 12),
      linkname,
      devmajor: num(block, 329, 8),
      devminor: num(block, 337, 8),
    };
    if (header.type === 'directory' && header.size > 0) header.size = 0;
    pax = {};
    longName = undefined;
    longLink = undefined;
    let consumed = 0;
    const dataLen = header.type === 'file' ? header.size : realSize;
    const body: TarBody = {
      async *chunks() {
        while (consumed < dataLen) {
          const c = await r.some(Math.min(dataLen - consumed, 1 << 20));
          if (!c) throw new TarError('unexpected end of archive');
          consumed += c.length;
          yield c;
        }
      },
      async buffer() {
        const parts: Buffer[] = [];
        for await (const c of this.chunks()) parts.push(c);
        return Buffer.concat(parts);
      },
    };
    await onEntry(header, body);
    await r.skip(dataLen - consumed);
    await r.skip(Math.ceil(dataLen / 512) * 512 - dataLen);
  }
  await r.drain();
}

/** An entry for writeTar. */
export interface TarWriteEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'hardlink' | 'char';
  data?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  len += String(len).length;
  if (String(len).length !== String(len - String(len).length).length) len++;
  return Buffer.from(`${len}${body}`);
}

function header(e: { name: string; flag: string; size: number; mode: number; uid: number; gid: number; mtime: number; linkname: string; devmajor: number; devminor: number }): Buffer {
  const b = Buffer.alloc(512);
  b.write(e.name, 0, 100, 'utf8');
  octal(b, 100, 8, e.mode);
  octal(b, 108, 8, e.uid);
  octal(b, 116, 8, e.gid);
  octal(b, 124, 12, e.size);
  octal(b, 136, 12, e.mtime);
  b.write(e.flag, 156, 1, 'ascii');
  b.write(e.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  octal(b, 329, 8, e.devmajor);
  octal(b, 337, 8, e.devminor);
  b.fill(32, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

/** Builds an uncompressed tar archive in memory (names longer than 100 bytes use a PAX header). */
export function writeTar(entries: TarWriteEntry[]): Buffer {
  const out: Buffer[] = [];
  const pad = (n: number): void => {
    const r = n % 512;
    if (r) out.push(Buffer.alloc(512 - r));
  };
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    const flag = { file: '0', directory: '5', symlink: '2', hardlink: '1', char: '3' }[type];
    const linkname = e.linkname ?? '';
    const base = { mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? 0, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 };
    if (Buffer.byteLength(e.name) > 99 || Buffer.byteLength(linkname) > 99) {
      const recs: Buffer[] = [paxRecord('path', e.name)];
      if (linkname) recs.push(paxRecord('linkpath', linkname));
      const body = Buffer.concat(recs);
      out.push(header({ ...base, name: 'PaxHeader', flag: 'x', size: body.length, linkname: '' }), body);
      pad(body.length);
    }
    out.push(header({ ...base, name: e.name.slice(0, 99), flag, size: data.length, linkname: linkname.slice(0, 99) }));
    if (data.length) {
      out.push(data);
      pad(data.length);
    }
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
