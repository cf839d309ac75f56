import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { parse as parseYaml } from 'yaml';
import { catalog } from '../../api/catalog.ts';
import { buildOpenApi } from './documents.ts';
import { encodeOpenApiV2, negotiateOpenApiV2, openApiV2ProtobufBytes } from './v2-protobuf.ts';

type Json = Record<string, any>;

// gnostic-models openapiv2/OpenAPIv2.proto, field numbers copied from upstream (google.protobuf.Any is read as
// bytes: only its wire shape matters here). protobufjs decodes independently of the encoder's own table.
const PROTO = `
syntax = "proto3";
package openapi.v2;
message AdditionalPropertiesItem { oneof oneof { Schema schema = 1; bool boolean = 2; } }
message Any { bytes value = 1; string yaml = 2; }
message ApiKeySecurity { string type = 1; string name = 2; string in = 3; string description = 4; repeated NamedAny vendor_extension = 5; }
message BasicAuthenticationSecurity { string type = 1; string description = 2; repeated NamedAny vendor_extension = 3; }
message BodyParameter { string description = 1; string name = 2; string in = 3; bool required = 4; Schema schema = 5; repeated NamedAny vendor_extension = 6; }
message Contact { string name = 1; string url = 2; string email = 3; repeated NamedAny vendor_extension = 4; }
message Default { repeated NamedAny additional_properties = 1; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message Document { string swagger = 1; Info info = 2; string host = 3; string base_path = 4; repeated string schemes = 5;
  repeated string consumes = 6; repeated string produces = 7; Paths paths = 8; Definitions definitions = 9;
  ParameterDefinitions parameters = 10; ResponseDefinitions responses = 11; repeated SecurityRequirement security = 12;
  SecurityDefinitions security_definitions = 13; repeated Tag tags = 14; ExternalDocs external_docs = 15;
  repeated NamedAny vendor_extension = 16; }
message Examples { repeated NamedAny additional_properties = 1; }
message ExternalDocs { string description = 1; string url = 2; repeated NamedAny vendor_extension = 3; }
message FileSchema { string format = 1; string title = 2; string description = 3; Any default = 4; repeated string required = 5;
  string type = 6; bool read_only = 7; ExternalDocs external_docs = 8; Any example = 9; repeated NamedAny vendor_extension = 10; }
message FormDataParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; bool allow_empty_value = 5;
  string type = 6; string format = 7; PrimitivesItems items = 8; string collection_format = 9; Any default = 10; double maximum = 11;
  bool exclusive_maximum = 12; double minimum = 13; bool exclusive_minimum = 14; int64 max_length = 15; int64 min_length = 16;
  string pattern = 17; int64 max_items = 18; int64 min_items = 19; bool unique_items = 20; repeated Any enum = 21; double multiple_of = 22;
  repeated NamedAny vendor_extension = 23; }
message Header { string type = 1; string format = 2; PrimitivesItems items = 3; string collection_format = 4; Any default = 5;
  double maximum = 6; bool exclusive_maximum = 7; double minimum = 8; bool exclusive_minimum = 9; int64 max_length = 10; int64 min_length = 11;
  string pattern = 12; int64 max_items = 13; int64 min_items = 14; bool unique_items = 15; repeated Any enum = 16; double multiple_of = 17;
  string description = 18; repeated NamedAny vendor_extension = 19; }
message HeaderParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; string format = 6;
  PrimitivesItems items = 7; string collection_format = 8; Any default = 9; double maximum = 10; bool exclusive_maximum = 11; double minimum = 12;
  bool exclusive_minimum = 13; int64 max_length = 14; int64 min_length = 15; string pattern = 16; int64 max_items = 17; int64 min_items = 18;
  bool unique_items = 19; repeated Any enum = 20; double multiple_of = 21; repeated NamedAny vendor_extension = 22; }
message Headers { repeated NamedHeader additional_properties = 1; }
message Info { string title = 1; string version = 2; string description = 3; string terms_of_service = 4; Contact contact = 5;
  License license = 6; repeated NamedAny vendor_extension = 7; }
message ItemsItem { repeated Schema schema = 1; }
message JsonReference { string _ref = 1; string description = 2; }
message License { string name = 1; string url = 2; repeated NamedAny vendor_extension = 3; }
message NamedAny { string name = 1; Any value = 2; }
message NamedHeader { string name = 1; Header value = 2; }
message NamedParameter { string name = 1; Parameter value = 2; }
message NamedPathItem { string name = 1; PathItem value = 2; }
message NamedResponse { string name = 1; Response value = 2; }
message NamedResponseValue { string name = 1; ResponseValue value = 2; }
message NamedSchema { string name = 1; Schema value = 2; }
message NamedSecurityDefinitionsItem { string name = 1; SecurityDefinitionsItem value = 2; }
message NamedString { string name = 1; string value = 2; }
message NamedStringArray { string name = 1; StringArray value = 2; }
message NonBodyParameter { oneof oneof { HeaderParameterSubSchema header_parameter_sub_schema = 1;
  FormDataParameterSubSchema form_data_parameter_sub_schema = 2; QueryParameterSubSchema query_parameter_sub_schema = 3;
  PathParameterSubSchema path_parameter_sub_schema = 4; } }
message Oauth2AccessCodeSecurity { string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string authorization_url = 4; string token_url = 5;
  string description = 6; repeated NamedAny vendor_extension = 7; }
message Oauth2ApplicationSecurity { string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string token_url = 4; string description = 5;
  repeated NamedAny vendor_extension = 6; }
message Oauth2ImplicitSecurity { string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string authorization_url = 4; string description = 5;
  repeated NamedAny vendor_extension = 6; }
message Oauth2PasswordSecurity { string type = 1; string flow = 2; Oauth2Scopes scopes = 3; string token_url = 4; string description = 5;
  repeated NamedAny vendor_extension = 6; }
message Oauth2Scopes { repeated NamedString additional_properties = 1; }
message Operation { repeated string tags = 1; string summary = 2; string description = 3; ExternalDocs external_docs = 4; string operation_id = 5;
  repeated string produces = 6; repeated string consumes = 7; repeated ParametersItem parameters = 8; Responses responses = 9;
  repeated string schemes = 10; bool deprecated = 11; repeated SecurityRequirement security = 12; repeated NamedAny vendor_extension = 13; }
message Parameter { oneof oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
message ParameterDefinitions { repeated NamedParameter additional_properties = 1; }
message ParametersItem { oneof oneof { Parameter parameter = 1; JsonReference json_reference = 2; } }
message PathItem { string _ref = 1; Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5; Operation options = 6;
  Operation head = 7; Operation patch = 8; repeated ParametersItem parameters = 9; repeated NamedAny vendor_extension = 10; }
message PathParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; string format = 6;
  PrimitivesItems items = 7; string collection_format = 8; Any default = 9; double maximum = 10; bool exclusive_maximum = 11; double minimum = 12;
  bool exclusive_minimum = 13; int64 max_length = 14; int64 min_length = 15; string pattern = 16; int64 max_items = 17; int64 min_items = 18;
  bool unique_items = 19; repeated Any enum = 20; double multiple_of = 21; repeated NamedAny vendor_extension = 22; }
message Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; }
message PrimitivesItems { string type = 1; string format = 2; PrimitivesItems items = 3; string collection_format = 4; Any default = 5;
  double maximum = 6; bool exclusive_maximum = 7; double minimum = 8; bool exclusive_minimum = 9; int64 max_length = 10; int64 min_length = 11;
  string pattern = 12; int64 max_items = 13; int64 min_items = 14; bool unique_items = 15; repeated Any enum = 16; double multiple_of = 17;
  repeated NamedAny vendor_extension = 18; }
message Properties { repeated NamedSchema additional_properties = 1; }
message QueryParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; bool allow_empty_value = 5;
  string type = 6; string format = 7; PrimitivesItems items = 8; string collection_format = 9; Any default = 10; double maximum = 11;
  bool exclusive_maximum = 12; double minimum = 13; bool exclusive_minimum = 14; int64 max_length = 15; int64 min_length = 16;
  string pattern = 17; int64 max_items = 18; int64 min_items = 19; bool unique_items = 20; repeated Any enum = 21; double multiple_of = 22;
  repeated NamedAny vendor_extension = 23; }
message Response { string description = 1; SchemaItem schema = 2; Headers headers = 3; Examples examples = 4; repeated NamedAny vendor_extension = 5; }
message ResponseDefinitions { repeated NamedResponse additional_properties = 1; }
message ResponseValue { oneof oneof { Response response = 1; JsonReference json_reference = 2; } }
message Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2; }
message Schema { string _ref = 1; string format = 2; string title = 3; string description = 4; Any default = 5; double multiple_of = 6;
  double maximum = 7; bool exclusive_maximum = 8; double minimum = 9; bool exclusive_minimum = 10; int64 max_length = 11; int64 min_length = 12;
  string pattern = 13; int64 max_items = 14; int64 min_items = 15; bool unique_items = 16; int64 max_properties = 17; int64 min_properties = 18;
  repeated string required = 19; repeated Any enum = 20; AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22;
  ItemsItem items = 23; repeated Schema all_of = 24; Properties properties = 25; string discriminator = 26; bool read_only = 27; Xml xml = 28;
  ExternalDocs external_docs = 29; Any example = 30; repeated NamedAny vendor_extension = 31; }
message SchemaItem { oneof oneof { Schema schema = 1; FileSchema file_schema = 2; } }
message SecurityDefinitions { repeated NamedSecurityDefinitionsItem additional_properties = 1; }
message SecurityDefinitionsItem { oneof oneof { BasicAuthenticationSecurity basic_authentication_security = 1; ApiKeySecurity api_key_security = 2;
  Oauth2ImplicitSecurity oauth2_implicit_security = 3; Oauth2PasswordSecurity oauth2_password_security = 4;
  Oauth2ApplicationSecurity oauth2_application_security = 5; Oauth2AccessCodeSecurity oauth2_access_code_security = 6; } }
message SecurityRequirement { repeated NamedStringArray additional_properties = 1; }
message StringArray { repeated string value = 1; }
message Tag { string name = 1; string description = 2; ExternalDocs external_docs = 3; repeated NamedAny vendor_extension = 4; }
message TypeItem { repeated string value = 1; }
message Xml { string name = 1; string namespace = 2; string prefix = 3; bool attribute = 4; bool wrapped = 5; repeated NamedAny vendor_extension = 6; }
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const DocumentType = root.lookupType('openapi.v2.Document');

/** Named-pair lists that are JSON objects: message → its repeated Named* field. */
const MAP_FIELDS: Record<string, string> = {
  Definitions: 'additional_properties', Properties: 'additional_properties', ParameterDefinitions: 'additional_properties',
  ResponseDefinitions: 'additional_properties', SecurityDefinitions: 'additional_properties', SecurityRequirement: 'additional_properties',
  Headers: 'additional_properties', Examples: 'additional_properties', Oauth2Scopes: 'additional_properties', Default: 'additional_properties',
  Paths: 'path', Responses: 'response_code',
};

function jsonKey(field: string): string {
  return field === '_ref' ? '$ref' : field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Turns a decoded gnostic message back into swagger JSON: the inverse of what gnostic's compiler does. */
function toSwagger(type: protobuf.Type, msg: Json): unknown {
  switch (type.name) {
    case 'Any':
      // kube-openapi reads Any.yaml with a YAML parser; parse it with one here too.
      return parseYaml(msg['yaml'] as string);
    case 'TypeItem': {
      const v = (msg['value'] ?? []) as string[];
      return v.length === 1 ? v[0] : v;
    }
    case 'ItemsItem': {
      const v = ((msg['schema'] ?? []) as Json[]).map((s) => toSwagger(root.lookupType('openapi.v2.Schema'), s));
      return v.length === 1 ? v[0] : v;
    }
    case 'StringArray':
      return msg['value'] ?? [];
  }
  if (type.oneofs?.['oneof'] !== undefined) {
    const set = type.oneofs['oneof'].oneof.filter((name) => msg[name] !== undefined);
    assert.equal(set.length, 1, `${type.name} has exactly one oneof member`);
    const member = type.fields[set[0] as string] as protobuf.Field;
    const value = msg[member.name];
    return member.resolvedType instanceof protobuf.Type ? toSwagger(member.resolvedType, value as Json) : value;
  }
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const value = msg[field.name];
    if (value === undefined) continue;
    if (field.name === 'vendor_extension' || field.name === MAP_FIELDS[type.name]) {
      const named = field.resolvedType as protobuf.Type;
      const valueField = named.fields['value'] as protobuf.Field;
      for (const pair of value as Json[]) {
        const v = pair['value'];
        out[pair['name'] as string] = valueField.resolvedType instanceof protobuf.Type ? toSwagger(valueField.resolvedType, v as Json) : v;
      }
      continue;
    }
    const conv = (v: unknown): unknown => (field.resolvedType instanceof protobuf.Type ? toSwagger(field.resolvedType, v as Json) : v);
    out[jsonKey(field.name)] = field.repeated ? (value as unknown[]).map(conv) : conv(value);
  }
  return out;
}

function decode(bytes: Uint8Array): Json {
  const msg = DocumentType.decode(bytes);
  const obj = DocumentType.toObject(msg, { longs: Number, defaults: false, arrays: false, oneofs: false });
  return toSwagger(DocumentType, obj) as Json;
}

// Proto3 leaves zero scalars off the wire, so they read back as absent; values inside Any (extensions, default,
// example, enum) are YAML text and come back exactly.
function withoutZeros(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutZeros);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('x-') || k === 'default' || k === 'example' || k === 'enum' || k === 'additionalProperties') out[k] = v;
    else if (v !== false && v !== '' && v !== 0) out[k] = withoutZeros(v);
  }
  return out;
}

const HAND_MADE: Json = {
  swagger: '2.0',
  info: { title: 'Τest ✓ 𝄞', version: 'v1', description: 'd', termsOfService: 'tos', contact: { name: 'n', url: 'u', email: 'e', 'x-c': 1 }, license: { name: 'Apache', url: 'l' }, 'x-info': { a: [1, 'b'] } },
  host: 'example.invalid',
  basePath: '/base',
  schemes: ['https', 'http'],
  consumes: ['application/json'],
  produces: ['application/json', 'application/yaml'],
  paths: {
    'x-paths-ext': 'yes',
    '/a/{name}': {
      $ref: '#/paths/elsewhere',
      parameters: [
        { name: 'name', in: 'path', required: true, type: 'string', description: 'the name', 'x-p': true },
        { $ref: '#/parameters/shared', description: 'ref param' },
      ],
      get: {
        tags: ['t1', 't2'], summary: 's', description: 'get it', operationId: 'getA', deprecated: true,
        externalDocs: { description: 'more', url: 'https://docs.invalid' },
        produces: ['application/json'], consumes: ['*/*'], schemes: ['https'],
        parameters: [
          { name: 'q', in: 'query', type: 'integer', format: 'int32', allowEmptyValue: true, default: 5, maximum: 10.5, exclusiveMaximum: true, minimum: -3, exclusiveMinimum: true, maxLength: 2 ** 40, minLength: 1, pattern: '^a+$', maxItems: 4, minItems: -1, uniqueItems: true, enum: [1, 'two', null, false, { k: 'v' }], multipleOf: 0.25, collectionFormat: 'csv', items: { type: 'string', items: { type: 'integer', enum: [3] } } },
          { name: 'h', in: 'header', type: 'string', required: true, maxLength: 7 },
          { name: 'f', in: 'formData', type: 'file', allowEmptyValue: true },
          { name: 'body', in: 'body', required: true, description: 'b', schema: { $ref: '#/definitions/Thing' }, 'x-body': 'ext' },
        ],
        responses: {
          '200': { description: 'OK', schema: { $ref: '#/definitions/Thing' }, headers: { 'X-Rate': { type: 'integer', description: 'rate', default: 7 } }, examples: { 'application/json': { a: 1 } }, 'x-r': [] },
          '201': { description: 'file', schema: { type: 'file', format: 'binary', title: 't', description: 'd', default: 'x', required: ['a'], readOnly: true, example: 'ex', 'x-f': 'y' } },
          default: { $ref: '#/responses/Err', description: 'ref response' },
          'x-responses-ext': { n: 1 },
        },
        security: [{ oauth: ['read', 'write'], key: [] }],
        'x-kubernetes-group-version-kind': { group: 'apps', version: 'v1', kind: 'Deployment' },
        'x-kubernetes-action': 'get',
      },
      put: { operationId: 'putA', responses: { '200': { description: 'OK' } } },
      post: { operationId: 'postA' },
      delete: { operationId: 'deleteA', parameters: [{ name: 'body', in: 'body', required: false, schema: { type: 'object' } }] },
      options: { operationId: 'optionsA' },
      head: { operationId: 'headA' },
      patch: { operationId: 'patchA' },
      'x-item': 'i',
    },
  },
  definitions: {
    Thing: {
      type: 'object',
      title: 'Thing',
      description: 'A thing with every schema keyword',
      required: ['spec', 'constructor'],
      discriminator: 'kind',
      readOnly: true,
      xml: { name: 'thing', namespace: 'ns', prefix: 'p', attribute: true, wrapped: true, 'x-xml': 1 },
      externalDocs: { url: 'https://thing.invalid' },
      example: { spec: { n: 1 } },
      default: {},
      maxProperties: 9, minProperties: 1,
      properties: {
        spec: { $ref: '#/definitions/Spec', description: 'the spec' },
        constructor: { type: 'string' },
        'x-not-an-extension': { type: 'boolean', default: false },
        default: { type: 'string', enum: ['', 'a'] },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        closed: { type: 'object', additionalProperties: false },
        open: { type: 'object', additionalProperties: true, 'x-kubernetes-preserve-unknown-fields': true },
        tuple: { type: 'array', items: [{ type: 'string' }, { type: 'integer', format: 'int64' }] },
        list: { type: 'array', items: { $ref: '#/definitions/Spec' }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
        empty: { type: 'object', properties: {} },
        mixed: { allOf: [{ $ref: '#/definitions/Spec' }, { type: 'object', properties: { extra: { type: 'number', multipleOf: 1.5 } } }] },
        multi: { type: ['string', 'null'] },
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Thing', version: 'v1' }],
    },
    Spec: { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 1e21 } } },
    'x-named-definition': { type: 'string' },
  },
  parameters: {
    shared: { name: 'shared', in: 'query', type: 'boolean', uniqueItems: true },
    sharedBody: { name: 'body', in: 'body', schema: { type: 'string' } },
  },
  responses: { Err: { description: 'error', schema: { $ref: '#/definitions/Spec' } } },
  securityDefinitions: {
    basic: { type: 'basic', description: 'b' },
    key: { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication', 'x-k': 1 },
    implicit: { type: 'oauth2', flow: 'implicit', authorizationUrl: 'https://a.invalid', scopes: { read: 'Read', write: 'Write' } },
    password: { type: 'oauth2', flow: 'password', tokenUrl: 'https://t.invalid', scopes: {} },
    application: { type: 'oauth2', flow: 'application', tokenUrl: 'https://t2.invalid', scopes: { x: 'X' } },
    oauth: { type: 'oauth2', flow: 'accessCode', authorizationUrl: 'https://a2.invalid', tokenUrl: 'https://t3.invalid', scopes: { read: 'Read' }, description: 'ac' },
  },
  security: [{ key: [] }, { oauth: ['read'] }],
  tags: [{ name: 'core_v1', description: 'core', externalDocs: { url: 'https://tags.invalid' }, 'x-t': null }],
  externalDocs: { description: 'top', url: 'https://top.invalid' },
  'x-document': { nested: [true, 1.5, 'z'] },
};

describe('encodeOpenApiV2', () => {
  it('round-trips every gnostic message through an independent protobuf decoder', () => {
    const decoded = decode(encodeOpenApiV2(HAND_MADE));
    assert.deepEqual(decoded, withoutZeros(HAND_MADE));
  });

  it('puts oneof members in the right alternative and x- keys of a properties map into the map, not extensions', () => {
    const msg = DocumentType.toObject(DocumentType.decode(encodeOpenApiV2(HAND_MADE)), { longs: Number }) as Json;
    const get = msg['paths']['path'][0]['value']['get'];
    const params = (get['parameters'] as Json[]).map((p) => p['parameter']) as any[];
    assert.ok(params[0]['non_body_parameter']['query_parameter_sub_schema']);
    assert.ok(params[1]['non_body_parameter']['header_parameter_sub_schema']);
    assert.ok(params[2]['non_body_parameter']['form_data_parameter_sub_schema']);
    assert.ok(params[3]['body_parameter']);
    const pathParams = msg['paths']['path'][0]['value']['parameters'] as any[];
    assert.ok(pathParams[0]['parameter']['non_body_parameter']['path_parameter_sub_schema']);
    assert.equal(pathParams[1]['json_reference']['_ref'], '#/parameters/shared');
    const codes = Object.fromEntries((get['responses']['response_code'] as Json[]).map((r) => [r['name'], r['value']]));
    assert.ok(codes['201']['response']['schema']['file_schema']);
    assert.ok(codes['200']['response']['schema']['schema']);
    assert.equal(codes['default']['json_reference']['_ref'], '#/responses/Err');
    const thing = (msg['definitions']['additional_properties'] as Json[]).find((d) => d['name'] === 'Thing')?.['value'] as Json;
    const props = Object.fromEntries((thing['properties']['additional_properties'] as Json[]).map((p) => [p['name'], p['value']]));
    assert.ok(props['x-not-an-extension'], 'a property named x-… stays a property');
    assert.equal(props['closed']['additional_properties']['boolean'], false, 'additionalProperties: false is written');
    assert.deepEqual(props['empty']['properties'], {}, 'an empty properties object is present');
    const gvk = (thing['vendor_extension'] as Json[]).find((e) => e['name'] === 'x-kubernetes-group-version-kind');
    assert.deepEqual(parseYaml(gvk?.['value']['yaml'] as string), [{ group: '', kind: 'Thing', version: 'v1' }]);
  });

  it('drops keys gnostic has no field for', () => {
    const doc = { swagger: '2.0', info: { title: 't', version: 'v' }, openapi: '3.0.0', definitions: { A: { type: 'string', oneOf: [{ type: 'integer' }], nullable: true, anyOf: [] } } };
    assert.deepEqual(decode(encodeOpenApiV2(doc)), { swagger: '2.0', info: { title: 't', version: 'v' }, definitions: { A: { type: 'string' } } });
  });

  it('writes strings as valid UTF-8 (Go rejects invalid proto3 strings)', () => {
    const doc = { swagger: '2.0', info: { title: 'lone \ud800 surrogate', version: 'é' } };
    const decoded = decode(encodeOpenApiV2(doc));
    assert.equal(decoded['info']['title'], 'lone \ufffd surrogate');
    assert.equal(decoded['info']['version'], 'é');
  });

  it('encodes the served catalog document without loss', () => {
    const docs = buildOpenApi(catalog, { version: 'v1.32.0+skiff.test' });
    const json = docs.v2Document() as Json;
    const bytes = openApiV2ProtobufBytes(docs);
    assert.equal(openApiV2ProtobufBytes(docs), bytes, 'encoded once per documents object');
    const decoded = decode(bytes);
    assert.deepEqual(decoded, withoutZeros(json));
    const deploy = decoded['definitions']['io.k8s.api.apps.v1.Deployment'] as Json;
    assert.deepEqual(deploy['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  });
});

describe('negotiateOpenApiV2', () => {
  it('serves protobuf only when asked for it', () => {
    assert.equal(negotiateOpenApiV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf');
    assert.equal(negotiateOpenApiV2('application/com.github.proto-openapi.spec.v2.v1.0+protobuf'), 'protobuf');
    assert.equal(negotiateOpenApiV2('application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'json');
    assert.equal(negotiateOpenApiV2('application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf');
    assert.equal(negotiateOpenApiV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0, */*'), 'json');
    assert.equal(negotiateOpenApiV2(undefined), 'json');
    assert.equal(negotiateOpenApiV2(''), 'json');
    assert.equal(negotiateOpenApiV2('application/*'), 'json');
    assert.equal(negotiateOpenApiV2('text/html'), undefined);
    assert.equal(negotiateOpenApiV2('application/vnd.kubernetes.protobuf'), undefined);
  });
});
