import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufMessage, decodeProtobufObject, hasProtobufMagic, ProtobufDecodeError } from './decode.ts';
import { encodeMessage, encodeProtobufFixture, wrapUnknown } from './fixture-encoder.ts';
import { FIXTURES } from './fixtures.ts';
import { MESSAGES } from './messages.ts';
import { isScalar, parseMessage, buildRegistry, type MessageSpec } from './schema.ts';
import { KINDS } from './schema-groups.ts';

const hex = (s: string): Uint8Array => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function spec(name: string): MessageSpec {
  const m = MESSAGES.get(name);
  assert.ok(m, `message ${name}`);
  return m;
}

describe('decodeProtobufObject: the body kubectl sends', () => {
  it('decodes `kubectl create namespace demo` byte for byte (KUBECTL-WIRE §10.6 hex)', () => {
    // Every non-pointer Go field is written, even when empty: the decoder must drop them again.
    const body = hex(`
      6b387300
      0a0f 0a027631 12094e616d657370616365
      121c
        0a14 0a0464656d6f 1200 1a00 2200 2a00 3200 3800 4200
        1200
        1a02 0a00
      1a00 2200`);
    const got = decodeProtobufObject(body);
    assert.deepEqual(got, {
      apiVersion: 'v1',
      kind: 'Namespace',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' }, spec: {}, status: {} },
    });
  });

  it('recognises the magic prefix', () => {
    assert.equal(hasProtobufMagic(hex('6b38730000')), true);
    assert.equal(hasProtobufMagic(hex('6b3873')), false);
    assert.equal(hasProtobufMagic(Buffer.from('{"kind":"Pod"}')), false);
  });
});

describe('decodeProtobufObject: round trips of every supported kind', () => {
  const kinds = [...Object.values(KINDS), 'DeleteOptions'];

  it('has a fixture for every kind in the registry', () => {
    for (const kind of kinds) assert.ok(FIXTURES[kind], `fixture for ${kind}`);
  });

  for (const [name, obj] of Object.entries(FIXTURES)) {
    for (const opts of [{}, { writeZeros: true }, { packed: true, writeZeros: true }]) {
      it(`${name} ${JSON.stringify(opts)}`, () => {
        const got = decodeProtobufObject(encodeProtobufFixture(obj, opts));
        assert.equal(got.apiVersion, obj['apiVersion']);
        assert.equal(got.kind, obj['kind']);
        assert.deepEqual(got.object, obj);
        // The JSON text is what the rest of the server consumes.
        assert.deepEqual(JSON.parse(JSON.stringify(got.object)), obj);
      });
    }
  }
});

/**
 * Builds an object that sets every field of `msg` (recursively) to a distinctive non-zero value,
 * so that a field-name collision (for example between an inline struct and its parent) or a type
 * mishandled by the decoder shows up as a round-trip difference.
 */
function everyField(msg: MessageSpec, seed: { n: number }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of msg.fields.values()) {
    if (f.inline) {
      Object.assign(out, everyField(spec(f.type), seed));
      continue;
    }
    const one = (): unknown => sample(f.type, f.name, seed);
    if (f.label === 'repeated') out[f.name] = [one(), one()];
    else if (f.label === 'map') out[f.name] = { [`k${seed.n++}`]: one(), 'with/slash.key': one() };
    else out[f.name] = one();
  }
  return out;
}

function sample(type: string, name: string, seed: { n: number }): unknown {
  const n = ++seed.n;
  if (isScalar(type)) {
    switch (type) {
      case 'string':
        return `${name}-${n}`;
      case 'bytes':
        return Buffer.from(`bytes-${n}`).toString('base64');
      case 'int32':
        return n % 2 ? n : -n;
      case 'int64':
        return n % 2 ? 2 ** 40 + n : -(2 ** 40) - n;
      case 'bool':
        return true;
      case 'double':
        return n + 0.5;
    }
  }
  switch (type) {
    case 'Time':
      return new Date(Date.UTC(2026, 10, 21, 23, 19, n % 60)).toISOString().replace('.000', '');
    case 'MicroTime':
      return `2026-11-21T23:19:49.${String(n).padStart(6, '0')}Z`;
    case 'Quantity':
      return `${n}m`;
    case 'IntOrString':
      return n % 2 ? n : `port-${n}`;
    case 'RawExtension':
    case 'FieldsV1':
      return { [`f:${name}`]: { n } };
    case 'ExtraValue':
      return [`x${n}`, `y${n}`];
    default:
      return everyField(spec(type), seed);
  }
}

describe('decodeProtobufObject: every field of every message reachable from each kind', () => {
  for (const [key, name] of [...Object.entries(KINDS), ['v1/DeleteOptions', 'DeleteOptions'] as const]) {
    it(key, () => {
      const slash = key.lastIndexOf('/');
      const obj = { apiVersion: key.slice(0, slash), kind: key.slice(slash + 1), ...everyField(spec(name), { n: 0 }) };
      const got = decodeProtobufObject(encodeProtobufFixture(obj, { writeZeros: true }));
      assert.deepEqual(got.object, obj);
    });
  }
});

describe('decodeProtobufObject: JSON shapes', () => {
  it('keeps explicit zeros of pointer fields and drops the zeros gogo writes for plain fields', () => {
    const got = decodeProtobufObject(
      encodeProtobufFixture(
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'z' },
          spec: { replicas: 0, minReadySeconds: 0, paused: false, template: { spec: { hostNetwork: false, terminationGracePeriodSeconds: 0 } } },
        },
        { writeZeros: true },
      ),
    );
    assert.deepEqual(got.object['spec'], { replicas: 0, template: { spec: { terminationGracePeriodSeconds: 0 } } });
  });

  it('writes IntOrString, Quantity, Time, MicroTime and bytes in their JSON forms', () => {
    const ios = (v: number | string): unknown => decodeProtobufMessage('IntOrString', encodeIntOrString(v));
    assert.equal(ios(8080), 8080);
    assert.equal(ios('http'), 'http');
    assert.equal(ios(0), 0);
    assert.equal(decodeProtobufMessage('Quantity', tagBytes(1, Buffer.from('250m'))), '250m');
    assert.equal(decodeProtobufMessage('Time', encodeTimestamp(1795303189, 123456789)), '2026-11-21T23:19:49Z');
    assert.equal(decodeProtobufMessage('MicroTime', encodeTimestamp(1795303189, 123456789)), '2026-11-21T23:19:49.123456Z');
    assert.equal(decodeProtobufMessage('MicroTime', encodeTimestamp(1795303189, 5000)), '2026-11-21T23:19:49.000005Z');
    assert.equal(decodeProtobufMessage('Time', new Uint8Array()), undefined);
    const secret = decodeProtobufObject(
      wrapUnknown({
        apiVersion: 'v1',
        kind: 'Secret',
        raw: encodeMessage({ metadata: { name: 's', creationTimestamp: '2026-11-21T23:19:49Z' }, data: { k: 'AAEC' } }, spec('Secret')),
      }),
    );
    assert.deepEqual(secret.object, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', creationTimestamp: '2026-11-21T23:19:49Z' }, data: { k: 'AAEC' } });
  });

  it('formats a creationTimestamp with nanoseconds to whole seconds', () => {
    const ns = decodeProtobufObject(
      wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: tagBytes(1, tagBytes(8, encodeTimestamp(1795303189, 999999999))) }),
    );
    assert.deepEqual(ns.object['metadata'], { creationTimestamp: '2026-11-21T23:19:49Z' });
  });

  it('decodes a RawExtension holding JSON or a nested protobuf object', () => {
    assert.deepEqual(decodeProtobufMessage('RawExtension', tagBytes(1, Buffer.from('{"kind":"X","a":[1]}'))), { kind: 'X', a: [1] });
    const nested = encodeProtobufFixture({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'inner' }, data: { a: 'b' } });
    assert.deepEqual(decodeProtobufMessage('RawExtension', tagBytes(1, nested)), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'inner' },
      data: { a: 'b' },
    });
    assert.equal(decodeProtobufMessage('RawExtension', new Uint8Array()), null);
  });

  it('decodes managedFields FieldsV1 as embedded JSON', () => {
    const got = decodeProtobufObject(
      encodeProtobufFixture({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:k': {} } } }] },
      }),
    );
    assert.deepEqual((got.object['metadata'] as { managedFields: unknown[] }).managedFields, [
      { manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:k': {} } } },
    ]);
  });

  it('keeps a "__proto__" map key as data, not as a prototype', () => {
    const got = decodeProtobufObject(
      encodeProtobufFixture({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string> }),
    );
    const data = got.object['data'] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.deepEqual(Object.keys(data), ['__proto__', 'a']);
    assert.equal(JSON.stringify(data), '{"__proto__":"x","a":"b"}');
  });

  it('reads negative int32 values sign-extended to ten bytes, as Go writes them', () => {
    const got = decodeProtobufObject(
      encodeProtobufFixture({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'low' }, value: -2147483648 }),
    );
    assert.equal(got.object['value'], -2147483648);
  });

  it('merges a message field that occurs twice, as protobuf does', () => {
    const first = tagBytes(1, encodeMessage({ name: 'n', labels: { a: '1' }, finalizers: ['f1'] }, spec('ObjectMeta')));
    const second = tagBytes(1, encodeMessage({ namespace: 'ns', labels: { b: '2' }, finalizers: ['f2'] }, spec('ObjectMeta')));
    const got = decodeProtobufObject(wrapUnknown({ apiVersion: 'v1', kind: 'ConfigMap', raw: concat(first, second) }));
    assert.deepEqual(got.object['metadata'], { name: 'n', namespace: 'ns', labels: { a: '1', b: '2' }, finalizers: ['f1', 'f2'] });
  });

  it('skips fields a newer client sends that this schema does not know', () => {
    const known = encodeMessage({ metadata: { name: 'n' } }, spec('Namespace'));
    const unknownFields = hex('f80701' + 'fa0703616263' + '8d0801020304' + 'f90801020304050607 08'.replace(/\s/g, ''));
    const got = decodeProtobufObject(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: concat(known, unknownFields) }));
    assert.deepEqual(got.object, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } });
  });
});

describe('decodeProtobufObject: errors', () => {
  const bad = (body: Uint8Array, re: RegExp): void => {
    assert.throws(() => decodeProtobufObject(body), (e: unknown) => e instanceof ProtobufDecodeError && re.test(e.message));
  };

  it('rejects a body without the magic', () => bad(Buffer.from('{"kind":"Namespace"}'), /does not begin with the Kubernetes "k8s\\x00" prefix/));
  it('rejects an unknown kind', () =>
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Pod', raw: new Uint8Array() }), /no kind "Pod" is registered for version "v1"/));
  it('rejects a body without a kind', () => bad(hex('6b387300 1200'), /no kind/));
  it('rejects a compressed body', () =>
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: new Uint8Array() }, { contentEncoding: 'gzip' }), /content encoding "gzip"/));
  it('rejects JSON inside the envelope', () =>
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: new Uint8Array() }, { contentType: 'application/json' }), /content type/));
  it('rejects a truncated object', () => {
    const full = encodeProtobufFixture(FIXTURES['Deployment'] as Record<string, unknown>);
    bad(full.subarray(0, full.length - 7), /runs past the end|truncated/);
  });
  it('rejects a field with the wrong wire type', () =>
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: hex('0801') }), /Namespace field 1: wire type 0, expected 2/));
  it('rejects field number zero and group wire types', () => {
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: hex('0001') }), /invalid field number 0/);
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: hex('fb07') }), /unsupported wire type 3/);
  });
  it('rejects over-long and overflowing varints', () => {
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: hex('f807' + 'ff'.repeat(10) + '01') }), /varint longer than 10 bytes/);
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: hex('f807' + 'ff'.repeat(9) + '02') }), /varint overflows 64 bits/);
    bad(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: hex('f807ff') }), /truncated varint/);
  });
  it('rejects a timestamp Go cannot represent', () =>
    bad(
      wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: concat(tagBytes(1, concat(tagBytes(8, encodeTimestamp(2 ** 40, 0))))) }),
      /timestamp .* out of range/,
    ));
  it('rejects a RawExtension that is neither JSON nor protobuf', () =>
    assert.throws(() => decodeProtobufMessage('RawExtension', tagBytes(1, Buffer.from('{nope'))), /neither JSON nor Kubernetes protobuf/));
  it('rejects managedFields whose fieldsV1 is not JSON', () =>
    bad(
      wrapUnknown({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        raw: concat(tagBytes(1, concat(tagBytes(17, concat(tagBytes(7, tagBytes(1, Buffer.from('{not json')))))))),
      }),
      /fieldsV1 is not valid JSON/,
    ));
});

describe('schema notation', () => {
  it('parses modifiers and rejects nonsense', () => {
    const m = parseMessage('X', 'a=1 b=2:int32* c=3:Y[] d=4{} ^e=5:Y');
    assert.deepEqual(
      [...m.fields.values()].map((f) => [f.name, f.num, f.type, f.label, f.keepZero, f.inline]),
      [
        ['a', 1, 'string', 'single', false, false],
        ['b', 2, 'int32', 'single', true, false],
        ['c', 3, 'Y', 'repeated', false, false],
        ['d', 4, 'string', 'map', false, false],
        ['e', 5, 'Y', 'single', false, true],
      ],
    );
    assert.throws(() => parseMessage('X', 'a=1 b=1'), /used twice/);
    assert.throws(() => parseMessage('X', 'a=0'), /bad field/);
    assert.throws(() => buildRegistry({ X: 'a=1:Missing' }), /unknown type Missing/);
    assert.throws(() => buildRegistry({ X: 'a=1' }, { X: 'b=1' }), /defined twice/);
  });
});

// Small hand encoders for the tests above that need bytes the fixture encoder would not write.
function varint(n: bigint): Uint8Array {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function tagBytes(field: number, payload: Uint8Array): Uint8Array {
  return concat(varint(BigInt(field * 8 + 2)), varint(BigInt(payload.length)), payload);
}

function encodeTimestamp(seconds: number, nanos: number): Uint8Array {
  return concat(Uint8Array.of(0x08), varint(BigInt(seconds)), Uint8Array.of(0x10), varint(BigInt(nanos)));
}

function encodeIntOrString(v: number | string): Uint8Array {
  return concat(
    Uint8Array.of(0x08),
    varint(typeof v === 'string' ? 1n : 0n),
    Uint8Array.of(0x10),
    varint(BigInt(typeof v === 'number' ? v : 0)),
    tagBytes(3, Buffer.from(typeof v === 'string' ? v : '')),
  );
}
