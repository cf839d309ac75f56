/**
 * Service benchmarks (print tables with each target beside the measured number, the load average and the CPU
 * steal; never assert on timings). Run as root on Linux.
 *
 *   node --import tsx bench/services/services-bench.ts sync [--mode nftables|iptables|both] [--services 1000] [--endpoints 10] [--nodes 1] [--dry]
 *     Rule-sync time for N Services × M endpoints (spread over --nodes nodes; 1 = all on this node, the worst
 *     case). nftables: the proxy's own syncer (createNftSyncer) on a bench table whose hooked chains only match
 *     the bench's own unrouted addresses — a first full sync in a cold process, periodic full resyncs, partial
 *     syncs, and a restart over the existing table; wall time split into build / list / nft -f, and CPU time
 *     (this process + nft), which is what a quiet machine would take. iptables: one `iptables-restore --noflush`
 *     batch into chains with a bench prefix and no jump from the built-in chains (`--dry`: `--test` only).
 *     Target ≤ 500 ms for a full sync of 1,000 × 10.
 *
 *   node --import tsx bench/services/services-bench.ts dns [--seconds 3] [--window 200] [--names 1000] [--no-cache]
 *     Cluster DNS queries/s: the server (1,000 services) on 127.0.0.1, a client process keeping `--window` UDP
 *     queries in flight; server and client CPU per query. Target ≥ 20,000/s.
 *
 *   node --import tsx bench/services/services-bench.ts http [--mode nftables|iptables] [--rounds 3] [--seconds 3] [--concurrency 16]
 *     HTTP requests/s (a new connection per request, so every request takes the DNAT path) from a client
 *     network namespace to one backend namespace, through the ClusterIP versus straight to the pod IP, in
 *     interleaved rounds. Target ratio ≥ 0.9. Namespaces, bridge, rules and processes are removed afterwards.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { setLogSink } from '../../src/base/log.ts';
import { buildProxyRules, cleanupProxyRules, createNftSyncer, hostIptables, hostNft, jumpRules, nftAvailable, renderRestore } from '../../src/agent/proxy/index.ts';
import { stealMeter } from '../lib/cpu-steal.ts';
import { startDnsServer } from '../../src/agent/dns/index.ts';
import type { ClusterView } from '../../src/agent/dns/index.ts';
import type { ProxyRules } from '../../src/agent/proxy/index.ts';
import { NetLab } from '../../test/integration/services-helpers.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '1' },
    dry: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '3' },
    window: { type: 'string', default: '200' },
    names: { type: 'string', default: '1000' },
    'no-cache': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
  },
});

setLogSink(() => undefined);

/** N services × M ready endpoints, endpoint j of service i on node n<(i*M+j) mod nodes>. */
function world(nSvc: number, nEp: number, nodes = 1): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < nSvc; i++) {
    const name = `svc-${i}`;
    services.push({ metadata: { name, namespace: 'bench' }, spec: { type: i % 10 === 0 ? 'NodePort' : 'ClusterIP', clusterIP: `198.18.${(i >> 8) & 255}.${i & 255}`, ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(i % 10 === 0 ? { nodePort: 30000 + i } : {}) }] } });
    slices.push({
      metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: nEp }, (_, j) => ({ addresses: [`198.19.${(i * nEp + j) >> 8 & 255}.${(i * nEp + j) & 255}`], nodeName: `n${(i * nEp + j) % nodes}`, conditions: { ready: true } })),
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

/** CPU time (ms) of this process's reaped children so far (/proc/self/stat cutime + cstime, 10 ms ticks). */
function childCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

function conditions(steal: () => number): string {
  return `load ${os.loadavg()[0]!.toFixed(1)}, steal ${steal().toFixed(1)} %`;
}

async function benchSyncNft(): Promise<void> {
  const nSvc = Number(values.services);
  const nEp = Number(values.endpoints);
  const nodes = Math.max(1, Number(values.nodes));
  const nft = hostNft();
  const table = `skbench${process.pid}`;
  // Every address is in the benchmarking range (198.18.0.0/15) or TEST-NET: the hooked table matches no real traffic.
  const opts = { nodeName: 'n0', nodeIPs: ['192.0.2.250'], clusterCIDR: '198.19.0.0/16', table };
  const w = world(nSvc, nEp, nodes);
  const rows: [string, string][] = [['nftables: services × endpoints', `${nSvc} × ${nEp}, endpoints on ${nodes} node(s), this node n0`]];
  rows.push(['columns', 'wall ms (build + list + nft -f) | CPU ms (node + nft) | batch | conditions']);
  const fullRows: { label: string; wall: number; cpu: number }[] = [];
  if (values.dry) {
    process.stdout.write('nftables: --dry is for iptables only (the nft syncer applies for real)\n');
    return;
  }
  try {
    let syncer = createNftSyncer(nft, opts);
    const sync = async (label: string, svcs: Service[], slices: EndpointSlice[], full: boolean): Promise<void> => {
      const steal = stealMeter();
      const c0 = process.cpuUsage();
      const k0 = childCpuMs();
      const t0 = performance.now();
      const st = await syncer.sync(svcs, slices, { full });
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const nodeCpu = (c.user + c.system) / 1000;
      const nftCpu = childCpuMs() - k0;
      rows.push([label, `${wall.toFixed(0)} (${st.buildMs.toFixed(0)} + ${st.listMs.toFixed(0)} + ${st.applyMs.toFixed(0)}) | ${(nodeCpu + nftCpu).toFixed(0)} (${nodeCpu.toFixed(0)} + ${nftCpu.toFixed(0)}) | ${st.full ? 'full' : 'partial'}, ${st.elements} elements, ${(st.bytes / 1024).toFixed(0)} KiB | ${conditions(steal)}`]);
      if (st.full) fullRows.push({ label, wall, cpu: nodeCpu + nftCpu });
    };
    await sync('first sync, empty table (cold)', w.services, w.slices, true);
    await sync('periodic full resync', w.services, w.slices, true);
    await sync('periodic full resync', w.services, w.slices, true);
    await sync('partial, unchanged', w.services, w.slices, false);
    // As an informer delivers it: only the changed slice is a new object.
    const changed = [...w.slices];
    changed[0] = structuredClone(w.slices[0]!);
    changed[0].endpoints.pop();
    await sync('partial, one endpoint removed', w.services, changed, false);
    // A restarted proxy: nothing remembered, the table is read back and rewritten whole.
    syncer = createNftSyncer(nft, opts);
    await sync('restart: full over the existing table', w.services, w.slices, true);
  } finally {
    await nft.deleteTable(table);
  }
  const best = fullRows.slice(1).reduce((a, b) => (b.wall < a.wall ? b : a), fullRows[1] ?? fullRows[0]!);
  rows.push(['full sync (warm), target ≤ 500 ms', `${best.wall.toFixed(0)} ms wall, ${best.cpu.toFixed(0)} ms CPU (${best.wall <= 500 ? 'met' : best.cpu <= 500 ? 'met in CPU time only: the machine is loaded' : 'missed'})`]);
  table_(rows);
}

async function benchSyncIptables(): Promise<void> {
  const nSvc = Number(values.services);
  const nEp = Number(values.endpoints);
  const ipt = hostIptables();
  const prefix = 'SKB-';
  const opts = { nodeName: 'n0', nodeIPs: ['192.0.2.250'], clusterCIDR: '198.19.0.0/16', chainPrefix: prefix };
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
  // Map lookups, as the informer listers are: linear scans would measure the fixture.
  const svcIndex = new Map(w.services.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  const sliceIndex = new Map(w.slices.map((s) => [`${s.metadata?.namespace}/${s.metadata?.labels?.['kubernetes.io/service-name']}`, [s]]));
  const view: ClusterView = {
    service: (ns, name) => svcIndex.get(`${ns}/${name}`),
    slices: (ns, name) => sliceIndex.get(`${ns}/${name}`) ?? [],
    // A fixed version: nothing changes during the run, so the server's answer cache stays valid.
    ...(values['no-cache'] ? {} : { version: () => 0 }),
  };
  const server = await startDnsServer(view, { address: '127.0.0.1', port: 0, upstreams: [] });
  const seconds = Number(values.seconds);
  // The load generator is another process (as a pod would be), so this process's CPU time is the server's.
  const code = `
    const dgram = require('node:dgram');
    const dnsPacket = require(process.argv[1]);
    const [port, seconds, window, names] = process.argv.slice(2).map(Number);
    const sock = dgram.createSocket('udp4');
    sock.connect(port, '127.0.0.1', () => {
      const queries = [];
      for (let i = 0; i < names; i++) queries.push(dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'svc-' + i + '.bench.svc.cluster.local', type: 'A' }] }));
      let sent = 0, got = 0, bad = 0, done = false, atEnd;
      const t0 = Date.now(), end = t0 + seconds * 1000;
      const send = () => { sent++; sock.send(queries[sent % names]); };
      // The rate counts answers up to the deadline; those in flight then are only waited for.
      const finish = () => { if (done) return; done = true; atEnd ??= { got, ms: Date.now() - t0 }; process.stdout.write(JSON.stringify({ got: atEnd.got, ms: atEnd.ms, bad, lost: sent - got })); sock.close(); };
      sock.on('message', (m) => {
        got++;
        if (m.readUInt16BE(6) !== 1) bad++;
        if (Date.now() < end) send(); else { atEnd ??= { got, ms: Date.now() - t0 }; if (got >= sent) finish(); }
      });
      for (let i = 0; i < window; i++) send();
      // Lost datagrams are not resent: the run ends at the deadline plus a grace period whatever is in flight.
      setTimeout(finish, seconds * 1000 + 1000).unref();
    });
  `;
  const steal = stealMeter();
  const c0 = process.cpuUsage();
  const k0 = childCpuMs();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, import.meta.resolve('dns-packet').replace('file://', ''), String(server.port), String(seconds), String(values.window), String(values.names)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  const c = process.cpuUsage(c0);
  const clientCpu = childCpuMs() - k0;
  const cond = conditions(steal);
  await server.close();
  const r = JSON.parse(out) as { got: number; bad: number; ms: number; lost: number };
  const qps = r.got / (r.ms / 1000);
  const serverUs = (c.user + c.system) / r.got;
  table_([
    ['cluster DNS over UDP, loopback', `${values.names} names of 1,000 services, ${values.window} queries in flight, cache ${values['no-cache'] ? 'off' : 'on'}`],
    ['queries answered', `${r.got} in ${(r.ms / 1000).toFixed(1)} s (${r.bad} without exactly one A, ${r.lost} unanswered)`],
    ['server CPU per query', `${serverUs.toFixed(1)} µs → ${(1e6 / serverUs).toFixed(0)} queries/s per core`],
    ['client CPU per query', `${((clientCpu * 1000) / r.got).toFixed(1)} µs`],
    ['conditions', cond],
    ['queries/s, target ≥ 20,000/s', `${qps.toFixed(0)} (${qps >= 20_000 ? 'met' : 1e6 / serverUs >= 20_000 ? 'met by server CPU only: client and server share a loaded machine' : 'missed'})`],
  ]);
}

async function benchHttp(): Promise<void> {
  const lab = new NetLab();
  const prefix = `SKH${lab.id}-`;
  const table = `skhttp${lab.id}`;
  const backendMode = values.mode === 'both' ? 'nftables' : values.mode;
  if (backendMode !== 'nftables' && backendMode !== 'iptables') throw new Error(`unknown mode ${backendMode}: use nftables or iptables`);
  const ipt = hostIptables();
  const nft = hostNft();
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
    const sl: EndpointSlice = { metadata: { name: 'web-1', namespace: 'bench', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [backend.ip], nodeName: 'n1', conditions: { ready: true } }] };
    if (backendMode === 'nftables') {
      // The proxy's default backend, through the same syncer; the table only matches the bench's ClusterIP.
      await createNftSyncer(nft, { nodeName: 'n1', nodeIPs: [], table }).sync([svc], [sl], { full: true });
    } else {
      await ipt.restore(renderRestore(buildProxyRules([svc], [sl], { nodeName: 'n1', nodeIPs: [], chainPrefix: prefix })));
      for (const j of jumpRules({ chainPrefix: prefix })) await ipt.run(['-t', j.table, '-I', j.chain, ...j.args]);
    }
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
    // Interleaved rounds, so that a change of load on the machine hits both sides alike.
    const direct: number[] = [];
    const viaSvc: number[] = [];
    let fails = 0;
    const steal = stealMeter();
    for (let i = 0; i < Number(values.rounds); i++) {
      const d = await run(`http://${backend.ip}:8080/`);
      const v = await run(`http://${clusterIP}/`);
      direct.push(d.n);
      viaSvc.push(v.n);
      fails += d.fail + v.fail;
    }
    const secs = Number(values.seconds);
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    const ratio = sum(viaSvc) / Math.max(1, sum(direct));
    table_([
      ['HTTP, new connection per request', `${values.rounds} interleaved rounds of ${secs} s, ${values.concurrency} concurrent, proxy backend ${backendMode}`],
      ['pod IP req/s per round', direct.map((n) => (n / secs).toFixed(0)).join(', ')],
      ['ClusterIP req/s per round', viaSvc.map((n) => (n / secs).toFixed(0)).join(', ')],
      ['failed requests', String(fails)],
      ['conditions', conditions(steal)],
      ['ClusterIP / pod IP, target ≥ 0.9', `${ratio.toFixed(3)} (${ratio >= 0.9 ? 'met' : 'missed'})`],
    ]);
  } finally {
    if (backendMode === 'nftables') await nft.deleteTable(table).catch(() => false);
    else await cleanupProxyRules({ chainPrefix: prefix, nftTable: table }).catch(() => undefined);
    await lab.destroy();
  }
}

const mode = positionals[0] ?? 'sync';
if (mode === 'sync') await benchSync();
else if (mode === 'dns') await benchDns();
else if (mode === 'http') await benchHttp();
else throw new Error(`unknown benchmark ${mode}: use sync, dns or http`);
