/**
 * Node agent benchmarks (prints tables; never asserts on timings).
 *
 *   node --import tsx bench/agent/agent-bench.ts startup [--pods 200] [--rate 20]
 *     Pod startup latency on the process runtime: create → Running observed through a watch (the SLO's
 *     definition), p50/p90/p99/max for `--pods` pods created at `--rate` pods/s. Target p99 ≤ 300 ms.
 *     `--stages` adds where the time goes (p50/p99 of each stage: API write and watch delivery to the agent, the
 *     pod worker's sandbox, volumes, env, create, start, then status PATCH and watch delivery back);
 *     `--schedule` leaves spec.nodeName empty so that the server's scheduler binds each pod (in the `seen` stage);
 *     `--agent-cpu-prof DIR` and `--server-cpu-prof DIR` write the agent's and the server's CPU profiles there.
 *
 *   node --import tsx bench/agent/agent-bench.ts scale [--nodes 5000] [--pods 150000] [--concurrency 64]
 *                                   [--idle-seconds 10] [--timeout-seconds N] [--agent-heap-mib 8192]
 *     The simulated runtime: `--nodes` nodes heartbeating from one agent process (its own process, so that its
 *     CPU and memory are measured apart from the load driver's), then `--pods` pods bound round-robin and created
 *     as fast as `--concurrency` allows; reports pods/s to Running and the server's and agent's CPU time and RSS
 *     (current and peak, from /proc), with a progress line every 30 s. The issue's full size (5,000 nodes,
 *     150,000 pods) is the default: do not run it while others share the machine.
 *
 * Each run starts its own `skiff server` (the dist bundle; run `node scripts/bundle.mjs` first) on 127.0.0.1
 * port 0 and an in-process agent, and removes everything afterwards.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { setLogSink } from '../../src/base/log.ts';
import { pods } from '../../src/api/core/v1/index.ts';
import { ApiClient, RestClient, clientConfigFromKubeconfig } from '../../src/client/index.ts';
import { startServer } from '../../test/integration/helpers/cluster.ts';
import { stealMeter } from '../lib/cpu-steal.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    pods: { type: 'string' },
    rate: { type: 'string', default: '20' },
    nodes: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    'agent-cpu-prof': { type: 'string' },
    'server-cpu-prof': { type: 'string' },
    stages: { type: 'boolean', default: false },
    schedule: { type: 'boolean', default: false },
    'idle-seconds': { type: 'string', default: '10' },
    'timeout-seconds': { type: 'string' },
    'agent-heap-mib': { type: 'string', default: '8192' },
  },
});

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function procStats(pid: number): { cpuSeconds: number; rssMiB: number; peakRssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  return { cpuSeconds: ticks / 100, rssMiB: Number(rss?.[1] ?? 0) / 1024, peakRssMiB: Number(hwm?.[1] ?? 0) / 1024 };
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

/** The server under test; with --server-cpu-prof it writes a CPU profile when it exits. */
function startBenchServer(): ReturnType<typeof startServer> {
  const dir = values['server-cpu-prof'];
  if (!dir) return startServer();
  const preload = join(import.meta.dirname, 'cpu-profile-preload.mjs');
  return startServer({ env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${preload}`, SKIFF_CPU_PROF_DIR: dir } });
}

async function startup(): Promise<void> {
  const count = Number(values.pods ?? 200);
  const rate = Number(values.rate);
  const server = await startBenchServer();
  const api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  const rootDir = mkdtempSync(join(tmpdir(), 'skiff-bench-agent-'));
  const stages: Record<string, number>[] = [];
  const agent = await spawnAgent((line) => {
    if (line.includes('"pod startup stages"')) stages.push(JSON.parse(line) as Record<string, number>);
  }, ['--kubeconfig', server.kubeconfig, '--node-name', 'bench-node', '--runtime', 'process', '--root-dir', rootDir, '--port', '0', '--kill-pods-on-exit']);
  await api.resource(await import('../../src/api/core/v1/index.ts').then((m) => m.namespaces)).create({ metadata: { name: 'bench' } });
  const abort = new AbortController();
  const running = watchRunning(api, abort.signal);
  await new Promise((r) => setTimeout(r, 300));
  const created = new Map<string, number>();
  const client = api.resource<Pod>(pods);
  const t0 = Date.now();
  const cpu0 = procStats(server.proc.pid!);
  const agentCpu0 = procStats(agent.pid);
  const probe = values.stages ? probeApiLatency(api, abort.signal) : [];
  const steal = stealMeter();
  const load0 = loadavg()[0]!;
  const creates: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = `p-${i}`;
    created.set(name, Date.now());
    creates.push(client.create({ metadata: { name, namespace: 'bench' }, spec: { ...(values.schedule ? {} : { nodeName: 'bench-node' }), terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'none', command: ['sleep', '3600'] }] } }));
  }
  await Promise.all(creates);
  const ok = await waitUntil(() => running.size >= count, 60_000);
  const cpu1 = procStats(server.proc.pid!);
  const agentCpu1 = procStats(agent.pid);
  const lat = [...created].filter(([n]) => running.has(n)).map(([n, t]) => running.get(n)! - t).sort((a, b) => a - b);
  process.stdout.write(`\npod startup latency, process runtime: ${count} pods at ${rate} pods/s${values.schedule ? ', bound by the scheduler' : ''}${ok ? '' : ` (only ${running.size} reached Running)`}\n`);
  table([
    ['p50', `${pct(lat, 50)} ms`], ['p90', `${pct(lat, 90)} ms`], ['p99', `${pct(lat, 99)} ms`], ['max', `${lat[lat.length - 1] ?? NaN} ms`],
    ['server CPU', `${(cpu1.cpuSeconds - cpu0.cpuSeconds).toFixed(1)} s`], ['server RSS', `${cpu1.rssMiB.toFixed(0)} MiB`],
    ['agent CPU', `${(agentCpu1.cpuSeconds - agentCpu0.cpuSeconds).toFixed(1)} s`], ['agent RSS', `${agentCpu1.rssMiB.toFixed(0)} MiB`],
    ['load average (1 min)', `${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`], ['CPU steal', `${steal().toFixed(1)} %`],
  ]);
  if (values.stages) {
    printStages(stages, created, running);
    const p = [...probe].sort((a, b) => a - b);
    table([['API GET (probe)', `p50 ${pct(p, 50)}  p99 ${pct(p, 99)} ms over ${p.length} requests`]]);
  }
  abort.abort();
  await client.deleteCollection({ namespace: 'bench' }).catch(() => undefined);
  await agent.stop();
  api.close();
  await server.stop();
  rmSync(rootDir, { recursive: true, force: true });
}

/** Times a GET of a small object every 100 ms: how long the API server makes any client wait meanwhile. */
function probeApiLatency(api: ApiClient, signal: AbortSignal): number[] {
  const out: number[] = [];
  void (async () => {
    const ns = api.resource(await import('../../src/api/core/v1/index.ts').then((m) => m.namespaces));
    while (!signal.aborted) {
      const t = Date.now();
      await ns.get('bench').catch(() => undefined);
      out.push(Date.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return out;
}

/**
 * Where a pod's startup time goes: each stage's duration from the previous one, p50 and p99 over the pods. `seen`
 * is the agent's watch delivery (create → pod worker), `watch` the status PATCH and the watch back to the bench.
 */
function printStages(stages: Record<string, number>[], created: Map<string, number>, running: Map<string, number>): void {
  const per = new Map<string, number[]>();
  const order: string[] = [];
  for (const st of stages) {
    const name = String(st['pod']).split('/')[1] ?? '';
    const t0 = created.get(name);
    const tRun = running.get(name);
    if (t0 === undefined || tRun === undefined) continue;
    const points: [string, number][] = [['seen', st['seenAt']!]];
    for (const [k, v] of Object.entries(st)) if (typeof v === 'number' && k !== 'seenAt' && k !== 'v') points.push([k, st['seenAt']! + v]);
    points.push(['watch', tRun]);
    let prev = t0;
    for (const [k, t] of points) {
      if (!per.has(k)) {
        per.set(k, []);
        order.push(k);
      }
      per.get(k)!.push(t - prev);
      prev = t;
    }
  }
  process.stdout.write(`\nstages (${stages.length} pods; ms since the previous stage)\n`);
  table(order.map((k) => {
    const v = per.get(k)!.sort((a, b) => a - b);
    return [k, `p50 ${pct(v, 50)}  p99 ${pct(v, 99)}`];
  }));
}

/** Starts the agent in its own process and waits until it reports that it runs; `onLine` gets its stdout lines. */
async function spawnAgent(onLine: (line: string) => void, args: string[], nodeArgs: string[] = []): Promise<{ pid: number; stop(): Promise<void> }> {
  const prof = [...nodeArgs, ...(values['agent-cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['agent-cpu-prof']] : [])];
  const env = values.stages ? { ...process.env, SKIFF_BENCH_STAGES: '1' } : process.env;
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(import.meta.dirname, 'agent-process.ts'), 'agent', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.includes('skiff agent running')) resolve();
        onLine(line);
      }
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
  const idleSeconds = Number(values['idle-seconds']);
  // Generous by default: the issue's full size runs for tens of minutes even on a quiet machine.
  const timeoutMs = Number(values['timeout-seconds'] ?? Math.max(600, count / 20)) * 1000;
  const server = await startBenchServer();
  const api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  const rootDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sim-'));
  const tReg = Date.now();
  const agent = await spawnAgent(() => undefined, [
    '--kubeconfig', server.kubeconfig, '--runtime', 'simulated', '--nodes', String(nodeCount), '--node-name-prefix', 'sim-',
    '--root-dir', rootDir, '--port', '0', '--simulated-start-delay', '0',
  ], [`--max-old-space-size=${Number(values['agent-heap-mib'])}`]);
  const regMs = Date.now() - tReg;
  const idle0 = procStats(server.proc.pid!);
  const idleAgent0 = procStats(agent.pid);
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idle1 = procStats(server.proc.pid!);
  const idleAgent1 = procStats(agent.pid);
  await api.resource(await import('../../src/api/core/v1/index.ts').then((m) => m.namespaces)).create({ metadata: { name: 'bench' } });
  const abort = new AbortController();
  const running = watchRunning(api, abort.signal);
  await new Promise((r) => setTimeout(r, 300));
  const client = api.resource<Pod>(pods);
  const cpu0 = procStats(server.proc.pid!);
  const agentCpu0 = procStats(agent.pid);
  const t0 = Date.now();
  let next = 0;
  let createdCount = 0;
  let failed = 0;
  const progress = setInterval(() => {
    const s = procStats(server.proc.pid!);
    process.stdout.write(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${createdCount} created, ${running.size} Running; server RSS ${s.rssMiB.toFixed(0)} MiB\n`);
  }, 30_000);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < count; i = next++) {
      try {
        await client.create({ metadata: { name: `p-${i}`, namespace: 'bench' }, spec: { nodeName: `sim-${i % nodeCount}`, containers: [{ name: 'c', image: 'nginx' }] } });
        createdCount++;
      } catch {
        failed++;
      }
    }
  }));
  const createdMs = Date.now() - t0;
  const ok = await waitUntil(() => running.size >= createdCount, timeoutMs);
  clearInterval(progress);
  const allMs = Date.now() - t0;
  const cpu1 = procStats(server.proc.pid!);
  const agentCpu1 = procStats(agent.pid);
  process.stdout.write(`\nsimulated runtime: ${nodeCount} nodes, ${count} pods${ok ? '' : ` (only ${running.size} reached Running)`}${failed ? ` (${failed} creates failed)` : ''}\n`);
  const pctCore = (a: number, b: number, ms: number): string => `${(((b - a) / (ms / 1000)) * 100).toFixed(0)} % of one core`;
  table([
    ['nodes registered in', `${(regMs / 1000).toFixed(1)} s`],
    [`idle heartbeats (${idleSeconds} s)`, `server CPU ${pctCore(idle0.cpuSeconds, idle1.cpuSeconds, idleSeconds * 1000)}, agent CPU ${pctCore(idleAgent0.cpuSeconds, idleAgent1.cpuSeconds, idleSeconds * 1000)}`],
    ['pods created in', `${(createdMs / 1000).toFixed(1)} s (${(createdCount / (createdMs / 1000)).toFixed(0)} pods/s)`],
    ['all Running after', `${(allMs / 1000).toFixed(1)} s (${(running.size / (allMs / 1000)).toFixed(0)} pods/s to Running)`],
    ['server CPU during pods', `${(cpu1.cpuSeconds - cpu0.cpuSeconds).toFixed(1)} s (${pctCore(cpu0.cpuSeconds, cpu1.cpuSeconds, allMs)})`],
    ['server RSS', `${cpu1.rssMiB.toFixed(0)} MiB (peak ${cpu1.peakRssMiB.toFixed(0)} MiB)`],
    ['agent CPU during pods', `${(agentCpu1.cpuSeconds - agentCpu0.cpuSeconds).toFixed(1)} s (${pctCore(agentCpu0.cpuSeconds, agentCpu1.cpuSeconds, allMs)})`],
    ['agent RSS', `${agentCpu1.rssMiB.toFixed(0)} MiB (peak ${agentCpu1.peakRssMiB.toFixed(0)} MiB)`],
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
