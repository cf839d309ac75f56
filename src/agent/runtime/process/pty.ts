/**
 * Pseudo-terminals for the process runtime without native code: `script(1)` allocates the pty and copies between
 * it and its own stdio; the window size is set on the slave side with `stty -F`, after which the kernel signals
 * the terminal's foreground process group (SIGWINCH). Because the size lives in the kernel's pty, resizing works
 * from any process — also from an agent that adopted the container after a restart.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { TerminalSize } from '../runtime.ts';

const execFileP = promisify(execFile);

/** Quotes one word for /bin/sh. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\-./=:,@%+]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The argv that runs `cmd` on a fresh pseudo-terminal; `script -e` exits with the command's exit code. */
export function onPty(cmd: string[]): string[] {
  return ['script', '-qefc', cmd.map(shellQuote).join(' '), '/dev/null'];
}

/** Direct children of `pid` (empty when it is gone). */
export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
}

/** The `/dev/pts/N` that a descendant of `pid` (at most `depth` levels down) has as its stdin, if any yet. */
export function ptyBelow(pid: number, depth = 3): string | undefined {
  for (const k of childrenOf(pid)) {
    try {
      const t = fs.readlinkSync(`/proc/${k}/fd/0`);
      if (t.startsWith('/dev/pts/')) return t;
    } catch {
      // the child is exiting
    }
    if (depth > 1) {
      const inner = ptyBelow(k, depth - 1);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** Sets the window size of a pty (the kernel then sends SIGWINCH to its foreground process group). */
export async function setPtySize(tty: string, size: TerminalSize): Promise<void> {
  await execFileP('stty', ['-F', tty, 'rows', String(size.height), 'cols', String(size.width)]);
}

/**
 * Applies every size of `sizes` to the pty below `pid` until the stream ends or `isAlive()` turns false.
 * Sizes that arrive before `script` has opened its pty wait for it (a client sends its first size right after
 * connecting); sizes that queue up meanwhile collapse to the latest one, which is all a terminal needs.
 */
export async function forwardResizes(pid: number, sizes: AsyncIterable<TerminalSize>, opts: { isAlive: () => boolean; waitMs?: number }): Promise<void> {
  let latest: TerminalSize | undefined;
  let applying: Promise<void> | undefined;
  const apply = async (): Promise<void> => {
    const deadline = Date.now() + (opts.waitMs ?? 5000);
    while (latest && opts.isAlive()) {
      const tty = ptyBelow(pid);
      if (!tty) {
        if (Date.now() > deadline) {
          latest = undefined;
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const size = latest;
      latest = undefined;
      await setPtySize(tty, size).catch(() => undefined);
    }
  };
  const kick = (): void => {
    if (applying) return;
    applying = apply().finally(() => {
      applying = undefined;
      if (latest && opts.isAlive()) kick();
    });
  };
  try {
    for await (const s of sizes) {
      if (!opts.isAlive()) break;
      latest = s;
      kick();
    }
  } catch {
    // the resize stream ended with the session
  }
  await applying;
}
