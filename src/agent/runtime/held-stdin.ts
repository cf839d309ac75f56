/**
 * What the process and runc runtimes share to keep a container's stdin across agent restarts: a holder process
 * keeps the stdin FIFO open while no agent runs, and a new agent reopens the FIFO for attach (and identifies the
 * holder, or any process it recorded, by pid and start time so that a recycled pid is never mistaken for it).
 */
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/** The start time of a live (not zombie) process from /proc/<pid>/stat (field 22), or undefined. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie is not running.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The record fields of a container whose stdin a holder may keep open (`stdin.fifo` in `dir`). */
export interface HeldStdinRecord {
  dir: string;
  config: { stdin?: boolean; tty?: boolean };
  stdinHolderPid?: number;
  stdinHolderStart?: string;
  stdinClosed?: boolean;
}

/** Reopens an adopted container's stdin for attach, unless it was closed (or its holder is gone, which closed it). */
export function reopenStdin(rec: HeldStdinRecord, live: { stdinWriter?: net.Socket }): void {
  if (!(rec.config.stdin || rec.config.tty) || rec.stdinClosed) return;
  const holderAlive = rec.stdinHolderPid !== undefined && rec.stdinHolderStart !== undefined && procStartTime(rec.stdinHolderPid) === rec.stdinHolderStart;
  if (!holderAlive) {
    rec.stdinClosed = true;
    return;
  }
  // O_RDWR never blocks or fails with ENXIO, whatever the reader does meanwhile.
  const inW = fs.openSync(join(rec.dir, 'stdin.fifo'), fs.constants.O_RDWR);
  live.stdinWriter = new net.Socket({ fd: inW, readable: false, writable: true });
  live.stdinWriter.on('error', () => undefined);
}
