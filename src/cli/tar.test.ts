import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TarHeader } from './tar.ts';
import { bodyPadding, encodeHeader, readTar, tarTrailer } from './tar.ts';

async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function entries(archive: Buffer, chunkSize = 777): Promise<{ h: TarHeader; body: string }[]> {
  const out: { h: TarHeader; body: string }[] = [];
  await readTar(chunks(archive, chunkSize), async (h, body) => {
    let text = '';
    if (h.type === 'file') await body((c) => void (text += c.toString()));
    out.push({ h, body: text });
  });
  return out;
}

function file(name: string, content: string, mode = 0o640): Buffer {
  const data = Buffer.from(content);
  return Buffer.concat([encodeHeader({ name, type: 'file', mode, uid: 0, gid: 0, size: data.length, mtime: 1_700_000_000, linkname: '' }), data, bodyPadding(data.length)]);
}

describe('tar', () => {
  const longName = `${'d'.repeat(120)}/${'e'.repeat(60)}/${'f'.repeat(150)}.txt`;

  it('round-trips files, directories, symlinks and names too long for USTAR', async () => {
    const archive = Buffer.concat([
      file('a.txt', 'alpha\n'),
      encodeHeader({ name: 'empty', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '' }),
      encodeHeader({ name: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: 'a.txt' }),
      file(`${'p'.repeat(130)}/short.txt`, 'split into prefix and name\n'),
      file(longName, 'x'.repeat(1500)),
      tarTrailer,
    ]);
    const got = await entries(archive);
    assert.deepEqual(got.map((e) => [e.h.name, e.h.type]), [['a.txt', 'file'], ['empty', 'directory'], ['link', 'symlink'], [`${'p'.repeat(130)}/short.txt`, 'file'], [longName, 'file']]);
    assert.equal(got[0]!.body, 'alpha\n');
    assert.equal(got[0]!.h.mode, 0o640);
    assert.equal(got[0]!.h.mtime, 1_700_000_000);
    assert.equal(got[2]!.h.linkname, 'a.txt');
    assert.equal(got[4]!.body, 'x'.repeat(1500));
  });

  it('writes archives GNU tar extracts, long names included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-tar-test-'));
    try {
      const archive = Buffer.concat([
        file('top/a.txt', 'alpha\n', 0o600),
        encodeHeader({ name: 'top/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: 'a.txt' }),
        file(`top/${longName}`, 'long\n'),
        tarTrailer,
      ]);
      execFileSync('tar', ['-xmf', '-', '-C', dir], { input: archive });
      assert.equal(readFileSync(join(dir, 'top', 'a.txt'), 'utf8'), 'alpha\n');
      assert.equal(statSync(join(dir, 'top', 'a.txt')).mode & 0o777, 0o600);
      assert.equal(readlinkSync(join(dir, 'top', 'link')), 'a.txt');
      assert.equal(readFileSync(join(dir, 'top', longName), 'utf8'), 'long\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads what GNU tar writes (GNU long names, directories, symlinks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-tar-test-'));
    try {
      mkdirSync(join(dir, 'src', 'sub', longName.split('/').slice(0, 2).join('/')), { recursive: true });
      writeFileSync(join(dir, 'src', 'sub', longName), 'deep\n');
      writeFileSync(join(dir, 'src', 'b.txt'), 'beta\n');
      symlinkSync('b.txt', join(dir, 'src', 'blink'));
      for (const format of ['gnu', 'posix']) {
        const archive = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', dir, 'src'], { maxBuffer: 1 << 24 });
        const got = await entries(archive, 300);
        const byName = new Map(got.map((e) => [e.h.name, e]));
        assert.equal(byName.get('src/b.txt')?.body, 'beta\n', format);
        assert.equal(byName.get(`src/sub/${longName}`)?.body, 'deep\n', format);
        assert.equal(byName.get('src/blink')?.h.linkname, 'b.txt', format);
        assert.equal(byName.get('src/')?.h.type, 'directory', format);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a corrupted header and a truncated body', async () => {
    const good = file('a.txt', 'alpha\n');
    const bad = Buffer.from(good);
    bad[0] = 'b'.charCodeAt(0);
    await assert.rejects(entries(bad), /invalid tar header/);
    await assert.rejects(entries(good.subarray(0, 512 + 3)), /unexpected EOF/);
  });
});
