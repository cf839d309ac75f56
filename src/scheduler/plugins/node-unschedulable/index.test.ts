import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errReasonUnschedulable, newNodeUnschedulable } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, testNode, testPod } from '../../framework/testing.ts';

describe('NodeUnschedulable', () => {
  const pl = newNodeUnschedulable();
  const run = (unschedulable: boolean, tolerations: object[] = []): string | undefined => {
    const [ni] = nodeInfos([testNode('n', { unschedulable })]);
    const st = pl.filter(new CycleState(), newPodInfo(testPod('p', { spec: { tolerations: tolerations as never } })), ni!);
    return st ? `${st.code}: ${st.message()}` : undefined;
  };
  it('rejects cordoned nodes unless the pod tolerates the unschedulable taint', () => {
    assert.equal(run(false), undefined);
    assert.equal(run(true), `UnschedulableAndUnresolvable: ${errReasonUnschedulable}`);
    assert.equal(run(true, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), undefined);
    assert.equal(run(true, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoExecute' }]), `UnschedulableAndUnresolvable: ${errReasonUnschedulable}`);
  });
});
