import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { configmaps } from './configmap.ts';

const cm = (extra: Partial<ConfigMap>): StoredObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', resourceVersion: '1' }, ...extra }) as StoredObject;

describe('configmaps', () => {
  it('validates keys and duplicates between data and binaryData', () => {
    assert.deepEqual(configmaps.validate?.(cm({ data: { 'a.b_c-d': 'x' } }), { namespace: 'default' }), []);
    const errs = configmaps.validate?.(cm({ data: { 'bad key': 'x', dup: 'y' }, binaryData: { dup: 'eQ==' } }), { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'data[bad key]')?.type, 'FieldValueInvalid');
    assert.equal(errs.find((e) => e.field === 'binaryData')?.detail, 'duplicate of key present in data');
  });

  it('rejects data over 1 MiB', () => {
    const errs = configmaps.validate?.(cm({ data: { big: 'x'.repeat(1024 * 1024 + 1) } }), { namespace: 'default' }) ?? [];
    assert.equal(errs[0]?.type, 'FieldValueTooLong');
  });

  it('keeps immutable config maps immutable', () => {
    const old = cm({ immutable: true, data: { a: '1' } });
    assert.deepEqual(configmaps.validateUpdate?.(cm({ immutable: true, data: { a: '1' } }), old, { namespace: 'default' }), []);
    const errs = configmaps.validateUpdate?.(cm({ data: { a: '2' } }), old, { namespace: 'default' }) ?? [];
    assert.deepEqual(errs.map((e) => [e.field, e.type]), [['immutable', 'FieldValueForbidden'], ['data', 'FieldValueForbidden']]);
  });

  it('counts data and binaryData entries', () => {
    const o = cm({ data: { a: '1', b: '2' }, binaryData: { c: 'eQ==' } });
    assert.equal(configmaps.columns.find((c) => c.name === 'Data')?.cell(o, 0), 3);
    assert.deepEqual(configmaps.shortNames, ['cm']);
  });
});
