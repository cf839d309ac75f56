import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../base/clock.ts';
import { WorkQueue } from './work-queue.ts';
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter } from './rate-limiter.ts';

/** Lets already-resolved promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

test('an item added twice while queued is queued once', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  const first = await q.get();
  assert.deepEqual(first, { item: 'a', shutdown: false });
  const second = await q.get();
  assert.deepEqual(second, { item: 'b', shutdown: false });
  assert.equal(q.len(), 0);
});

test('an item re-added while being processed is processed again after done, not concurrently', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const got = await q.get();
  assert.equal(got.item, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not handed out while it is processing');
  q.done('a');
  assert.equal(q.len(), 1);
  const again = await q.get();
  assert.equal(again.item, 'a');
  q.done('a');
  assert.equal(q.len(), 0);
});

test('get blocks until an item arrives and wakes with shutdown', async () => {
  const q = new WorkQueue<string>();
  let resolved: unknown;
  const p = q.get().then((v) => (resolved = v));
  await settle();
  assert.equal(resolved, undefined);
  q.add('x');
  await p;
  assert.deepEqual(resolved, { item: 'x', shutdown: false });

  const waiting = q.get();
  q.shutDown();
  assert.deepEqual(await waiting, { item: undefined, shutdown: true });
  q.add('y');
  assert.equal(q.len(), 0, 'adds after shutdown are ignored');
});

test('queued items are still handed out after shutDown', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  q.shutDown();
  assert.equal((await q.get()).item, 'a');
  assert.equal((await q.get()).item, 'b');
  assert.equal((await q.get()).shutdown, true);
});

test('shutDownWithDrain waits for items being processed', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  await q.get();
  let drained = false;
  const p = q.shutDownWithDrain().then(() => (drained = true));
  await settle();
  assert.equal(drained, false);
  q.done('a');
  await p;
  assert.equal(drained, true);
});

test('addAfter delivers after the delay on the injected clock; the earlier of two delays wins', async () => {
  const clock = new FakeClock(1000);
  const q = new WorkQueue<string>({ clock });
  q.addAfter('a', 100);
  q.addAfter('a', 50);
  q.addAfter('b', 0);
  assert.equal(q.len(), 1, 'zero delay is immediate');
  clock.advance(49);
  await settle();
  assert.equal(q.len(), 1);
  clock.advance(1);
  await settle();
  assert.equal(q.len(), 2);
  clock.advance(100);
  await settle();
  assert.equal(q.len(), 2, 'the later timer does not add a second copy');
});

test('addAfter still delivers when the timer fires before the clock reaches the deadline', async () => {
  // Node's setTimeout runs on the monotonic clock and may fire up to 1 ms before Date.now() reaches the deadline.
  class EarlyClock extends FakeClock {
    override sleep(ms: number): Promise<void> {
      return super.sleep(Math.max(0, ms - 1));
    }
  }
  const clock = new EarlyClock(1000);
  const q = new WorkQueue<string>({ clock });
  q.addAfter('a', 100);
  clock.advance(99);
  await settle();
  assert.equal(q.len(), 0, 'not before the deadline');
  clock.advance(1);
  await settle();
  assert.equal(q.len(), 1, 'delivered at the deadline');
  const { item } = await q.get();
  q.done(item!);
  q.addAfter('a', 50);
  clock.advance(50);
  await settle();
  assert.equal(q.len(), 1, 'a later addAfter of the same item is not swallowed');
});

test('addRateLimited backs off exponentially per item; forget resets it', async () => {
  const clock = new FakeClock(0);
  const q = new WorkQueue<string>({ clock, rateLimiter: new ItemExponentialFailureRateLimiter({ baseMs: 5, maxMs: 1000 }) });
  q.addRateLimited('a'); // 5 ms
  assert.equal(q.numRequeues('a'), 1);
  clock.advance(4);
  await settle();
  assert.equal(q.len(), 0);
  clock.advance(1);
  await settle();
  assert.equal(q.len(), 1);
  await q.get();
  q.done('a');
  q.addRateLimited('a'); // 10 ms
  clock.advance(9);
  await settle();
  assert.equal(q.len(), 0);
  clock.advance(1);
  await settle();
  assert.equal(q.len(), 1);
  assert.equal(q.numRequeues('a'), 2);
  q.forget('a');
  assert.equal(q.numRequeues('a'), 0);
});

test('item exponential limiter doubles from base and caps at max', () => {
  const l = new ItemExponentialFailureRateLimiter<string>({ baseMs: 5, maxMs: 1_000_000 });
  const delays = Array.from({ length: 5 }, () => l.when('x'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80]);
  for (let i = 0; i < 100; i++) l.when('x');
  assert.equal(l.when('x'), 1_000_000);
  assert.equal(l.when('other'), 5, 'items are tracked separately');
});

test('bucket limiter allows the burst then spaces items at 1/qps', () => {
  const clock = new FakeClock(0);
  const l = new BucketRateLimiter<string>({ qps: 10, burst: 3, clock });
  assert.deepEqual([l.when('a'), l.when('b'), l.when('c')], [0, 0, 0]);
  assert.equal(l.when('d'), 100);
  assert.equal(l.when('e'), 200);
  clock.advance(1000);
  // 10 tokens refilled minus the debt of 2, capped by the burst of 3.
  assert.equal(l.when('f'), 0);
});

test('the default controller limiter is the max of per-item back-off and the bucket', () => {
  const clock = new FakeClock(0);
  const l = defaultControllerRateLimiter<string>({ clock });
  assert.equal(l.when('a'), 5);
  assert.equal(l.when('a'), 10);
  // Exhaust the burst of 100 with distinct items: the bucket then dominates the 5 ms per-item delay.
  for (let i = 0; i < 98; i++) l.when(`i${i}`);
  assert.equal(l.when('z'), 100);
  const m = new MaxOfRateLimiter<string>([new ItemExponentialFailureRateLimiter({ baseMs: 1, maxMs: 10 })]);
  m.when('q');
  assert.equal(m.numRequeues('q'), 1);
});
