import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { buildImage, dockerArchive, ociArchive } from '../agent/images/build.ts';
import { setLogSink } from '../base/log.ts';
import { registerImagesCommands } from './images.ts';

setLogSink(null);
const root = fs.mkdtempSync(join(tmpdir(), 'skiff-images-cmd-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

async function run(...args: string[]): Promise<string> {
  let text = '';
  const program = new Command('skiff').exitOverride();
  registerImagesCommands(program, { out: (s) => (text += s) });
  await program.parseAsync(['node', 'skiff', 'images', ...args, '--data-dir', root]);
  return text;
}

test('skiff images import, ls and rm', async () => {
  const a = buildImage([[{ name: 'a.txt', data: 'a' }]]);
  const b = buildImage([[{ name: 'b.txt', data: 'b' }]]);
  fs.writeFileSync(join(root, 'a.tar'), dockerArchive(a, ['registry.example/team/a:1.0']));
  fs.writeFileSync(join(root, 'b.tar'), ociArchive(b, 'latest'));
  assert.match(await run('import', join(root, 'a.tar')), /imported registry\.example\/team\/a:1\.0/);
  assert.match(await run('import', join(root, 'b.tar'), '--name', 'b'), /imported docker\.io\/library\/b:latest/);
  const ls = await run('ls');
  const lines = ls.trim().split('\n');
  assert.match(lines[0]!, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
  assert.ok(lines.some((l) => /^registry\.example\/team\/a\s+1\.0\s+[0-9a-f]{13}\s+\S+$/.test(l)), ls);
  assert.ok(lines.some((l) => /^docker\.io\/library\/b\s+latest\s/.test(l)), ls);
  assert.deepEqual((await run('ls', '-q')).trim().split('\n').sort(), [a.configDigest, b.configDigest].sort());
  assert.equal(await run('rm', 'b'), `Untagged: docker.io/library/b:latest\nDeleted: ${b.configDigest}\n`);
  await assert.rejects(run('rm', 'b'), /image "b" not found/);
  assert.equal((await run('ls', '-q')).trim(), a.configDigest);
});
