/**
 * Scheduler throughput benchmark in the spirit of upstream's scheduler_perf: a real `skiff server`
 * (separate process), N Node objects (no agent: nodes are just API objects), the scheduler in this process,
 * and M pods created as fast as the API takes them. Prints pods/s from the first create to the last bind
 * and the p50/p99 of create→bound latency, per workload. Never asserts timings.
 *
 *   node --import tsx bench/scheduler/run.ts [--nodes 5000] [--pods 10000] [--workloads basic,spread,anti,preemption]
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { startServer } from '../../test/integration/helpers/cluster.ts';
import { clientFor, makeNode, makePod } from '../../test/integration/scheduler-helpers.ts';
import { startScheduler } from '../../src/scheduler/index.ts';
import { nodes, pods } from '../../src/api/core/v1/index.ts';
import { priorityClasses } from '../../src/api/scheduling/v1/priority-class.ts';
import { SharedInformer } from '../../src/client/index.ts';
import type { ApiClient } from '../../src/client/index.ts';
import { setLogSink } from '../../src/base/log.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] ?? def : def;
};
const numNodes = Number(arg('nodes', '5000'));
const numPods = Number(arg('pods', '10000'));
const workloads = arg('workloads', 'basic,spread,anti,preemption').split(',');
const createConcurrency = Number(arg('concurrency', '32'));

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++] as T);
  }));
}

function podFor(workload: string, i: number, ns: string): Pod {
  const base = makePod(`p-${i}`, { namespace: ns, cpu: '100m', memory: '100Mi', labels: { app: 'bench', color: `c${i % 10}` } });
  const spec = base.spec!;
  if (workload === 'spread') {
    spec.topologySpreadConstraints = [{ maxSkew: 5, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'bench' } } }];
  } else if (workload === 'anti') {
    base.metadata!.labels = { app: 'bench', color: `c${i}` };
    spec.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { color: `c${i}` } } }] } };
  } else if (workload === 'preemption') {
    spec.priorityClassName = 'bench-high';
    spec.priority = 1000;
    spec.containers[0]!.resources = { requests: { cpu: '900m', memory: '100Mi' } };
  }
  return base;
}

interface Row { workload: string; nodes: number; pods: number; seconds: number; podsPerSec: number; p50: number; p99: number }

async function runWorkload(api: ApiClient, kubeconfig: string, workload: string): Promise<Row> {
  const ns = `bench-${workload}`;
  await api.resource({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false }).create({ metadata: { name: ns } });
  const podClient = api.resource<Pod>(pods);
  const created = new Map<string, number>();
  const bound = new Map<string, number>();
  let done: () => void = () => undefined;
  const allBound = new Promise<void>((r) => (done = r));
  const inf = new SharedInformer<Pod>(podClient, { namespace: ns });
  inf.addEventHandler({
    onUpdate: (_o, p) => {
      const name = p.metadata?.name ?? '';
      if (p.spec?.nodeName && !bound.has(name) && created.has(name)) {
        bound.set(name, performance.now());
        if (bound.size === numPods) done();
      }
      // Play the kubelet for preemption victims: finish graceful deletions at once.
      if (p.metadata?.deletionTimestamp) podClient.delete(name, { namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    },
  });
  const ctl = new AbortController();
  inf.start(ctl.signal);
  await inf.waitForSync(ctl.signal);
  if (workload === 'preemption') {
    // Fill every node with a low-priority pod first (scheduled by the same scheduler), as upstream's init pods.
    await api.resource(priorityClasses).create({ metadata: { name: 'bench-low' }, value: 10 } as never).catch(() => undefined);
    await api.resource(priorityClasses).create({ metadata: { name: 'bench-high' }, value: 1000 } as never).catch(() => undefined);
    const init = Array.from({ length: numNodes }, (_, i) => {
      const p = makePod(`init-${i}`, { namespace: ns, cpu: '3500m', memory: '100Mi' });
      p.spec!.priorityClassName = 'bench-low';
      p.spec!.priority = 10;
      return p;
    });
    let initBound = 0;
    const initDone = new Promise<void>((r) => inf.addEventHandler({ onUpdate: (o, p) => { if (!o.spec?.nodeName && p.spec?.nodeName && p.metadata?.name?.startsWith('init-') && ++initBound === numNodes) r(); } }));
    await pool(init, createConcurrency, (p) => podClient.create(p));
    await initDone;
  }
  const list = Array.from({ length: numPods }, (_, i) => podFor(workload, i, ns));
  const t0 = performance.now();
  await pool(list, createConcurrency, async (p) => {
    const name = p.metadata!.name!;
    created.set(name, performance.now());
    await podClient.create(p);
  });
  const tCreated = performance.now();
  await Promise.race([allBound, new Promise((r) => setTimeout(r, 600_000))]);
  const t1 = performance.now();
  ctl.abort();
  await inf.stop();
  const lat = [...bound].map(([n, t]) => t - (created.get(n) ?? t)).sort((a, b) => a - b);
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] ?? NaN;
  void kubeconfig;
  process.stderr.write(`${workload}: created ${numPods} pods in ${((tCreated - t0) / 1000).toFixed(1)} s, bound ${bound.size}\n`);
  const seconds = (t1 - t0) / 1000;
  return { workload, nodes: numNodes, pods: bound.size, seconds, podsPerSec: bound.size / seconds, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  setLogSink(null);
  const rows: Row[] = [];
  for (const w of workloads) {
    const server = await startServer({ args: ['--max-requests-inflight', '2000'] });
    const api = clientFor(server.kubeconfig);
    try {
      const zones = 10;
      const nodeList: Node[] = Array.from({ length: numNodes }, (_, i) => makeNode(`node-${i}`, { cpu: '4', memory: '32Gi', pods: '110', labels: { 'topology.kubernetes.io/zone': `zone-${i % zones}` } }));
      await pool(nodeList, createConcurrency, (n) => api.resource<Node>(nodes).create(n));
      const sched = await startScheduler({ kubeconfig: server.kubeconfig, leaderElect: false, recordEvents: true });
      await new Promise((r) => setTimeout(r, 500));
      rows.push(await runWorkload(api, server.kubeconfig, w));
      await sched.stop();
    } finally {
      api.close();
      await server.stop();
    }
  }
  const out = ['| workload | nodes | pods | seconds | pods/s | p50 ms | p99 ms |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) out.push(`| ${r.workload} | ${r.nodes} | ${r.pods} | ${r.seconds.toFixed(1)} | ${r.podsPerSec.toFixed(0)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} |`);
  process.stdout.write(out.join('\n') + '\n');
}

await main();
