import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEncryptionConfig } from './encryption-config.ts';
import { Store } from '../registry/store.ts';
import { secrets } from '../../api/core/v1/secret.ts';
import { openStorage } from '../../storage/open.ts';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(16, 2).toString('base64');
const SB = Buffer.alloc(32, 3).toString('base64');

function config(providers: string): string {
  return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
${providers}`;
}

const aes = (...keys: [string, string][]) => `      - aesgcm:\n          keys:\n${keys.map(([n, s]) => `            - name: ${n}\n              secret: ${s}\n`).join('')}`;
const box = (name: string, secret: string) => `      - secretbox:\n          keys:\n            - name: ${name}\n              secret: ${secret}\n`;
const ident = '      - identity: {}\n';
const enc = new TextEncoder();
const dec = new TextDecoder();
const KEY = '/registry/secrets/default/s';

test('aesgcm writes upstream\'s prefix, hides the plaintext and binds the value to its storage key', () => {
  const t = parseEncryptionConfig(config(aes(['k1', K1]))).transformerFor('', 'secrets')!;
  const stored = t.toStorage(enc.encode('{"data":"top-secret"}'), KEY);
  const text = Buffer.from(stored).toString('latin1');
  assert.ok(text.startsWith('k8s:enc:aesgcm:v1:k1:'), text.slice(0, 30));
  assert.ok(!text.includes('top-secret'));
  const back = t.fromStorage(stored, KEY);
  assert.equal(dec.decode(back.data), '{"data":"top-secret"}');
  assert.equal(back.stale, false);
  assert.throws(() => t.fromStorage(stored, '/registry/secrets/default/other'));
});

test('secretbox round-trips under its own prefix', () => {
  const t = parseEncryptionConfig(config(box('b1', SB))).transformerFor('', 'secrets')!;
  const stored = t.toStorage(enc.encode('hello'), KEY);
  assert.ok(Buffer.from(stored).toString('latin1').startsWith('k8s:enc:secretbox:v1:b1:'));
  assert.equal(dec.decode(t.fromStorage(stored, KEY).data), 'hello');
  const tampered = Buffer.from(stored);
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(() => t.fromStorage(tampered, KEY));
});

test('reads with any listed key or provider; only the first provider and key are fresh', () => {
  const old = parseEncryptionConfig(config(aes(['k1', K1]))).transformerFor('', 'secrets')!;
  const rotated = parseEncryptionConfig(config(aes(['k2', K2], ['k1', K1]) + ident)).transformerFor('', 'secrets')!;
  const byOld = old.toStorage(enc.encode('v'), KEY);
  assert.deepEqual({ v: dec.decode(rotated.fromStorage(byOld, KEY).data), stale: rotated.fromStorage(byOld, KEY).stale }, { v: 'v', stale: true });
  const plain = rotated.fromStorage(enc.encode('{"plain":true}'), KEY);
  assert.equal(plain.stale, true);
  assert.equal(dec.decode(plain.data), '{"plain":true}');
  const byNew = rotated.toStorage(enc.encode('v'), KEY);
  assert.ok(Buffer.from(byNew).toString('latin1').startsWith('k8s:enc:aesgcm:v1:k2:'));
  assert.equal(rotated.fromStorage(byNew, KEY).stale, false);
  // A configuration that lost the key cannot read the value (and identity refuses ciphertext).
  const lost = parseEncryptionConfig(config(aes(['k2', K2]) + ident)).transformerFor('', 'secrets')!;
  assert.throws(() => lost.fromStorage(byOld, KEY), /identity transformer tried to read encrypted data/);
});

test('only the named resources are transformed; identity alone stores as is', () => {
  const c = parseEncryptionConfig(config(aes(['k1', K1])));
  assert.ok(c.transformerFor('', 'secrets'));
  assert.equal(c.transformerFor('', 'configmaps'), undefined);
  assert.equal(parseEncryptionConfig(config(ident)).transformerFor('', 'secrets'), undefined);
  const wild = parseEncryptionConfig(config(aes(['k1', K1])).replace('[secrets]', "['*.apps']"));
  assert.ok(wild.transformerFor('apps', 'deployments'));
  assert.equal(wild.transformerFor('', 'secrets'), undefined);
});

test('a bad configuration fails with one line naming the problem, as upstream words it', () => {
  const msg = (text: string): string => {
    try {
      parseEncryptionConfig(text);
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(msg(config(aes(['k1', Buffer.alloc(8).toString('base64')]))),
    'error while parsing file: resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 8, expected one of [16 24 32]');
  assert.equal(msg(config(box('b', K2))),
    'error while parsing file: resources[0].providers[0].secretbox.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 16, expected one of [32]');
  assert.equal(msg(config(aes(['k1', 'not base64!']))), 'error while parsing file: resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded');
  assert.match(msg(config('      - {}\n')), /provider does not contain any of the expected providers/);
  assert.match(msg(config('').replace('kind: EncryptionConfiguration', 'kind: Nope')), /kind: Invalid value: "Nope"/);
  assert.match(msg('resources: ['), /^error while parsing file: /);
  for (const m of [msg(config(aes(['k1', K1]).replace('name: k1', 'name: ""'))), msg(config(''))]) assert.ok(!m.includes('\n'), m);
});

test('a Store with a transformer keeps ciphertext in storage, plaintext in reads and the watch cache, and re-encrypts stale values on a no-op update', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-enc-'));
  const storage = await openStorage(`sqlite://${join(dir, 'state.db')}`);
  const ac = new AbortController();
  const ac1 = new AbortController();
  try {
    const first = parseEncryptionConfig(config(aes(['k1', K1]))).transformerFor('', 'secrets')!;
    const store1 = new Store(secrets, { storage, transformer: first });
    const loop1 = store1.cache.start(ac1.signal);
    await store1.cache.ready;
    const value = Buffer.from('s3cr3t-value').toString('base64');
    await store1.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: value } });
    const raw = (await storage.get(KEY)).kv!.value;
    assert.ok(!Buffer.from(raw).includes(value));
    assert.ok(Buffer.from(raw).toString('latin1').startsWith('k8s:enc:aesgcm:v1:k1:'));
    assert.deepEqual((await store1.get('default', 's')).data, { k: value });
    const listed = await store1.list('default', {});
    assert.deepEqual(listed.items.map((i) => i.obj.data), [{ k: value }]);

    ac1.abort();
    await loop1;
    // Rotation: k2 first, k1 still readable; re-writing the unchanged object moves it to k2.
    const rotated = parseEncryptionConfig(config(aes(['k2', K2], ['k1', K1]))).transformerFor('', 'secrets')!;
    const store2 = new Store(secrets, { storage, transformer: rotated });
    const loop2 = store2.cache.start(ac.signal);
    await store2.cache.ready;
    const current = await store2.get('default', 's');
    const rewritten = await store2.update('default', 's', structuredClone(current));
    assert.notEqual(rewritten.metadata.resourceVersion, current.metadata.resourceVersion);
    const raw2 = (await storage.get(KEY)).kv!.value;
    assert.ok(Buffer.from(raw2).toString('latin1').startsWith('k8s:enc:aesgcm:v1:k2:'));
    // Now fresh: a second identical write is a no-op again.
    const again = await store2.update('default', 's', structuredClone(rewritten));
    assert.equal(again.metadata.resourceVersion, rewritten.metadata.resourceVersion);
    ac.abort();
    await loop2;
  } finally {
    ac.abort();
    ac1.abort();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
