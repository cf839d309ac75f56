import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { replicaSets } from './replica-set.ts';

const ctx = { namespace: 'default' };
function mk(labels: Record<string, string> = { app: 'a' }): StoredObject {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'rs', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
  } as StoredObject;
}
const rs = (o: StoredObject) => o as unknown as ReplicaSet;

test('defaults replicas to 1 and the example validates', () => {
  const o = mk();
  replicaSets.defaults!(o);
  assert.equal(rs(o).spec!.replicas, 1);
  assert.deepEqual(replicaSets.validate!(o, ctx), []);
  const ex = structuredClone(replicaSets.examples[0]) as StoredObject;
  replicaSets.defaults!(ex);
  assert.deepEqual(replicaSets.validate!(ex, ctx), []);
});

test('validate: selector mismatch, restartPolicy Always only, negative replicas', () => {
  const o = mk({ app: 'b' });
  rs(o).spec!.replicas = -1;
  rs(o).spec!.template!.spec!.restartPolicy = 'Never';
  replicaSets.defaults!(o);
  const errs = replicaSets.validate!(o, ctx);
  assert.ok(errs.some((e) => e.field === 'spec.template.metadata.labels' && e.detail === '`selector` does not match template `labels`'));
  assert.ok(errs.some((e) => e.field === 'spec.template.spec.restartPolicy' && e.type === 'FieldValueNotSupported'));
  assert.ok(errs.some((e) => e.field === 'spec.replicas' && e.type === 'FieldValueInvalid'));
});

test('validateUpdate: selector is immutable', () => {
  const old = mk();
  const o = mk();
  rs(o).spec!.selector = { matchLabels: { app: 'b' } };
  const e = replicaSets.validateUpdate!(o, old, ctx).find((x) => x.field === 'spec.selector');
  assert.equal(e?.detail, 'field is immutable');
});

test('strategy: create status {replicas: 0}, generation bumps only on spec change', () => {
  const o = mk();
  replicaSets.strategy!.prepareForCreate!(o);
  assert.deepEqual(o.status, { replicas: 0 });
  assert.equal(o.metadata.generation, 1);
  const n = mk();
  n.metadata.labels = { new: 'label' };
  replicaSets.strategy!.prepareForUpdate!(n, o);
  assert.equal(n.metadata.generation, 1);
  assert.deepEqual(n.status, { replicas: 0 });
  const s = mk();
  rs(s).spec!.replicas = 4;
  replicaSets.strategy!.prepareForUpdate!(s, o);
  assert.equal(s.metadata.generation, 2);
});

test('columns and field selector', () => {
  const o = mk();
  rs(o).spec!.replicas = 3;
  (o as { status?: unknown }).status = { replicas: 2, readyReplicas: 1 };
  const now = Date.parse('2024-01-01T01:00:00Z');
  assert.deepEqual(replicaSets.columns.map((c) => c.cell(o, now)), [3, 2, 1, '60m', 'c', 'i', 'app=a']);
  assert.equal(replicaSets.fieldSelectors!['status.replicas']!(o), '2');
});
