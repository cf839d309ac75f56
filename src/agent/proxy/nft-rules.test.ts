import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { buildNftRules, parseNftNames, renderNft } from './nft-rules.ts';
import { chainName } from './rules.ts';
import { hostNft, nftAvailable } from './nft.ts';

function svc(name: string, spec: Service['spec']): Service {
  return { metadata: { name, namespace: 'default' }, spec };
}

function slice(svcName: string, ips: { ip: string; ready?: boolean; node?: string }[], proto = 'TCP'): EndpointSlice {
  return {
    metadata: { name: `${svcName}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: proto }],
    endpoints: ips.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, ...(e.node ? { nodeName: e.node } : {}) })),
  };
}

const opts = { nodeName: 'n1', nodeIPs: ['192.0.2.10'], clusterCIDR: '10.42.0.0/16' };
const web = svc('web', { type: 'NodePort', clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }] });

test('a plain service is map elements only: a shared lb chain picks one of n endpoints', () => {
  const r = buildNftRules([web], [slice('web', [{ ip: '10.42.0.7' }, { ip: '10.42.0.5' }, { ip: '10.42.0.6' }])], opts);
  assert.equal(r.sets.get('service-ips')!.elements.get('10.43.0.20 . tcp . 80'), 'goto lb-tcp-3');
  const eps = r.sets.get('service-endpoints-tcp')!.elements;
  assert.deepEqual([0, 1, 2].map((i) => eps.get(`10.43.0.20 . 80 . ${i}`)), ['10.42.0.5 . 8080', '10.42.0.6 . 8080', '10.42.0.7 . 8080']);
  assert.deepEqual(r.chains.get('lb-tcp-3')!.rules, ['meta l4proto tcp dnat ip to ip daddr . tcp dport . numgen random mod 3 map @service-endpoints-tcp']);
  assert.equal(r.sets.get('service-endpoints-udp')!.elements.size, 0, 'UDP endpoints live in their own map');
  // NodePort (Cluster policy): masquerade, then the same balancing keyed by the node address.
  assert.equal(r.sets.get('service-nodeports')!.elements.get('tcp . 30080'), 'goto ext-tcp-3');
  assert.equal(eps.get('192.0.2.10 . 30080 . 2'), '10.42.0.7 . 8080');
  assert.deepEqual(r.chains.get('ext-tcp-3')!.rules, ['jump mark-for-masquerade', 'goto lb-tcp-3']);
  assert.ok(r.sets.get('hairpin')!.elements.has('10.42.0.6 . 10.42.0.6'));
  assert.ok(![...r.chains.keys()].some((c) => c.startsWith('svc-') || c.startsWith('ep-')), 'no per-service chain');
  assert.equal(r.servicePorts, 1);
});

test('a service without ready endpoints is rejected; headless and ExternalName get nothing', () => {
  const r = buildNftRules([web, svc('h', { clusterIP: 'None', ports: [{ port: 80 }] }), svc('x', { type: 'ExternalName', externalName: 'example.org' })],
    [slice('web', [{ ip: '10.42.0.5', ready: false }])], opts);
  assert.equal(r.sets.get('no-endpoint-services')!.elements.get('10.43.0.20 . tcp . 80'), 'goto reject-chain');
  assert.equal(r.sets.get('no-endpoint-nodeports')!.elements.get('tcp . 30080'), 'goto reject-chain');
  assert.equal(r.sets.get('service-ips')!.elements.size, 0);
  assert.equal(r.servicePorts, 1);
});

test('ClientIP affinity and Local policies get per-service and per-endpoint chains', () => {
  const aff = svc('web', { ...web.spec, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, externalTrafficPolicy: 'Local' });
  const r = buildNftRules([aff], [slice('web', [{ ip: '10.42.0.5', node: 'n1' }, { ip: '10.42.1.5', node: 'n2' }])], opts);
  const id = 'default/web:http/tcp';
  const svcChain = chainName('', 'svc', id);
  const epLocal = chainName('', 'ep', `${id}/10.42.0.5:8080`);
  const epRemote = chainName('', 'ep', `${id}/10.42.1.5:8080`);
  assert.equal(r.sets.get('service-ips')!.elements.get('10.43.0.20 . tcp . 80'), `goto ${svcChain}`);
  const rules = r.chains.get(svcChain)!.rules;
  assert.equal(rules.filter((l) => l.startsWith('ip saddr @aff-')).length, 2);
  assert.match(rules.at(-1)!, /^numgen random mod 2 vmap \{ 0 : goto ep-\w+, 1 : goto ep-\w+ \}$/);
  const affSet = [...r.sets].find(([n]) => n.startsWith('aff-'))!;
  assert.match(affSet[1].spec, /timeout 60s/);
  assert.equal(affSet[1].dynamic, true);
  assert.deepEqual(r.chains.get(epLocal)!.rules.at(-1), 'meta l4proto tcp dnat ip to 10.42.0.5:8080');
  const ext = r.chains.get(chainName('', 'ext', id))!.rules;
  assert.equal(ext[0], `ip saddr 10.42.0.0/16 goto ${svcChain}`, 'pods short-circuit to the cluster chain');
  assert.ok(ext.some((l) => l.includes(epLocal)) && !ext.some((l) => l.includes(epRemote)), 'Local reaches local endpoints only');
  assert.ok(!ext.includes('jump mark-for-masquerade'), 'Local keeps the client address');
});

test('the cluster DNS address is redirected to the local DNS port, which answers nothing else from outside', () => {
  const r = buildNftRules([], [], { ...opts, localDns: { ip: '10.43.0.10', port: 40053 } });
  assert.equal(r.chains.get('services')!.rules[0], 'ip daddr 10.43.0.10 meta l4proto { tcp, udp } th dport 53 redirect to :40053');
  assert.match(r.chains.get('filter-input')!.rules[0]!, /th dport 40053 ct status & dnat == 0 drop$/);
});

test('a partial sync touches only what changed and deletes what is gone', () => {
  const r1 = buildNftRules([web], [slice('web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }])], opts);
  const same = renderNft(buildNftRules([web], [slice('web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }])], opts), { previous: r1 });
  assert.equal(same, 'add table ip skiff\n', 'nothing changed: an empty transaction');
  const r2 = buildNftRules([web], [slice('web', [{ ip: '10.42.0.5' }])], opts);
  const text = renderNft(r2, { previous: r1 });
  assert.ok(text.includes('delete element ip skiff service-endpoints-tcp { 10.43.0.20 . 80 . 1, 192.0.2.10 . 30080 . 1 }'));
  assert.ok(text.includes('add element ip skiff service-ips { 10.43.0.20 . tcp . 80 : goto lb-tcp-1 }'));
  assert.ok(text.includes('add rule ip skiff lb-tcp-1 meta l4proto tcp dnat'));
  assert.ok(text.indexOf('delete chain ip skiff lb-tcp-2') > text.indexOf('add element ip skiff service-ips'), 'lb-tcp-2 is deleted after nothing points at it');
  assert.ok(!text.includes('flush chain ip skiff services'), 'unchanged chains are left alone');
});

test('a full sync flushes every chain and map but never the affinity sets, and deletes objects of earlier runs', () => {
  const aff = svc('a', { clusterIP: '10.43.0.21', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80 }] });
  const r = buildNftRules([aff], [slice('a', [{ ip: '10.42.0.7' }])], opts);
  const text = renderNft(r, { existing: { chains: new Set(['svc-OLD', 'services']), sets: new Map([['aff-OLD', 'set' as const]]) } });
  const affName = [...r.sets.keys()].find((n) => n.startsWith('aff-'))!;
  assert.ok(text.includes(`add set ip skiff ${affName} {`));
  assert.ok(!text.includes(`flush set ip skiff ${affName}`));
  assert.ok(text.includes('flush map ip skiff service-ips'));
  assert.ok(text.includes('flush chain ip skiff svc-OLD') && text.trimEnd().endsWith('delete set ip skiff aff-OLD'));
  assert.ok(text.indexOf('delete chain ip skiff svc-OLD') > text.indexOf('flush chain ip skiff svc-OLD'));
  assert.ok(!text.includes('delete chain ip skiff services'));
  assert.deepEqual(parseNftNames('table ip skiff {\n\tmap service-ips {\n\t\ttype x\n\t}\n\tset hairpin {\n\t}\n\tchain lb-2 {\n\t}\n}\n'),
    { chains: new Set(['lb-2']), sets: new Map([['service-ips', 'map'], ['hairpin', 'set']]) });
});

test('nft accepts the full and partial batches, and the table is read back', async (t) => {
  if (process.getuid?.() !== 0 || !(await nftAvailable())) {
    t.skip('needs root and nft');
    return;
  }
  const nft = hostNft();
  const table = `sktest${randomBytes(3).toString('hex')}`;
  const o = { ...opts, table, localDns: { ip: '10.43.0.10', port: 40053 } };
  const aff = svc('a', { clusterIP: '10.43.0.21', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80 }] });
  try {
    const udp = svc('u', { clusterIP: '10.43.0.23', ports: [{ name: 'http', port: 53, protocol: 'UDP' }] });
    const r1 = buildNftRules([web, aff, udp], [slice('web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }]), slice('a', [{ ip: '10.42.0.7' }]), slice('u', [{ ip: '10.42.0.8' }, { ip: '10.42.0.9' }], 'UDP')], o);
    assert.equal(r1.sets.get('service-endpoints-udp')!.elements.get('10.43.0.23 . 53 . 1'), '10.42.0.9 . 8080');
    assert.equal(r1.sets.get('service-ips')!.elements.get('10.43.0.23 . udp . 53'), 'goto lb-udp-2');
    await nft.apply(renderNft(r1, { existing: { chains: new Set(), sets: new Map() } }));
    const r2 = buildNftRules([web], [slice('web', [{ ip: '10.42.0.5' }])], o);
    await nft.apply(renderNft(r2, { previous: r1 }));
    const names = await nft.names(table);
    assert.ok(names);
    assert.deepEqual([...names.chains].sort(), [...r2.chains.keys()].sort());
    assert.deepEqual([...names.sets.keys()].sort(), [...r2.sets.keys()].sort());
    // A full sync over the same table (as after a restart) is accepted too.
    await nft.apply(renderNft(r1, { existing: names }));
    await assert.rejects(nft.apply(`add rule ip ${table} services bogus`));
  } finally {
    assert.equal(await nft.deleteTable(table), true);
  }
  assert.equal(await nft.names(table), undefined);
});

test('only this node\'s endpoints (or those without a node) are hairpin candidates', () => {
  const r = buildNftRules([web], [slice('web', [{ ip: '10.42.0.5', node: 'n1' }, { ip: '10.42.1.5', node: 'n2' }, { ip: '10.42.2.5' }])], opts);
  assert.deepEqual([...r.sets.get('hairpin')!.elements.keys()].sort(), ['10.42.0.5 . 10.42.0.5', '10.42.2.5 . 10.42.2.5']);
  assert.equal(r.sets.get('service-endpoints-tcp')!.elements.get('10.43.0.20 . 80 . 1'), '10.42.1.5 . 8080', 'remote endpoints are still balanced to');
});

test('per-service results are reused only while the Service, its slices and the node options are the same objects', () => {
  const svcs = [web, svc('api', { clusterIP: '10.43.0.22', ports: [{ name: 'http', port: 80 }] })];
  const slices = [slice('web', [{ ip: '10.42.0.5', node: 'n1' }, { ip: '10.42.1.5', node: 'n2' }]), slice('api', [{ ip: '10.42.0.9' }])];
  const flat = (r: ReturnType<typeof buildNftRules>): unknown => [[...r.chains].map(([n, c]) => [n, c.rules]), [...r.sets].map(([n, s]) => [n, [...s.elements]]), r.servicePorts];
  const first = buildNftRules(svcs, slices, opts);
  assert.deepEqual(flat(buildNftRules(svcs, slices, opts)), flat(first), 'same objects: same table');
  assert.deepEqual(flat(buildNftRules(structuredClone(svcs), structuredClone(slices), opts)), flat(first), 'fresh copies: same table');
  // A new slice object for web (one endpoint gone) changes web's elements; api's stay.
  const changed = [slice('web', [{ ip: '10.42.0.5', node: 'n1' }]), slices[1]!];
  const r2 = buildNftRules(svcs, changed, opts);
  assert.equal(r2.sets.get('service-ips')!.elements.get('10.43.0.20 . tcp . 80'), 'goto lb-tcp-1');
  assert.equal(r2.sets.get('service-endpoints-tcp')!.elements.get('10.43.0.20 . 80 . 1'), undefined);
  assert.equal(r2.sets.get('service-endpoints-tcp')!.elements.get('10.43.0.22 . 80 . 0'), '10.42.0.9 . 8080');
  // Other node options: the same objects give that node's view (n2's endpoint hairpins there, n1's does not).
  const onN2 = buildNftRules(svcs, slices, { ...opts, nodeName: 'n2', nodeIPs: ['192.0.2.11'] });
  assert.ok(onN2.sets.get('hairpin')!.elements.has('10.42.1.5 . 10.42.1.5') && !onN2.sets.get('hairpin')!.elements.has('10.42.0.5 . 10.42.0.5'));
  assert.equal(onN2.sets.get('service-endpoints-tcp')!.elements.get('192.0.2.11 . 30080 . 0'), '10.42.0.5 . 8080');
});

test('names are read from one table of a family-wide listing', () => {
  const listing = 'table ip filter {\n\tchain OUTPUT {\n\t}\n}\ntable ip skiff {\n\tchain services {\n\t}\n\tmap service-ips {\n\t}\n}\ntable ip other {\n\tchain lb-2 {\n\t}\n}\n';
  assert.deepEqual(parseNftNames(listing, { table: 'skiff' }), { chains: new Set(['services']), sets: new Map([['service-ips', 'map']]) });
});
