import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSubset, Endpoints } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { endpoints, formatEndpoints } from './endpoints.ts';

const ep = (subsets?: EndpointSubset[]): StoredObject =>
  ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets }) as StoredObject;

describe('endpoints', () => {
  it('defaults port protocol to TCP', () => {
    const o = ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }]);
    endpoints.defaults?.(o);
    assert.equal((o as unknown as Endpoints).subsets?.[0]?.ports?.[0]?.protocol, 'TCP');
  });

  it('validates addresses and ports', () => {
    const o = ep([{ addresses: [{ ip: 'not-an-ip' }], ports: [{ port: 80, protocol: 'TCP' }, { port: 70000, protocol: 'TCP', name: 'b' }] }]);
    const errs = endpoints.validate?.(o, { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'subsets[0].addresses[0].ip')?.type, 'FieldValueInvalid');
    assert.equal(errs.find((e) => e.field === 'subsets[0].ports[0].name')?.type, 'FieldValueRequired');
    assert.equal(errs.find((e) => e.field === 'subsets[0].ports[1].port')?.type, 'FieldValueInvalid');
    const good = ep([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] }]);
    assert.deepEqual(endpoints.validate?.(good, { namespace: 'default' }), []);
  });

  it('formats the ENDPOINTS cell as printers.go does', () => {
    assert.equal(formatEndpoints(ep() as unknown as Endpoints), '<none>');
    const one = ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 8080 }] }]);
    assert.equal(formatEndpoints(one as unknown as Endpoints), '10.0.0.1:8080,[fd00::1]:8080');
    const many = ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }], ports: [{ port: 80 }, { port: 443 }] }]);
    assert.equal(formatEndpoints(many as unknown as Endpoints), '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...');
    const headless = ep([{ addresses: [{ ip: '10.0.0.9' }] }]);
    assert.equal(endpoints.columns[0]?.cell(headless, 0), '10.0.0.9');
  });
});
