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

const log = logger('server');

/** Options of `skiff server`. */
export interface ServerOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  datastore?: string;
  agent: boolean;
  maxRequestsInflight?: number;
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
  const storage = await openStorage(o.datastore ?? `sqlite://${join(dataDir, 'state.db')}`, { dataDir });
  const api = new ApiServer({
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
  const kubeconfig = writeAdminKubeconfig(dataDir, addr.url);
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
  await api.stop({ timeoutMs: 10_000 });
  await compactor.stop();
  await storage.close();
  log.info('stopped');
  return 0;
}
