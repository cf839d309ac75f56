/**
 * The machine's CPU time stolen by the hypervisor over a stretch of a benchmark (from /proc/stat), so a
 * table can say how much of its latency came from the virtual machine not being given its cores.
 */
import { readFileSync } from 'node:fs';

interface CpuTimes {
  total: number;
  steal: number;
}

function read(): CpuTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** Starts measuring; the returned function gives the percentage of CPU time stolen since (NaN where unknown). */
export function stealMeter(): () => number {
  const start = read();
  return () => {
    const end = read();
    if (start === undefined || end === undefined || end.total <= start.total) return Number.NaN;
    return (100 * (end.steal - start.steal)) / (end.total - start.total);
  };
}
