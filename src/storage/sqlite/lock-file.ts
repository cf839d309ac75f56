import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { StorageError } from '../errors.ts';

/** An exclusive lock held through a PID file; `release()` removes it. */
export interface LockFile {
  readonly path: string;
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM means the process exists but belongs to someone else: still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readPid(path: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock file at `path` (created with O_EXCL, holding this PID). A lock left by a dead process is
 * taken over; one held by a live process (including this one) fails with a Locked error naming the file.
 */
export function acquireLockFile(path: string, opts: { what?: string } = {}): LockFile {
  const what = opts.what ?? path;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError('Locked', `cannot create lock file ${path} for ${what}: ${(e as Error).message}`, { cause: e });
      }
      const pid = readPid(path);
      // A PID-less lock may belong to a peer that has created the file but not yet written to it; only
      // after a few seconds is it a leftover from a crash between open and write.
      if (pid !== null ? pidAlive(pid) : Date.now() - mtimeMs(path) < 5000) {
        throw new StorageError(
          'Locked',
          `${what} is in use: lock file ${path} is held by ${pid === null ? 'another process' : `process ${pid}`} ` +
            '(only one process may open it; stop the other server or remove the lock file if that process is gone)',
        );
      }
      try {
        unlinkSync(path);
      } catch {
        // Another opener removed it first; the O_EXCL retry decides who wins.
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      path,
      release: () => {
        if (released) return;
        released = true;
        if (readPid(path) === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        }
      },
    };
  }
  throw new StorageError('Locked', `cannot take lock file ${path} for ${what}: it keeps reappearing`);
}
