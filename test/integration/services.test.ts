/**
 * Services end to end on a real API server: the service proxy (each backend in turn: nftables, then iptables)
 * and the cluster DNS run in-process against it, and "pods" are network namespaces on a test bridge with plain
 * HTTP servers (services-runc.test.ts does the same with runc pods). EndpointSlices are written by the test, as
 * for a selector-less Service.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { services } from '../../src/api/core/v1/index.ts';
import { endpointSlices } from '../../src/api/discovery/v1/endpoint-slice.ts';
import { ApiClient, RestClient, clientConfigFromKubeconfig } from '../../src/client/index.ts';
import { execFileSync } from 'node:child_process';
import { cleanupProxyRules, nftAvailable, startServiceProxy } from '../../src/agent/proxy/index.ts';
import type { RunningServiceProxy } from '../../src/agent/proxy/index.ts';
import { podResolvConf, startClusterDns } from '../../src/agent/dns/index.ts';
import type { RunningDnsServer } from '../../src/agent/dns/index.ts';
import { startServer } from './helpers/cluster.ts';
import type { TestServer } from './helpers/cluster.ts';
import { NetLab, iptablesSave, labAvailable } from './services-helpers.ts';
import type { LabPod } from './services-helpers.ts';

const skip = labAvailable();
const nftSkip = skip ?? ((await nftAvailable()) ? undefined : 'needs nft');

function slice(name: string, svc: string, eps: { ip: string; ready?: boolean; terminating?: boolean; hostname?: string }[], port = 8080): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      nodeName: 'node-1',
      ...(e.hostname ? { hostname: e.hostname } : {}),
      conditions: { ready: e.ready ?? true, serving: true, terminating: e.terminating ?? false },
    })),
  };
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `n` fetches of `url` inside the pod, one connection each; returns the answers ("FAIL" for a failure). */
async function fetchMany(lab: NetLab, pod: LabPod, url: string, n: number, pauseS = 0): Promise<string[]> {
  const r = await lab.exec(pod, `i=0; while [ $i -lt ${n} ]; do curl -sf --max-time 2 ${url} || printf FAIL; echo; i=$((i+1)); ${pauseS ? `sleep ${pauseS};` : ''} done`);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

for (const mode of ['nftables', 'iptables'] as const) describe(`services: proxy (${mode}) and DNS`, { skip: mode === 'nftables' ? nftSkip : skip, concurrency: false }, () => {
  let server: TestServer;
  let api: ApiClient;
  const lab = new NetLab();
  let client: LabPod;
  const backends: LabPod[] = [];
  let dns: RunningDnsServer | undefined;
  let proxy: RunningServiceProxy | undefined;
  const prefix = `SKT${lab.id}-`;
  const nftTable = `skt${lab.id}`;
  let web: Service;
  /** The proxy's rules as text: its nft table, or both iptables tables. */
  const rulesText = (): string => (mode === 'iptables' ? iptablesSave() : nftTableText());
  const nftTableText = (): string => {
    try {
      return execFileSync('nft', ['list', 'table', 'ip', nftTable], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  const dnatsTo = (ip: string): boolean => rulesText().includes(mode === 'iptables' ? `--to-destination ${ip}:8080` : `: ${ip} . 8080`);
  const proxyOpts = (): Parameters<typeof startServiceProxy>[0] => ({
    mode,
    nftTable,
    client: api,
    nodeName: 'node-1',
    nodeIPs: [lab.gateway],
    clusterCIDR: '10.42.0.0/16',
    chainPrefix: prefix,
    syncPeriodMs: 60_000,
  });

  before(async () => {
    server = await startServer();
    api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
    lab.create();
    for (const n of ['backend-a', 'backend-b', 'backend-c']) backends.push(await lab.addPod(n, { port: 8080 }));
    client = await lab.addPod('client', { resolvConf: podResolvConf({ metadata: { namespace: 'default' } }, { clusterDNS: [lab.gateway] }) });
    web = await api.resource<Service>(services).create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    }, { namespace: 'default' });
    await api.resource<EndpointSlice>(endpointSlices).create(slice('web-1', 'web', backends.map((b) => ({ ip: b.ip }))), { namespace: 'default' });
    dns = await startClusterDns({ client: api, address: lab.gateway, port: 53, upstreams: [] });
    proxy = await startServiceProxy(proxyOpts());
  });

  after(async () => {
    await proxy?.stop().catch(() => undefined);
    await cleanupProxyRules({ chainPrefix: prefix, nftTable }).catch(() => undefined);
    await dns?.close().catch(() => undefined);
    await lab.destroy();
    api?.close();
    await server?.stop();
  });

  test('the server creates the kube-dns Service for the cluster DNS address', async () => {
    const s = await api.resource<Service>(services).get('kube-dns', { namespace: 'kube-system' });
    assert.equal(s.spec?.clusterIP, '10.43.0.10');
    assert.deepEqual(s.spec?.ports?.map((p) => [p.name, p.port, p.protocol]), [['dns', 53, 'UDP'], ['dns-tcp', 53, 'TCP']]);
    assert.equal(s.metadata?.labels?.['k8s-app'], 'kube-dns');
    assert.equal(s.spec?.selector, undefined, 'no selector: each node answers it locally');
  });

  test('a client reaches all three backends by FQDN and by short name', async () => {
    assert.match(web.spec?.clusterIP ?? '', /^10\.43\./);
    for (const url of ['http://web.default.svc.cluster.local/', 'http://web/']) {
      const answers = await fetchMany(lab, client, url, 100);
      assert.equal(answers.length, 100);
      assert.deepEqual(answers.filter((a) => a === 'FAIL'), [], `no request to ${url} fails`);
      assert.deepEqual([...new Set(answers)].sort(), ['backend-a', 'backend-b', 'backend-c']);
    }
  });

  test('a NodePort answers on the node IP', async () => {
    const nodePort = web.spec?.ports?.[0]?.nodePort;
    assert.ok(nodePort && nodePort >= 30000 && nodePort <= 32767);
    const answers = await fetchMany(lab, client, `http://${lab.gateway}:${nodePort}/`, 30);
    assert.deepEqual(answers.filter((a) => a === 'FAIL'), []);
    assert.ok(new Set(answers).size >= 2, `several backends answer: ${[...new Set(answers)].join(',')}`);
  });

  test('headless and ExternalName services resolve', async () => {
    await api.resource<Service>(services).create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' },
      spec: { clusterIP: 'None', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    }, { namespace: 'default' });
    await api.resource<EndpointSlice>(endpointSlices).create(slice('db-1', 'db', [{ ip: backends[0]!.ip, hostname: 'db-0' }, { ip: backends[1]!.ip }]), { namespace: 'default' });
    await api.resource<Service>(services).create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' },
      spec: { type: 'ExternalName', externalName: 'example.org' },
    }, { namespace: 'default' });
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`${lab.gateway}:53`]);
    const ips = await until('headless records', async () => {
      const got = await r.resolve4('db.default.svc.cluster.local').catch(() => []);
      return got.length === 2 ? got.sort() : undefined;
    });
    assert.deepEqual(ips, [backends[0]!.ip, backends[1]!.ip].sort());
    assert.deepEqual(await r.resolve4('db-0.db.default.svc.cluster.local'), [backends[0]!.ip]);
    assert.deepEqual(await until('cname', async () => (await r.resolveCname('ext.default.svc.cluster.local').catch(() => undefined))), ['example.org']);
    // the pod's resolver finds the headless pod through its search path
    const g = await lab.exec(client, 'getent hosts db-0.db');
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, new RegExp(`^${backends[0]!.ip.replace(/\./g, '\\.')}\\s`));
  });

  test('scaling down drains a backend within a second and no request fails', async () => {
    const gone = backends[2]!;
    const loop = fetchMany(lab, client, 'http://web/', 150, 0.01);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    // The pod is terminating: ready=false, serving=true. With ready endpoints left, it takes no new connections.
    const cur = await api.resource<EndpointSlice>(endpointSlices).get('web-1', { namespace: 'default' });
    await api.resource<EndpointSlice>(endpointSlices).update({
      ...slice('web-1', 'web', [{ ip: backends[0]!.ip }, { ip: backends[1]!.ip }, { ip: gone.ip, ready: false, terminating: true }]),
      metadata: { ...cur.metadata, labels: { 'kubernetes.io/service-name': 'web' } },
    }, { namespace: 'default' });
    await until('the DNAT to the terminating backend is removed', () => (dnatsTo(gone.ip) ? undefined : true), 5000);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `removed from rotation in ${ms} ms`);
    await lab.stopServer(gone);
    const answers = await loop;
    assert.deepEqual(answers.filter((a) => a === 'FAIL'), [], 'no request fails during the scale-down');
    const after = await fetchMany(lab, client, 'http://web/', 40);
    assert.deepEqual(after.filter((a) => a === 'FAIL'), []);
    assert.ok(!after.includes(gone.name), 'the removed backend gets no traffic');
  });

  test('restarting the proxy keeps traffic flowing and does not duplicate rules', async () => {
    const before = rulesText();
    await proxy!.stop();
    proxy = undefined;
    const during = await fetchMany(lab, client, 'http://web/', 20);
    assert.deepEqual(during.filter((a) => a === 'FAIL'), [], 'rules stay while the proxy is down');
    proxy = await startServiceProxy(proxyOpts());
    assert.equal(proxy.mode, mode);
    const afterRestart = rulesText();
    if (mode === 'iptables') {
      const jumps = (s: string): number => s.split('\n').filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) /.test(l) && l.includes(prefix)).length;
      assert.equal(jumps(afterRestart), 6);
      assert.equal(jumps(afterRestart), jumps(before));
    } else {
      // The same table, rewritten in place: the same chains, each hooked once.
      const chains = (s: string): string[] => s.split('\n').filter((l) => /^\s*chain /.test(l)).sort();
      assert.deepEqual(chains(afterRestart), chains(before));
      assert.equal(afterRestart.split('\n').filter((l) => l.includes('hook prerouting')).length, 1);
    }
    const answers = await fetchMany(lab, client, 'http://web/', 20);
    assert.deepEqual(answers.filter((a) => a === 'FAIL'), []);
  });

  test('bad Services are refused with upstream messages', async () => {
    const svcs = api.resource<Service>(services);
    const make = (name: string, spec: Service['spec']): Promise<Service> =>
      svcs.create({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec }, { namespace: 'default' });
    await assert.rejects(make('bad-port', { ports: [{ port: 70000 }] }),
      (e: Error) => e.message.includes('spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive'));
    const taken = web.spec!.ports![0]!.nodePort!;
    await assert.rejects(make('bad-nodeport', { type: 'NodePort', ports: [{ port: 80, nodePort: taken }] }),
      (e: Error) => e.message.includes(`spec.ports[0].nodePort: Invalid value: ${taken}: provided port is already allocated`));
  });

  // Upstream's wording (pkg/registry/core/service/ipallocator ErrNotInRange).
  test('a clusterIP outside the service CIDR is refused with upstream\'s message', async () => {
    await assert.rejects(api.resource<Service>(services).create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad-ip', namespace: 'default' }, spec: { clusterIP: '10.99.0.5', ports: [{ port: 80 }] } }, { namespace: 'default' }),
      (e: Error) => e.message.includes('failed to allocate IP 10.99.0.5: the provided IP (10.99.0.5) is not in the valid range. The range of valid IPs is 10.43.0.0/16'));
  });

  test('stopping with cleanup leaves no rule', async () => {
    await proxy!.stop();
    proxy = await startServiceProxy({ ...proxyOpts(), cleanupOnStop: true });
    assert.ok(mode === 'iptables' ? iptablesSave().includes(prefix) : rulesText().includes('chain services'));
    const p = proxy;
    proxy = undefined;
    await p.stop();
    assert.deepEqual(iptablesSave().split('\n').filter((l) => l.includes(prefix)), []);
    assert.equal(nftTableText(), '', 'no nft table is left');
  });
});
