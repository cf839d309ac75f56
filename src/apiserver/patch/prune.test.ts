import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pruneUnknownFields } from './prune.ts';

describe('pruneUnknownFields', () => {
  it('drops undeclared fields at every depth and keeps maps and declared fields', () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', bogus: 1,
      metadata: { name: 'p', labels: { 'any-key': 'v' }, annotations: { a: 'b' }, nope: true },
      spec: {
        containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '1', 'example.com/gpu': '2' } }, extra: { x: 1 } }],
        nodeSelector: { disk: 'ssd' },
        unknownSpec: 'x',
      },
    };
    pruneUnknownFields(pod, { group: '', version: 'v1', kind: 'Pod' });
    assert.deepEqual(pod, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'p', labels: { 'any-key': 'v' }, annotations: { a: 'b' } },
      spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '1', 'example.com/gpu': '2' } } }], nodeSelector: { disk: 'ssd' } },
    });
  });

  it('keeps free-form subtrees and objects of kinds without a schema', () => {
    const rev = { apiVersion: 'apps/v1', kind: 'ControllerRevision', revision: 1, data: { anything: { goes: [1, { deep: true }] } }, junk: 1 };
    pruneUnknownFields(rev, { group: 'apps', version: 'v1', kind: 'ControllerRevision' });
    assert.deepEqual(rev, { apiVersion: 'apps/v1', kind: 'ControllerRevision', revision: 1, data: { anything: { goes: [1, { deep: true }] } } });
    const widget = { apiVersion: 'example.com/v1', kind: 'Widget', spec: { whatever: 1 } };
    pruneUnknownFields(widget, { group: 'example.com', version: 'v1', kind: 'Widget' });
    assert.deepEqual(widget, { apiVersion: 'example.com/v1', kind: 'Widget', spec: { whatever: 1 } });
  });
});
