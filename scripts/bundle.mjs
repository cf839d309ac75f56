#!/usr/bin/env node
// Bundles the skiff executable into dist/skiff.mjs (native and heavy dependencies stay external).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cmd/main.ts'],
  outfile: 'dist/skiff.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: ['better-sqlite3', 'etcd3', '@grpc/grpc-js', 'protobufjs', 'prom-client'],
  banner: { js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
