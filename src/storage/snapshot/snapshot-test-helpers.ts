/** Shared helpers of the snapshot tests (not shipped code): filling a store and comparing states. */
import assert from 'node:assert/strict';
import type { KeyValue, Storage } from '../interface.ts';
import { openSnapshotReader } from './format.ts';

/** Every key under `prefix` at `revision` (0: latest), paged, as a key → KeyValue map. */
export async function listAll(storage: Storage, prefix = '/', revision = 0): Promise<{ kvs: Map<string, KeyValue>; revision: number }> {
  const kvs = new Map<string, KeyValue>();
  let cont: string | undefined;
  let rev = revision;
  do {
    const page = await storage.list(prefix, { limit: 500, ...(cont === undefined ? { revision: rev } : { continue: cont }) });
    rev = page.revision;
    for (const kv of page.kvs) kvs.set(kv.key, kv);
    cont = page.continue;
  } while (cont !== undefined);
  return { kvs, revision: rev };
}

/** Every record of a snapshot file, verified. */
export async function snapshotRecords(file: string): Promise<Map<string, KeyValue>> {
  const r = await openSnapshotReader(file);
  const out = new Map<string, KeyValue>();
  for await (const kv of r.records()) out.set(kv.key, kv);
  return out;
}

/** A deterministic value of `size` bytes for key number `i`, including bytes that are not valid UTF-8. */
export function valueFor(i: number, size = 200, salt = 0): Uint8Array {
  const v = new Uint8Array(size);
  let x = (i * 2654435761 + salt * 40503 + 1) >>> 0;
  for (let j = 0; j < size; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    v[j] = x >>> 24;
  }
  return v;
}

/** Creates keys like a cluster's: namespaces, deployments, secrets, config maps, an allocation key; deletes some, updates some. */
export async function fillStore(storage: Storage, n: number): Promise<void> {
  const kinds = ['namespaces', 'apps/deployments/default', 'secrets/default', 'configmaps/kube-system'];
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length] ?? 'namespaces';
    const key = `/registry/${kind}/obj-${String(i).padStart(5, '0')}`;
    keys.push(key);
  }
  await Promise.all(keys.map((k, i) => storage.create(k, valueFor(i, 64 + (i % 300)))));
  await storage.create('/registry/ranges/serviceips', valueFor(999_999, 40));
  // Updates and deletes leave history behind, so a snapshot must pick the right version of each key.
  for (let i = 0; i < n; i += 7) {
    const k = keys[i];
    if (k === undefined) continue;
    const cur = await storage.get(k);
    if (cur.kv) await storage.update(k, valueFor(i, 100, 1), { expectedModRevision: cur.kv.modRevision });
  }
  for (let i = 3; i < n; i += 11) {
    const k = keys[i];
    if (k !== undefined) await storage.delete(k);
  }
}

/** Asserts two key → KeyValue maps hold the same keys with byte-identical values (and, optionally, revisions). */
export function assertSameKeys(actual: Map<string, KeyValue>, expected: Map<string, KeyValue>, opts: { revisions?: boolean } = {}): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k);
    assert.ok(a, `missing ${k}`);
    assert.ok(Buffer.from(a.value).equals(Buffer.from(e.value)), `value of ${k} differs`);
    if (opts.revisions) {
      assert.equal(a.modRevision, e.modRevision, `modRevision of ${k}`);
      assert.equal(a.createRevision, e.createRevision, `createRevision of ${k}`);
    }
  }
}
