import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSelectorTerm } from 'kubernetes-types/core/v1.js';
import { errReasonEnforced, errReasonPod, newNodeAffinity } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, scoreNodes, testNode, testPod } from '../../framework/testing.ts';

describe('NodeAffinity', () => {
  const run = (spec: object, labels: Record<string, string>, args?: Record<string, unknown>): string | undefined => {
    const pl = newNodeAffinity(args);
    const state = new CycleState();
    const pi = newPodInfo(testPod('p', { spec: spec as never }));
    const [ni] = nodeInfos([testNode('node1', { labels })]);
    const pre = pl.preFilter(state, pi, [ni!]);
    if (pre.status?.code === 'Skip') return undefined;
    if (pre.status) return `prefilter: ${pre.status.message()}`;
    return pl.filter(state, pi, ni!)?.message();
  };
  const required = (...terms: NodeSelectorTerm[]): object => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });

  it('nodeSelector must match every label', () => {
    assert.equal(run({ nodeSelector: { foo: 'bar' } }, { foo: 'bar' }), undefined);
    assert.equal(run({ nodeSelector: { foo: 'bar' } }, { foo: 'baz' }), errReasonPod);
    assert.equal(run({ nodeSelector: { foo: 'bar', a: 'b' } }, { foo: 'bar' }), errReasonPod);
  });

  it('required terms: operators In, NotIn, Exists, DoesNotExist, Gt, Lt; terms ORed; expressions ANDed', () => {
    assert.equal(run(required({ matchExpressions: [{ key: 'foo', operator: 'In', values: ['value1', 'value2'] }] }), { foo: 'value2' }), undefined);
    assert.equal(run(required({ matchExpressions: [{ key: 'foo', operator: 'NotIn', values: ['bar'] }] }), { foo: 'bar' }), errReasonPod);
    assert.equal(run(required({ matchExpressions: [{ key: 'foo', operator: 'Exists' }] }), { foo: '' }), undefined);
    assert.equal(run(required({ matchExpressions: [{ key: 'foo', operator: 'DoesNotExist' }] }), { foo: 'x' }), errReasonPod);
    assert.equal(run(required({ matchExpressions: [{ key: 'kernel-version', operator: 'Gt', values: ['0204'] }] }), { 'kernel-version': '0206' }), undefined);
    assert.equal(run(required({ matchExpressions: [{ key: 'mem-type', operator: 'Lt', values: ['3'] }] }), { 'mem-type': '4' }), errReasonPod);
    assert.equal(run(required({ matchExpressions: [{ key: 'foo', operator: 'In', values: ['x'] }] }, { matchExpressions: [{ key: 'diffkey', operator: 'In', values: ['y'] }] }), { diffkey: 'y' }), undefined);
    assert.equal(run(required({ matchExpressions: [{ key: 'foo', operator: 'In', values: ['bar'] }, { key: 'GPU', operator: 'Exists' }] }), { foo: 'bar' }), errReasonPod);
    // An empty term list or an empty term matches nothing.
    assert.equal(run(required(), { foo: 'bar' }), errReasonPod);
    assert.equal(run(required({}), { foo: 'bar' }), errReasonPod);
    // matchFields on metadata.name.
    assert.equal(run(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }] }), {}), undefined);
    assert.equal(run(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node2'] }] }), {}), errReasonPod);
    assert.match(run(required({ matchExpressions: [{ key: 'foo', operator: 'Bogus', values: ['x'] }] }), {}) ?? '', /^prefilter: "Bogus" is not a valid node selector operator/);
  });

  it('addedAffinity from the profile is enforced first', () => {
    const args = { addedAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['foo'] }] }] } } };
    assert.equal(run({}, { zone: 'bar' }, args), errReasonEnforced);
    assert.equal(run({}, { zone: 'foo' }, args), undefined);
  });

  it('score sums matched preferred weights, normalised to 100', () => {
    const pod = testPod('p', { spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
      { weight: 2, preference: { matchExpressions: [{ key: 'foo', operator: 'In', values: ['bar'] }] } },
      { weight: 4, preference: { matchExpressions: [{ key: 'key', operator: 'In', values: ['value'] }] } },
      { weight: 5, preference: { matchExpressions: [{ key: 'foo', operator: 'In', values: ['bar'] }, { key: 'key', operator: 'In', values: ['value'] }, { key: 'az', operator: 'In', values: ['az1'] }] } },
    ] } } } });
    const infos = nodeInfos([testNode('machine1', { labels: { foo: 'bar' } }), testNode('machine2', { labels: { key: 'value' } }), testNode('machine5', { labels: { foo: 'bar', key: 'value', az: 'az1' } })]);
    assert.deepEqual(scoreNodes(newNodeAffinity(), pod, infos), { machine1: 18, machine2: 36, machine5: 100 });
  });
});
