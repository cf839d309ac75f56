/**
 * TEST DOUBLE — a tiny stand-in for the scheduler and node agent so that controller tests can run before those
 * exist: it binds pending pods to fake Nodes (round-robin, through pods/binding), marks them Running and Ready
 * (or Succeeded/Failed, as `outcome` decides) through the status subresource, and removes pods marked for
 * deletion. Replace with the simulated agent once it lands.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { nodes as nodesDef, pods as podsDef } from '../../src/api/core/v1/index.ts';
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
}

/** A running fake kubelet. */
export interface FakeKubelet {
  stop(): Promise<void>;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
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
  const informer = new SharedInformer<Pod>(podClient, { name: 'fake-kubelet' });
  const queue = new WorkQueue<string>({ name: 'fake-kubelet' });
  const ctl = new AbortController();
  let next = 0;
  informer.addEventHandler({ onAdd: (p) => queue.add(objectKey(p)), onUpdate: (_o, p) => queue.add(objectKey(p)) });
  informer.start(ctl.signal);

  const handle = async (key: string): Promise<void> => {
    const { namespace, name } = splitKey(key);
    const pod = informer.lister().get(namespace, name);
    if (!pod || (opts.filter && !opts.filter(pod))) return;
    if (pod.metadata?.deletionTimestamp) {
      await podClient.delete(name, { namespace, gracePeriodSeconds: 0 }).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
      return;
    }
    if (!pod.spec?.nodeName) {
      const node = nodeNames[next++ % nodeNames.length]!;
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
      await Promise.all(workers);
    },
  };
}
