import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Event } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { events } from './event.ts';

const now = Date.parse('2024-01-01T01:00:00Z');
const ev = (extra: Partial<Event>, namespace = 'default'): StoredObject =>
  ({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace }, involvedObject: {}, ...extra }) as StoredObject;
const cells = (o: StoredObject): Record<string, unknown> => Object.fromEntries(events.columns.map((c) => [c.name, c.cell(o, now)]));

describe('events', () => {
  it('requires the involved object namespace to match', () => {
    assert.deepEqual(events.validate?.(ev({ involvedObject: { kind: 'Pod', namespace: 'default', name: 'p' } }), { namespace: 'default' }), []);
    assert.deepEqual(events.validate?.(ev({ involvedObject: { kind: 'Node', name: 'n1' } }), { namespace: 'default' }), []);
    const errs = events.validate?.(ev({ involvedObject: { kind: 'Pod', namespace: 'other', name: 'p' } }), { namespace: 'default' }) ?? [];
    assert.deepEqual(errs.map((e) => [e.field, e.detail]), [['involvedObject.namespace', 'does not match event.namespace']]);
    const cluster = events.validate?.(ev({ involvedObject: { kind: 'Node', name: 'n1' } }, 'kube-system'), { namespace: 'kube-system' }) ?? [];
    assert.equal(cluster[0]?.field, 'involvedObject.namespace');
  });

  it('prints the upstream columns', () => {
    const o = ev({
      involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{app}' },
      type: 'Warning', reason: 'BackOff', message: ' Back-off restarting failed container \n',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: '2024-01-01T00:00:00Z', lastTimestamp: '2024-01-01T00:55:00Z', count: 12,
    });
    assert.deepEqual(cells(o), {
      'Last Seen': '5m', Type: 'Warning', Reason: 'BackOff', Object: 'pod/web', Subobject: 'spec.containers{app}',
      Source: 'kubelet, node-1', Message: 'Back-off restarting failed container', 'First Seen': '60m', Count: 12, Name: 'e1',
    });
  });

  it('falls back to eventTime, series and reporting fields', () => {
    const o = ev({
      involvedObject: { kind: 'Node' }, eventTime: '2024-01-01T00:59:00.000000Z', reportingComponent: 'sched',
      series: { count: 4, lastObservedTime: '2024-01-01T00:59:50.000000Z' },
    });
    const c = cells(o);
    assert.equal(c['First Seen'], '60s');
    assert.equal(c['Last Seen'], '10s');
    assert.equal(c['Count'], 4);
    assert.equal(c['Object'], 'node');
    assert.equal(c['Source'], 'sched');
    assert.equal(cells(ev({ firstTimestamp: '2024-01-01T00:59:00Z' }))['Count'], 1);
  });

  it('offers the upstream field selectors', () => {
    const o = ev({ involvedObject: { kind: 'Pod', name: 'web', uid: 'u1' }, reason: 'Started', type: 'Normal', reportingComponent: 'kubelet' });
    const fs = events.fieldSelectors ?? {};
    assert.equal(fs['involvedObject.name']?.(o), 'web');
    assert.equal(fs['involvedObject.uid']?.(o), 'u1');
    assert.equal(fs['source']?.(o), 'kubelet');
    assert.equal(fs['reason']?.(o), 'Started');
    assert.equal(Object.keys(fs).length, 11);
  });
});
