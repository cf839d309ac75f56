import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setLogSink } from '../../base/log.ts';
import type { Storage } from '../interface.ts';
import { openSqliteStorage } from '../sqlite/sqlite-storage.ts';
import { verifySnapshot } from './format.ts';
import { COUNT_HEADER, REVISION_HEADER, snapshotHandler } from './http-handler.ts';
import { writeStreamToFile } from './save.ts';
import { assertSameKeys, fillStore, listAll, snapshotRecords } from './snapshot-test-helpers.ts';

setLogSink(null);

let dir: string;
let storage: Storage;
let server: Server;
let base: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-snap-http-'));
  storage = await openSqliteStorage(join(dir, 'state.db'));
  await fillStore(storage, 300);
  const handle = snapshotHandler(storage, { skiffVersion: '1.2.3' });
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  base = `http://127.0.0.1:${addr.port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the snapshot endpoint', () => {
  for (const compress of [true, false]) {
    it(`streams a verifiable snapshot (compress=${compress})`, async () => {
      const res = await fetch(`${base}/skiff/v1/snapshot${compress ? '' : '?compress=false'}`);
      assert.equal(res.status, 200);
      assert.ok(res.body);
      const file = join(dir, `got-${compress}.snap`);
      await writeStreamToFile(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), file);
      const v = await verifySnapshot(file);
      assert.equal(v.compressed, compress);
      assert.equal(v.header.skiffVersion, '1.2.3');
      assert.equal(res.headers.get(REVISION_HEADER), String(v.header.revision));
      assert.equal(res.headers.get(COUNT_HEADER), String(v.header.count));
      assertSameKeys(await snapshotRecords(file), (await listAll(storage, '/', v.header.revision)).kvs, { revisions: true });
    });
  }

  it('refuses other methods', async () => {
    const res = await fetch(`${base}/skiff/v1/snapshot`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.match(((await res.json()) as { message: string }).message, /use GET/);
  });
});
