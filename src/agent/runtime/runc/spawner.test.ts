import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSpawner, runChecked, runInline } from './spawner.ts';

test('the worker runs commands with stdin, env and cwd, and reports exit status and output', async () => {
  const sp = createSpawner();
  try {
    const r = await sp.run('/bin/sh', ['-c', 'read x; echo "$x $FOO $(pwd)"; echo oops >&2; exit 3'], { input: 'hello\n', env: { FOO: 'bar', PATH: '/usr/bin:/bin' }, cwd: '/tmp' });
    assert.deepEqual(r, { code: 3, signal: null, stdout: 'hello bar /tmp\n', stderr: 'oops\n' });
    // Many at once: replies are matched to their requests.
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => sp.run('/bin/echo', [String(i)])));
    assert.deepEqual(outs.map((o) => o.stdout.trim()), Array.from({ length: 20 }, (_, i) => String(i)));
    await assert.rejects(sp.run('/no/such/binary', []), /ENOENT/);
    const killed = await sp.run('/bin/sleep', ['10'], { timeoutMs: 100 });
    assert.equal(killed.code, null);
    assert.equal(killed.signal, 'SIGKILL');
    await assert.rejects(runChecked(sp.run, '/bin/sh', ['-c', 'echo bad >&2; exit 2']), (e: Error & { code?: number }) => e.code === 2 && /bad/.test(e.message));
  } finally {
    await sp.close();
  }
});

test('a launched process runs detached with the given descriptors; its exit is reported', async () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'skiff-spawner-'));
  const sp = createSpawner();
  try {
    const out = fs.openSync(join(dir, 'out'), 'w');
    let launched;
    try {
      launched = await sp.launch('/bin/sh', ['-c', 'echo "sid=$(cut -d" " -f6 /proc/$$/stat) pid=$$"; exit 7'], { stdio: ['ignore', out, 'ignore'] });
    } finally {
      fs.closeSync(out);
    }
    assert.ok(launched.pid > 0);
    // A launched process does not keep this one alive (shims outlive the agent): hold the loop while waiting.
    const keep = setInterval(() => undefined, 1000);
    try {
      assert.equal(await launched.exited, 7);
    } finally {
      clearInterval(keep);
    }
    const text = fs.readFileSync(join(dir, 'out'), 'utf8');
    // Its own session: the session id is its own pid.
    assert.equal(text.trim(), `sid=${launched.pid} pid=${launched.pid}`);
  } finally {
    await sp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runInline has the same contract from the calling thread', async () => {
  const r = await runInline('/bin/sh', ['-c', 'cat; exit 1'], { input: 'x' });
  assert.deepEqual(r, { code: 1, signal: null, stdout: 'x', stderr: '' });
});

test('a launched process killed by a signal reports it; one that cannot be spawned rejects with its errno code', async () => {
  const sp = createSpawner();
  const keep = setInterval(() => undefined, 1000);
  try {
    const l = await sp.launch('sleep', ['30'], { stdio: ['ignore', 'ignore', 'ignore'] });
    process.kill(l.pid, 'SIGTERM');
    assert.deepEqual(await l.ended, { code: null, signal: 'SIGTERM' });
    assert.equal(await l.exited, null);
    await assert.rejects(sp.launch('/no/such/program', [], { stdio: ['ignore', 'ignore', 'ignore'] }), (e: Error & { code?: string }) => e.code === 'ENOENT');
  } finally {
    clearInterval(keep);
    await sp.close();
  }
});
