/**
 * Test support: encodes a JSON-shaped Kubernetes object into the protobuf body kubectl would send,
 * driven by the same schema the decoder uses. The server never encodes protobuf; only tests import this.
 */
import { isScalar, type FieldSpec, type MessageSpec, type ScalarType } from './schema.ts';
import { MESSAGES } from './messages.ts';
import { protobufMessageFor } from './decode.ts';

/** How fixtures are written. */
export interface FixtureOptions {
  /** Write repeated numbers packed (proto3 style) instead of one tag per element (gogo proto2). */
  packed?: boolean;
  /**
   * Also write zero values for absent non-pointer scalars, as gogo-protobuf does for every
   * non-pointer Go field; the decoder must drop them again.
   */
  writeZeros?: boolean;
}

const utf8 = new TextEncoder();

class Writer {
  private readonly chunks: Uint8Array[] = [];

  varint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    const out: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      out.push(b);
    } while (v !== 0n);
    this.chunks.push(Uint8Array.from(out));
  }

  tag(field: number, wire: number): void {
    this.varint(BigInt(field * 8 + wire));
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    this.chunks.push(b);
  }

  raw(b: Uint8Array): void {
    this.chunks.push(b);
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

/** Encodes `obj` (which carries apiVersion and kind) as `k8s\0` + runtime.Unknown. */
export function encodeProtobufFixture(obj: Record<string, unknown>, opts: FixtureOptions = {}): Uint8Array {
  const apiVersion = String(obj['apiVersion'] ?? '');
  const kind = String(obj['kind'] ?? '');
  const name = protobufMessageFor(apiVersion, kind);
  if (!name) throw new Error(`no message for ${apiVersion}/${kind}`);
  const raw = encodeMessage(obj, spec(name), opts);
  return wrapUnknown({ apiVersion, kind, raw });
}

/** Wraps already-encoded message bytes in the `k8s\0` + runtime.Unknown envelope. */
export function wrapUnknown(
  parts: { apiVersion: string; kind: string; raw: Uint8Array },
  extra: { contentEncoding?: string; contentType?: string } = {},
): Uint8Array {
  const tm = new Writer();
  tm.bytes(1, utf8.encode(parts.apiVersion));
  tm.bytes(2, utf8.encode(parts.kind));
  const w = new Writer();
  w.raw(Uint8Array.from([0x6b, 0x38, 0x73, 0x00]));
  w.bytes(1, tm.finish());
  w.bytes(2, parts.raw);
  w.bytes(3, utf8.encode(extra.contentEncoding ?? ''));
  w.bytes(4, utf8.encode(extra.contentType ?? ''));
  return w.finish();
}

function spec(name: string): MessageSpec {
  const m = MESSAGES.get(name);
  if (!m) throw new Error(`no message ${name}`);
  return m;
}

/** Encodes one message from its JSON object; exported for tests that build bodies by hand. */
export function encodeMessage(obj: Record<string, unknown>, msg: MessageSpec, opts: FixtureOptions = {}): Uint8Array {
  const w = new Writer();
  const fields = [...msg.fields.values()].sort((a, b) => a.num - b.num);
  for (const f of fields) {
    if (f.inline) {
      // An embedded Go struct is a non-pointer field: gogo always writes it.
      w.bytes(f.num, encodeMessage(obj, spec(f.type), opts));
      continue;
    }
    const v = obj[f.name];
    if (v === undefined || v === null) {
      if (opts.writeZeros && f.label === 'single' && isScalar(f.type) && !f.keepZero) writeScalar(w, f.num, f.type, zero(f.type));
      continue;
    }
    if (f.label === 'repeated') writeRepeated(w, f, v as unknown[], opts);
    else if (f.label === 'map') {
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        const entry = new Writer();
        entry.bytes(1, utf8.encode(k));
        writeValue(entry, 2, f.type, val, opts);
        w.bytes(f.num, entry.finish());
      }
    } else writeValue(w, f.num, f.type, v, opts);
  }
  return w.finish();
}

function writeRepeated(w: Writer, f: FieldSpec, list: unknown[], opts: FixtureOptions): void {
  if (opts.packed && isScalar(f.type) && f.type !== 'string' && f.type !== 'bytes') {
    const inner = new Writer();
    for (const item of list) writeScalarPayload(inner, f.type as ScalarType, item);
    w.bytes(f.num, inner.finish());
    return;
  }
  for (const item of list) writeValue(w, f.num, f.type, item, opts);
}

function zero(type: ScalarType): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

function writeValue(w: Writer, num: number, type: string, v: unknown, opts: FixtureOptions): void {
  if (isScalar(type)) {
    writeScalar(w, num, type, v);
    return;
  }
  w.bytes(num, encodeSpecial(type, v, opts));
}

function writeScalar(w: Writer, num: number, type: ScalarType, v: unknown): void {
  switch (type) {
    case 'string':
      w.bytes(num, utf8.encode(String(v)));
      return;
    case 'bytes':
      w.bytes(num, Buffer.from(String(v), 'base64'));
      return;
    case 'double':
      w.tag(num, 1);
      writeScalarPayload(w, type, v);
      return;
    default:
      w.tag(num, 0);
      writeScalarPayload(w, type, v);
  }
}

function writeScalarPayload(w: Writer, type: ScalarType, v: unknown): void {
  if (type === 'bool') w.varint(v ? 1n : 0n);
  else if (type === 'double') {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, Number(v), true);
    w.raw(b);
  } else w.varint(BigInt(v as number));
}

function encodeSpecial(type: string, v: unknown, opts: FixtureOptions): Uint8Array {
  const w = new Writer();
  switch (type) {
    case 'Time':
    case 'MicroTime': {
      const ms = Date.parse(String(v));
      const seconds = Math.floor(ms / 1000);
      const micros = /\.(\d{6})Z$/.exec(String(v));
      w.tag(1, 0);
      w.varint(BigInt(seconds));
      w.tag(2, 0);
      w.varint(BigInt(micros ? Number(micros[1]) * 1000 : 0));
      return w.finish();
    }
    case 'Quantity':
      w.bytes(1, utf8.encode(String(v)));
      return w.finish();
    case 'IntOrString':
      // gogo writes all three fields of the non-pointer struct.
      w.tag(1, 0);
      w.varint(typeof v === 'string' ? 1n : 0n);
      w.tag(2, 0);
      w.varint(BigInt(typeof v === 'number' ? v : 0));
      w.bytes(3, utf8.encode(typeof v === 'string' ? v : ''));
      return w.finish();
    case 'RawExtension':
    case 'FieldsV1':
      w.bytes(1, utf8.encode(JSON.stringify(v)));
      return w.finish();
    case 'ExtraValue':
      for (const item of v as unknown[]) w.bytes(1, utf8.encode(String(item)));
      return w.finish();
    default:
      return encodeMessage(v as Record<string, unknown>, spec(type), opts);
  }
}
