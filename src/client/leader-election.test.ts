import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { FakeClock } from '../base/clock.ts';
import { setLogSink } from '../base/log.ts';
import { waitFor } from '../base/wait.ts';
import { RestClient } from './rest-client.ts';
import { ApiClient } from './resource-client.ts';
import { LeaderElector } from './leader-election.ts';
import { FakeApiServer } from './testing/fake-api-server.ts';
import { testLeases, testResources } from './testing/test-resources.ts';

let fake: FakeApiServer;
let api: ApiClient;

before(async () => {
  setLogSink(null);
  fake = new FakeApiServer({ resources: testResources });
  api = new ApiClient(new RestClient({ server: await fake.start(), namespace: 'default' }));
});

after(async () => {
  api.close();
  await fake.stop();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

beforeEach(() => {
  fake.remove(testLeases, 'kube-system', 'skiff-controller-manager');
});

interface Candidate {
  elector: LeaderElector;
  started: { at: number; signal: AbortSignal }[];
  stopped: number[];
  leaders: string[];
}

function candidate(identity: string, clock: FakeClock, opts: { releaseOnCancel?: boolean } = {}): Candidate {
  const c: Candidate = { elector: undefined as unknown as LeaderElector, started: [], stopped: [], leaders: [] };
  c.elector = new LeaderElector({
    client: api.resource<Lease>(testLeases),
    namespace: 'kube-system',
    name: 'skiff-controller-manager',
    identity,
    clock,
    releaseOnCancel: opts.releaseOnCancel,
    callbacks: {
      onStartedLeading: (signal) => void c.started.push({ at: clock.now(), signal }),
      onStoppedLeading: () => void c.stopped.push(clock.now()),
      onNewLeader: (id) => void c.leaders.push(id),
    },
  });
  return c;
}

const lease = (): Lease | undefined => fake.get(testLeases, 'kube-system', 'skiff-controller-manager') as Lease | undefined;

/** Advances the fake clock in steps (letting real I/O run between steps) until `cond` holds. */
async function advanceUntil(clock: FakeClock, cond: () => boolean, what: string, stepMs = 100): Promise<void> {
  await waitFor(
    () => {
      if (cond()) return true;
      clock.advance(stepMs);
      return false;
    },
    { what, timeoutMs: 20_000, intervalMs: 2 },
  );
}

test('acquires a new lease, renews it, and releases it on stop', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const a = candidate('a', clock);
  a.elector.start();
  try {
    await waitFor(() => a.elector.isLeader(), { what: 'leader' });
    assert.equal(a.started.length, 1);
    assert.deepEqual(a.leaders, ['a']);
    const l = lease();
    assert.equal(l?.spec?.holderIdentity, 'a');
    assert.equal(l?.spec?.leaseDurationSeconds, 15);
    assert.equal(l?.spec?.leaseTransitions, 0);
    assert.match(l?.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const r0 = l?.spec?.renewTime;
    const acquired = l?.spec?.acquireTime;
    await advanceUntil(clock, () => lease()?.spec?.renewTime !== r0, 'renewal');
    assert.equal(lease()?.spec?.acquireTime, acquired, 'acquireTime is kept on renewal');
  } finally {
    await a.elector.stop();
  }
  const released = lease();
  assert.equal(released?.spec?.holderIdentity, undefined);
  assert.equal(released?.spec?.leaseDurationSeconds, 1);
  assert.equal(a.stopped.length, 1);
  assert.equal(a.started[0]?.signal.aborted, true);
  assert.equal(a.elector.isLeader(), false);
});

test('a second candidate waits while the leader renews, and takes over at once after a release', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const a = candidate('a', clock);
  const b = candidate('b', clock);
  a.elector.start();
  try {
    await waitFor(() => a.elector.isLeader(), { what: 'a leads' });
    b.elector.start();
    await waitFor(() => b.leaders.includes('a'), { what: 'b sees a' });
    const until = clock.now() + 40_000;
    await advanceUntil(clock, () => clock.now() >= until || b.elector.isLeader(), '40 s of renewals');
    assert.equal(b.elector.isLeader(), false, 'a renewing lease is never taken');
    assert.equal(a.elector.isLeader(), true);
    await a.elector.stop();
    const released = clock.now();
    await advanceUntil(clock, () => b.elector.isLeader(), 'b takes over');
    assert.ok((b.started[0]?.at ?? 0) - released <= 2 * 2000 * 2.2, 'no need to wait for the lease duration');
    assert.equal(lease()?.spec?.holderIdentity, 'b');
    assert.equal(lease()?.spec?.leaseTransitions, 1);
    assert.deepEqual(b.leaders, ['a', 'b']);
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
});

test('a crashed leader is replaced only after the lease duration without change', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const a = candidate('a', clock, { releaseOnCancel: false });
  const b = candidate('b', clock);
  a.elector.start();
  try {
    await waitFor(() => a.elector.isLeader(), { what: 'a leads' });
    await a.elector.stop();
    assert.equal(lease()?.spec?.holderIdentity, 'a', 'not released');
    const observedAt = clock.now();
    b.elector.start();
    await waitFor(() => b.leaders.includes('a'), { what: 'b observes a' });
    await advanceUntil(clock, () => b.elector.isLeader(), 'b takes over', 250);
    assert.ok((b.started[0]?.at ?? 0) - observedAt >= 15_000, 'waited the full lease duration');
    assert.equal(lease()?.spec?.leaseTransitions, 1);
  } finally {
    await b.elector.stop();
  }
});

test('the leader steps down when it cannot renew within the renew deadline', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const a = candidate('a', clock);
  const ac = new AbortController();
  const done = a.elector.run(ac.signal);
  try {
    await waitFor(() => a.elector.isLeader(), { what: 'a leads' });
    // Another writer takes the lease behind a's back.
    const cur = lease();
    fake.put(testLeases, { ...cur, spec: { ...cur?.spec, holderIdentity: 'intruder', renewTime: new Date(clock.now()).toISOString() } });
    const intrudedAt = clock.now();
    await advanceUntil(clock, () => a.stopped.length === 1, 'a steps down', 250);
    await done;
    assert.ok(a.stopped[0]! - intrudedAt >= 8_000, 'kept trying for the renew deadline');
    assert.equal(a.started[0]?.signal.aborted, true);
    assert.equal(a.elector.isLeader(), false);
    assert.equal(lease()?.spec?.holderIdentity, 'intruder', 'a lost leader does not release');
    assert.deepEqual(a.leaders, ['a', 'intruder']);
  } finally {
    ac.abort();
  }
});

test('candidates racing for a fresh lease: exactly one wins (resourceVersion concurrency)', async () => {
  const clock = new FakeClock(1_700_000_000_000);
  const cs = ['a', 'b', 'c'].map((id) => candidate(id, clock));
  for (const c of cs) c.elector.start();
  try {
    await waitFor(() => cs.some((c) => c.elector.isLeader()), { what: 'a leader' });
    const until = clock.now() + 30_000;
    await advanceUntil(clock, () => clock.now() >= until, '30 s');
    assert.equal(cs.filter((c) => c.elector.isLeader()).length, 1);
    assert.equal(cs.reduce((n, c) => n + c.started.length, 0), 1);
    const winner = cs.find((c) => c.elector.isLeader());
    for (const c of cs) assert.equal(c.elector.getLeader(), winner ? ['a', 'b', 'c'][cs.indexOf(winner)] : '');
  } finally {
    for (const c of cs) await c.elector.stop();
  }
});

test('configuration is validated as client-go does', () => {
  const base = { client: api.resource<Lease>(testLeases), namespace: 'n', name: 'l', identity: 'x', callbacks: { onStartedLeading: () => {} } };
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /leaseDuration must be greater than renewDeadline/);
  assert.throws(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /renewDeadline must be greater than retryPeriod\*JitterFactor/);
  assert.throws(() => new LeaderElector({ ...base, identity: '' }), /identity is empty/);
});
