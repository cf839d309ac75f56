import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../meta/field-errors.ts';
import type { StoredObject } from '../../meta/types.ts';
import { secrets } from './secret.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const secret = (extra: Partial<Secret>): StoredObject =>
  ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default', resourceVersion: '1' }, ...extra }) as StoredObject;

function validated(o: StoredObject): FieldError[] {
  secrets.defaults?.(o);
  return secrets.validate?.(o, { namespace: 'default' }) ?? [];
}

describe('secret defaults', () => {
  it('defaults type Opaque and folds stringData into data', () => {
    const o = secret({ data: { a: b64('old'), b: b64('keep') }, stringData: { a: 'new' } });
    secrets.defaults?.(o);
    const s = o as unknown as Secret;
    assert.equal(s.type, 'Opaque');
    assert.deepEqual(s.data, { a: b64('new'), b: b64('keep') });
    assert.equal(s.stringData, undefined);
  });
});

describe('secret validation', () => {
  it('accepts opaque data and rejects bad keys and bad base64', () => {
    assert.deepEqual(validated(secret({ data: { 'user.name': b64('x') } })), []);
    const errs = validated(secret({ data: { 'a/b': b64('x'), ok: 'not base64!' } }));
    assert.equal(errs.find((e) => e.field === 'data[a/b]')?.type, 'FieldValueInvalid');
    assert.match(errs.find((e) => e.field === 'data[ok]')?.detail ?? '', /illegal base64 data/);
  });

  it('requires tls.crt and tls.key for kubernetes.io/tls', () => {
    const errs = validated(secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } }));
    assert.deepEqual(errs.map((e) => [e.field, e.type]), [['data[tls.key]', 'FieldValueRequired']]);
    assert.deepEqual(validated(secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } })), []);
  });

  it('requires valid JSON for dockerconfigjson', () => {
    assert.equal(validated(secret({ type: 'kubernetes.io/dockerconfigjson' }))[0]?.field, 'data[.dockerconfigjson]');
    const bad = validated(secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{nope') } }));
    assert.equal(bad[0]?.type, 'FieldValueInvalid');
    assert.equal(bad[0]?.value, '<secret contents redacted>');
    assert.deepEqual(validated(secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":{}}') } })), []);
  });

  it('checks service-account-token, basic-auth and ssh-auth', () => {
    const sa = validated(secret({ type: 'kubernetes.io/service-account-token' }));
    assert.equal(sa[0]?.field, 'metadata.annotations[kubernetes.io/service-account.name]');
    const basic = validated(secret({ type: 'kubernetes.io/basic-auth', data: {} }));
    assert.deepEqual(basic.map((e) => e.field), ['data[username]', 'data[password]']);
    assert.deepEqual(validated(secret({ type: 'kubernetes.io/basic-auth', data: { password: b64('p') } })), []);
    assert.equal(validated(secret({ type: 'kubernetes.io/ssh-auth' }))[0]?.field, 'data[ssh-privatekey]');
  });

  it('keeps type immutable and honours immutable', () => {
    const old = secret({ type: 'Opaque', immutable: true, data: { a: b64('1') } });
    const errs = secrets.validateUpdate?.(secret({ type: 'kubernetes.io/tls', immutable: true, data: { a: b64('2') } }), old, { namespace: 'default' }) ?? [];
    assert.deepEqual(errs.map((e) => e.field).sort(), ['data', 'type']);
  });

  it('prints type and data count, selects on type', () => {
    const o = secret({ type: 'Opaque', data: { a: b64('1'), b: b64('2') } });
    assert.deepEqual(secrets.columns.slice(0, 2).map((c) => c.cell(o, 0)), ['Opaque', 2]);
    assert.equal(secrets.fieldSelectors?.['type']?.(o), 'Opaque');
  });
});
