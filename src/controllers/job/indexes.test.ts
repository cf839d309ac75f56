import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  completionIndexOf, duplicatedIndexPods, firstPendingIndexes, formatIndexes, generateNameWithIndex, hasIndex, parseIndexes, totalIndexes,
  withOrderedIndexes,
} from './indexes.ts';

function pod(name: string, ix?: string): Pod {
  return { metadata: { name, uid: name, annotations: ix === undefined ? undefined : { 'batch.kubernetes.io/job-completion-index': ix } } };
}

describe('ordered intervals', () => {
  it('parses and prints completedIndexes as upstream', () => {
    assert.equal(formatIndexes(parseIndexes('1,3-5,7', 10)), '1,3-5,7');
    assert.equal(formatIndexes(parseIndexes('0,1,2,4', 10)), '0-2,4');
    // Cut at completions; malformed parts skipped.
    assert.equal(formatIndexes(parseIndexes('2-8,x,9', 5)), '2-4');
    assert.equal(totalIndexes(parseIndexes('1,3-5,7', 10)), 5);
    assert.deepEqual(parseIndexes('', 3), []);
  });
  it('adds indexes and answers membership', () => {
    const oi = withOrderedIndexes(parseIndexes('1,5', 10), [2, 3, 9]);
    assert.equal(formatIndexes(oi), '1-3,5,9');
    assert.equal(hasIndex(oi, 2), true);
    assert.equal(hasIndex(oi, 4), false);
    assert.equal(hasIndex(oi, 9), true);
  });
});

describe('completion indexes of pods', () => {
  it('reads the annotation, rejecting bad values', () => {
    assert.equal(completionIndexOf(pod('a', '3')), 3);
    assert.equal(completionIndexOf(pod('a', '-1')), -1);
    assert.equal(completionIndexOf(pod('a', 'x')), -1);
    assert.equal(completionIndexOf(pod('a')), -1);
  });
  it('picks the lowest pending indexes, skipping succeeded, active and failed ones', () => {
    const active = [pod('a', '0'), pod('b', '4')];
    assert.deepEqual(firstPendingIndexes({ activePods: active, succeeded: parseIndexes('1-2', 10), count: 3, completions: 10 }), [3, 5, 6]);
    assert.deepEqual(firstPendingIndexes({ activePods: active, succeeded: parseIndexes('1-2', 10), failed: parseIndexes('3,5', 10), count: 3, completions: 10 }), [6, 7, 8]);
    assert.deepEqual(firstPendingIndexes({ activePods: [], succeeded: [], count: 5, completions: 2 }), [0, 1]);
    assert.deepEqual(firstPendingIndexes({ activePods: [], succeeded: [], count: 0, completions: 2 }), []);
  });
  it('removes pods with duplicated, missing or out-of-range indexes, keeping the best of each index', () => {
    const pods = [pod('dup-old', '1'), pod('dup-new', '1'), pod('none'), pod('big', '7'), pod('ok', '0')];
    // "worst first": order by name, so dup-new < dup-old and dup-old is kept.
    const { rm, left } = duplicatedIndexPods(pods, 5, (a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    assert.deepEqual(rm.map((p) => p.metadata?.name).sort(), ['big', 'dup-new', 'none']);
    assert.deepEqual(left.map((p) => p.metadata?.name).sort(), ['dup-old', 'ok']);
  });
  it('cuts long job names in generateName', () => {
    assert.equal(generateNameWithIndex('pi', 3), 'pi-3-');
    const long = 'x'.repeat(60);
    const g = generateNameWithIndex(long, 12);
    assert.equal(g.length, 58);
    assert.ok(g.endsWith('-12-'));
  });
});
