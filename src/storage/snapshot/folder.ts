/**
 * The snapshot folder (`<data-dir>/snapshots/`): listing, deleting and pruning snapshot files by name.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openSnapshotReader, SNAPSHOT_EXTENSION, SnapshotError, type SnapshotHeader } from './format.ts';

/** The prefix of scheduled snapshots' names; only these are pruned by retention. */
export const SCHEDULED_PREFIX = 'scheduled-';

/** A snapshot file in the folder. */
export interface SnapshotEntry {
  /** The name without extension, as `snapshot delete` takes it. */
  name: string;
  file: string;
  bytes: number;
  modifiedAt: Date;
  /** The header, when it could be read. */
  header?: SnapshotHeader;
  /** Why the header could not be read. */
  error?: string;
}

/** Checks a snapshot name: letters, digits, dot, dash and underscore only (never a path). */
export function checkSnapshotName(name: string): string {
  const bare = name.endsWith(SNAPSHOT_EXTENSION) ? name.slice(0, -SNAPSHOT_EXTENSION.length) : name;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(bare) || bare.includes('..')) {
    throw new SnapshotError('Failed', `invalid snapshot name ${JSON.stringify(name)}: use letters, digits, ".", "-" and "_"`);
  }
  return bare;
}

/** The file of snapshot `name` in `dir`. */
export function snapshotPath(dir: string, name: string): string {
  return join(dir, checkSnapshotName(name) + SNAPSHOT_EXTENSION);
}

/** A name that sorts by time: `<prefix>YYYYMMDDTHHMMSSmmmZ` (UTC). */
export function timestampedName(prefix: string, at: Date): string {
  return prefix + at.toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** Lists the snapshots in `dir` (newest first), reading each header; an absent folder lists nothing. */
export async function listSnapshots(dir: string): Promise<SnapshotEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: SnapshotEntry[] = [];
  for (const n of names) {
    if (!n.endsWith(SNAPSHOT_EXTENSION)) continue;
    const file = join(dir, n);
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) continue;
    const entry: SnapshotEntry = { name: basename(n, SNAPSHOT_EXTENSION), file, bytes: st.size, modifiedAt: st.mtime };
    try {
      entry.header = (await openSnapshotReader(file, { headerOnly: true })).header;
    } catch (e) {
      entry.error = (e as Error).message;
    }
    out.push(entry);
  }
  const when = (e: SnapshotEntry): number => (e.header ? Date.parse(e.header.createdAt) : e.modifiedAt.getTime());
  return out.sort((x, y) => when(y) - when(x) || y.name.localeCompare(x.name));
}

/** Deletes snapshot `name` from `dir`; throws when there is none of that name. Returns the removed file. */
export async function deleteSnapshot(dir: string, name: string): Promise<string> {
  const file = snapshotPath(dir, name);
  try {
    await stat(file);
  } catch {
    throw new SnapshotError('Failed', `snapshot ${JSON.stringify(checkSnapshotName(name))} not found in ${dir}`);
  }
  await rm(file);
  return file;
}

/** Deletes the oldest snapshots whose names start with `prefix` so that `keep` remain; returns the names deleted. */
export async function pruneSnapshots(dir: string, opts: { keep: number; prefix?: string }): Promise<string[]> {
  const prefix = opts.prefix ?? SCHEDULED_PREFIX;
  const mine = (await listSnapshots(dir)).filter((e) => e.name.startsWith(prefix));
  const doomed = mine.slice(Math.max(0, opts.keep));
  for (const e of doomed) await rm(e.file, { force: true });
  return doomed.map((e) => e.name);
}
