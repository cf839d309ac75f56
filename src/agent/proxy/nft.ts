/**
 * The nftables edge of the service proxy: runs `nft -f -` (one batch = one kernel transaction), lists a table's
 * objects and deletes the table.
 */
import { spawn } from 'node:child_process';
import { parseNftNames } from './nft-rules.ts';
import type { NftNames } from './nft-rules.ts';

/** What the proxy needs from nft (a fake in tests, the binary otherwise). */
export interface Nft {
  /** Applies a batch atomically (`check`: parse and validate only, `nft -c`); rejects with nft's message. */
  apply(text: string, opts?: { check?: boolean }): Promise<void>;
  /** The chains and sets of `ip <table>`, or undefined when the table does not exist. */
  names(table: string): Promise<NftNames | undefined>;
  /** Deletes `ip <table>`; resolves false when it did not exist. */
  deleteTable(table: string): Promise<boolean>;
}

/** The error of a failed nft command. */
export class NftError extends Error {
  constructor(message: string, readonly exitCode: number | null) {
    super(message);
    this.name = 'NftError';
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
    child.stdin.on('error', () => undefined); // EPIPE when nft exits early; its exit code says why
    child.stdin.end(input ?? '');
  });
}

/** The host's nft binary. */
export function hostNft(opts: { binary?: string } = {}): Nft {
  const bin = opts.binary ?? 'nft';
  return {
    async apply(text, o = {}) {
      const r = await exec(bin, [...(o.check ? ['-c'] : []), '-f', '-'], text);
      // nft's messages quote the failing line; the first few are enough to say what went wrong.
      if (r.code !== 0) throw new NftError(`nft failed: ${r.stderr.trim().split('\n').slice(0, 6).join('\n') || `exit ${r.code}`}`, r.code);
    },
    async names(table) {
      // `list table` (even terse) makes nft fetch every set element, which costs as much as loading them (~0.4 s
      // at 20,000 elements); listing chains, then sets and maps tersely, per family, skips the elements.
      const [chains, sets, maps] = await Promise.all([
        exec(bin, ['list', 'chains', 'ip']),
        exec(bin, ['-t', 'list', 'sets', 'ip']),
        exec(bin, ['-t', 'list', 'maps', 'ip']),
      ]);
      if (chains.code !== 0 || sets.code !== 0 || maps.code !== 0) return undefined;
      if (!chains.stdout.split('\n').includes(`table ip ${table} {`)) return undefined;
      const names = parseNftNames(chains.stdout, { table });
      for (const [n, kind] of parseNftNames(`${sets.stdout}\n${maps.stdout}`, { table }).sets) names.sets.set(n, kind);
      return names;
    },
    async deleteTable(table) {
      const r = await exec(bin, ['delete', 'table', 'ip', table]);
      return r.code === 0;
    },
  };
}

/** Whether nftables can be programmed here: the nft binary runs and may read the ruleset (root / CAP_NET_ADMIN). */
export async function nftAvailable(opts: { binary?: string } = {}): Promise<boolean> {
  try {
    const r = await exec(opts.binary ?? 'nft', ['list', 'tables']);
    return r.code === 0;
  } catch {
    return false;
  }
}
