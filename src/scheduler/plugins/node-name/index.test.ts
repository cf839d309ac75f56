import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errReason, newNodeName } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, testNode, testPod } from '../../framework/testing.ts';

describe('NodeName', () => {
  it('only the named node fits', () => {
    const pl = newNodeName();
    const [a, b] = nodeInfos([testNode('foo'), testNode('bar')]);
    const pod = newPodInfo(testPod('p', { spec: { nodeName: 'foo' } }));
    assert.equal(pl.filter(new CycleState(), pod, a!), undefined);
    assert.equal(pl.filter(new CycleState(), pod, b!)?.message(), errReason);
    assert.equal(pl.filter(new CycleState(), newPodInfo(testPod('q')), b!), undefined);
  });
});
