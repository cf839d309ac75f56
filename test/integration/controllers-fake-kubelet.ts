/**
 * TEST DOUBLE — a tiny stand-in for the scheduler and node agent so that controller tests can run before those
 * exist: it binds pending pods to fake Nodes (round-robin, through pods/binding), marks them Running and Ready
 * (or Succeeded/Failed, as `outcome` decides) through the status subresource, and removes pods marked for
 * deletion. Replace with the simulated agent once it lands.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { nodes as nodesDef, pods as podsDef } from '../../src/api/core/v1/index.ts';
import { sleep } from '../../src/base/clock.ts';
import type { ApiClient } from '../../src/client/index.ts';
import { isNotFound, isAlreadyExists, objectKey, SharedInformer, splitKey, WorkQueue } from '../../src/client/index.ts';

/** What a pod does once started. */
export type PodOutcome = 'run' | 'succeed' | 'fail' | 'pending';

/** Options of the fake kubelet. */
export interface FakeKubeletOptions {
  client: ApiClient;
  nodeNames?: string[];
  /** Decides each pod's fate (default: run forever, Ready). */
  outcome?: (pod: Pod) => PodOutcome;
  /** Only touch pods this returns true for (default all). */
  filter?: (pod: Pod) => boolean;
  /** How often its nodes post a Ready heartbeat (default 5 s); the node lifecycle controller watches it. */
  heartbeatMs?: number;
}

/** A running fake kubelet. */
export interface FakeKubelet {
  stop(): Promise<void>;
  /** Stops (or resumes) the heartbeat of one node, as a node that lost its kubelet; its pods stay as they are. */
  setHeartbeat?(nodeName: string, on: boolean): void;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The node a required node affinity term `metadata.name In [node]` pins the pod to, if any. */
function pinnedNode(pod: Pod): string | undefined {
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/** Starts the fake kubelet (creates its Nodes first). */
export async function startFakeKubelet(opts: FakeKubeletOptions): Promise<FakeKubelet> {
  const nodeNames = opts.nodeNames ?? ['fake-node-1', 'fake-node-2'];
  const nodeClient = opts.client.resource<Node>(nodesDef);
  for (const name of nodeNames) {
    try {
      await nodeClient.create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  const podClient = opts.client.resource<Pod>(podsDef);
  const nodeInformer = new SharedInformer<Node>(nodeClient, { name: 'fake-kubelet-nodes' });
  const paused = new Set<string>();
  const heartbeat = async (): Promise<void> => {
    for (const name of nodeNames) {
      if (paused.has(name)) continue;
      const t = now();
      await nodeClient.patch(name, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t }] } }, { type: 'merge', subresource: 'status' })
        .catch(() => undefined);
    }
  };
  /** A node the fake scheduler may use: known, heartbeating, without NoSchedule/NoExecute taints. */
  const usable = (name: string): boolean => {
    if (paused.has(name)) return false;
    const n = nodeInformer.lister().get('', name);
    return !(n?.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !n?.spec?.unschedulable;
  };
  const informer = new SharedInformer<Pod>(podClient, { name: 'fake-kubelet' });
  const queue = new WorkQueue<string>({ name: 'fake-kubelet' });
  const ctl = new AbortController();
  let next = 0;
  informer.addEventHandler({ onAdd: (p) => queue.add(objectKey(p)), onUpdate: (_o, p) => queue.add(objectKey(p)) });
  informer.start(ctl.signal);
  nodeInformer.start(ctl.signal);
  await heartbeat();
  const beating = (async () => {
    while (!ctl.signal.aborted) {
      await sleep(opts.heartbeatMs ?? 5000, { signal: ctl.signal }).catch(() => undefined);
      if (!ctl.signal.aborted) await heartbeat();
    }
  })();

  const handle = async (key: string): Promise<void> => {
    const { namespace, name } = splitKey(key);
    const pod = informer.lister().get(namespace, name);
    if (!pod || (opts.filter && !opts.filter(pod))) return;
    if (pod.metadata?.deletionTimestamp) {
      await podClient.delete(name, { namespace, gracePeriodSeconds: 0 }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
      return;
    }
    if (!pod.spec?.nodeName) {
      // A pod pinned to a node by affinity (DaemonSet pods) goes there, as the scheduler would place it.
      const candidates = nodeNames.filter(usable);
      const node = pinnedNode(pod) ?? (candidates.length > 0 ? candidates : nodeNames)[next++ % (candidates.length > 0 ? candidates.length : nodeNames.length)]!;
      await podClient.createSubresource(name, 'binding', {
        namespace,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
      });
      return;
    }
    if (pod.status?.phase && pod.status.phase !== 'Pending') return;
    const outcome = opts.outcome?.(pod) ?? 'run';
    if (outcome === 'pending') return;
    const t = now();
    const ready = outcome === 'run' ? 'True' : 'False';
    const containers = pod.spec.containers ?? [];
    const status: Pod['status'] = {
      phase: outcome === 'run' ? 'Running' : outcome === 'succeed' ? 'Succeeded' : 'Failed',
      hostIP: '10.0.0.1',
      podIP: `10.244.0.${1 + (next++ % 250)}`,
      startTime: t,
      qosClass: 'BestEffort',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
        { type: 'Initialized', status: 'True', lastTransitionTime: t },
        { type: 'ContainersReady', status: ready, lastTransitionTime: t },
        { type: 'Ready', status: ready, lastTransitionTime: t },
      ],
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: outcome === 'run',
        restartCount: 0,
        started: outcome === 'run',
        state: outcome === 'run'
          ? { running: { startedAt: t } }
          : { terminated: { exitCode: outcome === 'succeed' ? 0 : 1, reason: outcome === 'succeed' ? 'Completed' : 'Error', startedAt: t, finishedAt: t } },
      })),
    };
    await podClient.updateStatus({ ...pod, status }, { namespace });
  };

  const workers = Array.from({ length: 4 }, async () => {
    for (;;) {
      const { item, shutdown } = await queue.get();
      if (shutdown) return;
      try {
        await handle(item);
        queue.forget(item);
      } catch (e) {
        if (!isNotFound(e) && !ctl.signal.aborted) queue.addRateLimited(item);
      } finally {
        queue.done(item);
      }
    }
  });
  return {
    async stop() {
      ctl.abort();
      queue.shutDown();
      await informer.stop();
      await nodeInformer.stop();
      await Promise.all(workers);
      await beating;
    },
    setHeartbeat(nodeName, on) {
      if (on) paused.delete(nodeName);
      else paused.add(nodeName);
    },
  };
}
