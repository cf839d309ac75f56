/**
 * The image store against a real registry (Debian's docker-registry on loopback) and real archives: pull by tag
 * and digest, shared layers, errors named as containerd names them, import of docker and OCI archives, removal.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importArchive } from '../../src/agent/images/archive.ts';
import { dockerArchive, ociArchive } from '../../src/agent/images/build.ts';
import { pullImage, PullError } from '../../src/agent/images/registry.ts';
import { openImageStore } from '../../src/agent/images/store.ts';
import { busyboxImage, containerToolsMissing, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';

const skip = containerToolsMissing();

describe('image store with a real registry', { skip }, () => {
  let reg: TestRegistry;
  let dir: string;
  const img = busyboxImage();
  before(async () => {
    reg = await startRegistry();
    await reg.push('test/busybox', 'v1', img);
    dir = fs.mkdtempSync(join(tmpdir(), 'skiff-images-'));
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('pulls by tag, verifies and unpacks the layer, and resolves the image by tag, digest and id', async () => {
    const store = openImageStore(join(dir, 'a'));
    const rec = await pullImage(store, `${reg.host}/test/busybox:v1`);
    assert.equal(rec.id, img.configDigest);
    assert.equal(rec.manifestDigest, img.manifestDigest);
    assert.deepEqual(rec.repoTags, [`${reg.host}/test/busybox:v1`]);
    assert.deepEqual(rec.repoDigests, [`${reg.host}/test/busybox@${img.manifestDigest}`]);
    assert.deepEqual(rec.config.Cmd, ['sh']);
    const layer = store.layerDirs(rec)[0]!;
    assert.ok(fs.statSync(join(layer, 'bin/busybox')).mode & 0o111, 'busybox is executable');
    assert.equal(fs.readlinkSync(join(layer, 'bin/sh')), 'busybox');
    assert.equal(store.resolve(`${reg.host}/test/busybox:v1`)?.id, rec.id);
    assert.equal(store.resolve(`${reg.host}/test/busybox@${img.manifestDigest}`)?.id, rec.id);
    assert.equal(store.resolve(rec.id.slice(7, 19))?.id, rec.id);
    // Pulling by digest reuses every blob already there.
    const again = await pullImage(store, `${reg.host}/test/busybox@${img.manifestDigest}`);
    assert.equal(again.id, rec.id);
  });

  test('a missing image fails with the registry\'s not-found wording and stores nothing', async () => {
    const store = openImageStore(join(dir, 'b'));
    await assert.rejects(pullImage(store, `${reg.host}/test/nosuch:v1`), (e: unknown) => {
      assert.ok(e instanceof PullError);
      assert.equal(e.kind, 'NotFound');
      assert.match(e.message, new RegExp(`failed to pull and unpack image "${reg.host}/test/nosuch:v1": failed to resolve reference .*: not found`));
      return true;
    });
    assert.deepEqual(store.list(), []);
    assert.deepEqual(fs.readdirSync(join(dir, 'b', 'blobs', 'sha256')), []);
  });

  test('an unreachable registry is a network error naming the reference', async () => {
    const store = openImageStore(join(dir, 'c'));
    await assert.rejects(pullImage(store, '127.0.0.1:1/test/busybox:v1'), (e: unknown) => e instanceof PullError && e.kind === 'Network' && /127\.0\.0\.1:1\/test\/busybox:v1/.test(e.message));
  });

  test('imports docker and OCI archives and removes images with their unshared blobs', async () => {
    const store = openImageStore(join(dir, 'd'));
    const other = busyboxImage({ files: [{ name: 'marker', data: 'other\n' }] });
    const dockerTar = join(dir, 'docker.tar');
    fs.writeFileSync(dockerTar, dockerArchive(img, ['example.com/tools/busybox:1.0']));
    const [fromDocker] = await importArchive(store, dockerTar);
    assert.equal(fromDocker!.id, img.configDigest);
    assert.deepEqual(fromDocker!.repoTags, ['example.com/tools/busybox:1.0']);
    assert.ok(fs.existsSync(join(store.layerDirs(fromDocker!)[0]!, 'bin/busybox')));

    const ociTar = join(dir, 'oci.tar');
    fs.writeFileSync(ociTar, ociArchive(other, 'v2'));
    await assert.rejects(importArchive(store, ociTar), /--name/);
    const [fromOci] = await importArchive(store, ociTar, { name: 'example.com/tools/other' });
    assert.deepEqual(fromOci!.repoTags, ['example.com/tools/other:v2']);
    assert.equal(fs.readFileSync(join(store.layerDirs(fromOci!)[0]!, 'marker'), 'utf8'), 'other\n');
    assert.equal(store.list().length, 2);

    const r = await store.remove('example.com/tools/other:v2');
    assert.equal(r.deleted, other.configDigest);
    assert.equal(store.resolve('example.com/tools/other:v2'), undefined);
    assert.ok(!store.hasBlob(other.configDigest));
    assert.ok(store.hasBlob(img.configDigest), 'the other image keeps its blobs');
    assert.ok(!fs.existsSync(store.layerDirs(fromOci!)[0]!));
  });
});
