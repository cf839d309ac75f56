/**
 * Controller manager against a real `skiff server`, driven by real kubectl. The scheduler and node agent are
 * stood in for by the test-only fake kubelet beside this file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { waitFor } from '../../src/base/wait.ts';
import { setLogSink } from '../../src/base/log.ts';
import { ApiClient, clientConfigFromKubeconfig, RestClient } from '../../src/client/index.ts';
import { pods as podsDef } from '../../src/api/core/v1/index.ts';
import { replicaSets as rsDef } from '../../src/api/apps/v1/replica-set.ts';
import { deployments as deployDef } from '../../src/api/apps/v1/deployment.ts';
import { startControllerManager } from '../../src/controllers/index.ts';
import type { RunningControllerManager } from '../../src/controllers/index.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { startFakeKubelet } from './controllers-fake-kubelet.ts';
import type { FakeKubelet } from './controllers-fake-kubelet.ts';

let server: TestServer;
let kubectl: Kubectl;
let api: ApiClient;
let cm: RunningControllerManager;
let kubelet: FakeKubelet;

function yaml(obj: unknown): string {
  return JSON.stringify(obj);
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function ownedPods(ns: string, ownerUid: string | undefined): Promise<Pod[]> {
  return api.resource<Pod>(podsDef).list({ namespace: ns }).then((l) => l.items.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === ownerUid)));
}

before(async () => {
  setLogSink(process.env.SKIFF_TEST_LOGS ? (l) => process.stderr.write(l + '\n') : null);
  server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
  kubectl = kubectlFor(server);
  api = new ApiClient(new RestClient(clientConfigFromKubeconfig(server.kubeconfig)));
  cm = await startControllerManager({ kubeconfig: server.kubeconfig, retryPeriodMs: 500, renewDeadlineMs: 2000, leaseDurationMs: 3000 });
  kubelet = await startFakeKubelet({ client: api, outcome: (p) => (p.metadata?.labels?.['fake-outcome'] as 'run' | 'succeed' | 'fail' | 'pending' | undefined) ?? 'run' });
  assert.equal(await cm.waitUntilRunning(AbortSignal.timeout(20_000)), true);
});

after(async () => {
  await kubelet?.stop();
  await cm?.stop();
  api?.close();
  kubectl?.cleanup();
  await server?.stop();
});

describe('ReplicaSet controller', () => {
  it('creates pods with generateName and a controllerRef, reports status, scales down', async () => {
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'frontend', namespace: 'default' },
      spec: { replicas: 3, selector: { matchLabels: { tier: 'frontend' } }, template: { metadata: { labels: { tier: 'frontend' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    await ok(['create', '-f', '-'], yaml(rs));
    const got = await waitFor(async () => {
      const r = await api.resource<ReplicaSet>(rsDef).get('frontend', { namespace: 'default' });
      return r.status?.readyReplicas === 3 && r.status.availableReplicas === 3 && r.status.fullyLabeledReplicas === 3 && r.status.observedGeneration === r.metadata?.generation ? r : undefined;
    }, { timeoutMs: 20_000, what: 'replicaset ready' });
    const pods = await ownedPods('default', got.metadata?.uid);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata?.name ?? '', /^frontend-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'frontend', uid: got.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await ok(['scale', 'rs/frontend', '--replicas=1']);
    await waitFor(async () => (await ownedPods('default', got.metadata?.uid)).length === 1, { timeoutMs: 20_000, what: 'scale down to 1' });
    const ev = await waitFor(async () => {
      const out = await ok(['get', 'events', '--field-selector', 'involvedObject.name=frontend', '-o', 'jsonpath={.items[*].reason}']);
      return out.includes('SuccessfulCreate') && out.includes('SuccessfulDelete') ? out : undefined;
    }, { timeoutMs: 10_000, what: 'events' });
    assert.ok(ev);
  });

  it('adopts a matching orphan pod and releases a pod whose labels stop matching', async () => {
    await ok(['run', 'orphan', '--image=nginx', '--labels=app=adopt']);
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'adopter', namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'adopt' } }, template: { metadata: { labels: { app: 'adopt' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    await ok(['create', '-f', '-'], yaml(rs));
    const owner = await api.resource<ReplicaSet>(rsDef).get('adopter', { namespace: 'default' });
    await waitFor(async () => {
      const p = await api.resource<Pod>(podsDef).get('orphan', { namespace: 'default' });
      return p.metadata?.ownerReferences?.[0]?.uid === owner.metadata?.uid;
    }, { timeoutMs: 15_000, what: 'adoption' });
    // Adopted, so no second pod is created.
    await waitFor(async () => (await api.resource<ReplicaSet>(rsDef).get('adopter', { namespace: 'default' })).status?.readyReplicas === 1, { timeoutMs: 15_000, what: 'status' });
    assert.equal((await ownedPods('default', owner.metadata?.uid)).length, 1);
    await ok(['label', 'pod', 'orphan', 'app=other', '--overwrite']);
    await waitFor(async () => {
      const p = await api.resource<Pod>(podsDef).get('orphan', { namespace: 'default' });
      return (p.metadata?.ownerReferences ?? []).length === 0;
    }, { timeoutMs: 15_000, what: 'release' });
    await waitFor(async () => (await ownedPods('default', owner.metadata?.uid)).length === 1, { timeoutMs: 15_000, what: 'replacement pod' });
  });
});

/**
 * Runs a kubectl verb that sends a strategic-merge patch; until the API server accepts that content type (being
 * finished by another helper) it falls back to the equivalent merge patch, so the controller is still exercised.
 */
async function smp(args: string[], fallback: unknown): Promise<void> {
  const r = await kubectl(args);
  if (r.code === 0) return;
  assert.match(r.stderr, /strategic-merge-patch/, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  const target = args.find((a) => a.includes('/'))!;
  await ok(['patch', target, '--type=merge', '-p', JSON.stringify(fallback)]);
}

function setImage(target: string, container: string, image: string): Promise<void> {
  return smp(['set', 'image', target, `${container}=${image}`], { spec: { template: { spec: { containers: [{ name: container, image }] } } } });
}

function getDeploy(name: string, ns = 'default'): Promise<Deployment> {
  return api.resource<Deployment>(deployDef).get(name, { namespace: ns });
}

function deployRSs(ns: string, uid: string | undefined): Promise<ReplicaSet[]> {
  return api.resource<ReplicaSet>(rsDef).list({ namespace: ns }).then((l) => l.items.filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === uid)));
}

describe('Deployment controller', () => {
  it('create, rollout status, scale, set image, history, undo, pause/resume, restart', async () => {
    await ok(['create', 'deployment', 'web', '--image=nginx:1.26', '--replicas=3']);
    const st = await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    assert.match(st, /deployment "web" successfully rolled out/);
    let d = await getDeploy('web');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(d.status?.availableReplicas, 3);
    assert.equal(d.status?.conditions?.find((c) => c.type === 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(d.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
    let rss = await deployRSs('default', d.metadata?.uid);
    assert.equal(rss.length, 1);
    const first = rss[0]!;
    const hash = first.metadata?.labels?.['pod-template-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.equal(first.metadata?.name, `web-${hash}`);
    assert.equal(first.spec?.selector?.matchLabels?.['pod-template-hash'], hash);
    assert.equal(first.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(first.metadata?.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    const events = await ok(['get', 'events', '--field-selector', 'involvedObject.name=web,reason=ScalingReplicaSet', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events, new RegExp(`Scaled up replica set web-${hash} from 0 to 3`));

    await ok(['scale', 'deployment/web', '--replicas=5']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    assert.equal((await deployRSs('default', d.metadata?.uid)).find((r) => r.metadata?.uid === first.metadata?.uid)?.spec?.replicas, 5);

    await setImage('deployment/web', 'nginx', 'nginx:1.27');
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    d = await getDeploy('web');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(d.status?.updatedReplicas, 5);
    rss = await deployRSs('default', d.metadata?.uid);
    assert.equal(rss.length, 2);
    assert.equal(rss.find((r) => r.metadata?.uid === first.metadata?.uid)?.spec?.replicas, 0);
    const pods = (await api.resource<Pod>(podsDef).list({ namespace: 'default', labelSelector: 'app=web' })).items;
    assert.equal(pods.length, 5);
    assert.ok(pods.every((p) => p.spec?.containers[0]?.image === 'nginx:1.27'));

    const hist = await ok(['rollout', 'history', 'deployment/web']);
    assert.match(hist, /^1\s/m);
    assert.match(hist, /^2\s/m);

    await ok(['rollout', 'undo', 'deployment/web']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    d = await getDeploy('web');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    rss = await deployRSs('default', d.metadata?.uid);
    assert.equal(rss.length, 2, 'undo reuses the old ReplicaSet');
    const reused = rss.find((r) => r.metadata?.uid === first.metadata?.uid);
    assert.equal(reused?.spec?.replicas, 5);
    assert.equal(reused?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(reused?.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');

    await smp(['rollout', 'pause', 'deployment/web'], { spec: { paused: true } });
    await waitFor(async () => (await getDeploy('web')).status?.conditions?.find((c) => c.type === 'Progressing')?.reason === 'DeploymentPaused', { timeoutMs: 10_000, what: 'paused condition' });
    await setImage('deployment/web', 'nginx', 'nginx:1.28');
    // Paused: no new ReplicaSet appears while the generation is observed.
    await waitFor(async () => {
      const x = await getDeploy('web');
      return x.status?.observedGeneration === x.metadata?.generation;
    }, { timeoutMs: 10_000, what: 'observed while paused' });
    assert.equal((await deployRSs('default', d.metadata?.uid)).length, 2);
    await smp(['rollout', 'resume', 'deployment/web'], { spec: { paused: null } });
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    assert.equal((await deployRSs('default', d.metadata?.uid)).length, 3);

    await smp(['rollout', 'restart', 'deployment/web'], { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } });
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    d = await getDeploy('web');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '5');
    assert.equal((await deployRSs('default', d.metadata?.uid)).length, 4);
  });

  it('keeps revisionHistoryLimit old ReplicaSets', async () => {
    await ok(['create', 'deployment', 'hist', '--image=busybox:1', '--replicas=1']);
    await ok(['patch', 'deployment/hist', '--type=merge', '-p', '{"spec":{"revisionHistoryLimit":1}}']);
    for (const v of ['2', '3', '4']) {
      await setImage('deployment/hist', 'busybox', `busybox:${v}`);
      await ok(['rollout', 'status', 'deployment/hist', '--timeout=60s']);
    }
    const d = await getDeploy('hist');
    await waitFor(async () => (await deployRSs('default', d.metadata?.uid)).length === 2, { timeoutMs: 15_000, what: 'cleanup to 1 old + new' });
    const revs = (await deployRSs('default', d.metadata?.uid)).map((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision']).sort();
    assert.deepEqual(revs, ['3', '4']);
  });

  it('Recreate strategy scales the old ReplicaSet to zero before the new one comes up', async () => {
    await ok(['create', 'deployment', 'rec', '--image=nginx:1', '--replicas=2']);
    await ok(['patch', 'deployment/rec', '--type=merge', '-p', '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}']);
    await ok(['rollout', 'status', 'deployment/rec', '--timeout=60s']);
    await setImage('deployment/rec', 'nginx', 'nginx:2');
    await ok(['rollout', 'status', 'deployment/rec', '--timeout=60s']);
    const d = await getDeploy('rec');
    const rss = await deployRSs('default', d.metadata?.uid);
    assert.deepEqual(rss.map((r) => r.spec?.replicas).sort(), [0, 2]);
    const events = await ok(['get', 'events', '--field-selector', 'involvedObject.name=rec,reason=ScalingReplicaSet', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    const lines = events.trim().split('\n');
    const down = lines.findIndex((l) => /Scaled down replica set .* from 2 to 0/.test(l));
    const up = lines.findIndex((l, i) => i > 0 && /Scaled up replica set .* from 0 to 2/.test(l));
    assert.ok(down >= 0 && up > down, events);
  });

  // Nothing but the controller's requeue at the deadline looks at this Deployment again (its pod stays Pending): it
  // hung whenever that delayed add was lost (the work queue dropped a timer that fired a millisecond early by Date.now()).
  it('reports ProgressDeadlineExceeded when pods never become ready', async () => {
    const dep: Deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'stuck', namespace: 'default' },
      spec: {
        replicas: 1, progressDeadlineSeconds: 2, selector: { matchLabels: { app: 'stuck' } },
        template: { metadata: { labels: { app: 'stuck', 'fake-outcome': 'pending' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    };
    await ok(['create', '-f', '-'], yaml(dep));
    // kubectl's own --timeout decides (the runner's default kill after 30 s cut it short before).
    const r = await kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=60s'], { timeoutMs: 90_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exceeded its progress deadline/);
    const d = await getDeploy('stuck');
    const c = d.status?.conditions?.find((x) => x.type === 'Progressing');
    assert.equal(c?.status, 'False');
    assert.equal(c?.reason, 'ProgressDeadlineExceeded');
  });
});

describe('garbage collector', () => {
  async function deployWithPods(name: string): Promise<{ d: Deployment; rs: ReplicaSet }> {
    await ok(['create', 'deployment', name, '--image=nginx', '--replicas=2']);
    await ok(['rollout', 'status', `deployment/${name}`, '--timeout=60s']);
    const d = await getDeploy(name);
    const rs = (await deployRSs('default', d.metadata?.uid))[0]!;
    return { d, rs };
  }

  it('delete --cascade=background removes the ReplicaSet and its pods', async () => {
    const { rs } = await deployWithPods('gc-bg');
    await ok(['delete', 'deployment', 'gc-bg', '--cascade=background']);
    await waitFor(async () => (await api.resource<ReplicaSet>(rsDef).list({ namespace: 'default' })).items.every((r) => r.metadata?.uid !== rs.metadata?.uid), { timeoutMs: 20_000, what: 'rs collected' });
    await waitFor(async () => (await ownedPods('default', rs.metadata?.uid)).length === 0, { timeoutMs: 20_000, what: 'pods collected' });
  });

  it('delete --cascade=foreground waits for the dependents, then removes the owner', async () => {
    const { rs } = await deployWithPods('gc-fg');
    await ok(['delete', 'deployment', 'gc-fg', '--cascade=foreground', '--timeout=60s']);
    // kubectl waited for the deployment to be gone, which the foreground finalizer only allows after its dependents.
    assert.equal((await ownedPods('default', rs.metadata?.uid)).length, 0);
    const left = (await api.resource<ReplicaSet>(rsDef).list({ namespace: 'default' })).items.filter((r) => r.metadata?.uid === rs.metadata?.uid);
    assert.equal(left.length, 0);
  });

  it('delete --cascade=orphan keeps the ReplicaSet without its ownerReference', async () => {
    const { rs } = await deployWithPods('gc-or');
    await ok(['delete', 'deployment', 'gc-or', '--cascade=orphan', '--timeout=60s']);
    const after = await api.resource<ReplicaSet>(rsDef).get(rs.metadata!.name!, { namespace: 'default' });
    assert.equal(after.metadata?.uid, rs.metadata?.uid);
    assert.deepEqual(after.metadata?.ownerReferences ?? [], []);
    assert.equal((await ownedPods('default', rs.metadata?.uid)).length, 2);
    await ok(['delete', 'rs', rs.metadata!.name!]);
  });

  it('collects an object whose owner does not exist (dangling reference)', async () => {
    await ok(['create', 'configmap', 'dangling', '--from-literal=a=b']);
    await ok(['patch', 'configmap', 'dangling', '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nope', uid: '00000000-0000-0000-0000-000000000001' }] } })]);
    await waitFor(async () => (await kubectl(['get', 'configmap', 'dangling'])).code !== 0, { timeoutMs: 15_000, what: 'dangling collected' });
  });
});

describe('namespace and serviceaccount controllers', () => {
  it('creates the default ServiceAccount, and deleting a namespace deletes its content then the namespace', async () => {
    await ok(['create', 'namespace', 'doomed']);
    await waitFor(async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', 'doomed'])).code === 0, { timeoutMs: 15_000, what: 'default SA' });
    await ok(['create', 'deployment', 'web', '--image=nginx', '--replicas=2', '-n', 'doomed']);
    await ok(['create', 'configmap', 'cfg', '--from-literal=a=b', '-n', 'doomed']);
    await ok(['rollout', 'status', 'deployment/web', '-n', 'doomed', '--timeout=60s']);
    await ok(['delete', 'namespace', 'doomed', '--timeout=60s']);
    const r = await kubectl(['get', 'namespace', 'doomed']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not found/);
    assert.equal((await api.resource<Pod>(podsDef).list({ namespace: 'doomed' })).items.length, 0);
  });

  it('re-creates a deleted default ServiceAccount', async () => {
    await waitFor(async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', 'default'])).code === 0, { timeoutMs: 15_000, what: 'default SA in default' });
    const before = JSON.parse(await ok(['get', 'serviceaccount', 'default', '-o', 'json'])) as { metadata: { uid: string } };
    await ok(['delete', 'serviceaccount', 'default']);
    await waitFor(async () => {
      const r = await kubectl(['get', 'serviceaccount', 'default', '-o', 'json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { metadata: { uid: string } }).metadata.uid !== before.metadata.uid;
    }, { timeoutMs: 15_000, what: 'SA re-created' });
  });
});

describe('leader election', () => {
  it('runs one active manager; a standby takes over mid-rollout and finishes it', async () => {
    const standby = await startControllerManager({ kubeconfig: server.kubeconfig, retryPeriodMs: 500, renewDeadlineMs: 2000, leaseDurationMs: 3000 });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(cm.isLeader(), true);
      assert.equal(standby.isLeader(), false);
      const lease = JSON.parse(await ok(['get', 'lease', 'kube-controller-manager', '-n', 'kube-system', '-o', 'json'])) as { spec: { holderIdentity: string } };
      assert.ok(lease.spec.holderIdentity);
      await ok(['create', 'deployment', 'handover', '--image=nginx:1', '--replicas=4']);
      await ok(['rollout', 'status', 'deployment/handover', '--timeout=60s']);
      await setImage('deployment/handover', 'nginx', 'nginx:2');
      await cm.stop();
      assert.equal(await standby.waitUntilRunning(AbortSignal.timeout(20_000)), true);
      await ok(['rollout', 'status', 'deployment/handover', '--timeout=60s']);
      const pods = (await api.resource<Pod>(podsDef).list({ namespace: 'default', labelSelector: 'app=handover' })).items;
      assert.equal(pods.length, 4);
      assert.ok(pods.every((p) => p.spec?.containers[0]?.image === 'nginx:2'));
    } finally {
      await standby.stop();
    }
  });
});
