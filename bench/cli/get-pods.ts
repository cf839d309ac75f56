/**
 * Start-up benchmark: wall time of `skiff get pods` against `kubectl get pods` on the same local server, both
 * with a warm discovery cache, run alternately many times; prints the medians and their ratio (no assertion).
 *   node --import tsx bench/cli/get-pods.ts [runs]
 * The skiff measured is the executable that bin/skiff runs, built by scripts/bundle.mjs into a temporary
 * directory (dist/skiff.mjs and its per-verb bundles, with the V8 code cache warmed by the first run); pass
 * SKIFF_ENTRY=path/to/skiff.mjs to measure another build, and SKIFF_BASELINE_ENTRY=path/to/other/skiff.mjs to time
 * an earlier build in the same alternating runs (before/after under the same load). The environment is only PATH,
 * HOME and KUBECONFIG (a NODE_EXTRA_CA_CERTS in the caller's environment costs every node process ~100 ms).
 * The load average is printed with the table: on a busy machine the numbers are inflated.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer } from '../../test/integration/helpers/cluster.ts';
// @ts-expect-error -- a plain ES module script without type declarations
import { bundle } from '../../scripts/bundle.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Builds the executable as `npm run build` does, into a temporary directory (dist/ may be in use). */
async function buildExecutable(): Promise<{ entry: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-build-'));
  // The bundle resolves its external packages from the repository's node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await (bundle as (outdir: string) => Promise<void>)(join(dir, 'dist'));
  return { entry: join(dir, 'dist', 'skiff.mjs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const runs = Number(process.argv[2] ?? 30);
const server = await startServer();
const cli = await buildExecutable();
const home = mkdtempSync(join(tmpdir(), 'skiff-bench-cli-'));
try {
  const env = { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: server.kubeconfig };
  execFileSync('kubectl', ['run', 'bench', '--image=busybox'], { env });
  const entry = process.env['SKIFF_ENTRY'] ?? cli.entry;
  const commands: Record<string, [string, string[]]> = {
    kubectl: ['kubectl', ['get', 'pods']],
    skiff: [process.execPath, [entry, 'get', 'pods']],
  };
  const baseline = process.env['SKIFF_BASELINE_ENTRY'];
  if (baseline) commands['skiff (baseline)'] = [process.execPath, [baseline, 'get', 'pods']];
  const load0 = loadavg()[0]!;
  // Warm both discovery caches (they share ~/.kube/cache) and the OS file cache.
  for (const [cmd, args] of Object.values(commands)) spawnSync(cmd, args, { env });
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, [cmd, args]] of Object.entries(commands)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { env });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${name} failed: ${String(r.stderr)}`);
      times[name]!.push(ms);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const mk = median(times['kubectl']!);
  const rows = [['command', 'runs', 'median ms', 'min ms', 'max ms']];
  for (const [name, xs] of Object.entries(times)) rows.push([`${name} get pods`, String(runs), median(xs).toFixed(1), Math.min(...xs).toFixed(1), Math.max(...xs).toFixed(1)]);
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) process.stdout.write(r.map((x, c) => x.padEnd(w[c]! + 2)).join('') + '\n');
  for (const name of Object.keys(times)) {
    if (name !== 'kubectl') process.stdout.write(`ratio ${name}/kubectl (median): ${(median(times[name]!) / mk).toFixed(2)}\n`);
  }
  process.stdout.write(`load average (1 min) before/after: ${load0.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}\n`);
} finally {
  rmSync(home, { recursive: true, force: true });
  cli.cleanup();
  await server.stop();
}
