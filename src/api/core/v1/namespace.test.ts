import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { namespaces } from './namespace.ts';

const ns = (name: string, extra: Partial<Namespace> = {}): StoredObject =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, resourceVersion: '1' }, ...extra }) as StoredObject;

describe('namespaces', () => {
  it('defaults the metadata.name label', () => {
    const o = ns('team-a');
    namespaces.defaults?.(o);
    assert.equal(o.metadata.labels?.['kubernetes.io/metadata.name'], 'team-a');
  });

  it('create sets phase Active and adds the kubernetes finalizer', () => {
    const o = ns('a', { status: { phase: 'Terminating' }, spec: { finalizers: ['example.com/x'] } });
    namespaces.strategy?.prepareForCreate?.(o);
    assert.deepEqual(o['status'], { phase: 'Active' });
    assert.deepEqual((o as unknown as Namespace).spec?.finalizers, ['example.com/x', 'kubernetes']);
    const plain = ns('b');
    namespaces.strategy?.prepareForCreate?.(plain);
    assert.deepEqual((plain as unknown as Namespace).spec?.finalizers, ['kubernetes']);
  });

  it('update keeps finalizers and status; status update keeps spec', () => {
    const old = ns('a', { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    const upd = ns('a', { spec: { finalizers: [] }, status: { phase: 'Terminating' } });
    namespaces.strategy?.prepareForUpdate?.(upd, old);
    assert.deepEqual((upd as unknown as Namespace).spec?.finalizers, ['kubernetes']);
    assert.equal((upd as unknown as Namespace).status?.phase, 'Active');
    const st = ns('a', { spec: {}, status: { phase: 'Terminating' } });
    namespaces.strategy?.prepareForStatusUpdate?.(st, old);
    assert.deepEqual((st as unknown as Namespace).spec?.finalizers, ['kubernetes']);
    assert.equal((st as unknown as Namespace).status?.phase, 'Terminating');
  });

  it('requires a DNS label name and qualified finalizers', () => {
    assert.deepEqual(namespaces.validate?.(ns('ok-name'), { namespace: '' }), []);
    const bad = namespaces.validate?.(ns('a.b'), { namespace: '' }) ?? [];
    assert.equal(bad.find((e) => e.field === 'metadata.name')?.type, 'FieldValueInvalid');
    const fin = namespaces.validate?.(ns('x', { spec: { finalizers: ['custom'] } }), { namespace: '' }) ?? [];
    assert.equal(fin.find((e) => e.field === 'spec.finalizers[0]')?.detail, 'name is neither a standard finalizer name nor is it fully qualified');
  });

  it('prints status and age; selects on status.phase', () => {
    const o = ns('a', { status: { phase: 'Active' } });
    o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    const now = Date.parse('2024-01-03T00:00:00Z');
    assert.deepEqual(namespaces.columns.map((c) => c.cell(o, now)), ['Active', '2d']);
    assert.equal(namespaces.fieldSelectors?.['status.phase']?.(o), 'Active');
    assert.equal(namespaces.namespaced, false);
  });
});
