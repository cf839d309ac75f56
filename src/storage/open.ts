import { isAbsolute, join } from 'node:path';
import type { Storage } from './interface.ts';
import type { SqliteStorageOptions } from './sqlite/sqlite-storage.ts';

/** A parsed --datastore URL. */
export type DatastoreSpec = { engine: 'sqlite'; path: string } | { engine: 'etcd'; endpoints: string[] };

const EXPECTED = 'expected sqlite:///abs/path/state.db, sqlite://relative/path or etcd://host:port[,host:port...]';

function malformed(url: string, why: string): Error {
  return new Error(`invalid datastore URL ${JSON.stringify(url)}: ${why}; ${EXPECTED}`);
}

/** The endpoint as given when it is host:port with a usable port (IPv6 hosts in brackets). */
function parseEndpoint(url: string, endpoint: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(endpoint);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw malformed(url, `endpoint ${JSON.stringify(endpoint)} is not host:port`);
  return endpoint;
}

/**
 * Parses a datastore URL: `sqlite:///abs/path/state.db`, `sqlite://rel/path` (under `dataDir`) or
 * `etcd://host:port[,host:port…]`. Throws an Error whose one-line message names the URL when malformed.
 */
export function parseDatastoreUrl(url: string, opts: { dataDir?: string } = {}): DatastoreSpec {
  const m = /^([a-z0-9]+):\/\/(.*)$/s.exec(url);
  if (!m) throw malformed(url, 'not a URL');
  const [, scheme = '', rest = ''] = m;
  if (/[\s?#]/.test(rest)) throw malformed(url, 'whitespace, query strings and fragments are not supported');
  if (scheme === 'sqlite') {
    if (rest === '' || rest.endsWith('/')) throw malformed(url, 'no database file named');
    if (isAbsolute(rest)) return { engine: 'sqlite', path: rest };
    if (!opts.dataDir) throw malformed(url, 'a relative path needs a data directory');
    return { engine: 'sqlite', path: join(opts.dataDir, rest) };
  }
  if (scheme === 'etcd') {
    if (rest === '') throw malformed(url, 'no endpoints');
    return { engine: 'etcd', endpoints: rest.split(',').map((e) => parseEndpoint(url, e)) };
  }
  throw malformed(url, `unknown engine ${JSON.stringify(scheme)}`);
}

/** Options of openStorage. */
export interface OpenStorageOptions {
  /** Base directory of relative sqlite paths. */
  dataDir?: string;
  sqlite?: SqliteStorageOptions;
  /** Passed to the etcd engine's openEtcdStorage. */
  etcd?: Record<string, unknown>;
}

/**
 * Opens the engine a datastore URL names. Malformed URLs throw as parseDatastoreUrl does; an engine that
 * cannot open (locked, corrupt, unreachable) throws its StorageError, whose message names the file or endpoints.
 */
export async function openStorage(url: string, opts: OpenStorageOptions = {}): Promise<Storage> {
  const spec = parseDatastoreUrl(url, opts.dataDir === undefined ? {} : { dataDir: opts.dataDir });
  if (spec.engine === 'sqlite') {
    const { openSqliteStorage } = await import('./sqlite/sqlite-storage.ts');
    return openSqliteStorage(spec.path, opts.sqlite ?? {});
  }
  // Loaded on demand: a server on the default engine never pays for the etcd client.
  const etcd = (await import('./etcd/etcd-storage.ts')) as {
    openEtcdStorage: (endpoints: string[], o?: Record<string, unknown>) => Promise<Storage>;
  };
  return etcd.openEtcdStorage(spec.endpoints, opts.etcd ?? {});
}
