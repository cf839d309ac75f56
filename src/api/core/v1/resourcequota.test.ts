import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceQuota } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { resourcequotas } from './resourcequota.ts';

const rq = (extra: Partial<ResourceQuota>): StoredObject =>
  ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'default' }, ...extra }) as StoredObject;

describe('resourcequotas', () => {
  it('validates hard quantities and scopes', () => {
    assert.deepEqual(resourcequotas.validate?.(rq({ spec: { hard: { pods: '10', 'requests.cpu': '2' } } }), { namespace: 'default' }), []);
    const errs = resourcequotas.validate?.(rq({ spec: { hard: { pods: 'many', 'requests.memory': '-1' }, scopes: ['Sometimes'] } }), { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.hard[pods]')?.type, 'FieldValueInvalid');
    assert.equal(errs.find((e) => e.field === 'spec.hard[requests.memory]')?.detail, 'must be greater than or equal to 0');
    assert.equal(errs.find((e) => e.field === 'spec.scopes')?.detail, 'unsupported scope');
  });

  it('resets status on create and keeps spec on status update', () => {
    const o = rq({ spec: { hard: { pods: '1' } }, status: { used: { pods: '5' } } });
    resourcequotas.strategy?.prepareForCreate?.(o);
    assert.deepEqual(o['status'], {});
    const st = rq({ spec: {}, status: { hard: { pods: '1' } } });
    resourcequotas.strategy?.prepareForStatusUpdate?.(st, rq({ spec: { hard: { pods: '1' } } }));
    assert.deepEqual((st as unknown as ResourceQuota).spec, { hard: { pods: '1' } });
  });

  it('prints request and limit usage', () => {
    const o = rq({ status: { hard: { pods: '10', 'requests.cpu': '2', 'limits.memory': '4Gi' }, used: { pods: '3', 'limits.memory': '1Gi' } } });
    o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    const cells = resourcequotas.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:10Z')));
    assert.deepEqual(cells, ['10s', 'pods: 3/10, requests.cpu: 0/2', 'limits.memory: 1Gi/4Gi']);
  });
});
