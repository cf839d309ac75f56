import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { parseCronSchedule } from '../api/batch/v1/cron-schedule.ts';
import { setLogSink } from '../base/log.ts';
import type { Storage } from '../storage/interface.ts';
import { snapshotHandler } from '../storage/snapshot/http-handler.ts';
import { assertSameKeys, fillStore, listAll, snapshotRecords } from '../storage/snapshot/snapshot-test-helpers.ts';
import { openSqliteStorage } from '../storage/sqlite/sqlite-storage.ts';
import { writeAdminKubeconfig } from './server.ts';
import { cronSnapshotSchedule, nextCronTime, registerSnapshotCommands, restoredKeyTtl } from './snapshot.ts';

setLogSink(null);

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'skiff-snap-cmd-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

async function run(...args: string[]): Promise<string> {
  let text = '';
  const program = new Command('skiff').exitOverride();
  registerSnapshotCommands(program, { out: (s) => (text += s) });
  await program.parseAsync(['node', 'skiff', 'snapshot', ...args]);
  return text;
}

describe('skiff snapshot', () => {
  it('saves, lists, verifies, restores and deletes with the server stopped', async () => {
    const dataDir = join(root, 'offline');
    const s = await openSqliteStorage(join(dataDir, 'state.db'));
    await fillStore(s, 200);
    const state = await listAll(s);
    await s.close();

    const saved = await run('save', '--data-dir', dataDir, '--name', 'first');
    assert.match(saved, new RegExp(`snapshot first saved from SQLite .*revision ${state.revision}, ${state.kvs.size} keys`));
    await assert.rejects(run('save', '--data-dir', dataDir, '--name', 'first'), /already exists/);
    await run('save', '--data-dir', dataDir, '--name', 'second', '--no-compress');
    const listed = await run('ls', '--data-dir', dataDir);
    assert.match(listed, /^NAME\s+CREATED\s+REVISION\s+KEYS\s+ENGINE\s+SIZE\n/);
    assert.match(listed, new RegExp(`first\\s+\\S+\\s+${state.revision}\\s+${state.kvs.size}\\s+sqlite`));
    assert.match(await run('verify', 'second', '--data-dir', dataDir), /: ok, format 1, revision/);

    // Into a fresh data dir by name from the first data dir's folder.
    const other = join(root, 'restored');
    const file = join(dataDir, 'snapshots', 'first.snap');
    const restored = await run('restore', file, '--data-dir', other, '--bump-revision', '100');
    assert.match(restored, new RegExp(`continues at revision ${state.revision + 100} `));
    const r = await openSqliteStorage(join(other, 'state.db'));
    assertSameKeys((await listAll(r)).kvs, await snapshotRecords(file), { revisions: true });
    await r.close();

    await assert.rejects(run('restore', 'first', '--data-dir', dataDir), /is not empty: it holds [\d,]+ keys at revision \d+.*--force/);
    const forced = await run('restore', 'first', '--data-dir', dataDir, '--force');
    assert.match(forced, new RegExp(`replacing ${state.kvs.size.toLocaleString('en-US')} keys at revision ${state.revision}\\n`));

    assert.match(await run('delete', 'second', '--data-dir', dataDir), /deleted snapshot second/);
    assert.equal(existsSync(join(dataDir, 'snapshots', 'second.snap')), false);
    await assert.rejects(run('delete', 'second', '--data-dir', dataDir), /not found/);
    await assert.rejects(run('restore', 'nope', '--data-dir', dataDir), /snapshot nope not found/);
    assert.match(await run('ls', '--data-dir', join(root, 'empty')), /no snapshots in/);
  });

  describe('with a server holding the store', () => {
    let storage: Storage;
    let server: Server;
    const dataDir = (): string => join(root, 'online');

    before(async () => {
      mkdirSync(dataDir(), { recursive: true });
      storage = await openSqliteStorage(join(dataDir(), 'state.db'));
      await fillStore(storage, 150);
      const handle = snapshotHandler(storage);
      server = createServer((req, res) => {
        if (req.url?.startsWith('/skiff/v1/snapshot') && req.headers.authorization === 'Bearer skiff-admin') void handle(req, res);
        else res.writeHead(403).end('{"kind":"Status","message":"forbidden"}');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const addr = server.address();
      assert.ok(addr && typeof addr === 'object');
      writeAdminKubeconfig(dataDir(), `http://127.0.0.1:${addr.port}`);
    });

    after(async () => {
      await new Promise((r) => server.close(r));
      await storage.close();
    });

    it('saves through the server, which keeps the lock', async () => {
      const out = await run('save', '--data-dir', dataDir(), '--name', 'online');
      assert.match(out, /saved from the running server/);
      const state = await listAll(storage);
      assertSameKeys(await snapshotRecords(join(dataDir(), 'snapshots', 'online.snap')), state.kvs, { revisions: true });
    });

    it('refuses to restore while the server holds the store, naming the lock', async () => {
      await assert.rejects(run('restore', 'online', '--data-dir', dataDir(), '--force'), /in use: lock file .*state\.db\.lock is held by process \d+/);
    });
  });

  it('gives restored Events their TTL back and nothing else', () => {
    assert.equal(restoredKeyTtl('/registry/events/default/web.1'), 3600);
    assert.equal(restoredKeyTtl('/registry/pods/default/web'), undefined);
  });
});

describe('cron schedules of snapshots', () => {
  const fields = (spec: string) => {
    const s = parseCronSchedule(spec);
    assert.equal(s.kind, 'fields');
    return s as Extract<typeof s, { kind: 'fields' }>;
  };
  const at = (iso: string): number => Date.parse(iso);

  it('computes the next due time in UTC', () => {
    assert.equal(nextCronTime(fields('TZ=UTC */15 * * * *'), at('2030-03-04T10:07:30Z')), at('2030-03-04T10:15:00Z'));
    assert.equal(nextCronTime(fields('TZ=UTC */15 * * * *'), at('2030-03-04T10:15:00Z')), at('2030-03-04T10:30:00Z'));
    assert.equal(nextCronTime(fields('TZ=UTC 0 3 * * *'), at('2030-12-31T04:00:00Z')), at('2031-01-01T03:00:00Z'));
    // 2030-03-04 is a Monday: the next Sunday 02:30.
    assert.equal(nextCronTime(fields('TZ=UTC 30 2 * * sun'), at('2030-03-04T00:00:00Z')), at('2030-03-10T02:30:00Z'));
    // Day-of-month and day-of-week both restricted: either matches (robfig/cron, as Kubernetes).
    assert.equal(nextCronTime(fields('TZ=UTC 0 0 15 * mon'), at('2030-03-04T00:00:00Z')), at('2030-03-11T00:00:00Z'));
    assert.equal(nextCronTime(fields('TZ=UTC 0 0 29 2 *'), at('2030-03-01T00:00:00Z')), at('2032-02-29T00:00:00Z'));
  });

  it('honours a time zone', () => {
    // 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC.
    assert.equal(nextCronTime(fields('TZ=Asia/Tokyo 0 9 * * *'), at('2030-06-01T01:00:00Z')), at('2030-06-02T00:00:00Z'));
    // New York in summer is UTC-4.
    assert.equal(nextCronTime(fields('CRON_TZ=America/New_York 0 12 * * *'), at('2030-07-01T00:00:00Z')), at('2030-07-01T16:00:00Z'));
  });

  it('builds schedules from expressions and refuses bad ones', () => {
    const every = cronSnapshotSchedule('@every 90s');
    assert.equal(every.next(1000), 91_000);
    const hourly = cronSnapshotSchedule('TZ=UTC @hourly');
    assert.equal(hourly.next(at('2030-01-01T10:00:00Z')), at('2030-01-01T11:00:00Z'));
    assert.throws(() => cronSnapshotSchedule('* * *'), /expected exactly 5 fields, found 3/);
    assert.throws(() => cronSnapshotSchedule('0 0 30 2 *'), /names no time/);
  });
});
