/**
 * Hand-written protobuf for the few etcd v3 KV messages the engine sends and reads (rpc.proto,
 * kv.proto of etcd 3.4). protobufjs through @grpc/proto-loader builds plain objects with every default
 * filled in and every int64 as a decimal string, both ways; on a create that was a tenth of the
 * client's CPU, and the client's CPU competes with etcd's for the same cores.
 *
 * Requests come out as complete gRPC messages (the 5-byte length prefix included), ready for
 * GrpcUnaryClient.call. Responses decode to small objects with revisions as numbers (etcd's revisions
 * are far below 2^53) and keys and values as views into the response buffer.
 */

/** A comparison of a Txn (only the targets the engine uses). */
export interface Compare {
  key: Buffer;
  target: 'create' | 'mod';
  result: 'equal' | 'greater';
  /** The create_revision or mod_revision to compare with (always sent, even 0: etcd reads a missing one as "equal"). */
  revision: number;
}

/** A RangeRequest. */
export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  countOnly?: boolean;
}

/** A PutRequest; lease is etcd's int64 lease ID as a decimal string ('0' or absent: none). */
export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease?: string;
  prevKv?: boolean;
}

/** A DeleteRangeRequest. */
export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  prevKv?: boolean;
}

/** One operation of a Txn branch. */
export type RequestOp = { range: RangeRequest } | { put: PutRequest } | { deleteRange: DeleteRangeRequest };

/** A TxnRequest. */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure?: RequestOp[];
}

/** A mvccpb.KeyValue as the engine needs it. */
export interface RawKv {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

/** A RangeResponse. */
export interface RangeResponse {
  revision: number;
  kvs: RawKv[];
  more: boolean;
  count: number;
}

/** A DeleteRangeResponse. */
export interface DeleteRangeResponse {
  revision: number;
  deleted: number;
  prevKvs: RawKv[];
}

/** One ResponseOp of a Txn: the member matching the request op at the same index. */
export interface ResponseOp {
  range?: RangeResponse;
  put?: { prevKv: RawKv | null };
  deleteRange?: DeleteRangeResponse;
}

/** A TxnResponse. */
export interface TxnResponse {
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

// ---- encoding ----

const VARINT = 0;
const LEN = 2;

/** Collects a message bottom-up: nested messages are written first, so every length is known when its header is. */
class Writer {
  length = 0;
  private readonly parts: Uint8Array[] = [];
  private small: number[] = [];

  varint(v: number): void {
    while (v > 127) {
      this.small.push((v % 128) | 128);
      v = Math.floor(v / 128);
      this.length++;
    }
    this.small.push(v);
    this.length++;
  }

  bigVarint(v: bigint): void {
    // int64 as two's complement over 10 bytes when negative, as protobuf does.
    let u = v < 0n ? v + (1n << 64n) : v;
    while (u > 127n) {
      this.small.push(Number(u & 127n) | 128);
      u >>= 7n;
      this.length++;
    }
    this.small.push(Number(u));
    this.length++;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A scalar field, left out at proto3's default (0) unless `always` (oneof members). */
  uint(field: number, v: number | undefined, always = false): void {
    if (v === undefined || (v === 0 && !always)) return;
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`field ${field}: ${v} is not a non-negative integer`);
    this.tag(field, VARINT);
    this.varint(v);
  }

  bool(field: number, v: boolean | undefined): void {
    if (v !== true) return;
    this.tag(field, VARINT);
    this.varint(1);
  }

  bytes(field: number, b: Uint8Array | undefined): void {
    if (b === undefined || b.length === 0) return;
    this.tag(field, LEN);
    this.varint(b.length);
    this.raw(b);
  }

  message(field: number, w: Writer): void {
    this.tag(field, LEN);
    this.varint(w.length);
    this.flush();
    w.flush();
    for (const p of w.parts) this.parts.push(p);
    this.length += w.length;
  }

  /** The message behind gRPC's prefix (uncompressed flag, 4-byte big-endian length). */
  framed(): Buffer {
    this.flush();
    const out = Buffer.allocUnsafe(5 + this.length);
    out[0] = 0;
    out.writeUInt32BE(this.length, 1);
    let at = 5;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private raw(b: Uint8Array): void {
    this.flush();
    this.parts.push(b);
    this.length += b.length;
  }

  private flush(): void {
    if (this.small.length === 0) return;
    this.parts.push(Uint8Array.from(this.small));
    this.small = [];
  }
}

function rangeBody(r: RangeRequest): Writer {
  const w = new Writer();
  w.bytes(1, r.key);
  w.bytes(2, r.rangeEnd);
  w.uint(3, r.limit);
  w.uint(4, r.revision);
  w.bool(9, r.countOnly);
  return w;
}

function putBody(p: PutRequest): Writer {
  const w = new Writer();
  w.bytes(1, p.key);
  w.bytes(2, p.value);
  if (p.lease !== undefined && p.lease !== '0') {
    w.tag(3, VARINT);
    w.bigVarint(BigInt(p.lease));
  }
  w.bool(4, p.prevKv);
  return w;
}

function deleteRangeBody(d: DeleteRangeRequest): Writer {
  const w = new Writer();
  w.bytes(1, d.key);
  w.bytes(2, d.rangeEnd);
  w.bool(3, d.prevKv);
  return w;
}

function requestOpBody(op: RequestOp): Writer {
  const w = new Writer();
  if ('range' in op) w.message(1, rangeBody(op.range));
  else if ('put' in op) w.message(2, putBody(op.put));
  else w.message(3, deleteRangeBody(op.deleteRange));
  return w;
}

function compareBody(c: Compare): Writer {
  const w = new Writer();
  w.uint(1, c.result === 'equal' ? 0 : 1);
  w.uint(2, c.target === 'create' ? 1 : 2);
  w.bytes(3, c.key);
  w.uint(c.target === 'create' ? 5 : 6, c.revision, true);
  return w;
}

/** /etcdserverpb.KV/Range request, framed for gRPC. */
export function encodeRange(r: RangeRequest): Buffer {
  return rangeBody(r).framed();
}

/** /etcdserverpb.KV/DeleteRange request, framed for gRPC. */
export function encodeDeleteRange(d: DeleteRangeRequest): Buffer {
  return deleteRangeBody(d).framed();
}

/** /etcdserverpb.KV/Txn request, framed for gRPC. */
export function encodeTxn(t: TxnRequest): Buffer {
  const w = new Writer();
  for (const c of t.compare) w.message(1, compareBody(c));
  for (const op of t.success) w.message(2, requestOpBody(op));
  for (const op of t.failure ?? []) w.message(3, requestOpBody(op));
  return w.framed();
}

/** /etcdserverpb.KV/Compact request (logical compaction), framed for gRPC. */
export function encodeCompaction(revision: number): Buffer {
  const w = new Writer();
  w.uint(1, revision);
  return w.framed();
}

// ---- decoding ----

/** A cursor over one message's bytes [pos, end). */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  /** Unsigned varint as a number; exact below 2^53, which every revision and count is. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated protobuf varint');
      const b = this.buf[this.pos++] ?? 0;
      result += (b & 127) * scale;
      if (b < 128) return result;
      scale *= 128;
    }
  }

  /** The next field's tag (field number * 8 + wire type), or -1 at the end. */
  next(): number {
    return this.pos >= this.end ? -1 : this.varint();
  }

  /** The extent of a length-delimited field just announced. */
  sub(): Reader {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new RangeError('truncated protobuf field');
    return new Reader(this.buf, start, this.pos);
  }

  bytes(): Buffer {
    const r = this.sub();
    return this.buf.subarray(r.pos, r.end);
  }

  skip(tag: number): void {
    const wire = tag % 8;
    if (wire === VARINT) this.varint();
    else if (wire === LEN) this.sub();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported protobuf wire type ${wire}`);
  }
}

const EMPTY = Buffer.alloc(0);
// Tags of the fields read: Vn is field n as a varint, Ln as length-delimited.
const V2 = 2 * 8 + VARINT;
const V3 = 3 * 8 + VARINT;
const V4 = 4 * 8 + VARINT;
const L1 = 1 * 8 + LEN;
const L2 = 2 * 8 + LEN;
const L3 = 3 * 8 + LEN;
const L5 = 5 * 8 + LEN;

function headerRevision(r: Reader): number {
  let revision = 0;
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === V3) revision = r.varint();
    else r.skip(t);
  }
  return revision;
}

function keyValue(r: Reader): RawKv {
  const kv: RawKv = { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0 };
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L1) kv.key = r.bytes();
    else if (t === V2) kv.createRevision = r.varint();
    else if (t === V3) kv.modRevision = r.varint();
    else if (t === L5) kv.value = r.bytes();
    else r.skip(t);
  }
  return kv;
}

function rangeResponse(r: Reader): RangeResponse {
  const out: RangeResponse = { revision: 0, kvs: [], more: false, count: 0 };
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L1) out.revision = headerRevision(r.sub());
    else if (t === L2) out.kvs.push(keyValue(r.sub()));
    else if (t === V3) out.more = r.varint() !== 0;
    else if (t === V4) out.count = r.varint();
    else r.skip(t);
  }
  return out;
}

function putResponse(r: Reader): { prevKv: RawKv | null } {
  let prevKv: RawKv | null = null;
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L2) prevKv = keyValue(r.sub());
    else r.skip(t);
  }
  return { prevKv };
}

function deleteRangeResponse(r: Reader): DeleteRangeResponse {
  const out: DeleteRangeResponse = { revision: 0, deleted: 0, prevKvs: [] };
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L1) out.revision = headerRevision(r.sub());
    else if (t === V2) out.deleted = r.varint();
    else if (t === L3) out.prevKvs.push(keyValue(r.sub()));
    else r.skip(t);
  }
  return out;
}

function responseOp(r: Reader): ResponseOp {
  const op: ResponseOp = {};
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L1) op.range = rangeResponse(r.sub());
    else if (t === L2) op.put = putResponse(r.sub());
    else if (t === L3) op.deleteRange = deleteRangeResponse(r.sub());
    else r.skip(t);
  }
  return op;
}

function whole(buf: Buffer): Reader {
  return new Reader(buf, 0, buf.length);
}

/** Decodes a RangeResponse (the message without gRPC's prefix). */
export function decodeRange(buf: Buffer): RangeResponse {
  return rangeResponse(whole(buf));
}

/** Decodes a DeleteRangeResponse. */
export function decodeDeleteRange(buf: Buffer): DeleteRangeResponse {
  return deleteRangeResponse(whole(buf));
}

/** Decodes a TxnResponse. */
export function decodeTxn(buf: Buffer): TxnResponse {
  const r = whole(buf);
  const out: TxnResponse = { revision: 0, succeeded: false, responses: [] };
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L1) out.revision = headerRevision(r.sub());
    else if (t === V2) out.succeeded = r.varint() !== 0;
    else if (t === L3) out.responses.push(responseOp(r.sub()));
    else r.skip(t);
  }
  return out;
}

/** Decodes any response whose field 1 is the ResponseHeader (CompactionResponse among them); returns its revision. */
export function decodeHeaderRevision(buf: Buffer): number {
  const r = whole(buf);
  let revision = 0;
  for (let t = r.next(); t >= 0; t = r.next()) {
    if (t === L1) revision = headerRevision(r.sub());
    else r.skip(t);
  }
  return revision;
}
