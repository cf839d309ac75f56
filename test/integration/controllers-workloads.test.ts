/**
 * StatefulSet and DaemonSet controllers against a real `skiff server`, driven by real kubectl; pods are run by the
 * test-only fake kubelet (the `fake-outcome` pod label decides their fate).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, DaemonSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Node, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { waitFor } from '../../src/base/wait.ts';
import { setLogSink } from '../../src/base/log.ts';
import { ApiClient, clientConfigFromKubeconfig, RestClient } from '../../src/client/index.ts';
import { nodes as nodesDef, persistentvolumeclaims as pvcDef, pods as podsDef } from '../../src/api/core/v1/index.ts';
import { statefulSets as stsDef } from '../../src/api/apps/v1/stateful-set.ts';
import { daemonSets as dsDef } from '../../src/api/apps/v1/daemon-set.ts';
import { controllerRevisions as revDef } from '../../src/api/apps/v1/controller-revision.ts';
import { startControllerManager } from '../../src/controllers/index.ts';
import type { RunningControllerManager } from '../../src/controllers/index.ts';
import { newPodGCController } from '../../src/controllers/podgc/podgc-controller.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { startFakeKubelet } from './controllers-fake-kubelet.ts';
import type { FakeKubelet, PodOutcome } from './controllers-fake-kubelet.ts';

let server: TestServer;
let kubectl: Kubectl;
let api: ApiClient;
let cm: RunningControllerManager;
let kubelet: FakeKubelet;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? { timeoutMs: 150_000 } : { input, timeoutMs: 150_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const podClient = (): ReturnType<typeof api.resource<Pod>> => api.resource<Pod>(podsDef);
const listPods = async (selector: string): Promise<Pod[]> => (await podClient().list({ namespace: 'default', labelSelector: selector })).items;

/** Records pod watch events (type and name, plus readiness) from the resourceVersion current when it resolves. */
async function recordPodEvents(selector: string): Promise<{ events: { type: string; name: string; ready: boolean }[]; stop(): void }> {
  const ctl = new AbortController();
  const events: { type: string; name: string; ready: boolean }[] = [];
  const list = await podClient().list({ namespace: 'default', labelSelector: selector });
  void (async () => {
    try {
      for await (const ev of podClient().watch({ namespace: 'default', labelSelector: selector, resourceVersion: list.metadata.resourceVersion, signal: ctl.signal })) {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') continue;
        const p = ev.object;
        events.push({ type: ev.type, name: p.metadata?.name ?? '', ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false });
      }
    } catch {
      // aborted
    }
  })();
  return { events, stop: () => ctl.abort() };
}

before(async () => {
  setLogSink(process.env.SKIFF_TEST_LOGS ? (l) => process.stderr.write(l + '\n') : null);
  server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
  kubectl = kubectlFor(server);
  api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  cm = await startControllerManager({
    kubeconfig: server.kubeconfig, leaderElect: false,
    controllers: ['statefulset', 'daemonset', 'podgc', 'garbage-collector'],
    // Orphaned pods of deleted nodes are collected after a quarantine (40 s upstream): shortened for the test.
    factories: { podgc: (ctx) => newPodGCController(ctx, { periodMs: 500, quarantineMs: 1000 }) },
  });
  kubelet = await startFakeKubelet({ client: api, outcome: (p) => (p.metadata?.labels?.['fake-outcome'] as PodOutcome | undefined) ?? 'run' });
  assert.equal(await cm.waitUntilRunning(AbortSignal.timeout(20_000)), true);
});

after(async () => {
  await kubelet?.stop();
  await cm?.stop();
  api?.close();
  kubectl?.cleanup();
  await server?.stop();
});

function statefulSet(name: string, o: { replicas: number; outcome?: PodOutcome; policy?: 'OrderedReady' | 'Parallel'; claims?: boolean; retention?: { whenDeleted: string; whenScaled: string } }): string {
  const sts: StatefulSet = {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: 'default' },
    spec: {
      replicas: o.replicas, serviceName: name, podManagementPolicy: o.policy,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name, 'fake-outcome': o.outcome ?? 'run' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } },
      volumeClaimTemplates: o.claims ? [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] : undefined,
      persistentVolumeClaimRetentionPolicy: o.retention,
    },
  };
  return JSON.stringify(sts);
}

const getSts = (name: string): Promise<StatefulSet> => api.resource<StatefulSet>(stsDef).get(name, { namespace: 'default' });

describe('StatefulSet controller', () => {
  it('creates pods in order, each after its predecessor is ready, with identity, claims and revisions', async () => {
    const rec = await recordPodEvents('app=web');
    await ok(['create', '-f', '-'], statefulSet('web', { replicas: 3, claims: true }));
    await ok(['rollout', 'status', 'statefulset/web', '--timeout=120s']);
    rec.stop();
    const added = rec.events.filter((e) => e.type === 'ADDED').map((e) => e.name);
    assert.deepEqual(added, ['web-0', 'web-1', 'web-2']);
    for (const next of [1, 2]) {
      const addedAt = rec.events.findIndex((e) => e.type === 'ADDED' && e.name === `web-${next}`);
      const readyAt = rec.events.findIndex((e) => e.name === `web-${next - 1}` && e.ready);
      assert.ok(readyAt >= 0 && readyAt < addedAt, `web-${next} created before web-${next - 1} was ready`);
    }
    const sts = await getSts('web');
    assert.equal(sts.status?.readyReplicas, 3);
    assert.equal(sts.status?.availableReplicas, 3);
    assert.equal(sts.status?.currentReplicas, 3);
    assert.equal(sts.status?.updatedReplicas, 3);
    assert.equal(sts.status?.observedGeneration, sts.metadata?.generation);
    assert.ok(sts.status?.updateRevision?.startsWith('web-'));
    assert.equal(sts.status?.currentRevision, sts.status?.updateRevision);
    const revs = (await api.resource<ControllerRevision>(revDef).list({ namespace: 'default' })).items.filter((r) => r.metadata?.ownerReferences?.[0]?.uid === sts.metadata?.uid);
    assert.deepEqual(revs.map((r) => [r.metadata?.name, r.revision]), [[sts.status?.updateRevision, 1]]);
    for (const p of await listPods('app=web')) {
      const name = p.metadata?.name ?? '';
      const ordinal = name.split('-')[1];
      assert.equal(p.spec?.hostname, name);
      assert.equal(p.spec?.subdomain, 'web');
      assert.equal(p.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], name);
      assert.equal(p.metadata?.labels?.['apps.kubernetes.io/pod-index'], ordinal);
      assert.equal(p.metadata?.labels?.['controller-revision-hash'], sts.status?.updateRevision);
      assert.equal(p.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, `data-web-${ordinal}`);
    }
    const claims = (await api.resource<PersistentVolumeClaim>(pvcDef).list({ namespace: 'default' })).items.map((c) => [c.metadata?.name, c.status?.phase, c.metadata?.labels?.app]);
    assert.deepEqual(claims.sort(), [['data-web-0', 'Pending', 'web'], ['data-web-1', 'Pending', 'web'], ['data-web-2', 'Pending', 'web']]);
  });

  it('scales down in reverse ordinal order, one at a time', async () => {
    const rec = await recordPodEvents('app=web');
    await ok(['scale', 'statefulset/web', '--replicas=1']);
    await waitFor(async () => (await listPods('app=web')).length === 1 && (await getSts('web')).status?.replicas === 1, { timeoutMs: 30_000, what: 'scaled to 1' });
    rec.stop();
    const deleted = rec.events.filter((e) => e.type === 'DELETED').map((e) => e.name);
    assert.deepEqual(deleted, ['web-2', 'web-1']);
    assert.deepEqual((await listPods('app=web')).map((p) => p.metadata?.name), ['web-0']);
    // Claims outlive scale-down (retention policy Retain).
    assert.equal((await api.resource<PersistentVolumeClaim>(pvcDef).list({ namespace: 'default' })).items.length, 3);
  });

  it('rolls an update from the highest ordinal down, honouring the partition', async () => {
    await ok(['scale', 'statefulset/web', '--replicas=3']);
    await ok(['rollout', 'status', 'statefulset/web', '--timeout=120s']);
    const before = await getSts('web');
    const rec = await recordPodEvents('app=web');
    await ok(['patch', 'statefulset/web', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } } })]);
    await ok(['rollout', 'status', 'statefulset/web', '--timeout=120s']);
    rec.stop();
    const after1 = await getSts('web');
    assert.notEqual(after1.status?.updateRevision, before.status?.updateRevision);
    assert.equal(after1.status?.currentRevision, after1.status?.updateRevision);
    assert.deepEqual(rec.events.filter((e) => e.type === 'DELETED').map((e) => e.name), ['web-2', 'web-1', 'web-0']);
    for (const p of await listPods('app=web')) {
      assert.equal(p.spec?.containers[0]?.image, 'nginx:1.27');
      assert.equal(p.metadata?.labels?.['controller-revision-hash'], after1.status?.updateRevision);
    }
    // Partition 2: only ordinals ≥ 2 move to the new revision.
    await ok(['patch', 'statefulset/web', '--type=merge', '-p', JSON.stringify({ spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } }, template: { spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] } } } })]);
    await waitFor(async () => {
      const s = await getSts('web');
      return s.status?.updatedReplicas === 1 && s.status.readyReplicas === 3 && s.status.observedGeneration === s.metadata?.generation;
    }, { timeoutMs: 30_000, what: 'partitioned update' });
    const images = Object.fromEntries((await listPods('app=web')).map((p) => [p.metadata?.name, p.spec?.containers[0]?.image]));
    assert.deepEqual(images, { 'web-0': 'nginx:1.27', 'web-1': 'nginx:1.27', 'web-2': 'nginx:1.28' });
    const s = await getSts('web');
    assert.equal(s.status?.currentRevision, after1.status?.updateRevision);
    assert.equal(s.status?.currentReplicas, 2);
  });

  it('OrderedReady waits for a pod that never gets ready; Parallel starts them all', async () => {
    await ok(['create', '-f', '-'], statefulSet('slow', { replicas: 3, outcome: 'pending' }));
    await ok(['create', '-f', '-'], statefulSet('fast', { replicas: 3, outcome: 'pending', policy: 'Parallel' }));
    await waitFor(async () => (await listPods('app=fast')).length === 3, { timeoutMs: 45_000, what: 'parallel pods' });
    await waitFor(async () => (await getSts('slow')).status?.replicas === 1, { timeoutMs: 45_000, what: 'ordered status' });
    assert.deepEqual((await listPods('app=slow')).map((p) => p.metadata?.name), ['slow-0']);
    await ok(['delete', 'statefulset/slow', 'statefulset/fast']);
  });

  it('owns claims as persistentVolumeClaimRetentionPolicy says: gone with a scaled-down pod and with the set, or retained', async () => {
    const claims = async (set: string): Promise<PersistentVolumeClaim[]> => (await api.resource<PersistentVolumeClaim>(pvcDef).list({ namespace: 'default' })).items
      .filter((c) => c.metadata?.name?.startsWith(`data-${set}-`)).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const owners = (c: PersistentVolumeClaim): string[] => (c.metadata?.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}${r.controller ? ' (controller)' : ''}`);
    await ok(['create', '-f', '-'], statefulSet('drop', { replicas: 2, claims: true, retention: { whenDeleted: 'Delete', whenScaled: 'Delete' } }));
    await ok(['create', '-f', '-'], statefulSet('keep', { replicas: 2, claims: true, retention: { whenDeleted: 'Retain', whenScaled: 'Retain' } }));
    await ok(['rollout', 'status', 'statefulset/drop', '--timeout=120s']);
    await ok(['rollout', 'status', 'statefulset/keep', '--timeout=120s']);
    assert.deepEqual((await claims('drop')).map(owners), [['StatefulSet/drop (controller)'], ['StatefulSet/drop (controller)']]);
    assert.deepEqual((await claims('keep')).map(owners), [[], []]);

    // Scale-down: drop-1's claim passes to its pod and goes with it; keep-1's stays.
    await ok(['scale', 'statefulset/drop', 'statefulset/keep', '--replicas=1']);
    await waitFor(async () => (await claims('drop')).length === 1, { timeoutMs: 60_000, what: 'the scaled-down pod\'s claim collected' });
    await waitFor(async () => (await listPods('app=keep')).length === 1, { timeoutMs: 60_000, what: 'keep scaled down' });
    assert.deepEqual((await claims('drop')).map((c) => c.metadata?.name), ['data-drop-0']);
    assert.deepEqual((await claims('keep')).map((c) => c.metadata?.name), ['data-keep-0', 'data-keep-1']);

    // Scaling up again reuses a retained claim, and a new claim of the deleting set is owned by it again.
    await ok(['scale', 'statefulset/drop', '--replicas=2']);
    await ok(['rollout', 'status', 'statefulset/drop', '--timeout=120s']);
    assert.deepEqual((await claims('drop')).map(owners), [['StatefulSet/drop (controller)'], ['StatefulSet/drop (controller)']]);

    // Deleting the sets: whenDeleted=Delete takes the claims along, Retain keeps them.
    await ok(['delete', 'statefulset/drop', 'statefulset/keep']);
    await waitFor(async () => (await claims('drop')).length === 0, { timeoutMs: 60_000, what: 'the deleted set\'s claims collected' });
    await waitFor(async () => (await listPods('app=keep')).length === 0, { timeoutMs: 60_000, what: 'keep pods collected' });
    assert.deepEqual((await claims('keep')).map((c) => c.metadata?.name), ['data-keep-0', 'data-keep-1']);
  });
});

function daemonSet(name: string, o: { nodeSelector?: Record<string, string>; maxSurge?: number } = {}): string {
  const ds: DaemonSet = {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: name } },
      updateStrategy: o.maxSurge ? { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.maxSurge, maxUnavailable: 0 } } : undefined,
      template: { metadata: { labels: { app: name } }, spec: { nodeSelector: o.nodeSelector, containers: [{ name: 'c', image: 'agent:1' }] } },
    },
  };
  return JSON.stringify(ds);
}

const getDs = (name: string): Promise<DaemonSet> => api.resource<DaemonSet>(dsDef).get(name, { namespace: 'default' });
const podNodes = async (selector: string): Promise<string[]> => (await listPods(selector)).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.nodeName ?? '?').sort();

describe('DaemonSet controller', () => {
  it('runs one pod per node, pinned by node affinity, with the daemon tolerations', async () => {
    await ok(['create', '-f', '-'], daemonSet('agent'));
    await ok(['rollout', 'status', 'daemonset/agent', '--timeout=120s']);
    assert.deepEqual(await podNodes('app=agent'), ['fake-node-1', 'fake-node-2']);
    const ds = await getDs('agent');
    assert.equal(ds.status?.desiredNumberScheduled, 2);
    assert.equal(ds.status?.currentNumberScheduled, 2);
    assert.equal(ds.status?.numberReady, 2);
    assert.equal(ds.status?.numberAvailable, 2);
    assert.equal(ds.status?.updatedNumberScheduled, 2);
    assert.equal(ds.status?.numberMisscheduled, 0);
    for (const p of await listPods('app=agent')) {
      const term = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
      assert.deepEqual(term, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec?.nodeName] }] }]);
      const keys = (p.spec?.tolerations ?? []).map((t) => `${t.key}:${t.effect}`);
      for (const k of ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/disk-pressure:NoSchedule',
        'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']) {
        assert.ok(keys.includes(k), `missing toleration ${k}`);
      }
      assert.ok(p.metadata?.labels?.['controller-revision-hash']);
    }
  });

  it('follows nodes added and removed', async () => {
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake-node-3', labels: { 'kubernetes.io/hostname': 'fake-node-3' } } };
    await ok(['create', '-f', '-'], JSON.stringify(node));
    await waitFor(async () => (await podNodes('app=agent')).join(',') === 'fake-node-1,fake-node-2,fake-node-3', { timeoutMs: 45_000, what: 'pod on the new node' });
    await waitFor(async () => (await getDs('agent')).status?.numberReady === 3, { timeoutMs: 45_000, what: 'ready on 3 nodes' });
    await ok(['delete', 'node', 'fake-node-3']);
    await waitFor(async () => (await getDs('agent')).status?.desiredNumberScheduled === 2, { timeoutMs: 45_000, what: 'desired back to 2' });
    // The pod of the deleted node is an orphan that the pod garbage collector removes.
    await waitFor(async () => (await podNodes('app=agent')).join(',') === 'fake-node-1,fake-node-2', { timeoutMs: 30_000, what: 'orphaned pod collected' });
  });

  it('leaves NoSchedule-tainted nodes alone, evicts from NoExecute-tainted ones, honours nodeSelector', async () => {
    await ok(['taint', 'nodes', 'fake-node-2', 'dedicated=x:NoSchedule']);
    await ok(['create', '-f', '-'], daemonSet('picky', { nodeSelector: { role: 'edge' } }));
    await ok(['label', 'node', 'fake-node-2', 'role=edge']);
    await waitFor(async () => (await getDs('picky')).status?.observedGeneration === 1, { timeoutMs: 30_000, what: 'picky synced' });
    // The only matching node is tainted NoSchedule: nothing is placed there.
    assert.equal((await getDs('picky')).status?.desiredNumberScheduled, 0);
    await ok(['label', 'node', 'fake-node-1', 'role=edge']);
    await waitFor(async () => (await podNodes('app=picky')).join(',') === 'fake-node-1', { timeoutMs: 45_000, what: 'picky on node 1' });
    // The existing agent pod on node 2 stays (NoSchedule does not evict)…
    assert.deepEqual(await podNodes('app=agent'), ['fake-node-1', 'fake-node-2']);
    // …but a NoExecute taint removes it, and removing the taint brings it back.
    await ok(['taint', 'nodes', 'fake-node-2', 'dedicated=x:NoSchedule-']);
    await ok(['taint', 'nodes', 'fake-node-2', 'evict=now:NoExecute']);
    await waitFor(async () => (await podNodes('app=agent')).join(',') === 'fake-node-1', { timeoutMs: 45_000, what: 'evicted by NoExecute' });
    await ok(['taint', 'nodes', 'fake-node-2', 'evict=now:NoExecute-']);
    await waitFor(async () => (await podNodes('app=agent')).join(',') === 'fake-node-1,fake-node-2', { timeoutMs: 45_000, what: 'back after untaint' });
    await ok(['delete', 'daemonset/picky']);
  });

  it('rolls an update node by node and keeps revisions', async () => {
    await waitFor(async () => (await getDs('agent')).status?.numberReady === 2, { timeoutMs: 45_000, what: 'agent ready' });
    const before = new Set((await listPods('app=agent')).map((p) => p.metadata?.labels?.['controller-revision-hash']));
    await ok(['patch', 'daemonset/agent', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } })]);
    await ok(['rollout', 'status', 'daemonset/agent', '--timeout=120s']);
    const pods = (await listPods('app=agent')).filter((p) => !p.metadata?.deletionTimestamp);
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.spec?.containers[0]?.image, 'agent:2');
      assert.ok(!before.has(p.metadata?.labels?.['controller-revision-hash']));
    }
    const ds = await getDs('agent');
    const revs = (await api.resource<ControllerRevision>(revDef).list({ namespace: 'default' })).items.filter((r) => r.metadata?.ownerReferences?.[0]?.uid === ds.metadata?.uid);
    assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
    const history = await ok(['rollout', 'history', 'daemonset/agent']);
    assert.match(history, /1\s+<none>/);
    assert.match(history, /2\s+<none>/);
  });

  it('surges a new pod before removing the old one with maxSurge', async () => {
    await ok(['create', '-f', '-'], daemonSet('surge', { maxSurge: 1 }));
    await ok(['rollout', 'status', 'daemonset/surge', '--timeout=120s']);
    const rec = await recordPodEvents('app=surge');
    await ok(['patch', 'daemonset/surge', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } })]);
    await ok(['rollout', 'status', 'daemonset/surge', '--timeout=120s']);
    rec.stop();
    // Every deletion of an old pod came after a new pod was added.
    const firstAdd = rec.events.findIndex((e) => e.type === 'ADDED');
    const firstDelete = rec.events.findIndex((e) => e.type === 'DELETED');
    assert.ok(firstAdd >= 0 && firstAdd < firstDelete, `surge adds before it deletes: ${JSON.stringify(rec.events)}`);
    await ok(['delete', 'daemonset/surge']);
  });
});
