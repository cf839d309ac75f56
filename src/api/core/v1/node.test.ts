import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { nodes } from './node.ts';

const node = (extra: Partial<Node> = {}, labels: Record<string, string> = {}): StoredObject =>
  ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels, resourceVersion: '1' }, ...extra }) as StoredObject;
const cells = (o: StoredObject): unknown[] => nodes.columns.map((c) => c.cell(o, Date.parse('2024-01-01T00:00:30Z')));

describe('nodes', () => {
  it('defaults allocatable from capacity', () => {
    const o = node({ status: { capacity: { cpu: '4', memory: '8Gi' } } });
    nodes.defaults?.(o);
    assert.deepEqual((o as unknown as Node).status?.allocatable, { cpu: '4', memory: '8Gi' });
  });

  it('validates taints and pod CIDRs, and forbids namespaces', () => {
    const errs = nodes.validate?.(node({ spec: { podCIDRs: ['10.0.0.0/33'], taints: [{ key: 'k', effect: 'Sometimes' }, { key: '', effect: 'NoSchedule' }] } }), { namespace: '' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.podCIDRs[0]')?.type, 'FieldValueInvalid');
    assert.equal(errs.find((e) => e.field === 'spec.taints[0].effect')?.type, 'FieldValueNotSupported');
    assert.equal(errs.find((e) => e.field === 'spec.taints[1].key')?.type, 'FieldValueRequired');
    const dup = nodes.validate?.(node({ spec: { taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoSchedule' }] } }), { namespace: '' }) ?? [];
    assert.equal(dup.find((e) => e.field === 'spec.taints[1]')?.type, 'FieldValueDuplicate');
    const nsd = node();
    nsd.metadata.namespace = 'default';
    assert.equal((nodes.validate?.(nsd, { namespace: '' }) ?? [])[0]?.field, 'metadata.namespace');
  });

  it('forbids changing an assigned podCIDR', () => {
    const old = node({ spec: { podCIDR: '10.0.1.0/24', podCIDRs: ['10.0.1.0/24'] } });
    const next = node({ spec: { podCIDR: '10.0.2.0/24', podCIDRs: ['10.0.2.0/24'] } });
    const errs = nodes.validateUpdate?.(next, old, { namespace: '' }) ?? [];
    assert.equal(errs[0]?.field, 'spec.podCIDRs');
    assert.deepEqual(nodes.validateUpdate?.(old, node({ spec: {} }), { namespace: '' }), []);
  });

  it('keeps status on create, old status on update and old spec on status update', () => {
    assert.equal(nodes.strategy?.prepareForCreate, undefined);
    const old = node({ spec: { unschedulable: true }, status: { phase: 'Running' } });
    const upd = node({ spec: {}, status: { phase: 'Terminated' } });
    nodes.strategy?.prepareForUpdate?.(upd, old);
    assert.equal((upd as unknown as Node).status?.phase, 'Running');
    nodes.strategy?.prepareForStatusUpdate?.(upd, old);
    assert.equal((upd as unknown as Node).spec?.unschedulable, true);
  });

  it('prints status, roles and node info', () => {
    const o = node({
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'Hostname', address: 'n1' }],
        nodeInfo: {
          kubeletVersion: 'v1.32.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'containerd://1.7',
          architecture: 'amd64', bootID: '', machineID: '', operatingSystem: 'linux', systemUUID: '', kubeProxyVersion: '',
        },
      },
    }, { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'worker' });
    o.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    assert.deepEqual(cells(o), ['Ready,SchedulingDisabled', 'control-plane,worker', '30s', 'v1.32.0', '192.168.1.10', '<none>', 'Debian', '6.1', 'containerd://1.7']);
    const bare = node({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });
    assert.deepEqual(cells(bare).slice(0, 2), ['NotReady', '<none>']);
    assert.deepEqual(cells(node()).slice(6), ['<unknown>', '<unknown>', '<unknown>']);
    assert.equal(cells(node())[0], 'Unknown');
  });

  it('selects on spec.unschedulable', () => {
    assert.equal(nodes.fieldSelectors?.['spec.unschedulable']?.(node({ spec: { unschedulable: true } })), 'true');
    assert.equal(nodes.fieldSelectors?.['spec.unschedulable']?.(node()), 'false');
  });
});
