// Scheduled snapshots of a running server: taken on the cron schedule, pruned to the retention, reported as
// Events and in /metrics; `skiff snapshot save` goes through the running server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { adminFetch, startServer, kubectlFor } from './helpers/cluster.ts';
import type { TestServer, Kubectl } from './helpers/cluster.ts';
import { waitFor } from '../../src/base/wait.ts';

const SKIFF = resolve(import.meta.dirname, '..', '..', 'bin', 'skiff');

describe('scheduled snapshots', () => {
  let server: TestServer;
  let k: Kubectl;
  before(async () => {
    server = await startServer({ args: ['--snapshot-schedule', '@every 1s', '--snapshot-retention', '2'] });
    k = kubectlFor(server);
  });
  after(async () => {
    k?.cleanup();
    await server?.stop();
  });

  it('takes snapshots on schedule, keeps the newest N, and reports them', async () => {
    const metric = async (): Promise<number> => {
      const text = await (await adminFetch(server, '/metrics')).text();
      const m = /^skiff_snapshots_total\{result="success"\} (\d+)$/m.exec(text);
      return m ? Number(m[1]) : 0;
    };
    await waitFor(async () => (await metric()) >= 3, { timeoutMs: 15_000, what: 'three scheduled snapshots' });
    const files = readdirSync(join(server.dataDir, 'snapshots')).filter((f) => f.startsWith('scheduled-'));
    assert.ok(files.length >= 2 && files.length <= 3, `retention keeps 2 (one may be in flight): ${files.join(', ')}`);
    await waitFor(async () => readdirSync(join(server.dataDir, 'snapshots')).filter((f) => f.startsWith('scheduled-') && f.endsWith('.snap')).length === 2, { what: 'pruned to 2' });
    const ev = await k(['get', 'events', '--field-selector', 'reason=SnapshotTaken', '-o', 'name']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.ok(ev.stdout.trim().split('\n').length >= 3);
    const out = execFileSync(process.execPath, [SKIFF, 'snapshot', 'save', '--data-dir', server.dataDir, '--name', 'manual'], { encoding: 'utf8' });
    assert.match(out, /snapshot manual saved from the running server: revision \d+/);
    assert.ok(readdirSync(join(server.dataDir, 'snapshots')).includes('manual.snap'));
    const gzip = (name: string): boolean => readFileSync(join(server.dataDir, 'snapshots', name)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]));
    assert.ok(gzip('manual.snap'), 'compressed by default');
    // --no-compress is honoured when the running server produces the snapshot, too.
    execFileSync(process.execPath, [SKIFF, 'snapshot', 'save', '--data-dir', server.dataDir, '--name', 'plain', '--no-compress'], { encoding: 'utf8' });
    assert.equal(gzip('plain.snap'), false, 'plain.snap must not be gzip');
    const verified = execFileSync(process.execPath, [SKIFF, 'snapshot', 'verify', join(server.dataDir, 'snapshots', 'plain.snap')], { encoding: 'utf8' });
    assert.match(verified, /: ok, format \d+, revision/);
  });
});
