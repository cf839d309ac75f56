import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { errReason, newNodePorts } from './index.ts';
import { CycleState, newPodInfo, nodeInfos, testNode, testPod } from '../../framework/testing.ts';

const withPorts = (name: string, ports: [string, string, number][], nodeName?: string): Pod => {
  const p = testPod(name, { nodeName });
  p.spec!.containers[0]!.ports = ports.map(([protocol, hostIP, hostPort]) => ({ containerPort: 1, protocol, hostIP, hostPort }));
  return p;
};

describe('NodePorts', () => {
  const pl = newNodePorts();
  const run = (pod: Pod, existing: Pod[]): string | undefined => {
    const [ni] = nodeInfos([testNode('n')], existing.map((e) => ({ ...e, spec: { ...e.spec!, nodeName: 'n' } })));
    const state = new CycleState();
    const pi = newPodInfo(pod);
    if (pl.preFilter(state, pi, [ni!]).status?.code === 'Skip') return 'skip';
    return pl.filter(state, pi, ni!)?.message();
  };

  it('upstream cases', () => {
    assert.equal(run(testPod('nothing'), []), 'skip');
    assert.equal(run(withPorts('p', [['UDP', '127.0.0.1', 8080]]), [withPorts('e', [['UDP', '127.0.0.1', 9090]])]), undefined);
    assert.equal(run(withPorts('p', [['UDP', '127.0.0.1', 8080]]), [withPorts('e', [['UDP', '127.0.0.1', 8080]])]), errReason);
    assert.equal(run(withPorts('p', [['UDP', '127.0.0.1', 8080]]), [withPorts('e', [['TCP', '127.0.0.1', 8080]])]), undefined);
    assert.equal(run(withPorts('p', [['TCP', '127.0.0.1', 8001], ['UDP', '127.0.0.1', 8080]]), [withPorts('e', [['UDP', '127.0.0.1', 8080]])]), errReason);
    assert.equal(run(withPorts('p', [['TCP', '0.0.0.0', 8001]]), [withPorts('e', [['TCP', '127.0.0.1', 8001]])]), errReason);
    assert.equal(run(withPorts('p', [['TCP', '10.0.10.10', 8001]]), [withPorts('e', [['TCP', '0.0.0.0', 8001]])]), errReason);
    assert.equal(run(withPorts('p', [['TCP', '10.0.10.10', 8001]]), [withPorts('e', [['TCP', '127.0.0.1', 8001]])]), undefined);
  });
});
