import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerConfigError, defaultSchedulerConfiguration, parseSchedulerConfiguration } from './config.ts';

const head = 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n';
const errorsOf = (text: string): string[] => {
  try {
    parseSchedulerConfiguration(text);
  } catch (e) {
    assert.ok(e instanceof SchedulerConfigError);
    return e.errors;
  }
  return [];
};

describe('KubeSchedulerConfiguration', () => {
  it('defaults: one default-scheduler profile with upstream plugins and weights', () => {
    const c = defaultSchedulerConfiguration();
    assert.equal(c.profiles.length, 1);
    const p = c.profiles[0]!;
    assert.equal(p.schedulerName, 'default-scheduler');
    assert.deepEqual(p.plugins.filter.map((e) => e.name), ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity']);
    assert.deepEqual(p.plugins.score.map((e) => `${e.name}:${e.weight}`), ['TaintToleration:3', 'NodeAffinity:2', 'NodeResourcesFit:1', 'PodTopologySpread:2', 'InterPodAffinity:2', 'NodeResourcesBalancedAllocation:1']);
    assert.deepEqual(p.plugins.postFilter.map((e) => e.name), ['DefaultPreemption']);
    assert.deepEqual(p.plugins.bind.map((e) => e.name), ['DefaultBinder']);
    assert.equal(c.podInitialBackoffSeconds, 1);
    assert.equal(c.podMaxBackoffSeconds, 10);
    assert.equal(c.leaderElection.resourceName, 'kube-scheduler');
    assert.equal(c.leaderElection.resourceNamespace, 'kube-system');
  });

  it('enables, disables and reweights per extension point; several profiles', () => {
    const c = parseSchedulerConfiguration(head + [
      'profiles:',
      '- schedulerName: a',
      '  plugins:',
      '    score:',
      '      disabled: [{name: NodeResourcesBalancedAllocation}]',
      '      enabled: [{name: NodeAffinity, weight: 7}]',
      '    filter:',
      '      disabled: [{name: "*"}]',
      '      enabled: [{name: NodeName}]',
      '- schedulerName: b',
      '  plugins:',
      '    multiPoint:',
      '      disabled: [{name: PodTopologySpread}]',
    ].join('\n'));
    const [a, b] = c.profiles;
    assert.equal(a!.plugins.score.find((e) => e.name === 'NodeAffinity')?.weight, 7);
    assert.equal(a!.plugins.score.some((e) => e.name === 'NodeResourcesBalancedAllocation'), false);
    assert.deepEqual(a!.plugins.filter.map((e) => e.name), ['NodeName']);
    assert.equal(b!.schedulerName, 'b');
    assert.equal(b!.plugins.filter.some((e) => e.name === 'PodTopologySpread'), false);
    assert.equal(b!.plugins.preFilter.some((e) => e.name === 'PodTopologySpread'), false);
  });

  it('every problem names its field', () => {
    assert.deepEqual(errorsOf(head + 'percentageOfNodesToScore: 120\n'), ['percentageOfNodesToScore: Invalid value: 120: not in valid range [0-100]']);
    assert.deepEqual(errorsOf(head + 'profiles:\n- schedulerName: x\n- schedulerName: x\n'), ['profiles[1].schedulerName: Duplicate value: "x"']);
    assert.deepEqual(errorsOf(head + 'profiles:\n- schedulerName: x\n  plugins:\n    score:\n      enabled: [{name: Nope}]\n'), ['profiles[0].plugins.score.enabled[0].name: Invalid value: "Nope": plugin "Nope" does not exist']);
    assert.deepEqual(errorsOf(head + 'profiles:\n- plugins:\n    scor: {}\n'), ['unknown field "profiles[0].plugins.scor"']);
    assert.deepEqual(errorsOf(head + 'profiles:\n- pluginConfig:\n  - name: InterPodAffinity\n    args: {hardPodAffinityWeight: 101}\n'), ['profiles[0].pluginConfig[0].args.hardPodAffinityWeight: Invalid value: 101: not in valid range [0-100]']);
    assert.deepEqual(errorsOf(head + 'profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: Bogus}}\n'), ['profiles[0].pluginConfig[0].args.scoringStrategy.type: Unsupported value: "Bogus": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"']);
    assert.deepEqual(errorsOf(head + 'podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n'), ['podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to PodInitialBackoffSeconds']);
    assert.deepEqual(errorsOf(head + 'leaderElection:\n  leaseDuration: soon\n'), ['leaderElection.leaseDuration: Invalid value: "soon": must be a positive duration']);
    assert.deepEqual(errorsOf('apiVersion: v1\nkind: Pod\n'), ['no kind "Pod" is registered for version "v1" in scheme']);
    assert.match(errorsOf(head + 'profiles: [\n')[0] ?? '', /^line \d+: /);
  });
});
