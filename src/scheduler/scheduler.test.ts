import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { numFeasibleNodesToFind, selectHost } from './scheduler.ts';
import { fitErrorMessage } from './framework/fit-error.ts';
import { newStatus } from './framework/status.ts';
import { nodeInfos, testNode } from './framework/testing.ts';
import { SchedulerCache } from './cache/cache.ts';
import { newPodInfo } from './framework/node-info.ts';
import { testPod } from './framework/testing.ts';

describe('scheduler algorithm helpers', () => {
  it('numFeasibleNodesToFind: upstream cases', () => {
    assert.equal(numFeasibleNodesToFind(10, 0), 10);
    assert.equal(numFeasibleNodesToFind(10, 40), 10);
    assert.equal(numFeasibleNodesToFind(1000, 0), 420);
    assert.equal(numFeasibleNodesToFind(1000, 40), 400);
    assert.equal(numFeasibleNodesToFind(6000, 0), 300);
    assert.equal(numFeasibleNodesToFind(6000, 40), 2400);
    assert.equal(numFeasibleNodesToFind(150, 10), 100);
  });

  it('FitError message: counted reasons sorted as strings, PostFilter appended', () => {
    const m = new Map([
      ['n1', newStatus('UnschedulableAndUnresolvable', 'node(s) had untolerated taint {a: b}')],
      ['n2', newStatus('Unschedulable', 'Insufficient cpu')],
      ['n3', newStatus('Unschedulable', 'Insufficient cpu', 'Insufficient memory')],
    ]);
    assert.equal(fitErrorMessage(3, { nodeToStatus: m, postFilterMsg: 'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.' }),
      '0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {a: b}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..');
    assert.equal(fitErrorMessage(2, { nodeToStatus: m, preFilterMsg: 'waiting' }), '0/2 nodes are available: waiting.');
  });

  it('selectHost picks the highest total and breaks ties at random', () => {
    const infos = nodeInfos([testNode('a'), testNode('b'), testNode('c')]);
    assert.equal(selectHost(infos, [1, 5, 3]), 'b');
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(selectHost(infos, [7, 7, 1]));
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  it('cache: assume counts at once, forget undoes, the informer confirms', () => {
    const c = new SchedulerCache();
    c.addNode(testNode('n1', { labels: { 'topology.kubernetes.io/zone': 'z1' } }));
    c.addNode(testNode('n2', { labels: { 'topology.kubernetes.io/zone': 'z1' } }));
    c.addNode(testNode('n3', { labels: { 'topology.kubernetes.io/zone': 'z2' } }));
    assert.deepEqual(c.nodeList().map((n) => n.name), ['n1', 'n3', 'n2'], 'zone-interleaved');
    const pod = testPod('p', { requests: [{ cpu: '1' }], nodeName: 'n1' });
    c.assumePod(newPodInfo(pod));
    assert.equal(c.getNodeInfo('n1')?.requested.milliCPU, 1000);
    assert.equal(c.isAssumedPod(pod.metadata!.uid!), true);
    c.forgetPod(pod.metadata!.uid!);
    assert.equal(c.getNodeInfo('n1')?.requested.milliCPU, 0);
    c.assumePod(newPodInfo(pod));
    c.finishBinding(pod.metadata!.uid!);
    c.addPod(pod);
    assert.equal(c.isAssumedPod(pod.metadata!.uid!), false);
    assert.equal(c.getNodeInfo('n1')?.pods.length, 1);
    c.removePod(pod);
    assert.equal(c.getNodeInfo('n1')?.pods.length, 0);
  });
});
