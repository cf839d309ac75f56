import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newSchedulingGates } from './index.ts';
import { newPodInfo, testPod } from '../../framework/testing.ts';

describe('SchedulingGates', () => {
  it('holds pods with gates', () => {
    const pl = newSchedulingGates();
    assert.equal(pl.preEnqueue(newPodInfo(testPod('p'))), undefined);
    assert.equal(pl.preEnqueue(newPodInfo(testPod('p', { spec: { schedulingGates: [{ name: 'foo' }, { name: 'bar' }] } })))?.message(), 'waiting for scheduling gates: [foo bar]');
  });
});
