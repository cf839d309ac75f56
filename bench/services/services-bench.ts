/**
 * Service benchmarks (print tables; never assert on timings). Run as root on Linux.
 *
 *   node --import tsx bench/services/services-bench.ts sync [--mode nftables|iptables|both] [--services 1000] [--endpoints 10] [--dry]
 *     Rule-sync time for N Services × M endpoints: rule generation, then one atomic batch (a first full sync, a
 *     full resync over the existing rules, an unchanged partial sync, and a partial sync after one endpoint
 *     changed), then cleanup. nftables: one `nft -f` transaction into a bench table whose hooked chains only
 *     match the bench's own (unrouted) addresses. iptables: one `iptables-restore --noflush` batch into chains
 *     with a bench prefix and no jump from the built-in chains, so they never see a packet. `--dry` only
 *     validates (`nft -c`, `iptables-restore --test`). Target ≤ 500 ms for 1,000 × 10.
 *
 *   node --import tsx bench/services/services-bench.ts dns [--seconds 3] [--window 200]
 *     Cluster DNS queries/s: the server (1,000 services) on 127.0.0.1, a client in a worker thread keeping
 *     `--window` UDP queries in flight. Target ≥ 20,000/s.
 *
 *   node --import tsx bench/services/services-bench.ts http [--seconds 3] [--concurrency 16]
 *     HTTP requests/s (a new connection per request, so every request takes the DNAT path) from a client
 *     network namespace to one backend namespace, through the ClusterIP versus straight to the pod IP, in
 *     the same run. Target ratio ≥ 0.9. Namespaces, bridge, rules and processes are removed afterwards.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { setLogSink } from '../../src/base/log.ts';
import { buildNftRules, buildProxyRules, cleanupProxyRules, hostIptables, hostNft, jumpRules, nftAvailable, renderNft, renderRestore } from '../../src/agent/proxy/index.ts';
import type { NftRuleset } from '../../src/agent/proxy/index.ts';
import { startDnsServer } from '../../src/agent/dns/index.ts';
import type { ClusterView } from '../../src/agent/dns/index.ts';
import type { ProxyRules } from '../../src/agent/proxy/index.ts';
import { NetLab } from '../../test/integration/services-helpers.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    dry: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '3' },
    window: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
  },
});

setLogSink(() => undefined);

function world(nSvc: number, nEp: number): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < nSvc; i++) {
    const name = `svc-${i}`;
    services.push({ metadata: { name, namespace: 'bench' }, spec: { type: i % 10 === 0 ? 'NodePort' : 'ClusterIP', clusterIP: `198.18.${(i >> 8) & 255}.${i & 255}`, ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(i % 10 === 0 ? { nodePort: 30000 + i } : {}) }] } });
    slices.push({
      metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: nEp }, (_, j) => ({ addresses: [`198.19.${(i * nEp + j) >> 8 & 255}.${(i * nEp + j) & 255}`], nodeName: 'n1', conditions: { ready: true } })),
    });
  }
  return { services, slices };
}

function table_(rows: [string, string][]): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}

async function benchSync(): Promise<void> {
  const modes = values.mode === 'both' ? ['nftables', 'iptables'] : [values.mode];
  for (const m of modes) {
    if (m === 'nftables') {
      if (await nftAvailable()) await benchSyncNft();
      else process.stdout.write('nftables: nft not available here\n');
    } else if (m === 'iptables') await benchSyncIptables();
    else throw new Error(`unknown mode ${m}: use nftables, iptables or both`);
    process.stdout.write('\n');
  }
}

async function benchSyncNft(): Promise<void> {
  const nSvc = Number(values.services);
  const nEp = Number(values.endpoints);
  const nft = hostNft();
  const table = `skbench${process.pid}`;
  // Every address is in the benchmarking range (198.18.0.0/15) or TEST-NET: the hooked table matches no real traffic.
  const opts = { nodeName: 'n1', nodeIPs: ['192.0.2.250'], clusterCIDR: '198.19.0.0/16', table };
  const w = world(nSvc, nEp);
  const rows: [string, string][] = [['nftables: services × endpoints', `${nSvc} × ${nEp}`]];
  try {
    let previous: NftRuleset | undefined;
    const sync = async (label: string, svcs: Service[], slices: EndpointSlice[], full: boolean): Promise<void> => {
      const t0 = performance.now();
      const rules = buildNftRules(svcs, slices, opts);
      const existing = full ? ((await nft.names(table)) ?? { chains: new Set<string>(), sets: new Map<string, 'set' | 'map'>() }) : undefined;
      const text = renderNft(rules, !full && previous ? { previous } : { ...(existing ? { existing } : {}) });
      const t1 = performance.now();
      await nft.apply(text, { check: values.dry });
      const t2 = performance.now();
      if (!values.dry) previous = rules;
      const elements = [...rules.sets.values()].reduce((n, s) => n + s.elements.size, 0);
      rows.push([`${label}: build`, `${(t1 - t0).toFixed(1)} ms (${rules.chains.size} chains, ${elements} elements, ${(text.length / 1024).toFixed(0)} KiB)`]);
      rows.push([`${label}: nft -f`, `${(t2 - t1).toFixed(1)} ms`]);
      rows.push([`${label}: total`, `${(t2 - t0).toFixed(1)} ms`]);
    };
    await sync('full sync, empty table', w.services, w.slices, true);
    await sync('full resync over itself', w.services, w.slices, true);
    await sync('partial, unchanged', w.services, w.slices, false);
    const changed = structuredClone(w.slices);
    changed[0]!.endpoints.pop();
    await sync('partial, one endpoint removed', w.services, changed, false);
  } finally {
    if (!values.dry) await nft.deleteTable(table);
  }
  rows.push(['target', 'full sync ≤ 500 ms']);
  table_(rows);
}

async function benchSyncIptables(): Promise<void> {
  const nSvc = Number(values.services);
  const nEp = Number(values.endpoints);
  const ipt = hostIptables();
  const prefix = 'SKB-';
  const opts = { nodeName: 'n1', nodeIPs: ['192.0.2.250'], clusterCIDR: '198.19.0.0/16', chainPrefix: prefix };
  const w = world(nSvc, nEp);
  const rows: [string, string][] = [['iptables: services × endpoints', `${nSvc} × ${nEp}`]];
  try {
    let known = { nat: new Set<string>(), filter: new Set<string>() };
    let previous: ProxyRules | undefined;
    // After the first, syncs are partial (only changed chains are written), as the proxy does between full resyncs.
    const sync = async (label: string, svcs: Service[], slices: EndpointSlice[]): Promise<void> => {
      const t0 = performance.now();
      const rules = buildProxyRules(svcs, slices, opts);
      const text = renderRestore(rules, known, previous ? { previous } : {});
      previous = rules;
      const t1 = performance.now();
      await ipt.restore(text, { test: values.dry });
      const t2 = performance.now();
      if (!values.dry) known = { nat: rules.natChains, filter: rules.filterChains };
      rows.push([`${label}: build`, `${(t1 - t0).toFixed(1)} ms (${rules.nat.length + rules.filter.length} lines, ${rules.natChains.size} chains)`]);
      rows.push([`${label}: iptables-restore`, `${(t2 - t1).toFixed(1)} ms`]);
      rows.push([`${label}: total`, `${(t2 - t0).toFixed(1)} ms`]);
    };
    await sync('full sync', w.services, w.slices);
    await sync('partial, unchanged', w.services, w.slices);
    const changed = structuredClone(w.slices);
    changed[0]!.endpoints.pop();
    await sync('partial, one endpoint removed', w.services, changed);
  } finally {
    if (!values.dry) await cleanupProxyRules({ chainPrefix: prefix, nftTable: `skbench${process.pid}` });
  }
  rows.push(['target', 'full sync ≤ 500 ms']);
  table_(rows);
}

async function benchDns(): Promise<void> {
  const w = world(1000, 3);
  const view: ClusterView = {
    service: (ns, name) => w.services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
    slices: (ns, name) => w.slices.filter((s) => s.metadata?.namespace === ns && s.metadata?.labels?.['kubernetes.io/service-name'] === name),
  };
  // A map lookup, as the informer lister is: the linear scans above would measure the test fixture.
  const svcIndex = new Map(w.services.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  view.service = (ns, name) => svcIndex.get(`${ns}/${name}`);
  const server = await startDnsServer(view, { address: '127.0.0.1', port: 0, upstreams: [] });
  const seconds = Number(values.seconds);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const dgram = require('node:dgram');
    const dnsPacket = require(workerData.dnsPacket);
    const sock = dgram.createSocket('udp4');
    const queries = [];
    for (let i = 0; i < 1000; i++) queries.push(dnsPacket.encode({ type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'svc-' + i + '.bench.svc.cluster.local', type: 'A' }] }));
    let sent = 0, got = 0, bad = 0;
    const end = Date.now() + workerData.seconds * 1000;
    const send = () => { const q = queries[sent++ % 1000]; sock.send(q, workerData.port, '127.0.0.1'); };
    sock.on('message', (m) => {
      got++;
      if (m.readUInt16BE(6) !== 1) bad++;
      if (Date.now() < end) send(); else if (got + 0 >= sent - workerData.window) { parentPort.postMessage({ got, bad }); sock.close(); }
    });
    for (let i = 0; i < workerData.window; i++) send();
    setTimeout(() => { parentPort.postMessage({ got, bad }); try { sock.close(); } catch {} }, workerData.seconds * 1000 + 2000).unref();
  `;
  const worker = new Worker(code, { eval: true, workerData: { port: server.port, seconds, window: Number(values.window), dnsPacket: import.meta.resolve('dns-packet').replace('file://', '') } });
  const t0 = performance.now();
  const result = await new Promise<{ got: number; bad: number }>((resolve) => worker.once('message', resolve));
  const s = (performance.now() - t0) / 1000;
  await worker.terminate();
  await server.close();
  table_([
    ['queries answered', String(result.got)],
    ['answers without exactly one A', String(result.bad)],
    ['queries/s', (result.got / s).toFixed(0)],
    ['target', '≥ 20,000/s'],
  ]);
}

async function benchHttp(): Promise<void> {
  const lab = new NetLab();
  const prefix = `SKH${lab.id}-`;
  const ipt = hostIptables();
  const clusterIP = '10.43.254.254';
  const serverJs = "require('http').createServer((q,s)=>s.end('ok')).listen(8080)";
  const clientJs = `
    const http = require('http');
    const [url, seconds, conc] = process.argv.slice(1);
    let n = 0, fail = 0; const end = Date.now() + Number(seconds) * 1000;
    const one = () => new Promise((r) => { const req = http.get(url, { agent: false }, (res) => { res.resume(); res.on('end', () => { n++; r(); }); }); req.on('error', () => { fail++; r(); }); });
    const loop = async () => { while (Date.now() < end) await one(); };
    Promise.all(Array.from({ length: Number(conc) }, loop)).then(() => console.log(JSON.stringify({ n, fail })));
  `;
  try {
    lab.create();
    const backend = await lab.addPod('backend');
    const client = await lab.addPod('client');
    const srv = spawn('ip', ['netns', 'exec', backend.ns, process.execPath, '-e', serverJs], { stdio: 'ignore' });
    backend.server = srv;
    const svc: Service = { metadata: { name: 'web', namespace: 'bench' }, spec: { clusterIP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
    const sl: EndpointSlice = { metadata: { name: 'web-1', namespace: 'bench', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [backend.ip], conditions: { ready: true } }] };
    await ipt.restore(renderRestore(buildProxyRules([svc], [sl], { nodeName: 'n1', nodeIPs: [], chainPrefix: prefix })));
    for (const j of jumpRules({ chainPrefix: prefix })) await ipt.run(['-t', j.table, '-I', j.chain, ...j.args]);
    const run = async (url: string): Promise<{ n: number; fail: number }> => {
      const r = await lab.exec(client, `${process.execPath} -e "${clientJs.replace(/"/g, '\\"').replace(/\n/g, ' ')}" ${url} ${values.seconds} ${values.concurrency}`, 60_000);
      return JSON.parse(r.stdout.trim()) as { n: number; fail: number };
    };
    for (let i = 0; i < 50; i++) {
      const r = await lab.exec(client, `curl -sf --max-time 1 http://${backend.ip}:8080/`);
      if (r.stdout === 'ok') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    await run(`http://${clusterIP}/`); // warm-up
    const direct = await run(`http://${backend.ip}:8080/`);
    const viaSvc = await run(`http://${clusterIP}/`);
    const secs = Number(values.seconds);
    table_([
      ['pod IP req/s', `${(direct.n / secs).toFixed(0)} (${direct.fail} failed)`],
      ['ClusterIP req/s', `${(viaSvc.n / secs).toFixed(0)} (${viaSvc.fail} failed)`],
      ['ratio', (viaSvc.n / Math.max(1, direct.n)).toFixed(3)],
      ['target', 'ratio ≥ 0.9'],
    ]);
  } finally {
    await cleanupProxyRules({ chainPrefix: prefix }).catch(() => undefined);
    await lab.destroy();
  }
}

const mode = positionals[0] ?? 'sync';
if (mode === 'sync') await benchSync();
else if (mode === 'dns') await benchDns();
else if (mode === 'http') await benchHttp();
else throw new Error(`unknown benchmark ${mode}: use sync, dns or http`);
