/**
 * Decodes `application/vnd.kubernetes.protobuf` request bodies (the `k8s\0` magic, then a
 * runtime.Unknown whose `raw` is the object's message) into the JSON object the API would have
 * received from a JSON client. kubectl's typed-client commands send these bodies with no JSON
 * fallback; the server answers in JSON.
 */
import { isScalar, type FieldSpec, type MessageSpec, type ScalarType } from './schema.ts';
import { KINDS } from './schema-groups.ts';
import { MESSAGES } from './messages.ts';
import { ProtobufDecodeError, WireReader, WireType, toInt32, toInt64 } from './wire.ts';

export { ProtobufDecodeError } from './wire.ts';

/** The media type of protobuf bodies. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00] as const;
// The schema has no recursion except nested objects inside RawExtension; this only stops hostile nesting.
const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8');

/** A decoded body: its type and the JSON-shaped object (which carries apiVersion and kind too). */
export interface DecodedObject {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

/** True when `body` starts with the `k8s\0` magic of Kubernetes protobuf encoding. */
export function hasProtobufMagic(body: Uint8Array): boolean {
  return body.length >= MAGIC.length && MAGIC.every((b, i) => body[i] === b);
}

/**
 * Decodes a Kubernetes protobuf body into the JSON shape the JSON API receives (camelCase names,
 * unset optional fields omitted, IntOrString/Quantity/Time in their JSON forms, bytes as base64).
 * Throws ProtobufDecodeError for a malformed body or a kind this decoder does not know.
 */
export function decodeProtobufObject(body: Uint8Array): DecodedObject {
  const { apiVersion, kind, raw } = readEnvelope(body);
  const name = messageForKind(apiVersion, kind);
  const fields = decodeMessage(raw, { start: 0, end: raw.length }, message(name), 1);
  return { apiVersion, kind, object: { apiVersion, kind, ...fields } };
}

/**
 * Decodes bare message bytes (no envelope) as the named schema message, with the same JSON forms;
 * for well-known types (Time, MicroTime, IntOrString, Quantity …) it returns the JSON value.
 */
export function decodeProtobufMessage(type: string, raw: Uint8Array): unknown {
  if (!MESSAGES.has(type)) throw new ProtobufDecodeError(`no protobuf message ${type}`);
  return decodeValue(raw, { start: 0, end: raw.length }, type, 1);
}

/** The message name decoding `apiVersion`/`kind`, or undefined when the kind is not supported. */
export function protobufMessageFor(apiVersion: string, kind: string): string | undefined {
  // Options types are registered in every group version (metav1.AddToGroupVersion).
  if (kind === 'DeleteOptions') return 'DeleteOptions';
  return KINDS[`${apiVersion}/${kind}`];
}

function messageForKind(apiVersion: string, kind: string): string {
  const name = protobufMessageFor(apiVersion, kind);
  if (name === undefined) {
    throw new ProtobufDecodeError(`no kind "${kind}" is registered for version "${apiVersion}" in the protobuf decoder`);
  }
  return name;
}

function message(name: string): MessageSpec {
  const m = MESSAGES.get(name);
  if (!m) throw new Error(`protobuf schema has no message ${name}`);
  return m;
}

/** Reads the `k8s\0` + runtime.Unknown envelope. */
function readEnvelope(body: Uint8Array): { apiVersion: string; kind: string; raw: Uint8Array } {
  if (!(body instanceof Uint8Array)) throw new ProtobufDecodeError('protobuf body must be bytes');
  if (!hasProtobufMagic(body)) {
    throw new ProtobufDecodeError('provided protobuf body does not begin with the Kubernetes "k8s\\x00" prefix');
  }
  const r = new WireReader(body, { start: MAGIC.length });
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = '';
  let contentType = '';
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field >= 1 && field <= 4) expectWire(wire, WireType.bytes, 'Unknown', field);
    switch (field) {
      case 1: {
        const tm = new WireReader(body, r.span());
        while (tm.more()) {
          const t = tm.tag();
          if (t.field === 1 || t.field === 2) {
            expectWire(t.wire, WireType.bytes, 'TypeMeta', t.field);
            const s = utf8.decode(tm.bytes());
            if (t.field === 1) apiVersion = s;
            else kind = s;
          } else tm.skip(t.wire);
        }
        break;
      }
      case 2:
        raw = r.bytes();
        break;
      case 3:
        contentEncoding = utf8.decode(r.bytes());
        break;
      case 4:
        contentType = utf8.decode(r.bytes());
        break;
      default:
        r.skip(wire);
    }
  }
  if (kind === '') throw new ProtobufDecodeError('protobuf body has no kind in its type meta');
  if (contentEncoding !== '') throw new ProtobufDecodeError(`unsupported protobuf content encoding "${contentEncoding}"`);
  if (contentType !== '' && contentType !== PROTOBUF_MEDIA_TYPE) {
    throw new ProtobufDecodeError(`unsupported content type "${contentType}" inside a protobuf envelope`);
  }
  return { apiVersion, kind, raw };
}

function expectWire(wire: number, want: number, where: string, field: number): void {
  if (wire !== want) throw new ProtobufDecodeError(`${where} field ${field}: wire type ${wire}, expected ${want}`);
}

const SCALAR_WIRE: Record<ScalarType, number> = {
  string: WireType.bytes,
  bytes: WireType.bytes,
  int32: WireType.varint,
  int64: WireType.varint,
  bool: WireType.varint,
  double: WireType.fixed64,
};

function readScalar(r: WireReader, type: ScalarType): string | number | boolean {
  switch (type) {
    case 'string':
      return utf8.decode(r.bytes());
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'int32':
      return toInt32(r.varint64());
    case 'int64':
      return toInt64(r.varint64());
    case 'bool':
      return !isZeroVarint(r.varint64());
    case 'double': {
      const b = r.fixed(8);
      return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
    }
  }
}

function isZeroVarint(v: { lo: number; hi: number }): boolean {
  return v.lo === 0 && v.hi === 0;
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

/** Sets an own enumerable property even for keys such as "__proto__" (map keys are untrusted). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function decodeMessage(
  buf: Uint8Array,
  range: { start: number; end: number },
  msg: MessageSpec,
  depth: number,
): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new ProtobufDecodeError(`protobuf message nested deeper than ${MAX_DEPTH} levels`);
  const r = new WireReader(buf, range);
  const out: Record<string, unknown> = {};
  while (r.more()) {
    const { field, wire } = r.tag();
    const f = msg.fields.get(field);
    if (!f) {
      // Unknown fields come from newer clients; protobuf semantics are to skip them.
      r.skip(wire);
      continue;
    }
    switch (f.label) {
      case 'single':
        readSingle(r, buf, wire, msg, f, out, depth);
        break;
      case 'repeated':
        readRepeated(r, buf, wire, msg, f, out, depth);
        break;
      case 'map':
        readMapEntry(r, buf, wire, msg, f, out, depth);
        break;
    }
  }
  return out;
}

function readSingle(
  r: WireReader,
  buf: Uint8Array,
  wire: number,
  msg: MessageSpec,
  f: FieldSpec,
  out: Record<string, unknown>,
  depth: number,
): void {
  if (isScalar(f.type)) {
    expectWire(wire, SCALAR_WIRE[f.type], msg.name, f.num);
    const v = readScalar(r, f.type);
    // A later occurrence of a field wins, so a later zero must also clear an earlier value.
    if (!f.keepZero && isZero(v)) delete out[f.name];
    else out[f.name] = v;
    return;
  }
  expectWire(wire, WireType.bytes, msg.name, f.num);
  const v = decodeValue(buf, r.span(), f.type, depth + 1);
  if (f.inline) {
    if (isPlainObject(v)) mergeInto(out, v);
  } else if (v === undefined) delete out[f.name];
  else if (isPlainObject(v) && isPlainObject(out[f.name])) mergeInto(out[f.name] as Record<string, unknown>, v);
  else out[f.name] = v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Protobuf merge semantics for a message field that occurs twice: messages merge, lists append, scalars overwrite. */
function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const t = target[k];
    if (isPlainObject(t) && isPlainObject(v) && Object.hasOwn(target, k)) mergeInto(t, v);
    else if (Array.isArray(t) && Array.isArray(v)) for (const item of v as unknown[]) t.push(item);
    else setOwn(target, k, v);
  }
}

function readRepeated(
  r: WireReader,
  buf: Uint8Array,
  wire: number,
  msg: MessageSpec,
  f: FieldSpec,
  out: Record<string, unknown>,
  depth: number,
): void {
  const list = (Array.isArray(out[f.name]) ? out[f.name] : (out[f.name] = [])) as unknown[];
  if (!isScalar(f.type)) {
    expectWire(wire, WireType.bytes, msg.name, f.num);
    const v = decodeValue(buf, r.span(), f.type, depth + 1);
    list.push(v === undefined ? null : v);
    return;
  }
  const want = SCALAR_WIRE[f.type];
  if (wire === WireType.bytes && want !== WireType.bytes) {
    // Packed encoding of numeric scalars: one length-delimited run of values.
    const packed = new WireReader(buf, r.span());
    while (packed.more()) list.push(readScalar(packed, f.type));
    return;
  }
  expectWire(wire, want, msg.name, f.num);
  list.push(readScalar(r, f.type));
}

function readMapEntry(
  r: WireReader,
  buf: Uint8Array,
  wire: number,
  msg: MessageSpec,
  f: FieldSpec,
  out: Record<string, unknown>,
  depth: number,
): void {
  expectWire(wire, WireType.bytes, msg.name, f.num);
  const entry = new WireReader(buf, r.span());
  let key = '';
  let value: unknown;
  while (entry.more()) {
    const t = entry.tag();
    if (t.field === 1) {
      expectWire(t.wire, WireType.bytes, `${msg.name}.${f.name} map key`, 1);
      key = utf8.decode(entry.bytes());
    } else if (t.field === 2) {
      if (isScalar(f.type)) {
        expectWire(t.wire, SCALAR_WIRE[f.type], `${msg.name}.${f.name} map value`, 2);
        value = readScalar(entry, f.type);
      } else {
        expectWire(t.wire, WireType.bytes, `${msg.name}.${f.name} map value`, 2);
        value = decodeValue(buf, entry.span(), f.type, depth + 1);
      }
    } else entry.skip(t.wire);
  }
  // A missing value is the zero value of its type (protobuf map semantics).
  if (value === undefined) value = isScalar(f.type) ? zeroScalar(f.type) : decodeValue(buf, { start: 0, end: 0 }, f.type, depth + 1);
  const map = (out[f.name] !== null && typeof out[f.name] === 'object' ? out[f.name] : (out[f.name] = {})) as Record<string, unknown>;
  setOwn(map, key, value ?? null);
}

function zeroScalar(type: ScalarType): string | number | boolean {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

/**
 * Decodes one embedded message and applies the custom JSON forms of the well-known types.
 * Returns undefined for a value the JSON API would omit (an unset Time).
 */
function decodeValue(buf: Uint8Array, range: { start: number; end: number }, type: string, depth: number): unknown {
  const fields = decodeMessage(buf, range, message(type), depth);
  switch (type) {
    case 'Time':
    case 'MicroTime':
      return formatTime(fields, type === 'MicroTime');
    case 'Quantity':
      return typeof fields['string'] === 'string' ? fields['string'] : '';
    case 'IntOrString':
      return fields['type'] === 1 ? (fields['strVal'] ?? '') : (fields['intVal'] ?? 0);
    case 'RawExtension':
      return embedded(buf, range, depth, true);
    case 'FieldsV1':
      return embedded(buf, range, depth, false);
    case 'ExtraValue':
      return fields['items'] ?? [];
    default:
      return fields;
  }
}

// metav1.Time marshals to RFC 3339 in UTC; Go refuses years outside [0, 9999].
const MIN_SECONDS = -62167219200; // 0000-01-01T00:00:00Z
const MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

function formatTime(fields: Record<string, unknown>, micro: boolean): string | undefined {
  const seconds = typeof fields['seconds'] === 'number' ? fields['seconds'] : 0;
  const nanos = typeof fields['nanos'] === 'number' ? fields['nanos'] : 0;
  // The zero time is not written by Go (Time.Marshal of IsZero is empty), so empty means unset.
  if (seconds === 0 && nanos === 0) return undefined;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new ProtobufDecodeError(`timestamp ${seconds} out of range`);
  if (nanos < 0 || nanos > 999_999_999) throw new ProtobufDecodeError(`timestamp nanos ${nanos} out of range`);
  const iso = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const base = iso.slice(0, 19);
  if (!micro) return `${base}Z`;
  return `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`;
}

/**
 * The JSON value of embedded raw bytes: JSON text, or (RawExtension only) a nested protobuf object.
 * FieldsV1 is always JSON.
 */
function embedded(buf: Uint8Array, range: { start: number; end: number }, depth: number, allowProtobuf: boolean): unknown {
  const raw = rawBytesOf(buf, range);
  if (raw === undefined || raw.length === 0) return null;
  if (allowProtobuf && hasProtobufMagic(raw)) {
    if (depth > MAX_DEPTH) throw new ProtobufDecodeError(`protobuf message nested deeper than ${MAX_DEPTH} levels`);
    const { apiVersion, kind, raw: inner } = readEnvelope(raw);
    const fields = decodeMessage(inner, { start: 0, end: inner.length }, message(messageForKind(apiVersion, kind)), depth + 1);
    return { apiVersion, kind, ...fields };
  }
  try {
    return JSON.parse(utf8.decode(raw)) as unknown;
  } catch {
    throw new ProtobufDecodeError(allowProtobuf ? 'embedded raw object is neither JSON nor Kubernetes protobuf' : 'fieldsV1 is not valid JSON');
  }
}

/** The last field-1 bytes of a single-bytes-field message (RawExtension.raw, FieldsV1.Raw), as a view. */
function rawBytesOf(buf: Uint8Array, range: { start: number; end: number }): Uint8Array | undefined {
  const r = new WireReader(buf, range);
  let out: Uint8Array | undefined;
  while (r.more()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WireType.bytes) out = r.bytes();
    else r.skip(wire);
  }
  return out;
}
