/**
 * Thin wrappers over the runc command line (state root private to one agent), and cgroup readers for OOM kills and
 * stats (cgroup v1 hierarchies or the v2 unified tree).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import type { RunCommand } from './spawner.ts';
import { runChecked, runInline } from './spawner.ts';

/** Runs runc subcommands against one state root. */
export class Runc {
  private readonly run: RunCommand;

  /** `run` executes the subcommands (default: from this thread; the runtime passes its off-thread spawner). */
  constructor(readonly binary: string, readonly root: string, opts: { run?: RunCommand } = {}) {
    this.run = opts.run ?? runInline;
  }

  /** Global flags of every invocation. */
  globalArgs(): string[] {
    return ['--root', this.root];
  }

  /** `runc kill id SIGNAL`; resolves false when the container is not running. */
  async kill(id: string, signal: 'TERM' | 'KILL'): Promise<boolean> {
    try {
      await runChecked(this.run, this.binary, [...this.globalArgs(), 'kill', id, signal]);
      return true;
    } catch {
      return false;
    }
  }

  /** `runc delete --force id` (ignores a missing container). */
  async delete(id: string): Promise<void> {
    await this.run(this.binary, [...this.globalArgs(), 'delete', '--force', id]).catch(() => undefined);
  }

  /** `runc list` as ids with status. */
  async list(): Promise<{ id: string; status: string; pid: number }[]> {
    try {
      const { stdout } = await runChecked(this.run, this.binary, [...this.globalArgs(), 'list', '--format', 'json']);
      const parsed = JSON.parse(stdout || 'null') as { id: string; status: string; pid: number }[] | null;
      return parsed ?? [];
    } catch {
      return [];
    }
  }

  /** runc's version line. */
  async version(): Promise<string> {
    try {
      const { stdout } = await runChecked(this.run, this.binary, ['--version']);
      return /runc version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  }
}

/** The last error runc logged (JSON log format), without runc's own prefix noise. */
export function lastRuncError(logPath: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(logPath, 'utf8');
  } catch {
    return undefined;
  }
  let msg: string | undefined;
  for (const line of text.split('\n')) {
    try {
      const e = JSON.parse(line) as { level?: string; msg?: string };
      if (e.level === 'error' && e.msg) msg = e.msg;
    } catch {
      // not JSON
    }
  }
  return msg?.replace(/^runc (run|create|exec) failed: /, '');
}

const cgroupRoot = '/sys/fs/cgroup';

/** Whether the host uses the cgroup v2 unified hierarchy only. */
export function isCgroupV2(): boolean {
  return fs.existsSync(join(cgroupRoot, 'cgroup.controllers'));
}

function readNum(path: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function readKeyed(path: string, key: string): number | undefined {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(fs.readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** How many times the kernel's OOM killer killed in a cgroup (0 when unknown). */
export function oomKills(cgroupsPath: string): number {
  if (isCgroupV2()) return readKeyed(join(cgroupRoot, cgroupsPath, 'memory.events'), 'oom_kill') ?? 0;
  return readKeyed(join(cgroupRoot, 'memory', cgroupsPath, 'memory.oom_control'), 'oom_kill') ?? 0;
}

/** CPU time (ns) and memory working set (bytes) of a cgroup, as cAdvisor computes them. */
export function cgroupStats(cgroupsPath: string): { cpuNs: number; workingSet: number } | undefined {
  if (isCgroupV2()) {
    const usec = readKeyed(join(cgroupRoot, cgroupsPath, 'cpu.stat'), 'usage_usec');
    const cur = readNum(join(cgroupRoot, cgroupsPath, 'memory.current'));
    if (usec === undefined || cur === undefined) return undefined;
    const inactive = readKeyed(join(cgroupRoot, cgroupsPath, 'memory.stat'), 'inactive_file') ?? 0;
    return { cpuNs: usec * 1000, workingSet: Math.max(0, cur - inactive) };
  }
  const cpu = readNum(join(cgroupRoot, 'cpuacct', cgroupsPath, 'cpuacct.usage'));
  const mem = readNum(join(cgroupRoot, 'memory', cgroupsPath, 'memory.usage_in_bytes'));
  if (cpu === undefined || mem === undefined) return undefined;
  const inactive = readKeyed(join(cgroupRoot, 'memory', cgroupsPath, 'memory.stat'), 'total_inactive_file') ?? 0;
  return { cpuNs: cpu, workingSet: Math.max(0, mem - inactive) };
}

let hierarchies: string[] | undefined;

/** The cgroup mount points under which a path exists (the v2 root, or every v1 hierarchy; listed once). */
function cgroupBases(): string[] {
  if (hierarchies) return hierarchies;
  if (isCgroupV2()) hierarchies = [cgroupRoot];
  else {
    hierarchies = fs.readdirSync(cgroupRoot).map((d) => join(cgroupRoot, d)).filter((d) => {
      try {
        return fs.statSync(d).isDirectory() && !fs.lstatSync(d).isSymbolicLink();
      } catch {
        return false;
      }
    });
  }
  return hierarchies;
}

/**
 * Removes a cgroup directory (and its empty children) in every hierarchy; ignores ones in use or absent. The rmdirs
 * run on the thread pool: each costs the kernel a fraction of a millisecond, a dozen hierarchies per container.
 */
export async function removeCgroup(cgroupsPath: string): Promise<void> {
  const rm = async (d: string): Promise<void> => {
    let kids: string[];
    try {
      kids = (await fs.promises.readdir(d, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    await Promise.all(kids.map((k) => rm(join(d, k))));
    await fs.promises.rmdir(d).catch(() => undefined);
  };
  await Promise.all(cgroupBases().map((b) => rm(join(b, cgroupsPath))));
}

/** This process's oom_score_adj floor: lowering it needs CAP_SYS_RESOURCE (bit 24 of CapEff). */
export function minOomScoreAdj(): number {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
    if ((capEff >> 24n) & 1n) return -1000;
    return Number(fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
  } catch {
    return 0;
  }
}
