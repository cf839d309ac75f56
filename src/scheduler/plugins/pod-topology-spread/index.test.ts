import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { errReasonConstraintsNotMatch, errReasonNodeLabelNotMatch, newPodTopologySpread } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, scoreNodes, testHandle, testNode, testPod } from '../../framework/testing.ts';

const c = (maxSkew: number, topologyKey: string, when: 'DoNotSchedule' | 'ScheduleAnyway', extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew, topologyKey, whenUnsatisfiable: when, labelSelector: { matchExpressions: [{ key: 'foo', operator: 'Exists' }] }, ...extra,
});
const nodes = [
  testNode('node-a', { labels: { zone: 'zone1' } }), testNode('node-b', { labels: { zone: 'zone1' } }),
  testNode('node-x', { labels: { zone: 'zone2' } }), testNode('node-y', { labels: { zone: 'zone2' } }),
];
const foo = (name: string, node: string): Pod => testPod(name, { labels: { foo: '' }, nodeName: node });

function filterAll(pod: Pod, existing: Pod[], ns = nodes): Record<string, string> {
  const infos = nodeInfos(ns, existing);
  const pl = newPodTopologySpread(undefined, testHandle(infos));
  const state = new CycleState();
  const pi = newPodInfo(pod);
  pl.preFilter(state, pi, infos);
  return Object.fromEntries(infos.map((n) => [n.name, pl.filter(state, pi, n)?.message() ?? 'ok']));
}

describe('PodTopologySpread filter', () => {
  it('zone skew: pods go to the emptier zone', () => {
    const pod = testPod('p', { labels: { foo: '' }, spec: { topologySpreadConstraints: [c(1, 'zone', 'DoNotSchedule')] } });
    const r = filterAll(pod, [foo('p-a1', 'node-a'), foo('p-b1', 'node-b'), foo('p-x1', 'node-x')]);
    assert.deepEqual(r, { 'node-a': errReasonConstraintsNotMatch, 'node-b': errReasonConstraintsNotMatch, 'node-x': 'ok', 'node-y': 'ok' });
  });

  it('the incoming pod not matching its own selector does not count itself', () => {
    const pod = testPod('p', { labels: { bar: '' }, spec: { topologySpreadConstraints: [c(1, 'zone', 'DoNotSchedule')] } });
    const r = filterAll(pod, [foo('p-a1', 'node-a'), foo('p-b1', 'node-b'), foo('p-x1', 'node-x')]);
    assert.deepEqual(r, { 'node-a': 'ok', 'node-b': 'ok', 'node-x': 'ok', 'node-y': 'ok' });
  });

  it('nodes without the topology key are unresolvable', () => {
    const pod = testPod('p', { labels: { foo: '' }, spec: { topologySpreadConstraints: [c(1, 'zone', 'DoNotSchedule')] } });
    const r = filterAll(pod, [], [...nodes, testNode('node-nolabel')]);
    assert.equal(r['node-nolabel'], errReasonNodeLabelNotMatch);
  });

  it('minDomains: fewer domains than required means a global minimum of 0', () => {
    const pod = testPod('p', { labels: { foo: '' }, spec: { topologySpreadConstraints: [c(1, 'zone', 'DoNotSchedule', { minDomains: 3 })] } });
    const r = filterAll(pod, [foo('p-a1', 'node-a'), foo('p-x1', 'node-x')]);
    assert.deepEqual(Object.values(r), [errReasonConstraintsNotMatch, errReasonConstraintsNotMatch, errReasonConstraintsNotMatch, errReasonConstraintsNotMatch]);
  });

  it('nodeAffinityPolicy Honor ignores nodes the pod cannot go to when counting', () => {
    const spec = { nodeSelector: { zone: 'zone1' } };
    const honor = testPod('p', { labels: { foo: '' }, spec: { ...spec, topologySpreadConstraints: [c(1, 'kubernetes.io/hostname', 'DoNotSchedule')] } });
    const ignore = testPod('p', { labels: { foo: '' }, spec: { ...spec, topologySpreadConstraints: [c(1, 'kubernetes.io/hostname', 'DoNotSchedule', { nodeAffinityPolicy: 'Ignore' })] } });
    const existing = [foo('p-a1', 'node-a')];
    assert.equal(filterAll(honor, existing)['node-a'], errReasonConstraintsNotMatch);
    assert.equal(filterAll(honor, existing)['node-b'], 'ok');
    // Counting node-x and node-y (0 pods) too, node-b (0) still fits and node-a still does not.
    assert.equal(filterAll(ignore, existing)['node-b'], 'ok');
  });
});

describe('PodTopologySpread score', () => {
  it('hostname constraint: fewer matching pods scores higher', () => {
    const ns = [testNode('node-a'), testNode('node-b'), testNode('node-c')];
    const infos = nodeInfos(ns, [foo('a1', 'node-a'), foo('a2', 'node-a'), foo('b1', 'node-b')]);
    const pl = newPodTopologySpread(undefined, testHandle(infos));
    const pod = testPod('p', { labels: { foo: '' }, spec: { topologySpreadConstraints: [c(1, 'kubernetes.io/hostname', 'ScheduleAnyway')] } });
    // weight log(3+2): raw scores round(2w)=3, round(w)=2, 0 → 100·(3+0−s)/3.
    assert.deepEqual(scoreNodes(pl, pod, infos), { 'node-a': 0, 'node-b': 33, 'node-c': 100 });
  });

  it('no existing pods: every node scores 100', () => {
    const infos = nodeInfos(nodes);
    const pl = newPodTopologySpread(undefined, testHandle(infos));
    const pod = testPod('p', { labels: { foo: '' }, spec: { topologySpreadConstraints: [c(1, 'zone', 'ScheduleAnyway')] } });
    assert.deepEqual(Object.values(scoreNodes(pl, pod, infos)), [100, 100, 100, 100]);
  });
});
