/**
 * Thin wrappers over the runc command line (state root private to one agent), and cgroup readers for OOM kills and
 * stats (cgroup v1 hierarchies or the v2 unified tree).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Runs runc subcommands against one state root. */
export class Runc {
  constructor(readonly binary: string, readonly root: string) {}

  /** Global flags of every invocation. */
  globalArgs(): string[] {
    return ['--root', this.root];
  }

  /** `runc kill id SIGNAL`; resolves false when the container is not running. */
  async kill(id: string, signal: 'TERM' | 'KILL'): Promise<boolean> {
    try {
      await execFileP(this.binary, [...this.globalArgs(), 'kill', id, signal]);
      return true;
    } catch {
      return false;
    }
  }

  /** `runc delete --force id` (ignores a missing container). */
  async delete(id: string): Promise<void> {
    await execFileP(this.binary, [...this.globalArgs(), 'delete', '--force', id]).catch(() => undefined);
  }

  /** `runc list` as ids with status. */
  async list(): Promise<{ id: string; status: string; pid: number }[]> {
    try {
      const { stdout } = await execFileP(this.binary, [...this.globalArgs(), 'list', '--format', 'json']);
      const parsed = JSON.parse(stdout || 'null') as { id: string; status: string; pid: number }[] | null;
      return parsed ?? [];
    } catch {
      return [];
    }
  }

  /** runc's version line. */
  async version(): Promise<string> {
    try {
      const { stdout } = await execFileP(this.binary, ['--version']);
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

/** Removes a cgroup directory (and its empty children) in every hierarchy; ignores ones in use or absent. */
export function removeCgroup(cgroupsPath: string): void {
  const bases = isCgroupV2() ? [cgroupRoot] : fs.readdirSync(cgroupRoot).map((d) => join(cgroupRoot, d)).filter((d) => {
    try {
      return fs.statSync(d).isDirectory() && !fs.lstatSync(d).isSymbolicLink();
    } catch {
      return false;
    }
  });
  for (const b of bases) {
    const dir = join(b, cgroupsPath);
    const rm = (d: string): void => {
      let kids: string[] = [];
      try {
        kids = fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch {
        return;
      }
      for (const k of kids) rm(join(d, k));
      try {
        fs.rmdirSync(d);
      } catch {
        // busy or gone
      }
    };
    rm(dir);
  }
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
