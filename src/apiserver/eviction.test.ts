import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { StoredObject } from '../api/meta/types.ts';
import { FakeClock } from '../base/clock.ts';
import type { EvictionDeps } from './eviction.ts';
import { evictPod } from './eviction.ts';
import { ApiError } from './errors.ts';

function pod(name: string, o: { ready?: boolean; phase?: string; labels?: Record<string, string> } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' } },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

function pdb(name: string, s: Partial<NonNullable<PodDisruptionBudget['status']>>, o: { generation?: number; selector?: Record<string, string>; policy?: string } = {}): PodDisruptionBudget {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: o.generation ?? 1 },
    spec: { selector: { matchLabels: o.selector ?? { app: 'web' } }, minAvailable: 2, unhealthyPodEvictionPolicy: o.policy },
    status: { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1, observedGeneration: 1, ...s },
  };
}

function deps(pods: Pod[], budgets: PodDisruptionBudget[]): { deps: EvictionDeps; deleted: { name: string; dryRun?: boolean; uid?: string }[]; budgets: PodDisruptionBudget[] } {
  const deleted: { name: string; dryRun?: boolean; uid?: string }[] = [];
  const store = budgets.map((b) => structuredClone(b));
  return {
    deleted,
    budgets: store,
    deps: {
      clock: new FakeClock(Date.parse('2030-01-01T00:00:00Z')),
      pods: {
        get: async (_ns, name) => {
          const p = pods.find((x) => x.metadata?.name === name);
          if (!p) throw new Error('not found');
          return structuredClone(p) as StoredObject;
        },
        delete: async (_ns, name, params) => {
          deleted.push({ name, dryRun: params?.dryRun, uid: params?.preconditions?.uid });
          return {};
        },
      },
      pdbs: {
        def: { group: 'policy', plural: 'poddisruptionbudgets' },
        list: async () => ({ items: store.map((b) => ({ key: '', namespace: 'ns', name: b.metadata!.name!, rv: 1, obj: b as StoredObject, json: '' })), resourceVersion: 1 }),
        guaranteedUpdate: async (_ns, name, mutate) => {
          const i = store.findIndex((b) => b.metadata?.name === name);
          const next = await mutate(structuredClone(store[i]!) as StoredObject);
          store[i] = next as PodDisruptionBudget;
          return next;
        },
      },
    },
  };
}

const body = (name: string): StoredObject => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'ns' } });

describe('evictPod', () => {
  it('deletes a pod no budget covers', async () => {
    const d = deps([pod('a', { labels: { app: 'other' } })], [pdb('b', {})]);
    await evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') });
    assert.deepEqual(d.deleted, [{ name: 'a', dryRun: false, uid: 'uid-a' }]);
    assert.equal(d.budgets[0]!.status?.disruptionsAllowed, 1);
  });

  it('takes one disruption and records the pod', async () => {
    const d = deps([pod('a')], [pdb('b', {})]);
    await evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') });
    assert.equal(d.deleted.length, 1);
    const s = d.budgets[0]!.status!;
    assert.equal(s.disruptionsAllowed, 0);
    assert.deepEqual(s.disruptedPods, { a: '2030-01-01T00:00:00Z' });
    assert.equal(s.conditions?.find((c) => c.type === 'DisruptionAllowed')?.reason, 'InsufficientPods');
  });

  it('refuses with 429 and upstream wording when no disruption is allowed', async () => {
    const d = deps([pod('a')], [pdb('b', { disruptionsAllowed: 0, currentHealthy: 2 })]);
    await assert.rejects(evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 429);
      assert.equal(e.status.reason, 'TooManyRequests');
      assert.equal(e.status.message, "Cannot evict pod as it would violate the pod's disruption budget.");
      assert.deepEqual(e.status.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget b needs 2 healthy pods and has 2 currently' }]);
      return true;
    });
    assert.equal(d.deleted.length, 0);
  });

  it('refuses while the budget status lags its spec', async () => {
    const d = deps([pod('a')], [pdb('b', {}, { generation: 2 })]);
    await assert.rejects(evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') }), /Cannot evict pod/);
    assert.equal(d.deleted.length, 0);
  });

  it('refuses a pod covered by two budgets with 500', async () => {
    const d = deps([pod('a')], [pdb('b', {}), pdb('c', {})]);
    await assert.rejects(evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') }), (e: unknown) => e instanceof ApiError && e.code === 500 && /more than one PodDisruptionBudget/.test(e.message));
  });

  it('evicts unready pods without a decrement when the budget is met, or always with AlwaysAllow', async () => {
    const d = deps([pod('a', { ready: false })], [pdb('b', { disruptionsAllowed: 0, currentHealthy: 2 })]);
    await evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') });
    assert.equal(d.deleted.length, 1);
    assert.equal(d.budgets[0]!.status?.disruptionsAllowed, 0);
    const d2 = deps([pod('a', { ready: false })], [pdb('b', { disruptionsAllowed: 0, currentHealthy: 1 }, { policy: 'AlwaysAllow' })]);
    await evictPod(d2.deps, { namespace: 'ns', name: 'a', body: body('a') });
    assert.equal(d2.deleted.length, 1);
    const d3 = deps([pod('a', { ready: false })], [pdb('b', { disruptionsAllowed: 0, currentHealthy: 1 })]);
    await assert.rejects(evictPod(d3.deps, { namespace: 'ns', name: 'a', body: body('a') }), /Cannot evict pod/);
  });

  it('evicts Pending and terminal pods regardless of budgets; dry-run deletes nothing for real', async () => {
    const d = deps([pod('a', { phase: 'Pending' })], [pdb('b', { disruptionsAllowed: 0 })]);
    await evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('a') });
    assert.equal(d.deleted.length, 1);
    const d2 = deps([pod('a')], [pdb('b', {})]);
    await evictPod(d2.deps, { namespace: 'ns', name: 'a', body: { ...body('a'), deleteOptions: { dryRun: ['All'] } } });
    assert.deepEqual(d2.deleted, [{ name: 'a', dryRun: true, uid: 'uid-a' }]);
    assert.equal(d2.budgets[0]!.status?.disruptionsAllowed, 1, 'dry run leaves the budget alone');
  });

  it('rejects a body of another kind or name', async () => {
    const d = deps([pod('a')], []);
    await assert.rejects(evictPod(d.deps, { namespace: 'ns', name: 'a', body: { kind: 'Pod' } }), /does not match the expected kind/);
    await assert.rejects(evictPod(d.deps, { namespace: 'ns', name: 'a', body: body('b') }), /name in URL does not match/);
  });
});
