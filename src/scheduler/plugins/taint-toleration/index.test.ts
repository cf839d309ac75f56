import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newTaintToleration } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, scoreNodes, testNode, testPod } from '../../framework/testing.ts';

describe('TaintToleration', () => {
  const pl = newTaintToleration();
  const filter = (tolerations: object[], taints: object[]): string | undefined => {
    const [ni] = nodeInfos([testNode('n', { taints: taints as never })]);
    return pl.filter(new CycleState(), newPodInfo(testPod('p', { spec: { tolerations: tolerations as never } })), ni!)?.message();
  };

  it('filter: upstream cases', () => {
    assert.equal(filter([], [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }]), "node(s) had untolerated taint {dedicated: user1}");
    assert.equal(filter([{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }], [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }]), undefined);
    assert.equal(filter([{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }], [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }]), "node(s) had untolerated taint {dedicated: user1}");
    assert.equal(filter([{ key: 'foo', operator: 'Exists', effect: 'NoSchedule' }], [{ key: 'foo', value: 'bar', effect: 'NoSchedule' }]), undefined);
    assert.equal(filter([{ operator: 'Exists' }], [{ key: 'a', value: 'b', effect: 'NoExecute' }]), undefined);
    // PreferNoSchedule taints never block.
    assert.equal(filter([], [{ key: 'foo', value: 'bar', effect: 'PreferNoSchedule' }]), undefined);
    assert.equal(filter([{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }], [{ key: 'foo', value: 'bar', effect: 'NoSchedule' }]), 'node(s) had untolerated taint {foo: bar}');
  });

  it('score: the more intolerable PreferNoSchedule taints, the lower the score', () => {
    const pod = testPod('p', { spec: { tolerations: [{ key: 'cpu-type', operator: 'Equal', value: 'arm64', effect: 'PreferNoSchedule' }] } });
    const infos = nodeInfos([
      testNode('n1'),
      testNode('n2', { taints: [{ key: 'cpu-type', value: 'arm64', effect: 'PreferNoSchedule' }, { key: 'x', value: 'y', effect: 'PreferNoSchedule' }] }),
      testNode('n3', { taints: [{ key: 'a', value: 'b', effect: 'PreferNoSchedule' }, { key: 'c', value: 'd', effect: 'PreferNoSchedule' }] }),
    ]);
    assert.deepEqual(scoreNodes(pl, pod, infos), { n1: 100, n2: 50, n3: 0 });
  });
});
