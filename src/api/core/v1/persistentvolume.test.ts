import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PersistentVolume, PersistentVolumeSpec } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../meta/field-errors.ts';
import type { StoredObject } from '../../meta/types.ts';
import { persistentvolumes as pvs } from './persistentvolume.ts';

const pv = (spec: PersistentVolumeSpec, extra: Partial<PersistentVolume> = {}): StoredObject =>
  ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv1', resourceVersion: '1' }, spec, ...extra }) as StoredObject;
const good: PersistentVolumeSpec = { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } };

function validated(o: StoredObject): FieldError[] {
  pvs.defaults?.(o);
  return pvs.validate?.(o, { namespace: '' }) ?? [];
}

describe('persistentvolumes', () => {
  it('defaults reclaim policy and volume mode', () => {
    const o = pv({ ...good });
    pvs.defaults?.(o);
    const s = (o as unknown as PersistentVolume).spec;
    assert.equal(s?.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(s?.volumeMode, 'Filesystem');
  });

  it('validates access modes, capacity and the volume source', () => {
    assert.deepEqual(validated(pv({ ...good })), []);
    const errs = validated(pv({ capacity: { storage: '0' }, accessModes: ['ReadSometimes'] }));
    assert.equal(errs.find((e) => e.field === 'spec.accessModes')?.type, 'FieldValueNotSupported');
    assert.equal(errs.find((e) => e.field === 'spec.capacity[storage]')?.detail, 'must be greater than zero');
    assert.equal(errs.find((e) => e.field === 'spec')?.detail, 'must specify a volume type');
    const two = validated(pv({ ...good, nfs: { server: 'nfs', path: '/x' } }));
    assert.equal(two.find((e) => e.field === 'spec.nfs')?.detail, 'may not specify more than 1 volume type');
    const noModes = validated(pv({ capacity: { storage: '1Gi' }, hostPath: { path: '/x' } }));
    assert.equal(noModes.find((e) => e.field === 'spec.accessModes')?.type, 'FieldValueRequired');
  });

  it('keeps the volume source immutable', () => {
    const old = pv({ ...good });
    const errs = pvs.validateUpdate?.(pv({ ...good, hostPath: { path: '/other' } }), old, { namespace: '' }) ?? [];
    assert.equal(errs[0]?.field, 'spec.persistentvolumesource');
  });

  it('create sets Pending with a transition time; status update stamps phase changes', () => {
    const o = pv({ ...good }, { status: { phase: 'Bound' } });
    pvs.strategy?.prepareForCreate?.(o);
    const st = (o as unknown as PersistentVolume).status;
    assert.equal(st?.phase, 'Pending');
    assert.ok(st?.lastPhaseTransitionTime);
    const old = pv({ ...good }, { status: { phase: 'Pending', lastPhaseTransitionTime: '2020-01-01T00:00:00Z' } });
    const same = pv({}, { status: { phase: 'Pending' } });
    pvs.strategy?.prepareForStatusUpdate?.(same, old);
    assert.equal((same as unknown as PersistentVolume).status?.lastPhaseTransitionTime, '2020-01-01T00:00:00Z');
    assert.deepEqual((same as unknown as PersistentVolume).spec, good);
    const bound = pv({}, { status: { phase: 'Bound' } });
    pvs.strategy?.prepareForStatusUpdate?.(bound, old);
    assert.notEqual((bound as unknown as PersistentVolume).status?.lastPhaseTransitionTime, '2020-01-01T00:00:00Z');
  });

  it('prints the upstream columns', () => {
    const o = pv({ ...good, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], claimRef: { namespace: 'default', name: 'data' }, storageClassName: 'fast', persistentVolumeReclaimPolicy: 'Delete', volumeMode: 'Filesystem' }, { status: { phase: 'Bound' } });
    o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    const cells = pvs.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:05Z')));
    assert.deepEqual(cells, ['1Gi', 'RWO,RWX', 'Delete', 'Bound', 'default/data', 'fast', '<unset>', '', '5s', 'Filesystem']);
    o.metadata.deletionTimestamp = '2024-01-01T00:00:04Z';
    assert.equal(pvs.columns.find((c) => c.name === 'Status')?.cell(o, 0), 'Terminating');
  });
});
