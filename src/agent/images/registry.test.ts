import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setLogSink } from '../../base/log.ts';
import { buildImage } from './build.ts';
import type { BuiltImage } from './build.ts';
import { credentialsFor, parseDockerConfig } from './credentials.ts';
import { sha256Digest } from './digest.ts';
import { mediaTypes } from './oci.ts';
import { parseChallenge, pullImage, PullError } from './registry.ts';
import { openImageStore } from './store.ts';

setLogSink(null);

/** A fake registry: serves images, with Bearer or Basic auth, and can corrupt a blob. */
function fakeRegistry(images: Record<string, BuiltImage | Buffer>, opts: { auth?: 'bearer' | 'basic'; user?: string; pass?: string; corrupt?: string }) {
  const requests: string[] = [];
  const token = 'tok-' + Math.random().toString(36).slice(2);
  const blobs = new Map<string, Buffer>();
  for (const v of Object.values(images)) if (!Buffer.isBuffer(v)) for (const [d, b] of v.blobs) blobs.set(d, b);
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    const basicOk = req.headers.authorization === `Basic ${Buffer.from(`${opts.user}:${opts.pass}`).toString('base64')}`;
    if (url.pathname === '/token') {
      if (opts.user && !basicOk) {
        res.writeHead(401).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      return;
    }
    if (opts.auth === 'bearer' && req.headers.authorization !== `Bearer ${token}`) {
      const addr = srv.address() as AddressInfo;
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${addr.port}/token",service="fake",scope="repository:app:pull"` });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (opts.auth === 'basic' && !basicOk) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const m = /^\/v2\/app\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    if (m[1] === 'manifests') {
      const v = images[m[2]!] ?? [...Object.values(images)].map((i) => (Buffer.isBuffer(i) ? undefined : i.blobs.get(m[2]!))).find((b) => b);
      if (!v) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      const body = Buffer.isBuffer(v) ? v : v.manifest;
      const doc = JSON.parse(body.toString()) as { mediaType: string };
      res.writeHead(200, { 'content-type': doc.mediaType }).end(body);
      return;
    }
    let b = blobs.get(m[2]!);
    if (!b) {
      res.writeHead(404).end();
      return;
    }
    if (opts.corrupt === m[2]) {
      b = Buffer.from(b);
      b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 0xff;
    }
    res.writeHead(200).end(b);
  });
  return new Promise<{ host: string; requests: string[]; close: () => Promise<void> }>((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      resolve({ host: `127.0.0.1:${port}`, requests, close: () => new Promise((r) => srv.close(() => r())) });
    });
  });
}

const img = buildImage([[{ name: 'hello.txt', data: 'hi\n' }]], { config: { Cmd: ['/hello'] } });

describe('pullImage against a fake registry', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'skiff-pull-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('follows a Bearer challenge anonymously', async () => {
    const reg = await fakeRegistry({ v1: img }, { auth: 'bearer' });
    try {
      const store = openImageStore(join(dir, 'bearer'));
      const rec = await pullImage(store, `${reg.host}/app:v1`);
      assert.equal(rec.id, img.configDigest);
      assert.ok(reg.requests.includes('GET /token'));
    } finally {
      await reg.close();
    }
  });

  test('sends pull-secret credentials to the token endpoint and names authentication when they are wrong', async () => {
    const reg = await fakeRegistry({ v1: img }, { auth: 'bearer', user: 'alice', pass: 's3cret' });
    try {
      const store = openImageStore(join(dir, 'bearer-creds'));
      const bad = credentialsFor('127.0.0.1:' + reg.host.split(':')[1], 'app', [parseDockerConfig(JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }))]);
      await assert.rejects(pullImage(store, `${reg.host}/app:v1`, { credentials: bad }), (e: unknown) => e instanceof PullError && e.kind === 'Unauthorized' && /failed to authorize: failed to fetch oauth token: .*401/.test(e.message));
      const good = credentialsFor(reg.host, 'app', [parseDockerConfig(JSON.stringify({ auths: { [`http://${reg.host}`]: { username: 'alice', password: 's3cret' } } }))]);
      assert.equal(good.length, 1);
      const rec = await pullImage(store, `${reg.host}/app:v1`, { credentials: good });
      assert.equal(rec.id, img.configDigest);
    } finally {
      await reg.close();
    }
  });

  test('answers a Basic challenge with the credentials, and without them says access is denied', async () => {
    const reg = await fakeRegistry({ v1: img }, { auth: 'basic', user: 'bob', pass: 'pw' });
    try {
      const store = openImageStore(join(dir, 'basic'));
      await assert.rejects(pullImage(store, `${reg.host}/app:v1`), (e: unknown) => e instanceof PullError && e.kind === 'Unauthorized' && /pull access denied/.test(e.message));
      await assert.rejects(pullImage(store, `${reg.host}/app:v1`, { credentials: [{ username: 'bob', password: 'nope' }] }), /pull access denied.*authentication required/);
      const rec = await pullImage(store, `${reg.host}/app:v1`, { credentials: [{ username: 'bob', password: 'nope' }, { username: 'bob', password: 'pw' }] });
      assert.equal(rec.id, img.configDigest);
    } finally {
      await reg.close();
    }
  });

  test('refuses a blob whose digest does not match and keeps nothing of it', async () => {
    const layer = img.layers[0]!.digest;
    const reg = await fakeRegistry({ v1: img }, { corrupt: layer });
    try {
      const root = join(dir, 'corrupt');
      const store = openImageStore(root);
      await assert.rejects(pullImage(store, `${reg.host}/app:v1`), (e: unknown) => e instanceof PullError && e.kind === 'DigestMismatch' && e.message.includes(`expected ${layer}`));
      assert.ok(!store.hasBlob(layer));
      assert.deepEqual(fs.readdirSync(join(root, 'tmp')), []);
      assert.deepEqual(store.list(), []);
    } finally {
      await reg.close();
    }
  });

  test('selects this platform from an index and explains a missing platform', async () => {
    const arm = buildImage([[{ name: 'arm.txt', data: 'arm\n' }]], { architecture: 'arm64' });
    const mkIndex = (entries: { i: BuiltImage; arch: string }[]) => Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: mediaTypes.ociIndex,
      manifests: entries.map(({ i, arch }) => ({ mediaType: mediaTypes.ociManifest, digest: i.manifestDigest, size: i.manifest.length, platform: { os: 'linux', architecture: arch } })),
    }));
    const reg = await fakeRegistry({ multi: mkIndex([{ i: arm, arch: 'arm64' }, { i: img, arch: 'amd64' }]), armonly: mkIndex([{ i: arm, arch: 'arm64' }]), armimage: arm, x: img }, {});
    try {
      const store = openImageStore(join(dir, 'platform'));
      const rec = await pullImage(store, `${reg.host}/app:multi`, { platform: { os: 'linux', architecture: 'amd64' } });
      assert.equal(rec.id, img.configDigest);
      await assert.rejects(pullImage(store, `${reg.host}/app:armonly`, { platform: { os: 'linux', architecture: 'amd64' } }), (e: unknown) => e instanceof PullError && e.kind === 'Platform' && /linux\/amd64.*offers linux\/arm64/.test(e.message));
      await assert.rejects(pullImage(store, `${reg.host}/app:armimage`, { platform: { os: 'linux', architecture: 'amd64' } }), /is for platform linux\/arm64, not linux\/amd64/);
    } finally {
      await reg.close();
    }
  });

  test('a manifest fetched by digest must hash to that digest', async () => {
    const reg = await fakeRegistry({ [sha256Digest('other')]: img }, {});
    try {
      const store = openImageStore(join(dir, 'mdigest'));
      await assert.rejects(pullImage(store, `${reg.host}/app@${sha256Digest('other')}`), (e: unknown) => e instanceof PullError && e.kind === 'DigestMismatch');
    } finally {
      await reg.close();
    }
  });
});

test('parseChallenge reads quoted parameters', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), {
    scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
  });
});

test('credentialsFor matches hosts, Docker Hub aliases, path prefixes and globs, most specific first', () => {
  const cfg = parseDockerConfig(JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: Buffer.from('hub:1').toString('base64') },
      'registry.example/team': { username: 'team', password: '2' },
      'registry.example': { username: 'any', password: '3' },
      '*.corp.example': { username: 'glob', password: '4' },
    },
  }));
  assert.deepEqual(credentialsFor('docker.io', 'library/busybox', [cfg]), [{ username: 'hub', password: '1' }]);
  assert.deepEqual(credentialsFor('registry.example', 'team/app', [cfg]).map((c) => c.username), ['team', 'any']);
  assert.deepEqual(credentialsFor('registry.example', 'other/app', [cfg]).map((c) => c.username), ['any']);
  assert.deepEqual(credentialsFor('r.corp.example', 'x', [cfg]).map((c) => c.username), ['glob']);
  assert.deepEqual(credentialsFor('a.b.corp.example', 'x', [cfg]), []);
});
