/**
 * `skiff server`: wires the storage engine, the API server and (as later components land) the scheduler,
 * controller manager and embedded agent; writes the admin kubeconfig; stops cleanly on SIGTERM/SIGINT.
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { ApiServer } from '../apiserver/server.ts';
import { openStorage } from '../storage/open.ts';
import { catalog, bootstrapObjects } from '../api/catalog.ts';
import { buildOpenApi } from '../apiserver/openapi/documents.ts';
import { logger } from '../base/log.ts';
import { startCompactor } from '../storage/compactor.ts';
import { snapshotHandler, SNAPSHOT_ENDPOINT } from '../storage/snapshot/http-handler.ts';
import { startSnapshotSchedule } from '../storage/snapshot/schedule.ts';
import type { SnapshotSchedule } from '../storage/snapshot/schedule.ts';
import { cronSnapshotSchedule } from './snapshot.ts';
import { SKIFF_VERSION } from '../apiserver/version.ts';
import { Counter, Gauge } from 'prom-client';
import type { ApiServer as ApiServerT } from '../apiserver/server.ts';

const log = logger('server');

/** Options of `skiff server`. */
export interface ServerOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  datastore?: string;
  agent: boolean;
  maxRequestsInflight?: number;
  /** Run the controller manager in this process (default true). */
  controllerManager?: boolean;
  /** Cron expression for scheduled snapshots (unset: none). */
  snapshotSchedule?: string;
  /** Scheduled snapshots to keep. */
  snapshotRetention?: number;
}

/** Writes the admin kubeconfig atomically and returns its path. */
export function writeAdminKubeconfig(dataDir: string, serverUrl: string): string {
  const path = join(dataDir, 'kubeconfig.yaml');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'skiff', cluster: { server: serverUrl } }],
    users: [{ name: 'skiff-admin', user: { token: 'skiff-admin' } }],
    contexts: [{ name: 'skiff', context: { cluster: 'skiff', user: 'skiff-admin', namespace: 'default' } }],
    'current-context': 'skiff',
    preferences: {},
  };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, yamlStringify(doc), { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** Runs the server until a signal arrives. Resolves with the process exit code. */
export async function runServer(o: ServerOptions): Promise<number> {
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const schedule = o.snapshotSchedule ? cronSnapshotSchedule(o.snapshotSchedule) : undefined;
  const storage = await openStorage(o.datastore ?? `sqlite://${join(dataDir, 'state.db')}`, { dataDir });
  const api = new ApiServer({
    adminHandlers: { [SNAPSHOT_ENDPOINT]: snapshotHandler(storage, { skiffVersion: SKIFF_VERSION }) },
    catalog, storage, host: o.bindAddress, port: o.port, bootstrap: bootstrapObjects(), openapi: buildOpenApi(catalog),
    ...(o.maxRequestsInflight ? { maxInFlight: o.maxRequestsInflight } : {}),
  });
  let addr: { url: string };
  try {
    addr = await api.start();
  } catch (e) {
    await storage.close().catch(() => undefined);
    throw e;
  }
  const compactor = startCompactor(storage, { intervalMs: 5 * 60 * 1000 });
  const snapshots = schedule
    ? startScheduledSnapshots(api, storage, { schedule, retention: o.snapshotRetention ?? 5, dir: join(dataDir, 'snapshots') })
    : undefined;
  const kubeconfig = writeAdminKubeconfig(dataDir, addr.url);
  const components: { name: string; stop: () => Promise<void> }[] = [];
  if (o.controllerManager !== false) {
    const { startControllerManager } = await import('../controllers/index.ts');
    const cm = await startControllerManager({ kubeconfig });
    components.push({ name: 'controller-manager', stop: () => cm.stop() });
  }
  log.info('skiff server ready', { url: addr.url, engine: storage.engine, ms: Date.now() - started });
  process.stdout.write(`skiff server listening on ${addr.url}\nadmin kubeconfig written to ${kubeconfig}\n  export KUBECONFIG=${kubeconfig}\n`);
  await new Promise<void>((resolveStop) => {
    const stop = (sig: string): void => {
      log.info('shutting down', { signal: sig });
      resolveStop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await snapshots?.stop();
  for (const c of components.reverse()) {
    await c.stop().catch((e: unknown) => log.warn('component did not stop cleanly', { component: c.name, err: e }));
  }
  await api.stop({ timeoutMs: 10_000 });
  await compactor.stop();
  await storage.close();
  log.info('stopped');
  return 0;
}

/** Scheduled snapshots, each reported as an Event in kube-system and in /metrics. */
function startScheduledSnapshots(
  api: ApiServerT,
  storage: Awaited<ReturnType<typeof openStorage>>,
  o: { schedule: ReturnType<typeof cronSnapshotSchedule>; retention: number; dir: string },
): SnapshotSchedule {
  const taken = new Counter({ name: 'skiff_snapshots_total', help: 'Scheduled snapshots by result.', labelNames: ['result'] as const, registers: [api.metrics.registry] });
  const last = new Gauge({ name: 'skiff_snapshot_last_success_timestamp_seconds', help: 'Time of the last successful scheduled snapshot.', registers: [api.metrics.registry] });
  const lastRev = new Gauge({ name: 'skiff_snapshot_last_revision', help: 'Store revision of the last scheduled snapshot.', registers: [api.metrics.registry] });
  const report = (type: 'Normal' | 'Warning', reason: string, message: string): void => {
    const events = api.storeFor('', 'events');
    if (!events) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // Events about cluster-scoped objects live in the default namespace, as upstream's recorders put them.
    events.create('default', {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: 'skiff-snapshot-' },
      involvedObject: { apiVersion: 'v1', kind: 'Namespace', name: 'default' },
      reason, message, type, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'skiff-server' }, reportingComponent: 'skiff-server',
    }).catch((e: unknown) => log.warn('snapshot event not recorded', { err: e }));
  };
  return startSnapshotSchedule(storage, {
    schedule: o.schedule, retention: o.retention, dir: o.dir, save: { skiffVersion: SKIFF_VERSION },
    onSnapshot: (snap) => {
      taken.inc({ result: 'success' });
      last.set(Date.now() / 1000);
      lastRev.set(snap.header.revision);
      report('Normal', 'SnapshotTaken', `Snapshot ${snap.name} taken at revision ${snap.header.revision} (${snap.header.count} keys)${snap.pruned.length ? `; pruned ${snap.pruned.join(', ')}` : ''}`);
    },
    onError: (e) => {
      taken.inc({ result: 'error' });
      report('Warning', 'SnapshotFailed', `Scheduled snapshot failed: ${e instanceof Error ? e.message : String(e)}`);
    },
  });
}
