import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newDefaultBinder } from './index.ts';
import { CycleState, newPodInfo, testHandle, testPod } from '../../framework/testing.ts';

describe('DefaultBinder', () => {
  it('binds through the handle and reports failures as Error', async () => {
    const h = testHandle([]);
    assert.equal(await newDefaultBinder(undefined, h).bind(new CycleState(), newPodInfo(testPod('p')), 'n1'), undefined);
    assert.deepEqual(h.writes, ['bind p n1']);
    const failing = { ...h, bindPod: async () => { throw new Error('pods "p" is already assigned'); } };
    const st = await newDefaultBinder(undefined, failing).bind(new CycleState(), newPodInfo(testPod('p')), 'n1');
    assert.equal(st?.code, 'Error');
    assert.equal(st?.message(), 'pods "p" is already assigned');
  });
});
