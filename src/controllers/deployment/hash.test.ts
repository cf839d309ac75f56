import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { computeHash, fnv32a, safeEncodeString } from './hash.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('pod-template-hash', () => {
  it('fnv32a matches the FNV-1a reference vectors', () => {
    assert.equal(fnv32a(enc('')), 0x811c9dc5);
    assert.equal(fnv32a(enc('a')), 0xe40c292c);
    assert.equal(fnv32a(enc('foobar')), 0xbf9cf968);
    // Continuing from a seed is the same as hashing the concatenation (hash.Hash.Write twice).
    assert.equal(fnv32a(enc('bar'), fnv32a(enc('foo'))), fnv32a(enc('foobar')));
  });

  it('safeEncodeString maps each character by code point modulo 27', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
    assert.equal(safeEncodeString(''), '');
  });

  const t: PodTemplateSpec = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } };

  it('is stable, key-order independent and ignores fields Go would see as absent', () => {
    const h = computeHash(t);
    assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(computeHash(structuredClone(t)), h);
    const reordered: PodTemplateSpec = { spec: { containers: [{ image: 'nginx:1', name: 'c', resources: {} }] }, metadata: { labels: { app: 'web' }, annotations: {} } };
    assert.equal(computeHash(reordered), h);
    assert.notEqual(computeHash({ ...t, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }), h);
  });

  it('folds the collision count in as 8 little-endian bytes', () => {
    const base = fnv32a(enc(JSON.stringify({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ image: 'nginx:1', name: 'c' }] } })));
    const bytes = new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(computeHash(t, 5), safeEncodeString(String(fnv32a(bytes, base))));
    assert.equal(computeHash(t), safeEncodeString(String(base)));
    assert.notEqual(computeHash(t, 0), computeHash(t), 'a zero collision count still adds its bytes');
  });
});
