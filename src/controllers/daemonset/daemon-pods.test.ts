import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { daemonPodTemplate, nodeShouldRunDaemonPod, pinToNode, targetNodeName } from './daemon-pods.ts';
import { computeDaemonSetStatus, desiredCounts, findUpdatedPodsOnNode } from './daemonset-controller.ts';

const ds = (spec: Partial<NonNullable<NonNullable<DaemonSet['spec']>['template']['spec']>> = {}, strategy?: NonNullable<DaemonSet['spec']>['updateStrategy']): DaemonSet => ({
  metadata: { name: 'agent', namespace: 'ns' },
  spec: { selector: { matchLabels: { app: 'a' } }, updateStrategy: strategy, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c' }], ...spec } } },
});
const node = (name: string, o: { labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints'] } = {}): Node => ({ metadata: { name, labels: o.labels }, spec: { taints: o.taints } });

describe('which nodes run a daemon pod', () => {
  it('node selector and required affinity (labels and metadata.name fields)', () => {
    assert.equal(nodeShouldRunDaemonPod(node('n1', { labels: { role: 'edge' } }), ds({ nodeSelector: { role: 'edge' } })).shouldRun, true);
    assert.deepEqual(nodeShouldRunDaemonPod(node('n1'), ds({ nodeSelector: { role: 'edge' } })), { shouldRun: false, shouldContinueRunning: false });
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt' as const, values: ['4'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In' as const, values: ['special'] }] }] } } };
    assert.equal(nodeShouldRunDaemonPod(node('n1', { labels: { cores: '8' } }), ds({ affinity })).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('n1', { labels: { cores: '2' } }), ds({ affinity })).shouldRun, false);
    assert.equal(nodeShouldRunDaemonPod(node('special'), ds({ affinity })).shouldRun, true);
  });
  it('taints: NoSchedule keeps running pods, NoExecute evicts, daemon tolerations cover node conditions', () => {
    assert.deepEqual(nodeShouldRunDaemonPod(node('n1', { taints: [{ key: 'x', effect: 'NoSchedule' }] }), ds()), { shouldRun: false, shouldContinueRunning: true });
    assert.deepEqual(nodeShouldRunDaemonPod(node('n1', { taints: [{ key: 'x', effect: 'NoExecute' }] }), ds()), { shouldRun: false, shouldContinueRunning: false });
    for (const key of ['node.kubernetes.io/unschedulable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure']) {
      assert.equal(nodeShouldRunDaemonPod(node('n1', { taints: [{ key, effect: 'NoSchedule' }] }), ds()).shouldRun, true, key);
    }
    assert.equal(nodeShouldRunDaemonPod(node('n1', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }), ds()).shouldRun, true);
    const net = node('n1', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] });
    assert.equal(nodeShouldRunDaemonPod(net, ds()).shouldRun, false);
    assert.equal(nodeShouldRunDaemonPod(net, ds({ hostNetwork: true })).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('n1', { taints: [{ key: 'x', value: 'y', effect: 'NoSchedule' }] }), ds({ tolerations: [{ key: 'x', operator: 'Equal', value: 'y' }] })).shouldRun, true);
  });
  it('pins pods by replacing the required node affinity, keeping the rest', () => {
    const a = pinToNode({ nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] }, podAffinity: {} }, 'n7');
    assert.deepEqual(a, { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [], requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }] } }, podAffinity: {} });
    assert.equal(targetNodeName({ spec: { containers: [], affinity: a } }), 'n7');
    assert.equal(targetNodeName({ spec: { containers: [], nodeName: 'n2', affinity: a } }), 'n2');
  });
  it('the pod template gets the revision hash and the generation label', () => {
    const d = ds();
    d.metadata!.annotations = { 'deprecated.daemonset.template.generation': '3' };
    const t = daemonPodTemplate(d, 'abc');
    assert.deepEqual(t.metadata?.labels, { app: 'a', 'pod-template-generation': '3', 'controller-revision-hash': 'abc' });
    assert.ok((t.spec?.tolerations ?? []).length >= 6);
  });
});

describe('rolling update arithmetic and status', () => {
  const pod = (name: string, nodeName: string, hash: string, ready = true): Pod => ({
    metadata: { name, labels: { 'controller-revision-hash': hash }, creationTimestamp: '2030-01-01T00:00:00Z' },
    spec: { nodeName, containers: [] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2030-01-01T00:00:00Z' }] },
  });
  it('scales maxUnavailable/maxSurge to the desired count, unavailable 1 when both are 0', () => {
    const nodes = [node('a'), node('b'), node('c'), node('d')];
    assert.deepEqual(desiredCounts(ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } }), nodes, new Map()), { maxSurge: 0, maxUnavailable: 2, desired: 4 });
    assert.deepEqual(desiredCounts(ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } }), nodes, new Map()), { maxSurge: 1, maxUnavailable: 0, desired: 4 });
    assert.deepEqual(desiredCounts(ds({}, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } }), nodes, new Map()), { maxSurge: 0, maxUnavailable: 1, desired: 4 });
  });
  it('finds the new and old pod of a node, refusing more than one of each', () => {
    assert.deepEqual(findUpdatedPodsOnNode([pod('x', 'a', 'new'), pod('y', 'a', 'old')], 'new', undefined)?.newPod?.metadata?.name, 'x');
    assert.equal(findUpdatedPodsOnNode([pod('x', 'a', 'old'), pod('y', 'a', 'old')], 'new', undefined), undefined);
  });
  it('counts desired, current, misscheduled, ready, updated, available', () => {
    const d = ds({ nodeSelector: { run: 'yes' } });
    const nodes = [node('a', { labels: { run: 'yes' } }), node('b', { labels: { run: 'yes' } }), node('c')];
    const byNode = new Map([['a', [pod('p1', 'a', 'h1')]], ['b', [pod('p2', 'b', 'h0', false)]], ['c', [pod('p3', 'c', 'h1')]]]);
    assert.deepEqual(computeDaemonSetStatus(d, nodes, byNode, { hash: 'h1', nowMs: Date.parse('2030-01-01T00:01:00Z') }), {
      desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1, numberUnavailable: 1,
    });
  });
});
