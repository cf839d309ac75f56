#!/usr/bin/env node
// Runs the test suites with node's test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            unit + integration tests
//   node scripts/run-tests.mjs --unit     unit tests beside the code (src/**/*.test.ts)
//   node scripts/run-tests.mjs FILE...    just those files
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === 'node_modules') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));
const files = explicit.length > 0 ? explicit : [...find('src'), ...(unitOnly ? [] : [...find('test')])];
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// One file at a time by default: integration files start whole clusters, and timing-sensitive controller and
// runtime tests are steadier without a neighbour on the two cores (SKIFF_TEST_CONCURRENCY overrides).
const concurrency = process.env.SKIFF_TEST_CONCURRENCY ?? '1';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
