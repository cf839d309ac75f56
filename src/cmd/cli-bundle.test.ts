import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBundledVerb } from './cli-bundle.ts';

// A verb bundle as scripts/bundle.mjs makes them: CommonJS exporting run(argv). This one records its calls on a
// global, declines when told to, and returns the exit code given as its last argument.
const verbSource = (name: string, extra = ''): string => `${extra}
exports.run = async (argv) => {
  (globalThis.__verbCalls ??= []).push({ name: ${JSON.stringify(name)}, argv: [...argv], url: __skiff_import_meta_url, req: typeof require('node:path').join });
  if (argv.includes('--decline')) return undefined;
  return Number(argv[argv.length - 1]);
};
`;

/** Runs runBundledVerb in a fresh node process and returns what it returned, as text. */
function runInChild(argv: string[], verbs: URL, cache: string): string {
  const code = `const { runBundledVerb } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'cli-bundle.ts')).href)});
process.stdout.write(String(await runBundledVerb(JSON.parse(process.argv[1]), new URL(process.argv[2]))));`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, JSON.stringify(argv), verbs.href], {
    env: { ...process.env, XDG_CACHE_HOME: cache, SKIFF_NO_COMPILE_CACHE: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const calls = (): { name: string; argv: string[]; url: string; req: string }[] => (globalThis as { __verbCalls?: [] }).__verbCalls ?? [];

describe('runBundledVerb', () => {
  let dir: string;
  let verbs: URL;
  let cache: string;
  const savedXdg = process.env['XDG_CACHE_HOME'];
  const savedOff = process.env['SKIFF_NO_COMPILE_CACHE'];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-cli-bundle-'));
    writeFileSync(join(dir, 'get.cjs'), verbSource('get'));
    writeFileSync(join(dir, 'apply.cjs'), verbSource('apply'));
    verbs = pathToFileURL(dir + '/');
    cache = join(dir, 'cache');
    process.env['XDG_CACHE_HOME'] = cache;
    delete process.env['SKIFF_NO_COMPILE_CACHE'];
  });
  after(() => {
    if (savedXdg === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = savedXdg;
    if (savedOff !== undefined) process.env['SKIFF_NO_COMPILE_CACHE'] = savedOff;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the bundle of the first word that has one, skipping flag values, with require and its URL', async () => {
    const n = calls().length;
    const code = await runBundledVerb(['node', 'skiff', '-n', 'ns', 'get', 'pods', '7'], verbs);
    assert.equal(code, 7);
    const c = calls().slice(n);
    assert.equal(c.length, 1);
    assert.equal(c[0]!.name, 'get');
    assert.deepEqual(c[0]!.argv, ['node', 'skiff', '-n', 'ns', 'get', 'pods', '7']);
    assert.equal(c[0]!.url, pathToFileURL(join(dir, 'get.cjs')).href);
    assert.equal(c[0]!.req, 'function');
  });

  it('tries the next word when a bundle declines, and returns undefined when none applies', async () => {
    const n = calls().length;
    assert.equal(await runBundledVerb(['node', 'skiff', 'apply', 'get', '--decline'], verbs), undefined);
    assert.deepEqual(calls().slice(n).map((c) => c.name), ['apply', 'get']);
    assert.equal(await runBundledVerb(['node', 'skiff', 'describe', 'pods'], verbs), undefined);
    assert.equal(await runBundledVerb(['node', 'skiff', 'get', 'pods', '0'], pathToFileURL(join(dir, 'missing') + '/')), undefined);
  });

  it('writes a code cache once, reuses it, and replaces it when the bundle or the cache changes', () => {
    // Each run in its own process, as the CLI runs: within one process V8 keeps compiled scripts itself and never
    // reads a cache again.
    const v8 = join(cache, 'skiff', 'v8');
    const cacheFiles = (): string[] => readdirSync(v8).filter((f) => f.startsWith('get.cjs-'));
    assert.equal(runInChild(['node', 'skiff', 'get', '0'], verbs, cache), '0');
    const [first] = cacheFiles();
    assert.ok(first, 'a cache file is written');
    const written = statSync(join(v8, first)).mtimeMs;
    // A later run that V8 accepts the cache for leaves it alone.
    assert.equal(runInChild(['node', 'skiff', 'get', '0'], verbs, cache), '0');
    assert.deepEqual(cacheFiles(), [first]);
    assert.equal(statSync(join(v8, first)).mtimeMs, written);
    // A corrupt cache is rejected by V8 and rewritten.
    writeFileSync(join(v8, first), 'not a code cache');
    assert.equal(runInChild(['node', 'skiff', 'get', '5'], verbs, cache), '5');
    assert.ok(statSync(join(v8, first)).size > 100, 'the rejected cache is replaced by a real one');
    // A rebuilt bundle gets its own cache and the old one goes.
    writeFileSync(join(dir, 'get.cjs'), verbSource('get', '// rebuilt\n'));
    assert.equal(runInChild(['node', 'skiff', 'get', '4'], verbs, cache), '4');
    const now = cacheFiles();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], first);
  });

  it('writes no cache when SKIFF_NO_COMPILE_CACHE is set', async () => {
    const v8 = join(cache, 'skiff', 'v8');
    const applyCaches = (): string[] => readdirSync(v8).filter((f) => f.startsWith('apply.cjs-'));
    const before = applyCaches();
    writeFileSync(join(dir, 'apply.cjs'), verbSource('apply', '// another build\n'));
    process.env['SKIFF_NO_COMPILE_CACHE'] = '1';
    try {
      assert.equal(await runBundledVerb(['node', 'skiff', 'apply', '2'], verbs), 2);
    } finally {
      delete process.env['SKIFF_NO_COMPILE_CACHE'];
    }
    assert.deepEqual(applyCaches(), before);
    // The same run without the switch does write one.
    assert.equal(await runBundledVerb(['node', 'skiff', 'apply', '2'], verbs), 2);
    assert.notDeepEqual(applyCaches(), before);
  });
});
