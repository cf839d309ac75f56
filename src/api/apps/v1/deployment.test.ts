import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { deployments } from './deployment.ts';

function mk(over: Partial<Deployment['spec']> = {}): StoredObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      ...over,
    },
  } as StoredObject;
}

const spec = (o: StoredObject) => (o as unknown as Deployment).spec!;
const find = (errs: { field: string; type: string }[], field: string) => errs.find((e) => e.field === field);

test('defaults: replicas, RollingUpdate 25%/25%, revisionHistoryLimit, progressDeadlineSeconds', () => {
  const d = mk();
  deployments.defaults!(d);
  assert.equal(spec(d).replicas, 1);
  assert.deepEqual(spec(d).strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(spec(d).revisionHistoryLimit, 10);
  assert.equal(spec(d).progressDeadlineSeconds, 600);
  const again = structuredClone(d);
  deployments.defaults!(again);
  assert.deepEqual(again, d);
});

test('defaults: Recreate gets no rollingUpdate; explicit values are kept', () => {
  const d = mk({ replicas: 0, strategy: { type: 'Recreate' } });
  deployments.defaults!(d);
  assert.equal(spec(d).replicas, 0);
  assert.deepEqual(spec(d).strategy, { type: 'Recreate' });
});

test('the example validates', () => {
  for (const ex of deployments.examples) {
    const o = structuredClone(ex) as StoredObject;
    deployments.defaults!(o);
    assert.deepEqual(deployments.validate!(o, { namespace: 'default' }), []);
  }
});

test('validate: selector required, must match the template labels, must not be empty', () => {
  const noSel = mk({ selector: undefined as never });
  deployments.defaults!(noSel);
  assert.equal(find(deployments.validate!(noSel, { namespace: 'default' }), 'spec.selector')?.type, 'FieldValueRequired');

  const mismatch = mk({ selector: { matchLabels: { app: 'other' } } });
  deployments.defaults!(mismatch);
  const e = find(deployments.validate!(mismatch, { namespace: 'default' }), 'spec.template.metadata.labels');
  assert.equal(e?.type, 'FieldValueInvalid');
  assert.match(String((e as { detail?: string }).detail), /`selector` does not match template `labels`/);

  const empty = mk({ selector: {} });
  deployments.defaults!(empty);
  const ee = deployments.validate!(empty, { namespace: 'default' }).find((x) => x.field === 'spec.selector');
  assert.equal(ee?.detail, 'empty selector is invalid for deployment');
});

test('validate: bad selector operator is reported at its path', () => {
  const d = mk({ selector: { matchExpressions: [{ key: 'app', operator: 'Bogus' }] } });
  deployments.defaults!(d);
  const errs = deployments.validate!(d, { namespace: 'default' });
  assert.equal(find(errs, 'spec.selector.matchExpressions[0].operator')?.type, 'FieldValueInvalid');
});

test('validate: Recreate forbids rollingUpdate; unknown type is NotSupported', () => {
  const d = mk({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } });
  deployments.defaults!(d);
  assert.equal(find(deployments.validate!(d, { namespace: 'default' }), 'spec.strategy.rollingUpdate')?.type, 'FieldValueForbidden');
  const u = mk({ strategy: { type: 'Blue' } });
  deployments.defaults!(u);
  const e = find(deployments.validate!(u, { namespace: 'default' }), 'spec.strategy');
  assert.equal(e?.type, 'FieldValueNotSupported');
});

test('validate: maxUnavailable and maxSurge both 0, and over 100%', () => {
  const d = mk({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } });
  deployments.defaults!(d);
  const e = find(deployments.validate!(d, { namespace: 'default' }), 'spec.strategy.rollingUpdate.maxUnavailable');
  assert.equal((e as { detail?: string }).detail, 'may not be 0 when `maxSurge` is 0');
  const big = mk({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } } });
  deployments.defaults!(big);
  const b = deployments.validate!(big, { namespace: 'default' }).find((x) => x.detail === 'must not be greater than 100%');
  assert.equal(b?.field, 'spec.strategy.rollingUpdate.maxUnavailable');
});

test('validate: progressDeadlineSeconds must exceed minReadySeconds; activeDeadlineSeconds forbidden', () => {
  const d = mk({ minReadySeconds: 700 });
  deployments.defaults!(d);
  assert.equal(find(deployments.validate!(d, { namespace: 'default' }), 'spec.progressDeadlineSeconds')?.type, 'FieldValueInvalid');
  const a = mk();
  spec(a).template.spec!.activeDeadlineSeconds = 5;
  deployments.defaults!(a);
  assert.equal(find(deployments.validate!(a, { namespace: 'default' }), 'spec.template.spec.activeDeadlineSeconds')?.type, 'FieldValueForbidden');
});

test('validate: status counters cannot exceed status.replicas', () => {
  const d = mk();
  deployments.defaults!(d);
  (d as unknown as Deployment).status = { replicas: 1, readyReplicas: 2, availableReplicas: 1 };
  const e = find(deployments.validate!(d, { namespace: 'default' }), 'status.readyReplicas');
  assert.equal((e as { detail?: string }).detail, 'cannot be greater than status.replicas');
});

test('validateUpdate: collisionCount cannot be decremented', () => {
  const old = mk();
  (old as unknown as Deployment).status = { collisionCount: 3 };
  const d = mk();
  (d as unknown as Deployment).status = { collisionCount: 2 };
  const e = find(deployments.validateUpdate!(d, old, { namespace: 'default' }), 'status.collisionCount');
  assert.equal((e as { detail?: string }).detail, 'cannot be decremented');
});

test('strategy: create resets status and sets generation 1', () => {
  const d = mk();
  (d as unknown as Deployment).status = { replicas: 5 };
  deployments.strategy!.prepareForCreate!(d);
  assert.deepEqual(d.status, {});
  assert.equal(d.metadata.generation, 1);
});

test('strategy: update keeps status, bumps generation on spec or annotation change only', () => {
  const old = mk();
  (old.metadata as { generation?: number }).generation = 4;
  (old as unknown as Deployment).status = { replicas: 2 };
  const same = mk();
  (same.metadata as { generation?: number }).generation = 9;
  deployments.strategy!.prepareForUpdate!(same, old);
  assert.equal(same.metadata.generation, 4);
  assert.deepEqual(same.status, { replicas: 2 });

  const scaled = mk({ replicas: 3 });
  deployments.strategy!.prepareForUpdate!(scaled, old);
  assert.equal(scaled.metadata.generation, 5);

  const annotated = mk();
  annotated.metadata.annotations = { a: 'b' };
  deployments.strategy!.prepareForUpdate!(annotated, old);
  assert.equal(annotated.metadata.generation, 5);
});

test('strategy: status update keeps spec and labels', () => {
  const old = mk();
  old.metadata.labels = { x: 'y' };
  const d = mk({ replicas: 7 });
  d.metadata.labels = { changed: 'yes' };
  (d as unknown as Deployment).status = { replicas: 1 };
  deployments.strategy!.prepareForStatusUpdate!(d, old);
  assert.equal(spec(d).replicas, undefined);
  assert.deepEqual(d.metadata.labels, { x: 'y' });
  assert.deepEqual(d.status, { replicas: 1 });
});

test('columns: READY UP-TO-DATE AVAILABLE AGE and wide cells', () => {
  const d = mk({ replicas: 3, selector: { matchLabels: { app: 'web', tier: 'fe' } } });
  (d as unknown as Deployment).status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 1 };
  spec(d).template.spec!.containers.push({ name: 'side', image: 'busybox' });
  const now = Date.parse('2024-01-01T00:00:30Z');
  const cells = Object.fromEntries(deployments.columns.map((c) => [c.name, c.cell(d, now)]));
  assert.deepEqual(deployments.columns.map((c) => c.name), ['Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  assert.equal(cells.Ready, '2/3');
  assert.equal(cells['Up-to-date'], 3);
  assert.equal(cells.Available, 1);
  assert.equal(cells.Age, '30s');
  assert.equal(cells.Containers, 'c,side');
  assert.equal(cells.Images, 'nginx,busybox');
  assert.equal(cells.Selector, 'app=web,tier=fe');
  assert.deepEqual(deployments.columns.filter((c) => c.priority === 1).map((c) => c.name), ['Containers', 'Images', 'Selector']);
});

test('scale access reads and writes replicas and formats the selector', () => {
  const d = mk({ replicas: 4 });
  (d as unknown as Deployment).status = { replicas: 3 };
  const s = deployments.subresources!.scale!;
  assert.equal(s.specReplicas(d), 4);
  assert.equal(s.statusReplicas(d), 3);
  assert.equal(s.selector(d), 'app=web');
  s.setReplicas(d, 9);
  assert.equal(spec(d).replicas, 9);
});

test('validateUpdate: spec.selector is immutable', () => {
  const old = mk();
  old.metadata.resourceVersion = '3';
  const d = mk({ selector: { matchLabels: { app: 'web', extra: 'x' } } });
  d.metadata.resourceVersion = '3';
  const e = find(deployments.validateUpdate!(d, old, { namespace: 'default' }), 'spec.selector');
  assert.equal((e as { detail?: string }).detail, 'field is immutable');
  const same = mk();
  same.metadata.resourceVersion = '3';
  assert.equal(find(deployments.validateUpdate!(same, old, { namespace: 'default' }), 'spec.selector'), undefined);
});
