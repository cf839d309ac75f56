import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { serviceaccounts } from './serviceaccount.ts';

describe('serviceaccounts', () => {
  it('validates the name and image pull secret references', () => {
    const ok = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } } as StoredObject;
    assert.deepEqual(serviceaccounts.validate?.(ok, { namespace: 'default' }), []);
    const bad = { ...ok, metadata: { name: 'Builder', namespace: 'default' }, imagePullSecrets: [{}] } as StoredObject;
    const errs = serviceaccounts.validate?.(bad, { namespace: 'default' }) ?? [];
    assert.deepEqual(errs.map((e) => [e.field, e.type]), [['metadata.name', 'FieldValueInvalid'], ['imagePullSecrets[0].name', 'FieldValueRequired']]);
  });

  it('prints the secret count and offers the token subresource', () => {
    const o = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: 'default' }, secrets: [{ name: 'a' }] } as StoredObject;
    assert.equal(serviceaccounts.columns[0]?.cell(o, 0), 1);
    assert.deepEqual(serviceaccounts.subresources?.others, [{ name: 'token', group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }]);
  });
});
