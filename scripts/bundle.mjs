#!/usr/bin/env node
// Bundles the skiff executable into dist/skiff.mjs (native and heavy dependencies stay external).
import { build } from 'esbuild';

await build({
  // Code splitting keeps each subcommand's dependencies (storage engines, metrics, the client verbs) out of the
  // start-up path of the others.
  entryPoints: { skiff: 'src/cmd/main.ts' },
  outdir: 'dist',
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
