import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { desiredGroups, planSlices } from './slices.ts';

const svc: Service = { metadata: { name: 'web', namespace: 'ns', uid: 'svc-uid', labels: { tier: 'front' } }, spec: { clusterIP: '10.43.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };

function pod(i: number, o: { ready?: boolean; deleting?: boolean; port?: number } = {}): Pod {
  return {
    metadata: { name: `p${i}`, namespace: 'ns', uid: `u${i}`, labels: { app: 'web' }, deletionTimestamp: o.deleting ? '2030-01-01T00:00:00Z' : undefined },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: o.port ?? 8080 }] }] },
    status: { phase: 'Running', podIP: `10.42.${Math.floor(i / 250)}.${(i % 250) + 1}`, conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

const groups = (pods: Pod[]): ReturnType<typeof desiredGroups> => desiredGroups(svc, pods, () => ({ metadata: { labels: { 'topology.kubernetes.io/zone': 'z1' } } }));

describe('desired endpoints', () => {
  it('resolves named ports and sets the conditions upstream does', () => {
    const g = [...groups([pod(1), pod(2, { ready: false }), pod(3, { deleting: true })]).values()];
    assert.equal(g.length, 1);
    assert.deepEqual(g[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const eps = [...g[0]!.endpoints.values()];
    assert.deepEqual(eps.map((e) => e.conditions), [
      { ready: true, serving: true, terminating: false },
      { ready: false, serving: false, terminating: false },
      // Terminating pods stay listed, never ready.
      { ready: false, serving: true, terminating: true },
    ]);
    assert.equal(eps[0]!.zone, 'z1');
    assert.equal(eps[0]!.nodeName, 'n1');
  });
  it('groups pods whose named port resolves differently', () => {
    assert.equal(groups([pod(1), pod(2, { port: 9090 })]).size, 2);
  });
});

describe('planSlices', () => {
  it('packs 250 endpoints into slices of at most 100, labelled and owned', () => {
    const plan = planSlices(svc, [], groups(Array.from({ length: 250 }, (_, i) => pod(i))));
    assert.deepEqual(plan.create.map((s) => s.endpoints.length), [100, 100, 50]);
    const s = plan.create[0]!;
    assert.deepEqual(s.metadata?.labels, { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    assert.equal(s.metadata?.generateName, 'web-');
    assert.equal(s.metadata?.ownerReferences?.[0]?.uid, 'svc-uid');
  });
  it('changes only the slices that hold changed endpoints and fills existing room first', () => {
    const first = planSlices(svc, [], groups(Array.from({ length: 150 }, (_, i) => pod(i))));
    const existing: EndpointSlice[] = first.create.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `web-${i}` } }));
    // Pod 0 (slice 0) becomes unready; two new pods arrive.
    const pods = Array.from({ length: 152 }, (_, i) => pod(i, { ready: i !== 0 }));
    const plan = planSlices(svc, existing, groups(pods));
    assert.equal(plan.create.length, 0);
    assert.deepEqual(plan.update.map((s) => s.metadata?.name).sort(), ['web-0', 'web-1']);
    assert.deepEqual(plan.update.map((s) => s.endpoints.length).sort(), [100, 52]);
    assert.equal(plan.delete.length, 0);
    // Nothing changed: nothing to do.
    const applied = existing.map((s) => plan.update.find((u) => u.metadata?.name === s.metadata?.name) ?? s);
    const again = planSlices(svc, applied, groups(pods));
    assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
  });
  it('keeps one placeholder slice when no pod is selected, and drops slices of vanished port sets', () => {
    const plan = planSlices(svc, [], groups([]));
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.create[0]!.endpoints, []);
    assert.equal(plan.create[0]!.ports, undefined);
    const existing = planSlices(svc, [], groups([pod(1)])).create.map((s) => ({ ...s, metadata: { ...s.metadata, name: 'old' } }));
    const moved = planSlices(svc, existing, groups([pod(1, { port: 9090 })]));
    assert.deepEqual(moved.delete.map((s) => s.metadata?.name), ['old']);
    assert.equal(moved.create.length, 1);
  });
});
