import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { statefulSets } from './stateful-set.ts';

const ctx = { namespace: 'default' };
function mk(): StoredObject {
  return structuredClone(statefulSets.examples[0]) as StoredObject;
}
const ss = (o: StoredObject) => o as unknown as StatefulSet;

test('defaults: OrderedReady, RollingUpdate partition 0, Retain/Retain, replicas 1, history 10', () => {
  const o = mk();
  delete ss(o).spec!.replicas;
  statefulSets.defaults!(o);
  const s = ss(o).spec!;
  assert.equal(s.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(s.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(s.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(s.replicas, 1);
  assert.equal(s.revisionHistoryLimit, 10);
  assert.deepEqual(statefulSets.validate!(o, ctx), []);
});

test('validate: policy enum, OnDelete with rollingUpdate, retention policy, empty selector', () => {
  const o = mk();
  statefulSets.defaults!(o);
  const s = ss(o).spec!;
  s.podManagementPolicy = 'Sometimes';
  s.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 1 } };
  s.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Keep', whenScaled: 'Retain' };
  s.selector = {};
  const errs = statefulSets.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'spec.podManagementPolicy')?.detail, "must be 'OrderedReady' or 'Parallel'");
  assert.equal(errs.find((e) => e.field === 'spec.updateStrategy.rollingUpdate')?.detail, "only allowed for updateStrategy 'RollingUpdate'");
  assert.equal(errs.find((e) => e.field === 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted')?.type, 'FieldValueNotSupported');
  assert.equal(errs.find((e) => e.field === 'spec.selector')?.detail, 'empty selector is invalid for statefulset');
});

test('validate: name must be a DNS label', () => {
  const o = mk();
  o.metadata.name = 'db.example';
  statefulSets.defaults!(o);
  assert.ok(statefulSets.validate!(o, ctx).some((e) => e.field === 'metadata.name'));
});

test('validateUpdate: only some spec fields may change', () => {
  const old = mk();
  old.metadata.resourceVersion = '7';
  statefulSets.defaults!(old);
  const ok = structuredClone(old);
  ss(ok).spec!.replicas = 5;
  ss(ok).spec!.template.spec!.containers[0]!.image = 'postgres:17';
  assert.deepEqual(statefulSets.validateUpdate!(ok, old, ctx), []);
  const bad = structuredClone(old);
  ss(bad).spec!.serviceName = 'other';
  const e = statefulSets.validateUpdate!(bad, old, ctx).find((x) => x.field === 'spec');
  assert.equal(e?.type, 'FieldValueForbidden');
});

test('strategy and columns', () => {
  const o = mk();
  statefulSets.strategy!.prepareForCreate!(o);
  assert.deepEqual(o.status, { replicas: 0, availableReplicas: 0 });
  (o as { status?: unknown }).status = { replicas: 1, readyReplicas: 1 };
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  const now = Date.parse('2024-01-03T00:00:00Z');
  assert.deepEqual(statefulSets.columns.map((c) => c.cell(o, now)), ['1/1', '2d', 'postgres', 'postgres:16']);
  assert.equal(statefulSets.subresources!.scale!.selector(o), 'app=db');
});
