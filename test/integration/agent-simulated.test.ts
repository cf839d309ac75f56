/**
 * The simulated runtime: one agent process registers 1,000 Ready nodes with cheap heartbeats, runs pods to
 * Running after the configured delay, and completes run-to-completion pods.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { waitFor } from '../../src/base/wait.ts';
import { nodes, pods } from '../../src/api/core/v1/index.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { startAgentCluster } from './agent-helpers.ts';

describe('simulated runtime', { timeout: 240_000 }, () => {
  let c: AgentCluster;

  before(async () => {
    c = await startAgentCluster({ runtime: 'simulated', nodes: 1000, nodeNamePrefix: 'sim-', simulatedStartDelayMs: 200, simulatedCompleteAfterMs: 1000 });
  });

  after(async () => {
    await c?.stop();
  });

  it('registers 1,000 Ready nodes', async () => {
    const list = await c.api.resource<Node>(nodes).list();
    const ready = list.items.filter((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    assert.equal(ready.length, 1000);
    const r = await c.kubectl(['get', 'nodes', '--no-headers']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1000);
    assert.ok(lines.every((l) => /^sim-\d+\s+Ready\s/.test(l)), lines.find((l) => !/Ready/.test(l)));
    const leases = await c.kubectl(['get', 'leases', '-n', 'kube-node-lease', '--no-headers']);
    assert.equal(leases.stdout.trim().split('\n').length, 1000);
    const n = list.items.find((x) => x.metadata?.name === 'sim-7');
    assert.equal(n?.status?.nodeInfo?.containerRuntimeVersion, 'simulated://0.1.0');
    assert.equal(n?.status?.capacity?.['pods'], '110');
  });

  it('runs pods to Running and completes Never pods', async () => {
    const client = c.api.resource<Pod>(pods);
    for (let i = 0; i < 20; i++) {
      await client.create({ metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { nodeName: `sim-${i * 37}`, containers: [{ name: 'c', image: 'nginx' }] } });
    }
    await client.create({ metadata: { name: 'job-pod', namespace: 'default' }, spec: { nodeName: 'sim-999', restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } });
    await waitFor(async () => {
      const l = await client.list({ namespace: 'default' });
      return l.items.filter((p) => p.metadata?.name?.startsWith('svc-') && p.status?.phase === 'Running' && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length === 20;
    }, { timeoutMs: 30_000, what: '20 Running pods' });
    const p = await client.get('svc-3', { namespace: 'default' });
    assert.match(p.status?.podIP ?? '', /^10\.\d+\.\d+\.\d+$/);
    assert.equal(p.status?.hostIP, '10.0.111.1');
    await waitFor(async () => (await client.get('job-pod', { namespace: 'default' })).status?.phase === 'Succeeded', { timeoutMs: 30_000, what: 'the Never pod to succeed' });
    const job = await client.get('job-pod', { namespace: 'default' });
    assert.equal(job.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    // Deleting a simulated pod completes like a real one: the agent removes the object.
    const d = await c.kubectl(['delete', 'pod', 'svc-0', '--timeout=20s']);
    assert.equal(d.code, 0, d.stderr);
    await waitFor(async () => (await c.kubectl(['get', 'pod', 'svc-0'])).code !== 0, { timeoutMs: 15_000, what: 'svc-0 gone' });
  });
});
