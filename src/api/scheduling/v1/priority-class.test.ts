import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { builtinPriorityClasses, priorityClasses } from './priority-class.ts';

const ctx = { namespace: '' };
const mk = () => structuredClone(priorityClasses.examples[0]) as StoredObject;

test('built-in classes have upstream values and validate', () => {
  const byName = Object.fromEntries(builtinPriorityClasses.map((c) => [c.metadata!.name, c.value]));
  assert.deepEqual(byName, { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 });
  for (const c of builtinPriorityClasses) assert.deepEqual(priorityClasses.validate!(structuredClone(c) as StoredObject, ctx), []);
});

test('defaults preemptionPolicy; example validates; user value limit; reserved prefix', () => {
  const o = mk();
  priorityClasses.defaults!(o);
  assert.equal(o.preemptionPolicy, 'PreemptLowerPriority');
  assert.deepEqual(priorityClasses.validate!(o, ctx), []);
  o.value = 1_000_000_001;
  assert.equal(priorityClasses.validate!(o, ctx).find((e) => e.field === 'value')?.detail, 'maximum allowed value of a user defined priority is 1000000000');
  const sys = mk();
  sys.metadata.name = 'system-special';
  assert.equal(
    priorityClasses.validate!(sys, ctx).find((e) => e.field === 'metadata.name')?.detail,
    "priority class names with 'system-' prefix are reserved for system use only. error: system-special is not a known system priority class",
  );
  const wrong = structuredClone(builtinPriorityClasses[1]) as StoredObject;
  wrong.value = 5;
  assert.match(String(priorityClasses.validate!(wrong, ctx)[0]?.detail), /value of system-cluster-critical PriorityClass must be 2000000000$/);
  const pp = mk();
  pp.preemptionPolicy = 'Always';
  assert.equal(priorityClasses.validate!(pp, ctx).find((e) => e.field === 'preemptionPolicy')?.type, 'FieldValueNotSupported');
});

test('validateUpdate: value and preemptionPolicy immutable', () => {
  const old = mk();
  old.metadata.resourceVersion = '1';
  priorityClasses.defaults!(old);
  const n = structuredClone(old);
  n.value = 7;
  n.preemptionPolicy = 'Never';
  const errs = priorityClasses.validateUpdate!(n, old, ctx);
  assert.equal(errs.find((e) => e.field === 'value')?.detail, 'may not be changed in an update.');
  assert.equal(errs.find((e) => e.field === 'preemptionPolicy')?.detail, 'field is immutable');
});

test('columns', () => {
  const o = mk();
  priorityClasses.defaults!(o);
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  assert.deepEqual(priorityClasses.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:09Z'))), [1000000, false, '9s', 'PreemptLowerPriority']);
  assert.equal(priorityClasses.namespaced, false);
});
