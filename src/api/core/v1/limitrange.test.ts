import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LimitRange, LimitRangeItem } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { limitranges } from './limitrange.ts';

const lr = (limits: LimitRangeItem[]): StoredObject =>
  ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l', namespace: 'default' }, spec: { limits } }) as StoredObject;

describe('limitranges', () => {
  it('defaults container default from max and defaultRequest from default', () => {
    const o = lr([{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' } }, { type: 'Pod', max: { cpu: '4' } }]);
    limitranges.defaults?.(o);
    const items = (o as unknown as LimitRange).spec?.limits ?? [];
    assert.deepEqual(items[0]?.default, { cpu: '2' });
    assert.deepEqual(items[0]?.defaultRequest, { cpu: '2', memory: '64Mi' });
    assert.equal(items[1]?.default, undefined);
  });

  it('checks min/max/default ordering', () => {
    const errs = limitranges.validate?.(lr([{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' }, default: { cpu: '3' } }]), { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.limits[0].min[cpu]')?.detail, 'min value 2 is greater than max value 1');
    assert.equal(errs.find((e) => e.field === 'spec.limits[0].default[cpu]' && e.detail?.startsWith('default value'))?.detail, 'default value 3 is greater than max value 1');
  });

  it('forbids defaults on Pod items and duplicate types', () => {
    const errs = limitranges.validate?.(lr([{ type: 'Pod', default: { cpu: '1' } }, { type: 'Pod' }]), { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.limits[0].default')?.type, 'FieldValueForbidden');
    assert.equal(errs.find((e) => e.field === 'spec.limits[1].type')?.type, 'FieldValueDuplicate');
  });

  it('prints Created At in RFC 3339', () => {
    const o = lr([]);
    o.metadata.creationTimestamp = '2024-03-04T05:06:07Z';
    assert.deepEqual(limitranges.columns.map((c) => [c.name, c.cell(o, 0)]), [['Created At', '2024-03-04T05:06:07Z']]);
    assert.deepEqual(limitranges.shortNames, ['limits']);
  });
});
