import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Event as CoreEvent, Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../base/clock.ts';
import { setLogSink } from '../base/log.ts';
import { RestClient } from './rest-client.ts';
import { ApiClient } from './resource-client.ts';
import { EventRecorder } from './event-recorder.ts';
import type { EventRecorderOptions } from './event-recorder.ts';
import { FakeApiServer, status } from './testing/fake-api-server.ts';
import { testEvents, testResources } from './testing/test-resources.ts';

let fake: FakeApiServer;
let url = '';
let api: ApiClient;
let logs: string[] = [];

before(async () => {
  setLogSink((line) => logs.push(line));
  fake = new FakeApiServer({ resources: testResources });
  url = await fake.start();
  api = new ApiClient(new RestClient({ server: url, namespace: 'default' }));
});

after(async () => {
  api.close();
  await fake.stop();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

beforeEach(() => {
  logs = [];
  fake.intercept = undefined;
  for (const e of fake.list(testEvents)) fake.remove(testEvents, e.metadata?.namespace ?? '', e.metadata?.name ?? '');
});

const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns1', name: 'web-1', uid: 'uid-1', resourceVersion: '7' } };
const events = (): CoreEvent[] => fake.list(testEvents) as unknown as CoreEvent[];
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

function recorder(clock: FakeClock, opts: Partial<EventRecorderOptions> = {}): EventRecorder {
  return new EventRecorder({ client: api.resource<CoreEvent>(testEvents), component: 'deployment-controller', host: 'node-a', clock, ...opts });
}

test('creates a core/v1 Event with upstream fields and name', async () => {
  const clock = new FakeClock(T0);
  const r = recorder(clock);
  r.event(pod, { type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned ns1/web-1 to node-a', fieldPath: 'spec.containers{web}' });
  await r.flush();
  const [ev] = events();
  assert.ok(ev);
  assert.equal(ev.metadata.name, `web-1.${(BigInt(T0) * 1_000_000n).toString(16)}`);
  assert.equal(ev.metadata.namespace, 'ns1');
  assert.deepEqual(ev.involvedObject, { kind: 'Pod', apiVersion: 'v1', name: 'web-1', namespace: 'ns1', uid: 'uid-1', resourceVersion: '7', fieldPath: 'spec.containers{web}' });
  assert.equal(ev.reason, 'Scheduled');
  assert.equal(ev.type, 'Normal');
  assert.equal(ev.count, 1);
  assert.equal(ev.firstTimestamp, '2024-01-02T03:04:05Z');
  assert.equal(ev.lastTimestamp, '2024-01-02T03:04:05Z');
  assert.deepEqual(ev.source, { component: 'deployment-controller', host: 'node-a' });
  assert.equal(ev.reportingComponent, 'deployment-controller');
  assert.equal(ev.reportingInstance, 'node-a');

  // Cluster-scoped objects get their events in "default".
  r.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } }, { type: 'Warning', reason: 'NodeNotReady', message: 'x' });
  await r.flush();
  assert.ok(events().some((e) => e.involvedObject.kind === 'Node' && e.metadata.namespace === 'default'));
});

test('a repeat within 10 minutes patches count and lastTimestamp; later it is a new event', async () => {
  const clock = new FakeClock(T0);
  const r = recorder(clock);
  const info = { type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container' } as const;
  r.event(pod, info);
  await r.flush();
  const name = events()[0]?.metadata.name;
  clock.advance(30_000);
  r.event(pod, info);
  clock.advance(30_000);
  r.event(pod, info);
  await r.flush();
  assert.equal(events().length, 1);
  const ev = events()[0];
  assert.equal(ev?.metadata.name, name);
  assert.equal(ev?.count, 3);
  assert.equal(ev?.firstTimestamp, '2024-01-02T03:04:05Z');
  assert.equal(ev?.lastTimestamp, '2024-01-02T03:05:05Z');
  const patches = fake.requests.filter((q) => q.method === 'PATCH');
  assert.equal(patches.length, 2);
  assert.equal(patches[0]?.headers['content-type'], 'application/strategic-merge-patch+json');
  assert.deepEqual(Object.keys(patches[1]?.body as object).sort(), ['count', 'lastTimestamp', 'message']);

  clock.advance(600_001);
  r.event(pod, info);
  await r.flush();
  assert.equal(events().length, 2, 'outside the window a fresh event is created');
  assert.ok(events().some((e) => e.metadata.name !== name && e.count === 1));
});

test('a patched event that was deleted is created again', async () => {
  const clock = new FakeClock(T0);
  const r = recorder(clock);
  const info = { type: 'Normal', reason: 'Pulled', message: 'image pulled' } as const;
  r.event(pod, info);
  await r.flush();
  const first = events()[0];
  fake.remove(testEvents, 'ns1', first?.metadata.name ?? '');
  clock.advance(1000);
  r.event(pod, info);
  await r.flush();
  assert.equal(events().length, 1);
  assert.equal(events()[0]?.count, 2);
  assert.equal(events()[0]?.metadata.name, first?.metadata.name);
});

test('more than 10 messages for one reason collapse into a combined event', async () => {
  const clock = new FakeClock(T0);
  const r = recorder(clock);
  for (let i = 0; i < 12; i++) {
    r.event(pod, { type: 'Warning', reason: 'FailedCreate', message: `attempt ${i}` });
    clock.advance(1000);
  }
  await r.flush();
  const combined = events().filter((e) => e.message?.startsWith('(combined from similar events): '));
  assert.equal(combined.length, 1);
  assert.equal(combined[0]?.count, 3, 'events 10, 11 and 12 share the combined event');
  assert.equal(combined[0]?.message, '(combined from similar events): attempt 11');
  assert.equal(events().length, 10);
});

test('spam filter: 25 events per object, then one per 5 minutes', async () => {
  const clock = new FakeClock(T0);
  const r = recorder(clock);
  for (let i = 0; i < 30; i++) r.event(pod, { type: 'Normal', reason: `R${i}`, message: 'm' });
  await r.flush();
  assert.equal(events().length, 25);
  clock.advance(300_000);
  r.event(pod, { type: 'Normal', reason: 'Later', message: 'm' });
  r.event(pod, { type: 'Normal', reason: 'TooSoon', message: 'm' });
  await r.flush();
  assert.equal(events().length, 26);
  assert.ok(events().some((e) => e.reason === 'Later'));
  const off = recorder(clock, { spamFilter: false, component: 'other' });
  for (let i = 0; i < 30; i++) off.event(pod, { type: 'Normal', reason: `X${i}`, message: 'm' });
  await off.flush();
  assert.equal(events().length, 56);
});

test('never blocks: a full queue drops events with a log line', async () => {
  const clock = new FakeClock(T0);
  const r = recorder(clock, { queueSize: 2 });
  for (let i = 0; i < 5; i++) r.event(pod, { type: 'Normal', reason: `Q${i}`, message: 'm' });
  const dropLines = logs.filter((l) => l.includes('event queue full, dropping event'));
  assert.equal(dropLines.length, 3);
  await r.flush();
  assert.deepEqual(events().map((e) => e.reason).sort(), ['Q0', 'Q1']);
});

test('transport errors are retried; server rejections are not', async () => {
  const clock = new FakeClock(T0);
  const rest = new RestClient({ server: url, namespace: 'default' }, { maxRetries: 0 });
  const r = new EventRecorder({ client: new ApiClient(rest).resource<CoreEvent>(testEvents), component: 'c', clock: { now: () => clock.now(), sleep: () => Promise.resolve() }, retryDelayMs: 1 });
  try {
    let drops = 0;
    fake.intercept = (q) => (q.method === 'POST' && drops++ < 2 ? { destroy: true, status: 0 } : undefined);
    r.event(pod, { type: 'Normal', reason: 'Retried', message: 'm' });
    await r.flush();
    assert.equal(drops, 3);
    assert.equal(events().length, 1);

    let rejected = 0;
    fake.intercept = (q) => (q.method === 'POST' ? (rejected++, { status: 422, body: status(422, 'Invalid', 'Event "x" is invalid') }) : undefined);
    r.event(pod, { type: 'Normal', reason: 'Rejected', message: 'm' });
    await r.flush();
    assert.equal(rejected, 1);
    assert.ok(logs.some((l) => l.includes('server rejected event (will not retry!)')));
    await r.stop();
    r.event(pod, { type: 'Normal', reason: 'AfterStop', message: 'm' });
    await r.flush();
    assert.equal(rejected, 1, 'nothing is sent after stop');
  } finally {
    rest.close();
  }
});
