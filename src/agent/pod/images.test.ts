import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Secret } from 'kubernetes-types/core/v1.js';
import type { ContainerRuntime, ImageInfo, PullCredential } from '../runtime/runtime.ts';
import { RuntimeError } from '../runtime/runtime.ts';
import type { ConfigSource } from './env.ts';
import { effectivePullPolicy, ImageManager, pullCredentials } from './images.ts';
import type { ImageEvent } from './images.ts';

function fakeRuntime(o: { present?: Set<string>; fail?: string } = {}): { rt: ContainerRuntime; pulls: { image: string; credentials: PullCredential[] }[] } {
  const present = o.present ?? new Set<string>();
  const pulls: { image: string; credentials: PullCredential[] }[] = [];
  const rt = {
    async imageStatus(image: string): Promise<ImageInfo | undefined> {
      return present.has(image) ? { id: `sha256:${image.length}`, repoTags: [image], size: 42 } : undefined;
    },
    async pullImage(image: string, opts: { credentials?: PullCredential[] } = {}): Promise<string> {
      pulls.push({ image, credentials: opts.credentials ?? [] });
      if (o.fail) throw new RuntimeError('ErrImagePull', o.fail);
      present.add(image);
      return `sha256:${image.length}`;
    },
  } as unknown as ContainerRuntime;
  return { rt, pulls };
}

const noSource: ConfigSource = { getConfigMap: async () => undefined, getSecret: async () => undefined };
const pod = (extra: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({ metadata: { name: 'p', namespace: 'ns', uid: 'u1' }, spec: { containers: [], ...extra } });
const policy = { initialMs: 1000, maxMs: 4000, resetAfterMs: 60_000 };

test('effectivePullPolicy follows upstream defaulting', () => {
  assert.equal(effectivePullPolicy({ image: 'busybox' }), 'Always');
  assert.equal(effectivePullPolicy({ image: 'busybox:latest' }), 'Always');
  assert.equal(effectivePullPolicy({ image: 'localhost:5000/busybox' }), 'Always');
  assert.equal(effectivePullPolicy({ image: 'localhost:5000/busybox:1.36' }), 'IfNotPresent');
  assert.equal(effectivePullPolicy({ image: 'busybox@sha256:abc' }), 'IfNotPresent');
  assert.equal(effectivePullPolicy({ image: 'busybox:1', imagePullPolicy: 'Always' }), 'Always');
});

test('IfNotPresent uses a present image without pulling; Never refuses a missing one', async () => {
  const { rt, pulls } = fakeRuntime({ present: new Set(['reg.local/app:1']) });
  const m = new ImageManager(rt, policy);
  const evs: ImageEvent[] = [];
  const r = await m.ensureImage(pod(), { name: 'c', image: 'reg.local/app:1' }, { source: noSource, emit: (e) => evs.push(e) });
  assert.equal(r.ok, true);
  assert.equal(pulls.length, 0);
  assert.deepEqual(evs.map((e) => e.message), ['Container image "reg.local/app:1" already present on machine']);
  const n = await m.ensureImage(pod(), { name: 'c', image: 'reg.local/other:1', imagePullPolicy: 'Never' }, { source: noSource, emit: () => undefined });
  assert.deepEqual(n, { ok: false, reason: 'ErrImageNeverPull', message: 'Container image "reg.local/other:1" is not present with pull policy of Never' });
  assert.equal(pulls.length, 0);
});

test('Always pulls even when present and reports Pulling/Pulled', async () => {
  const { rt, pulls } = fakeRuntime({ present: new Set(['reg.local/app:1']) });
  const m = new ImageManager(rt, policy);
  const evs: ImageEvent[] = [];
  const r = await m.ensureImage(pod(), { name: 'c', image: 'reg.local/app:1', imagePullPolicy: 'Always' }, { source: noSource, emit: (e) => evs.push(e) });
  assert.equal(r.ok, true);
  assert.equal(pulls.length, 1);
  assert.equal(evs[0]?.reason, 'Pulling');
  assert.match(evs[1]?.message ?? '', /^Successfully pulled image "reg\.local\/app:1" in [\d.]+s \([\d.]+s including waiting\)\. Image size: 42 bytes\.$/);
});

test('a failed pull is ErrImagePull, then ImagePullBackOff until the back-off expires, doubling', async () => {
  const { rt, pulls } = fakeRuntime({ fail: 'manifest unknown: manifest unknown' });
  const m = new ImageManager(rt, policy);
  const c = { name: 'c', image: 'reg.local/missing:1' };
  const evs: ImageEvent[] = [];
  const first = await m.ensureImage(pod(), c, { source: noSource, emit: (e) => evs.push(e) });
  assert.equal(first.ok, false);
  if (first.ok) return;
  assert.equal(first.reason, 'ErrImagePull');
  assert.equal(first.message, 'manifest unknown: manifest unknown');
  assert.ok(evs.some((e) => e.type === 'Warning' && e.message === 'Failed to pull image "reg.local/missing:1": manifest unknown: manifest unknown'));
  const second = await m.ensureImage(pod(), c, { source: noSource, emit: () => undefined });
  assert.equal(second.ok, false);
  if (second.ok) return;
  assert.equal(second.reason, 'ImagePullBackOff');
  assert.equal(second.message, 'Back-off pulling image "reg.local/missing:1": ErrImagePull: manifest unknown: manifest unknown');
  assert.equal(pulls.length, 1);
  // After the window the pull is retried, and the next window is twice as long.
  const later = (first.retryAt ?? 0) + 1;
  const third = await m.ensureImage(pod(), c, { source: noSource, emit: () => undefined, now: later });
  assert.equal(pulls.length, 2);
  assert.equal(third.ok, false);
  if (third.ok) return;
  assert.ok((third.retryAt ?? 0) - Date.now() > 1500, 'second back-off is doubled');
  m.forgetPod('u1');
  await m.ensureImage(pod(), c, { source: noSource, emit: () => undefined });
  assert.equal(pulls.length, 3, 'a forgotten pod starts without back-off');
});

test('pullCredentials reads dockerconfigjson secrets and matches by registry', async () => {
  const cfg = { auths: { 'reg.local:5000': { auth: Buffer.from('alice:s3cret').toString('base64') }, 'other.io': { username: 'bob', password: 'x' } } };
  const secret: Secret = { metadata: { name: 'pull', namespace: 'ns' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(cfg)).toString('base64') } };
  const source: ConfigSource = { getConfigMap: async () => undefined, getSecret: async (ns, name) => (ns === 'ns' && name === 'pull' ? secret : undefined) };
  const p = pod({ imagePullSecrets: [{ name: 'missing' }, { name: 'pull' }] });
  assert.deepEqual(await pullCredentials(p, 'reg.local:5000/app:1', { source }), [{ username: 'alice', password: 's3cret' }]);
  assert.deepEqual(await pullCredentials(p, 'elsewhere.io/app:1', { source }), []);
  const { rt, pulls } = fakeRuntime();
  await new ImageManager(rt, policy).ensureImage(p, { name: 'c', image: 'reg.local:5000/app:1' }, { source, emit: () => undefined });
  assert.deepEqual(pulls[0]?.credentials, [{ username: 'alice', password: 's3cret' }]);
});
