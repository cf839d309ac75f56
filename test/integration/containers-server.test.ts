/**
 * Issue 8 through the single binary: `skiff server --runtime runc --pod-cidr CIDR` with its embedded agent (no agent
 * started by the test), driven by the real kubectl. A Deployment of the test image from the loopback registry reaches
 * Running with pod IPs from the given CIDR that answer from the host; deleting it leaves no container, mount, netns,
 * veth or cgroup, and the test removes the bridge the agent keeps for adoption.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { containerToolsMissing, httpdImage, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';

const skip = containerToolsMissing();

async function waitFor<T>(fn: () => Promise<T | undefined | false>, o: { timeoutMs: number; what: () => string }): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${o.what()}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('skiff server --runtime runc (embedded agent) through kubectl', { skip, timeout: 300_000 }, () => {
  let reg: TestRegistry | undefined;
  let server: TestServer | undefined;
  let kubectl: Kubectl | undefined;
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
  // The agent's pod network is named after its CNI directory (src/agent/network/pod-network.ts).
  let netHash = '';
  let podUids: string[] = [];

  const kubectlOk = async (args: string[]): Promise<string> => {
    const r = await kubectl!(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const netnsLeft = (): string[] => {
    try {
      return fs.readdirSync('/var/run/netns').filter((n) => n.startsWith(`skiff-${netHash}-`));
    } catch {
      return [];
    }
  };
  const mountsLeft = (): string[] => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => server && l.includes(server.dataDir));
  const podCgroupsLeft = (): string[] => fs.readdirSync('/sys/fs/cgroup').flatMap((h) => podUids.map((u) => join('/sys/fs/cgroup', h, 'skiff', `pod${u}`))).filter((d) => fs.existsSync(d));

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/httpd', 'v1', httpdImage());
    server = await startServer({ agent: true, args: ['--runtime', 'runc', '--pod-cidr', subnet] });
    netHash = createHash('sha256').update(join(server.dataDir, 'agent', 'runc', 'cni')).digest('hex').slice(0, 8);
    kubectl = kubectlFor(server);
  });

  after(async () => {
    if (server && kubectl) {
      // Whatever a failed test left: delete it and let the agent tear it down before the server stops.
      await kubectl(['delete', 'deployments,pods', '--all', '--grace-period=1', '--wait=true'], { timeoutMs: 60_000 }).catch(() => undefined);
      await waitFor(async () => netnsLeft().length === 0 && mountsLeft().length === 0, { timeoutMs: 60_000, what: () => 'pod teardown' }).catch(() => undefined);
    }
    await server?.stop();
    kubectl?.cleanup();
    await reg?.stop();
    // The agent keeps its bridge across restarts (for adoption); the test leaves the host as it found it.
    if (netHash) execFileSync('sh', ['-c', `ip link delete skb-${netHash} 2>/dev/null; true`]);
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      for (const d of [...podUids.map((u) => join('skiff', `pod${u}`)), 'skiff']) {
        try {
          fs.rmdirSync(join('/sys/fs/cgroup', h, d));
        } catch {
          // absent (removed by the agent), or the parent is used by another agent on this machine
        }
      }
    }
  });

  it('runs a Deployment from the loopback registry to Running with pod IPs from --pod-cidr', async () => {
    const image = `${reg!.host}/test/httpd:v1`;
    // busybox httpd as pid 1 ignores SIGTERM: a short grace period keeps the deletion test quick.
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 2, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'httpd', image, ports: [{ containerPort: 80 }] }] } },
      },
    };
    const r = await kubectl!(['apply', '-f', '-'], { input: JSON.stringify(deployment), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    let last = '';
    const pods = await waitFor(async () => {
      const ps = (JSON.parse(await kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: Pod[] }).items;
      last = ps.map((p) => `${p.metadata?.name}:${p.status?.phase}:${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`).join(' ');
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && p.status.podIP && p.status.containerStatuses?.[0]?.state?.running) ? ps : undefined;
    }, { timeoutMs: 120_000, what: () => `two web pods running (${last})` });
    podUids = pods.map((p) => p.metadata!.uid!);
    const prefix = subnet.split('.').slice(0, 3).join('.');
    const ips = pods.map((p) => p.status!.podIP!);
    assert.ok(ips.every((ip) => ip.startsWith(`${prefix}.`)) && ips[0] !== ips[1], `${ips.join(' ')} in ${subnet}`);
    assert.match(pods[0]!.status!.containerStatuses![0]!.containerID ?? '', /^runc:\/\/[0-9a-f]{64}$/);
    assert.match(pods[0]!.status!.containerStatuses![0]!.imageID, /@sha256:[0-9a-f]{64}$/);
    for (const ip of ips) assert.equal(await httpGet(`http://${ip}/index.html`), 'hello from skiff\n');
    const nodes = (JSON.parse(await kubectlOk(['get', 'nodes', '-o', 'json'])) as { items: { metadata: { labels: Record<string, string> }; status: { nodeInfo: { containerRuntimeVersion: string } } }[] }).items;
    assert.equal(nodes.length, 1);
    assert.match(nodes[0]!.status.nodeInfo.containerRuntimeVersion, /^runc:\/\//);
    assert.ok('node-role.kubernetes.io/control-plane' in nodes[0]!.metadata.labels);
  });

  it('deleting the Deployment leaves no container, mount, netns, veth or cgroup', async () => {
    assert.ok(podUids.length === 2, 'the previous test ran its pods');
    await kubectlOk(['delete', 'deployment', 'web', '--wait=true']);
    await waitFor(async () => (await kubectlOk(['get', 'pods', '-o', 'name'])).trim() === '', { timeoutMs: 60_000, what: () => 'pods deleted' });
    // The pod object goes before the sandbox is removed: wait for the runtime's teardown.
    await waitFor(async () => netnsLeft().length === 0 && mountsLeft().length === 0 && podCgroupsLeft().length === 0, {
      timeoutMs: 60_000,
      what: () => `teardown (netns ${netnsLeft().join(',')}; mounts ${mountsLeft().length}; cgroups ${podCgroupsLeft().join(',')})`,
    });
    const runcRoot = join(server!.dataDir, 'agent', 'runc', 'runc-state');
    const listed = JSON.parse(execFileSync('runc', ['--root', runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || 'null') as unknown[] | null;
    assert.deepEqual(listed ?? [], [], 'no runc container left');
    assert.deepEqual(fs.readdirSync(join(server!.dataDir, 'agent', 'runc', 'containers')), [], 'no container directory left');
    const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    const bridge = `skb-${netHash}`;
    // Only the bridge itself remains (kept for adoption); no veth is enslaved to it.
    assert.ok(!links.split('\n').some((l) => l.includes(`master ${bridge}`)), `veths left on ${bridge}`);
  });
});
