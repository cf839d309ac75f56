/**
 * Controller-manager benchmark: a Deployment of N replicas to fully available, a rolling update of it, and its
 * deletion until every pod is gone, against a real `skiff server` with the controller manager in-process and the
 * test-only fake kubelet standing in for scheduler and nodes (replace with simulated nodes once they exist).
 * Prints a table; never asserts on time.
 *   node --import tsx bench/controllers/deployment-bench.ts [replicas=1000] [deployments=0 (K deployments x 10)]
 */
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { setLogSink } from '../../src/base/log.ts';
import { waitFor } from '../../src/base/wait.ts';
import { deployments as deployDef } from '../../src/api/apps/v1/deployment.ts';
import { pods as podsDef } from '../../src/api/core/v1/index.ts';
import { ApiClient, clientConfigFromKubeconfig, RestClient } from '../../src/client/index.ts';
import { startControllerManager } from '../../src/controllers/index.ts';
import { startServer } from '../../test/integration/helpers/cluster.ts';
import { startFakeKubelet } from '../../test/integration/controllers-fake-kubelet.ts';

const replicas = Number(process.argv[2] ?? 1000);
const manyDeployments = Number(process.argv[3] ?? 0);
setLogSink(null);
const server = await startServer();
const api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
const cm = await startControllerManager({ kubeconfig: server.kubeconfig, leaderElect: false });
const nodeNames = Array.from({ length: 100 }, (_, i) => `sim-${i}`);
const kubelet = await startFakeKubelet({ client: api, nodeNames });
await cm.waitUntilRunning();
const dc = api.resource<Deployment>(deployDef);
const pc = api.resource<Pod>(podsDef);
const rows: [string, string][] = [];

function deployment(name: string, n: number, image: string): Deployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: { replicas: n, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } } },
  };
}

async function rolledOut(name: string, n: number): Promise<boolean> {
  const d = await dc.get(name, { namespace: 'default' });
  const s = d.status ?? {};
  return (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === n && (s.availableReplicas ?? 0) === n && (s.replicas ?? 0) === n;
}

async function timed(label: string, fn: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await fn();
  rows.push([label, `${((performance.now() - t) / 1000).toFixed(2)} s`]);
}

try {
  await timed(`deployment of ${replicas} replicas to available`, async () => {
    await dc.create(deployment('big', replicas, 'nginx:1'));
    await waitFor(() => rolledOut('big', replicas), { timeoutMs: 600_000, intervalMs: 200 });
  });
  await timed(`rolling update of ${replicas} replicas`, async () => {
    await dc.patch('big', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, { type: 'merge', namespace: 'default' });
    await waitFor(() => rolledOut('big', replicas), { timeoutMs: 600_000, intervalMs: 200 });
  });
  await timed('delete until every pod is gone', async () => {
    await dc.delete('big', { namespace: 'default', propagationPolicy: 'Background' });
    await waitFor(async () => (await pc.list({ namespace: 'default', labelSelector: 'app=big', limit: 1 })).items.length === 0, { timeoutMs: 600_000, intervalMs: 200 });
  });
  if (manyDeployments > 0) {
    await timed(`${manyDeployments} deployments x 10 replicas created at once`, async () => {
      await Promise.all(Array.from({ length: manyDeployments }, (_, i) => dc.create(deployment(`many-${i}`, 10, 'nginx:1'))));
      await waitFor(async () => {
        const list = await dc.list({ namespace: 'default' });
        return list.items.filter((d) => d.metadata?.name?.startsWith('many-') && (d.status?.availableReplicas ?? 0) === 10).length === manyDeployments;
      }, { timeoutMs: 600_000, intervalMs: 500 });
    });
  }
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 5000));
  const cpu = process.cpuUsage(cpu0);
  rows.push(['idle CPU of manager + fake kubelet process (5 s)', `${((cpu.user + cpu.system) / 5e6 * 100).toFixed(1)} %`]);
} finally {
  await kubelet.stop();
  await cm.stop();
  api.close();
  await server.stop();
}
const w = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`${'step'.padEnd(w)}  time\n`);
for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
