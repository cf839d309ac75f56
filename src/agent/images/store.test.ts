import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Readable } from 'node:stream';
import { setLogSink } from '../../base/log.ts';
import { buildImage } from './build.ts';
import { DigestMismatchError, sha256Digest } from './digest.ts';
import { normalizeReference, parseReference } from './reference.ts';
import { prepareRootfs } from './rootfs.ts';
import { openImageStore } from './store.ts';
import { readTar, writeTar } from './tar.ts';
import { isWhiteout } from './unpack.ts';

setLogSink(null);
const root = fs.mkdtempSync(join(tmpdir(), 'skiff-store-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('references normalise as docker and containerd do', () => {
  assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeReference('user/app:1'), 'docker.io/user/app:1');
  assert.equal(normalizeReference('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.deepEqual(parseReference(`127.0.0.1:5000/a/b@${sha256Digest('x')}`), { registry: '127.0.0.1:5000', repository: 'a/b', digest: sha256Digest('x') });
  assert.throws(() => parseReference('UPPER/case'), /must be lowercase/);
});

test('tar round trip with long names', async () => {
  const long = `${'d'.repeat(80)}/${'f'.repeat(60)}`;
  const tar = writeTar([{ name: long, data: 'x' }, { name: 'l', type: 'symlink', linkname: long }]);
  const seen: string[] = [];
  await readTar(Readable.from([tar]), async (h, b) => {
    seen.push(`${h.type}:${h.name}:${h.linkname}:${(await b.buffer()).toString()}`);
  });
  assert.deepEqual(seen, [`file:${long}::x`, `symlink:l:${long}:`]);
});

test('layers unpack with whiteouts and opaque directories, and overlay/copy give the same view', async () => {
  const img = buildImage([
    [{ name: 'keep', data: '1' }, { name: 'gone', data: '2' }, { name: 'dir/', type: 'directory' }, { name: 'dir/old', data: '3' }],
    [{ name: '.wh.gone', data: '' }, { name: 'dir/', type: 'directory' }, { name: 'dir/.wh..wh..opq', data: '' }, { name: 'dir/new', data: '4' }],
  ]);
  const store = openImageStore(join(root, 's1'));
  for (const [d, b] of img.blobs) store.putBlob(b, d);
  const rec = await store.addImage(img.manifestDigest, { names: ['example.com/w:1'] });
  const [l0, l1] = store.layerDirs(rec);
  assert.ok(isWhiteout(fs.lstatSync(join(l1!, 'gone'))));
  assert.ok(isWhiteout(fs.lstatSync(join(l1!, 'dir/old'))), 'opaque dir hides lower entries');
  assert.equal(fs.readFileSync(join(l0!, 'gone'), 'utf8'), '2', 'lower layer untouched');
  const view = (dir: string) => fs.readdirSync(dir).sort().map((n) => (fs.statSync(join(dir, n)).isDirectory() ? `${n}/[${fs.readdirSync(join(dir, n)).sort().join(',')}]` : n));
  const copy = prepareRootfs(store.layerDirs(rec), join(root, 'c-copy'), { mode: 'copy' });
  assert.deepEqual(view(copy), ['dir/[new]', 'keep']);
  if (process.getuid?.() === 0) {
    const ov = prepareRootfs(store.layerDirs(rec), join(root, 'c-ov'), { mode: 'overlay' });
    try {
      assert.deepEqual(view(ov), ['dir/[new]', 'keep']);
    } finally {
      const { execFileSync } = await import('node:child_process');
      execFileSync('umount', [ov]);
    }
  }
});

test('a layer that escapes the root is refused; a config whose DiffID does not match is refused', async () => {
  const evil = buildImage([[{ name: '../escape', data: 'x' }]]);
  const store = openImageStore(join(root, 's2'));
  for (const [d, b] of evil.blobs) store.putBlob(b, d);
  await assert.rejects(store.addImage(evil.manifestDigest), /escapes the root/);
  assert.ok(!fs.existsSync(join(root, 'escape')));
  assert.throws(() => store.putBlob(Buffer.from('abc'), sha256Digest('abd')), DigestMismatchError);
});

test('gc removes least recently used unused images above the threshold', async () => {
  const store = openImageStore(join(root, 's3'));
  const imgs = [1, 2, 3].map((i) => buildImage([[{ name: `f${i}`, data: String(i).repeat(1000) }]]));
  const recs = [];
  for (const [i, img] of imgs.entries()) {
    for (const [d, b] of img.blobs) store.putBlob(b, d);
    recs.push(await store.addImage(img.manifestDigest, { names: [`example.com/i:${i}`] }));
  }
  assert.deepEqual(await store.gc({ diskUsage: () => ({ totalBytes: 100, usedBytes: 50 }), minAgeMs: 0 }), [], 'below the threshold nothing goes');
  const removed = await store.gc({ diskUsage: () => ({ totalBytes: 10_000, usedBytes: 8001 }), highThresholdPercent: 80, lowThresholdPercent: 80, minAgeMs: 0, inUse: new Set([recs[0]!.id]) });
  assert.deepEqual(removed, [recs[1]!.id], 'oldest unused image first, until enough is freed');
  assert.equal(store.list().length, 2);
  assert.ok(!store.hasBlob(recs[1]!.id));
});
