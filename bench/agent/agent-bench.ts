/**
 * Node agent benchmarks (prints tables; never asserts on timings).
 *
 *   node --import tsx bench/agent/agent-bench.ts startup [--pods 200] [--rate 20]
 *     Pod startup latency on the process runtime: create → Running observed through a watch (the SLO's
 *     definition), p50/p90/p99/max for `--pods` pods created at `--rate` pods/s. Target p99 ≤ 300 ms.
 *
 *   node --import tsx bench/agent/agent-bench.ts scale [--nodes 5000] [--pods 150000] [--concurrency 64]
 *     The simulated runtime: `--nodes` nodes heartbeating from one agent process, then `--pods` pods bound
 *     round-robin and created as fast as `--concurrency` allows; reports pods/s to Running, and the server's
 *     CPU time and RSS (from /proc).
 *
 * Each run starts its own `skiff server` (the dist bundle; run `node scripts/bundle.mjs` first) on 127.0.0.1
 * port 0 and an in-process agent, and removes everything afterwards.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { setLogSink } from '../../src/base/log.ts';
import { pods } from '../../src/api/core/v1/index.ts';
import { ApiClient, RestClient, clientConfigFromKubeconfig } from '../../src/client/index.ts';
import { startAgent } from '../../src/agent/index.ts';
import { startServer } from '../../test/integration/helpers/cluster.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    pods: { type: 'string' },
    rate: { type: 'string', default: '20' },
    nodes: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
  },
});

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function procStats(pid: number): { cpuSeconds: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, rssMiB: Number(rss?.[1] ?? 0) / 1024 };
}

function table(rows: [string, string][]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}

/** Watches pods and resolves the time each one was first seen Running. */
function watchRunning(api: ApiClient, signal: AbortSignal): Map<string, number> {
  const seen = new Map<string, number>();
  void (async () => {
    const client = api.resource<Pod>(pods);
    const list = await client.list({ namespace: 'bench' });
    let rv = list.metadata.resourceVersion;
    while (!signal.aborted) {
      try {
        for await (const ev of client.watch({ namespace: 'bench', resourceVersion: rv, allowWatchBookmarks: true, signal })) {
          if (ev.type === 'ERROR') break;
          rv = ev.object.metadata?.resourceVersion ?? rv;
          const p = ev.object as Pod;
          if (p.status?.phase === 'Running' && !seen.has(p.metadata?.name ?? '')) seen.set(p.metadata?.name ?? '', Date.now());
        }
      } catch {
        if (signal.aborted) return;
      }
    }
  })();
  return seen;
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

async function startup(): Promise<void> {
  const count = Number(values.pods ?? 200);
  const rate = Number(values.rate);
  const server = await startServer();
  const api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  const rootDir = mkdtempSync(join(tmpdir(), 'skiff-bench-agent-'));
  const agent = await spawnAgent(['--kubeconfig', server.kubeconfig, '--node-name', 'bench-node', '--root-dir', rootDir, '--port', '0', '--kill-pods-on-exit']);
  await api.resource(await import('../../src/api/core/v1/index.ts').then((m) => m.namespaces)).create({ metadata: { name: 'bench' } });
  const abort = new AbortController();
  const running = watchRunning(api, abort.signal);
  await new Promise((r) => setTimeout(r, 300));
  const created = new Map<string, number>();
  const client = api.resource<Pod>(pods);
  const t0 = Date.now();
  const cpu0 = procStats(server.proc.pid!);
  const creates: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = `p-${i}`;
    created.set(name, Date.now());
    creates.push(client.create({ metadata: { name, namespace: 'bench' }, spec: { nodeName: 'bench-node', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'none', command: ['sleep', '3600'] }] } }));
  }
  await Promise.all(creates);
  const ok = await waitUntil(() => running.size >= count, 60_000);
  const cpu1 = procStats(server.proc.pid!);
  const lat = [...created].filter(([n]) => running.has(n)).map(([n, t]) => running.get(n)! - t).sort((a, b) => a - b);
  process.stdout.write(`\npod startup latency, process runtime: ${count} pods at ${rate} pods/s${ok ? '' : ` (only ${running.size} reached Running)`}\n`);
  table([
    ['p50', `${pct(lat, 50)} ms`], ['p90', `${pct(lat, 90)} ms`], ['p99', `${pct(lat, 99)} ms`], ['max', `${lat[lat.length - 1] ?? NaN} ms`],
    ['server CPU', `${(cpu1.cpuSeconds - cpu0.cpuSeconds).toFixed(1)} s`], ['server RSS', `${cpu1.rssMiB.toFixed(0)} MiB`],
  ]);
  abort.abort();
  await client.deleteCollection({ namespace: 'bench' }).catch(() => undefined);
  await agent.stop();
  api.close();
  await server.stop();
  rmSync(rootDir, { recursive: true, force: true });
}

/** Starts the agent in its own process and waits until it reports that it runs. */
async function spawnAgent(args: string[]): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'agent-process.ts'), 'agent', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('skiff agent running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

async function scale(): Promise<void> {
  const nodeCount = Number(values.nodes);
  const count = Number(values.pods ?? 150_000);
  const concurrency = Number(values.concurrency);
  const server = await startServer();
  const api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  const rootDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sim-'));
  const tReg = Date.now();
  const agent = await startAgent({ client: api, runtime: 'simulated', nodes: nodeCount, nodeNamePrefix: 'sim-', rootDir, streamingPort: 0 });
  const regMs = Date.now() - tReg;
  const idle0 = procStats(server.proc.pid!);
  await new Promise((r) => setTimeout(r, 10_000));
  const idle1 = procStats(server.proc.pid!);
  await api.resource(await import('../../src/api/core/v1/index.ts').then((m) => m.namespaces)).create({ metadata: { name: 'bench' } });
  const abort = new AbortController();
  const running = watchRunning(api, abort.signal);
  await new Promise((r) => setTimeout(r, 300));
  const client = api.resource<Pod>(pods);
  const cpu0 = procStats(server.proc.pid!);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < count; i = next++) {
      await client.create({ metadata: { name: `p-${i}`, namespace: 'bench' }, spec: { nodeName: `sim-${i % nodeCount}`, containers: [{ name: 'c', image: 'nginx' }] } });
    }
  }));
  const createdMs = Date.now() - t0;
  const ok = await waitUntil(() => running.size >= count, 600_000);
  const allMs = Date.now() - t0;
  const cpu1 = procStats(server.proc.pid!);
  process.stdout.write(`\nsimulated runtime: ${nodeCount} nodes, ${count} pods${ok ? '' : ` (only ${running.size} reached Running)`}\n`);
  table([
    ['nodes registered in', `${(regMs / 1000).toFixed(1)} s`],
    ['idle heartbeat load (10 s)', `server CPU ${(((idle1.cpuSeconds - idle0.cpuSeconds) / 10) * 100).toFixed(0)} %`],
    ['pods created in', `${(createdMs / 1000).toFixed(1)} s (${(count / (createdMs / 1000)).toFixed(0)} pods/s)`],
    ['all Running after', `${(allMs / 1000).toFixed(1)} s (${(running.size / (allMs / 1000)).toFixed(0)} pods/s to Running)`],
    ['server CPU during pods', `${(cpu1.cpuSeconds - cpu0.cpuSeconds).toFixed(1)} s (${(((cpu1.cpuSeconds - cpu0.cpuSeconds) / (allMs / 1000)) * 100).toFixed(0)} % of one core)`],
    ['server RSS', `${cpu1.rssMiB.toFixed(0)} MiB`],
    ['agent RSS', `${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB (driver and agent share this process)`],
  ]);
  abort.abort();
  await agent.stop();
  api.close();
  await server.stop();
  rmSync(rootDir, { recursive: true, force: true });
}

setLogSink(null);
const which = positionals[0] ?? 'startup';
if (which === 'startup') await startup();
else if (which === 'scale') await scale();
else {
  process.stderr.write(`unknown benchmark ${which}: use startup or scale\n`);
  process.exitCode = 2;
}
