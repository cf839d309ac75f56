/**
 * Services on real runc pods: an agent with the runc runtime, the service proxy (nftables when nft works here,
 * else iptables) and the cluster DNS, as `skiff server` runs them by default. Three busybox httpd backends that
 * answer with their pod name sit behind a Service; a client pod, whose resolv.conf the agent wrote for dnsPolicy
 * ClusterFirst, fetches `http://web.default.svc.cluster.local` and `http://web` and reaches all three; `kubectl
 * port-forward svc/web` reaches a backend. The proxy's table and chains are named per run and removed afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { cleanupProxyRules } from '../../src/agent/proxy/index.ts';
import { RuncRuntime } from '../../src/agent/runtime/runc/index.ts';
import { startAgentCluster } from './agent-helpers.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { busyboxImage, containerToolsMissing, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';
import { freePort, httpGet, removeCgroups, waitFor } from './helpers/runc-test.ts';

const skip = containerToolsMissing();

describe('services on runc pods: proxy, cluster DNS and per-pod resolv.conf', { skip, timeout: 600_000 }, () => {
  let reg: TestRegistry;
  let c: AgentCluster;
  let work: string;
  const id = randomBytes(3).toString('hex');
  const nftTable = `skt${id}`;
  const chainPrefix = `SKR${id.slice(0, 4)}-`;
  const cgroupParent = `skiff-svc-${process.pid}`;
  const subnet = `10.42.${100 + Math.floor(Math.random() * 100)}.0/24`;
  // A cluster DNS address of this run's own, so that a concurrent cluster on the machine never shadows it.
  const clusterDNS = `10.43.254.${2 + Math.floor(Math.random() * 250)}`;
  let image = '';

  const kubectlOk = async (args: string[], input?: string): Promise<string> => {
    const r = await c.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** Forwarding on the pod bridge: a concurrent test restoring net.ipv4.ip_forward resets every interface's switch. */
  const keepForwarding = (): void => {
    const rt = c.agent.agents[0]?.runtime;
    const bridge = rt instanceof RuncRuntime ? rt.network?.bridge : undefined;
    if (bridge) fs.writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '1');
  };
  /** Runs a shell script in the client pod, keeping the bridge forwarding meanwhile. */
  const inClient = async (script: string): Promise<string> => {
    keepForwarding();
    const keep = setInterval(keepForwarding, 25);
    try {
      return await kubectlOk(['exec', 'client', '--', 'sh', '-c', script]);
    } finally {
      clearInterval(keep);
    }
  };

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/busybox', 'v1', busyboxImage());
    image = `${reg.host}/test/busybox:v1`;
    work = fs.mkdtempSync(join(tmpdir(), 'skiff-svc-'));
    c = await startAgentCluster({
      runtime: 'runc', dataDir: join(work, 'data'), podCIDR: subnet, cgroupParent, killPodsOnStop: true, statusCheckMs: 1000,
      serviceProxy: { nftTable, chainPrefix, clusterCIDR: subnet, syncPeriodMs: 60_000 },
      clusterDns: { clusterIP: clusterDNS, upstreams: [] },
    });
  });

  after(async () => {
    if (c) {
      await c.kubectl(['delete', 'deployments,pods,services', '--all', '--grace-period=1', '--wait=true'], { timeoutMs: 60_000 }).catch(() => undefined);
      await c.stop();
    }
    await cleanupProxyRules({ chainPrefix, nftTable }).catch(() => undefined);
    await reg?.stop();
    removeCgroups(cgroupParent);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('gives ClusterFirst pods the cluster DNS, the search path and ndots:5', async () => {
    assert.ok(c.agent.proxy && c.agent.dns, 'the agent runs the proxy and the DNS server');
    await kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: {
        replicas: 3, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'httpd', image, command: ['sh', '-c', 'hostname > /www/index.html && exec httpd -f -p 80 -h /www'], ports: [{ containerPort: 80 }] }],
          },
        },
      },
    }));
    await kubectlOk(['expose', 'deployment', 'web', '--port=80']);
    await kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '100000'] }] },
    }));
    await kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'custom-dns' },
      spec: {
        terminationGracePeriodSeconds: 1, dnsPolicy: 'None',
        dnsConfig: { nameservers: ['192.0.2.53'], searches: ['example.test'], options: [{ name: 'ndots', value: '2' }] },
        containers: [{ name: 'c', image, command: ['sleep', '100000'] }],
      },
    }));
    await waitFor(async () => {
      const pods = (JSON.parse(await kubectlOk(['get', 'pods', '-o', 'json'])) as { items: Pod[] }).items;
      return pods.length === 5 && pods.every((p) => p.status?.phase === 'Running');
    }, { timeoutMs: 120_000, what: 'five pods running' });
    const rc = await kubectlOk(['exec', 'client', '--', 'cat', '/etc/resolv.conf']);
    assert.equal(rc.match(/^nameserver .*$/gm)?.join('\n'), `nameserver ${clusterDNS}`);
    assert.match(rc, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( |$)/m);
    assert.match(rc, /^options ndots:5$/m);
    const custom = await kubectlOk(['exec', 'custom-dns', '--', 'cat', '/etc/resolv.conf']);
    assert.equal(custom, 'search example.test\nnameserver 192.0.2.53\noptions ndots:2\n');
  });

  it('a client pod reaches all three backends by FQDN and by short name', async () => {
    const backends = (JSON.parse(await kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: Pod[] }).items.map((p) => p.metadata!.name!).sort();
    assert.equal(backends.length, 3);
    await waitFor(async () => {
      const s = JSON.parse(await kubectlOk(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])) as { items: { endpoints?: unknown[] }[] };
      return s.items.reduce((n, x) => n + (x.endpoints?.length ?? 0), 0) === 3;
    }, { timeoutMs: 30_000, what: 'three endpoints for web' });
    const web = JSON.parse(await kubectlOk(['get', 'service', 'web', '-o', 'json'])) as Service;
    for (const name of ['web.default.svc.cluster.local', 'web']) {
      // (busybox's `wget -T` crashes; `timeout` bounds each request instead.)
      const fetch = `timeout 5 wget -qO- http://${name}/ || echo FAIL`;
      let last = '';
      // The proxy syncs on the slice event; the first fetch waits for it.
      await waitFor(async () => !(last = await inClient(`{ ${fetch}; } 2>&1`)).includes('FAIL'), { timeoutMs: 20_000, what: () => `a first answer for ${name}: ${last}` });
      assert.equal((await inClient(`nslookup ${name} | sed -n 's/^Address: //p' | tail -1`)).trim(), web.spec!.clusterIP, `${name} resolves to the ClusterIP`);
      const out = await inClient(`i=0; while [ $i -lt 60 ]; do ${fetch}; i=$((i+1)); done`);
      const answers = out.split('\n').filter(Boolean);
      assert.equal(answers.length, 60);
      assert.deepEqual(answers.filter((a) => a.startsWith('FAIL')), [], `no request to ${name} fails`);
      assert.deepEqual([...new Set(answers)].sort(), backends, `every backend answers http://${name}/`);
    }
  });

  it('kubectl port-forward svc/web reaches a backend', async () => {
    const local = await freePort();
    const pf = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', 'svc/web', `${local}:80`], { env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home } });
    let out = '';
    pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
    pf.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('Forwarding from'), { timeoutMs: 15_000, what: () => `port-forward: ${out}` });
      assert.match(await httpGet(`http://127.0.0.1:${local}/index.html`), /^web-[a-z0-9]+-[a-z0-9]+\n$/);
    } finally {
      pf.kill();
    }
  });
});
