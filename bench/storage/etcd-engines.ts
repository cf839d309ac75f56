/**
 * Benchmark targets for etcd: the Skiff etcd engine and, as reference lines, raw etcd through the etcd3
 * client (a plain Put, and the Txn create-if-absent that is the engine's create), and that same Txn sent
 * straight through the engine's own KV transport (grpc-unary.ts + kv-codec.ts, no engine logic), which
 * shows the engine's overhead over the transport it uses. bench/storage/storage-bench.ts imports
 * etcdBenchTargets(); run this file directly for the create/get table, with the ratios, the load average
 * and the CPU time stolen by the hypervisor during the run:
 *   node --import tsx bench/storage/etcd-engines.ts [--puts 2000] [--rounds 5]
 * Uses a private etcd from startEtcd (fsync on), or $SKIFF_ETCD_ENDPOINTS (comma-separated) when set.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Etcd3 } from 'etcd3';
import { setLogSink } from '../../src/base/log.ts';
import type { Storage } from '../../src/storage/interface.ts';
import { startEtcd } from '../../src/storage/etcd/etcd-process.ts';
import { openEtcdStorage } from '../../src/storage/etcd/etcd-storage.ts';
import { GrpcUnaryClient } from '../../src/storage/etcd/grpc-unary.ts';
import { decodeRange, decodeTxn, encodeRange, encodeTxn } from '../../src/storage/etcd/kv-codec.ts';
import { stealMeter } from '../lib/cpu-steal.ts';

/** One row of the storage benchmark: something that creates and reads keys. */
export interface BenchTarget {
  /** The row label ("etcd engine", "raw etcd (etcd3)"). */
  readonly name: string;
  /** Writes a new key (the engine: create with compare-and-swap; raw: a plain Put). */
  create(key: string, value: Uint8Array): Promise<void>;
  /** Reads one key. */
  get(key: string): Promise<void>;
  /** The Storage behind the row, for list and watch benchmarks; absent for raw etcd. */
  readonly storage?: Storage;
  /** Releases the client (not the etcd server). */
  close(): Promise<void>;
}

/** Opens both etcd rows on one etcd server (a private one unless `endpoints` is given); `stop` ends everything. */
export async function etcdBenchTargets(opts: { endpoints?: string[] } = {}): Promise<{ targets: BenchTarget[]; stop(): Promise<void> }> {
  const fromEnv = process.env['SKIFF_ETCD_ENDPOINTS']?.split(',').filter((e) => e !== '');
  const given = opts.endpoints ?? (fromEnv && fromEnv.length > 0 ? fromEnv : undefined);
  const etcd = given === undefined ? await startEtcd() : undefined;
  const endpoints = given ?? etcd?.endpoints ?? [];
  const storage = await openEtcdStorage(endpoints);
  const raw = new Etcd3({ hosts: endpoints });
  const transport = new GrpcUnaryClient(endpoints);
  const engine: BenchTarget = {
    name: 'etcd engine',
    storage,
    create: async (key, value) => {
      await storage.create(key, value);
    },
    get: async (key) => {
      await storage.get(key);
    },
    close: () => storage.close(),
  };
  const reference: BenchTarget = {
    name: 'raw etcd (etcd3)',
    create: async (key, value) => {
      await raw.put(key).value(Buffer.from(value));
    },
    get: async (key) => {
      await raw.get(key).buffer();
    },
    close: async () => raw.close(),
  };
  // The same operation as the engine's create (compare-and-swap create-if-absent), straight through etcd3:
  // the like-for-like reference for the engine's write path.
  const referenceTxn: BenchTarget = {
    name: 'raw etcd Txn create (etcd3)',
    create: async (key, value) => {
      await raw.if(key, 'Mod', '==', 0).then(raw.put(key).value(Buffer.from(value))).commit();
    },
    get: async (key) => {
      await raw.get(key).buffer();
    },
    close: async () => undefined,
  };
  // The same Txn as the engine's create through the engine's transport: what is left is the engine's own work.
  const transportTxn: BenchTarget = {
    name: 'raw Txn create (engine transport)',
    create: async (key, value) => {
      const k = Buffer.from(key);
      const req = encodeTxn({ compare: [{ key: k, target: 'mod', result: 'equal', revision: 0 }], success: [{ put: { key: k, value: Buffer.from(value) } }] });
      const res = decodeTxn(await transport.call('/etcdserverpb.KV/Txn', req, { timeoutMs: 15_000 }));
      if (!res.succeeded) throw new Error(`${key} exists`);
    },
    get: async (key) => {
      decodeRange(await transport.call('/etcdserverpb.KV/Range', encodeRange({ key: Buffer.from(key) }), { timeoutMs: 15_000 }));
    },
    close: async () => transport.close(),
  };
  return {
    targets: [engine, reference, referenceTxn, transportTxn],
    stop: async () => {
      await engine.close();
      await reference.close();
      await transportTxn.close();
      await etcd?.stop();
    },
  };
}

/** Runs `total` operations with at most `inFlight` outstanding; returns operations per second. */
export async function opsPerSecond(total: number, inFlight: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, total) }, async () => {
      while (next < total) await op(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  setLogSink(null);
  const arg = (name: string, dflt: number): number => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const puts = arg('--puts', 2000);
  const rounds = arg('--rounds', 5);
  const { targets, stop } = await etcdBenchTargets();
  const value = new Uint8Array(256).fill(120);
  const load0 = loadavg()[0] ?? 0;
  const steal = stealMeter();
  const results = new Map<string, { seq: number[]; par: number[]; gets: number[] }>();
  try {
    // Rounds alternate the order of the rows and the median is reported, so that warm-up and a
    // neighbour's load spike do not favour one row.
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const base = `/bench/${Date.now()}/${round}/${t.name.replace(/\W+/g, '-')}`;
        await opsPerSecond(200, 16, (k) => t.create(`${base}/warm/${k}`, value));
        const r = results.get(t.name) ?? { seq: [], par: [], gets: [] };
        results.set(t.name, r);
        r.seq.push(await opsPerSecond(Math.max(100, Math.floor(puts / 5)), 1, (k) => t.create(`${base}/seq/${k}`, value)));
        r.par.push(await opsPerSecond(puts, 64, (k) => t.create(`${base}/par/${k}`, value)));
        r.gets.push(await opsPerSecond(puts, 64, (k) => t.get(`${base}/par/${k}`)));
      }
    }
  } finally {
    await stop();
  }
  const stolen = steal();
  const load1 = loadavg()[0] ?? 0;
  const rows: string[][] = [['target', 'creates/s seq', 'creates/s 64 in flight', 'gets/s 64 in flight']];
  for (const [name, r] of results) rows.push([name, ...[r.seq, r.par, r.gets].map((xs) => median(xs).toFixed(0))]);
  // Ratios of medians, and the spread of the per-round ratios (each round measures both rows back to back).
  const engine = results.get('etcd engine');
  for (const refName of ['raw etcd Txn create (etcd3)', 'raw etcd (etcd3)', 'raw Txn create (engine transport)']) {
    const ref = results.get(refName);
    if (engine === undefined || ref === undefined) continue;
    const cell = (a: number[], b: number[]): string => {
      const per = a.map((x, i) => x / (b[i] ?? Number.NaN)).sort((p, q) => p - q);
      const pct = (x: number | undefined): string => `${Math.round(100 * (x ?? Number.NaN))}%`;
      return `${pct(median(a) / median(b))} (${pct(per[0])}–${pct(per[per.length - 1])})`;
    };
    rows.push([`engine / ${refName}`, cell(engine.seq, ref.seq), cell(engine.par, ref.par), cell(engine.gets, ref.gets)]);
  }
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length))) ?? [];
  process.stdout.write(`median of ${rounds} rounds, ${puts} creates per round, 256-byte values; ` +
    `load average ${load0.toFixed(2)} → ${load1.toFixed(2)}, CPU steal ${stolen.toFixed(1)}%\n`);
  for (const row of rows) process.stdout.write(row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join('  ') + '\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
