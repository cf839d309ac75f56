/**
 * The runc runtime through the API server across an agent restart: the agent stops, its containers keep running,
 * a new agent adopts them, and then the real `kubectl attach -i` reaches the container's stdin and output, and a tty
 * attach over WebSocket honours the resize channel (`stty size` inside reports the size sent).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { parse as yamlParse } from 'yaml';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { createRuncRuntime } from '../../src/agent/runtime/runc/runc-runtime.ts';
import { imageStoreDir, openImageStore } from '../../src/agent/images/store.ts';
import { startAgentCluster } from './agent-helpers.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { busyboxImage, containerToolsMissing, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';
import { removeCgroups, waitFor } from './helpers/runc-test.ts';

const skip = containerToolsMissing();

describe('runc attach and terminals across an agent restart', { skip, timeout: 300_000 }, () => {
  let reg: TestRegistry;
  let c: AgentCluster;
  let work: string;
  let busybox = '';
  const cgroupParent = `skiff-rat-${process.pid}`;
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;

  const kubectlOk = async (args: string[], input?: string): Promise<string> => {
    const r = await c.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const getPod = async (name: string): Promise<Pod> => JSON.parse(await kubectlOk(['get', 'pod', name, '-o', 'json'])) as Pod;
  const runningOnce = (name: string): Promise<Pod> => waitFor(async () => {
    const p = await getPod(name);
    const cs = p.status?.containerStatuses?.[0];
    return p.status?.phase === 'Running' && cs?.state?.running && cs.restartCount === 0 ? p : undefined;
  }, { timeoutMs: 90_000, what: `pod ${name} running, never restarted` });
  const pod = (name: string, container: Record<string, unknown>): string => JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { terminationGracePeriodSeconds: 1, restartPolicy: 'Never', containers: [{ name: 'main', image: busybox, ...container }] },
  });

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/busybox', 'v1', busyboxImage());
    busybox = `${reg.host}/test/busybox:v1`;
    work = fs.mkdtempSync(join(tmpdir(), 'skiff-rat-'));
    c = await startAgentCluster({ runtime: 'runc', dataDir: join(work, 'data'), podCIDR: subnet, cgroupParent, statusCheckMs: 1000 });
    await kubectlOk(['apply', '-f', '-'], pod('reader', { stdin: true, command: ['sh', '-c', 'while read line; do echo "got:$line"; done; sleep 600'] }));
    await kubectlOk(['apply', '-f', '-'], pod('shell', { stdin: true, tty: true, command: ['sh'] }));
    const before1 = await Promise.all([runningOnce('reader'), runningOnce('shell')]);
    await c.restartAgent();
    // The new agent has adopted both containers (same start time, no restart) before any attach.
    for (const p of before1) {
      const name = p.metadata!.name!;
      const startedAt = p.status!.containerStatuses![0]!.state!.running!.startedAt;
      await waitFor(async () => {
        const cs = (await getPod(name)).status?.containerStatuses?.[0];
        return cs?.state?.running?.startedAt === startedAt && cs?.restartCount === 0;
      }, { timeoutMs: 30_000, what: `pod ${name} adopted` });
    }
  });

  after(async () => {
    if (c) {
      await c.kubectl(['delete', 'pods', '--all', '--grace-period=1', '--wait=true'], { timeoutMs: 60_000 }).catch(() => undefined);
      await c.stop();
      // Whatever the agent could not stop goes with a runtime over the same state.
      const rt = createRuncRuntime({ dataDir: join(c.rootDir, 'runc'), imageStore: openImageStore(imageStoreDir(join(work, 'data'))), hostIP: '127.0.0.1', cgroupParent });
      await rt.start();
      await rt.close({ killContainers: true });
    }
    await reg?.stop();
    removeCgroups(cgroupParent);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('kubectl attach -i reaches an adopted container: stdin in, output back', async () => {
    const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'attach', '-i', 'reader', '-c', 'main'], { env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // Lines sent before the attach is wired up would be lost: resend until the container answers.
      await waitFor(() => {
        child.stdin.write('after-restart\n');
        return out.includes('got:after-restart');
      }, { timeoutMs: 30_000, what: () => `attach output (so far: ${JSON.stringify(out)})` });
    } finally {
      child.kill();
    }
    assert.match(await kubectlOk(['logs', 'reader']), /got:after-restart/);
  });

  it('a tty attach to an adopted container honours the resize channel', async () => {
    const front = (yamlParse(fs.readFileSync(c.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    const url = `${front.replace(/^http/, 'ws')}/api/v1/namespaces/default/pods/shell/attach?container=main&stdin=true&stdout=true&tty=true`;
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], { headers: { Authorization: 'Bearer skiff-admin' } });
    let out = '';
    ws.on('message', (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    try {
      const send = (ch: number, s: string): void => ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(s)]));
      for (const [w, h] of [[132, 43], [90, 21]] as const) {
        send(4, JSON.stringify({ Width: w, Height: h }));
        await waitFor(() => {
          if (out.includes(`size=${h} ${w}`)) return true;
          send(0, 'echo "size=$(stty size)"\n');
          return undefined;
        }, { timeoutMs: 30_000, what: () => `stty size ${h} ${w} (output so far: ${JSON.stringify(out.slice(-300))})` });
      }
    } finally {
      ws.close();
    }
    const p = await getPod('shell');
    assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 0, 'detaching leaves the container running');
  });
});
