/**
 * The iptables edge of the service proxy: runs `iptables`, `iptables-save` and `iptables-restore` (with `--wait`
 * so that concurrent writers on the host queue instead of failing).
 */
import { spawn } from 'node:child_process';

/** What the proxy needs from iptables (a fake in tests, the binaries otherwise). */
export interface Iptables {
  /** Applies an `iptables-restore --noflush` batch atomically; rejects with iptables' message on error. */
  restore(text: string, opts?: { test?: boolean }): Promise<void>;
  /** `iptables-save -t <table>` output. */
  save(table: 'nat' | 'filter'): Promise<string>;
  /** Runs `iptables -w <args>`; resolves with the exit code (a failed check is code 1, not an error). */
  run(args: string[]): Promise<number>;
}

/** The error of a failed iptables command. */
export class IptablesError extends Error {
  constructor(message: string, readonly exitCode: number | null) {
    super(message);
    this.name = 'IptablesError';
  }
}

function exec(cmd: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined); // EPIPE when the command exits early; its exit code says why
    child.stdin.end(input ?? '');
  });
}

/** The host's iptables binaries (IPv4). */
export function hostIptables(opts: { binary?: string } = {}): Iptables {
  const bin = opts.binary ?? 'iptables';
  return {
    async restore(text, o = {}) {
      const args = ['--noflush', '--wait', ...(o.test ? ['--test'] : [])];
      const r = await exec(`${bin}-restore`, args, text);
      if (r.code !== 0) throw new IptablesError(`${bin}-restore failed: ${r.stderr.trim() || `exit ${r.code}`}`, r.code);
    },
    async save(table) {
      const r = await exec(`${bin}-save`, ['-t', table]);
      if (r.code !== 0) throw new IptablesError(`${bin}-save failed: ${r.stderr.trim()}`, r.code);
      return r.stdout;
    },
    async run(args) {
      const r = await exec(bin, ['-w', ...args]);
      return r.code ?? 1;
    },
  };
}

/** The chains of `iptables-save` output whose names start with `prefix`. */
export function chainsWithPrefix(saved: string, prefix: string): string[] {
  const out: string[] = [];
  for (const line of saved.split('\n')) {
    if (line.startsWith(`:${prefix}`)) out.push(line.slice(1).split(' ')[0]!);
  }
  return out;
}
