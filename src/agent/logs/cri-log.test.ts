import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { LogWriter, parseCriLine, readLogs, rotatedFiles } from './cri-log.ts';

async function collect(path: string, opts: Parameters<typeof readLogs>[2]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await readLogs(path, out, opts);
  return Buffer.concat(chunks).toString();
}

describe('CRI logs', () => {
  it('writes CRI lines, holding partial lines until their newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cri-log-'));
    try {
      const w = new LogWriter(join(dir, '0.log'));
      w.write('stdout', Buffer.from('hel'));
      w.write('stderr', Buffer.from('oops\n'));
      w.write('stdout', Buffer.from('lo\nworld\n'));
      w.close();
      const lines = readFileSync(join(dir, '0.log'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stderr F oops$/);
      assert.match(lines[1]!, / stdout F hello$/);
      const e = parseCriLine(Buffer.from(lines[2]!));
      assert.equal(e?.stream, 'stdout');
      assert.equal(e?.content.toString(), 'world');
      assert.equal(e?.full, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads with tail, since, limitBytes, timestamps and a stream filter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cri-log-'));
    try {
      const w = new LogWriter(join(dir, '0.log'));
      for (let i = 1; i <= 5; i++) w.write(i === 3 ? 'stderr' : 'stdout', Buffer.from(`l${i}\n`));
      w.close();
      const p = join(dir, '0.log');
      assert.equal(await collect(p, {}), 'l1\nl2\nl3\nl4\nl5\n');
      assert.equal(await collect(p, { tailLines: 2 }), 'l4\nl5\n');
      assert.equal(await collect(p, { tailLines: 0 }), '');
      assert.equal(await collect(p, { limitBytes: 4 }), 'l1\nl');
      assert.equal(await collect(p, { stream: 'stderr' }), 'l3\n');
      assert.equal(await collect(p, { sinceMs: Date.now() + 60_000 }), '');
      assert.match(await collect(p, { tailLines: 1, timestamps: true }), /^\S+Z l5\n$/);
      assert.equal(await collect(join(dir, 'missing.log'), {}), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rotates past maxBytes, keeps maxFiles, and reads across rotated files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cri-log-'));
    try {
      const p = join(dir, '0.log');
      const w = new LogWriter(p, { maxBytes: 200, maxFiles: 3 });
      for (let i = 0; i < 40; i++) w.write('stdout', Buffer.from(`line-${String(i).padStart(2, '0')}\n`));
      w.close();
      assert.equal(rotatedFiles(p).length, 2);
      const all = await collect(p, {});
      assert.match(all, /line-39\n$/);
      assert.doesNotMatch(all, /line-00/);
      const lines = all.trim().split('\n');
      for (let i = 1; i < lines.length; i++) assert.ok(lines[i]! > lines[i - 1]!, 'in order');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows new output until the container is done', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cri-log-'));
    try {
      const p = join(dir, '0.log');
      const w = new LogWriter(p);
      w.write('stdout', Buffer.from('first\n'));
      let done = false;
      const reading = collect(p, { follow: true, pollMs: 10, isDone: () => done });
      await new Promise((r) => setTimeout(r, 50));
      w.write('stdout', Buffer.from('second\n'));
      await new Promise((r) => setTimeout(r, 50));
      w.close();
      done = true;
      assert.equal(await reading, 'first\nsecond\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
