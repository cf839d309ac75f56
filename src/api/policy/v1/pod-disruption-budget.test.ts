import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { podDisruptionBudgets } from './pod-disruption-budget.ts';

const ctx = { namespace: 'default' };
const mk = () => structuredClone(podDisruptionBudgets.examples[0]) as StoredObject;

test('example validates; both bounds set; over 100%; bad eviction policy', () => {
  assert.deepEqual(podDisruptionBudgets.validate!(mk(), ctx), []);
  const o = mk();
  o.spec = { minAvailable: '150%', maxUnavailable: 1, unhealthyPodEvictionPolicy: 'Never' };
  const errs = podDisruptionBudgets.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec')?.detail, 'minAvailable and maxUnavailable cannot be both set');
  assert.equal(errs.find((e) => e.field === 'spec.minAvailable' && e.detail === 'must not be greater than 100%')?.type, 'FieldValueInvalid');
  assert.equal(errs.find((e) => e.field === 'spec.unhealthyPodEvictionPolicy')?.type, 'FieldValueNotSupported');
});

test('strategy: initial status has the four zero counters; generation bumps on spec change', () => {
  const o = mk();
  podDisruptionBudgets.strategy!.prepareForCreate!(o);
  assert.deepEqual(o.status, { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
  const n = structuredClone(o);
  (n.spec as { minAvailable: number }).minAvailable = 2;
  podDisruptionBudgets.strategy!.prepareForUpdate!(n, o);
  assert.equal(n.metadata.generation, 2);
});

test('columns: N/A for the unset bound', () => {
  const o = mk();
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  o.status = { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 };
  assert.deepEqual(podDisruptionBudgets.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:01Z'))), ['1', 'N/A', 1, '1s']);
  o.spec = { maxUnavailable: '25%' };
  assert.deepEqual(podDisruptionBudgets.columns.slice(0, 2).map((c) => c.cell(o, 0)), ['N/A', '25%']);
});
