#!/usr/bin/env node
// Fails when a module imports across the layering rules of docs/architecture.md §2.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const allowed = {
  base: [],
  api: ['base', 'generated'],
  storage: ['base'],
  apiserver: ['base', 'api', 'storage'],
  client: ['base', 'api'],
  controllers: ['base', 'api', 'client'],
  scheduler: ['base', 'api', 'client'],
  agent: ['base', 'api', 'client'],
  cli: ['base', 'api', 'client'],
  generated: [],
  cmd: null, // composition root: anything
};

function files(dir, out = []) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|mts)$/.test(e)) out.push(p);
  }
  return out;
}

const src = resolve('src');
const bad = [];
for (const f of files(src)) {
  const layer = relative(src, f).split('/')[0];
  const rule = allowed[layer];
  if (rule === undefined) {
    bad.push(`${relative('.', f)}: unknown layer "${layer}" (add it to scripts/check-layers.mjs)`);
    continue;
  }
  if (rule === null) continue;
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(f), spec);
    if (!target.startsWith(src + '/')) continue;
    const tl = relative(src, target).split('/')[0];
    if (tl !== layer && !rule.includes(tl)) bad.push(`${relative('.', f)}: layer "${layer}" may not import "${tl}" (${spec})`);
  }
}
if (bad.length > 0) {
  console.error('layering violations:\n' + bad.join('\n'));
  process.exit(1);
}
console.log('layers ok');
