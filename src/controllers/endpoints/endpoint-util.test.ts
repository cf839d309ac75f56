import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { computeSubsets, findPort, truncateSubsets } from './endpoint-util.ts';
import { endpointFromUrl } from './kubernetes-service.ts';

function pod(name: string, ip: string, o: { ready?: boolean; port?: number; hostname?: string; phase?: string; deleting?: boolean } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: name, deletionTimestamp: o.deleting ? '2030-01-01T00:00:00Z' : undefined },
    spec: { nodeName: 'n1', hostname: o.hostname, subdomain: o.hostname ? 'svc' : undefined, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: o.port ?? 8080 }] }] },
    status: { phase: o.phase ?? 'Running', podIP: ip, conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}
const svc = (o: Partial<NonNullable<Service['spec']>> = {}): Service => ({ metadata: { name: 'svc', namespace: 'ns' }, spec: { clusterIP: '10.43.0.1', selector: { a: 'b' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }], ...o } });

describe('Endpoints subsets', () => {
  it('resolves named target ports and separates not-ready addresses', () => {
    const subsets = computeSubsets(svc(), [pod('a', '10.0.0.2'), pod('b', '10.0.0.1'), pod('c', '10.0.0.3', { ready: false })]);
    assert.equal(subsets.length, 1);
    assert.deepEqual(subsets[0]!.addresses?.map((a) => a.ip), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(subsets[0]!.notReadyAddresses?.map((a) => a.ip), ['10.0.0.3']);
    assert.deepEqual(subsets[0]!.ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(subsets[0]!.addresses?.[0]?.targetRef, { kind: 'Pod', namespace: 'ns', name: 'b', uid: 'b' });
  });
  it('one subset per distinct port set; terminal, IP-less and (unless published) terminating pods left out', () => {
    const subsets = computeSubsets(svc(), [pod('a', '10.0.0.1'), pod('b', '10.0.0.2', { port: 9090 }), pod('c', '10.0.0.3', { phase: 'Succeeded' }), pod('d', ''), pod('e', '10.0.0.5', { deleting: true })]);
    assert.deepEqual(subsets.map((s) => [s.addresses?.map((a) => a.ip), s.ports?.[0]?.port]), [[['10.0.0.1'], 8080], [['10.0.0.2'], 9090]]);
    const published = computeSubsets(svc({ publishNotReadyAddresses: true }), [pod('c', '10.0.0.3', { ready: false }), pod('e', '10.0.0.5', { deleting: true })]);
    assert.deepEqual(published[0]!.addresses?.map((a) => a.ip), ['10.0.0.3', '10.0.0.5']);
  });
  it('headless services without ports list addresses with hostnames', () => {
    const subsets = computeSubsets(svc({ clusterIP: 'None', ports: [] }), [pod('a', '10.0.0.1', { hostname: 'a' })]);
    assert.deepEqual(subsets, [{ addresses: [{ ip: '10.0.0.1', nodeName: 'n1', hostname: 'a', targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'a' } }] }]);
    assert.deepEqual(computeSubsets(svc({ ports: [] }), [pod('a', '10.0.0.1')]), []);
  });
  it('findPort by number, by name and protocol, or not at all', () => {
    const p = pod('a', '10.0.0.1');
    assert.equal(findPort(p, { port: 80 }), 80);
    assert.equal(findPort(p, { port: 80, targetPort: 81 }), 81);
    assert.equal(findPort(p, { port: 80, targetPort: 'http' }), 8080);
    assert.equal(findPort(p, { port: 80, targetPort: 'http', protocol: 'UDP' }), undefined);
  });
  it('caps Endpoints at 1000 addresses', () => {
    const subsets = [{ addresses: Array.from({ length: 800 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}` })) }, { addresses: Array.from({ length: 700 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}` })) }];
    assert.equal(truncateSubsets(subsets), true);
    assert.equal(subsets.reduce((n, s) => n + s.addresses.length, 0), 1000);
    assert.equal(truncateSubsets([{ addresses: [{ ip: '1.1.1.1' }] }]), false);
  });
  it('takes the API server address from the kubeconfig URL', () => {
    assert.deepEqual(endpointFromUrl('https://127.0.0.1:6443'), { ip: '127.0.0.1', port: 6443 });
    assert.deepEqual(endpointFromUrl('https://localhost:9443'), { ip: '127.0.0.1', port: 9443 });
    assert.deepEqual(endpointFromUrl('https://[::1]:6443'), { ip: '::1', port: 6443 });
    assert.equal(endpointFromUrl('https://example.com:6443'), undefined);
  });
});
