/**
 * The node agent on the process runtime against a real server, driven by the real kubectl: node registration
 * and heartbeats, pods to Running, restarts with CrashLoopBackOff, probes, graceful deletion with preStop,
 * configuration errors that recover, volumes and environment, and adoption after an agent restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { waitFor } from '../../src/base/wait.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { processesWith, startAgentCluster } from './agent-helpers.ts';
import { pods } from '../../src/api/core/v1/index.ts';
import { watchHistory } from './helpers/watch-history.ts';

const marker = `skiff-agent-${process.pid}-${Date.now()}`;

function podYaml(name: string, script: string, extra: { pod?: string; container?: string } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: node-1
${extra.pod ?? ''}  containers:
  - name: main
    image: debian
    command: ["sh", "-c", ${JSON.stringify(`# ${marker}\n${script}`)}]
${extra.container ?? ''}`;
}

describe('node agent (process runtime)', { timeout: 240_000 }, () => {
  let c: AgentCluster;
  let work: string;

  before(async () => {
    c = await startAgentCluster({ backoff: { initialMs: 1000, maxMs: 8000, resetAfterMs: 600_000 }, volumeResyncMs: 1000 });
    work = mkdtempSync(join(tmpdir(), 'skiff-agent-work-'));
  });

  after(async () => {
    await c?.stop();
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(processesWith(marker), [], 'no container process may be left behind');
  });

  async function getPod(name: string): Promise<Pod> {
    const r = await c.kubectl(['get', 'pod', name, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Pod;
  }

  async function apply(yaml: string): Promise<void> {
    const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
    assert.equal(r.code, 0, r.stderr);
  }

  it('registers a Ready node with a lease', async () => {
    const r = await c.kubectl(['wait', '--for=condition=Ready', 'node/node-1', '--timeout=20s']);
    assert.equal(r.code, 0, r.stderr);
    const node = JSON.parse((await c.kubectl(['get', 'node', 'node-1', '-o', 'json'])).stdout) as import('kubernetes-types/core/v1.js').Node;
    assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], 'node-1');
    assert.equal(node.metadata?.labels?.['kubernetes.io/os'], 'linux');
    assert.equal(node.status?.capacity?.['pods'], '110');
    assert.ok(node.status?.allocatable?.['memory']);
    assert.ok(node.status?.capacity?.['ephemeral-storage']);
    assert.match(node.status?.nodeInfo?.containerRuntimeVersion ?? '', /^process:\/\//);
    assert.deepEqual(node.status?.conditions?.map((x) => x.type), ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, c.agent.streamingPort);
    assert.deepEqual(node.status?.addresses?.[0], { type: 'InternalIP', address: '127.0.0.1' });
    const lease = await c.kubectl(['get', 'lease', 'node-1', '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(lease.stdout, 'node-1');
    const events = await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.kind=Node', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events.stdout, /ImagesNotUsed/);
  });

  it('runs a pod to Running with upstream status and events', async () => {
    await apply(podYaml('sleeper', 'sleep 601', { container: '    resources: {requests: {cpu: 10m}}\n' }));
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=20s']);
    assert.equal(w.code, 0, w.stderr);
    const p = await getPod('sleeper');
    assert.equal(p.status?.phase, 'Running');
    assert.equal(p.status?.hostIP, '127.0.0.1');
    assert.equal(p.status?.podIP, '127.0.0.1');
    assert.equal(p.status?.qosClass, 'Burstable');
    assert.ok(p.status?.startTime);
    assert.deepEqual(p.status?.conditions?.map((x) => `${x.type}=${x.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
    const cs = p.status?.containerStatuses?.[0];
    assert.equal(cs?.ready, true);
    assert.equal(cs?.started, true);
    assert.equal(cs?.restartCount, 0);
    assert.match(cs?.containerID ?? '', /^process:\/\/[0-9a-f]{64}$/);
    assert.ok(cs?.state?.running?.startedAt);
    const ev = await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=sleeper', '-o', 'jsonpath={range .items[*]}{.reason}:{.involvedObject.fieldPath}{"\\n"}{end}']);
    for (const reason of ['Pulled', 'Created', 'Started']) assert.match(ev.stdout, new RegExp(`${reason}:spec.containers\\{main\\}`));
  });

  it('runs init containers in order before the containers', async () => {
    const out = join(work, 'init-order');
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: inits}
spec:
  nodeName: node-1
  initContainers:
  - {name: one, image: x, command: ["sh", "-c", "# ${marker}\\necho one >> ${out}"]}
  - {name: two, image: x, command: ["sh", "-c", "# ${marker}\\nsleep 0.3; echo two >> ${out}"]}
  containers:
  - {name: main, image: x, command: ["sh", "-c", "# ${marker}\\necho main >> ${out}; sleep 600"]}
`);
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/inits', '--timeout=20s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'one\ntwo\nmain\n');
    const p = await getPod('inits');
    assert.deepEqual(p.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason), ['Completed', 'Completed']);
  });

  it('reaches Succeeded and Failed for run-to-completion pods', async () => {
    await apply(podYaml('succeeds', 'echo done', { pod: '  restartPolicy: Never\n' }));
    await apply(podYaml('fails', 'exit 4', { pod: '  restartPolicy: Never\n' }));
    await waitFor(async () => (await getPod('succeeds')).status?.phase === 'Succeeded', { timeoutMs: 20_000, what: 'Succeeded' });
    await waitFor(async () => (await getPod('fails')).status?.phase === 'Failed', { timeoutMs: 20_000, what: 'Failed' });
    const f = await getPod('fails');
    assert.equal(f.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 4);
    assert.equal(f.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Error');
    const s = await getPod('succeeds');
    assert.equal(s.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    const logs = await c.kubectl(['logs', 'succeeds']);
    assert.equal(logs.stdout, 'done\n');
  });

  it('reports RunContainerError for a command that does not exist', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: nocmd}
spec:
  nodeName: node-1
  restartPolicy: Never
  containers:
  - {name: main, image: x, command: ["/no/such/binary-${marker}"]}
`);
    await waitFor(async () => (await getPod('nocmd')).status?.phase === 'Failed', { timeoutMs: 20_000, what: 'Failed' });
    const t = (await getPod('nocmd')).status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(t?.reason, 'StartError');
    assert.equal(t?.exitCode, 128);
    assert.match(t?.message ?? '', /no such file or directory/);
  });

  it('backs off a crashing container with growing delays (CrashLoopBackOff)', async () => {
    // Every status the agent writes, from a watch: a kubectl poll starts a process per sample and on a loaded
    // machine sampled less often than the 1 s back-off lasts (full runs saw only 2s and 4s).
    const history = await watchHistory(c.api.resource<Pod>(pods), 'crashloop', { namespace: 'default' });
    /** The back-off announced at each restartCount (CrashLoopBackOff waiting message), as the agent wrote them. */
    const backoffs = (): Map<number, Set<string>> => {
      const m = new Map<number, Set<string>>();
      for (const p of history.versions) {
        const cs = p.status?.containerStatuses?.[0];
        const w = cs?.state?.waiting;
        if (w?.reason !== 'CrashLoopBackOff') continue;
        const delay = /back-off (\S+) /.exec(w.message ?? '')?.[1] ?? '';
        const set = m.get(cs?.restartCount ?? -1) ?? new Set<string>();
        set.add(delay);
        m.set(cs?.restartCount ?? -1, set);
      }
      return m;
    };
    try {
      await apply(podYaml('crashloop', 'exit 1'));
      // Until the container was restarted after the 2 s back-off too (restartCount 3).
      const restarts = (): number => Math.max(0, ...history.versions.map((p) => p.status?.containerStatuses?.[0]?.restartCount ?? 0));
      await waitFor(() => backoffs().has(1) && backoffs().has(2) && restarts() >= 3, {
        timeoutMs: 40_000,
        what: () => `back-offs at restarts 1 and 2, then restart 3 (restarts ${restarts()}, seen: ${JSON.stringify([...backoffs()].map(([k, v]) => [k, [...v]]))})`,
      });
    } finally {
      await history.stop();
    }
    // The first restart is immediate; then the delays double with the test's 1 s initial back-off: 1s after the first
    // restart, 2s after the second (upstream: 10s, 20s …), each announced while the container waits.
    const seen = backoffs();
    assert.deepEqual([...(seen.get(1) ?? [])], ['1s'], `back-off after restart 1: ${[...(seen.get(1) ?? [])].join(',')}`);
    assert.deepEqual([...(seen.get(2) ?? [])], ['2s'], `back-off after restart 2: ${[...(seen.get(2) ?? [])].join(',')}`);
    // Any later one seen meanwhile doubles too, up to the test's 8 s cap.
    for (const [restarts, delays] of seen) assert.deepEqual([...delays], [`${Math.min(8, 2 ** (restarts - 1))}s`], `back-off after restart ${restarts}`);
    const waiting = history.versions.find((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    assert.equal(waiting?.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 1);
    assert.equal(waiting?.status?.phase, 'Running');
    const p = await getPod('crashloop');
    assert.equal(p.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 1);
    assert.equal(p.status?.phase, 'Running');
    const ev = await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=crashloop,reason=BackOff', '-o', 'jsonpath={.items[0].message}']);
    assert.match(ev.stdout, /^Back-off restarting failed container main in pod crashloop_default\(/);
    await c.kubectl(['delete', 'pod', 'crashloop', '--wait=false']);
  });

  it('restarts a container whose liveness probe fails', async () => {
    const flag = join(work, 'alive');
    await apply(podYaml('liveness', `touch ${flag}; sleep 2; rm -f ${flag}; sleep 600`, {
      container: `    livenessProbe:\n      exec: {command: ["test", "-f", "${flag}"]}\n      periodSeconds: 1\n      failureThreshold: 1\n`,
    }));
    await waitFor(async () => ((await getPod('liveness')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, { timeoutMs: 30_000, what: 'a liveness restart' });
    const ev = await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=liveness', '-o', 'jsonpath={range .items[*]}{.reason}={.message}{"\\n"}{end}']);
    assert.match(ev.stdout, /Unhealthy=Liveness probe failed/);
    assert.match(ev.stdout, /Killing=Container main failed liveness probe, will be restarted/);
    await c.kubectl(['delete', 'pod', 'liveness', '--wait=false']);
  });

  it('gates Ready on the readiness probe', async () => {
    const flag = join(work, 'ready');
    await apply(podYaml('readiness', 'sleep 600', {
      container: `    readinessProbe:\n      exec: {command: ["test", "-f", "${flag}"]}\n      periodSeconds: 1\n`,
    }));
    await waitFor(async () => (await getPod('readiness')).status?.phase === 'Running', { timeoutMs: 20_000, what: 'Running' });
    await new Promise((r) => setTimeout(r, 1500));
    let p = await getPod('readiness');
    assert.equal(p.status?.containerStatuses?.[0]?.ready, false);
    const ready = p.status?.conditions?.find((x) => x.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ContainersNotReady');
    assert.equal(ready?.message, 'containers with unready status: [main]');
    const touch = await c.kubectl(['exec', 'readiness', '--', 'touch', flag]);
    assert.equal(touch.code, 0, touch.stderr);
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/readiness', '--timeout=15s']);
    assert.equal(w.code, 0, w.stderr);
    p = await getPod('readiness');
    assert.equal(p.status?.containerStatuses?.[0]?.ready, true);
  });

  it('deletes gracefully: preStop runs, SIGTERM within the grace period, then the pod object goes', async () => {
    const stopped = join(work, 'prestop');
    const termed = join(work, 'termed');
    await apply(podYaml('graceful', `trap 'echo term > ${termed}; exit 0' TERM; while true; do sleep 0.1; done`, {
      pod: '  terminationGracePeriodSeconds: 10\n',
      container: `    lifecycle:\n      preStop:\n        exec: {command: ["sh", "-c", "echo prestop > ${stopped}"]}\n`,
    }));
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/graceful', '--timeout=20s']);
    assert.equal(w.code, 0, w.stderr);
    const started = Date.now();
    const d = await c.kubectl(['delete', 'pod', 'graceful', '--timeout=30s']);
    assert.equal(d.code, 0, d.stderr);
    await waitFor(() => existsSync(termed), { timeoutMs: 10_000, what: 'SIGTERM handled' });
    assert.ok(Date.now() - started < 10_000, 'stopped within the grace period');
    assert.equal(readFileSync(stopped, 'utf8'), 'prestop\n');
    await waitFor(async () => (await c.kubectl(['get', 'pod', 'graceful'])).code !== 0, { timeoutMs: 15_000, what: 'the pod object to go' });
  });

  it('waits with CreateContainerConfigError for a missing ConfigMap and starts once it exists', async () => {
    await apply(podYaml('needs-config', 'echo "greeting=$GREETING"; cat ./etc/cfg/file.txt; echo; echo "svc=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT $KUBERNETES_PORT"; echo "pod=$MY_POD ns=$MY_NS"; cat ./etc/info/labels; echo; sleep 600', {
      container: `    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}
    - {name: MY_POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password, optional: true}}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: info, mountPath: /etc/info}
`,
      pod: `  volumes:
  - {name: cfg, configMap: {name: app-config, optional: true}}
  - name: info
    downwardAPI:
      items: [{path: labels, fieldRef: {fieldPath: "metadata.labels['app']"}}]
`,
    }).replace('metadata:\n  name: needs-config', 'metadata:\n  name: needs-config\n  labels: {app: demo}'));
    await waitFor(async () => (await getPod('needs-config')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError', { timeoutMs: 20_000, what: 'CreateContainerConfigError' });
    const waiting = (await getPod('needs-config')).status?.containerStatuses?.[0]?.state?.waiting;
    assert.equal(waiting?.message, 'configmap "app-config" not found');
    const cm = await c.kubectl(['create', 'configmap', 'app-config', '--from-literal=greeting=hello', '--from-literal=file.txt=from-volume']);
    assert.equal(cm.code, 0, cm.stderr);
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/needs-config', '--timeout=30s']);
    assert.equal(w.code, 0, w.stderr);
    await waitFor(async () => (await c.kubectl(['logs', 'needs-config'])).stdout.includes('pod='), { timeoutMs: 10_000, what: 'logs' });
    const logs = await c.kubectl(['logs', 'needs-config']);
    // The kubelet's service environment variables: always the kubernetes Service's.
    const svc = await c.kubectl(['get', 'service', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.equal(svc.code, 0, svc.stderr);
    assert.match(svc.stdout, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(logs.stdout, `greeting=hello\nfrom-volume\nsvc=${svc.stdout}:443 tcp://${svc.stdout}:443\npod=needs-config ns=default\ndemo\n`);
    // A changed ConfigMap reaches the running pod's volume (atomically swapped, no restart).
    const patch = await c.kubectl(['patch', 'configmap', 'app-config', '--type=merge', '-p', '{"data":{"file.txt":"updated"}}']);
    assert.equal(patch.code, 0, patch.stderr);
    await waitFor(async () => (await c.kubectl(['exec', 'needs-config', '--', 'cat', './etc/cfg/file.txt'])).stdout === 'updated', { timeoutMs: 15_000, what: 'the volume update' });
    assert.equal((await getPod('needs-config')).status?.containerStatuses?.[0]?.restartCount, 0);
  });

  it('adopts running pods after an agent restart instead of restarting them', async () => {
    const before = await getPod('sleeper');
    const id = before.status?.containerStatuses?.[0]?.containerID;
    assert.ok(id);
    await c.restartAgent();
    // The new agent reports again; the container is the same one, never restarted.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await getPod('sleeper');
    assert.equal(after.status?.containerStatuses?.[0]?.containerID, id);
    assert.equal(after.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.equal(after.status?.phase, 'Running');
    const ex = await c.kubectl(['exec', 'sleeper', '--', 'echo', 'still-here']);
    assert.equal(ex.stdout, 'still-here\n');
    // A pod deleted after the restart is still stopped by the new agent.
    const d = await c.kubectl(['delete', 'pod', 'sleeper', '--grace-period=1']);
    assert.equal(d.code, 0, d.stderr);
    await waitFor(() => processesWith('sleep 601').length === 0, { timeoutMs: 10_000, what: 'the adopted container to stop' });
  });
});
