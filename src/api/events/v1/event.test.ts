import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { eventsV1 } from './event.ts';

const ctx = { namespace: 'default' };
const mk = () => structuredClone(eventsV1.examples[0]) as StoredObject;

test('example validates; strict events.k8s.io rules', () => {
  assert.deepEqual(eventsV1.validate!(mk(), ctx), []);
  const o = mk();
  delete o.eventTime;
  o.type = 'Info';
  o.deprecatedCount = 3;
  o.series = { count: 1, lastObservedTime: '2024-01-01T00:00:00.000000Z' };
  const errs = eventsV1.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'eventTime')?.type, 'FieldValueRequired');
  assert.equal(errs.find((e) => e.field === 'type')?.detail, 'has invalid value: Info');
  assert.equal(errs.find((e) => e.field === 'deprecatedCount')?.detail, 'needs to be unset');
  assert.equal(errs.find((e) => e.field === 'series.count')?.detail, 'should be at least 2');
});

test('reporting fields required when eventTime is set', () => {
  const o = mk();
  delete o.reportingController;
  delete o.action;
  o.reason = 'x'.repeat(129);
  const errs = eventsV1.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'reportingController')?.type, 'FieldValueRequired');
  assert.equal(errs.find((e) => e.field === 'action')?.type, 'FieldValueRequired');
  assert.equal(errs.find((e) => e.field === 'reason')?.detail, 'can have at most 128 characters');
});

test('validateUpdate: note and reason immutable, series may change', () => {
  const old = mk();
  old.metadata.resourceVersion = '1';
  const n = structuredClone(old);
  n.note = 'changed';
  assert.equal(eventsV1.validateUpdate!(n, old, ctx).find((e) => e.field === 'message')?.detail, 'field is immutable');
  const s = structuredClone(old);
  s.series = { count: 2, lastObservedTime: '2024-01-01T00:01:00.000000Z' };
  assert.deepEqual(eventsV1.validateUpdate!(s, old, ctx), []);
});

test('columns and field selectors', () => {
  const o = mk();
  const now = Date.parse('2024-01-01T00:00:30Z');
  assert.deepEqual(eventsV1.columns.map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
  assert.deepEqual(eventsV1.columns.map((c) => c.cell(o, now)), [
    '30s', 'Normal', 'Scheduled', 'pod/web', '', 'skiff.io/scheduler, skiff-scheduler-node-1', 'Successfully assigned default/web to node-1', '30s', 1, 'web.17c1a2b3c4d5e6f7',
  ]);
  o.series = { count: 4, lastObservedTime: '2024-01-01T00:00:20.000000Z' };
  assert.equal(eventsV1.columns[0]!.cell(o, now), '10s');
  assert.equal(eventsV1.columns[8]!.cell(o, now), 4);
  const fs = eventsV1.fieldSelectors!;
  assert.deepEqual([fs['involvedObject.name']!(o), fs.reason!(o), fs.source!(o), fs.type!(o)], ['web', 'Scheduled', 'skiff.io/scheduler', 'Normal']);
});
