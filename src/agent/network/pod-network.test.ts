import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setLogSink } from '../../base/log.ts';
import { CniError } from './cni.ts';
import { defaultCniBinDir, PodNetwork } from './pod-network.ts';

setLogSink(null);
const skip = process.getuid?.() !== 0 || !fs.existsSync(join(defaultCniBinDir, 'bridge')) || !fs.existsSync('/bin/busybox') ? 'needs root, containernetworking-plugins and busybox-static' : undefined;

function links(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
}

test('pods get their own namespace and an address on the bridge, reachable from the host and each other; teardown removes everything', { skip }, async () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'skiff-net-'));
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
  const pn = new PodNetwork({ dataDir: dir, podCIDR: subnet });
  const forwardBefore = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const a = { id: 'a'.repeat(64), namespace: 'default', name: 'pa', uid: 'u1' };
  const b = { id: 'b'.repeat(64), namespace: 'default', name: 'pb', uid: 'u2' };
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const sa = await pn.setUp(a);
    const sb = await pn.setUp(b);
    const prefix = subnet.split('.').slice(0, 3).join('.');
    assert.ok(sa.ip.startsWith(prefix + '.'), sa.ip);
    assert.ok(sb.ip.startsWith(prefix + '.'), sb.ip);
    assert.notEqual(sa.ip, sb.ip);
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), forwardBefore, 'ip_forward is left as it was');
    const inA = execFileSync('ip', ['netns', 'exec', `skiff-${pn.netnsPath(a.id).split('skiff-')[1]}`, 'ip', '-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
    assert.match(inA, new RegExp(`eth0\\s+inet ${sa.ip.replace(/\./g, '\\.')}/24`));
    assert.match(inA, /lo\s+inet 127\.0\.0\.1/);
    const loA = execFileSync('ip', ['-n', pn.netnsPath(a.id).split('/').pop()!, 'link', 'show', 'lo'], { encoding: 'utf8' });
    assert.match(loA, /<LOOPBACK,UP,LOWER_UP>/, 'lo is up without the loopback plugin');
    assert.deepEqual(pn.status(a.id), { netnsPath: sa.netnsPath, ip: sa.ip });
    await pn.check(a);

    // A listener inside pod a answers the host on a's address.
    const nsA = pn.netnsPath(a.id).split('/').pop()!;
    server = spawn('ip', ['netns', 'exec', nsA, '/bin/busybox', 'nc', '-l', '-p', '7777', '-e', '/bin/busybox', 'echo', 'pong'], { stdio: 'ignore' });
    const reply = await (async () => {
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          return await new Promise<string>((resolve, reject) => {
            const s = net.connect(7777, sa.ip);
            let got = '';
            s.on('data', (c) => (got += c.toString()));
            s.on('end', () => resolve(got));
            s.on('error', reject);
          });
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    assert.equal(reply.trim(), 'pong');
    // From pod b to pod a (through the bridge).
    server.kill();
    server = spawn('ip', ['netns', 'exec', nsA, '/bin/busybox', 'nc', '-l', '-p', '7778', '-e', '/bin/busybox', 'echo', 'from-a'], { stdio: 'ignore' });
    const nsB = pn.netnsPath(b.id).split('/').pop()!;
    let out = '';
    const deadline = Date.now() + 5000;
    while (!out.includes('from-a') && Date.now() < deadline) {
      try {
        out = execFileSync('ip', ['netns', 'exec', nsB, '/bin/busybox', 'nc', '-w', '2', sa.ip, '7778'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.match(out, /from-a/);
  } finally {
    server?.kill();
    await pn.tearDown(a);
    await pn.tearDown(b);
    await pn.destroy();
  }
  assert.ok(!fs.existsSync(pn.netnsPath(a.id)));
  assert.ok(!links().includes(pn.bridge), 'bridge removed');
  assert.ok(!/veth/.test(links()), 'no veth left');
  await assert.rejects(pn.check(a), CniError);
  fs.rmSync(dir, { recursive: true, force: true });
});
