// API server benchmark: a real `skiff server` (SQLite engine) on 127.0.0.1 driven over keep-alive HTTP.
// Prints a table of measured numbers beside the targets of issues 3 and 4.
//   node --import tsx bench/apiserver/apiserver-bench.ts [--pods 10000] [--clients 64] [--watchers 100]
//     [--patch-ops 6400] [--apply-ops 6400]   (0 skips the strategic-merge / server-side apply rows)
import https from 'node:https';
import type http from 'node:http';
import { parse as parseYaml } from 'yaml';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FastConnection } from '../lib/fast-client.ts';

const args = process.argv.slice(2);
function arg(name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}
const PODS = arg('pods', 10_000);
// --node-client: Node's https.request for the load (heavier: its CPU comes out of the server's share of the 2 cores).
const NODE_CLIENT = args.includes('--node-client');
const CLIENTS = arg('clients', 64);
const WATCHERS = arg('watchers', 100);
const GET_SECONDS = arg('get-seconds', 5);
const WATCH_WRITES = arg('watch-writes', 3000);
const WATCH_RATE = arg('watch-rate', 1000);
const PATCH_OPS = arg('patch-ops', 6400);
const APPLY_OPS = arg('apply-ops', 6400);

const ROOT = resolve(import.meta.dirname, '..', '..');
let agent: https.Agent;
let tlsOpts: { ca: string; cert: string; key: string };

/** The admin client certificate and CA from the server's kubeconfig (the server speaks HTTPS with client certs). */
function loadTls(kubeconfig: string): void {
  const kc = parseYaml(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
  tlsOpts = {
    ca: b64(kc.clusters[0]!.cluster['certificate-authority-data']),
    cert: b64(kc.users[0]!.user['client-certificate-data']),
    key: b64(kc.users[0]!.user['client-key-data']),
  };
  agent = new https.Agent({ keepAlive: true, maxSockets: CLIENTS * 2 + WATCHERS + 10, ...tlsOpts });
}

function request(base: URL, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolveReq, reject) => {
    const req = https.request({ host: base.hostname, port: base.port, method, path, agent, headers: body ? { 'Content-Type': 'application/json', ...headers } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveReq({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const idle: FastConnection[] = [];

/** One request over a pooled lean keep-alive connection (bench/lib/fast-client.ts), or https.request with --node-client. */
async function call(base: URL, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  if (NODE_CLIENT) return request(base, method, path, body, headers);
  const c = idle.pop() ?? await FastConnection.open(base, tlsOpts);
  const r = await c.request(method, path, body, headers);
  idle.push(c);
  return { status: r.status, body: r.body.toString() };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function podBody(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `bench-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
    spec: { containers: [{ name: 'c', image: 'registry.local/app:1.0', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
  });
}

/** A Deployment with ten containers (five env vars and a port each); `gen` varies every container's image. */
function deploymentManifest(name: string, gen: number): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: Array.from({ length: 10 }, (_, c) => ({
            name: `c${c}`, image: `registry.local/app-${c}:${gen}`,
            ports: [{ containerPort: 8000 + c, protocol: 'TCP' }],
            env: Array.from({ length: 5 }, (_, e) => ({ name: `E${e}`, value: `${c}-${e}` })),
            resources: { requests: { cpu: '10m', memory: '16Mi' } },
          })),
        },
      },
    },
  };
}

/**
 * Runs `ops` writes, each client on its own Deployment (so the rate is the server's, not a retry storm on one object),
 * and returns the rate and the sorted latencies.
 */
async function writeRows(ops: number, op: (client: number, n: number) => Promise<{ status: number; body: string }>, ok: number): Promise<{ rate: number; lat: number[]; errors: number; sample: string }> {
  const lat: number[] = [];
  let errors = 0;
  let sample = '';
  const perClient = Math.ceil(ops / CLIENTS);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, w) => {
    for (let n = 0; n < perClient; n++) {
      const s = performance.now();
      const r = await op(w, n);
      lat.push(performance.now() - s);
      if (r.status !== ok) {
        errors++;
        sample ||= `${r.status} ${r.body.slice(0, 200)}`;
      }
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: lat.length / secs, lat, errors, sample };
}

async function runPool(total: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      await fn(i);
    }
  }));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  const t0 = performance.now();
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'skiff'), 'server', '--port', '0', '--data-dir', dataDir, '--no-agent', '--disable-controller-manager', '--disable-scheduler', '--max-requests-inflight', '10000'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    proc.once('exit', (code) => rej(new Error(`server exited ${code}`)));
  });
  const base = new URL(url);
  loadTls(join(dataDir, 'kubeconfig.yaml'));
  for (;;) {
    const r = await request(base, 'GET', '/readyz').catch(() => ({ status: 0, body: '' }));
    if (r.status === 200) break;
  }
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1500));
  const idleRss = rssMb(proc.pid!);
  const rows: [string, string, string][] = [];
  rows.push(['time from start to /readyz (process spawn included)', `${readyMs.toFixed(0)} ms`, '≤ 1 s']);
  rows.push(['RSS idle', `${idleRss.toFixed(0)} MB`, '≤ 100 MB (k3s ~535 MB)']);

  // Creates.
  const lat: number[] = [];
  let errors = 0;
  const c0 = performance.now();
  await runPool(PODS, CLIENTS, async (i) => {
    const s = performance.now();
    const r = await call(base, 'POST', '/api/v1/namespaces/default/pods', podBody(i));
    lat.push(performance.now() - s);
    if (r.status !== 201) errors++;
  });
  const createSecs = (performance.now() - c0) / 1000;
  lat.sort((a, b) => a - b);
  rows.push([`pod creates/s (${CLIENTS} clients, ${PODS} pods)`, `${(PODS / createSecs).toFixed(0)}/s${errors ? ` (${errors} errors)` : ''}`, '≥ 3,000/s']);
  rows.push(['pod create latency p50 / p99', `${pct(lat, 50).toFixed(1)} / ${pct(lat, 99).toFixed(1)} ms`, 'p99 ≤ 50 ms']);

  // GETs.
  let gets = 0;
  const g0 = performance.now();
  const gEnd = g0 + GET_SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async (_, w) => {
    let i = w;
    while (performance.now() < gEnd) {
      await call(base, 'GET', `/api/v1/namespaces/default/pods/bench-${i % PODS}`);
      gets++;
      i += CLIENTS;
    }
  }));
  rows.push([`single GETs/s (${CLIENTS} clients)`, `${(gets / ((performance.now() - g0) / 1000)).toFixed(0)}/s`, '≥ 15,000/s']);

  // LIST.
  const listTimes: number[] = [];
  const tableTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    let s = performance.now();
    const r = await request(base, 'GET', '/api/v1/namespaces/default/pods');
    listTimes.push(performance.now() - s);
    if (i === 0 && (JSON.parse(r.body) as { items: unknown[] }).items.length !== PODS) throw new Error('list is incomplete');
    s = performance.now();
    await request(base, 'GET', '/api/v1/namespaces/default/pods', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    tableTimes.push(performance.now() - s);
  }
  listTimes.sort((a, b) => a - b);
  tableTimes.sort((a, b) => a - b);
  rows.push([`LIST ${PODS} pods, JSON (median of 5)`, `${pct(listTimes, 50).toFixed(0)} ms`, '≤ 300 ms']);
  rows.push([`LIST ${PODS} pods, Table (median of 5)`, `${pct(tableTimes, 50).toFixed(0)} ms`, '≤ 300 ms']);
  rows.push([`RSS with ${PODS} pods`, `${rssMb(proc.pid!).toFixed(0)} MB`, '']);

  // Strategic-merge patches and server-side applies on Deployments with 10 containers (issue 4).
  if (PATCH_OPS > 0 || APPLY_OPS > 0) {
    const deployPath = '/apis/apps/v1/namespaces/default/deployments';
    await runPool(CLIENTS, CLIENTS, async (w) => {
      const r = await call(base, 'POST', deployPath, JSON.stringify(deploymentManifest(`smp-${w}`, 0)));
      if (r.status !== 201) throw new Error(`deployment create: ${r.status} ${r.body}`);
    });
    if (PATCH_OPS > 0) {
      // kubectl set image's shape: one container by merge key, plus an env var changed inside another.
      const r = await writeRows(PATCH_OPS, (w, n) => call(base, 'PATCH', `${deployPath}/smp-${w}`, JSON.stringify({
        spec: { template: { spec: { containers: [{ name: `c${n % 10}`, image: `registry.local/app-${n % 10}:p${n}` }, { name: `c${(n + 5) % 10}`, env: [{ name: 'E0', value: `v${n}` }] }] } } },
      }), { 'Content-Type': 'application/strategic-merge-patch+json' }), 200);
      rows.push([`strategic-merge patches/s (${CLIENTS} clients, Deployment with 10 containers)`, `${r.rate.toFixed(0)}/s${r.errors ? ` (${r.errors} errors: ${r.sample})` : ''}`, '']);
      rows.push(['strategic-merge patch latency p50 / p99', `${pct(r.lat, 50).toFixed(1)} / ${pct(r.lat, 99).toFixed(1)} ms`, 'p99 ≤ 50 ms']);
    }
    if (APPLY_OPS > 0) {
      // kubectl apply --server-side's shape: the whole manifest, JSON text, one field manager per client.
      const r = await writeRows(APPLY_OPS, (w, n) => call(base, 'PATCH', `${deployPath}/smp-${w}?fieldManager=bench-${w}&force=true`,
        JSON.stringify(deploymentManifest(`smp-${w}`, n + 1)), { 'Content-Type': 'application/apply-patch+yaml' }), 200);
      rows.push([`server-side applies/s (${CLIENTS} clients, Deployment with 10 containers)`, `${r.rate.toFixed(0)}/s${r.errors ? ` (${r.errors} errors: ${r.sample})` : ''}`, '']);
      rows.push(['server-side apply latency p50 / p99', `${pct(r.lat, 50).toFixed(1)} / ${pct(r.lat, 99).toFixed(1)} ms`, 'p99 ≤ 50 ms']);
    }
  }

  // Watch delivery: WATCHERS watchers on configmaps while writing WATCH_RATE/s.
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  const watchReqs: http.ClientRequest[] = [];
  let connected = 0;
  await new Promise<void>((ready) => {
    for (let w = 0; w < WATCHERS; w++) {
      const req = https.request({ host: base.hostname, port: base.port, path: '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0', agent: false, ...tlsOpts }, (res) => {
        // The load client shares the two cores with the server: find each event's name with indexOf rather than
        // splitting lines and matching a regular expression (100 watchers × 1,000 events/s).
        let tail = '';
        res.on('data', (c: Buffer) => {
          const now = performance.now();
          const text = tail + c.toString('latin1');
          let from = 0;
          for (;;) {
            const at = text.indexOf('"name":"wcm-', from);
            if (at < 0) break;
            const start = at + 8;
            const end = text.indexOf('"', start);
            if (end < 0) break;
            const sent = sentAt.get(text.slice(start, end));
            if (sent !== undefined) delays.push(now - sent);
            from = end;
          }
          tail = text.slice(Math.max(from, text.length - 40));
        });
        if (++connected === WATCHERS) ready();
      });
      req.on('error', () => undefined);
      req.end();
      watchReqs.push(req);
    }
  });
  const interval = 1000 / WATCH_RATE;
  const w0 = performance.now();
  let inflight: Promise<unknown>[] = [];
  for (let i = 0; i < WATCH_WRITES; i++) {
    const due = w0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const name = `wcm-${i}`;
    sentAt.set(name, performance.now());
    inflight.push(request(base, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name }, data: { i: String(i) } })));
    if (inflight.length > 200) {
      await Promise.all(inflight);
      inflight = [];
    }
  }
  await Promise.all(inflight);
  const writeRate = WATCH_WRITES / ((performance.now() - w0) / 1000);
  const deadline = performance.now() + 10_000;
  while (delays.length < WATCH_WRITES * WATCHERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const r of watchReqs) r.destroy();
  delays.sort((a, b) => a - b);
  rows.push([`watch delivery p50 / p99 (${WATCHERS} watchers, ${writeRate.toFixed(0)} writes/s)`, `${pct(delays, 50).toFixed(1)} / ${pct(delays, 99).toFixed(1)} ms (${delays.length}/${WATCH_WRITES * WATCHERS} events)`, 'p99 ≤ 50 ms']);

  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  agent.destroy();

  const w1 = Math.max(...rows.map((r) => r[0].length));
  const w2 = Math.max(...rows.map((r) => r[1].length));
  console.log(`| ${'measure'.padEnd(w1)} | ${'skiff (sqlite)'.padEnd(w2)} | target |`);
  console.log(`|${'-'.repeat(w1 + 2)}|${'-'.repeat(w2 + 2)}|--------|`);
  for (const [a, b, c] of rows) console.log(`| ${a.padEnd(w1)} | ${b.padEnd(w2)} | ${c} |`);
}

await main();
