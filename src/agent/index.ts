/**
 * The node agent's entry points: `startAgent` runs one node (process or simulated runtime), or a simulated
 * fleet of many nodes in one process (`nodes > 1`), against the API server through the client library only.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { pods } from '../api/core/v1/index.ts';
import { logger } from '../base/log.ts';
import type { ApiClient } from '../client/index.ts';
import { ApiClient as ApiClientCtor, RestClient, SharedInformer, clientConfigFromKubeconfig, isTombstone } from '../client/index.ts';
import { NodeAgent, apiConfigSource } from './agent.ts';
import { StatusManager } from './pod/status-manager.ts';
import type { BackoffPolicy } from './pod/worker.ts';
import { createProcessRuntime } from './runtime/process/process-runtime.ts';
import { createSimulatedRuntime } from './runtime/simulated/simulated-runtime.ts';
import type { ContainerRuntime } from './runtime/runtime.ts';
import { startStreamingServer } from './streaming/server.ts';
import type { StreamingPod } from './streaming/server.ts';

export { NodeAgent } from './agent.ts';
export type { ContainerRuntime } from './runtime/runtime.ts';
export { createProcessRuntime } from './runtime/process/process-runtime.ts';
export { createSimulatedRuntime } from './runtime/simulated/simulated-runtime.ts';

const log = logger('agent');

/** The runtimes available. */
export type RuntimeKind = 'process' | 'simulated';

/** Options of startAgent. */
export interface StartAgentOptions {
  /** A client, or a kubeconfig path to build one. */
  client?: ApiClient;
  kubeconfig?: string;
  /** Node name (default: the host name); with `nodes > 1`, names are `<prefix><index>`. */
  nodeName?: string;
  runtime?: RuntimeKind;
  /** Simulated fleet size (default 1). */
  nodes?: number;
  /** Name prefix of simulated nodes (default "sim-"). */
  nodeNamePrefix?: string;
  /** State directory (pods, logs, the runtime state file). Default ~/.skiff/agent/<node>. */
  rootDir?: string;
  /** The node's InternalIP, also the pod IP on the process runtime (default 127.0.0.1). */
  nodeIP?: string;
  /** Streaming server port (default 10250; 0 = any free port). */
  streamingPort?: number;
  /** Streaming server bind address (default the node IP). */
  streamingAddress?: string;
  /** Extra node labels. */
  labels?: Record<string, string>;
  /** Label the node as the control plane (the server's embedded agent). */
  controlPlane?: boolean;
  /** Stop every container when the agent stops (default false: they are adopted on restart). */
  killPodsOnStop?: boolean;
  /** Simulated runtime: delay before running, and run time of Never/OnFailure pods. */
  simulatedStartDelayMs?: number;
  simulatedCompleteAfterMs?: number;
  /** Simulated node size (default cpu 32, memory 256Gi, pods 110). */
  simulatedCapacity?: Record<string, string>;
  /** Record events (default true for a single node, false for a simulated fleet). */
  recordEvents?: boolean;
  /** CrashLoopBackOff timing (tests shorten it). */
  backoff?: BackoffPolicy;
  /** Refresh period of configMap/secret volumes of running pods (default 60 s). */
  volumeResyncMs?: number;
  /** Heartbeat timing overrides. */
  leaseRenewMs?: number;
  statusCheckMs?: number;
  signal?: AbortSignal;
}

/** A running agent (one node or a fleet). */
export interface RunningAgent {
  nodeNames: string[];
  streamingPort: number;
  agents: NodeAgent[];
  stop(): Promise<void>;
}

/** Starts the node agent; resolves once its nodes are registered and its pod informer has synced. */
export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  let client = opts.client;
  let ownClient = false;
  if (!client) {
    const cfg = clientConfigFromKubeconfig(opts.kubeconfig);
    client = new ApiClientCtor(new RestClient(cfg, { userAgent: `skiff-agent/0.1.0 (${process.platform}/${process.arch})` }));
    ownClient = true;
  }
  const api = client;
  const kind: RuntimeKind = opts.runtime ?? 'process';
  const count = Math.max(1, opts.nodes ?? 1);
  const fleet = count > 1;
  const nodeIP = opts.nodeIP ?? '127.0.0.1';
  const baseName = opts.nodeName ?? os.hostname().toLowerCase();
  const names = fleet ? Array.from({ length: count }, (_, i) => `${opts.nodeNamePrefix ?? 'sim-'}${i}`) : [baseName];
  const rootBase = opts.rootDir ?? join(os.homedir(), '.skiff', 'agent', fleet ? `${opts.nodeNamePrefix ?? 'sim-'}fleet` : baseName);
  const statusManager = new StatusManager({ pods: api.resource<Pod>(pods), concurrency: fleet ? 32 : 8 });
  const source = apiConfigSource(api);
  const agents: NodeAgent[] = [];
  const byNode = new Map<string, NodeAgent>();

  const backend = {
    findPod(namespace: string, name: string): StreamingPod | undefined {
      for (const a of agents) {
        const p = a.findPod(namespace, name);
        if (p) return p;
      }
      return undefined;
    },
    listPods: (): Pod[] => agents.flatMap((a) => a.pods()),
  };
  const streaming = await startStreamingServer(backend, { address: opts.streamingAddress ?? nodeIP, port: opts.streamingPort ?? 10250 });

  let ipCounter = 0;
  const runtimes: ContainerRuntime[] = [];
  for (let i = 0; i < names.length; i++) {
    const nodeName = names[i]!;
    let runtime: ContainerRuntime;
    if (kind === 'simulated') {
      const nodeIndex = i;
      runtime = createSimulatedRuntime({
        startDelayMs: opts.simulatedStartDelayMs,
        completeAfterMs: opts.simulatedCompleteAfterMs,
        allocateIP: () => {
          ipCounter++;
          return `10.${(nodeIndex >> 8) & 255}.${nodeIndex & 255}.${(ipCounter % 250) + 2}`;
        },
      });
    } else {
      runtime = createProcessRuntime({ rootDir: rootBase, podIP: nodeIP });
    }
    await runtime.start();
    runtimes.push(runtime);
    const labels: Record<string, string> = { ...(opts.labels ?? {}) };
    if (opts.controlPlane) labels['node-role.kubernetes.io/control-plane'] = '';
    if (kind === 'simulated') labels['type'] = 'simulated';
    const agent = new NodeAgent({
      api,
      nodeName,
      runtime,
      hostIP: kind === 'simulated' && fleet ? `10.${(i >> 8) & 255}.${i & 255}.1` : nodeIP,
      rootDir: kind === 'simulated' ? join(rootBase, nodeName) : rootBase,
      kubeletPort: streaming.port,
      statusManager,
      source,
      recordEvents: opts.recordEvents ?? !fleet,
      materializeVolumes: kind !== 'simulated',
      labels,
      capacity: kind === 'simulated' ? (opts.simulatedCapacity ?? { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' }) : undefined,
      backoff: opts.backoff,
      volumeResyncMs: opts.volumeResyncMs,
      node: {
        ...(opts.leaseRenewMs ? { leaseRenewMs: opts.leaseRenewMs } : {}),
        ...(opts.statusCheckMs ? { statusCheckMs: opts.statusCheckMs } : {}),
        measurePressure: kind !== 'simulated',
      },
    });
    agents.push(agent);
    byNode.set(nodeName, agent);
  }

  const abort = new AbortController();
  // Every node of a fleet listens on this signal.
  setMaxListeners(0, abort.signal);
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  // Registration of many nodes is spread over a few concurrent requests.
  const queue = [...agents];
  await Promise.all(Array.from({ length: Math.min(fleet ? 16 : 1, queue.length) }, async () => {
    for (let a = queue.shift(); a; a = queue.shift()) await a.start(abort.signal);
  }));

  // One informer: pods of this node (field selector), or every bound pod for a fleet.
  const informer = new SharedInformer<Pod>(api.resource<Pod>(pods), {
    fieldSelector: fleet ? 'spec.nodeName!=' : `spec.nodeName=${names[0]!}`,
    name: 'agent-pods',
  });
  const route = (pod: Pod): NodeAgent | undefined => byNode.get(pod.spec?.nodeName ?? '');
  informer.addEventHandler({
    onAdd: (pod) => route(pod)?.podUpdated(pod),
    onUpdate: (_old, pod) => route(pod)?.podUpdated(pod),
    onDelete: (obj) => {
      const pod = isTombstone(obj) ? obj.obj : obj;
      route(pod)?.podDeleted(pod);
    },
  });
  informer.start(abort.signal);
  await informer.waitForSync(abort.signal);
  const known = new Set(informer.lister().list().map((p) => p.metadata?.uid ?? ''));
  for (const a of agents) await a.cleanupOrphans(known);
  log.info('agent started', { nodes: names.length, runtime: kind, streamingPort: streaming.port });

  let stopped = false;
  return {
    nodeNames: names,
    streamingPort: streaming.port,
    agents,
    async stop() {
      if (stopped) return;
      stopped = true;
      abort.abort();
      await informer.stop();
      await Promise.all(agents.map((a) => a.stop()));
      await Promise.all(runtimes.map((r) => r.close({ killContainers: opts.killPodsOnStop === true })));
      statusManager.stop();
      await streaming.close();
      if (ownClient) api.close();
    },
  };
}
