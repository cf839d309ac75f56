import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../meta/field-errors.ts';
import type { StoredObject } from '../../meta/types.ts';
import { services } from './service.ts';

const svc = (spec: ServiceSpec, extra: Partial<Service> = {}): StoredObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', resourceVersion: '1' }, spec, ...extra }) as StoredObject;

function validated(o: StoredObject): FieldError[] {
  services.defaults?.(o);
  return services.validate?.(o, { namespace: 'default' }) ?? [];
}

const spec = (o: StoredObject): ServiceSpec => (o as unknown as Service).spec ?? {};
const cells = (o: StoredObject): unknown[] => services.columns.map((c) => c.cell(o, Date.parse('2024-01-01T01:00:00Z')));

describe('service defaults', () => {
  it('defaults type, affinity, protocol, targetPort and traffic policies', () => {
    const o = svc({ ports: [{ port: 80 }, { port: 53, protocol: 'UDP', targetPort: 'dns', name: 'dns' }] });
    services.defaults?.(o);
    const s = spec(o);
    assert.equal(s.type, 'ClusterIP');
    assert.equal(s.sessionAffinity, 'None');
    assert.equal(s.internalTrafficPolicy, 'Cluster');
    assert.equal(s.externalTrafficPolicy, undefined);
    assert.equal(s.ports?.[0]?.protocol, 'TCP');
    assert.equal(s.ports?.[0]?.targetPort, 80);
    assert.equal(s.ports?.[1]?.targetPort, 'dns');
    const np = svc({ type: 'NodePort', ports: [{ port: 80 }] });
    services.defaults?.(np);
    assert.equal(spec(np).externalTrafficPolicy, 'Cluster');
    const lb = svc({ type: 'LoadBalancer', ports: [{ port: 80 }] });
    services.defaults?.(lb);
    assert.equal(spec(lb).allocateLoadBalancerNodePorts, true);
    const aff = svc({ sessionAffinity: 'ClientIP', ports: [{ port: 80 }] });
    services.defaults?.(aff);
    assert.equal(spec(aff).sessionAffinityConfig?.clientIP?.timeoutSeconds, 10800);
  });
});

describe('service validation', () => {
  it('accepts a plain service, a headless one without ports and an ExternalName', () => {
    assert.deepEqual(validated(svc({ selector: { app: 'web' }, ports: [{ port: 80 }] })), []);
    assert.deepEqual(validated(svc({ clusterIP: 'None', selector: { app: 'web' } })), []);
    assert.deepEqual(validated(svc({ type: 'ExternalName', externalName: 'db.example.com' })), []);
  });

  it('requires ports otherwise, and names when there are several', () => {
    assert.equal(validated(svc({ selector: { a: 'b' } })).find((e) => e.field === 'spec.ports')?.type, 'FieldValueRequired');
    const errs = validated(svc({ ports: [{ port: 80 }, { port: 443, name: 'https' }, { port: 8443, name: 'https' }] }));
    assert.equal(errs.find((e) => e.field === 'spec.ports[0].name')?.type, 'FieldValueRequired');
    assert.equal(errs.find((e) => e.field === 'spec.ports[2].name')?.type, 'FieldValueDuplicate');
  });

  it('checks type, protocol, port range, nodePort on ClusterIP and the name rule', () => {
    const errs = validated(svc({ type: 'Weird', ports: [{ port: 0, protocol: 'ICMP', nodePort: 30080 }] }));
    assert.equal(errs.find((e) => e.field === 'spec.type')?.type, 'FieldValueNotSupported');
    assert.equal(errs.find((e) => e.field === 'spec.ports[0].protocol')?.type, 'FieldValueNotSupported');
    assert.equal(errs.find((e) => e.field === 'spec.ports[0].port')?.type, 'FieldValueInvalid');
    const np = validated(svc({ ports: [{ port: 80, nodePort: 30080 }] }));
    assert.equal(np.find((e) => e.field === 'spec.ports[0].nodePort')?.type, 'FieldValueForbidden');
    const o = svc({ ports: [{ port: 80 }] });
    o.metadata.name = '1web';
    assert.equal(validated(o).find((e) => e.field === 'metadata.name')?.type, 'FieldValueInvalid');
  });

  it('requires externalName for ExternalName services', () => {
    assert.equal(validated(svc({ type: 'ExternalName' })).find((e) => e.field === 'spec.externalName')?.type, 'FieldValueRequired');
  });

  it('keeps clusterIP immutable on update', () => {
    const old = svc({ clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const next = svc({ clusterIP: '10.96.0.11', ports: [{ port: 80 }] });
    const errs = services.validateUpdate?.(next, old, { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.clusterIP')?.type, 'FieldValueInvalid');
  });
});

describe('service strategy and table', () => {
  it('create clears status; status update keeps spec', () => {
    const o = svc({ ports: [{ port: 80 }] }, { status: { loadBalancer: { ingress: [{ ip: '1.1.1.1' }] } } });
    services.strategy?.prepareForCreate?.(o);
    assert.deepEqual(o['status'], {});
    const st = svc({ type: 'NodePort' }, { status: { loadBalancer: {} } });
    services.strategy?.prepareForStatusUpdate?.(st, svc({ ports: [{ port: 80 }] }));
    assert.deepEqual(spec(st), { ports: [{ port: 80 }] });
  });

  it('prints ClusterIP, NodePort, LoadBalancer and ExternalName rows', () => {
    const c = svc({ type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ port: 443, protocol: 'TCP' }], selector: { app: 'web', tier: 'fe' } });
    c.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    assert.deepEqual(cells(c), ['ClusterIP', '10.96.0.1', '<none>', '443/TCP', '60m', 'app=web,tier=fe']);
    const n = svc({ type: 'NodePort', clusterIPs: ['10.96.0.2'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] });
    assert.deepEqual(cells(n).slice(0, 4), ['NodePort', '10.96.0.2', '<none>', '80:30080/TCP,53/UDP']);
    const lb = svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.3'], ports: [{ port: 80, protocol: 'TCP' }] });
    assert.equal(cells(lb)[2], '<pending>');
    (lb as unknown as Service & { status: object }).status = { loadBalancer: { ingress: [{ ip: '5.6.7.8' }, { hostname: 'lb.example.com' }] } };
    assert.equal(cells(lb)[2], '5.6.7.8,lb.example.com');
    const ext = svc({ type: 'ExternalName', externalName: 'db.example.com' });
    assert.deepEqual(cells(ext).slice(0, 4), ['ExternalName', '<none>', 'db.example.com', '<none>']);
    assert.equal(cells(ext)[5], '<none>');
  });

  it('selects on spec.clusterIP and spec.type', () => {
    const o = svc({ clusterIP: 'None', type: 'ClusterIP' });
    assert.equal(services.fieldSelectors?.['spec.clusterIP']?.(o), 'None');
    assert.equal(services.fieldSelectors?.['spec.type']?.(o), 'ClusterIP');
  });
});
