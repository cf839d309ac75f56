/**
 * The scheduler against a real API server: Node objects created through the API (no agent), pods with
 * constraints, bindings and conditions asserted through the API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Event as CoreEvent } from 'kubernetes-types/core/v1.js';
import { startServer, type TestServer } from './helpers/cluster.ts';
import { clientFor, createNodes, makeNode, makePod, waitForBound, waitForUnschedulable } from './scheduler-helpers.ts';
import { startScheduler, type RunningScheduler } from '../../src/scheduler/index.ts';
import type { ApiClient } from '../../src/client/index.ts';
import { events, pods } from '../../src/api/core/v1/index.ts';
import { waitFor } from '../../src/base/wait.ts';
import { setLogSink } from '../../src/base/log.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { leases } from '../../src/api/coordination/v1/lease.ts';
import { priorityClasses } from '../../src/api/scheduling/v1/priority-class.ts';

describe('scheduler (integration)', () => {
  let server: TestServer;
  let api: ApiClient;
  let sched: RunningScheduler;

  before(async () => {
    setLogSink(null);
    server = await startServer({ args: ['--disable-scheduler'] });
    api = clientFor(server.kubeconfig);
    sched = await startScheduler({ kubeconfig: server.kubeconfig, leaderElect: false });
  });

  after(async () => {
    await sched?.stop();
    api?.close();
    await server?.stop();
  });

  it('binds a pod to the only node, with PodScheduled and the Scheduled event', async () => {
    await createNodes(api, [makeNode('basic-1', { labels: { pool: 'basic' } })]);
    await api.resource<Pod>(pods).create(makePod('basic', { cpu: '100m', spec: { nodeSelector: { pool: 'basic' } } }));
    assert.equal(await waitForBound(api, 'default', 'basic'), 'basic-1');
    const p = await api.resource<Pod>(pods).get('basic', { namespace: 'default' });
    assert.equal(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
    const ev = await waitFor(async () => (await api.resource<CoreEvent>(events).list({ namespace: 'default' })).items.find((e) => e.reason === 'Scheduled' && e.involvedObject.name === 'basic'), { what: 'Scheduled event' });
    assert.equal(ev.message, 'Successfully assigned default/basic to basic-1');
    assert.equal(ev.source?.component, 'default-scheduler');
  });
});

describe('scheduler constraints (integration)', () => {
  let server: TestServer;
  let api: ApiClient;
  let sched: RunningScheduler;
  const podc = (): ReturnType<ApiClient['resource']> => api.resource(pods);

  before(async () => {
    setLogSink(null);
    server = await startServer({ args: ['--disable-scheduler'] });
    api = clientFor(server.kubeconfig);
    sched = await startScheduler({ kubeconfig: server.kubeconfig, leaderElect: false });
  });

  after(async () => {
    await sched?.stop();
    api?.close();
    await server?.stop();
  });

  it('honours taints and reports untolerated ones in upstream format; a toleration lets the pod in', async () => {
    const ns = 'default';
    await createNodes(api, [
      makeNode('t-1', { cpu: '1', labels: { grp: 't' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      makeNode('t-2', { cpu: '1', labels: { grp: 't' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      makeNode('t-3', { cpu: '500m', labels: { grp: 't' } }),
    ]);
    await podc().create(makePod('taint-a', { namespace: ns, cpu: '900m', spec: { nodeSelector: { grp: 't' } } }) as never);
    const msg = await waitForUnschedulable(api, ns, 'taint-a');
    assert.equal(msg, '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling..');
    const ev = await waitFor(async () => (await api.resource<CoreEvent>(events).list({ namespace: ns })).items.find((e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'taint-a'), { what: 'FailedScheduling event' });
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, msg);
    await podc().create(makePod('taint-b', { namespace: ns, cpu: '900m', spec: { nodeSelector: { grp: 't' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] } }) as never);
    assert.match(await waitForBound(api, ns, 'taint-b'), /^t-[12]$/);
  });

  it('schedules a pending pod once a node that fits is added (resource exhaustion)', async () => {
    await createNodes(api, [makeNode('ex-1', { cpu: '1', labels: { grp: 'ex' } })]);
    await podc().create(makePod('ex-a', { cpu: '800m', spec: { nodeSelector: { grp: 'ex' } } }) as never);
    assert.equal(await waitForBound(api, 'default', 'ex-a'), 'ex-1');
    await podc().create(makePod('ex-b', { cpu: '800m', spec: { nodeSelector: { grp: 'ex' } } }) as never);
    const msg = await waitForUnschedulable(api, 'default', 'ex-b');
    assert.match(msg, /^0\/\d+ nodes are available: .*1 Insufficient cpu/);
    await createNodes(api, [makeNode('ex-2', { cpu: '1', labels: { grp: 'ex' } })]);
    assert.equal(await waitForBound(api, 'default', 'ex-b'), 'ex-2');
  });

  it('keeps host ports apart', async () => {
    await createNodes(api, [makeNode('hp-1', { labels: { grp: 'hp' } }), makeNode('hp-2', { labels: { grp: 'hp' } })]);
    await podc().create(makePod('hp-a', { hostPort: 8080, spec: { nodeSelector: { grp: 'hp' } } }) as never);
    await podc().create(makePod('hp-b', { hostPort: 8080, spec: { nodeSelector: { grp: 'hp' } } }) as never);
    const a = await waitForBound(api, 'default', 'hp-a');
    const b = await waitForBound(api, 'default', 'hp-b');
    assert.notEqual(a, b);
    await podc().create(makePod('hp-c', { hostPort: 8080, spec: { nodeSelector: { grp: 'hp' } } }) as never);
    const msg = await waitForUnschedulable(api, 'default', 'hp-c');
    assert.match(msg, /2 node\(s\) didn't have free ports for the requested pod ports/);
  });

  it('applies required pod affinity and anti-affinity', async () => {
    await createNodes(api, [
      makeNode('af-1', { labels: { grp: 'af', zone: 'a' } }),
      makeNode('af-2', { labels: { grp: 'af', zone: 'b' } }),
      makeNode('af-3', { labels: { grp: 'af', zone: 'c' } }),
    ]);
    const sel = { nodeSelector: { grp: 'af' } };
    await podc().create(makePod('db', { labels: { app: 'db' }, spec: sel }) as never);
    const dbNode = await waitForBound(api, 'default', 'db');
    await podc().create(makePod('web', {
      labels: { app: 'web' },
      spec: { ...sel, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', labelSelector: { matchLabels: { app: 'db' } } }] } } },
    }) as never);
    assert.equal(await waitForBound(api, 'default', 'web'), dbNode);
    const anti = (n: string): Pod => makePod(n, {
      labels: { app: 'solo' },
      spec: { ...sel, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'solo' } } }] } } },
    });
    for (const n of ['solo-1', 'solo-2', 'solo-3']) await podc().create(anti(n) as never);
    const placed = await Promise.all(['solo-1', 'solo-2', 'solo-3'].map((n) => waitForBound(api, 'default', n)));
    assert.equal(new Set(placed).size, 3);
    await podc().create(anti('solo-4') as never);
    const msg = await waitForUnschedulable(api, 'default', 'solo-4');
    assert.match(msg, /node\(s\) didn't match pod anti-affinity rules/);
  });

  it('spreads across zones with a hard topology spread constraint', async () => {
    const zones = ['z1', 'z2', 'z3'];
    await createNodes(api, zones.flatMap((z) => [1, 2].map((i) => makeNode(`sp-${z}-${i}`, { labels: { grp: 'sp', 'topology.kubernetes.io/zone': z } }))));
    const names = Array.from({ length: 6 }, (_, i) => `spread-${i}`);
    for (const n of names) {
      await podc().create(makePod(n, {
        labels: { app: 'spread' },
        spec: { nodeSelector: { grp: 'sp' }, topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }] },
      }) as never);
    }
    const placed = await Promise.all(names.map((n) => waitForBound(api, 'default', n)));
    const perZone = new Map<string, number>();
    for (const node of placed) {
      const z = node.split('-')[1] ?? '';
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
    }
    assert.deepEqual([...perZone.values()].sort(), [2, 2, 2]);
  });
});

describe('scheduler preemption and profiles (integration)', () => {
  let server: TestServer;
  let api: ApiClient;
  let sched: RunningScheduler;
  let dir: string;

  before(async () => {
    setLogSink(null);
    server = await startServer({ args: ['--disable-scheduler'] });
    api = clientFor(server.kubeconfig);
    dir = mkdtempSync(join(tmpdir(), 'sched-cfg-'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, [
      'apiVersion: kubescheduler.config.k8s.io/v1',
      'kind: KubeSchedulerConfiguration',
      'leaderElection:',
      '  leaderElect: true',
      '  leaseDuration: 4s',
      '  renewDeadline: 3s',
      '  retryPeriod: 1s',
      'profiles:',
      '- schedulerName: default-scheduler',
      '- schedulerName: packer',
      '  plugins:',
      '    score:',
      '      disabled: [{name: NodeResourcesBalancedAllocation}]',
      '  pluginConfig:',
      '  - name: NodeResourcesFit',
      '    args:',
      '      scoringStrategy: {type: MostAllocated, resources: [{name: cpu, weight: 1}]}',
      '',
    ].join('\n'));
    sched = await startScheduler({ kubeconfig: server.kubeconfig, configFile: cfg });
  });

  after(async () => {
    await sched?.stop();
    api?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the kube-system/kube-scheduler Lease', async () => {
    const lease = await waitFor(async () => api.resource<Lease>(leases).get('kube-scheduler', { namespace: 'kube-system' }).catch(() => undefined), { what: 'scheduler lease' });
    assert.match(lease.spec?.holderIdentity ?? '', /_/);
  });

  it('a second profile (MostAllocated) packs pods while the default profile spreads them', async () => {
    await createNodes(api, [makeNode('pr-1', { cpu: '4', labels: { grp: 'pr' } }), makeNode('pr-2', { cpu: '4', labels: { grp: 'pr' } })]);
    const sel = { nodeSelector: { grp: 'pr' } };
    await api.resource<Pod>(pods).create(makePod('pack-0', { cpu: '1', spec: { ...sel, schedulerName: 'packer' } }));
    const first = await waitForBound(api, 'default', 'pack-0');
    for (const n of ['pack-1', 'pack-2']) {
      await api.resource<Pod>(pods).create(makePod(n, { cpu: '1', spec: { ...sel, schedulerName: 'packer' } }));
      assert.equal(await waitForBound(api, 'default', n), first, `${n} packed with pack-0`);
    }
    await api.resource<Pod>(pods).create(makePod('spread-0', { cpu: '1', spec: sel }));
    assert.notEqual(await waitForBound(api, 'default', 'spread-0'), first, 'the default profile prefers the emptier node');
    const ev = await waitFor(async () => (await api.resource<CoreEvent>(events).list({ namespace: 'default' })).items.find((e) => e.reason === 'Scheduled' && e.involvedObject.name === 'pack-0'), { what: 'event' });
    assert.equal(ev.source?.component, 'packer');
  });

  it('a pod for an unknown scheduler is left alone', async () => {
    await api.resource<Pod>(pods).create(makePod('other', { spec: { schedulerName: 'not-mine' } }));
    await new Promise((r) => setTimeout(r, 500));
    const p = await api.resource<Pod>(pods).get('other', { namespace: 'default' });
    assert.equal(p.spec?.nodeName, undefined);
    assert.equal(p.status?.conditions?.find((c) => c.type === 'PodScheduled'), undefined);
  });

  it('preempts a lower-priority pod, nominates the node, and binds once the victim is gone', async () => {
    for (const [name, value] of [['low', 100], ['high', 1000]] as const) {
      await api.resource(priorityClasses).create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value } as never);
    }
    await createNodes(api, [makeNode('pe-1', { cpu: '1', labels: { grp: 'pe' } })]);
    const sel = { nodeSelector: { grp: 'pe' } };
    await api.resource<Pod>(pods).create(makePod('victim', { cpu: '800m', spec: { ...sel, priorityClassName: 'low', priority: 100 } }));
    assert.equal(await waitForBound(api, 'default', 'victim'), 'pe-1');
    await api.resource<Pod>(pods).create(makePod('preemptor', { cpu: '800m', spec: { ...sel, priorityClassName: 'high', priority: 1000 } }));
    // The victim is deleted gracefully; with no agent, play the kubelet and finish the deletion.
    const victim = await waitFor(async () => {
      const v = await api.resource<Pod>(pods).get('victim', { namespace: 'default' }).catch(() => undefined);
      return v?.metadata?.deletionTimestamp ? v : undefined;
    }, { what: 'victim terminating' });
    assert.equal(victim.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason, 'PreemptionByScheduler');
    const nominated = await waitFor(async () => (await api.resource<Pod>(pods).get('preemptor', { namespace: 'default' })).status?.nominatedNodeName, { what: 'nominatedNodeName' });
    assert.equal(nominated, 'pe-1');
    await api.resource<Pod>(pods).delete('victim', { namespace: 'default', gracePeriodSeconds: 0 });
    assert.equal(await waitForBound(api, 'default', 'preemptor'), 'pe-1');
    const ev = await waitFor(async () => (await api.resource<CoreEvent>(events).list({ namespace: 'default' })).items.find((e) => e.reason === 'Preempted' && e.involvedObject.name === 'victim'), { what: 'Preempted event' });
    assert.match(ev.message ?? '', /^Preempted by pod .+ on node pe-1$/);
  });

  it('a pod that cannot preempt (preemptionPolicy Never) stays pending with the upstream message', async () => {
    await createNodes(api, [makeNode('pn-1', { cpu: '1', labels: { grp: 'pn' } })]);
    await api.resource<Pod>(pods).create(makePod('pn-low', { cpu: '800m', spec: { nodeSelector: { grp: 'pn' }, priorityClassName: 'low', priority: 100 } }));
    await waitForBound(api, 'default', 'pn-low');
    // Upstream's Priority admission takes preemptionPolicy from the PriorityClass (a pod may not contradict it).
    await api.resource(priorityClasses).create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high-never' }, value: 1000, preemptionPolicy: 'Never' } as never);
    await api.resource<Pod>(pods).create(makePod('pn-high', { cpu: '800m', spec: { nodeSelector: { grp: 'pn' }, priorityClassName: 'high-never' } }));
    const msg = await waitForUnschedulable(api, 'default', 'pn-high');
    assert.match(msg, /^0\/\d+ nodes are available: 1 Insufficient cpu, .*\. preemption: not eligible due to preemptionPolicy=Never\.\.$/);
  });
});
