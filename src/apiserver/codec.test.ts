import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../api/meta/types.ts';
import { canonicalKeyOrder, decodeStored, jsonOf, rememberJson, spliceResourceVersion, storedBytes, storedJsonText, storedText } from './codec.ts';

describe('stored JSON with a spliced resourceVersion', () => {
  const pod = (): StoredObject => ({ spec: { containers: [{ name: 'c' }], template: { metadata: { name: 'inner' } } }, metadata: { name: 'p', namespace: 'd', resourceVersion: '7' }, kind: 'Pod', apiVersion: 'v1' } as StoredObject);

  it('puts apiVersion, kind and metadata first and keeps the other keys in order', () => {
    const o = canonicalKeyOrder(pod());
    assert.deepEqual(Object.keys(o), ['apiVersion', 'kind', 'metadata', 'spec']);
    const already = canonicalKeyOrder(o);
    assert.equal(already, o, 'an object already in order is returned as is');
  });

  it('splices the revision into canonical stored JSON and decodes to what decodeStored gives', () => {
    const text = storedJsonText(canonicalKeyOrder(pod()));
    assert.doesNotMatch(text, /resourceVersion/);
    const json = spliceResourceVersion(text, 42);
    assert.ok(json !== null);
    assert.deepEqual(JSON.parse(json), decodeStored(storedBytes(text), 42));
    assert.equal((JSON.parse(json) as StoredObject).spec !== undefined, true);
    assert.equal(storedText(storedBytes(text)), text);
  });

  it('refuses text that is not in canonical order (a nested metadata must not take the revision)', () => {
    const text = storedJsonText(pod());
    assert.equal(spliceResourceVersion(text, 42), null);
    assert.equal(spliceResourceVersion('{"apiVersion":"v1","kind":"Pod","metadata":{}}', 1), null, 'empty metadata');
    assert.equal(spliceResourceVersion('{"apiVersion":"v\\"1","kind":"Pod","metadata":{"name":"x"}}', 1), null, 'escaped quote');
  });

  it('jsonOf answers with a remembered encoding, else encodes', () => {
    const a = { x: 1 };
    assert.equal(jsonOf(a), '{"x":1}');
    rememberJson(a, '{"x":1,"y":2}');
    assert.equal(jsonOf(a), '{"x":1,"y":2}');
  });
});
