import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { leases } from './lease.ts';

const ctx = { namespace: 'kube-system' };
const mk = () => structuredClone(leases.examples[0]) as StoredObject;

test('example is valid; duration must be positive, transitions non-negative', () => {
  assert.deepEqual(leases.validate!(mk(), ctx), []);
  const o = mk();
  o.spec = { leaseDurationSeconds: 0, leaseTransitions: -1, preferredHolder: 'x' };
  const errs = leases.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.leaseDurationSeconds')?.detail, 'must be greater than 0');
  assert.equal(errs.find((e) => e.field === 'spec.leaseTransitions')?.detail, 'must be greater than or equal to 0');
  assert.equal(errs.find((e) => e.field === 'spec.preferredHolder')?.type, 'FieldValueForbidden');
});

test('unknown strategy is NotSupported', () => {
  const o = mk();
  o.spec = { strategy: 'Newest' };
  assert.equal(leases.validate!(o, ctx)[0]?.type, 'FieldValueNotSupported');
});

test('columns: holder and age', () => {
  const o = mk();
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  assert.deepEqual(leases.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:05Z'))), ['node-1_0f6f3c1e', '5s']);
  o.spec = {};
  assert.equal(leases.columns[0]!.cell(o, 0), '');
});
