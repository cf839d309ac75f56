import Database from 'better-sqlite3';
import { StorageError } from '../errors.ts';

/** PRAGMA application_id of a Skiff store ("Skif"), so a foreign SQLite file is told apart from ours. */
export const APPLICATION_ID = 0x536b6966;
/** PRAGMA user_version of the current schema. */
export const SCHEMA_VERSION = 1;

/**
 * The schema. `log` is the kine-style history: one row per write, its id being the revision. `current`
 * indexes the live keys (name → latest revision) so that reads at the latest revision never walk history.
 * `meta` holds the compaction state.
 */
const DDL = `
CREATE TABLE log (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  lease INTEGER NOT NULL DEFAULT 0,
  value BLOB
);
CREATE UNIQUE INDEX log_name_prev_revision ON log (name, prev_revision);
CREATE INDEX log_name_id ON log (name, id);
CREATE TABLE current (
  name TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX current_expires_at ON current (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('compact_revision', 0), ('compact_done', 0);
`;

const EXPECTED_TABLES = ['current', 'log', 'meta'];

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Opens (creating when new) the SQLite file at `path` with Skiff's schema, WAL and durable commits.
 * A file that is not SQLite, not ours, of another schema version or damaged fails with Corrupt naming it.
 */
export function openDatabase(path: string, opts: { integrityCheck?: boolean } = {}): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (e) {
    throw new StorageError('Unavailable', `cannot open SQLite database ${path}: ${describe(e)}`, { cause: e });
  }
  try {
    // Exclusive locking before the first WAL access keeps the wal-index in process memory (no -shm file)
    // and keeps every other process (a stray sqlite3 shell included) out while we run.
    db.pragma('locking_mode = EXCLUSIVE');
    let appId: number;
    let tables: string[];
    try {
      appId = db.pragma('application_id', { simple: true }) as number;
      tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[])
        .map((r) => r.name);
    } catch (e) {
      throw new StorageError('Corrupt', `${path} is not a usable SQLite database: ${describe(e)}`, { cause: e });
    }
    if (appId === 0 && tables.length === 0) {
      db.pragma('journal_mode = WAL');
      db.transaction(() => {
        db.exec(DDL);
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } else if (appId !== APPLICATION_ID) {
      throw new StorageError(
        'Corrupt',
        `${path} is not a Skiff database (it holds tables ${tables.join(', ') || '(none)'}); refusing to use it`,
      );
    } else {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SCHEMA_VERSION) {
        throw new StorageError('Corrupt', `${path} has Skiff schema version ${version}; this build reads version ${SCHEMA_VERSION}`);
      }
      const missing = EXPECTED_TABLES.filter((t) => !tables.includes(t));
      if (missing.length > 0) {
        throw new StorageError('Corrupt', `${path} is damaged: missing tables ${missing.join(', ')}`);
      }
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StorageError('Unavailable', `${path}: cannot enable WAL mode (got ${String(mode)})`);
    // FULL: every commit fsyncs the WAL, so an acknowledged write survives a crash of the process or the machine.
    db.pragma('synchronous = FULL');
    // After a checkpoint resets the WAL, truncate the file back to this size so it cannot stay large.
    db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
    db.pragma('cache_size = -32768');
    db.pragma('temp_store = MEMORY');
    if (opts.integrityCheck ?? true) {
      let result: unknown;
      try {
        result = db.pragma('quick_check(1)', { simple: true });
      } catch (e) {
        throw new StorageError('Corrupt', `${path} is damaged: ${describe(e)}`, { cause: e });
      }
      if (result !== 'ok') throw new StorageError('Corrupt', `${path} is damaged: ${String(result)}`);
    }
    return db;
  } catch (e) {
    db.close();
    if (e instanceof StorageError) throw e;
    throw new StorageError('Corrupt', `cannot use SQLite database ${path}: ${describe(e)}`, { cause: e });
  }
}
