#!/usr/bin/env node
// Bundles the skiff executable into dist/: skiff.mjs (every subcommand; native and heavy dependencies stay
// external) and dist/cli-verbs/<verb>.cjs, one standalone bundle per client verb for a fast `skiff get`.
//   node scripts/bundle.mjs [outdir]        (default dist; outdir is relative to the repository)
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The client verbs and their modules, read from the one verb table (src/cli/verbs.ts). */
export function clientVerbs() {
  const table = readFileSync(join(root, 'src/cli/verbs.ts'), 'utf8');
  const verbs = [...table.matchAll(/name: '([^']+)',[^\n]*?import\('\.\/(commands\/[\w-]+\.ts)'\)/g)].map((m) => ({ name: m[1], module: join(root, 'src/cli', m[2]) }));
  if (verbs.length === 0) throw new Error('no verbs found in src/cli/verbs.ts');
  return verbs;
}

/** Builds the executable into `outdir` (absolute, or relative to the repository). */
export async function bundle(outdir = 'dist') {
  const out = resolve(root, outdir);
  await build({
    // Code splitting keeps each subcommand's dependencies (storage engines, metrics, the client verbs) out of the
    // start-up path of the others.
    entryPoints: { skiff: join(root, 'src/cmd/main.ts') },
    outdir: out,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    external: ['better-sqlite3', 'etcd3', '@grpc/grpc-js', 'protobufjs', 'prom-client'],
    banner: { js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  // One file per verb, in CommonJS so that src/cmd/cli-bundle.ts can compile it with a V8 code cache (Node 20 has
  // none for ES modules) and one read replaces resolving and linking some 25 chunks. Each holds everything its verb
  // needs (the client, kubeconfig, printers); the verb table is left out so that no verb drags in the others.
  const verbs = clientVerbs();
  rmSync(join(out, 'cli-verbs'), { recursive: true, force: true });
  await build({
    entryPoints: verbs.map((v) => ({ in: `skiff-verb:${v.name}`, out: v.name })),
    outdir: join(out, 'cli-verbs'),
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // No source maps here: errors reach the user as one line, and 40 maps would triple dist/.
    external: ['better-sqlite3', 'etcd3', '@grpc/grpc-js', 'protobufjs', 'prom-client'],
    // The loader passes the bundle's own URL in (CommonJS has no import.meta).
    define: { 'import.meta.url': '__skiff_import_meta_url' },
    logLevel: 'warning',
    plugins: [{
      name: 'skiff-verb-entries',
      setup(b) {
        b.onResolve({ filter: /^skiff-verb:/ }, (a) => ({ path: a.path.slice('skiff-verb:'.length), namespace: 'skiff-verb' }));
        b.onLoad({ filter: /.*/, namespace: 'skiff-verb' }, (a) => {
          const verb = verbs.find((v) => v.name === a.path);
          return {
            resolveDir: root,
            loader: 'js',
            contents: `import * as mod from ${JSON.stringify(verb.module)};
import { runDirectVerb } from ${JSON.stringify(join(root, 'src/cmd/cli-direct.ts'))};
export const run = (argv) => runDirectVerb(argv, { name: ${JSON.stringify(verb.name)}, load: async () => mod });
`,
          };
        });
      },
    }],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await bundle(process.argv[2]);
