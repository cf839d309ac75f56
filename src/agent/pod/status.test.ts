import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import { buildPodStatus, getPhase } from './status.ts';

const running = (name: string, ready = true): ContainerStatus => ({ name, image: 'x', imageID: '', ready, restartCount: 0, state: { running: { startedAt: '2024-01-01T00:00:00Z' } } });
const terminated = (name: string, exitCode: number): ContainerStatus => ({ name, image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } });
const crashLooping = (name: string): ContainerStatus => ({ name, image: 'x', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } });
const waiting = (name: string): ContainerStatus => ({ name, image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });

function pod(policy: 'Always' | 'OnFailure' | 'Never', containers: string[], inits: string[] = []): Pod {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'u' },
    spec: { restartPolicy: policy, containers: containers.map((name) => ({ name })), initContainers: inits.map((name) => ({ name })) },
  };
}

describe('getPhase', () => {
  it('is Pending while a container waits or an init container runs', () => {
    assert.equal(getPhase(pod('Always', ['a']), [], [waiting('a')], false), 'Pending');
    assert.equal(getPhase(pod('Always', ['a'], ['i']), [running('i')], [waiting('a')], false), 'Pending');
    assert.equal(getPhase(pod('Always', ['a']), [], [], false), 'Pending');
  });
  it('is Running when all started and one runs, and for restarting containers', () => {
    assert.equal(getPhase(pod('Always', ['a', 'b']), [], [running('a'), terminated('b', 0)], false), 'Running');
    assert.equal(getPhase(pod('Always', ['a']), [], [crashLooping('a')], false), 'Running');
    assert.equal(getPhase(pod('OnFailure', ['a']), [], [terminated('a', 1)], false), 'Running');
  });
  it('reaches Succeeded or Failed for run-to-completion pods', () => {
    assert.equal(getPhase(pod('Never', ['a', 'b']), [], [terminated('a', 0), terminated('b', 0)], false), 'Succeeded');
    assert.equal(getPhase(pod('Never', ['a', 'b']), [], [terminated('a', 0), terminated('b', 2)], false), 'Failed');
    assert.equal(getPhase(pod('OnFailure', ['a']), [], [terminated('a', 0)], false), 'Succeeded');
    assert.equal(getPhase(pod('Never', ['a'], ['i']), [terminated('i', 1)], [waiting('a')], false), 'Failed');
    assert.equal(getPhase(pod('Always', ['a']), [], [terminated('a', 137)], true), 'Failed');
  });
});

describe('buildPodStatus', () => {
  const inputs = { sandboxReady: true, hostIP: '10.0.0.1', podIP: '10.1.0.5', startTime: '2024-01-01T00:00:00Z', podIsTerminal: false, now: '2024-01-01T00:00:05Z' };
  it('reports unready containers with upstream reasons and keeps transition times', () => {
    const p = pod('Always', ['a', 'b']);
    const s = buildPodStatus(p, { ...inputs, initContainerStatuses: [], containerStatuses: [running('a'), running('b', false)] });
    assert.equal(s.phase, 'Running');
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ContainersNotReady');
    assert.equal(ready?.message, 'containers with unready status: [b]');
    assert.deepEqual(s.conditions?.map((c) => c.type), ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
    assert.deepEqual(s.podIPs, [{ ip: '10.1.0.5' }]);
    assert.equal(s.qosClass, 'BestEffort');
    const later = buildPodStatus({ ...p, status: s }, { ...inputs, now: '2024-01-01T00:01:00Z', initContainerStatuses: [], containerStatuses: [running('a'), running('b', false)] });
    assert.equal(later.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2024-01-01T00:00:05Z');
    const flipped = buildPodStatus({ ...p, status: s }, { ...inputs, now: '2024-01-01T00:02:00Z', initContainerStatuses: [], containerStatuses: [running('a'), running('b')] });
    assert.equal(flipped.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2024-01-01T00:02:00Z');
  });
  it('names incomplete init containers', () => {
    const s = buildPodStatus(pod('Always', ['a'], ['i1', 'i2']), { ...inputs, initContainerStatuses: [terminated('i1', 0), running('i2')], containerStatuses: [waiting('a')] });
    const init = s.conditions?.find((c) => c.type === 'Initialized');
    assert.equal(init?.status, 'False');
    assert.equal(init?.message, 'containers with incomplete status: [i2]');
  });
  it('keeps conditions owned by others and an existing PodScheduled', () => {
    const p: Pod = { ...pod('Always', ['a']), status: { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2023-01-01T00:00:00Z' }, { type: 'DisruptionTarget', status: 'True' }] } };
    const s = buildPodStatus(p, { ...inputs, initContainerStatuses: [], containerStatuses: [running('a')] });
    assert.equal(s.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, '2023-01-01T00:00:00Z');
    assert.ok(s.conditions?.some((c) => c.type === 'DisruptionTarget'));
  });
});
