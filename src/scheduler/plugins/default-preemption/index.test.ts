import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { filterPodsWithPDBViolation, pickOneNodeForPreemption, type Candidate } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, testFramework, testNode, testPod } from '../../framework/testing.ts';

describe('DefaultPreemption', () => {
  it('selectVictimsOnNode reprieves higher-priority pods first and evicts only what is needed', () => {
    const infos = nodeInfos([testNode('n1', { cpu: '1' })], [
      testPod('low1', { requests: [{ cpu: '300m' }], priority: 1, nodeName: 'n1' }),
      testPod('low2', { requests: [{ cpu: '300m' }], priority: 2, nodeName: 'n1' }),
      testPod('higher', { requests: [{ cpu: '100m' }], priority: 20, nodeName: 'n1' }),
    ]);
    const { fw } = testFramework(infos);
    const pl = fw.plugins.get('DefaultPreemption') as unknown as { selectVictimsOnNode: (s: CycleState, p: ReturnType<typeof newPodInfo>, n: (typeof infos)[0], pdbs: PodDisruptionBudget[]) => { victims: { metadata?: { name?: string } }[]; numPDBViolations: number } };
    const pod = newPodInfo(testPod('pre', { requests: [{ cpu: '600m' }], priority: 10 }));
    const state = new CycleState();
    fw.runPreFilterPlugins(state, pod, infos);
    const r = pl.selectVictimsOnNode(state, pod, infos[0]!.clone(), []);
    assert.deepEqual(r.victims.map((v) => v.metadata?.name), ['low1']);
    assert.equal(infos[0]!.pods.length, 3, 'the cached NodeInfo is untouched');
  });

  it('PDB-protected victims are reprieved first and counted as violations when evicted', () => {
    const pdb: PodDisruptionBudget = { metadata: { name: 'pdb', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 } };
    const pods = [newPodInfo(testPod('a', { labels: { app: 'db' } })), newPodInfo(testPod('b', { labels: { app: 'web' } })), newPodInfo(testPod('c'))];
    const { violating, nonViolating } = filterPodsWithPDBViolation(pods, [pdb]);
    assert.deepEqual(violating.map((p) => p.name), ['a']);
    assert.deepEqual(nonViolating.map((p) => p.name), ['b', 'c']);
    const allowed = filterPodsWithPDBViolation(pods, [{ ...pdb, status: { ...pdb.status!, disruptionsAllowed: 1 } }]);
    assert.equal(allowed.violating.length, 0);
  });

  it('pickOneNodeForPreemption applies the criteria in order', () => {
    const v = (name: string, priority: number, startTime = '2024-01-01T00:00:00Z'): ReturnType<typeof testPod> => testPod(name, { priority, startTime });
    const c = (name: string, victims: ReturnType<typeof testPod>[], numPDBViolations = 0): Candidate => ({ name, victims, numPDBViolations });
    assert.equal(pickOneNodeForPreemption([c('a', [v('x', 1)], 1), c('b', [v('y', 5)], 0)])?.name, 'b');
    assert.equal(pickOneNodeForPreemption([c('a', [v('x', 5)]), c('b', [v('y', 1)])])?.name, 'b');
    assert.equal(pickOneNodeForPreemption([c('a', [v('x', 5), v('x2', 1)]), c('b', [v('y', 5), v('y2', 0)])])?.name, 'b');
    assert.equal(pickOneNodeForPreemption([c('a', [v('x', 5), v('x2', 5)]), c('b', [v('y', 5), v('y2', 5), v('y3', -(2 ** 31))])])?.name, 'a');
    assert.equal(pickOneNodeForPreemption([c('a', [v('x', 5, '2024-01-01T00:00:00Z')]), c('b', [v('y', 5, '2024-06-01T00:00:00Z')])])?.name, 'b');
  });
});
