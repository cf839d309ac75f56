import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deepEqual } from './json-value.ts';

describe('deepEqual', () => {
  it('compares JSON values structurally, ignoring key order', () => {
    assert.equal(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }), true);
    assert.equal(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'y' }] }), false);
    assert.equal(deepEqual([1, 2], [2, 1]), false);
    assert.equal(deepEqual([1, 2], [1, 2, 3]), false);
    assert.equal(deepEqual({ a: [] }, { a: {} }), false);
    assert.equal(deepEqual(null, {}), false);
    assert.equal(deepEqual(null, null), true);
    assert.equal(deepEqual('1', 1), false);
    assert.equal(deepEqual({ a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(deepEqual({ a: 1, b: 2 }, { a: 1 }), false);
  });
  it('treats a member holding undefined as absent', () => {
    assert.equal(deepEqual({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(deepEqual({ a: 1 }, { a: 1, b: undefined }), true);
    assert.equal(deepEqual({ b: undefined }, { b: null }), false);
    assert.equal(deepEqual({ a: 1, b: undefined }, { a: 1, c: 2 }), false);
  });
});
