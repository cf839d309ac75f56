/**
 * The storage conformance suite: one set of node:test cases that every engine must pass (the shape of
 * Kubernetes' storage tests). An engine's test file calls storageConformance() with a factory.
 * Each case works under its own random key prefix and never assumes an empty store, so a factory may
 * hand out one shared server; cases do assume that nothing else writes while they run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { waitFor } from '../base/wait.ts';
import { isStorageError, MAX_VALUE_BYTES, StorageError } from './errors.ts';
import type { StorageErrorCode } from './errors.ts';
import type { KeyValue, Storage, WatchEvent } from './interface.ts';

/** What a conformance factory returns for one test case. */
export interface ConformanceHandle {
  storage: Storage;
  /** Opens the same data again after `storage.close()` (restart persistence); omit when unsupported. */
  reopen?: () => Promise<Storage>;
  /** Closes whichever storage is open (the first or the last reopened) and removes its data. */
  cleanup: () => Promise<void>;
}

const te = new TextEncoder();
const enc = (s: string): Uint8Array => te.encode(s);
const text = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('utf8');

interface KvView {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

type EventView =
  | { type: 'put'; kv: KvView; prevKv: KvView | null; revision: number }
  | { type: 'delete'; key: string; prevKv: KvView; revision: number };

function view(kv: KeyValue): KvView;
function view(kv: KeyValue | null): KvView | null;
function view(kv: KeyValue | null): KvView | null {
  return kv && { key: kv.key, value: text(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision };
}

const toView = (kv: KeyValue): KvView => view(kv);

function eventView(ev: WatchEvent): EventView {
  if (ev.type === 'put') return { type: 'put', kv: view(ev.kv), prevKv: view(ev.prevKv), revision: ev.revision };
  if (ev.type === 'delete') return { type: 'delete', key: ev.key, prevKv: view(ev.prevKv), revision: ev.revision };
  throw new Error('progress events carry no change');
}

function eventKey(ev: EventView): string {
  return ev.type === 'put' ? ev.kv.key : ev.key;
}

/** Awaits `p` and asserts it rejects with a StorageError of `code`; returns the error. */
async function rejectsWith(p: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStorageError(e, code), `expected a StorageError ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e;
  }
  assert.fail(`expected a StorageError ${code}, but the operation succeeded`);
}

/** Every acknowledged write, so that expected states at any revision can be computed independently of the engine. */
interface Ack {
  revision: number;
  key: string;
  kv: KvView | null;
}

function recorder(storage: () => Storage): {
  acks: Ack[];
  create(key: string, value: string, opts?: { ttlSeconds?: number }): Promise<KvView>;
  update(key: string, value: string, expectedModRevision: number): Promise<KvView>;
  del(key: string, expectedModRevision?: number): Promise<{ prevKv: KvView; revision: number }>;
} {
  const acks: Ack[] = [];
  return {
    acks,
    async create(key, value, opts) {
      const kv = view(await storage().create(key, enc(value), opts));
      acks.push({ revision: kv.modRevision, key, kv });
      return kv;
    },
    async update(key, value, expectedModRevision) {
      const kv = view(await storage().update(key, enc(value), { expectedModRevision }));
      acks.push({ revision: kv.modRevision, key, kv });
      return kv;
    },
    async del(key, expectedModRevision) {
      const r = await storage().delete(key, expectedModRevision === undefined ? {} : { expectedModRevision });
      acks.push({ revision: r.revision, key, kv: null });
      return { prevKv: view(r.prevKv), revision: r.revision };
    },
  };
}

/** The live keys under `prefix` at `revision` according to the acknowledged writes, in key order. */
function stateAt(acks: Ack[], revision: number, prefix = ''): KvView[] {
  const m = new Map<string, KvView | null>();
  for (const a of [...acks].sort((x, y) => x.revision - y.revision)) {
    if (a.revision <= revision && a.key.startsWith(prefix)) m.set(a.key, a.kv);
  }
  return [...m.values()].filter((v): v is KvView => v !== null).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

interface Watching {
  events: EventView[];
  progress: number[];
  error: unknown;
  ended: boolean;
  stop(): Promise<void>;
}

/** Consumes a watch in the background, recording changes and progress revisions. */
function startWatch(storage: Storage, prefix: string, opts: { fromRevision: number; progressIntervalMs?: number }): Watching {
  const ac = new AbortController();
  const w: Watching = { events: [], progress: [], error: undefined, ended: false, stop: async () => undefined };
  const loop = (async () => {
    try {
      for await (const ev of storage.watch(prefix, { ...opts, signal: ac.signal })) {
        if (ev.type === 'progress') w.progress.push(ev.revision);
        else w.events.push(eventView(ev));
      }
    } catch (e) {
      w.error = e;
    } finally {
      w.ended = true;
    }
  })();
  w.stop = async () => {
    ac.abort();
    await loop;
  };
  return w;
}

/** Waits until the watch has delivered an event at or beyond `revision` (or failed). */
async function waitForRevision(w: Watching, revision: number, what: string): Promise<void> {
  await waitFor(() => w.error !== undefined || (w.events.at(-1)?.revision ?? 0) >= revision, { timeoutMs: 15_000, what });
  if (w.error !== undefined) throw w.error;
}

async function withStore(open: () => Promise<ConformanceHandle>, fn: (h: ConformanceHandle, prefix: string) => Promise<void>): Promise<void> {
  const h = await open();
  const prefix = `/conformance/${randomBytes(6).toString('hex')}/`;
  try {
    await fn(h, prefix);
  } finally {
    await h.cleanup();
  }
}

function assertIncreasing(revisions: number[], what: string): void {
  for (let i = 1; i < revisions.length; i++) {
    assert.ok((revisions[i] ?? 0) > (revisions[i - 1] ?? 0), `${what}: revision ${revisions[i]} follows ${revisions[i - 1]}`);
  }
}

/**
 * Registers the conformance cases for one engine. `open` is called once per case and must return a
 * working store; `cleanup` is always called, even when the case fails.
 */
export function storageConformance(name: string, open: () => Promise<ConformanceHandle>): void {
  describe(`storage conformance: ${name}`, () => {
    it('orders writes on one increasing revision and reports createRevision and modRevision', () =>
      withStore(open, async ({ storage: s }, p) => {
        const start = await s.currentRevision();
        const a1 = view(await s.create(`${p}a`, enc('one')));
        assert.ok(a1.modRevision > start);
        assert.equal(a1.createRevision, a1.modRevision);
        assert.deepEqual(a1, { key: `${p}a`, value: 'one', createRevision: a1.modRevision, modRevision: a1.modRevision });
        const got = await s.get(`${p}a`);
        assert.deepEqual(view(got.kv), a1);
        assert.ok(got.revision >= a1.modRevision);

        const a2 = view(await s.update(`${p}a`, enc('two'), { expectedModRevision: a1.modRevision }));
        assert.ok(a2.modRevision > a1.modRevision);
        assert.equal(a2.createRevision, a1.createRevision);
        assert.equal(a2.value, 'two');

        const b = view(await s.create(`${p}b`, enc('bee')));
        assert.ok(b.modRevision > a2.modRevision);

        const d = await s.delete(`${p}a`);
        assert.ok(d.revision > b.modRevision);
        assert.deepEqual(view(d.prevKv), a2);
        assert.equal((await s.get(`${p}a`)).kv, null);
        assert.equal(await s.currentRevision(), d.revision);

        const a3 = view(await s.create(`${p}a`, enc('three')));
        assert.ok(a3.modRevision > d.revision);
        assert.equal(a3.createRevision, a3.modRevision, 'a re-created key starts a new life');
        const l = await s.list(p);
        assert.deepEqual(l.kvs.map(toView), [a3, b]);
        assert.equal(l.revision, a3.modRevision);
        assert.deepEqual(await s.count(p), { count: 2, revision: a3.modRevision });
      }));

    it('a failed write changes nothing and a Conflict carries the current object', () =>
      withStore(open, async ({ storage: s }, p) => {
        const a = view(await s.create(`${p}a`, enc('one')));
        const a2 = view(await s.update(`${p}a`, enc('two'), { expectedModRevision: a.modRevision }));
        const rev = await s.currentRevision();

        await rejectsWith(s.create(`${p}a`, enc('again')), 'KeyExists');
        const c1 = await rejectsWith(s.update(`${p}a`, enc('stale'), { expectedModRevision: a.modRevision }), 'Conflict');
        assert.deepEqual(view(c1.current ?? null), a2);
        const c2 = await rejectsWith(s.delete(`${p}a`, { expectedModRevision: a.modRevision }), 'Conflict');
        assert.deepEqual(view(c2.current ?? null), a2);
        await rejectsWith(s.update(`${p}missing`, enc('x'), { expectedModRevision: a.modRevision }), 'NotFound');
        await rejectsWith(s.delete(`${p}missing`), 'NotFound');
        await rejectsWith(s.update(`${p}a`, new Uint8Array(MAX_VALUE_BYTES + 1), { expectedModRevision: a2.modRevision }), 'TooLarge');

        assert.equal(await s.currentRevision(), rev, 'failed writes must not advance the revision');
        assert.deepEqual(view((await s.get(`${p}a`)).kv), a2);
        assert.equal((await s.get(`${p}missing`)).kv, null);
      }));

    it('concurrent conflicting writes: exactly one wins, the others fail cleanly', () =>
      withStore(open, async ({ storage: s }, p) => {
        const n = 20;
        const creates = await Promise.allSettled(Array.from({ length: n }, (_, i) => s.create(`${p}k`, enc(`v${i}`))));
        const created = creates.flatMap((r) => (r.status === 'fulfilled' ? [view(r.value)] : []));
        assert.equal(created.length, 1, 'exactly one create wins');
        for (const r of creates) if (r.status === 'rejected') assert.ok(isStorageError(r.reason, 'KeyExists'), String(r.reason));
        const winner = created[0];
        assert.ok(winner);
        assert.deepEqual(view((await s.get(`${p}k`)).kv), winner);

        const updates = await Promise.allSettled(
          Array.from({ length: n }, (_, i) => s.update(`${p}k`, enc(`u${i}`), { expectedModRevision: winner.modRevision })),
        );
        const updated = updates.flatMap((r) => (r.status === 'fulfilled' ? [view(r.value)] : []));
        assert.equal(updated.length, 1, 'exactly one compare-and-swap wins');
        const won = updated[0];
        assert.ok(won);
        for (const r of updates) {
          if (r.status === 'fulfilled') continue;
          assert.ok(isStorageError(r.reason, 'Conflict'), String(r.reason));
          assert.deepEqual(view(r.reason.current ?? null), won, 'Conflict carries the winning write');
        }

        // Writes that share a commit keep their own outcome: one failing create does not fail its neighbours.
        const mixed = await Promise.allSettled([
          ...Array.from({ length: 10 }, (_, i) => s.create(`${p}m/${i}`, enc('m'))),
          s.create(`${p}k`, enc('dup')),
          s.update(`${p}k`, enc('stale'), { expectedModRevision: winner.modRevision }),
        ]);
        assert.deepEqual(
          mixed.map((r) => r.status),
          [...Array.from({ length: 10 }, () => 'fulfilled'), 'rejected', 'rejected'],
        );
        assert.equal((await s.count(`${p}m/`)).count, 10);

        const deletes = await Promise.allSettled(
          Array.from({ length: n }, () => s.delete(`${p}k`, { expectedModRevision: won.modRevision })),
        );
        assert.equal(deletes.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one delete wins');
        for (const r of deletes) {
          if (r.status === 'fulfilled') continue;
          const ok = isStorageError(r.reason, 'NotFound') || (isStorageError(r.reason, 'Conflict') && r.reason.current === null);
          assert.ok(ok, `a losing delete fails with NotFound (or Conflict with no current object): ${String(r.reason)}`);
        }
        assert.equal((await s.get(`${p}k`)).kv, null);
      }));

    it('lists and gets at past revisions', () =>
      withStore(open, async ({ storage: s }, p) => {
        const r = recorder(() => s);
        const first = await s.currentRevision();
        for (let i = 0; i < 8; i++) await r.create(`${p}k${i}`, `v${i}`);
        let k3 = r.acks.find((a) => a.key === `${p}k3`)?.kv ?? null;
        for (let i = 0; i < 3 && k3; i++) k3 = await r.update(`${p}k3`, `v3.${i}`, k3.modRevision);
        await r.del(`${p}k5`);
        await r.del(`${p}k0`);
        await r.create(`${p}k5`, 'reborn');
        await r.create(`${p}k9`, 'nine');
        const last = await s.currentRevision();
        for (let rev = first + 1; rev <= last; rev++) {
          const want = stateAt(r.acks, rev, p);
          const got = await s.list(p, { revision: rev });
          assert.equal(got.revision, rev);
          assert.deepEqual(got.kvs.map(toView), want, `list at revision ${rev}`);
          for (const key of [`${p}k3`, `${p}k5`, `${p}k0`]) {
            const g = await s.get(key, { revision: rev });
            assert.deepEqual(view(g.kv), want.find((kv) => kv.key === key) ?? null, `get ${key} at revision ${rev}`);
          }
          const paged = await s.list(p, { revision: rev, limit: 3 });
          assert.deepEqual(paged.kvs.map(toView), want.slice(0, 3), `first page at revision ${rev}`);
          assert.equal(paged.continue !== undefined, want.length > 3);
          if (paged.continue !== undefined) assert.equal(paged.remaining, want.length - 3);
        }
        assert.deepEqual(await s.count(p), { count: stateAt(r.acks, last, p).length, revision: last });
        await rejectsWith(s.list(p, { continue: 'not-a-token' }), 'Invalid');
      }));

    it('pages of one list read one snapshot while writers keep writing', () =>
      withStore(open, async ({ storage: s }, p) => {
        const r = recorder(() => s);
        const keys = 160;
        await Promise.all(Array.from({ length: keys }, (_, i) => r.create(`${p}k/${String(i).padStart(4, '0')}`, `seed${i}`)));
        let stop = false;
        let writes = 0;
        // Four writers, each owning every fourth key, so none of their writes conflict.
        const writers = Array.from({ length: 4 }, async (_, w) => {
          const mine = new Map<string, KvView | null>();
          for (const a of r.acks) if (Number(a.key.slice(-4)) % 4 === w) mine.set(a.key, a.kv);
          const names = [...mine.keys()];
          for (let n = 0; !stop; n++) {
            const key = names[(n * 7) % names.length] ?? '';
            const cur = mine.get(key) ?? null;
            if (cur === null) mine.set(key, await r.create(key, `w${w}.${n}`));
            else if (n % 5 === 0) {
              await r.del(key, cur.modRevision);
              mine.set(key, null);
            } else mine.set(key, await r.update(key, `w${w}.${n}`, cur.modRevision));
            writes++;
          }
        });
        try {
          const pages: KvView[][] = [];
          let page = await s.list(`${p}k/`, { limit: 7 });
          const snapshot = page.revision;
          let seen = 0;
          for (;;) {
            assert.equal(page.revision, snapshot, 'every page is read at the first page\'s revision');
            pages.push(page.kvs.map(toView));
            seen += page.kvs.length;
            if (page.continue === undefined) break;
            assert.equal(page.kvs.length, 7);
            const target = writes + 3;
            await waitFor(() => writes >= target, { what: 'writers to make progress between pages' });
            const next = await s.list(`${p}k/`, { limit: 7, continue: page.continue });
            assert.equal(page.remaining ?? -1, stateAt(r.acks, snapshot, `${p}k/`).length - seen, 'remaining counts the rest of the snapshot');
            page = next;
          }
          stop = true;
          await Promise.all(writers);
          const all = pages.flat();
          assert.deepEqual(all, stateAt(r.acks, snapshot, `${p}k/`), 'the pages together are the snapshot');
          assert.ok(r.acks.some((a) => a.revision > snapshot), 'writes happened while paging');
          assert.deepEqual((await s.list(`${p}k/`, { revision: snapshot })).kvs.map(toView), all);
        } finally {
          stop = true;
          await Promise.allSettled(writers);
        }
      }));

    it('watches from a past revision with previous values, then live, and ends on abort', () =>
      withStore(open, async ({ storage: s }, p) => {
        const from = await s.currentRevision();
        const a1 = view(await s.create(`${p}a`, enc('1')));
        await s.create(`/other${p}x`, enc('elsewhere'));
        const a2 = view(await s.update(`${p}a`, enc('2'), { expectedModRevision: a1.modRevision }));
        const b = view(await s.create(`${p}b`, enc('b')));
        const del = await s.delete(`${p}a`);
        const a3 = view(await s.create(`${p}a`, enc('3')));
        const expected: EventView[] = [
          { type: 'put', kv: a1, prevKv: null, revision: a1.modRevision },
          { type: 'put', kv: a2, prevKv: a1, revision: a2.modRevision },
          { type: 'put', kv: b, prevKv: null, revision: b.modRevision },
          { type: 'delete', key: `${p}a`, prevKv: a2, revision: del.revision },
          { type: 'put', kv: a3, prevKv: null, revision: a3.modRevision },
        ];
        const w = startWatch(s, p, { fromRevision: from });
        const mid = startWatch(s, p, { fromRevision: a2.modRevision });
        // One revision before the head: the step from replay to live must not skip the head's event.
        const nearHead = startWatch(s, p, { fromRevision: a3.modRevision - 1 });
        try {
          await waitForRevision(w, a3.modRevision, 'the replay');
          assert.deepEqual(w.events, expected);
          const b2 = view(await s.update(`${p}b`, enc('b2'), { expectedModRevision: b.modRevision }));
          await waitForRevision(w, b2.modRevision, 'the live event');
          assert.deepEqual(w.events, [...expected, { type: 'put', kv: b2, prevKv: b, revision: b2.modRevision }]);
          await waitForRevision(mid, b2.modRevision, 'the watch from the middle');
          assert.deepEqual(mid.events, [...expected.slice(2), { type: 'put', kv: b2, prevKv: b, revision: b2.modRevision }]);
          await waitForRevision(nearHead, b2.modRevision, 'the watch from just before the head');
          assert.deepEqual(nearHead.events, [...expected.slice(4), { type: 'put', kv: b2, prevKv: b, revision: b2.modRevision }]);
        } finally {
          await w.stop();
          await mid.stop();
          await nearHead.stop();
        }
        assert.equal(w.error, undefined, 'an aborted watch ends without error');
        assert.ok(w.ended);
      }));

    it('64 concurrent writers and 10 watchers: no event lost, duplicated or reordered', () =>
      withStore(open, async ({ storage: s }, p) => {
        const r = recorder(() => s);
        for (let i = 0; i < 4; i++) await r.create(`${p}shared/${i}`, 'seed');
        const start = await s.currentRevision();
        const watchers: { prefix: string; w: Watching }[] = [];
        for (let i = 0; i < 7; i++) watchers.push({ prefix: p, w: startWatch(s, p, { fromRevision: start }) });
        watchers.push({ prefix: `${p}shared/`, w: startWatch(s, `${p}shared/`, { fromRevision: start }) });
        let done = 0;
        const writers = Array.from({ length: 64 }, async (_, i) => {
          const key = `${p}own/${String(i).padStart(2, '0')}`;
          let kv = await r.create(key, `${i}.0`);
          for (let n = 1; n <= 12; n++) {
            kv = await r.update(key, `${i}.${n}`, kv.modRevision);
            if (n % 4 === 0) {
              // Contended compare-and-swap on a shared key, retried from the Conflict's current object.
              const shared = `${p}shared/${i % 4}`;
              let cur = view((await s.get(shared)).kv);
              for (;;) {
                assert.ok(cur);
                try {
                  await r.update(shared, `${i}.${n}`, cur.modRevision);
                  break;
                } catch (e) {
                  if (!isStorageError(e, 'Conflict')) throw e;
                  cur = view(e.current ?? null);
                }
              }
            }
          }
          if (i % 8 === 0) await r.del(key, kv.modRevision);
          done++;
        });
        // Two watchers join half-way, replaying history while the writers are still going.
        await waitFor(() => done >= 16 || r.acks.length > 300, { what: 'half of the writes' });
        watchers.push({ prefix: p, w: startWatch(s, p, { fromRevision: start }) });
        watchers.push({ prefix: p, w: startWatch(s, p, { fromRevision: start }) });
        await Promise.all(writers);
        try {
          const acked = r.acks.filter((a) => a.revision > start).sort((x, y) => x.revision - y.revision);
          const lastRev = acked.at(-1)?.revision ?? 0;
          const history = startWatch(s, p, { fromRevision: start });
          await waitForRevision(history, lastRev, 'the history replay');
          await history.stop();
          assert.deepEqual(
            history.events.map((e) => e.revision),
            acked.map((a) => a.revision),
            'the store\'s history holds exactly the acknowledged writes',
          );
          for (const [i, ev] of history.events.entries()) {
            const a = acked[i];
            assert.ok(a);
            assert.equal(eventKey(ev), a.key);
            if (ev.type === 'put') assert.deepEqual(ev.kv, a.kv);
            else assert.equal(a.kv, null);
          }
          for (const [i, { prefix, w }] of watchers.entries()) {
            const mine = history.events.filter((e) => eventKey(e).startsWith(prefix));
            await waitForRevision(w, mine.at(-1)?.revision ?? 0, `watcher ${i}`);
            assertIncreasing(w.events.map((e) => e.revision), `watcher ${i}`);
            assert.deepEqual(w.events, mine, `watcher ${i} saw the history of ${prefix}`);
          }
        } finally {
          for (const { w } of watchers) await w.stop();
        }
      }));

    it('compaction: reads and watches below the compacted revision fail with Compacted', () =>
      withStore(open, async ({ storage: s }, p) => {
        const r = recorder(() => s);
        let a = await r.create(`${p}a`, 'a0');
        for (let i = 1; i <= 3; i++) a = await r.update(`${p}a`, `a${i}`, a.modRevision);
        const b = await r.create(`${p}b`, 'b');
        await r.del(`${p}b`, b.modRevision);
        const c = await r.create(`${p}c`, 'c');
        const oldPage = await s.list(p, { limit: 1 });
        assert.ok(oldPage.continue);
        a = await r.update(`${p}a`, 'a4', a.modRevision);
        const rev = await s.currentRevision();
        await s.compact(rev);
        assert.ok((await s.compactedRevision()) >= rev);

        await rejectsWith(s.get(`${p}a`, { revision: rev - 1 }), 'Compacted');
        const lc = await rejectsWith(s.list(p, { revision: rev - 2 }), 'Compacted');
        if (lc.compactRevision !== undefined) assert.ok(lc.compactRevision >= rev);
        await rejectsWith(s.list(p, { limit: 1, continue: oldPage.continue }), 'Compacted');
        const it = s.watch(p, { fromRevision: rev - 2 })[Symbol.asyncIterator]();
        await rejectsWith(it.next(), 'Compacted');
        await it.return?.();

        assert.deepEqual((await s.list(p, { revision: rev })).kvs.map(toView), stateAt(r.acks, rev, p));
        assert.deepEqual((await s.list(p)).kvs.map(toView), [a, c]);
        // Writes after the compaction still carry previous values written before it.
        const w = startWatch(s, p, { fromRevision: rev });
        try {
          const a2 = await r.update(`${p}a`, 'after', a.modRevision);
          const dc = await r.del(`${p}c`);
          await waitForRevision(w, dc.revision, 'events after the compaction');
          assert.deepEqual(w.events, [
            { type: 'put', kv: a2, prevKv: a, revision: a2.modRevision },
            { type: 'delete', key: `${p}c`, prevKv: c, revision: dc.revision },
          ]);
        } finally {
          await w.stop();
        }
        assert.deepEqual((await s.list(p)).kvs.map(toView), stateAt(r.acks, await s.currentRevision(), p));
      }));

    it('TTL keys expire, producing delete events; a write without TTL detaches the key', () =>
      withStore(open, async ({ storage: s }, p) => {
        const from = await s.currentRevision();
        const w = startWatch(s, p, { fromRevision: from });
        try {
          const renewed = await s.create(`${p}renewed`, enc('r'), { ttlSeconds: 1 });
          await s.update(`${p}renewed`, enc('r2'), { expectedModRevision: renewed.modRevision });
          const t = view(await s.create(`${p}ttl`, enc('short-lived'), { ttlSeconds: 1 }));
          await s.create(`${p}keep`, enc('k'));
          await waitFor(async () => (await s.get(`${p}ttl`)).kv === null, { timeoutMs: 10_000, what: 'the TTL key to expire' });
          assert.ok((await s.get(`${p}renewed`)).kv, 'a key updated without TTL no longer expires');
          assert.ok((await s.get(`${p}keep`)).kv);
          await waitFor(() => w.events.some((e) => e.type === 'delete'), { what: 'the expiry delete event' });
          const dels = w.events.filter((e) => e.type === 'delete');
          assert.equal(dels.length, 1);
          assert.deepEqual(dels[0]?.prevKv, t);
        } finally {
          await w.stop();
        }
      }));

    it('keeps data, revision and compaction across a restart, and revisions keep increasing', async (t) => {
      const h = await open();
      const p = `/conformance/${randomBytes(6).toString('hex')}/`;
      try {
        if (!h.reopen) {
          t.skip('the engine offers no reopen');
          return;
        }
        const s = h.storage;
        const from = await s.currentRevision();
        let a = view(await s.create(`${p}a`, enc('1')));
        a = view(await s.update(`${p}a`, enc('2'), { expectedModRevision: a.modRevision }));
        await s.create(`${p}b`, enc('b'));
        const gone = await s.create(`${p}gone`, enc('x'));
        const compactTo = await s.currentRevision();
        await s.delete(`${p}gone`, { expectedModRevision: gone.modRevision });
        await s.compact(compactTo);
        const before = (await s.list(p)).kvs.map(toView);
        const rev = await s.currentRevision();
        const compacted = await s.compactedRevision();
        await s.close();
        const s2 = await h.reopen();
        assert.deepEqual((await s2.list(p)).kvs.map(toView), before);
        assert.equal(await s2.currentRevision(), rev);
        assert.equal(await s2.compactedRevision(), compacted);
        await rejectsWith(s2.list(p, { revision: from + 1 }), 'Compacted');
        const c = await s2.create(`${p}c`, enc('c'));
        assert.ok(c.modRevision > rev, 'revisions keep increasing after a restart');
        const w = startWatch(s2, p, { fromRevision: compactTo });
        try {
          await waitForRevision(w, c.modRevision, 'history across the restart');
          assert.deepEqual(w.events.map((e) => [e.type, eventKey(e), e.revision]), [
            ['delete', `${p}gone`, rev],
            ['put', `${p}c`, c.modRevision],
          ]);
        } finally {
          await w.stop();
        }
        assert.deepEqual(view((await s2.get(`${p}a`)).kv), a);
      } finally {
        await h.cleanup();
      }
    });

    it('refuses values over 1.5 MiB and keeps large values intact', () =>
      withStore(open, async ({ storage: s }, p) => {
        const rev = await s.currentRevision();
        const err = await rejectsWith(s.create(`${p}big`, new Uint8Array(MAX_VALUE_BYTES + 1)), 'TooLarge');
        assert.match(err.message, /big/);
        assert.equal(await s.currentRevision(), rev);
        assert.equal((await s.get(`${p}big`)).kv, null);
        const large = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
        const kv = await s.create(`${p}large`, large);
        const got = (await s.get(`${p}large`)).kv;
        assert.ok(got);
        assert.equal(got.modRevision, kv.modRevision);
        assert.ok(Buffer.from(got.value).equals(Buffer.from(large)), 'a 1 MiB value reads back byte for byte');
      }));

    it('sends progress events while idle', () =>
      withStore(open, async ({ storage: s }, p) => {
        await s.create(`/other${p}x`, enc('elsewhere'));
        const head = await s.currentRevision();
        const idle = startWatch(s, `${p}idle/`, { fromRevision: head, progressIntervalMs: 100 });
        const busy = startWatch(s, `${p}busy/`, { fromRevision: head, progressIntervalMs: 100 });
        try {
          await waitFor(() => idle.progress.length > 0 || idle.error !== undefined, { what: 'a progress event' });
          assert.equal(idle.error, undefined);
          assert.ok((idle.progress[0] ?? 0) >= head, 'progress reports at least the revision the watch started from');
          const kv = await s.create(`${p}busy/1`, enc('1'));
          await waitForRevision(busy, kv.modRevision, 'the busy event');
          const seen = busy.progress.length;
          await waitFor(() => busy.progress.length > seen, { what: 'progress after the event' });
          assert.ok((busy.progress.at(-1) ?? 0) >= kv.modRevision, 'progress after an event is not behind it');
          assert.equal(idle.events.length, 0, 'keys outside the prefix are not delivered');
        } finally {
          await idle.stop();
          await busy.stop();
        }
      }));

    it('answers requestProgress with a progress event at the current revision, after the changes before it', () =>
      withStore(open, async ({ storage: s }, p) => {
        assert.ok(s.requestProgress, 'both engines take progress requests');
        const head = await s.currentRevision();
        // A long interval: only the request can bring progress within the wait.
        const idle = startWatch(s, `${p}idle/`, { fromRevision: head, progressIntervalMs: 60_000 });
        const busy = startWatch(s, `${p}busy/`, { fromRevision: head, progressIntervalMs: 60_000 });
        try {
          const mine = await s.create(`${p}busy/1`, enc('1'));
          const later = await s.create(`/other${p}y`, enc('elsewhere'));
          await waitForRevision(busy, mine.modRevision, 'the busy event');
          for (let i = 0; i < 10 && !(idle.progress.some((r) => r >= later.modRevision) && busy.progress.some((r) => r >= later.modRevision)); i++) {
            s.requestProgress?.();
            await new Promise((r) => setTimeout(r, 200));
          }
          assert.equal(idle.error, undefined);
          assert.ok(idle.progress.some((r) => r >= later.modRevision), `the idle watch reports the revision written elsewhere (${idle.progress.join(',')})`);
          assert.ok(busy.progress.some((r) => r >= later.modRevision), `the busy watch reports it after its own event (${busy.progress.join(',')})`);
          assert.equal(busy.events.length, 1);
        } finally {
          await idle.stop();
          await busy.stop();
        }
      }));
  });
}
