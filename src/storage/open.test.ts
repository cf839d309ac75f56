import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setLogSink } from '../base/log.ts';
import { isStorageError } from './errors.ts';
import { openStorage, parseDatastoreUrl } from './open.ts';

setLogSink(null);

describe('parseDatastoreUrl', () => {
  it('parses sqlite and etcd URLs', () => {
    assert.deepEqual(parseDatastoreUrl('sqlite:///var/lib/skiff/state.db'), { engine: 'sqlite', path: '/var/lib/skiff/state.db' });
    assert.deepEqual(parseDatastoreUrl('sqlite://db/state.db', { dataDir: '/data' }), { engine: 'sqlite', path: '/data/db/state.db' });
    assert.deepEqual(parseDatastoreUrl('etcd://127.0.0.1:2379'), { engine: 'etcd', endpoints: ['127.0.0.1:2379'] });
    assert.deepEqual(parseDatastoreUrl('etcd://127.0.0.1:2379,etcd-1.local:2381,[::1]:2383'), {
      engine: 'etcd',
      endpoints: ['127.0.0.1:2379', 'etcd-1.local:2381', '[::1]:2383'],
    });
  });

  it('rejects malformed URLs with one line naming them', () => {
    const bad = [
      '',
      'state.db',
      'mysql://localhost:3306',
      'sqlite://',
      'sqlite:///',
      'sqlite:///var/lib/',
      'sqlite://state.db',
      'sqlite:///a.db?mode=ro',
      'etcd://',
      'etcd://localhost',
      'etcd://localhost:0',
      'etcd://localhost:70000',
      'etcd://localhost:2379,,localhost:2380',
      'etcd://http://localhost:2379',
      'etcd://local host:2379',
      'sqlite:///a\nb.db',
    ];
    for (const url of bad) {
      assert.throws(
        () => parseDatastoreUrl(url),
        (e: unknown) => e instanceof Error && e.message.includes(JSON.stringify(url)) && !e.message.includes('\n'),
        url,
      );
    }
  });
});

describe('openStorage', () => {
  it('opens a sqlite store under the data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-open-'));
    try {
      const s = await openStorage('sqlite://nested/state.db', { dataDir: dir });
      assert.equal(s.engine, 'sqlite');
      await s.create('/k', new Uint8Array([1]));
      await s.close();
      const again = await openStorage(`sqlite://${join(dir, 'nested/state.db')}`);
      assert.equal((await again.get('/k')).kv?.modRevision, 1);
      await assert.rejects(openStorage(`sqlite://${join(dir, 'nested/state.db')}`), (e: unknown) => isStorageError(e, 'Locked'));
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
