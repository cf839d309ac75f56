/**
 * Helpers for the CLI integration tests: bundle the client verbs alone (src/cmd/cli.ts runCli, esbuild with code
 * splitting, as bin/skiff would be) into a temp dir, and run that `skiff` with a fresh HOME, the way
 * kubectlFor runs kubectl, so that both can be compared on the same server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { KubectlResult } from './helpers/cluster.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** A bundled standalone CLI: `entry` is the .mjs to run with node. */
export interface BuiltCli {
  entry: string;
  cleanup(): void;
}

/** Bundles `runCli` into a temp dir (about a second). */
export async function buildCli(): Promise<BuiltCli> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cli-bundle-'));
  // The bundle resolves its external packages from the repository's node_modules.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await build({
    stdin: {
      contents: "import { runCli } from './src/cmd/cli.ts';\nprocess.exitCode = await runCli(process.argv);\n",
      resolveDir: ROOT,
      sourcefile: 'cli-entry.ts',
      loader: 'ts',
    },
    outdir: join(dir, 'dist'),
    entryNames: 'skiff',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);" },
  });
  return { entry: join(dir, 'dist', 'skiff.mjs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs skiff with its own HOME (like kubectlFor). */
export interface Skiff {
  (args: string[], opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number; noKubeconfig?: boolean }): Promise<KubectlResult>;
  home: string;
  cleanup(): void;
}

/** Makes a skiff runner bound to a kubeconfig (omit it to test configuration errors). */
export function skiffFor(cli: BuiltCli, server?: { kubeconfig: string }): Skiff {
  const home = mkdtempSync(join(tmpdir(), 'skiff-cli-home-'));
  const run = ((args: string[], o: { input?: string; env?: Record<string, string>; timeoutMs?: number; noKubeconfig?: boolean } = {}) =>
    new Promise<KubectlResult>((resolveRun) => {
      const pre = server && !o.noKubeconfig ? ['--kubeconfig', server.kubeconfig] : [];
      const child = execFile(process.execPath, [cli.entry, ...pre, ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: home, ...o.env },
        timeout: o.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
      }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
        resolveRun({ code, stdout, stderr });
      });
      if (o.input !== undefined) child.stdin!.end(o.input);
      else child.stdin?.end();
    })) as Skiff;
  run.home = home;
  run.cleanup = () => rmSync(home, { recursive: true, force: true });
  return run;
}

/** Runs the real kubectl with only the given environment (no --kubeconfig), for KUBECONFIG merge tests. */
export function kubectlRaw(args: string[], opts: { env: Record<string, string>; home: string }): Promise<KubectlResult> {
  return new Promise((resolveRun) => {
    const child = execFile('kubectl', args, { env: { PATH: process.env.PATH ?? '', HOME: opts.home, ...opts.env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolveRun({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}
