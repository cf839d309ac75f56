import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicationController, ReplicationControllerSpec } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../meta/field-errors.ts';
import type { StoredObject } from '../../meta/types.ts';
import { replicationcontrollers as rcs } from './replicationcontroller.ts';

const rc = (spec: ReplicationControllerSpec, extra: Partial<ReplicationController> = {}): StoredObject =>
  ({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'r', namespace: 'default' }, spec, ...extra }) as StoredObject;
const template = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } });

function validated(o: StoredObject): FieldError[] {
  rcs.defaults?.(o);
  return rcs.validate?.(o, { namespace: 'default' }) ?? [];
}

describe('replicationcontrollers', () => {
  it('defaults selector, labels and replicas from the template', () => {
    const o = rc({ template: template({ app: 'x' }) });
    rcs.defaults?.(o);
    const r = o as unknown as ReplicationController;
    assert.deepEqual(r.spec?.selector, { app: 'x' });
    assert.deepEqual(r.metadata?.labels, { app: 'x' });
    assert.equal(r.spec?.replicas, 1);
    assert.equal(r.spec?.template?.spec?.restartPolicy, 'Always');
  });

  it('requires the selector to match the template labels', () => {
    const errs = validated(rc({ selector: { app: 'y' }, template: template({ app: 'x' }) }));
    const e = errs.find((x) => x.field === 'spec.template.metadata.labels');
    assert.equal(e?.type, 'FieldValueInvalid');
    assert.equal(e?.detail, '`selector` does not match template `labels`');
    assert.deepEqual(validated(rc({ template: template({ app: 'x' }) })), []);
  });

  it('rejects negative replicas, missing template and non-Always restart policy', () => {
    const neg = validated(rc({ replicas: -1, selector: { a: 'b' }, template: template({ a: 'b' }) }));
    assert.equal(neg.find((e) => e.field === 'spec.replicas')?.type, 'FieldValueInvalid');
    assert.equal(validated(rc({ selector: { a: 'b' } })).find((e) => e.field === 'spec.template')?.type, 'FieldValueRequired');
    const t = template({ a: 'b' });
    const never = validated(rc({ selector: { a: 'b' }, template: { ...t, spec: { ...t.spec, restartPolicy: 'Never' } } }));
    assert.equal(never.find((e) => e.field === 'spec.template.spec.restartPolicy')?.type, 'FieldValueNotSupported');
  });

  it('bumps generation, resets status on create and keeps it on update', () => {
    assert.equal(rcs.strategy?.generation, true);
    const o = rc({ template: template({ a: 'b' }) }, { status: { replicas: 5 } });
    rcs.strategy?.prepareForCreate?.(o);
    assert.deepEqual(o['status'], { replicas: 0 });
    const upd = rc({ replicas: 3 }, { status: { replicas: 9 } });
    rcs.strategy?.prepareForUpdate?.(upd, rc({}, { status: { replicas: 2 } }));
    assert.deepEqual(upd['status'], { replicas: 2 });
    const st = rc({ replicas: 7 }, { status: { replicas: 1 } });
    rcs.strategy?.prepareForStatusUpdate?.(st, rc({ replicas: 3 }));
    assert.equal((st as unknown as ReplicationController).spec?.replicas, 3);
  });

  it('maps the scale subresource', () => {
    const o = rc({ replicas: 3, selector: { b: '2', a: '1' } }, { status: { replicas: 2 } });
    const scale = rcs.subresources?.scale;
    assert.equal(scale?.specReplicas(o), 3);
    assert.equal(scale?.statusReplicas(o), 2);
    assert.equal(scale?.selector(o), 'a=1,b=2');
    scale?.setReplicas(o, 5);
    assert.equal((o as unknown as ReplicationController).spec?.replicas, 5);
  });

  it('prints desired/current/ready and wide columns', () => {
    const o = rc({ replicas: 3, selector: { app: 'x' }, template: template({ app: 'x' }) }, { status: { replicas: 2, readyReplicas: 1 } });
    o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    const cells = rcs.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:45Z')));
    assert.deepEqual(cells, [3, 2, 1, '45s', 'c', 'nginx:1', 'app=x']);
    assert.equal(rcs.fieldSelectors?.['status.replicas']?.(o), '2');
  });
});
