/**
 * One node's agent: registers and heartbeats the Node, runs a pod worker per pod bound to the node, forwards
 * runtime events to the workers, cleans up sandboxes of pods that no longer exist, and exposes its pods to the
 * streaming server. Pods arrive through `podUpdated`/`podDeleted` (from a per-node informer, or from the shared
 * informer of a simulated fleet).
 */
import os from 'node:os';
import { join } from 'node:path';
import fs from 'node:fs';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ConfigMap, ContainerImage, Event as CoreEvent, Node, Pod, Secret, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { TokenRequest } from 'kubernetes-types/authentication/v1.js';
import { configmaps, events, nodes, pods, secrets, serviceaccounts } from '../api/core/v1/index.ts';
import { leases } from '../api/coordination/v1/lease.ts';
import { logger } from '../base/log.ts';
import type { ApiClient, EventInfo } from '../client/index.ts';
import { EventRecorder, isNotFound } from '../client/index.ts';
import { podDnsConfig } from './dns/resolv-conf.ts';
import { NodeManager } from './node/node-manager.ts';
import type { NodeManagerOptions } from './node/node-manager.ts';
import type { ConfigSource } from './pod/env.ts';
import type { TokenSource } from './pod/volumes.ts';
import { ImageManager } from './pod/images.ts';
import { defaultBackoff, PodWorker } from './pod/worker.ts';
import type { BackoffPolicy } from './pod/worker.ts';
import type { StatusManager } from './pod/status-manager.ts';
import type { ContainerRuntime } from './runtime/runtime.ts';
import { labelPodUid } from './runtime/runtime.ts';
import type { StreamingPod } from './streaming/server.ts';

const log = logger('agent');

/** A ConfigSource reading through the API (GET; NotFound is "absent"). */
export function apiConfigSource(api: ApiClient): ConfigSource & TokenSource {
  const cms = api.resource<ConfigMap>(configmaps);
  const ss = api.resource<Secret>(secrets);
  const get = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const sas = api.resource<ServiceAccount>(serviceaccounts);
  return {
    getConfigMap: (namespace, name) => get(() => cms.get(name, { namespace })),
    getSecret: (namespace, name) => get(() => ss.get(name, { namespace })),
    async requestServiceAccountToken(namespace, serviceAccount, o) {
      const tr = await sas.createSubresource<TokenRequest>(serviceAccount, 'token', {
        namespace,
        body: {
          apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
          spec: { audiences: o.audiences ?? [], expirationSeconds: o.expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: o.pod.name, uid: o.pod.uid } },
        },
      });
      return { token: tr.status?.token ?? '', expirationTimestamp: tr.status?.expirationTimestamp ?? '' };
    },
  };
}

/** The node's `status.images` from the runtime: largest first, at most 50 (the kubelet's nodeStatusMaxImages). */
export async function nodeImages(runtime: ContainerRuntime): Promise<ContainerImage[]> {
  const list = await runtime.listImages();
  return list
    .sort((a, b) => b.size - a.size)
    .slice(0, 50)
    .map((i) => ({ names: [...(i.repoDigests ?? []), ...i.repoTags], sizeBytes: i.size }))
    .filter((i) => i.names.length > 0);
}

/** Options of a NodeAgent. */
export interface NodeAgentOptions {
  api: ApiClient;
  nodeName: string;
  runtime: ContainerRuntime;
  hostIP: string;
  /** Pod directories (volumes, logs) live under `<rootDir>/pods`. */
  rootDir: string;
  /** The advertised streaming port. */
  kubeletPort: number;
  statusManager: StatusManager;
  source: ConfigSource;
  /** Record Kubernetes events (default true). */
  recordEvents?: boolean;
  /** Write volumes to disk (false for simulated nodes). */
  materializeVolumes: boolean;
  labels?: Record<string, string>;
  capacity?: Record<string, string>;
  backoff?: BackoffPolicy;
  /** Refresh period of configMap/secret volumes of running pods (default 60 s). */
  volumeResyncMs?: number;
  /** Overrides of heartbeat timing (tests, simulated fleets). */
  node?: Partial<Pick<NodeManagerOptions, 'leaseRenewMs' | 'statusCheckMs' | 'statusReportMs' | 'measurePressure'>>;
  /**
   * Pods' DNS (the kubelet's clusterDNS and clusterDomain): sandboxes get a resolv.conf for their dnsPolicy.
   * Without clusterDNS, ClusterFirst pods get the node's resolv.conf, as the kubelet does.
   */
  dns?: { clusterDNS: string[]; clusterDomain?: string; hostResolvConf?: string };
}

/** The agent of one node. */
export class NodeAgent {
  readonly nodeName: string;
  readonly runtime: ContainerRuntime;
  readonly nodeManager: NodeManager;
  private readonly o: NodeAgentOptions;
  private readonly workers = new Map<string, PodWorker>();
  private readonly byName = new Map<string, string>();
  private readonly recorder: EventRecorder | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly images: ImageManager;

  constructor(o: NodeAgentOptions) {
    this.o = o;
    this.nodeName = o.nodeName;
    this.runtime = o.runtime;
    this.images = new ImageManager(o.runtime, o.backoff ?? defaultBackoff);
    const rv = o.runtime.version();
    this.nodeManager = new NodeManager({
      nodes: o.api.resource<Node>(nodes),
      leases: o.api.resource<Lease>(leases),
      nodeName: o.nodeName,
      hostIP: o.hostIP,
      kubeletPort: o.kubeletPort,
      labels: o.labels,
      containerRuntimeVersion: `${rv.runtimeName}://${rv.runtimeVersion}`,
      capacity: o.capacity,
      rootDir: o.rootDir,
      ...(o.runtime.usesImages ? { images: () => nodeImages(o.runtime) } : {}),
      ...(o.node ?? {}),
    });
    if (o.recordEvents !== false) {
      this.recorder = new EventRecorder({ client: o.api.resource<CoreEvent>(events), component: 'kubelet', host: o.nodeName });
    }
  }

  /** Registers the node and starts heartbeats. */
  async start(signal?: AbortSignal): Promise<void> {
    fs.mkdirSync(join(this.o.rootDir, 'pods'), { recursive: true });
    this.unsubscribe = this.runtime.onContainerEvent((ev) => {
      const uid = ev.labels[labelPodUid];
      if (uid) this.workers.get(uid)?.kick();
    });
    await this.nodeManager.start(signal);
    const rv = this.runtime.version();
    this.nodeEvent({ type: 'Normal', reason: 'Starting', message: 'Starting kubelet.' });
    if (!this.runtime.usesImages && rv.runtimeName === 'process') {
      this.nodeEvent({ type: 'Warning', reason: 'ImagesNotUsed', message: 'The process runtime runs container commands as host processes: images are not pulled or used, and there is no isolation' });
    }
    this.nodeEvent({ type: 'Normal', reason: 'NodeReady', message: `Node ${this.nodeName} status is now: NodeReady` });
  }

  /** Stops heartbeats and workers; containers keep running (they are adopted on restart) unless the runtime kills them. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    await this.nodeManager.stop();
    await this.recorder?.stop();
  }

  /** Waits until queued events are written (tests). */
  async flushEvents(): Promise<void> {
    await this.recorder?.flush();
  }

  private nodeEvent(info: EventInfo): void {
    // Node events use the node name as uid, as the kubelet's node reference does.
    this.recorder?.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: this.nodeName, uid: this.nodeName } }, info);
  }

  /** A pod bound to this node was added or changed. */
  podUpdated(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.nodeName) return;
    let w = this.workers.get(uid);
    if (!w) {
      w = new PodWorker(pod, {
        runtime: this.runtime,
        nodeName: this.nodeName,
        hostIP: this.o.hostIP,
        podsDir: join(this.o.rootDir, 'pods'),
        source: this.o.source,
        downward: { hostIP: this.o.hostIP, nodeAllocatable: this.nodeManager.allocatable },
        statusManager: this.o.statusManager,
        pods: this.o.api.resource<Pod>(pods),
        recordEvent: this.recorder ? (p, info) => this.recorder!.event({ apiVersion: 'v1', kind: 'Pod', metadata: p.metadata }, info) : undefined,
        backoff: this.o.backoff,
        volumeResyncMs: this.o.volumeResyncMs,
        materializeVolumes: this.o.materializeVolumes,
        images: this.images,
        ...(this.o.dns ? { dnsConfig: this.dnsConfigOf(this.o.dns) } : {}),
        memoryDir: fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(),
        onDone: (doneUid) => {
          const cur = this.workers.get(doneUid);
          this.images.forgetPod(doneUid);
          if (cur) {
            this.workers.delete(doneUid);
            const k = `${cur.current.metadata?.namespace ?? ''}/${cur.current.metadata?.name ?? ''}`;
            if (this.byName.get(k) === doneUid) this.byName.delete(k);
          }
        },
      });
      this.workers.set(uid, w);
      this.byName.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, uid);
      w.start();
    } else {
      w.update(pod);
    }
  }

  private dnsConfigFn: ((pod: Pod) => { servers: string[]; searches: string[]; options: string[] }) | undefined;

  private dnsConfigOf(dns: NonNullable<NodeAgentOptions['dns']>): (pod: Pod) => { servers: string[]; searches: string[]; options: string[] } {
    if (this.dnsConfigFn) return this.dnsConfigFn;
    // The node's file is read once per agent, as the kubelet reads its --resolv-conf at start.
    let host = dns.hostResolvConf;
    if (host === undefined) {
      try {
        host = fs.readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        host = '';
      }
    }
    const opts = { clusterDNS: dns.clusterDNS, hostResolvConf: host, ...(dns.clusterDomain ? { clusterDomain: dns.clusterDomain } : {}) };
    this.dnsConfigFn = (pod) => {
      const rc = podDnsConfig(pod, opts);
      return { servers: rc.nameservers, searches: rc.searches, options: rc.options };
    };
    return this.dnsConfigFn;
  }

  /** A pod bound to this node disappeared from the API. */
  podDeleted(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    this.workers.get(uid)?.podDeleted(pod);
  }

  /** Removes sandboxes whose pods no longer exist (after the pod list is known). */
  async cleanupOrphans(known: Set<string>): Promise<void> {
    for (const sb of await this.runtime.listPodSandbox()) {
      const uid = sb.labels[labelPodUid];
      if (!uid || known.has(uid) || this.workers.has(uid)) continue;
      log.info('removing sandbox of a pod that no longer exists', { pod: `${sb.metadata.namespace}/${sb.metadata.name}`, uid });
      await this.runtime.removePodSandbox(sb.id).catch((e: unknown) => log.warn('cannot remove orphaned sandbox', { err: e }));
      fs.rmSync(join(this.o.rootDir, 'pods', uid), { recursive: true, force: true });
    }
  }

  /** The pods this agent runs. */
  pods(): Pod[] {
    return [...this.workers.values()].map((w) => w.current);
  }

  /** The number of pods with a worker. */
  get podCount(): number {
    return this.workers.size;
  }

  /** Streaming access to a pod of this node. */
  findPod(namespace: string, name: string): StreamingPod | undefined {
    const uid = this.byName.get(`${namespace}/${name}`);
    const w = uid ? this.workers.get(uid) : undefined;
    if (!w) return undefined;
    const runtime = this.runtime;
    return {
      pod: w.current,
      runtime,
      logPath: (c, previous) => w.logPath(c, previous),
      containerId: (c) => w.containerId(c),
      get sandbox() {
        return w.sandbox;
      },
    };
  }
}
