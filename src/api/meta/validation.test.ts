import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { fieldErrorMessage } from './field-errors.ts';
import {
  isCIdentifier, isConfigMapKey, isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isHTTPHeaderName,
  isQualifiedName, isValidIP, isValidLabelValue, isValidPercent, isValidPortName, isValidPortNum, nameIsDNS1035Label,
  nameIsDNSLabel, nameIsDNSSubdomain, semanticEqual, validateAnnotations, validateImmutableField, validateLabels,
  validateNonnegative, validateObjectMeta, validateObjectMetaUpdate, validateOwnerReferences, validatePathSegmentName,
} from './validation.ts';

// Good and bad values from k8s.io/apimachinery/pkg/util/validation/validation_test.go.

function checkAll(fn: (v: string) => string[], good: string[], bad: string[]): void {
  for (const v of good) assert.deepEqual(fn(v), [], `expected ${JSON.stringify(v)} to be valid`);
  for (const v of bad) assert.notEqual(fn(v).length, 0, `expected ${JSON.stringify(v)} to be invalid`);
}

void describe('string validators', () => {
  void it('isDNS1123Label', () => {
    checkAll(isDNS1123Label,
      ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', '0', '01', '012', '1a', '1-a', '1--a--b--2', 'a'.repeat(63)],
      ['', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', '_a', 'a_b', '1_', '_1', '1_2', '.', 'a.', '.a',
        'a.b', '1.', '.1', '1.2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', 'a'.repeat(64)]);
    assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
    assert.deepEqual(isDNS1123Label('A'), [
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    assert.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  });

  void it('isDNS1123Subdomain', () => {
    checkAll(isDNS1123Subdomain,
      ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', '0', '01', '012', '1a', '1-a', '1--a--b--2', 'a.a', 'ab.a', 'abc.a', 'a1.a', 'a-1.a',
        'a--1--2--b.a', 'a.1', 'ab.1', 'abc.1', 'a1.1', 'a-1.1', 'a--1--2--b.1', '0.a', '01.a', '012.a', '1a.a', '1-a.a', '1--a--b--2',
        '0.1', '01.1', '012.1', '1a.1', '1-a.1', '1--a--b--2.1', 'a.b.c.d.e', 'aa.bb.cc.dd.ee', '1.2.3.4.5', '11.22.33.44.55', 'a'.repeat(253)],
      ['', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', '_a', 'a_b', '1_', '_1', '1_2', '.', 'a.', '.a',
        'a..b', '1.', '.1', '1..2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', 'A.a', 'aB.a', 'ab.A', 'A1.a', 'a1.A', 'A.1', 'aB.1', 'A1.1',
        '1A.1', '0.A', '01.A', '012.A', '1A.a', '1a.A', 'A.B.C.D.E', 'AA.BB.CC.DD.EE', 'a.B.c.d.e', 'aa.bB.cc.dd.ee', 'a@b', 'a,b', 'a_b',
        'a;b', 'a:b', 'a%b', 'a?b', 'a$b', 'a'.repeat(254)]);
    assert.deepEqual(isDNS1123Subdomain('Web'), [
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
  });

  void it('isDNS1035Label', () => {
    checkAll(isDNS1035Label,
      ['a', 'ab', 'abc', 'a1', 'a-1', 'a--1--2--b', 'a'.repeat(63)],
      ['0', '01', '012', '1a', '1-a', '1--a--b--2', '', 'A', 'ABC', 'aBc', 'A1', 'A-1', '1-A', '-', 'a-', '-a', '1-', '-1', '_', 'a_', '_a',
        'a_b', '1_', '_1', '1_2', '.', 'a.', '.a', 'a.b', '1.', '.1', '1.2', ' ', 'a ', ' a', 'a b', '1 ', ' 1', '1 2', 'a'.repeat(64)]);
  });

  void it('isCIdentifier', () => {
    checkAll(isCIdentifier, ['a', 'ab', 'abc', 'a1', '_a', 'a_', 'a_b', 'a_1', '_1', '1_', '_', 'a_b_c', 'A', 'AB', 'A_B'].filter((v) => !/^[0-9]/.test(v)),
      ['', '1', '123', '1a', 'a-b', 'a.b', 'a b', 'a=b', '#a', 'a$']);
  });

  void it('isValidPortNum', () => {
    for (const n of [1, 2, 1000, 16384, 32768, 65535]) assert.deepEqual(isValidPortNum(n), []);
    for (const n of [0, -1, 65536, 100000, 1.5]) assert.deepEqual(isValidPortNum(n), ['must be between 1 and 65535, inclusive']);
  });

  void it('isValidPortName', () => {
    checkAll(isValidPortName, ['telnet', 're-mail-ck', 'pop3', 'a', 'a-1', '1-a', 'a-1-b-2-c', '1-a-2-b-3'],
      ['longerthan15characters', '', 'a'.repeat(16), '12345', '1-2-3-4', '-begin', 'end-', 'two--hyphens', 'whois++']);
    assert.deepEqual(isValidPortName('12345'), ['must contain at least one letter (a-z)']);
  });

  void it('isQualifiedName', () => {
    checkAll(isQualifiedName,
      ['simple', 'now-with-dashes', '1-starts-with-num', '1234', 'simple/simple', 'now-with-dashes/simple', 'now-with-dashes/now-with-dashes',
        'now.with.dots/simple', 'now-with.dashes-and.dots/simple', '1-num.2-num/3-num', '1234/5678', '1.2.3.4/5678', 'Uppercase_Is_OK_123',
        'example.com/Uppercase_Is_OK_123', 'requests.storage-foo', 'a'.repeat(63), `${'a'.repeat(253)}/${'b'.repeat(63)}`],
      ['nospecialchars%^=@', 'cantendwithadash-', '-cantstartwithadash-', 'only/one/slash', 'Example.com/abc', 'example_com/abc',
        'example.com/', '/simple', 'a'.repeat(64), `${'a'.repeat(254)}/abc`]);
    assert.deepEqual(isQualifiedName('/simple'), ['prefix part must be non-empty']);
    assert.deepEqual(isQualifiedName('example.com/'), [
      'name part must be non-empty',
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]);
    assert.equal(isQualifiedName('Example.com/abc')[0]?.startsWith('prefix part a lowercase RFC 1123 subdomain'), true);
  });

  void it('isValidLabelValue', () => {
    checkAll(isValidLabelValue, ['simple', 'now-with-dashes', '1-starts-with-num', 'end-with-num-1', '1234', 'a'.repeat(63), ''],
      ['nospecialchars%^=@', 'Tama-nui-te-rā.is_the_Māori_sun', '\\backslashes\\are\\bad', '-starts-with-dash', 'ends-with-dash-',
        '.starts.with.dot', 'ends.with.dot.', 'a'.repeat(64)]);
  });

  void it('isValidIP', () => {
    checkAll(isValidIP,
      ['127.0.0.1', '10.0.0.1', '0.0.0.0', '255.255.255.255', '010.000.001.001', '::', '::1', '2001:db8::1', '2001:db8:0:0:0:0:0:1',
        '::ffff:1.2.3.4', '1::', 'fe80::1'],
      ['', '1.2.3', '1.2.3.4.5', '256.0.0.0', '1.2.3.-4', '2001:db8::1::2', ':::', '1.2.3.4/24', 'a', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9',
        '1:2:3:4:5:6:7', '12345::1', ':1', '1:']);
    assert.deepEqual(isValidIP('x'), ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']);
  });

  void it('isEnvVarName', () => {
    checkAll(isEnvVarName, ['a', 'A', 'ab', 'AB', 'a.b', 'a-b', 'a_b', '_a', '.a', '-a', 'a1', 'A1', 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'],
      ['', '1a', 'a=b', 'a b', '.', '..', '..a', 'a/b']);
    assert.deepEqual(isEnvVarName('..a'), ["must not start with '..'"]);
  });

  void it('isConfigMapKey', () => {
    checkAll(isConfigMapKey, ['a', 'ab', 'a.b', 'a-b', 'a_b', '.a', 'a..b', 'A', '1', 'key.name', 'KEY_NAME', 'key-name', 'a'.repeat(253)],
      ['', '.', '..', '..a', 'a b', 'a/b', 'a:b', 'a'.repeat(254)]);
    assert.deepEqual(isConfigMapKey('.'), ["must not be '.'"]);
  });

  void it('isHTTPHeaderName and isValidPercent', () => {
    checkAll(isHTTPHeaderName, ['X-Header-Name', 'a', 'A1-b'], ['', 'a b', 'a:b', 'a_b']);
    checkAll(isValidPercent, ['0%', '1%', '93%', '100%', '150%'], ['', '1', '%', '1.5%', '-1%', ' 1%']);
  });
});

void describe('name validators', () => {
  void it('accept a generateName prefix ending in a dash', () => {
    assert.deepEqual(nameIsDNSSubdomain('web-', true), []);
    assert.notDeepEqual(nameIsDNSSubdomain('web-', false), []);
    assert.deepEqual(nameIsDNSLabel('web-', true), []);
    assert.deepEqual(nameIsDNS1035Label('web-', true), []);
    assert.notDeepEqual(nameIsDNS1035Label('1web', false), []);
  });

  void it('validatePathSegmentName', () => {
    assert.deepEqual(validatePathSegmentName('system:admin', false), []);
    assert.deepEqual(validatePathSegmentName('.', false), ["may not be '.'"]);
    assert.deepEqual(validatePathSegmentName('..', false), ["may not be '..'"]);
    assert.deepEqual(validatePathSegmentName('.', true), []);
    assert.deepEqual(validatePathSegmentName('a/b%c', false), ["may not contain '/'", "may not contain '%'"]);
  });
});

void describe('validateObjectMeta', () => {
  const messages = (meta: ObjectMeta | undefined, namespaced = true): string[] =>
    validateObjectMeta(meta, { namespaced, nameValidator: nameIsDNSSubdomain }).map(fieldErrorMessage);

  void it('accepts a valid namespaced object', () => {
    assert.deepEqual(messages({ name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { 'example.com/a': 'x' } }), []);
  });

  void it('requires name or generateName', () => {
    assert.deepEqual(messages({ namespace: 'default' }), ['metadata.name: Required value: name or generateName is required']);
    assert.deepEqual(messages(undefined), [
      'metadata.name: Required value: name or generateName is required',
      'metadata.namespace: Required value',
    ]);
  });

  void it('validates name and generateName with the name validator', () => {
    const errs = validateObjectMeta({ name: 'Web', generateName: 'Web-', namespace: 'default' }, { namespaced: true, nameValidator: nameIsDNSSubdomain });
    assert.deepEqual(errs.map((e) => [e.field, e.type, e.value]), [
      ['metadata.generateName', 'FieldValueInvalid', 'Web-'],
      ['metadata.name', 'FieldValueInvalid', 'Web'],
    ]);
  });

  void it('requires a valid namespace for namespaced kinds and forbids it otherwise', () => {
    assert.deepEqual(messages({ name: 'web', namespace: 'Bad_NS' }).length, 1);
    assert.deepEqual(messages({ name: 'node-1', namespace: 'default' }, false), ['metadata.namespace: Forbidden: not allowed on this type']);
    assert.deepEqual(messages({ name: 'node-1' }, false), []);
  });

  void it('honours a custom path', () => {
    const errs = validateObjectMeta({}, { namespaced: false, nameValidator: nameIsDNSSubdomain, path: 'spec.template.metadata' });
    assert.deepEqual(errs.map((e) => e.field), ['spec.template.metadata.name']);
  });

  void it('validates generation, labels, annotations, ownerReferences and finalizers', () => {
    const got = messages({
      name: 'web', namespace: 'default', generation: -1,
      labels: { 'bad key': 'ok', good: 'bad value' },
      annotations: { 'Example.COM/Key': 'case is ignored', 'a/b/c': 'x' },
      ownerReferences: [{ apiVersion: '', kind: '', name: '', uid: '' }],
      finalizers: ['example.com/f', 'bad finalizer'],
    });
    assert.ok(got.includes('metadata.generation: Invalid value: -1: must be greater than or equal to 0'), got.join('\n'));
    assert.ok(got.some((m) => m.startsWith('metadata.labels: Invalid value: "bad key": name part must consist of')));
    assert.ok(got.some((m) => m.startsWith('metadata.labels: Invalid value: "bad value": a valid label must be')));
    assert.ok(!got.some((m) => m.includes('Example.COM/Key')));
    assert.ok(got.some((m) => m.startsWith('metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of')));
    assert.ok(got.includes('metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty'));
    assert.ok(got.includes('metadata.ownerReferences.kind: Invalid value: "": must not be empty'));
    assert.ok(got.includes('metadata.ownerReferences.name: Invalid value: "": must not be empty'));
    assert.ok(got.includes('metadata.ownerReferences.uid: Invalid value: "": must not be empty'));
    assert.ok(got.some((m) => m.startsWith('metadata.finalizers: Invalid value: "bad finalizer": name part must consist of')));
  });
});

void describe('validateAnnotations and validateLabels', () => {
  void it('limits the total annotation size to 256 KiB', () => {
    assert.deepEqual(validateAnnotations({ a: 'x'.repeat(262143) }, 'metadata.annotations'), []);
    const errs = validateAnnotations({ a: 'x'.repeat(262144) }, 'metadata.annotations');
    assert.deepEqual(errs.map(fieldErrorMessage), ['metadata.annotations: Too long: may not be more than 262144 bytes']);
  });

  void it('counts bytes, not characters', () => {
    assert.equal(validateAnnotations({ a: 'ā'.repeat(131072) }, 'm').length, 1);
  });

  void it('reports label key and value problems at the labels path', () => {
    assert.deepEqual(validateLabels({ app: 'web' }, 'metadata.labels'), []);
    assert.deepEqual(validateLabels(undefined, 'metadata.labels'), []);
    assert.deepEqual(validateLabels({ app: '-web' }, 'metadata.labels').map((e) => e.field), ['metadata.labels']);
  });
});

void describe('validateOwnerReferences', () => {
  const ref = (name: string, controller?: boolean): { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean } =>
    ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: `uid-${name}`, ...(controller === undefined ? {} : { controller }) });

  void it('allows one controller and rejects a second', () => {
    assert.deepEqual(validateOwnerReferences([ref('a', true), ref('b')], 'metadata.ownerReferences'), []);
    const errs = validateOwnerReferences([ref('a', true), ref('b', true)], 'metadata.ownerReferences');
    assert.equal(errs.length, 1);
    assert.equal(errs[0]?.detail, 'Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b');
  });

  void it('bans v1 Events as owners', () => {
    const errs = validateOwnerReferences([{ apiVersion: 'v1', kind: 'Event', name: 'e', uid: 'u' }], 'o');
    assert.equal(errs[0]?.detail, '/v1, Kind=Event is disallowed from being an owner');
  });
});

void describe('validateObjectMetaUpdate', () => {
  const old: ObjectMeta = { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '5', generation: 2 };

  void it('accepts an update that keeps the identity fields', () => {
    assert.deepEqual(validateObjectMetaUpdate({ ...old, labels: { a: 'b' } }, old), []);
  });

  void it('rejects changes to immutable fields', () => {
    const errs = validateObjectMetaUpdate({ ...old, name: 'other', namespace: 'kube-system', uid: 'u2', creationTimestamp: '2025-01-01T00:00:00Z' }, old);
    assert.deepEqual(errs.map(fieldErrorMessage), [
      'metadata.name: Invalid value: "other": field is immutable',
      'metadata.namespace: Invalid value: "kube-system": field is immutable',
      'metadata.uid: Invalid value: "u2": field is immutable',
      'metadata.creationTimestamp: Invalid value: "2025-01-01T00:00:00Z": field is immutable',
    ]);
  });

  void it('requires a resourceVersion unless told otherwise, and forbids decrementing generation', () => {
    const meta = { ...old, resourceVersion: undefined, generation: 1 };
    assert.deepEqual(validateObjectMetaUpdate(meta, old).map(fieldErrorMessage), [
      'metadata.resourceVersion: Invalid value: "": must be specified for an update',
      'metadata.generation: Invalid value: 1: must not be decremented',
    ]);
    assert.deepEqual(validateObjectMetaUpdate(meta, old, { requireResourceVersion: false }).map((e) => e.field), ['metadata.generation']);
  });

  void it('forbids new finalizers once the object is being deleted', () => {
    const deleting = { ...old, deletionTimestamp: '2024-02-01T00:00:00Z', finalizers: ['a.io/x'] };
    assert.deepEqual(validateObjectMetaUpdate({ ...deleting, finalizers: ['a.io/x'] }, deleting), []);
    assert.deepEqual(validateObjectMetaUpdate({ ...deleting, finalizers: [] }, deleting), []);
    assert.deepEqual(validateObjectMetaUpdate({ ...deleting, finalizers: ['a.io/x', 'b.io/y'] }, deleting).map(fieldErrorMessage), [
      'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b.io/y"}',
    ]);
  });
});

void describe('small validators', () => {
  void it('validateNonnegative', () => {
    assert.deepEqual(validateNonnegative(0, 'spec.replicas'), []);
    assert.deepEqual(validateNonnegative(undefined, 'spec.replicas'), []);
    assert.deepEqual(validateNonnegative(-1, 'spec.replicas').map(fieldErrorMessage), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);
  });

  void it('validateImmutableField uses semantic equality', () => {
    assert.deepEqual(validateImmutableField({ a: [1] }, { a: [1] }, 'spec.selector'), []);
    assert.deepEqual(validateImmutableField(undefined, '', 'x'), []);
    assert.deepEqual(validateImmutableField({ a: [] }, {}, 'x'), []);
    assert.equal(validateImmutableField({ a: [1] }, { a: [2] }, 'spec.selector')[0]?.detail, 'field is immutable');
    assert.ok(!semanticEqual(0, undefined));
    assert.ok(semanticEqual({ x: undefined, y: 1 }, { y: 1 }));
  });
});
