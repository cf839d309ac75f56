import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PersistentVolumeClaim, PersistentVolumeClaimSpec } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { persistentvolumeclaims as pvcs } from './persistentvolumeclaim.ts';

const pvc = (spec: PersistentVolumeClaimSpec, extra: Partial<PersistentVolumeClaim> = {}): StoredObject =>
  ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default', resourceVersion: '1' }, spec, ...extra }) as StoredObject;
const good = (): PersistentVolumeClaimSpec => ({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });

describe('persistentvolumeclaims', () => {
  it('defaults volumeMode and starts Pending', () => {
    const o = pvc(good());
    pvcs.defaults?.(o);
    pvcs.strategy?.prepareForCreate?.(o);
    assert.equal((o as unknown as PersistentVolumeClaim).spec?.volumeMode, 'Filesystem');
    assert.deepEqual(o['status'], { phase: 'Pending' });
  });

  it('requires access modes and a positive storage request', () => {
    assert.deepEqual(pvcs.validate?.(pvc(good()), { namespace: 'default' }), []);
    const errs = pvcs.validate?.(pvc({}), { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.accessModes')?.detail, 'at least 1 access mode is required');
    assert.equal(errs.find((e) => e.field === 'spec.resources[storage]')?.type, 'FieldValueRequired');
    const zero = pvcs.validate?.(pvc({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '0' } } }), { namespace: 'default' }) ?? [];
    assert.equal(zero[0]?.detail, 'must be greater than zero');
  });

  it('keeps the spec immutable except binding and expansion of bound claims', () => {
    const old = pvc(good(), { status: { phase: 'Pending' } });
    const bind = pvc({ ...good(), volumeName: 'pv1' });
    assert.deepEqual(pvcs.validateUpdate?.(bind, old, { namespace: 'default' }), []);
    const grow = pvc({ ...good(), resources: { requests: { storage: '2Gi' } } });
    assert.equal((pvcs.validateUpdate?.(grow, old, { namespace: 'default' }) ?? [])[0]?.field, 'spec');
    const boundOld = pvc(good(), { status: { phase: 'Bound' } });
    assert.deepEqual(pvcs.validateUpdate?.(grow, boundOld, { namespace: 'default' }), []);
    const modes = pvc({ ...good(), accessModes: ['ReadWriteMany'] });
    const errs = pvcs.validateUpdate?.(modes, boundOld, { namespace: 'default' }) ?? [];
    assert.equal(errs[0]?.detail, 'spec is immutable after creation except resources.requests for bound claims');
  });

  it('prints bound and pending claims', () => {
    const bound = pvc({ ...good(), volumeName: 'pv1', storageClassName: 'standard', volumeMode: 'Filesystem' }, { status: { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] } });
    bound.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    const at = Date.parse('2024-01-01T00:01:00Z');
    assert.deepEqual(pvcs.columns.map((c) => c.cell(bound, at)), ['Bound', 'pv1', '1Gi', 'RWO', 'standard', '<unset>', '60s', 'Filesystem']);
    const pending = pvc(good(), { status: { phase: 'Pending' } });
    assert.deepEqual(pvcs.columns.slice(0, 4).map((c) => c.cell(pending, at)), ['Pending', '', '', '']);
  });
});
