import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newNodeResourcesFit } from './index.ts';
import { newNodeResourcesBalancedAllocation } from '../node-resources-balanced-allocation/index.ts';
import { CycleState, newPodInfo, nodeInfos, scoreNodes, testNode, testPod } from '../../framework/testing.ts';

describe('NodeResourcesFit', () => {
  const fit = newNodeResourcesFit();
  const filter = (pod: ReturnType<typeof testPod>, node: ReturnType<typeof testNode>, existing: ReturnType<typeof testPod>[] = []): string[] => {
    const [ni] = nodeInfos([node], existing.map((p) => ({ ...p, spec: { ...p.spec!, nodeName: node.metadata!.name } })));
    return fit.filter(new CycleState(), newPodInfo(pod), ni!)?.reasons ?? [];
  };
  const node = testNode('n', { cpu: '10m', memory: '20', pods: '32', extra: { 'example.com/aaa': '5' } });

  it('filter: upstream enoughRequests cases', () => {
    assert.deepEqual(filter(testPod('p'), node, [testPod('e', { requests: [{ cpu: '10m', memory: '20' }] })]), []);
    assert.deepEqual(filter(testPod('p', { requests: [{ cpu: '1m', memory: '1' }] }), node, [testPod('e', { requests: [{ cpu: '10m', memory: '20' }] })]), ['Insufficient cpu', 'Insufficient memory']);
    assert.deepEqual(filter(testPod('p', { requests: [{ cpu: '1m', memory: '1' }] }), node, [testPod('e', { requests: [{ cpu: '5m', memory: '5' }] })]), []);
    // Init containers count as the maximum, not the sum.
    const withInit = testPod('p', { requests: [{ cpu: '1m', memory: '1' }], spec: { initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '3m', memory: '1' } } }] } });
    assert.deepEqual(filter(withInit, node, [testPod('e', { requests: [{ cpu: '8m', memory: '19' }] })]), ['Insufficient cpu']);
    // Sidecars (restartable init containers) add to the containers.
    const sidecar = testPod('p', { requests: [{ cpu: '2m' }], spec: { initContainers: [{ name: 'i', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '2m' } } }] } });
    assert.deepEqual(filter(sidecar, node, [testPod('e', { requests: [{ cpu: '7m' }] })]), ['Insufficient cpu']);
    // Overhead counts.
    assert.deepEqual(filter(testPod('p', { requests: [{ cpu: '1m' }], spec: { overhead: { cpu: '3m' } } }), node, [testPod('e', { requests: [{ cpu: '7m' }] })]), ['Insufficient cpu']);
    assert.deepEqual(filter(testPod('p', { requests: [{ 'example.com/aaa': '10' }] }), node), ['Insufficient example.com/aaa']);
    assert.deepEqual(filter(testPod('p', { requests: [{ 'example.com/bbb': '1' }] }), node), ['Insufficient example.com/bbb']);
    assert.deepEqual(filter(testPod('p'), testNode('full', { pods: '1' }), [testPod('e')]), ['Too many pods']);
  });

  it('ignoredResources and ignoredResourceGroups skip extended resources', () => {
    const pl = newNodeResourcesFit({ ignoredResources: ['example.com/bbb'], ignoredResourceGroups: ['ignored.com'] });
    const [ni] = nodeInfos([node]);
    assert.equal(pl.filter(new CycleState(), newPodInfo(testPod('p', { requests: [{ 'example.com/bbb': '1', 'ignored.com/x': '2' }] })), ni!), undefined);
  });

  const twoNodes = (): ReturnType<typeof nodeInfos> => nodeInfos([testNode('node1', { cpu: '4000m', memory: '10000' }), testNode('node2', { cpu: '6000m', memory: '10000' })]);
  const requested = testPod('p', { requests: [{ cpu: '1000m', memory: '2000' }, { cpu: '2000m', memory: '3000' }] });

  it('LeastAllocated (default) scores the unused share', () => {
    assert.deepEqual(scoreNodes(fit, requested, twoNodes()), { node1: 37, node2: 50 });
    // No requests: the scoring defaults (100m, 200Mi) apply to CPU and memory.
    const big = nodeInfos([testNode('a', { cpu: '4', memory: '10Gi' })]);
    assert.deepEqual(scoreNodes(fit, testPod('p'), big), { a: Math.trunc((Math.trunc(3900 * 100 / 4000) + Math.trunc((10 * 1024 ** 3 - 200 * 1024 ** 2) * 100 / (10 * 1024 ** 3))) / 2) });
  });

  it('MostAllocated scores the used share', () => {
    const pl = newNodeResourcesFit({ scoringStrategy: { type: 'MostAllocated' } });
    assert.deepEqual(scoreNodes(pl, requested, twoNodes()), { node1: 62, node2: 50 });
  });

  it('RequestedToCapacityRatio follows the shape', () => {
    const pl = newNodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }] } } });
    // node1: cpu 75 % → 25, memory 50 % → 50 → round(37.5) = 38; node2: 50 and 50.
    assert.deepEqual(scoreNodes(pl, requested, twoNodes()), { node1: 38, node2: 50 });
  });

  it('BalancedAllocation favours equal fractions', () => {
    assert.deepEqual(scoreNodes(newNodeResourcesBalancedAllocation(), requested, twoNodes()), { node1: 87, node2: 100 });
  });
});
