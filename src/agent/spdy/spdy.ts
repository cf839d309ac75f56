/**
 * A SPDY/3.1 session (server side), enough for the port-forward protocol that kubectl speaks, either on a raw
 * upgraded connection (`Upgrade: SPDY/3.1`) or tunnelled in WebSocket binary messages
 * (`SPDY/3.1+portforward.k8s.io`): SYN_STREAM/SYN_REPLY with zlib-compressed header blocks (one compression
 * context per direction, primed with the SPDY/3 dictionary), DATA with FIN, RST_STREAM, PING echo, GOAWAY.
 * Like moby/spdystream (the peer), flow control is not enforced: SETTINGS and WINDOW_UPDATE are ignored.
 */
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

const words = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
  'origin',
];
const tail =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header compression dictionary (length-prefixed header names, then common values). */
export const spdyDictionary: Buffer = (() => {
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(parts);
})();

/** Control frame types. */
export const FrameType = { SynStream: 1, SynReply: 2, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, Headers: 8, WindowUpdate: 9 } as const;
const flagFin = 0x01;

/** Headers of a stream: lower-case names, values split on NUL. */
export type SpdyHeaders = Record<string, string[]>;

/** Encodes a header block (uncompressed). */
export function encodeHeaderBlock(h: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(h);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [k, vs] of entries) {
    const name = Buffer.from(k.toLowerCase());
    const value = Buffer.from(vs.join('\u0000'));
    const nl = Buffer.alloc(4);
    nl.writeUInt32BE(name.length);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(value.length);
    parts.push(nl, name, vl, value);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed header block. */
export function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > b.length) throw new Error('truncated header block');
    const v = b.readUInt32BE(off);
    off += 4;
    return v;
  };
  const n = u32();
  for (let i = 0; i < n; i++) {
    const nl = u32();
    const name = b.subarray(off, off + nl).toString();
    off += nl;
    const vl = u32();
    const value = b.subarray(off, off + vl).toString();
    off += vl;
    out[name] = [...(out[name] ?? []), ...value.split('\u0000')];
  }
  return out;
}

/** A zlib context that (de)compresses successive header blocks with sync flushes. */
class ZContext {
  private readonly z: zlib.Inflate | zlib.Deflate;
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];

  constructor(kind: 'inflate' | 'deflate') {
    this.z = kind === 'inflate' ? zlib.createInflate({ dictionary: spdyDictionary }) : zlib.createDeflate({ dictionary: spdyDictionary, level: 9 });
    this.z.on('data', (c: Buffer) => this.out.push(c));
    this.z.on('error', () => undefined);
  }

  /** Processes one block; blocks complete in call order. */
  run(input: Buffer): Promise<Buffer> {
    const p = this.chain.then(() => new Promise<Buffer>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.z.once('error', onError);
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', onError);
        const b = Buffer.concat(this.out);
        this.out = [];
        resolve(b);
      });
    }));
    this.chain = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.z.destroy();
  }
}

/** One SPDY stream as a Node Duplex: written bytes become DATA frames, `end()` sends FIN. */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  private readonly session: SpdySession;
  /** The peer has finished sending. */
  remoteFinished = false;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.session = session;
    this.id = id;
    this.headers = headers;
  }

  /** The first value of a header. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Sends SYN_REPLY (accepting the stream). */
  reply(headers: SpdyHeaders = {}): Promise<void> {
    return this.session.sendSynReply(this.id, headers, false);
  }

  /** Resets the stream. */
  reset(status = 5): void {
    this.session.sendRst(this.id, status);
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false);
    cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true);
    cb();
  }

  /** Called by the session with data from the peer. */
  receive(data: Buffer, fin: boolean): void {
    if (data.length > 0) this.push(data);
    if (fin && !this.remoteFinished) {
      this.remoteFinished = true;
      this.push(null);
    }
  }
}

/** Where the session reads and writes bytes. */
export interface SpdyTransport {
  write(b: Buffer): void;
  close(): void;
}

/** A server-side SPDY/3.1 session. Feed it the peer's bytes with `receive`. */
export class SpdySession {
  private buf: Buffer = Buffer.alloc(0);
  private readonly inflate = new ZContext('inflate');
  private readonly deflate = new ZContext('deflate');
  private readonly streams = new Map<number, SpdyStream>();
  private readonly transport: SpdyTransport;
  private readonly onStream: (s: SpdyStream) => void;
  /** Frames are handled strictly in order (header decompression is async). */
  private chain: Promise<void> = Promise.resolve();
  /** Writes are ordered too: a SYN_REPLY being compressed must precede later DATA of that stream. */
  private writeChain: Promise<void> = Promise.resolve();
  private closed = false;
  private lastStreamId = 0;

  constructor(transport: SpdyTransport, onStream: (s: SpdyStream) => void) {
    this.transport = transport;
    this.onStream = onStream;
  }

  /** Bytes from the peer. */
  receive(data: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.buf.length < 8) return;
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) return;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.chain = this.chain.then(() => this.handle(frame)).catch(() => this.close());
    }
  }

  /** Ends every stream and the transport. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.transport.close();
  }

  private async handle(f: Buffer): Promise<void> {
    const first = f.readUInt32BE(0);
    const flags = f[4]!;
    const payload = f.subarray(8);
    if ((first & 0x80000000) === 0) {
      const s = this.streams.get(first & 0x7fffffff);
      s?.receive(Buffer.from(payload), (flags & flagFin) !== 0);
      return;
    }
    const type = first & 0xffff;
    switch (type) {
      case FrameType.SynStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(payload.subarray(10)));
        this.lastStreamId = id;
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        s.once('close', () => this.streams.delete(id));
        if ((flags & flagFin) !== 0) s.receive(Buffer.alloc(0), true);
        this.onStream(s);
        return;
      }
      case FrameType.Headers: {
        await this.inflate.run(payload.subarray(4));
        return;
      }
      case FrameType.SynReply: {
        await this.inflate.run(payload.subarray(4));
        return;
      }
      case FrameType.RstStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        this.streams.get(id)?.destroy();
        this.streams.delete(id);
        return;
      }
      case FrameType.Ping: {
        this.writeRaw(Buffer.from(f));
        return;
      }
      case FrameType.GoAway: {
        this.close();
        return;
      }
      default:
        // SETTINGS, WINDOW_UPDATE and unknown control frames: nothing to do.
        return;
    }
  }

  private writeRaw(b: Buffer): void {
    this.writeChain = this.writeChain.then(() => {
      if (!this.closed) this.transport.write(b);
    });
  }

  /** Sends SYN_REPLY. */
  sendSynReply(id: number, headers: SpdyHeaders, fin: boolean): Promise<void> {
    const block = this.deflate.run(encodeHeaderBlock(headers));
    const p = this.writeChain.then(async () => {
      const comp = await block;
      const f = Buffer.alloc(12);
      f.writeUInt32BE((0x80000000 | (3 << 16) | FrameType.SynReply) >>> 0, 0);
      f.writeUInt32BE((((fin ? flagFin : 0) << 24) | (4 + comp.length)) >>> 0, 4);
      f.writeUInt32BE(id, 8);
      if (!this.closed) this.transport.write(Buffer.concat([f, comp]));
    });
    this.writeChain = p.catch(() => undefined);
    return p;
  }

  /** Sends DATA (split into frames of at most 16 MiB - 1). */
  sendData(id: number, data: Buffer, fin: boolean): void {
    const max = 0xffffff;
    let off = 0;
    do {
      const part = data.subarray(off, off + max);
      off += part.length;
      const last = off >= data.length;
      const h = Buffer.alloc(8);
      h.writeUInt32BE(id & 0x7fffffff, 0);
      h.writeUInt32BE((((fin && last ? flagFin : 0) << 24) | part.length) >>> 0, 4);
      this.writeRaw(Buffer.concat([h, part]));
    } while (off < data.length);
  }

  /** Sends RST_STREAM. */
  sendRst(id: number, status: number): void {
    const f = Buffer.alloc(16);
    f.writeUInt32BE((0x80000000 | (3 << 16) | FrameType.RstStream) >>> 0, 0);
    f.writeUInt32BE(8, 4);
    f.writeUInt32BE(id, 8);
    f.writeUInt32BE(status, 12);
    this.writeRaw(f);
  }

  /** Sends GOAWAY and closes once written. */
  goAway(): void {
    const f = Buffer.alloc(16);
    f.writeUInt32BE((0x80000000 | (3 << 16) | FrameType.GoAway) >>> 0, 0);
    f.writeUInt32BE(8, 4);
    f.writeUInt32BE(this.lastStreamId, 8);
    f.writeUInt32BE(0, 12);
    this.writeRaw(f);
    this.writeChain = this.writeChain.then(() => this.close());
  }
}
