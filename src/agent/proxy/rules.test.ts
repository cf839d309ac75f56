import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { buildProxyRules, chainName, endpointsForPort, probability, renderRestore } from './rules.ts';
import { chainsWithPrefix, hostIptables } from './iptables.ts';

function svc(name: string, spec: Service['spec']): Service {
  return { metadata: { name, namespace: 'default' }, spec };
}

function slice(name: string, svcName: string, ips: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; node?: string }[], ports = [{ name: 'http', port: 8080 }]): EndpointSlice {
  return {
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
    endpoints: ips.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.node ? { nodeName: e.node } : {}),
    })),
  };
}

const web = svc('web', { type: 'ClusterIP', clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] });
const opts = { nodeName: 'n1', nodeIPs: ['192.0.2.10'], clusterCIDR: '10.42.0.0/16' };

test('chain names are stable, prefixed and fit iptables limits', () => {
  const a = chainName('SKIFF-', 'SVC', 'default/web:http/tcp');
  assert.equal(a, chainName('SKIFF-', 'SVC', 'default/web:http/tcp'));
  assert.notEqual(a, chainName('SKIFF-', 'SVC', 'default/web:https/tcp'));
  assert.match(a, /^SKIFF-SVC-[A-Z2-7]{16}$/);
  assert.ok(chainName('SKT12345-', 'SEP', 'x').length <= 28);
});

test('three ready endpoints are balanced evenly with 1/3, 1/2, then the rest', () => {
  const r = buildProxyRules([web], [slice('web-a', 'web', [{ ip: '10.42.0.7' }, { ip: '10.42.0.5' }, { ip: '10.42.0.6' }])], opts);
  const svcChain = chainName('SKIFF-', 'SVC', 'default/web:http/tcp');
  assert.ok(r.nat.some((l) => l.includes('-d 10.43.0.20/32 -p tcp -m tcp --dport 80') && l.endsWith(`-j ${svcChain}`)));
  const jumps = r.nat.filter((l) => l.startsWith(`-A ${svcChain} `));
  assert.equal(jumps.length, 3);
  assert.match(jumps[0]!, new RegExp(`--probability ${probability(3)} `));
  assert.match(jumps[1]!, new RegExp(`--probability ${probability(2)} `));
  assert.doesNotMatch(jumps[2]!, /statistic/);
  const dnats = r.nat.filter((l) => l.includes('DNAT'));
  assert.deepEqual(dnats.map((l) => l.split('--to-destination ')[1]), ['10.42.0.5:8080', '10.42.0.6:8080', '10.42.0.7:8080']);
  // hairpin: each endpoint masquerades only its own traffic
  assert.equal(r.nat.filter((l) => /-s 10\.42\.0\.\d\/32 -j SKIFF-MARK-MASQ/.test(l)).length, 3);
  assert.equal(r.filter.length, 1, 'no reject rules when endpoints exist');
});

test('terminating endpoints receive no new traffic while a ready one exists, and are used when none is', () => {
  const port = web.spec!.ports![0]!;
  const mixed = endpointsForPort([slice('s', 'web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6', ready: false, serving: true, terminating: true }])], port);
  assert.deepEqual(mixed.map((e) => e.ip), ['10.42.0.5']);
  const onlyTerm = endpointsForPort([slice('s', 'web', [{ ip: '10.42.0.6', ready: false, serving: true, terminating: true }, { ip: '10.42.0.9', ready: false, serving: false }])], port);
  assert.deepEqual(onlyTerm.map((e) => e.ip), ['10.42.0.6']);
});

test('a service without endpoints is rejected in the filter table', () => {
  const r = buildProxyRules([web], [], opts);
  assert.ok(r.filter.some((l) => l.includes('-d 10.43.0.20/32') && l.includes('REJECT')));
  assert.ok(!r.nat.some((l) => l.includes('10.43.0.20')));
});

test('headless and ExternalName services get no rules', () => {
  const r = buildProxyRules([
    svc('h', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }),
    svc('x', { type: 'ExternalName', externalName: 'example.com' }),
  ], [slice('h1', 'h', [{ ip: '10.42.0.5' }])], opts);
  assert.equal(r.servicePorts, 0);
  assert.equal(r.nat.filter((l) => l.includes('DNAT')).length, 0);
});

test('ClientIP affinity uses recent with the configured timeout', () => {
  const s = svc('web', { ...web.spec, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
  const r = buildProxyRules([s], [slice('a', 'web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }])], opts);
  assert.equal(r.nat.filter((l) => l.includes('--rcheck --seconds 60 --reap')).length, 2);
  assert.equal(r.nat.filter((l) => l.includes('-m recent --name') && l.includes('--set') && l.includes('DNAT')).length, 2);
});

test('NodePort: Cluster policy masquerades; Local policy only reaches local endpoints', () => {
  const np = svc('np', { type: 'NodePort', clusterIP: '10.43.0.30', ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }] });
  const eps = slice('np1', 'np', [{ ip: '10.42.0.5', node: 'n1' }, { ip: '10.42.1.5', node: 'n2' }]);
  const r = buildProxyRules([np], [eps], opts);
  const ext = chainName('SKIFF-', 'EXT', 'default/np:http/tcp');
  assert.ok(r.nat.some((l) => l.includes('-d 192.0.2.10/32 -p tcp -m tcp --dport 30080') && l.endsWith(`-j ${ext}`)));
  assert.ok(r.nat.includes(`-A ${ext} -m comment --comment "masquerade traffic for default/np:http external destinations" -j SKIFF-MARK-MASQ`));

  const local = svc('np', { ...np.spec, externalTrafficPolicy: 'Local' });
  const rl = buildProxyRules([local], [eps], opts);
  const extRules = rl.nat.filter((l) => l.startsWith(`-A ${ext} `));
  assert.ok(!extRules.some((l) => l.includes('MARK-MASQ')), 'Local keeps the client source');
  assert.ok(extRules.some((l) => l.includes('-s 10.42.0.0/16')), 'pods short-circuit to the cluster chain');
  const sepLocal = chainName('SKIFF-', 'SEP', 'default/np:http/tcp/10.42.0.5:8080');
  const sepRemote = chainName('SKIFF-', 'SEP', 'default/np:http/tcp/10.42.1.5:8080');
  assert.ok(extRules.some((l) => l.endsWith(`-j ${sepLocal}`)));
  assert.ok(!extRules.some((l) => l.endsWith(`-j ${sepRemote}`)));

  const rn = buildProxyRules([local], [eps], { ...opts, nodeName: 'n3' });
  assert.ok(rn.nat.some((l) => l.startsWith(`-A ${ext} `) && l.endsWith('-j DROP')), 'no local endpoint: dropped');
});

test('renderRestore deletes stale chains and is accepted by iptables-restore --test', async (t) => {
  const r = buildProxyRules([web], [slice('a', 'web', [{ ip: '10.42.0.5' }])], opts);
  const text = renderRestore(r, { nat: ['SKIFF-SVC-OLDOLDOLDOLDOLD', ...r.natChains] });
  assert.ok(text.includes(':SKIFF-SVC-OLDOLDOLDOLDOLD - [0:0]\n'));
  assert.ok(text.includes('-X SKIFF-SVC-OLDOLDOLDOLDOLD\n'));
  assert.ok(!text.includes(`-X ${[...r.natChains][0]!}`));
  assert.deepEqual(chainsWithPrefix(text, 'SKIFF-SVC-OLD'), ['SKIFF-SVC-OLDOLDOLDOLDOLD']);
  try {
    execFileSync('iptables-restore', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('iptables-restore not installed');
    return;
  }
  if (process.getuid?.() !== 0) {
    t.skip('needs root');
    return;
  }
  // Without the stale chain (which does not exist on the host), the batch must parse and check cleanly.
  await hostIptables().restore(renderRestore(r), { test: true });
  await assert.rejects(hostIptables().restore('*nat\n:SKTEST-X - [0:0]\n-A SKTEST-X --bogus\nCOMMIT\n', { test: true }));
});

test('a partial sync rewrites only the chains that changed and deletes the stale ones', () => {
  const full = slice('a', 'web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }]);
  const r1 = buildProxyRules([web], [full], opts);
  const same = renderRestore(buildProxyRules([web], [full], opts), { nat: r1.natChains }, { previous: r1 });
  const natPart = same.slice(same.indexOf('*nat'));
  assert.equal(natPart, '*nat\nCOMMIT\n', 'nothing changed: no nat chain is touched');

  const r2 = buildProxyRules([web], [slice('a', 'web', [{ ip: '10.42.0.5' }])], opts);
  const text = renderRestore(r2, { nat: r1.natChains }, { previous: r1 });
  const svcChain = chainName('SKIFF-', 'SVC', 'default/web:http/tcp');
  const goneSep = chainName('SKIFF-', 'SEP', 'default/web:http/tcp/10.42.0.6:8080');
  const keptSep = chainName('SKIFF-', 'SEP', 'default/web:http/tcp/10.42.0.5:8080');
  assert.ok(text.includes(`:${svcChain} - [0:0]\n`), 'the service chain is rewritten');
  assert.ok(text.includes(`-X ${goneSep}\n`), 'the removed endpoint chain is deleted');
  assert.ok(!text.includes(`:${keptSep} `), 'the unchanged endpoint chain is left alone');
  assert.ok(!text.slice(text.indexOf('*nat')).includes(':SKIFF-SERVICES '), 'the unchanged dispatch chain is left alone');
});

test('the cluster DNS address is redirected to the local DNS port, guarded against outside traffic', async (t) => {
  const r = buildProxyRules([web], [slice('a', 'web', [{ ip: '10.42.0.5' }])], { ...opts, localDns: { ip: '10.43.0.10', port: 40053 } });
  const redirects = r.nat.filter((l) => l.includes('REDIRECT'));
  assert.deepEqual(redirects, ['udp', 'tcp'].map((p) => `-A SKIFF-SERVICES -m comment --comment "cluster dns" -d 10.43.0.10/32 -p ${p} -m ${p} --dport 53 -j REDIRECT --to-ports 40053`));
  assert.ok(r.nat.indexOf(redirects[0]!) < r.nat.findIndex((l) => l.includes('10.43.0.20')), 'before any service rule');
  assert.equal(r.filter.filter((l) => l.includes('--dport 40053 -m conntrack ! --ctstate DNAT -j DROP') && l.includes('! -i lo')).length, 2);
  if (process.getuid?.() !== 0) {
    t.skip('needs root');
    return;
  }
  try {
    execFileSync('iptables-restore', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('iptables-restore not installed');
    return;
  }
  await hostIptables().restore(renderRestore(r), { test: true });
});
