import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { daemonSets } from './daemon-set.ts';

const ctx = { namespace: 'kube-system' };
const mk = () => structuredClone(daemonSets.examples[0]) as StoredObject;
const ds = (o: StoredObject) => o as unknown as DaemonSet;

test('defaults: RollingUpdate maxUnavailable 1 maxSurge 0, revisionHistoryLimit 10; example validates', () => {
  const o = mk();
  daemonSets.defaults!(o);
  assert.deepEqual(ds(o).spec!.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(ds(o).spec!.revisionHistoryLimit, 10);
  assert.deepEqual(daemonSets.validate!(o, ctx), []);
});

test('validate: surge and unavailable both set / both zero', () => {
  const both = mk();
  ds(both).spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } };
  daemonSets.defaults!(both);
  assert.equal(daemonSets.validate!(both, ctx).find((e) => e.field === 'spec.updateStrategy.rollingUpdate.maxSurge')?.detail, 'may not be set when maxUnavailable is non-zero');
  const none = mk();
  ds(none).spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } };
  daemonSets.defaults!(none);
  const e = daemonSets.validate!(none, ctx).find((x) => x.field === 'spec.updateStrategy.rollingUpdate.maxUnavailable');
  assert.equal(e?.type, 'FieldValueRequired');
});

test('validate: selector must match template; unknown strategy NotSupported', () => {
  const o = mk();
  ds(o).spec!.selector = { matchLabels: { app: 'x' } };
  ds(o).spec!.updateStrategy = { type: 'Sometimes' };
  daemonSets.defaults!(o);
  const errs = daemonSets.validate!(o, ctx);
  assert.ok(errs.some((e) => e.field === 'spec.template.metadata.labels'));
  assert.equal(errs.find((e) => e.field === 'spec.updateStrategy')?.type, 'FieldValueNotSupported');
});

test('strategy: create status has the four counters; update bumps generation on spec change', () => {
  const o = mk();
  daemonSets.strategy!.prepareForCreate!(o);
  assert.deepEqual(o.status, { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 });
  const n = structuredClone(o);
  ds(n).spec!.template.spec!.containers[0]!.image = 'busybox:1.37';
  (n as { status?: unknown }).status = { numberReady: 5 };
  daemonSets.strategy!.prepareForUpdate!(n, o);
  assert.equal(n.metadata.generation, 2);
  assert.deepEqual(n.status, o.status);
});

test('columns: counters, node selector, age', () => {
  const o = mk();
  ds(o).spec!.template.spec!.nodeSelector = { 'kubernetes.io/os': 'linux', a: 'b' };
  (o as { status?: unknown }).status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 1, numberAvailable: 2 };
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  const cells = daemonSets.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:10Z')));
  assert.deepEqual(cells, [3, 3, 2, 1, 2, 'a=b,kubernetes.io/os=linux', '10s', 'agent', 'busybox:1.36', 'app=node-agent']);
  const empty = mk();
  assert.equal(daemonSets.columns.find((c) => c.name === 'Node Selector')!.cell(empty, 0), '<none>');
});
