/**
 * The node agent's entry points: `startAgent` runs one node (runc, process or simulated runtime), or a simulated
 * fleet of many nodes in one process (`nodes > 1`), against the API server through the client library only.
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { join } from 'node:path';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { nodes, pods, services } from '../api/core/v1/index.ts';
import { logger } from '../base/log.ts';
import type { ApiClient } from '../client/index.ts';
import { ApiClient as ApiClientCtor, RestClient, SharedInformer, clientConfigFromKubeconfig, isNotFound, isTombstone } from '../client/index.ts';
import { imageStoreDir, openImageStore } from './images/store.ts';
import { NodeAgent, apiConfigSource } from './agent.ts';
import { StatusManager } from './pod/status-manager.ts';
import type { BackoffPolicy } from './pod/worker.ts';
import { createProcessRuntime } from './runtime/process/process-runtime.ts';
import { createRuncRuntime, RuncRuntime, runcAvailable } from './runtime/runc/index.ts';
import { createSimulatedRuntime } from './runtime/simulated/simulated-runtime.ts';
import type { ContainerRuntime } from './runtime/runtime.ts';
import { startStreamingServer } from './streaming/server.ts';
import { startServiceProxy } from './proxy/index.ts';
import type { RunningServiceProxy, ServiceProxyOptions } from './proxy/index.ts';
import { startClusterDns } from './dns/index.ts';
import type { RunningDnsServer } from './dns/index.ts';
import type { StreamingPod, StreamingTls } from './streaming/server.ts';

export { NodeAgent } from './agent.ts';
export type { ContainerRuntime } from './runtime/runtime.ts';
export { createProcessRuntime } from './runtime/process/process-runtime.ts';
export { createSimulatedRuntime } from './runtime/simulated/simulated-runtime.ts';
export { createRuncRuntime, runcAvailable } from './runtime/runc/index.ts';

const log = logger('agent');

/** The runtimes available. */
export type RuntimeKind = 'process' | 'simulated' | 'runc';

/** The cluster DNS address pods use (the kube-dns Service's ClusterIP; k3s's default). */
export const defaultClusterDNS = '10.43.0.10';

/** The default pod CIDR of a runc node whose Node has no spec.podCIDR yet (the first /24 of k3s's cluster CIDR). */
export const defaultPodCIDR = '10.42.0.0/24';

/** The runtime used when none is chosen: runc when this process is root and runc is installed (issue 8), else process. */
export function defaultRuntimeKind(): RuntimeKind {
  return runcAvailable() ? 'runc' : 'process';
}

/** The skiff data dir whose `images/` store `skiff images` and the agent share (default $SKIFF_DATA_DIR or ~/.skiff). */
export function defaultDataDir(): string {
  return process.env['SKIFF_DATA_DIR'] ?? join(os.homedir(), '.skiff');
}

/** Options of startAgent. */
export interface StartAgentOptions {
  /** A client, or a kubeconfig path to build one. */
  client?: ApiClient;
  kubeconfig?: string;
  /** Node name (default: the host name); with `nodes > 1`, names are `<prefix><index>`. */
  nodeName?: string;
  /** Container runtime (default process for programmatic callers; the CLIs default to defaultRuntimeKind()). */
  runtime?: RuntimeKind;
  /** runc: the skiff data dir holding the image store shared with `skiff images` (default defaultDataDir()). */
  dataDir?: string;
  /** runc: the pod CIDR (default the Node's spec.podCIDR when it already exists, else defaultPodCIDR). */
  podCIDR?: string;
  /** runc: cgroup parent of the pods (default `skiff`). */
  cgroupParent?: string;
  /** How often unused images are garbage collected above the disk threshold (default 5 min, the kubelet's). */
  imageGcMs?: number;
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
  /** HTTPS and client-certificate authentication for the streaming server (absent: plain HTTP). */
  streamingTls?: StreamingTls;
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
  /**
   * Run the service proxy (nftables, or iptables without nft; single node only). Off unless asked for here: the
   * `skiff server` and `skiff agent` commands turn it on by default.
   */
  serviceProxy?: boolean | Pick<ServiceProxyOptions, 'clusterCIDR' | 'chainPrefix' | 'syncPeriodMs' | 'cleanupOnStop' | 'mode' | 'nftTable'>;
  /**
   * Run the cluster DNS server (single node only; off unless asked for, on by default in the commands). With the
   * proxy it listens on all addresses at `port` (default any free port) and the proxy redirects `clusterIP`:53
   * (default defaultClusterDNS) to it; without, on 127.0.0.1. Pods with dnsPolicy ClusterFirst get `clusterIP`.
   */
  clusterDns?: boolean | { address?: string; port?: number; zone?: string; clusterIP?: string; upstreams?: string[] };
  signal?: AbortSignal;
}

/** A running agent (one node or a fleet). */
export interface RunningAgent {
  nodeNames: string[];
  streamingPort: number;
  agents: NodeAgent[];
  /** The service proxy, when it runs. */
  proxy?: RunningServiceProxy;
  /** The cluster DNS server, when it runs. */
  dns?: RunningDnsServer;
  stop(): Promise<void>;
}

async function existingPodCIDR(api: ApiClient, nodeName: string): Promise<string | undefined> {
  try {
    const node = await api.resource<Node>(nodes).get(nodeName);
    return node.spec?.podCIDR;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
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
  if (kind === 'runc' && !runcAvailable()) throw new Error('the runc runtime needs root and a runc binary on PATH');
  const nodeIP = opts.nodeIP ?? '127.0.0.1';
  const baseName = opts.nodeName ?? os.hostname().toLowerCase();
  const names = fleet ? Array.from({ length: count }, (_, i) => `${opts.nodeNamePrefix ?? 'sim-'}${i}`) : [baseName];
  const rootBase = opts.rootDir ?? join(os.homedir(), '.skiff', 'agent', fleet ? `${opts.nodeNamePrefix ?? 'sim-'}fleet` : baseName);
  const statusManager = new StatusManager({ pods: api.resource<Pod>(pods), concurrency: fleet ? 32 : 8 });
  // Containers get the service environment variables from a Service informer, started at the first container
  // start (a simulated fleet runs no processes: it never needs one).
  const serviceStop = new AbortController();
  let serviceInformer: SharedInformer<Service> | undefined;
  const source = {
    ...apiConfigSource(api),
    ...(fleet ? {} : {
      async listServices(): Promise<Service[]> {
        if (serviceInformer === undefined) {
          serviceInformer = new SharedInformer<Service>(api.resource<Service>(services), {});
          serviceInformer.start(serviceStop.signal);
        }
        // As the kubelet, wait for the Services before starting a container, so that its variables are complete.
        await serviceInformer.waitForSync(serviceStop.signal);
        return serviceInformer.lister().list();
      },
    }),
  };
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
  const streaming = await startStreamingServer(backend, {
    address: opts.streamingAddress ?? nodeIP, port: opts.streamingPort ?? 10250, ...(opts.streamingTls ? { tls: opts.streamingTls } : {}),
  });

  const dnsOpts = opts.clusterDns && !fleet ? (opts.clusterDns === true ? {} : opts.clusterDns) : undefined;
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
    } else if (kind === 'runc') {
      const podCIDR = opts.podCIDR ?? (await existingPodCIDR(api, nodeName)) ?? defaultPodCIDR;
      const store = openImageStore(imageStoreDir(opts.dataDir ?? defaultDataDir()));
      // Pulls are the pod workers' job (pull policy, secrets, back-off): the runtime only uses present images.
      runtime = createRuncRuntime({
        dataDir: join(rootBase, 'runc'), imageStore: store, hostIP: nodeIP, network: { podCIDR }, pullOnCreate: false,
        ...(opts.cgroupParent ? { cgroupParent: opts.cgroupParent } : {}),
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
      ...(dnsOpts ? { dns: { clusterDNS: [dnsOpts.clusterIP ?? defaultClusterDNS], ...(dnsOpts.zone ? { clusterDomain: dnsOpts.zone } : {}) } } : {}),
      node: {
        ...(opts.leaseRenewMs ? { leaseRenewMs: opts.leaseRenewMs } : {}),
        ...(opts.statusCheckMs ? { statusCheckMs: opts.statusCheckMs } : {}),
        measurePressure: kind !== 'simulated',
        ...(opts.podCIDR && !fleet ? { podCIDR: opts.podCIDR } : {}),
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

  // Services (issue 10), before any pod starts: DNS answers from the API caches, and the proxy programs this
  // node's kernel, including the redirect of the cluster DNS address to this node's DNS server.
  const proxyOpts = opts.serviceProxy === true ? {} : opts.serviceProxy;
  // All addresses only behind the proxy's redirect and its guard rule; without a proxy, only this host asks.
  const dns = dnsOpts
    ? await startClusterDns({ client: api, address: dnsOpts.address ?? (proxyOpts && !fleet ? '0.0.0.0' : '127.0.0.1'), port: dnsOpts.port ?? 0, ...(dnsOpts.zone ? { zone: dnsOpts.zone } : {}), ...(dnsOpts.upstreams ? { upstreams: dnsOpts.upstreams } : {}), signal: abort.signal })
    : undefined;
  const proxy = proxyOpts && !fleet
    ? await startServiceProxy({
      client: api, nodeName: names[0]!, nodeIPs: [nodeIP], ...proxyOpts, signal: abort.signal,
      ...(dns ? { localDns: { ip: dnsOpts?.clusterIP ?? defaultClusterDNS, port: dns.port } } : {}),
    }).catch(async (e: unknown) => {
      await dns?.close();
      throw e;
    })
    : undefined;

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
  const gcTimer = kind === 'runc' ? setInterval(() => {
    for (const r of runtimes) {
      if (r instanceof RuncRuntime) {
        r.garbageCollectImages().then((ids) => {
          if (ids.length) log.info('image garbage collection', { removed: ids.length });
        }, (e: unknown) => log.warn('image garbage collection failed', { err: e }));
      }
    }
  }, opts.imageGcMs ?? 300_000) : undefined;
  gcTimer?.unref();
  log.info('agent started', { nodes: names.length, runtime: kind, streamingPort: streaming.port });

  let stopped = false;
  return {
    nodeNames: names,
    streamingPort: streaming.port,
    agents,
    ...(proxy ? { proxy } : {}),
    ...(dns ? { dns } : {}),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (gcTimer) clearInterval(gcTimer);
      abort.abort();
      serviceStop.abort();
      await informer.stop();
      await serviceInformer?.stop();
      await dns?.close();
      await proxy?.stop();
      await Promise.all(agents.map((a) => a.stop()));
      await Promise.all(runtimes.map((r) => r.close({ killContainers: opts.killPodsOnStop === true })));
      statusManager.stop();
      await streaming.close();
      if (ownClient) api.close();
    },
  };
}
