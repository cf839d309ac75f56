import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import {
  claimOwnerRefsFor, claimsFor, completeRollingUpdate, hasUnexpectedController, identityMatches, isClaimOwnerUpToDate, isMemberOf, newStatefulSetPod,
  newVersionedPod, parentAndOrdinal, replicaCounts, storageMatches,
} from './stateful-pods.ts';

function set(o: { partition?: number; currentReplicas?: number; image?: string; retention?: 'Delete' } = {}): StatefulSet {
  return {
    metadata: { name: 'web', namespace: 'ns', uid: 'set-uid' },
    spec: {
      serviceName: 'nginx', selector: { matchLabels: { app: 'web' } },
      updateStrategy: o.partition === undefined ? { type: 'RollingUpdate' } : { type: 'RollingUpdate', rollingUpdate: { partition: o.partition } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'v1' }], volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', emptyDir: {} }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data', labels: { kind: 'disk' } }, spec: { accessModes: ['ReadWriteOnce'] }, status: { phase: 'Bound' } }],
      persistentVolumeClaimRetentionPolicy: o.retention ? { whenDeleted: o.retention } : undefined,
    },
    status: { replicas: 3, currentReplicas: o.currentReplicas ?? 0 },
  };
}

describe('StatefulSet pods', () => {
  it('parses ordinals and membership', () => {
    assert.deepEqual(parentAndOrdinal('web-12'), { parent: 'web', ordinal: 12 });
    assert.deepEqual(parentAndOrdinal('my-web-0'), { parent: 'my-web', ordinal: 0 });
    assert.equal(parentAndOrdinal('web').ordinal, -1);
    assert.equal(isMemberOf(set(), { metadata: { name: 'web-3' } }), true);
    assert.equal(isMemberOf(set(), { metadata: { name: 'webx-3' } }), false);
  });
  it('builds a pod with stable identity, claims mounted and a controllerRef', () => {
    const p = newStatefulSetPod(set(), 2);
    assert.equal(p.metadata?.name, 'web-2');
    assert.deepEqual(p.metadata?.labels, { app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-2', 'apps.kubernetes.io/pod-index': '2' });
    assert.equal(p.spec?.hostname, 'web-2');
    assert.equal(p.spec?.subdomain, 'nginx');
    // The claim replaces the template volume of the same name; other volumes stay.
    assert.deepEqual(p.spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } }, { name: 'cfg', emptyDir: {} }]);
    assert.deepEqual(p.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true, blockOwnerDeletion: true }]);
    assert.equal(identityMatches(set(), { ...p, metadata: { ...p.metadata } }), true);
    assert.equal(identityMatches(set(), { ...p, metadata: { ...p.metadata, labels: { app: 'web' } } }), false);
    assert.equal(storageMatches(set(), p), true);
    assert.equal(storageMatches(set(), { ...p, spec: { ...p.spec!, volumes: [] } }), false);
  });
  it('claims are named <claim>-<set>-<ordinal>, carry the selector labels, no status, the set as controller only when deleted with it', () => {
    const [c] = claimsFor(set(), 1);
    assert.equal(c?.metadata?.name, 'data-web-1');
    assert.deepEqual(c?.metadata?.labels, { kind: 'disk', app: 'web' });
    assert.equal(c?.status, undefined);
    assert.equal(c?.metadata?.ownerReferences, undefined);
    assert.deepEqual(claimsFor(set({ retention: 'Delete' }), 1)[0]?.metadata?.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true, blockOwnerDeletion: true },
    ]);
  });
  it('owns claims as each retention policy says, for pods in range and scaled down (upstream isClaimOwnerUpToDate table)', () => {
    const withPolicy = (whenDeleted: string, whenScaled: string, replicas: number): StatefulSet => {
      const s = set();
      s.spec = { ...s.spec!, replicas, persistentVolumeClaimRetentionPolicy: { whenDeleted, whenScaled } };
      return s;
    };
    const pod: Pod = { metadata: { name: 'web-1', namespace: 'ns', uid: 'pod-uid' } };
    const owners = (refs: { uid?: string }[]): string => refs.map((r) => r.uid).sort().join(',') || 'none';
    // [whenDeleted, whenScaled] → owners of web-1's claim while in range (replicas 2) and once scaled down (replicas 1).
    const table: [string, string, string, string][] = [
      ['Retain', 'Retain', 'none', 'none'],
      ['Delete', 'Retain', 'set-uid', 'set-uid'],
      ['Retain', 'Delete', 'none', 'pod-uid'],
      ['Delete', 'Delete', 'set-uid', 'pod-uid'],
    ];
    for (const [whenDeleted, whenScaled, inRange, scaled] of table) {
      for (const [replicas, want] of [[2, inRange], [1, scaled]] as const) {
        const s = withPolicy(whenDeleted, whenScaled, replicas);
        const bare: PersistentVolumeClaim = { metadata: { name: 'data-web-1', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: 'x' }] } };
        const refs = claimOwnerRefsFor(bare, s, pod);
        assert.equal(owners(refs.filter((r) => r.uid !== 'x')), want, `${whenDeleted}/${whenScaled} replicas=${replicas}`);
        assert.ok(refs.every((r) => r.uid === 'x' || r.controller === true), 'the set and the pod are controllers');
        assert.ok(refs.some((r) => r.uid === 'x'), 'other owners are kept');
        const fixed: PersistentVolumeClaim = { metadata: { ...bare.metadata, ownerReferences: refs } };
        assert.equal(isClaimOwnerUpToDate(fixed, s, pod), true);
        assert.equal(isClaimOwnerUpToDate(bare, s, pod), want === 'none', `${whenDeleted}/${whenScaled} replicas=${replicas} before the fix`);
      }
    }
    // An owner reference without controller=true (older controllers wrote those) is rewritten.
    const dd = withPolicy('Delete', 'Delete', 2);
    const weak: PersistentVolumeClaim = { metadata: { name: 'data-web-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid' }] } };
    assert.equal(isClaimOwnerUpToDate(weak, dd, pod), false);
    assert.equal(claimOwnerRefsFor(weak, dd, pod)[0]?.controller, true);
  });
  it('leaves claims with stale references or a foreign controller alone', () => {
    const s = set();
    s.spec = { ...s.spec!, replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } };
    const pod: Pod = { metadata: { name: 'web-1', namespace: 'ns', uid: 'new-pod' } };
    // A reference to an earlier web-1 (another uid): that claim is being collected with its pod, not ours to touch.
    const stale: PersistentVolumeClaim = { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'old-pod', controller: true }] } };
    assert.equal(isClaimOwnerUpToDate(stale, s, pod), true);
    // Another controller: not up to date while we also own it; we only scrub our own references.
    const foreign: PersistentVolumeClaim = { metadata: { ownerReferences: [{ apiVersion: 'x/v1', kind: 'Thing', name: 't', uid: 't', controller: true }, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true }] } };
    assert.equal(hasUnexpectedController(foreign, s, pod), true);
    assert.equal(isClaimOwnerUpToDate(foreign, s, pod), false);
    assert.deepEqual(claimOwnerRefsFor(foreign, s, pod).map((r) => r.uid), ['t']);
    // Under Retain/Retain a foreign controller is no concern.
    assert.equal(hasUnexpectedController(foreign, set(), pod), false);
  });
  it('the partition decides which revision a recreated pod gets', () => {
    const cur = set({ partition: 2, image: 'v1' });
    const upd = set({ partition: 2, image: 'v2' });
    const mk = (ordinal: number): Pod => newVersionedPod({ currentSet: cur, updateSet: upd, currentRevision: 'web-a', updateRevision: 'web-b', ordinal });
    assert.deepEqual([0, 1, 2, 3].map((i) => [mk(i).metadata?.labels?.['controller-revision-hash'], mk(i).spec?.containers[0]?.image]), [
      ['web-a', 'v1'], ['web-a', 'v1'], ['web-b', 'v2'], ['web-b', 'v2'],
    ]);
  });
  it('counts replicas and completes a rolling update once all are updated and ready', () => {
    const pod = (name: string, rev: string, ready: boolean, o: { deleting?: boolean } = {}): Pod => ({
      metadata: { name, labels: { 'controller-revision-hash': rev }, deletionTimestamp: o.deleting ? '2030-01-01T00:00:00Z' : undefined },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2030-01-01T00:00:00Z' }] },
    });
    const counts = replicaCounts([pod('web-0', 'a', true), pod('web-1', 'b', true), pod('web-2', 'b', false), pod('web-3', 'a', true, { deleting: true })], { minReadySeconds: 0, currentRevision: 'a', updateRevision: 'b', nowMs: Date.parse('2030-01-01T00:01:00Z') });
    assert.deepEqual(counts, { replicas: 4, readyReplicas: 3, availableReplicas: 3, currentReplicas: 1, updatedReplicas: 2 });
    const status = { replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 0, currentRevision: 'a', updateRevision: 'b' };
    completeRollingUpdate(set(), status);
    assert.deepEqual([status.currentReplicas, status.currentRevision], [3, 'b']);
    const partial = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, currentReplicas: 0, currentRevision: 'a', updateRevision: 'b' };
    completeRollingUpdate(set(), partial);
    assert.equal(partial.currentRevision, 'a');
  });
});
