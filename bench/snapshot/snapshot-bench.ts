/**
 * Snapshot benchmark: time and size to save and restore N objects (~1 KiB each) on each engine, the
 * store's read/write latency while a snapshot is being taken, and the HTTP request latency of a real
 * `skiff server` on that store while `skiff snapshot save` runs beside it (the "no stall over
 * 100 ms"). Prints tables; never asserts on timings.
 *
 *   node --import tsx bench/snapshot/snapshot-bench.ts [--objects 100000] [--value-bytes 1024] [--engines sqlite,etcd]
 *     [--http-rate 100] [--http-before-seconds 5] [--no-http] [--server-cpu-prof DIR]
 *
 * The store is filled by restoring a generated snapshot (itself a measured restore), so the run stays short.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { join as joinPath, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { setLogSink } from '../../src/base/log.ts';
import { stealMeter } from '../lib/cpu-steal.ts';
import { startEtcd, type EtcdProcess } from '../../src/storage/etcd/etcd-process.ts';
import { openEtcdStorage } from '../../src/storage/etcd/etcd-storage.ts';
import type { KeyValue, Storage } from '../../src/storage/interface.ts';
import { encodeEnd, encodeHeader, encodeRecords, SNAPSHOT_FORMAT_VERSION, withChecksum } from '../../src/storage/snapshot/format.ts';
import { restoreSnapshot } from '../../src/storage/snapshot/restore.ts';
import { saveSnapshot, writeStreamToFile } from '../../src/storage/snapshot/save.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.ts';

setLogSink(null);

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '100000' },
    'value-bytes': { type: 'string', default: '1024' },
    engines: { type: 'string', default: 'sqlite,etcd' },
    'http-rate': { type: 'string', default: '100' },
    'http-before-seconds': { type: 'string', default: '5' },
    'no-http': { type: 'boolean', default: false },
    'server-cpu-prof': { type: 'string' },
  },
});
const httpRate = Number(args['http-rate']);
const httpBeforeS = Number(args['http-before-seconds']);
const ROOT = resolve(import.meta.dirname, '..', '..');
const objects = Number(args.objects);
const valueBytes = Number(args['value-bytes']);
const engines = (args.engines ?? '').split(',').filter(Boolean);
const out = (line: string): void => void process.stdout.write(line + '\n');

const NAMESPACES = 50;

/** A stored ConfigMap as the API server writes it (the server decodes these), varied enough that compression is not flattering. */
function objectValue(i: number, namespace: string, name: string): Uint8Array {
  const filler = Buffer.alloc(valueBytes);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < valueBytes; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    filler[j] = 0x61 + ((x >>> 24) % 26);
  }
  const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const head = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"${name}","namespace":"${namespace}","uid":"${uid}","creationTimestamp":"2026-01-01T00:00:00Z"},"data":{"k":"`;
  const body = Buffer.concat([Buffer.from(head), filler]).subarray(0, valueBytes - 3);
  return Buffer.concat([body, Buffer.from('"}}')]);
}

/** The configmaps of the generated store, as [namespace, name], in key order. */
function configMapNames(): [string, string][] {
  return Array.from({ length: objects }, (_, i): [string, string] => [`ns-${i % NAMESPACES}`, `cm-${String(i).padStart(7, '0')}`])
    .sort((a, b) => (a.join('/') < b.join('/') ? -1 : 1));
}

function namespaceValue(name: string): Uint8Array {
  return Buffer.from(JSON.stringify({
    kind: 'Namespace', apiVersion: 'v1',
    metadata: { name, uid: `00000000-0000-4000-9000-${name.slice(3).padStart(12, '0')}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' },
  }));
}

/** Writes a snapshot of `objects` configmaps (~value-bytes each) spread over 50 namespaces, plus the namespaces. */
async function generate(file: string): Promise<void> {
  const total = objects + NAMESPACES;
  const header = {
    formatVersion: SNAPSHOT_FORMAT_VERSION, skiffVersion: 'bench', engine: 'generated', prefix: '/',
    revision: total, count: total, createdAt: new Date().toISOString(),
  };
  async function* parts(): AsyncGenerator<Buffer> {
    yield encodeHeader(header);
    const names = configMapNames();
    for (let i = 0; i < objects; i += 1000) {
      const batch: KeyValue[] = names.slice(i, i + 1000).map(([ns, name], j) => ({
        key: `/registry/configmaps/${ns}/${name}`, value: objectValue(i + j, ns, name), createRevision: i + j + 1, modRevision: i + j + 1,
      }));
      yield encodeRecords(batch);
    }
    const nss = Array.from({ length: NAMESPACES }, (_, i) => `ns-${i}`).sort();
    yield encodeRecords(nss.map((ns, j) => ({ key: `/registry/namespaces/${ns}`, value: namespaceValue(ns), createRevision: objects + j + 1, modRevision: objects + j + 1 })));
    yield encodeEnd(total);
  }
  await writeStreamToFile(withChecksum(parts()), file);
}

interface Latency {
  samples: number[];
  stop: () => Promise<void>;
}

/** Issues a get and an update one after the other in a loop, recording each round's latency (ms). */
function probeLatency(storage: Storage): Latency {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    const key = '/registry/configmaps/bench-probe/probe';
    let kv = await storage.create(key, new Uint8Array(100));
    while (running) {
      const t = performance.now();
      await storage.get('/registry/configmaps/ns-1/cm-0000001');
      kv = await storage.update(key, new Uint8Array(100), { expectedModRevision: kv.modRevision });
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    await storage.delete(key);
  })();
  return { samples, stop: async () => { running = false; await loop; } };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

interface Row {
  engine: string;
  restoreS: number;
  saveS: number;
  bytes: number;
  p50: number;
  p99: number;
  max: number;
}

async function measure(engine: string, storage: Storage, restoreS: number, dir: string): Promise<Row> {
  const file = join(dir, `${engine}-saved.snap`);
  const probe = probeLatency(storage);
  await new Promise((r) => setTimeout(r, 200));
  const t = performance.now();
  await saveSnapshot(storage, file);
  const saveS = (performance.now() - t) / 1000;
  await probe.stop();
  return { engine, restoreS, saveS, bytes: statSync(file).size, p50: pct(probe.samples, 50), p99: pct(probe.samples, 99), max: Math.max(...probe.samples) };
}

// ---- the serving server's HTTP latency while `skiff snapshot save` runs ----

interface BenchServer {
  base: URL;
  agent: https.Agent;
  stop: () => Promise<void>;
}

/** Starts `skiff server` (API only: no agent, controllers or scheduler) on 127.0.0.1 port 0 and waits for /readyz. */
async function startSkiffServer(dataDir: string, extra: string[]): Promise<BenchServer> {
  mkdirSync(dataDir, { recursive: true });
  const prof = args['server-cpu-prof'];
  const proc = spawn(process.execPath, [
    ...(prof === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', prof]),
    joinPath(ROOT, 'bin', 'skiff'), 'server', '--port', '0', '--data-dir', dataDir,
    '--no-agent', '--disable-controller-manager', '--disable-scheduler', ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-4000); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  try {
    const url = await new Promise<string>((res, rej) => {
      let so = '';
      const t = setTimeout(() => rej(new Error(`server did not start in 120 s:\n${err}`)), 120_000);
      proc.stdout.on('data', (c: Buffer) => {
        so += c.toString();
        const m = /listening on (http\S+)/.exec(so);
        if (m?.[1] !== undefined) {
          clearTimeout(t);
          res(m[1]);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(t);
        rej(new Error(`server exited with ${code}:\n${err}`));
      });
    });
    const kc = parseYaml(readFileSync(joinPath(dataDir, 'kubeconfig.yaml'), 'utf8')) as {
      clusters: { cluster: { 'certificate-authority-data': string } }[];
      users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
    };
    const b64 = (x: string | undefined): string => Buffer.from(x ?? '', 'base64').toString('utf8');
    // A few kept-alive connections, as real clients hold: an open-loop sender on an unbounded pool opens a
    // new TLS connection whenever all are busy, and on a loaded machine that handshake storm is the stall.
    const agent = new https.Agent({
      keepAlive: true, maxSockets: 8,
      ca: b64(kc.clusters[0]?.cluster['certificate-authority-data']),
      cert: b64(kc.users[0]?.user['client-certificate-data']),
      key: b64(kc.users[0]?.user['client-key-data']),
    });
    const server = { base: new URL(url), agent, stop: async () => { agent.destroy(); await stop(); } };
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await call(server, 'GET', '/readyz').catch(() => ({ status: 0 }));
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`server not ready in 120 s:\n${err}`);
      await new Promise((x) => setTimeout(x, 100));
    }
    return server;
  } catch (e) {
    await stop();
    throw e;
  }
}

function call(server: BenchServer, method: string, path: string, body?: string): Promise<{ status: number }> {
  return new Promise((res, rej) => {
    const req = https.request({
      host: server.base.hostname, port: server.base.port, method, path, agent: server.agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    }, (r) => {
      r.resume();
      r.on('end', () => res({ status: r.statusCode ?? 0 }));
      r.on('error', rej);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', rej);
    req.end(body);
  });
}

interface HttpSample {
  /** When the request was due (ms, performance.now()): latency counts from here, so a stalled sender shows too. */
  due: number;
  ms: number;
  ok: boolean;
}

/**
 * An open-loop stream of requests at `rate`/s (3 GETs of existing configmaps to 1 create): requests are
 * sent when due whatever the previous ones are doing, so a stall shows as latency, not as fewer requests.
 */
let loads = 0;

function httpLoad(server: BenchServer, rate: number): { samples: HttpSample[]; stop: () => Promise<void> } {
  const samples: HttpSample[] = [];
  const run = loads++;
  const names = configMapNames();
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  let issued = 0;
  const tick = (): void => {
    // Request k is due at t0 + k/rate: send every request whose time has come.
    const due = Math.floor(((performance.now() - t0) * rate) / 1000) + 1;
    for (; issued < due; issued++) {
      const k = issued;
      const at = t0 + (k * 1000) / rate;
      const [ns, name] = names[(k * 7919) % names.length] ?? ['ns-0', 'cm-0000000'];
      const p = (k % 4 === 3
        ? call(server, 'POST', '/api/v1/namespaces/ns-0/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `load-${run}-${k}` }, data: { k: 'v'.repeat(200) } }))
        : call(server, 'GET', `/api/v1/namespaces/${ns}/configmaps/${name}`))
        .then((r) => ({ ok: r.status === 200 || r.status === 201 }), () => ({ ok: false }))
        .then(({ ok }) => {
          samples.push({ due: at, ms: performance.now() - at, ok });
          pending.delete(p);
        });
      pending.add(p);
    }
  };
  const timer = setInterval(tick, 2);
  return {
    samples,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

interface HttpRow {
  engine: string;
  phase: string;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  over100: number;
  /** CPU time the hypervisor took from this VM during the phase (%). */
  steal: number;
}

function httpRow(engine: string, phase: string, xs: HttpSample[], steal: number): HttpRow {
  const ms = xs.map((x) => x.ms);
  return {
    engine, phase, requests: xs.length, errors: xs.filter((x) => !x.ok).length,
    p50: pct(ms, 50), p99: pct(ms, 99), max: ms.length === 0 ? 0 : Math.max(...ms), over100: ms.filter((m) => m > 100).length, steal,
  };
}

/** Runs `skiff snapshot save` against the data dir (online: through the server for SQLite, from etcd directly for etcd). */
async function snapshotCli(dataDir: string, extra: string[], name: string): Promise<{ seconds: number; bytes: number }> {
  const t = performance.now();
  const proc = spawn(process.execPath, [joinPath(ROOT, 'bin', 'skiff'), 'snapshot', 'save', '--data-dir', dataDir, '--name', name, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`skiff snapshot save exited with ${code}: ${err.trim()}`);
  return { seconds: (performance.now() - t) / 1000, bytes: statSync(joinPath(dataDir, 'snapshots', `${name}.snap`)).size };
}

interface HttpResult {
  rows: HttpRow[];
  /** Seconds of warm-up until a one-second window had p99 under 100 ms (30: it never did). */
  settleS: number;
  snapshotS: number;
  bytes: number;
}

/** Starts a server on the store, streams requests for a while, then takes `skiff snapshot save` and keeps streaming until it ends. */
async function measureHttp(engine: string, dataDir: string, serverArgs: string[]): Promise<HttpResult> {
  const server = await startSkiffServer(dataDir, serverArgs);
  try {
    // Warm the connections and let the server settle after start-up (its watch caches hold every object):
    // one-second windows until one has a p99 under 100 ms, for at most 30 s.
    const warm = httpLoad(server, httpRate);
    const w0 = performance.now();
    for (let i = 1; i <= 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const lastSecond = warm.samples.filter((x) => x.due >= w0 + (i - 1) * 1000).map((x) => x.ms);
      if (i >= 2 && lastSecond.length > 0 && pct(lastSecond, 99) < 100) break;
    }
    await warm.stop();
    const settleS = (performance.now() - w0) / 1000;
    const load = httpLoad(server, httpRate);
    const t0 = performance.now();
    const stealBefore = stealMeter();
    await new Promise((r) => setTimeout(r, httpBeforeS * 1000));
    const stolenBefore = stealBefore();
    const tSnap = performance.now();
    const stealDuring = stealMeter();
    const snap = await snapshotCli(dataDir, serverArgs, `http-bench-${engine}`);
    const stolenDuring = stealDuring();
    const tEnd = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    const before = load.samples.filter((x) => x.due >= t0 && x.due < tSnap);
    const during = load.samples.filter((x) => x.due >= tSnap && x.due <= tEnd);
    return { rows: [httpRow(engine, 'before', before, stolenBefore), httpRow(engine, 'during snapshot save', during, stolenDuring)], snapshotS: snap.seconds, bytes: snap.bytes, settleS };
  } finally {
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'skiff-snap-bench-'));
let etcd: EtcdProcess | undefined;
const rows: Row[] = [];
const http: HttpResult[] = [];
try {
  const source = join(dir, 'generated.snap');
  await generate(source);
  out(`generated ${objects.toLocaleString('en-US')} objects of ${valueBytes} B: ${(statSync(source).size / 2 ** 20).toFixed(1)} MiB uncompressed`);
  for (const engine of engines) {
    if (engine === 'sqlite') {
      const dataDir = join(dir, 'sqlite');
      const path = join(dataDir, 'state.db');
      const t = performance.now();
      await restoreSnapshot(source, { sqlitePath: path });
      const restoreS = (performance.now() - t) / 1000;
      const s = await openSqliteStorage(path);
      try {
        rows.push(await measure(engine, s, restoreS, dir));
      } finally {
        await s.close();
      }
      if (!args['no-http']) http.push(await measureHttp(engine, dataDir, []));
    } else if (engine === 'etcd') {
      etcd = await startEtcd({ extraArgs: ['--quota-backend-bytes', String(8 * 2 ** 30)] });
      const s = await openEtcdStorage(etcd.endpoints);
      try {
        const t = performance.now();
        await restoreSnapshot(source, { storage: s });
        const restoreS = (performance.now() - t) / 1000;
        rows.push(await measure(engine, s, restoreS, dir));
      } finally {
        await s.close();
      }
      const url = `etcd://${etcd.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',')}`;
      if (!args['no-http']) http.push(await measureHttp(engine, join(dir, 'etcd-server'), ['--datastore', url]));
    } else {
      throw new Error(`unknown engine ${engine}`);
    }
  }
  out('');
  out(`| engine | objects | restore (s) | save (s) | snapshot size | get+update during save p50 / p99 / max (ms) |`);
  out(`|---|---|---|---|---|---|`);
  for (const r of rows) {
    out(`| ${r.engine} | ${objects.toLocaleString('en-US')} | ${r.restoreS.toFixed(2)} | ${r.saveS.toFixed(2)} | ${(r.bytes / 2 ** 20).toFixed(1)} MiB | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)} |`);
  }
  if (http.length > 0) {
    out('');
    out(`HTTPS requests to \`skiff server\` (${httpRate}/s open loop, 3 GETs : 1 create), before and while \`skiff snapshot save\` runs:`);
    out('');
    out('| engine | phase | requests | errors | p50 (ms) | p99 (ms) | max (ms) | over 100 ms | CPU steal | snapshot save (s, CLI) | size |');
    out('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const h of http) {
      for (const r of h.rows) {
        const snap = r.phase === 'before' ? ` (settled after ${h.settleS.toFixed(0)} s) | ` : ` ${h.snapshotS.toFixed(2)} | ${(h.bytes / 2 ** 20).toFixed(1)} MiB`;
        out(`| ${r.engine} | ${r.phase} | ${r.requests} | ${r.errors} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.over100} | ${r.steal.toFixed(0)} % |${snap} |`);
      }
    }
  }
} finally {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
}
