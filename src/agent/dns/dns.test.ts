import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import * as dnsPacket from 'dns-packet';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { ClusterView } from './records.ts';
import type { Answer } from 'dns-packet';
import { resolveInZone } from './records.ts';
import { startDnsServer } from './server.ts';
import { podResolvConf, upstreamsFromResolvConf } from './resolv-conf.ts';

const dataOf = (a: Answer): unknown => (a as { data?: unknown }).data;

const svcs: Service[] = [
  { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
  { metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] } },
  { metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.org' } },
];
const slices: EndpointSlice[] = [{
  metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
  addressType: 'IPv4',
  ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
  endpoints: [
    { addresses: ['10.42.0.9'], hostname: 'db-0', conditions: { ready: true } },
    { addresses: ['10.42.0.8'], conditions: { ready: true } },
    { addresses: ['10.42.0.7'], conditions: { ready: false } },
  ],
}];
const view: ClusterView = {
  service: (ns, name) => svcs.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
  slices: (ns, name) => slices.filter((s) => s.metadata?.namespace === ns && s.metadata?.labels?.['kubernetes.io/service-name'] === name),
};

test('A records: ClusterIP, headless ready endpoints, hostnames, pods', () => {
  assert.deepEqual(resolveInZone('web.default.svc.cluster.local', 'A', view).answers.map((a) => dataOf(a)), ['10.43.0.20']);
  assert.deepEqual(resolveInZone('DB.default.svc.cluster.local.', 'A', view).answers.map((a) => dataOf(a)), ['10.42.0.8', '10.42.0.9']);
  assert.deepEqual(resolveInZone('db-0.db.default.svc.cluster.local', 'A', view).answers.map((a) => dataOf(a)), ['10.42.0.9']);
  assert.deepEqual(resolveInZone('10-42-0-8.db.default.svc.cluster.local', 'A', view).answers.map((a) => dataOf(a)), ['10.42.0.8']);
  assert.deepEqual(resolveInZone('10-42-0-5.default.pod.cluster.local', 'A', view).answers.map((a) => dataOf(a)), ['10.42.0.5']);
  assert.equal(resolveInZone('nope.default.svc.cluster.local', 'A', view).rcode, 'NXDOMAIN');
  assert.equal(resolveInZone('web.other.svc.cluster.local', 'A', view).rcode, 'NXDOMAIN');
  const aaaa = resolveInZone('web.default.svc.cluster.local', 'AAAA', view);
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.equal(aaaa.answers.length, 0);
});

test('SRV for named ports, CNAME for ExternalName', () => {
  const srv = resolveInZone('_http._tcp.web.default.svc.cluster.local', 'SRV', view);
  assert.deepEqual(srv.answers.map((a) => dataOf(a)), [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
  const hs = resolveInZone('_pg._tcp.db.default.svc.cluster.local', 'SRV', view);
  assert.deepEqual(hs.answers.map((a) => (dataOf(a) as { target: string }).target).sort(), ['10-42-0-8.db.default.svc.cluster.local', 'db-0.db.default.svc.cluster.local']);
  assert.equal(resolveInZone('_nope._tcp.web.default.svc.cluster.local', 'SRV', view).rcode, 'NXDOMAIN');
  const c = resolveInZone('ext.default.svc.cluster.local', 'A', view);
  assert.deepEqual(c.answers, [{ name: 'ext.default.svc.cluster.local', type: 'CNAME', ttl: 5, data: 'example.org' }]);
});

test('the server answers over UDP and TCP, SERVFAILs outside names at once, FORMERRs garbage and keeps going', async () => {
  const server = await startDnsServer(view, { address: '127.0.0.1', port: 0, upstreams: [] });
  try {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), ['10.43.0.20']);
    assert.deepEqual((await r.resolve4('db.default.svc.cluster.local')).sort(), ['10.42.0.8', '10.42.0.9']);
    assert.deepEqual(await r.resolveSrv('_http._tcp.web.default.svc.cluster.local'), [{ name: 'web.default.svc.cluster.local', port: 80, priority: 0, weight: 100 }]);
    await assert.rejects(r.resolve4('missing.default.svc.cluster.local'), { code: 'ENOTFOUND' });
    const t0 = Date.now();
    await assert.rejects(r.resolve4('example.invalid'), { code: 'ESERVFAIL' });
    assert.ok(Date.now() - t0 < 1000, 'outside names are answered without waiting');

    // garbage over UDP: FORMERR with the same id
    const sock = dgram.createSocket('udp4');
    const got = new Promise<Buffer>((res) => sock.once('message', res));
    sock.send(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0xff]), server.port, '127.0.0.1');
    const fe = await got;
    sock.close();
    assert.equal(fe.readUInt16BE(0), 0x1234);
    assert.equal(fe[3]! & 0xf, 1, 'FORMERR');
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), ['10.43.0.20'], 'still answering');

    // TCP, length-prefixed
    const q = dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'web.default.svc.cluster.local', type: 'A' }] });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    const c = net.connect(server.port, '127.0.0.1');
    const data = await new Promise<Buffer>((res, rej) => {
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) res(buf.subarray(2));
      });
      c.on('error', rej);
      c.write(Buffer.concat([len, q]));
    });
    c.destroy();
    const resp = dnsPacket.decode(data);
    assert.equal(resp.id, 7);
    assert.ok(resp.flag_aa);
    assert.deepEqual(resp.answers?.map((a) => dataOf(a)), ['10.43.0.20']);
  } finally {
    await server.close();
  }
});

test('names outside the zone are forwarded to upstreams', async () => {
  const upstream = await startDnsServer({ service: () => undefined, slices: () => [] }, { address: '127.0.0.1', port: 0, zone: 'example.test' });
  const server = await startDnsServer(view, { address: '127.0.0.1', port: 0, upstreams: [`127.0.0.1:${upstream.port}`] });
  try {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    // The upstream is authoritative for example.test: 10-1-2-3.x.pod.example.test comes back through the forwarder.
    assert.deepEqual(await r.resolve4('10-1-2-3.x.pod.example.test'), ['10.1.2.3']);
  } finally {
    await server.close();
    await upstream.close();
  }
});

test('resolv.conf follows dnsPolicy and dnsConfig', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch corp.example\noptions edns0\n';
  const o = { clusterDNS: ['10.43.0.10'], hostResolvConf: host };
  assert.equal(podResolvConf({ metadata: { namespace: 'team' }, spec: { containers: [] } }, o),
    'search team.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.43.0.10\noptions ndots:5\n');
  assert.equal(podResolvConf({ metadata: { namespace: 'team' }, spec: { containers: [], dnsPolicy: 'Default' } }, o),
    'search corp.example\nnameserver 192.0.2.1\noptions edns0\n');
  assert.equal(podResolvConf({ metadata: { namespace: 'team' }, spec: { containers: [], dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }] } } }, o),
    'search a.b\nnameserver 1.2.3.4\noptions ndots:2 rotate\n');
  assert.match(podResolvConf({ metadata: { namespace: 'x' }, spec: { containers: [], dnsConfig: { options: [{ name: 'ndots', value: '1' }] } } }, o), /options ndots:1\n$/);
  assert.deepEqual(upstreamsFromResolvConf(host, ['127.0.0.53']), ['192.0.2.1']);
});

test('answers are cached per question until the view changes; views without a version are never cached', async () => {
  const ips = ['10.43.0.30'];
  let version = 1;
  const svc = (): Service => ({ metadata: { name: 'c', namespace: 'default' }, spec: { clusterIP: ips[0], ports: [{ port: 80 }] } });
  let lookups = 0;
  const counted = (withVersion: boolean): ClusterView => ({
    service: (ns, name) => {
      lookups++;
      return ns === 'default' && name === 'c' ? svc() : undefined;
    },
    slices: () => [],
    ...(withVersion ? { version: () => version } : {}),
  });
  const ask = async (port: number, id: number): Promise<dnsPacket.DecodedPacket> => {
    const sock = dgram.createSocket('udp4');
    try {
      const got = new Promise<Buffer>((res) => sock.once('message', res));
      sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'c.default.svc.cluster.local', type: 'A' }] }), port, '127.0.0.1');
      return dnsPacket.decode(await got);
    } finally {
      sock.close();
    }
  };
  const cached = await startDnsServer(counted(true), { address: '127.0.0.1', port: 0, upstreams: [] });
  try {
    const a = await ask(cached.port, 1);
    const b = await ask(cached.port, 2);
    assert.equal(a.id, 1);
    assert.equal(b.id, 2, 'a cached answer carries the id of its query');
    assert.deepEqual(b.answers?.map((x) => dataOf(x)), ['10.43.0.30']);
    assert.equal(lookups, 1, 'the second answer came from the cache');
    ips[0] = '10.43.0.31';
    assert.deepEqual((await ask(cached.port, 3)).answers?.map((x) => dataOf(x)), ['10.43.0.30'], 'same version: still cached');
    version++;
    assert.deepEqual((await ask(cached.port, 4)).answers?.map((x) => dataOf(x)), ['10.43.0.31'], 'a new version drops the cache');
  } finally {
    await cached.close();
  }
  lookups = 0;
  const plain = await startDnsServer(counted(false), { address: '127.0.0.1', port: 0, upstreams: [] });
  try {
    await ask(plain.port, 5);
    ips[0] = '10.43.0.32';
    assert.deepEqual((await ask(plain.port, 6)).answers?.map((x) => dataOf(x)), ['10.43.0.32']);
    assert.equal(lookups, 2);
  } finally {
    await plain.close();
  }
});
