/**
 * Endpoints, EndpointSlice, node lifecycle (heartbeats, taints, taint eviction), node IPAM and disruption
 * controllers against a real `skiff server`, driven by real kubectl; the fake kubelet runs pods and heartbeats.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { waitFor } from '../../src/base/wait.ts';
import { setLogSink } from '../../src/base/log.ts';
import { ApiClient, clientConfigFromKubeconfig, codeOf, RestClient } from '../../src/client/index.ts';
import { endpoints as epDef, nodes as nodesDef, pods as podsDef } from '../../src/api/core/v1/index.ts';
import { endpointSlices as sliceDef } from '../../src/api/discovery/v1/endpoint-slice.ts';
import { podDisruptionBudgets as pdbDef } from '../../src/api/policy/v1/pod-disruption-budget.ts';
import { startControllerManager } from '../../src/controllers/index.ts';
import type { RunningControllerManager } from '../../src/controllers/index.ts';
import { newNodeLifecycleController } from '../../src/controllers/nodelifecycle/nodelifecycle-controller.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { startFakeKubelet } from './controllers-fake-kubelet.ts';
import type { FakeKubelet } from './controllers-fake-kubelet.ts';

let server: TestServer;
let kubectl: Kubectl;
let api: ApiClient;
let cm: RunningControllerManager;
let kubelet: FakeKubelet;
const nodeNames = ['fake-node-1', 'fake-node-2', 'fake-node-3'];

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? { timeoutMs: 150_000 } : { input, timeoutMs: 150_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const pods = async (selector: string): Promise<Pod[]> => (await api.resource<Pod>(podsDef).list({ namespace: 'default', labelSelector: selector })).items;
const live = async (selector: string): Promise<Pod[]> => (await pods(selector)).filter((p) => !p.metadata?.deletionTimestamp);

function deployment(name: string, replicas: number, extra: Partial<NonNullable<NonNullable<Deployment['spec']>['template']['spec']>> = {}): string {
  const d: Deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }], ...extra } },
    },
  };
  return JSON.stringify(d);
}

before(async () => {
  setLogSink(process.env.SKIFF_TEST_LOGS ? (l) => process.stderr.write(l + '\n') : null);
  server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
  kubectl = kubectlFor(server);
  api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  kubelet = await startFakeKubelet({ client: api, nodeNames, heartbeatMs: 500 });
  cm = await startControllerManager({
    kubeconfig: server.kubeconfig, leaderElect: false,
    controllers: ['deployment', 'replicaset', 'endpoint', 'endpointslice', 'nodelifecycle', 'taint-eviction-controller', 'nodeipam', 'disruption', 'garbage-collector'],
    // The 40 s grace period shortened so that the test does not wait for it (heartbeats every 0.5 s).
    factories: { nodelifecycle: (ctx) => newNodeLifecycleController(ctx, { gracePeriodMs: 8000, monitorPeriodMs: 500 }) },
  });
  assert.equal(await cm.waitUntilRunning(AbortSignal.timeout(20_000)), true);
});

after(async () => {
  await kubelet?.stop();
  await cm?.stop();
  api?.close();
  kubectl?.cleanup();
  await server?.stop();
});

describe('Endpoints and EndpointSlice controllers', () => {
  it('publish the ready pods of a Service with named ports resolved, and follow readiness', async () => {
    await ok(['create', '-f', '-'], deployment('web', 3));
    await ok(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', labels: { tier: 'front' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
    await ok(['create', '-f', '-'], JSON.stringify(svc));
    const ep = await waitFor(async () => {
      const e = await api.resource<Endpoints>(epDef).get('web', { namespace: 'default' }).catch(() => undefined);
      return e?.subsets?.[0]?.addresses?.length === 3 ? e : undefined;
    }, { timeoutMs: 45_000, what: 'endpoints with 3 addresses' });
    assert.deepEqual(ep.subsets?.[0]?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.equal(ep.metadata?.labels?.tier, 'front');
    const podIPs = (await live('app=web')).map((p) => p.status?.podIP).sort();
    assert.deepEqual(ep.subsets?.[0]?.addresses?.map((a) => a.ip).sort(), podIPs);
    for (const a of ep.subsets?.[0]?.addresses ?? []) {
      assert.equal(a.targetRef?.kind, 'Pod');
      assert.ok(a.nodeName?.startsWith('fake-node-'));
    }
    const slices = await waitFor(async () => {
      const l = (await api.resource<EndpointSlice>(sliceDef).list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items;
      return l.length === 1 && l[0]!.endpoints.length === 3 ? l : undefined;
    }, { timeoutMs: 45_000, what: 'one slice with 3 endpoints' });
    const slice = slices[0]!;
    assert.equal(slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.metadata?.labels?.tier, 'front');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.equal(slice.metadata?.ownerReferences?.[0]?.kind, 'Service');
    for (const e of slice.endpoints) assert.deepEqual(e.conditions, { ready: true, serving: true, terminating: false });
    // kubectl shows them.
    assert.match(await ok(['get', 'endpoints', 'web']), /8080/);

    // One pod turns unready: it moves to notReadyAddresses, and its slice endpoint to ready=false.
    const victim = (await live('app=web'))[0]!;
    const conds = (victim.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const } : c));
    await api.resource<Pod>(podsDef).patch(victim.metadata!.name!, { status: { conditions: conds } }, { type: 'merge', namespace: 'default', subresource: 'status' });
    await waitFor(async () => {
      const e = await api.resource<Endpoints>(epDef).get('web', { namespace: 'default' });
      return e.subsets?.[0]?.notReadyAddresses?.[0]?.ip === victim.status?.podIP && e.subsets?.[0]?.addresses?.length === 2;
    }, { timeoutMs: 45_000, what: 'unready address' });
    await waitFor(async () => {
      const l = (await api.resource<EndpointSlice>(sliceDef).list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items;
      const e = l[0]?.endpoints.find((x) => x.targetRef?.uid === victim.metadata?.uid);
      return e?.conditions?.ready === false && e.conditions.serving === false;
    }, { timeoutMs: 45_000, what: 'unready slice endpoint' });
  });

  it('marks headless Services and publishes pod hostnames of their subdomain', async () => {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-0', namespace: 'default', labels: { app: 'db' } }, spec: { hostname: 'db-0', subdomain: 'db', containers: [{ name: 'c', image: 'postgres' }] } };
    await ok(['create', '-f', '-'], JSON.stringify(pod));
    const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } };
    await ok(['create', '-f', '-'], JSON.stringify(svc));
    const ep = await waitFor(async () => {
      const e = await api.resource<Endpoints>(epDef).get('db', { namespace: 'default' }).catch(() => undefined);
      return e?.subsets?.[0]?.addresses?.length === 1 ? e : undefined;
    }, { timeoutMs: 45_000, what: 'headless endpoints' });
    assert.equal(ep.metadata?.labels?.['service.kubernetes.io/headless'], '');
    assert.equal(ep.subsets?.[0]?.addresses?.[0]?.hostname, 'db-0');
    const slice = await waitFor(async () => (await api.resource<EndpointSlice>(sliceDef).list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=db' })).items.find((s) => s.endpoints.length === 1), { timeoutMs: 45_000, what: 'headless slice' });
    assert.equal(slice.metadata?.labels?.['service.kubernetes.io/headless'], '');
    assert.equal(slice.endpoints[0]?.hostname, 'db-0');
    await ok(['delete', 'pod', 'db-0']);
    await ok(['delete', 'service', 'db']);
  });

  it('keeps a placeholder slice for a Service without pods and removes endpoints of a deleted Service', async () => {
    await ok(['create', 'service', 'clusterip', 'empty', '--tcp=80:8080']);
    const slice = await waitFor(async () => (await api.resource<EndpointSlice>(sliceDef).list({ namespace: 'default', labelSelector: 'kubernetes.io/service-name=empty' })).items[0], { timeoutMs: 45_000, what: 'placeholder slice' });
    assert.deepEqual(slice.endpoints ?? [], []);
    await waitFor(async () => (await api.resource<Endpoints>(epDef).get('empty', { namespace: 'default' }).catch(() => undefined)) !== undefined, { timeoutMs: 45_000, what: 'empty endpoints' });
    await ok(['delete', 'service', 'empty']);
    await waitFor(async () => (await api.resource<Endpoints>(epDef).get('empty', { namespace: 'default' }).catch((e: unknown) => codeOf(e))) === 404, { timeoutMs: 45_000, what: 'endpoints deleted' });
  });

  it('points the kubernetes Service at the API server', async () => {
    const port = Number(new URL(server.url).port);
    const ep = await waitFor(async () => (await api.resource<Endpoints>(epDef).get('kubernetes', { namespace: 'default' }).catch(() => undefined)), { timeoutMs: 45_000, what: 'kubernetes endpoints' });
    assert.deepEqual(ep.subsets, [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port, protocol: 'TCP' }] }]);
    const slice = await waitFor(async () => (await api.resource<EndpointSlice>(sliceDef).get('kubernetes', { namespace: 'default' }).catch(() => undefined)), { timeoutMs: 45_000, what: 'kubernetes slice' });
    assert.deepEqual(slice.endpoints.map((e) => e.addresses), [['127.0.0.1']]);
    assert.equal(slice.ports?.[0]?.port, port);
  });
});

describe('Node IPAM', () => {
  it('assigns each node its own /24 of 10.42.0.0/16', async () => {
    const cidrs = await waitFor(async () => {
      const ns = (await api.resource<Node>(nodesDef).list()).items;
      const c = ns.map((n) => n.spec?.podCIDR);
      return c.every((x) => x) && c.length === nodeNames.length ? ns : undefined;
    }, { timeoutMs: 45_000, what: 'podCIDRs' });
    const seen = new Set<string>();
    for (const n of cidrs) {
      assert.match(n.spec?.podCIDR ?? '', /^10\.42\.\d{1,3}\.0\/24$/);
      assert.deepEqual(n.spec?.podCIDRs, [n.spec?.podCIDR]);
      seen.add(n.spec!.podCIDR!);
    }
    assert.equal(seen.size, nodeNames.length);
  });
});

describe('Node lifecycle', () => {
  it('a node that stops heartbeating goes Unknown, gets the unreachable taints and its pods are replaced elsewhere', async () => {
    await ok(['create', '-f', '-'], deployment('resilient', 3, { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }] }));
    await ok(['rollout', 'status', 'deployment/resilient', '--timeout=120s']);
    const before = await live('app=resilient');
    const victimNode = before[0]!.spec!.nodeName!;
    const doomed = before.filter((p) => p.spec?.nodeName === victimNode).map((p) => p.metadata?.name);
    kubelet.setHeartbeat!(victimNode, false);
    const node = await waitFor(async () => {
      const n = await api.resource<Node>(nodesDef).get(victimNode);
      return (n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
    }, { timeoutMs: 45_000, what: 'unreachable taint' });
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'Unknown');
    assert.equal(ready?.reason, 'NodeStatusUnknown');
    assert.equal(ready?.message, 'Kubelet stopped posting node status.');
    assert.ok((node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule' && t.timeAdded));
    // After the 2 s toleration the pods there are evicted and the ReplicaSet replaces them on healthy nodes.
    await waitFor(async () => {
      const now = await live('app=resilient');
      return now.length === 3 && now.every((p) => p.spec?.nodeName && p.spec.nodeName !== victimNode && p.status?.phase === 'Running') && !now.some((p) => doomed.includes(p.metadata?.name));
    // 60 s: eviction now goes through the zone-aware rate limiter (0.1 node/s), and this ran past 30 s once under
    // full-suite load.
    }, { timeoutMs: 60_000, what: 'pods replaced elsewhere' });
    const reasons = await ok(['get', 'events', '-A', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(reasons, /TaintManagerEviction/);
    assert.match(reasons, /NodeNotReady/);
    // The heartbeat comes back: Ready again, taints gone.
    kubelet.setHeartbeat!(victimNode, true);
    await waitFor(async () => {
      const n = await api.resource<Node>(nodesDef).get(victimNode);
      return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && !(n.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/unreachable'));
    }, { timeoutMs: 45_000, what: 'node healthy again' });
  });
});

describe('Disruption controller and eviction', () => {
  it('computes PodDisruptionBudget status for minAvailable and maxUnavailable', async () => {
    await ok(['create', '-f', '-'], deployment('guarded', 3));
    await ok(['rollout', 'status', 'deployment/guarded', '--timeout=120s']);
    await ok(['create', 'poddisruptionbudget', 'guarded-min', '--selector=app=guarded', '--min-available=2']);
    const pdb = await waitFor(async () => {
      const p = await api.resource<PodDisruptionBudget>(pdbDef).get('guarded-min', { namespace: 'default' });
      return p.status?.observedGeneration === p.metadata?.generation && p.status?.expectedPods === 3 ? p : undefined;
    }, { timeoutMs: 45_000, what: 'pdb status' });
    assert.equal(pdb.status?.currentHealthy, 3);
    assert.equal(pdb.status?.desiredHealthy, 2);
    assert.equal(pdb.status?.disruptionsAllowed, 1);
    const cond = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'SufficientPods');
    await ok(['delete', 'pdb', 'guarded-min']);
    await ok(['create', 'poddisruptionbudget', 'guarded-max', '--selector=app=guarded', '--max-unavailable=50%']);
    const pdb2 = await waitFor(async () => {
      const p = await api.resource<PodDisruptionBudget>(pdbDef).get('guarded-max', { namespace: 'default' });
      return p.status?.observedGeneration === p.metadata?.generation ? p : undefined;
    }, { timeoutMs: 45_000, what: 'pdb2 status' });
    // 50% of the Deployment's 3 replicas, rounded up: 2 may be unavailable.
    assert.equal(pdb2.status?.expectedPods, 3);
    assert.equal(pdb2.status?.desiredHealthy, 1);
    assert.equal(pdb2.status?.disruptionsAllowed, 2);
    assert.match(await ok(['get', 'pdb', 'guarded-max']), /guarded-max\s+N\/A\s+50%\s+2/);
    await ok(['delete', 'pdb', 'guarded-max']);
  });

  it('kubectl drain cordons a node and evicts its pods within the budget', async (t) => {
    // The eviction subresource is wired into the server by the lead (src/apiserver/eviction.ts).
    const some = (await live('app=guarded'))[0]!.metadata!.name!;
    const probe = await api.resource<Pod>(podsDef).createSubresource(some, 'eviction', { namespace: 'default', dryRun: true, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: some, namespace: 'default' } } }).catch((e: unknown) => e);
    if (probe instanceof Error && /could not find the requested resource/.test(probe.message)) {
      t.skip('pods/eviction is not served yet');
      return;
    }
    await ok(['create', 'poddisruptionbudget', 'guarded', '--selector=app=guarded', '--min-available=2']);
    await waitFor(async () => (await api.resource<PodDisruptionBudget>(pdbDef).get('guarded', { namespace: 'default' })).status?.disruptionsAllowed === 1, { timeoutMs: 45_000, what: 'budget ready' });
    const target = (await live('app=guarded'))[0]!.spec!.nodeName!;
    const out = await ok(['drain', target, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=90s']);
    assert.match(out, /evicted/);
    const n = await api.resource<Node>(nodesDef).get(target);
    assert.equal(n.spec?.unschedulable, true);
    assert.ok(!(await live('app=guarded')).some((p) => p.spec?.nodeName === target));
    await ok(['uncordon', target]);
  });
});
