/**
 * Protobuf wire-format reading with every length and varint checked against the buffer, so that
 * hostile input can only ever raise ProtobufDecodeError (never a RangeError, never a loop that
 * does not advance).
 */

/** Raised for any body that is not a well-formed Kubernetes protobuf object; the API answers 400. */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
}

/** Wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

const TWO_32 = 4294967296;

/** A cursor over one protobuf message (or one length-delimited field) that never reads past its end. */
export class WireReader {
  pos: number;
  private readonly end: number;

  /** Reads `buf` from `start` (default 0) to `end` (default buf.length). */
  constructor(
    readonly buf: Uint8Array,
    range: { start?: number; end?: number } = {},
  ) {
    this.pos = range.start ?? 0;
    this.end = range.end ?? buf.length;
  }

  /** True while unread bytes remain. */
  more(): boolean {
    return this.pos < this.end;
  }

  /** Reads a varint as two unsigned 32-bit halves; rejects truncated and over-long (>10 byte) varints. */
  varint64(): { lo: number; hi: number } {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufDecodeError('truncated varint');
      const b = this.buf[this.pos++] as number;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) throw new ProtobufDecodeError('varint overflows 64 bits');
        return { lo: lo >>> 0, hi: hi >>> 0 };
      }
    }
    throw new ProtobufDecodeError('varint longer than 10 bytes');
  }

  /** Reads a varint that must fit a non-negative safe integer (tags and lengths). */
  uvarint(): number {
    const { lo, hi } = this.varint64();
    if (hi > 0x1fffff) throw new ProtobufDecodeError('varint too large');
    return hi * TWO_32 + lo;
  }

  /** Reads a field tag: the field number and the wire type. */
  tag(): { field: number; wire: number } {
    const t = this.uvarint();
    const field = Math.floor(t / 8);
    if (field === 0 || field > 0x1fffffff) throw new ProtobufDecodeError(`invalid field number ${field}`);
    return { field, wire: t % 8 };
  }

  /** Reads a length prefix and returns the [start, end) range of the bytes it covers. */
  span(): { start: number; end: number } {
    const len = this.uvarint();
    if (len > this.end - this.pos) throw new ProtobufDecodeError('length-delimited field runs past the end of its message');
    const start = this.pos;
    this.pos += len;
    return { start, end: this.pos };
  }

  /** Reads a length-delimited field's bytes (a view, not a copy). */
  bytes(): Uint8Array {
    const { start, end } = this.span();
    return this.buf.subarray(start, end);
  }

  /** Reads `n` raw bytes (fixed32/fixed64 payloads). */
  fixed(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new ProtobufDecodeError('truncated fixed-width field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips one field's payload of the given wire type; groups are not used by Kubernetes and are rejected. */
  skip(wire: number): void {
    switch (wire) {
      case WireType.varint:
        this.varint64();
        return;
      case WireType.fixed64:
        this.fixed(8);
        return;
      case WireType.bytes:
        this.span();
        return;
      case WireType.fixed32:
        this.fixed(4);
        return;
      default:
        throw new ProtobufDecodeError(`unsupported wire type ${wire}`);
    }
  }
}

/** The signed 64-bit value of a varint's halves as a JS number (exact up to 2^53). */
export function toInt64(v: { lo: number; hi: number }): number {
  if (v.hi & 0x80000000) {
    // Two's complement negative: negate both halves (with borrow from the low word).
    const lo = (~v.lo + 1) >>> 0;
    const hi = (~v.hi + (lo === 0 ? 1 : 0)) >>> 0;
    return -(hi * TWO_32 + lo);
  }
  return v.hi * TWO_32 + v.lo;
}

/** The signed 32-bit value of a varint (Go's int32 keeps the low 32 bits of a sign-extended varint). */
export function toInt32(v: { lo: number; hi: number }): number {
  return v.lo | 0;
}
