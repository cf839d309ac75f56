/**
 * The swagger 2.0 document encoded as the gnostic `openapi.v2.Document` protobuf message
 * (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto). kubectl asks /openapi/v2 for this form only
 * (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) and validates `kind: List` manifests on
 * the client with it (KUBECTL-WIRE.md §3.2), reading `x-kubernetes-group-version-kind` from the definitions'
 * vendor extensions.
 *
 * The encoder is driven by a table of gnostic's messages: JSON key → field number and type. JSON keys a message has
 * no field for are dropped (gnostic would reject them when compiling the JSON document). Field numbers are facts of
 * OpenAPIv2.proto and must never be renumbered.
 */
import type { OpenApiDocuments } from './documents.ts';

/** The media type kubectl requests /openapi/v2 with (its Accept header). */
export const OPENAPI_V2_PROTOBUF_MEDIA_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * The Content-Type of the protobuf response, upstream's dotted spelling: client-go runs Go's mime.ParseMediaType on
 * every response, and '@' is not a token character ("mime: unexpected content after media subtype").
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

// Older clients spell the version with a dot instead of '@'; upstream's handler accepts both.
const PROTOBUF_SUBTYPES = new Set(['com.github.proto-openapi.spec.v2@v1.0+protobuf', 'com.github.proto-openapi.spec.v2.v1.0+protobuf']);

type Json = Record<string, unknown>;

/** How a JSON value maps onto a protobuf field: a scalar, a repeated scalar, or (`m:`/`r:`) one or repeated messages. */
type FieldType = 'string' | 'bool' | 'double' | 'int64' | 'strings' | 'any' | 'anys' | `m:${string}` | `r:${string}`;

interface MessageSpec {
  /** JSON key → [field number, type]. */
  fields?: Readonly<Record<string, readonly [number, FieldType]>>;
  /** Field number of `repeated NamedAny vendor_extension`, which takes every `x-` key not listed in `fields`. */
  ext?: number;
  /** The message is a JSON object map: each remaining key becomes a Named{name = 1, value = 2} in this field. */
  map?: readonly [number, FieldType];
  /** The message is a oneof: which field (and message type) a JSON value goes into. */
  oneof?: (value: unknown) => readonly [number, string] | undefined;
  /** The JSON value is not an object of fields (a scalar, a list, a YAML blob). */
  custom?: (w: ProtoWriter, value: unknown) => void;
}

// Fields shared by the four non-body parameter sub-schemas, Header and PrimitivesItems; each message numbers them
// from its own start (`type` is 5 in path/header parameters, 6 in query/formData ones).
const PRIMITIVE_KEYS = ['type', 'format', 'items', 'collectionFormat', 'default', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'enum', 'multipleOf'] as const;
const PRIMITIVE_TYPES: Record<(typeof PRIMITIVE_KEYS)[number], FieldType> = {
  type: 'string', format: 'string', items: 'm:PrimitivesItems', collectionFormat: 'string', default: 'any', maximum: 'double',
  exclusiveMaximum: 'bool', minimum: 'double', exclusiveMinimum: 'bool', maxLength: 'int64', minLength: 'int64', pattern: 'string',
  maxItems: 'int64', minItems: 'int64', uniqueItems: 'bool', enum: 'anys', multipleOf: 'double',
};
function primitiveFields(first: number): Record<string, readonly [number, FieldType]> {
  return Object.fromEntries(PRIMITIVE_KEYS.map((k, i) => [k, [first + i, PRIMITIVE_TYPES[k]] as const]));
}
const PARAM_HEAD = { required: [1, 'bool'], in: [2, 'string'], description: [3, 'string'], name: [4, 'string'] } as const;

const OAUTH2_FLOWS: Readonly<Record<string, readonly [number, string]>> = {
  implicit: [3, 'Oauth2ImplicitSecurity'], password: [4, 'Oauth2PasswordSecurity'],
  application: [5, 'Oauth2ApplicationSecurity'], accessCode: [6, 'Oauth2AccessCodeSecurity'],
};

const SPECS: Readonly<Record<string, MessageSpec>> = {
  Document: {
    fields: {
      swagger: [1, 'string'], info: [2, 'm:Info'], host: [3, 'string'], basePath: [4, 'string'], schemes: [5, 'strings'],
      consumes: [6, 'strings'], produces: [7, 'strings'], paths: [8, 'm:Paths'], definitions: [9, 'm:Definitions'],
      parameters: [10, 'm:ParameterDefinitions'], responses: [11, 'm:ResponseDefinitions'], security: [12, 'r:SecurityRequirement'],
      securityDefinitions: [13, 'm:SecurityDefinitions'], tags: [14, 'r:Tag'], externalDocs: [15, 'm:ExternalDocs'],
    },
    ext: 16,
  },
  Info: {
    fields: { title: [1, 'string'], version: [2, 'string'], description: [3, 'string'], termsOfService: [4, 'string'], contact: [5, 'm:Contact'], license: [6, 'm:License'] },
    ext: 7,
  },
  Contact: { fields: { name: [1, 'string'], url: [2, 'string'], email: [3, 'string'] }, ext: 4 },
  License: { fields: { name: [1, 'string'], url: [2, 'string'] }, ext: 3 },
  ExternalDocs: { fields: { description: [1, 'string'], url: [2, 'string'] }, ext: 3 },
  Tag: { fields: { name: [1, 'string'], description: [2, 'string'], externalDocs: [3, 'm:ExternalDocs'] }, ext: 4 },
  Paths: { ext: 1, map: [2, 'm:PathItem'] },
  PathItem: {
    fields: {
      $ref: [1, 'string'], get: [2, 'm:Operation'], put: [3, 'm:Operation'], post: [4, 'm:Operation'], delete: [5, 'm:Operation'],
      options: [6, 'm:Operation'], head: [7, 'm:Operation'], patch: [8, 'm:Operation'], parameters: [9, 'r:ParametersItem'],
    },
    ext: 10,
  },
  Operation: {
    fields: {
      tags: [1, 'strings'], summary: [2, 'string'], description: [3, 'string'], externalDocs: [4, 'm:ExternalDocs'], operationId: [5, 'string'],
      produces: [6, 'strings'], consumes: [7, 'strings'], parameters: [8, 'r:ParametersItem'], responses: [9, 'm:Responses'],
      schemes: [10, 'strings'], deprecated: [11, 'bool'], security: [12, 'r:SecurityRequirement'],
    },
    ext: 13,
  },
  ParametersItem: { oneof: (v) => (isObject(v) && typeof v['$ref'] === 'string' ? [2, 'JsonReference'] : [1, 'Parameter']) },
  JsonReference: { fields: { $ref: [1, 'string'], description: [2, 'string'] } },
  Parameter: { oneof: (v) => (isObject(v) && v['in'] === 'body' ? [1, 'BodyParameter'] : [2, 'NonBodyParameter']) },
  BodyParameter: { fields: { description: [1, 'string'], name: [2, 'string'], in: [3, 'string'], required: [4, 'bool'], schema: [5, 'm:Schema'] }, ext: 6 },
  NonBodyParameter: {
    oneof: (v) => {
      switch (isObject(v) ? v['in'] : undefined) {
        case 'header': return [1, 'HeaderParameterSubSchema'];
        case 'formData': return [2, 'FormDataParameterSubSchema'];
        case 'query': return [3, 'QueryParameterSubSchema'];
        case 'path': return [4, 'PathParameterSubSchema'];
        default: return undefined;
      }
    },
  },
  HeaderParameterSubSchema: { fields: { ...PARAM_HEAD, ...primitiveFields(5) }, ext: 22 },
  PathParameterSubSchema: { fields: { ...PARAM_HEAD, ...primitiveFields(5) }, ext: 22 },
  QueryParameterSubSchema: { fields: { ...PARAM_HEAD, allowEmptyValue: [5, 'bool'], ...primitiveFields(6) }, ext: 23 },
  FormDataParameterSubSchema: { fields: { ...PARAM_HEAD, allowEmptyValue: [5, 'bool'], ...primitiveFields(6) }, ext: 23 },
  PrimitivesItems: { fields: primitiveFields(1), ext: 18 },
  Header: { fields: { ...primitiveFields(1), description: [18, 'string'] }, ext: 19 },
  Headers: { map: [1, 'm:Header'] },
  Responses: { ext: 2, map: [1, 'm:ResponseValue'] },
  ResponseValue: { oneof: (v) => (isObject(v) && typeof v['$ref'] === 'string' ? [2, 'JsonReference'] : [1, 'Response']) },
  Response: { fields: { description: [1, 'string'], schema: [2, 'm:SchemaItem'], headers: [3, 'm:Headers'], examples: [4, 'm:Examples'] }, ext: 5 },
  Examples: { map: [1, 'any'] },
  SchemaItem: { oneof: (v) => (isObject(v) && v['type'] === 'file' ? [2, 'FileSchema'] : [1, 'Schema']) },
  FileSchema: {
    fields: {
      format: [1, 'string'], title: [2, 'string'], description: [3, 'string'], default: [4, 'any'], required: [5, 'strings'],
      type: [6, 'string'], readOnly: [7, 'bool'], externalDocs: [8, 'm:ExternalDocs'], example: [9, 'any'],
    },
    ext: 10,
  },
  Schema: {
    fields: {
      $ref: [1, 'string'], format: [2, 'string'], title: [3, 'string'], description: [4, 'string'], default: [5, 'any'],
      multipleOf: [6, 'double'], maximum: [7, 'double'], exclusiveMaximum: [8, 'bool'], minimum: [9, 'double'],
      exclusiveMinimum: [10, 'bool'], maxLength: [11, 'int64'], minLength: [12, 'int64'], pattern: [13, 'string'],
      maxItems: [14, 'int64'], minItems: [15, 'int64'], uniqueItems: [16, 'bool'], maxProperties: [17, 'int64'],
      minProperties: [18, 'int64'], required: [19, 'strings'], enum: [20, 'anys'], additionalProperties: [21, 'm:AdditionalPropertiesItem'],
      type: [22, 'm:TypeItem'], items: [23, 'm:ItemsItem'], allOf: [24, 'r:Schema'], properties: [25, 'm:Properties'],
      discriminator: [26, 'string'], readOnly: [27, 'bool'], xml: [28, 'm:Xml'], externalDocs: [29, 'm:ExternalDocs'], example: [30, 'any'],
    },
    ext: 31,
  },
  Xml: { fields: { name: [1, 'string'], namespace: [2, 'string'], prefix: [3, 'string'], attribute: [4, 'bool'], wrapped: [5, 'bool'] }, ext: 6 },
  Properties: { map: [1, 'm:Schema'] },
  Definitions: { map: [1, 'm:Schema'] },
  ParameterDefinitions: { map: [1, 'm:Parameter'] },
  ResponseDefinitions: { map: [1, 'm:Response'] },
  SecurityDefinitions: { map: [1, 'm:SecurityDefinitionsItem'] },
  SecurityDefinitionsItem: {
    oneof: (v) => {
      if (!isObject(v)) return undefined;
      if (v['type'] === 'basic') return [1, 'BasicAuthenticationSecurity'];
      if (v['type'] === 'apiKey') return [2, 'ApiKeySecurity'];
      const flow = v['flow'];
      return v['type'] === 'oauth2' && typeof flow === 'string' && Object.hasOwn(OAUTH2_FLOWS, flow) ? OAUTH2_FLOWS[flow] : undefined;
    },
  },
  BasicAuthenticationSecurity: { fields: { type: [1, 'string'], description: [2, 'string'] }, ext: 3 },
  ApiKeySecurity: { fields: { type: [1, 'string'], name: [2, 'string'], in: [3, 'string'], description: [4, 'string'] }, ext: 5 },
  Oauth2ImplicitSecurity: { fields: { type: [1, 'string'], flow: [2, 'string'], scopes: [3, 'm:Oauth2Scopes'], authorizationUrl: [4, 'string'], description: [5, 'string'] }, ext: 6 },
  Oauth2PasswordSecurity: { fields: { type: [1, 'string'], flow: [2, 'string'], scopes: [3, 'm:Oauth2Scopes'], tokenUrl: [4, 'string'], description: [5, 'string'] }, ext: 6 },
  Oauth2ApplicationSecurity: { fields: { type: [1, 'string'], flow: [2, 'string'], scopes: [3, 'm:Oauth2Scopes'], tokenUrl: [4, 'string'], description: [5, 'string'] }, ext: 6 },
  Oauth2AccessCodeSecurity: {
    fields: { type: [1, 'string'], flow: [2, 'string'], scopes: [3, 'm:Oauth2Scopes'], authorizationUrl: [4, 'string'], tokenUrl: [5, 'string'], description: [6, 'string'] },
    ext: 7,
  },
  Oauth2Scopes: { map: [1, 'string'] },
  SecurityRequirement: { map: [1, 'm:StringArray'] },
  StringArray: { custom: (w, v) => writeField(w, 1, 'strings', v) },
  TypeItem: { custom: (w, v) => writeField(w, 1, 'strings', v) },
  // A schema's `items` is one schema or (tuple form) a list of them.
  ItemsItem: { custom: (w, v) => writeField(w, 1, 'r:Schema', Array.isArray(v) ? v : [v]) },
  AdditionalPropertiesItem: {
    custom: (w, v) => {
      // Written even when false: a oneof member is present at its zero value.
      if (typeof v === 'boolean') w.bool(2, v);
      else if (isObject(v)) w.message(1, (s) => writeMessage(s, 'Schema', v));
    },
  },
  // gnostic keeps arbitrary values as YAML text; JSON is YAML, and kube-openapi parses it with yaml.Unmarshal.
  Any: { custom: (w, v) => w.string(2, JSON.stringify(v) ?? 'null') },
};

const utf8 = new TextEncoder();

/** A protobuf writer into one growing buffer; nested messages are written to their own writer and copied in. */
class ProtoWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** A non-negative safe integer as a varint. */
  private varint(n: number): void {
    this.reserve(10);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  bool(field: number, v: boolean): void {
    this.tag(field, 0);
    this.varint(v ? 1 : 0);
  }

  int64(field: number, v: number): void {
    this.tag(field, 0);
    if (v >= 0) {
      this.varint(v);
      return;
    }
    // Negative int64 values are ten-byte two's complement varints.
    let u = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (u >= 0x80n) {
      this.buf[this.len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.len++] = Number(u);
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.reserve(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 8).setFloat64(0, v, true);
    this.len += 8;
  }

  message(field: number, fill: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    fill(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function specOf(name: string): MessageSpec {
  const spec = SPECS[name];
  if (spec === undefined) throw new Error(`openapi v2 protobuf: no message ${name}`);
  return spec;
}

// proto3 leaves zero-valued singular scalars off the wire; a decoder reads them back as zero anyway.
function writeField(w: ProtoWriter, field: number, type: FieldType, value: unknown): void {
  switch (type) {
    case 'string':
      if (typeof value === 'string' && value !== '') w.string(field, value);
      return;
    case 'bool':
      if (value === true) w.bool(field, true);
      return;
    case 'double':
      if (typeof value === 'number' && Number.isFinite(value) && value !== 0) w.double(field, value);
      return;
    case 'int64':
      if (typeof value === 'number' && Number.isSafeInteger(value) && value !== 0) w.int64(field, value);
      return;
    case 'strings':
      for (const s of Array.isArray(value) ? value : [value]) if (typeof s === 'string') w.string(field, s);
      return;
    case 'any':
      if (value !== undefined) w.message(field, (a) => writeMessage(a, 'Any', value));
      return;
    case 'anys':
      if (Array.isArray(value)) for (const v of value) w.message(field, (a) => writeMessage(a, 'Any', v));
      return;
    default: {
      const name = type.slice(2);
      if (type.startsWith('r:')) {
        if (Array.isArray(value)) for (const v of value) w.message(field, (m) => writeMessage(m, name, v));
      } else if (value !== undefined && value !== null) {
        w.message(field, (m) => writeMessage(m, name, value));
      }
    }
  }
}

function writeMessage(w: ProtoWriter, name: string, value: unknown): void {
  const spec = specOf(name);
  if (spec.custom !== undefined) {
    spec.custom(w, value);
    return;
  }
  if (spec.oneof !== undefined) {
    const choice = spec.oneof(value);
    if (choice !== undefined) w.message(choice[0], (m) => writeMessage(m, choice[1], value));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    // Own keys only: a JSON key such as "constructor" must not find Object.prototype's members.
    const f = spec.fields !== undefined && Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
    if (f !== undefined) writeField(w, f[0], f[1], v);
    else if (spec.ext !== undefined && key.startsWith('x-')) writeNamed(w, spec.ext, key, 'any', v);
    else if (spec.map !== undefined) writeNamed(w, spec.map[0], key, spec.map[1], v);
  }
}

function writeNamed(w: ProtoWriter, field: number, name: string, type: FieldType, value: unknown): void {
  w.message(field, (n) => {
    n.string(1, name);
    writeField(n, 2, type, value);
  });
}

/** Encodes a swagger 2.0 document (JSON-shaped) as gnostic's `openapi.v2.Document`; keys gnostic has no field for are dropped. */
export function encodeOpenApiV2(doc: object): Uint8Array {
  const w = new ProtoWriter();
  writeMessage(w, 'Document', doc);
  return w.finish().slice();
}

const cache = new WeakMap<OpenApiDocuments, Uint8Array>();

/** The protobuf form of `docs.v2Document()`, encoded on first use and cached per documents object. */
export function openApiV2ProtobufBytes(docs: OpenApiDocuments): Uint8Array {
  let bytes = cache.get(docs);
  if (bytes === undefined) {
    bytes = encodeOpenApiV2(docs.v2Document());
    cache.set(docs, bytes);
  }
  return bytes;
}

/**
 * Which form of /openapi/v2 an Accept header asks for: the first acceptable clause by quality (then order) wins;
 * a missing header or a wildcard means JSON; undefined when neither is acceptable (the caller answers 406).
 */
export function negotiateOpenApiV2(accept: string | undefined): 'json' | 'protobuf' | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  const clauses = accept.split(',').map((raw, order) => {
    const [range = '', ...params] = raw.split(';').map((s) => s.trim());
    const qParam = params.find((p) => /^q=/i.test(p));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const [type = '', subtype = ''] = range.toLowerCase().split('/');
    return { type, subtype, q: Number.isNaN(q) ? 0 : q, order };
  });
  clauses.sort((a, b) => b.q - a.q || a.order - b.order);
  for (const c of clauses) {
    if (c.q <= 0) continue;
    if (c.type === '*' || (c.type === 'application' && (c.subtype === '*' || c.subtype === 'json'))) return 'json';
    if (c.type === 'application' && PROTOBUF_SUBTYPES.has(c.subtype)) return 'protobuf';
  }
  return undefined;
}
