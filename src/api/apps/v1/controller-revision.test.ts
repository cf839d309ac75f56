import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { controllerRevisions } from './controller-revision.ts';

const ctx = { namespace: 'default' };
const mk = () => structuredClone(controllerRevisions.examples[0]) as StoredObject;

test('validate: example is valid; data required; revision non-negative', () => {
  assert.deepEqual(controllerRevisions.validate!(mk(), ctx), []);
  const o = mk();
  delete o.data;
  o.revision = -1;
  const errs = controllerRevisions.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'data')?.detail, 'data is mandatory');
  assert.equal(errs.find((e) => e.field === 'revision')?.type, 'FieldValueInvalid');
});

test('validateUpdate: data is immutable', () => {
  const old = mk();
  const o = mk();
  o.data = { other: true };
  assert.equal(controllerRevisions.validateUpdate!(o, old, ctx).find((e) => e.field === 'data')?.detail, 'field is immutable');
});

test('columns: controller as kind.group/name, revision, age', () => {
  const o = mk();
  o.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }];
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  assert.deepEqual(controllerRevisions.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:05:00Z'))), ['statefulset.apps/db', 1, '5m']);
  assert.equal(controllerRevisions.columns[0]!.cell(mk(), 0), '<none>');
});
