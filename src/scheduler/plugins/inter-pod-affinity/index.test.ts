import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, PodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { errReasonAffinityRulesNotMatch, errReasonAntiAffinityRulesNotMatch, errReasonExistingAntiAffinityRulesNotMatch, newInterPodAffinity } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, scoreNodes, testHandle, testNode, testPod } from '../../framework/testing.ts';

const labels1 = { region: 'r1', zone: 'z11' };
const term = (key: string, values: string[], topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchExpressions: [{ key, operator: 'In', values }] }, topologyKey, ...extra });

function run(pod: Pod, existing: Pod[], nodeLabels: Record<string, string> = labels1): string | undefined {
  const infos = nodeInfos([testNode('node1', { labels: nodeLabels })], existing.map((e) => ({ ...e, spec: { ...e.spec!, nodeName: 'node1' } })));
  const pl = newInterPodAffinity(undefined, testHandle(infos, { namespaces: [{ metadata: { name: 'default', labels: { team: 'a' } } }, { metadata: { name: 'other', labels: { team: 'b' } } }] }));
  const state = new CycleState();
  const pi = newPodInfo(pod);
  if (pl.preFilter(state, pi, infos).status?.code === 'Skip') return 'skip';
  return pl.filter(state, pi, infos[0]!)?.message();
}

describe('InterPodAffinity filter', () => {
  const securityscan = testPod('e', { labels: { service: 'securityscan' } });

  it('no affinity and no existing anti-affinity: PreFilter skips', () => {
    assert.equal(run(testPod('p'), []), 'skip');
  });

  it('required affinity with In matching an existing pod in the topology', () => {
    const pod = testPod('p', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('service', ['securityscan', 'value2'], 'region')] } } } });
    assert.equal(run(pod, [securityscan]), undefined);
  });

  it('does not satisfy affinity because of a different namespace', () => {
    const pod = testPod('p', { labels: { service: 'x' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('service', ['securityscan'], 'region', { namespaces: ['DiffNameSpace'] })] } } } });
    assert.equal(run(pod, [securityscan]), errReasonAffinityRulesNotMatch);
  });

  it('namespaceSelector selects the namespaces by label', () => {
    const inOther = testPod('e', { namespace: 'other', labels: { service: 'securityscan' } });
    const pod = (team: string): Pod => testPod('p', { labels: { x: 'y' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('service', ['securityscan'], 'region', { namespaceSelector: { matchLabels: { team } } })] } } } });
    assert.equal(run(pod('b'), [inOther]), undefined);
    assert.equal(run(pod('a'), [inOther]), errReasonAffinityRulesNotMatch);
  });

  it('the first pod of a group with affinity to itself may schedule', () => {
    const pod = testPod('p', { labels: { service: 'securityscan' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('service', ['securityscan'], 'region')] } } } });
    assert.equal(run(pod, []), undefined);
    // …but not onto a node lacking the topology key.
    assert.equal(run(pod, [], {}), errReasonAffinityRulesNotMatch);
  });

  it('required anti-affinity against an existing pod', () => {
    const pod = testPod('p', { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('service', ['securityscan'], 'zone')] } } } });
    assert.equal(run(pod, [securityscan]), errReasonAntiAffinityRulesNotMatch);
    assert.equal(run(pod, [testPod('e', { labels: { service: 'other' } })]), undefined);
  });

  it("existing pods' anti-affinity against the incoming pod", () => {
    const existing = testPod('e', { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('security', ['S1'], 'zone')] } } } });
    assert.equal(run(testPod('p', { labels: { security: 'S1' } }), [existing]), errReasonExistingAntiAffinityRulesNotMatch);
    assert.equal(run(testPod('p', { labels: { security: 'S2' } }), [existing]), undefined);
  });
});

describe('InterPodAffinity score', () => {
  it('preferred affinity and anti-affinity weights by topology', () => {
    const nodes = [testNode('m1', { labels: { region: 'China' } }), testNode('m2', { labels: { region: 'India' } }), testNode('m3', { labels: { az: 'az1' } })];
    const existing = [testPod('e1', { labels: { security: 'S1' }, nodeName: 'm1' }), testPod('e2', { labels: { security: 'S2' }, nodeName: 'm2' })];
    const infos = nodeInfos(nodes, existing);
    const pl = newInterPodAffinity(undefined, testHandle(infos));
    const pod = testPod('p', { spec: { affinity: {
      podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term('security', ['S1'], 'region') }] },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term('security', ['S2'], 'region') }] },
    } } });
    assert.deepEqual(scoreNodes(pl, pod, infos), { m1: 100, m2: 0, m3: 50 });
  });
});
