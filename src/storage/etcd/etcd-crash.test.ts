import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setLogSink } from '../../base/log.ts';
import { waitFor } from '../../base/wait.ts';
import { startEtcd } from './etcd-process.ts';
import { openEtcdStorage } from './etcd-storage.ts';

setLogSink(null);
const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

it('every write acknowledged before a SIGKILL of the writer and of etcd is there after restart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-etcd-crash-'));
  let etcd = await startEtcd({ dataDir });
  const acks = new Map<string, number>();
  let stderr = '';
  const child = spawn(process.execPath, ['--import', 'tsx', writer, etcd.endpoints[0] ?? '', '/crash/', '8'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (stderr += s));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for await (const line of createInterface({ input: child.stdout })) {
      const [tag, key, rev] = line.split(' ');
      if (tag === 'ack' && key !== undefined) acks.set(key, Number(rev));
      if (acks.size >= 400) break;
    }
    assert.ok(acks.size >= 400, `the writer acknowledged only ${acks.size} writes: ${stderr}`);
    // Kill both mid-stream: the writer with writes in flight, and etcd with whatever it has not synced.
    child.kill('SIGKILL');
    process.kill(etcd.pid, 'SIGKILL');
    await exited;
    await etcd.stop();

    etcd = await startEtcd({ dataDir });
    const storage = await openEtcdStorage(etcd.endpoints);
    try {
      const stored = new Map<string, number>();
      for (let page = await storage.list('/crash/', { limit: 500 }); ; ) {
        for (const kv of page.kvs) stored.set(kv.key, kv.modRevision);
        if (page.continue === undefined) break;
        page = await storage.list('/crash/', { limit: 500, continue: page.continue });
      }
      const lost = [...acks].filter(([key, rev]) => stored.get(key) !== rev);
      assert.deepEqual(lost, [], 'acknowledged writes missing or changed after the crash');
      assert.ok(stored.size >= acks.size);
      const maxAck = Math.max(...acks.values());
      assert.ok((await storage.currentRevision()) >= maxAck);
      // The store keeps working where it stopped.
      const next = await waitFor(() => storage.create('/crash/after', new Uint8Array([1])));
      assert.ok(next.modRevision > maxAck);
    } finally {
      await storage.close();
    }
  } finally {
    child.kill('SIGKILL');
    await etcd.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
