/**
 * Snapshot benchmark: time and size to save and restore N objects (~1 KiB each) on each engine, and the
 * store's read/write latency while a snapshot is being taken. Prints a table; never asserts on timings.
 *
 *   node --import tsx bench/snapshot/snapshot-bench.ts [--objects 100000] [--value-bytes 1024] [--engines sqlite,etcd]
 *
 * The store is filled by restoring a generated snapshot (itself a measured restore), so the run stays short.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setLogSink } from '../../src/base/log.ts';
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
  },
});
const objects = Number(args.objects);
const valueBytes = Number(args['value-bytes']);
const engines = (args.engines ?? '').split(',').filter(Boolean);
const out = (line: string): void => void process.stdout.write(line + '\n');

/** A JSON-ish value like a stored object, varied enough that compression is not flattering. */
function objectValue(i: number): Uint8Array {
  const filler = Buffer.alloc(valueBytes);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < valueBytes; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    filler[j] = 0x61 + ((x >>> 24) % 26);
  }
  const head = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm-${i}","namespace":"ns-${i % 50}"},"data":{"k":"`;
  const body = Buffer.concat([Buffer.from(head), filler]).subarray(0, valueBytes - 3);
  return Buffer.concat([body, Buffer.from('"}}')]);
}

async function generate(file: string): Promise<void> {
  const header = {
    formatVersion: SNAPSHOT_FORMAT_VERSION, skiffVersion: 'bench', engine: 'generated', prefix: '/',
    revision: objects, count: objects, createdAt: new Date().toISOString(),
  };
  async function* parts(): AsyncGenerator<Buffer> {
    yield encodeHeader(header);
    const keys = Array.from({ length: objects }, (_, i) => `/registry/configmaps/ns-${i % 50}/cm-${String(i).padStart(7, '0')}`).sort();
    for (let i = 0; i < objects; i += 1000) {
      const batch: KeyValue[] = keys.slice(i, i + 1000).map((key, j) => ({ key, value: objectValue(i + j), createRevision: i + j + 1, modRevision: i + j + 1 }));
      yield encodeRecords(batch);
    }
    yield encodeEnd(objects);
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

const dir = mkdtempSync(join(tmpdir(), 'skiff-snap-bench-'));
let etcd: EtcdProcess | undefined;
const rows: Row[] = [];
try {
  const source = join(dir, 'generated.snap');
  await generate(source);
  out(`generated ${objects.toLocaleString('en-US')} objects of ${valueBytes} B: ${(statSync(source).size / 2 ** 20).toFixed(1)} MiB uncompressed`);
  for (const engine of engines) {
    if (engine === 'sqlite') {
      const path = join(dir, 'sqlite', 'state.db');
      const t = performance.now();
      await restoreSnapshot(source, { sqlitePath: path });
      const restoreS = (performance.now() - t) / 1000;
      const s = await openSqliteStorage(path);
      try {
        rows.push(await measure(engine, s, restoreS, dir));
      } finally {
        await s.close();
      }
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
} finally {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
}
