import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeCondition } from 'kubernetes-types/core/v1.js';
import { RateLimitedTimedQueue, TokenBucket, ZoneEviction, computeZoneState, zoneKey } from './zone-eviction.ts';
import type { TryResult } from './zone-eviction.ts';

const ready = (status: 'True' | 'False' | 'Unknown'): NodeCondition => ({ type: 'Ready', status });
/** A zone of `n` nodes of which `notReady` are not ready. */
const zone = (n: number, notReady: number): NodeCondition[] => Array.from({ length: n }, (_, i) => ready(i < notReady ? 'Unknown' : 'True'));

describe('zone-aware eviction (node lifecycle controller)', () => {
  it('keys zones by region and zone labels, beta labels as fallback', () => {
    assert.equal(zoneKey({ metadata: { labels: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z1' } } }), 'r1:\x00:z1');
    assert.equal(zoneKey({ metadata: { labels: { 'failure-domain.beta.kubernetes.io/zone': 'z2' } } }), ':\x00:z2');
    assert.equal(zoneKey({ metadata: {} }), '');
  });

  it('computes zone states as upstream ComputeZoneState (threshold 0.55, more than two not ready)', () => {
    assert.deepEqual(computeZoneState(zone(3, 3), 0.55), { notReady: 3, state: 'FullDisruption' });
    assert.deepEqual(computeZoneState([undefined], 0.55), { notReady: 1, state: 'FullDisruption' });
    assert.equal(computeZoneState(zone(4, 2), 0.55).state, 'Normal', 'two not-ready nodes are never a disruption');
    assert.equal(computeZoneState(zone(5, 3), 0.55).state, 'PartialDisruption');
    assert.equal(computeZoneState(zone(6, 3), 0.55).state, 'Normal', '0.5 is under the threshold');
    assert.equal(computeZoneState(zone(20, 11), 0.55).state, 'PartialDisruption');
    assert.equal(computeZoneState([], 0.55).state, 'Normal');
  });

  it('token bucket: burst 1, refills at qps; qps 0 never accepts', () => {
    const b = new TokenBucket(0.1, 0);
    assert.equal(b.tryAccept(0), true);
    assert.equal(b.tryAccept(5_000), false);
    assert.equal(b.tryAccept(9_999), false);
    assert.equal(b.tryAccept(10_000), true);
    assert.equal(b.tryAccept(100_000), true);
    assert.equal(b.tryAccept(100_001), false, 'no more than one token is saved up');
    assert.equal(new TokenBucket(0, 0).tryAccept(1e9), false);
  });

  it('queue: unique values, rate-limited, retried after their delay; a swapped limiter keeps the pace', async () => {
    const q = new RateLimitedTimedQueue(1, 0);
    assert.equal(q.add('a', 'ua', 0), true);
    assert.equal(q.add('a', 'ua', 0), false);
    q.add('b', 'ub', 0);
    q.add('c', 'uc', 0);
    const seen: string[] = [];
    const fn = async (v: string): Promise<TryResult> => {
      seen.push(v);
      return v === 'b' && seen.filter((s) => s === 'b').length === 1 ? { done: false, retryMs: 50 } : { done: true };
    };
    await q.try(0, fn);
    assert.deepEqual(seen, ['a'], 'one token at t=0');
    await q.try(500, fn);
    assert.deepEqual(seen, ['a']);
    await q.try(1_000, fn);
    assert.deepEqual(seen, ['a', 'b'], 'b fails and is put back behind c');
    assert.deepEqual(q.values(), ['c', 'b']);
    await q.try(2_000, fn);
    await q.try(3_000, fn);
    assert.deepEqual(seen, ['a', 'b', 'c', 'b']);
    assert.deepEqual(q.values(), []);
    // Stopped: nothing goes; a faster limiter swapped in while the old one was drained starts drained too.
    q.add('d', 'ud', 3_000);
    q.swapLimiter(0, 3_000);
    await q.try(1e6, fn);
    assert.deepEqual(q.values(), ['d']);
    const r = new RateLimitedTimedQueue(0.1, 0);
    r.add('x', 'ux', 0);
    r.add('y', 'uy', 0);
    await r.try(0, async () => ({ done: true }));
    r.swapLimiter(1, 100);
    assert.deepEqual(r.values(), ['y']);
    await r.try(100, async () => ({ done: true }));
    assert.deepEqual(r.values(), ['y'], 'the new limiter starts without a token');
    await r.try(1_100, async () => ({ done: true }));
    assert.deepEqual(r.values(), []);
  });

  it('state machine: rates per zone state, full disruption of every zone stops tainting, recovery restores rates', () => {
    const z = new ZoneEviction();
    const conds = (m: Record<string, NodeCondition[]>): Map<string, NodeCondition[]> => new Map(Object.entries(m));
    // First sight: Initial → Normal at --node-eviction-rate.
    assert.deepEqual(z.handleDisruption(conds({ a: zone(10, 0), b: zone(100, 0) }), 0), { enteredFullDisruption: false, exitedFullDisruption: false });
    assert.deepEqual([z.state('a'), z.rate('a'), z.state('b'), z.rate('b')], ['Normal', 0.1, 'Normal', 0.1]);
    // Partial disruption: a small zone stops, a large one (> 50 nodes) slows to the secondary rate.
    z.handleDisruption(conds({ a: zone(10, 6), b: zone(100, 60) }), 1_000);
    assert.deepEqual([z.state('a'), z.rate('a'), z.state('b'), z.rate('b')], ['PartialDisruption', 0, 'PartialDisruption', 0.01]);
    // One zone fully disrupted while another is not: the normal rate there.
    z.handleDisruption(conds({ a: zone(10, 10), b: zone(100, 1) }), 2_000);
    assert.deepEqual([z.state('a'), z.rate('a'), z.state('b'), z.rate('b')], ['FullDisruption', 0.1, 'Normal', 0.1]);
    // Every zone fully disrupted: all tainting stops and the controller lifts the NoExecute taints.
    assert.deepEqual(z.handleDisruption(conds({ a: zone(10, 10), b: zone(100, 100) }), 3_000), { enteredFullDisruption: true, exitedFullDisruption: false });
    assert.deepEqual([z.state('a'), z.rate('a'), z.state('b'), z.rate('b')], ['FullDisruption', 0, 'FullDisruption', 0]);
    // Staying there changes nothing.
    assert.deepEqual(z.handleDisruption(conds({ a: zone(10, 10), b: zone(100, 100) }), 4_000), { enteredFullDisruption: false, exitedFullDisruption: false });
    assert.equal(z.rate('a'), 0);
    // A node comes back: every zone gets the rate of its state, and grace periods restart.
    assert.deepEqual(z.handleDisruption(conds({ a: zone(10, 10), b: zone(100, 99) }), 5_000), { enteredFullDisruption: false, exitedFullDisruption: true });
    assert.deepEqual([z.state('a'), z.rate('a'), z.state('b'), z.rate('b')], ['FullDisruption', 0.1, 'PartialDisruption', 0.01]);
    // A zone that no longer has nodes is forgotten.
    z.handleDisruption(conds({ b: zone(100, 0) }), 6_000);
    assert.equal(z.state('a'), undefined);
    assert.equal(z.state('b'), 'Normal');
  });

  it('a single zone whose nodes all stop is a full disruption: nothing is tainted', async () => {
    const z = new ZoneEviction();
    z.handleDisruption(new Map([['', zone(3, 0)]]), 0);
    for (const n of ['n1', 'n2', 'n3']) z.markForTainting('', n, `u-${n}`, 1_000);
    assert.deepEqual(z.handleDisruption(new Map([['', zone(3, 3)]]), 1_000).enteredFullDisruption, true);
    const tainted: string[] = [];
    await z.taintingPass(1e6, async (n) => {
      tainted.push(n);
      return { done: true };
    });
    assert.equal(tainted.length, 0);
    // One node is back: the others are tainted at 0.1/s, starting one period later (the stopped limiter had no
    // token, so the restored one starts drained).
    z.unmark('', 'n1');
    const pass = (at: number): Promise<void> => z.taintingPass(at, async (n) => {
      tainted.push(n);
      return { done: true };
    });
    assert.equal(z.handleDisruption(new Map([['', [ready('True'), ready('Unknown'), ready('Unknown')]]]), 2e6).exitedFullDisruption, true);
    await pass(2e6);
    assert.equal(tainted.length, 0);
    await pass(2e6 + 10_000);
    assert.deepEqual(tainted, ['n2']);
    await pass(2e6 + 15_000);
    assert.deepEqual(tainted, ['n2']);
    await pass(2e6 + 20_000);
    assert.deepEqual(tainted, ['n2', 'n3']);
  });
});
