/**
 * Start-up path of a client verb in the built executable: each verb has a standalone CommonJS bundle
 * (dist/cli-verbs/<verb>.cjs, made by scripts/bundle.mjs) so that `skiff get` reads one file instead of resolving
 * and linking a few dozen ES module chunks, and that file is compiled with a V8 code cache kept under
 * ~/.cache/skiff (Node 20 has no compile cache for ES modules: this is what v8-compile-cache does for scripts).
 * Anything unusual (no bundle, help, a malformed flag) returns undefined and the caller takes the general path.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/** What a verb bundle exports: the fast path of runDirectVerb (undefined: not of the `[globals] verb …` shape). */
interface VerbBundle {
  run(argv: readonly string[]): Promise<number | undefined>;
}

/**
 * Runs the client verb of argv (node, script, …) from its bundle in `dir` when there is one; returns the exit
 * code, or undefined when no bundle applies. The code cache is written after a run that had none (or a stale one).
 */
export async function runBundledVerb(argv: readonly string[], dir: URL): Promise<number | undefined> {
  for (const word of argv.slice(2)) {
    if (word === '--') break;
    // The verb is the first word that is not a flag; a flag's value (`-n get`) is tried too and the verb's own
    // parser then declines it, so `-n get apply …` still runs apply.
    if (!/^[a-z_][a-z-]*$/.test(word)) continue;
    const file = fileURLToPath(new URL(`${word}.cjs`, dir));
    let st: Stats;
    try {
      st = statSync(file);
    } catch {
      continue;
    }
    const loaded = loadWithCodeCache(file, st);
    const code = await loaded.bundle.run(argv);
    loaded.saveCache();
    if (code !== undefined) return code;
  }
  return undefined;
}

/** Where compiled code is cached: $XDG_CACHE_HOME/skiff/v8 or ~/.cache/skiff/v8; SKIFF_NO_COMPILE_CACHE=1 turns it off. */
function cacheDir(): string | undefined {
  if (process.env['SKIFF_NO_COMPILE_CACHE']) return undefined;
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'skiff', 'v8');
}

function loadWithCodeCache(file: string, st: Stats): { bundle: VerbBundle; saveCache(): void } {
  const source = readFileSync(file, 'utf8');
  const dir = cacheDir();
  // V8 checks its version, flags and the source length, not the content: the file's identity (size, mtime, inode)
  // is in the key so that a rebuilt bundle never meets the code of an older one.
  const prefix = `${file.split('/').pop()}-`;
  const cacheFile = dir && join(dir, `${prefix}${st.size}-${Math.trunc(st.mtimeMs)}-${st.ino}-${process.version}.code`);
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // First run of this build: compiled from source, cached below.
    }
  }
  // The wrapper starts on the bundle's first line, so that stack traces keep its line numbers.
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __skiff_import_meta_url) {${source}\n})`, { filename: file, cachedData });
  const wrapper = script.runInThisContext() as (...a: unknown[]) => void;
  const mod = { exports: {} as Partial<VerbBundle> };
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file), pathToFileURL(file).href);
  const run = mod.exports.run;
  if (typeof run !== 'function') throw new Error(`${file} is not a verb bundle: rebuild with \`npm run build\``);
  return {
    bundle: { run },
    saveCache() {
      if (!cacheFile || (cachedData && !script.cachedDataRejected)) return;
      try {
        // After the run, the cache also holds the functions compiled lazily along the way (most of them).
        const data = script.createCachedData();
        mkdirSync(dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, data);
        renameSync(tmp, cacheFile);
        // Caches of earlier builds of this verb are dead weight.
        for (const f of readdirSync(dirname(cacheFile))) {
          if (f.startsWith(prefix) && f.endsWith('.code') && join(dirname(cacheFile), f) !== cacheFile) rmSync(join(dirname(cacheFile), f), { force: true });
        }
      } catch {
        // A read-only or full home directory only costs the next run its compile time.
      }
    },
  };
}
