import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredObject } from '../../meta/types.ts';
import { endpointSlices } from './endpoint-slice.ts';

const ctx = { namespace: 'default' };
const mk = () => structuredClone(endpointSlices.examples[0]) as StoredObject;

test('example validates; address type, addresses, protocols, duplicate port names', () => {
  assert.deepEqual(endpointSlices.validate!(mk(), ctx), []);
  const o = mk();
  o.addressType = 'IPX';
  o.endpoints = [{ addresses: [] }];
  o.ports = [{ name: 'http', protocol: 'ICMP' }, { name: 'http', protocol: 'TCP' }];
  const errs = endpointSlices.validate!(o, ctx);
  assert.equal(errs.find((e) => e.field === 'addressType')?.type, 'FieldValueNotSupported');
  assert.equal(errs.find((e) => e.field === 'endpoints[0].addresses')?.detail, 'must contain at least 1 address');
  assert.equal(errs.find((e) => e.field === 'ports[0].protocol')?.type, 'FieldValueNotSupported');
  assert.equal(errs.find((e) => e.field === 'ports[1].name')?.type, 'FieldValueDuplicate');
  const v6 = mk();
  v6.endpoints = [{ addresses: ['10.0.0.1'] }];
  v6.addressType = 'IPv6';
  assert.equal(endpointSlices.validate!(v6, ctx).find((e) => e.field === 'endpoints[0].addresses[0]')?.type, 'FieldValueInvalid');
});

test('validateUpdate: addressType immutable; generation bumps on content change', () => {
  const old = mk();
  old.metadata.resourceVersion = '1';
  endpointSlices.strategy!.prepareForCreate!(old);
  const n = structuredClone(old);
  n.addressType = 'IPv6';
  assert.equal(endpointSlices.validateUpdate!(n, old, ctx).find((e) => e.field === 'addressType')?.detail, 'field is immutable');
  const m = structuredClone(old);
  m.endpoints = [{ addresses: ['10.244.0.6'] }];
  endpointSlices.strategy!.prepareForUpdate!(m, old);
  assert.equal(m.metadata.generation, 2);
  const same = structuredClone(old);
  same.metadata.annotations = { a: 'b' };
  endpointSlices.strategy!.prepareForUpdate!(same, old);
  assert.equal(same.metadata.generation, 1);
});

test('columns: ports and endpoints with "+ N more..."', () => {
  const o = mk();
  o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  assert.deepEqual(endpointSlices.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:02Z'))), ['IPv4', '80', '10.244.0.5', '2s']);
  o.endpoints = [{ addresses: ['1.1.1.1', '1.1.1.2'] }, { addresses: ['1.1.1.3', '1.1.1.4', '1.1.1.5'] }];
  o.ports = [{ port: 1 }, {}, { name: 'x' }, { port: 4 }];
  assert.equal(endpointSlices.columns[2]!.cell(o, 0), '1.1.1.1,1.1.1.2,1.1.1.3 + 2 more...');
  assert.equal(endpointSlices.columns[1]!.cell(o, 0), '1,*,x + 1 more...');
  o.ports = [];
  o.endpoints = [];
  assert.deepEqual([endpointSlices.columns[1]!.cell(o, 0), endpointSlices.columns[2]!.cell(o, 0)], ['<unset>', '<unset>']);
});
