/**
 * Storage benchmark: prints a table per engine (never asserts on timings).
 *
 *   node --import tsx bench/storage/storage-bench.ts --engine sqlite[,etcd,...] [--sustained-seconds 600]
 *        [--compact-interval-seconds 60] [--phase-seconds 3] [--sustained-rate 0] [--value-bytes 512]
 *
 * Engines are rows of the `targets` map below (sqlite, etcd, etcd-raw): each factory returns something that
 * creates and reads keys, and for engines the Storage behind it (etcd rows come from etcd-engines.ts).
 */
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setLogSink } from '../../src/base/log.ts';
import { startCompactor } from '../../src/storage/compactor.ts';
import { isStorageError } from '../../src/storage/errors.ts';
import type { Storage } from '../../src/storage/interface.ts';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.ts';

/** The Storage operations the list, watch and sustained phases use. */
export type BenchStorage = Pick<
  Storage,
  'create' | 'get' | 'update' | 'list' | 'watch' | 'currentRevision' | 'compactedRevision' | 'compact'
>;

/**
 * One row of the benchmark: something that creates and reads keys (the shape of etcd-engines.ts's
 * targets). Rows with a `storage` also run the list, watch and sustained phases; a raw client does not.
 */
export interface BenchTarget {
  create(key: string, value: Uint8Array): Promise<unknown>;
  get(key: string): Promise<unknown>;
  storage?: BenchStorage;
  /** On-disk sizes in bytes, when the engine has them. */
  sizes?: () => { walBytes: number; dbBytes: number };
  close(): Promise<void>;
}

/** Picks one row of etcd-engines.ts (which starts a private etcd unless $SKIFF_ETCD_ENDPOINTS is set). */
async function etcdRow(index: number): Promise<BenchTarget> {
  // Loaded on demand so that a sqlite-only run needs neither etcd nor its client.
  const { etcdBenchTargets } = await import('./etcd-engines.ts');
  const { targets: rows, stop } = await etcdBenchTargets();
  const row = rows[index];
  if (!row) throw new Error(`etcd-engines.ts has no row ${index}`);
  return {
    create: (k, v) => row.create(k, v),
    get: (k) => row.get(k),
    ...(row.storage ? { storage: row.storage } : {}),
    close: stop,
  };
}

/** Factories of benchmark rows by engine name; another engine is one more entry. */
export const targets: Record<string, () => Promise<BenchTarget>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
    const s = await openSqliteStorage(join(dir, 'state.db'));
    return {
      create: (k, v) => s.create(k, v),
      get: (k) => s.get(k),
      storage: s,
      sizes: () => {
        const st = s.stats();
        return { walBytes: st.walBytes, dbBytes: st.dbBytes };
      },
      close: async () => {
        await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  etcd: () => etcdRow(0),
  'etcd-raw': () => etcdRow(1),
};

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    'sustained-seconds': { type: 'string', default: '600' },
    'compact-interval-seconds': { type: 'string', default: '60' },
    'phase-seconds': { type: 'string', default: '3' },
    'sustained-rate': { type: 'string', default: '0' },
    'value-bytes': { type: 'string', default: '512' },
  },
});
const phaseMs = Number(args['phase-seconds']) * 1000;
const valueBytes = Number(args['value-bytes']);
const out = (line: string): void => {
  process.stdout.write(line + '\n');
};

function valueOf(tag: string): Uint8Array {
  const v = new Uint8Array(valueBytes).fill(120);
  v.set(new TextEncoder().encode(tag).subarray(0, valueBytes));
  return v;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;

/** Runs `op` from `concurrency` loops for `ms`; returns completed ops per second and errors. */
async function timed(concurrency: number, ms: number, op: (i: number) => Promise<unknown>): Promise<{ perSec: number; ops: number; errors: number }> {
  let next = 0;
  let ops = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          await op(next++);
          ops++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { perSec: ops / ((performance.now() - start) / 1000), ops, errors };
}

async function watchLatency(s: BenchStorage, watchers: number, ratePerSec: number, ms: number): Promise<{ p50: number; p99: number; samples: number; expected: number; failed: number }> {
  const prefix = '/bench/watch/';
  const head = await s.currentRevision();
  const ac = new AbortController();
  // One signal ends all the watchers at once.
  setMaxListeners(0, ac.signal);
  const samples: number[] = [];
  const loops = Array.from({ length: watchers }, async () => {
    for await (const ev of s.watch(prefix, { fromRevision: head, signal: ac.signal, progressIntervalMs: 0 })) {
      if (ev.type !== 'put') continue;
      const sent = Number(new TextDecoder().decode(ev.kv.value.subarray(0, 24)).split(' ')[0]);
      samples.push(performance.now() - sent);
    }
  });
  const start = performance.now();
  let n = 0;
  const writes: Promise<unknown>[] = [];
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * ratePerSec);
    while (n < due) writes.push(s.create(`${prefix}${n++}`, valueOf(`${performance.now()} `)));
    await new Promise((r) => setTimeout(r, 5));
  }
  const settled = await Promise.allSettled(writes);
  const failed = settled.filter((r) => r.status === 'rejected').length;
  const expected = (n - failed) * watchers;
  const until = performance.now() + 10_000;
  while (samples.length < expected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  ac.abort();
  await Promise.allSettled(loops);
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length, expected, failed };
}

async function sustained(t: BenchTarget, s: BenchStorage, seconds: number, compactIntervalMs: number, rate: number): Promise<string[]> {
  const keys = 10_000;
  const prefix = '/bench/sustained/';
  const revs = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let i = w; i < keys; i += 64) revs.set(i, (await s.create(`${prefix}${i}`, valueOf('seed'))).modRevision);
    }),
  );
  const compactor = startCompactor(s, { intervalMs: compactIntervalMs });
  const startRev = await s.currentRevision();
  const start = performance.now();
  let errors = 0;
  let conflicts = 0;
  let firstError = '';
  let maxWal = 0;
  const samples: string[] = [];
  let sampledAt = start;
  const sample = (): void => {
    const sz = t.sizes?.();
    if (sz) maxWal = Math.max(maxWal, sz.walBytes);
  };
  const sampler = setInterval(sample, 1000);
  let n = 0;
  const perWriter = rate > 0 ? rate / 64 : 0;
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      let done = 0;
      while (performance.now() - start < seconds * 1000) {
        const i = (n++ * 7919) % keys;
        try {
          revs.set(i, (await s.update(`${prefix}${i}`, valueOf(`u${n}`), { expectedModRevision: revs.get(i) ?? 0 })).modRevision);
        } catch (e) {
          if (isStorageError(e, 'Conflict') && e.current) {
            // Two writers met on one key (the key cycle wrapped around): not an engine error.
            conflicts++;
            revs.set(i, e.current.modRevision);
          } else {
            errors++;
            firstError ||= e instanceof Error ? e.message : String(e);
            revs.set(i, (await s.get(`${prefix}${i}`)).kv?.modRevision ?? 0);
          }
        }
        done++;
        if (perWriter > 0) {
          const ahead = (done / perWriter) * 1000 - (performance.now() - start);
          if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
        }
        if (w === 0 && performance.now() - sampledAt >= compactIntervalMs) {
          sampledAt = performance.now();
          const sz = t.sizes?.();
          const rev = await s.currentRevision();
          samples.push(
            `  t=${((sampledAt - start) / 1000).toFixed(0)}s rev=${rev} compacted=${await s.compactedRevision()}` +
              (sz ? ` db=${mib(sz.dbBytes)} wal=${mib(sz.walBytes)}` : ''),
          );
        }
      }
    }),
  );
  clearInterval(sampler);
  sample();
  await compactor.stop();
  const elapsed = (performance.now() - start) / 1000;
  const endRev = await s.currentRevision();
  const sz = t.sizes?.();
  return [
    `| sustained revisions/s (${seconds} s, 64 in flight${rate > 0 ? `, target ${rate}/s` : ''}) | ${((endRev - startRev) / elapsed).toFixed(0)} |`,
    `| sustained errors | ${errors}${firstError ? ` (first: ${firstError})` : ''}; CAS conflicts between writers: ${conflicts} |`,
    ...(sz
      ? [`| WAL size at end / max seen | ${mib(sz.walBytes)} / ${mib(maxWal)} |`, `| DB size at end | ${mib(sz.dbBytes)} |`]
      : []),
    '',
    `size samples (every ${compactIntervalMs / 1000} s, compaction every ${compactIntervalMs / 1000} s):`,
    ...samples,
  ];
}

async function bench(engine: string): Promise<void> {
  const factory = targets[engine];
  if (!factory) throw new Error(`unknown engine ${JSON.stringify(engine)} (known: ${Object.keys(targets).join(', ')})`);
  const t = await factory();
  const rows: string[] = [`## ${engine}`, '', '| measurement | result |', '|---|---|'];
  const row = (name: string, value: string): void => {
    rows.push(`| ${name} | ${value} |`);
    out(`${engine}: ${name}: ${value}`);
  };
  try {
    const seq = await timed(1, phaseMs, (i) => t.create(`/bench/seq/${i}`, valueOf('seq')));
    row('sequential creates/s', seq.perSec.toFixed(0));
    const par = await timed(64, phaseMs, (i) => t.create(`/bench/par/${i}`, valueOf('par')));
    row('creates/s, 64 in flight', `${par.perSec.toFixed(0)}${par.errors ? ` (${par.errors} errors)` : ''}`);
    const gets = await timed(1, phaseMs, (i) => t.get(`/bench/par/${i % Math.max(1, par.ops)}`));
    row('gets/s (sequential)', gets.perSec.toFixed(0));
    const s = t.storage;
    if (!s) {
      row('list, watch and sustained phases', 'n/a (no Storage behind this row)');
      return;
    }

    let made = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (made < 10_000) await s.create(`/bench/list/${String(made++).padStart(5, '0')}`, valueOf('list'));
      }),
    );
    const listMs: number[] = [];
    let listed = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      listed = (await s.list('/bench/list/')).kvs.length;
      listMs.push(performance.now() - t0);
    }
    listMs.sort((a, b) => a - b);
    row(`list ${listed} keys (ms, median of 5)`, (listMs[2] ?? NaN).toFixed(1));

    const lat = await watchLatency(s, 100, 1000, Math.min(5000, phaseMs * 2));
    row(
      'watch latency p50 / p99 (ms), 100 watchers, 1,000 writes/s',
      `${lat.p50.toFixed(2)} / ${lat.p99.toFixed(2)} (${lat.samples} of ${lat.expected} deliveries${lat.failed ? `, ${lat.failed} writes failed` : ''})`,
    );

    const seconds = Number(args['sustained-seconds']);
    if (seconds > 0) {
      out(`${engine}: sustained write run for ${seconds} s ...`);
      const lines = await sustained(t, s, seconds, Number(args['compact-interval-seconds']) * 1000, Number(args['sustained-rate']));
      rows.push(...lines);
    }
  } finally {
    await t.close();
    out('');
    out(rows.join('\n'));
    out('');
  }
}

setLogSink(null);
for (const engine of String(args.engine).split(',')) await bench(engine);
