/**
 * `skiff snapshot save|ls|delete|restore|verify`: back up and restore the store, and move it between
 * engines. Saving from a SQLite store that a running server owns goes through the server's admin
 * endpoint; everything else opens the store directly. See docs/snapshots.md.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir, setPriority } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { nextScheduleTime, parseCronSchedule, type CronSchedule } from '../api/batch/v1/cron-schedule.ts';
import { SKIFF_VERSION } from '../apiserver/version.ts';
import { clientConfigFromKubeconfig } from '../client/kubeconfig.ts';
import { isStorageError } from '../storage/errors.ts';
import { openStorage, parseDatastoreUrl } from '../storage/open.ts';
import { deleteSnapshot, listSnapshots, snapshotPath, timestampedName } from '../storage/snapshot/folder.ts';
import { SNAPSHOT_EXTENSION, verifySnapshot, type SnapshotHeader } from '../storage/snapshot/format.ts';
import { SNAPSHOT_ENDPOINT } from '../storage/snapshot/http-handler.ts';
import { restoreSnapshot, type RestoreResult } from '../storage/snapshot/restore.ts';
import { saveSnapshot, writeStreamToFile } from '../storage/snapshot/save.ts';
import { everySchedule, type Schedule } from '../storage/snapshot/schedule.ts';
import { openSqliteStorage } from '../storage/sqlite/sqlite-storage.ts';

/** Options of registerSnapshotCommands (tests capture the output). */
export interface SnapshotCommandOptions {
  out?: (text: string) => void;
}

interface StoreFlags {
  dataDir: string;
  datastore?: string;
}

function defaultDataDir(): string {
  return process.env.SKIFF_DATA_DIR ?? join(homedir(), '.skiff');
}

const n = (x: number): string => x.toLocaleString('en-US');

function humanBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

function describeHeader(h: SnapshotHeader): string {
  return `revision ${h.revision}, ${n(h.count)} keys, taken ${h.createdAt} from ${h.engine} by skiff ${h.skiffVersion}`;
}

/** Events expire after an hour in Kubernetes (--event-ttl); the snapshot format keeps no leases, so restored ones get it again. */
export function restoredKeyTtl(key: string): number | undefined {
  return key.startsWith('/registry/events/') || key.startsWith('/registry/events.k8s.io/') ? 3600 : undefined;
}

/**
 * A snapshot is background work: the save runs at the lowest CPU priority so that, on a small machine,
 * the server it runs beside (and its clients) keep the cores they need. Best effort.
 */
function lowerOwnPriority(): void {
  try {
    setPriority(19);
  } catch {
    // not permitted here: run at the normal priority
  }
}

/** The datastore a command works on: --datastore, else the SQLite file of the data dir. */
function datastoreOf(flags: StoreFlags): string {
  return flags.datastore ?? `sqlite://${join(resolve(flags.dataDir), 'state.db')}`;
}

/**
 * Downloads a snapshot from the running server that owns `dataDir`'s store, using its admin kubeconfig
 * (compressed by the server: streaming it uncompressed costs the server more in TLS than gzip does).
 */
async function downloadFromServer(dataDir: string, file: string, compress: boolean): Promise<{ bytes: number }> {
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  if (!existsSync(kubeconfig)) {
    throw new Error(`the store is held by a running server, but ${kubeconfig} (to reach it) does not exist`);
  }
  const cfg = clientConfigFromKubeconfig(kubeconfig);
  const url = new URL(cfg.server + SNAPSHOT_ENDPOINT);
  if (!compress) url.searchParams.set('compress', 'false');
  const headers: Record<string, string> = {};
  if (cfg.token) headers.authorization = `Bearer ${cfg.token}`;
  else if (cfg.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  const res = await new Promise<IncomingMessage>((ok, fail) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers,
      ...(url.protocol === 'https:'
        ? {
            ...(cfg.caData ? { ca: cfg.caData } : {}),
            ...(cfg.certData ? { cert: cfg.certData } : {}),
            ...(cfg.keyData ? { key: cfg.keyData } : {}),
            ...(cfg.tlsServerName ? { servername: cfg.tlsServerName } : {}),
            rejectUnauthorized: cfg.insecureSkipTLSVerify !== true,
          }
        : {}),
    });
    req.once('response', ok);
    req.once('error', fail);
    req.end();
  });
  if (res.statusCode !== 200) {
    let body = '';
    for await (const c of res) body += String(c);
    let msg = body.trim().slice(0, 300);
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? msg;
    } catch {
      // not a Status
    }
    throw new Error(`server ${cfg.server} refused the snapshot (HTTP ${res.statusCode}): ${msg}`);
  }
  return writeStreamToFile(res, file);
}

async function save(flags: StoreFlags & { name?: string; compress: boolean }, out: (s: string) => void): Promise<void> {
  lowerOwnPriority();
  const dataDir = resolve(flags.dataDir);
  const name = flags.name ?? timestampedName('snapshot-', new Date());
  const file = snapshotPath(join(dataDir, 'snapshots'), name);
  if (existsSync(file)) throw new Error(`snapshot ${JSON.stringify(name)} already exists (${file}); choose another --name or delete it`);
  const url = datastoreOf(flags);
  const spec = parseDatastoreUrl(url, { dataDir });
  const opts = { skiffVersion: SKIFF_VERSION, compress: flags.compress };
  let via = spec.engine === 'etcd' ? `etcd ${spec.endpoints.join(',')}` : `SQLite ${spec.path}`;
  if (spec.engine === 'sqlite') {
    if (!existsSync(spec.path)) throw new Error(`no SQLite store at ${spec.path} (is --data-dir right?)`);
    let storage;
    try {
      storage = await openSqliteStorage(spec.path);
    } catch (e) {
      if (!isStorageError(e, 'Locked')) throw e;
      storage = undefined;
    }
    if (storage === undefined) {
      // A server owns the file: ask it, so the snapshot is consistent and the server keeps serving.
      via = 'the running server';
      await downloadFromServer(dataDir, file, flags.compress);
    } else {
      try {
        await saveSnapshot(storage, file, opts);
      } finally {
        await storage.close();
      }
    }
  } else {
    const storage = await openStorage(url, { dataDir });
    try {
      await saveSnapshot(storage, file, opts);
    } finally {
      await storage.close();
    }
  }
  // Read back before reporting success: a download cut short must not pass for a snapshot.
  const v = await verifySnapshot(file).catch(async (e: unknown) => {
    await rm(file, { force: true });
    throw e;
  });
  out(`snapshot ${name} saved from ${via}: ${describeHeader(v.header)}\n  ${file} (${humanBytes(statSync(file).size)}, sha256 ${v.sha256})\n`);
}

async function ls(flags: { dataDir: string }, out: (s: string) => void): Promise<void> {
  const dir = join(resolve(flags.dataDir), 'snapshots');
  const entries = await listSnapshots(dir);
  if (entries.length === 0) {
    out(`no snapshots in ${dir}\n`);
    return;
  }
  const rows = [['NAME', 'CREATED', 'REVISION', 'KEYS', 'ENGINE', 'SIZE']];
  for (const e of entries) {
    const h = e.header;
    rows.push(h
      ? [e.name, h.createdAt, String(h.revision), n(h.count), h.engine, humanBytes(e.bytes)]
      : [e.name, e.modifiedAt.toISOString(), '-', '-', `unreadable: ${e.error ?? ''}`, humanBytes(e.bytes)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('') + '\n');
}

/** FILE as given, or the snapshot of that name in the data dir's folder. */
function locateSnapshot(fileOrName: string, dataDir: string): string {
  if (existsSync(fileOrName)) return fileOrName;
  if (!isAbsolute(fileOrName) && !fileOrName.includes('/')) {
    const named = snapshotPath(join(resolve(dataDir), 'snapshots'), fileOrName);
    if (existsSync(named)) return named;
  }
  throw new Error(`snapshot ${fileOrName} not found (neither a file nor a snapshot name in ${join(resolve(dataDir), 'snapshots')})`);
}

function positiveInt(v: string): number {
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 0) throw new Error(`invalid revision count ${JSON.stringify(v)}`);
  return x;
}

async function restore(
  fileOrName: string,
  flags: StoreFlags & { force?: boolean; bumpRevision?: number },
  out: (s: string) => void,
): Promise<void> {
  const dataDir = resolve(flags.dataDir);
  const file = locateSnapshot(fileOrName, dataDir);
  const url = datastoreOf(flags);
  const spec = parseDatastoreUrl(url, { dataDir });
  const opts = {
    force: flags.force === true,
    ttlSeconds: restoredKeyTtl,
    ...(flags.bumpRevision === undefined ? {} : { bumpRevision: flags.bumpRevision }),
    onStart: (p: { replacing: number; targetRevision: number; header: SnapshotHeader }) => {
      out(`restoring ${file}: ${describeHeader(p.header)}\n`);
      if (p.replacing > 0) out(`replacing ${n(p.replacing)} keys at revision ${p.targetRevision}\n`);
    },
  };
  let result: RestoreResult;
  let target: string;
  if (spec.engine === 'sqlite') {
    target = spec.path;
    result = await restoreSnapshot(file, { sqlitePath: spec.path }, opts);
  } else {
    target = `etcd ${spec.endpoints.join(',')}`;
    const storage = await openStorage(url, { dataDir });
    try {
      result = await restoreSnapshot(file, { storage }, opts);
    } finally {
      await storage.close();
    }
  }
  out(
    `restored ${n(result.restored)} keys into ${target} in ${(result.durationMs / 1000).toFixed(1)} s; ` +
      `the store continues at revision ${result.revision} (snapshot revision ${result.header.revision}; older revisions are compacted, so watchers re-list)` +
      (result.revisionsPreserved ? '\n' : '\n  objects have new resourceVersions on this engine\n'),
  );
}

/** Adds `skiff snapshot …` to the program; errors propagate to main's one-line reporter. */
export function registerSnapshotCommands(program: Command, opts: SnapshotCommandOptions = {}): Command {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const snapshot = program.command('snapshot').description('back up and restore the store (both engines, one portable format)');
  const storeOptions = (c: Command): Command =>
    c
      .option('--data-dir <dir>', 'the server data directory (its state.db and snapshots/ folder)', defaultDataDir())
      .option('--datastore <url>', 'sqlite:///path/state.db or etcd://host:port[,host:port] (default: the data dir\'s SQLite store)');
  storeOptions(snapshot.command('save'))
    .description('take a consistent snapshot (online: through the server when it holds the store) into <data-dir>/snapshots/')
    .option('--name <name>', 'snapshot name (default snapshot-<UTC time>)')
    .option('--no-compress', 'write the snapshot without gzip')
    .action(async (o: StoreFlags & { name?: string; compress: boolean }) => save(o, out));
  snapshot
    .command('ls')
    .description('list the snapshots in <data-dir>/snapshots/')
    .option('--data-dir <dir>', 'the server data directory', defaultDataDir())
    .action(async (o: { dataDir: string }) => ls(o, out));
  snapshot
    .command('delete <name>')
    .description('delete a snapshot from <data-dir>/snapshots/')
    .option('--data-dir <dir>', 'the server data directory', defaultDataDir())
    .action(async (name: string, o: { dataDir: string }) => {
      const file = await deleteSnapshot(join(resolve(o.dataDir), 'snapshots'), name);
      out(`deleted snapshot ${name.replace(new RegExp(`\\${SNAPSHOT_EXTENSION}$`), '')} (${file})\n`);
    });
  storeOptions(snapshot.command('restore <file>'))
    .description('restore a snapshot (file or name) into an empty store with the server stopped; either engine')
    .option('--force', 'replace the keys of a non-empty store')
    .option('--bump-revision <n>', 'revisions to leave above the snapshot\'s (default 1e9: free on both engines)', positiveInt)
    .action(async (file: string, o: StoreFlags & { force?: boolean; bumpRevision?: number }) => restore(file, o, out));
  snapshot
    .command('verify <file>')
    .description('check a snapshot file completely (structure, count, checksum) and print its header')
    .option('--data-dir <dir>', 'the server data directory', defaultDataDir())
    .action(async (file: string, o: { dataDir: string }) => {
      const path = locateSnapshot(file, o.dataDir);
      const v = await verifySnapshot(path);
      out(`${path}: ok, format ${v.header.formatVersion}${v.compressed ? ' (gzip)' : ''}, ${describeHeader(v.header)}, sha256 ${v.sha256}\n`);
    });
  return snapshot;
}

// ---- scheduling: cron → next due time ------------------------------------------------------------

/** The first time strictly after `afterMs` that a 5-field cron schedule names (robfig/cron semantics), in its TZ or local time. */
export function nextCronTime(s: Extract<CronSchedule, { kind: 'fields' }>, afterMs: number): number {
  return nextScheduleTime(s, afterMs);
}

/** Turns a cron expression (5 fields, @hourly…, @every 10m, TZ= prefix) into a Schedule for startSnapshotSchedule; throws the parser's message when invalid. */
export function cronSnapshotSchedule(spec: string): Schedule {
  const s = parseCronSchedule(spec);
  if (s.kind === 'every') return everySchedule(Math.max(1000, s.ms));
  // Reject a schedule that can never fire now rather than at the first tick.
  nextCronTime(s, Date.now());
  return { next: (after) => nextCronTime(s, after) };
}
