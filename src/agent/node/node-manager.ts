/**
 * Node registration and heartbeats, as the kubelet's node status manager and node lease controller: register
 * the Node (capacity, allocatable, nodeInfo, addresses, standard labels, conditions, kubelet endpoint), renew a
 * Lease in kube-node-lease every 10 s, and update the Node's status when something changes and at least every
 * 5 minutes (nodeStatusReportFrequency), checking every 10 s (nodeStatusUpdateFrequency).
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ContainerImage, Node, NodeCondition, NodeStatus, Taint } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import { sleep } from '../../base/clock.ts';
import type { ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/index.ts';

const log = logger('node-manager');

/** The kubelet version the agent reports (the API level it implements). */
export const agentVersion = 'v1.32.0+skiff.0.1.0';

/** Options of a NodeManager. */
export interface NodeManagerOptions {
  nodes: ResourceClient<Node>;
  leases: ResourceClient<Lease>;
  nodeName: string;
  /** InternalIP address. */
  hostIP: string;
  /** The agent's streaming port (status.daemonEndpoints.kubeletEndpoint.Port). */
  kubeletPort: number;
  /** Extra labels (node-role.kubernetes.io/control-plane for the server's own node). */
  labels?: Record<string, string>;
  /** nodeInfo.containerRuntimeVersion, e.g. process://0.1.0. */
  containerRuntimeVersion: string;
  /** Capacity override (the simulated runtime reports a configured size). */
  capacity?: Record<string, string>;
  /** Directory whose filesystem is the node's ephemeral storage. */
  rootDir?: string;
  /** Lease renewal interval (default 10 s). */
  leaseRenewMs?: number;
  /** Lease duration (default 40 s). */
  leaseDurationSeconds?: number;
  /** How often conditions are checked (default 10 s). */
  statusCheckMs?: number;
  /** Unchanged status is still reported this often (default 5 min). */
  statusReportMs?: number;
  /** Measure real memory/disk pressure (default true; off for simulated nodes). */
  measurePressure?: boolean;
  /** Taints to register with. */
  taints?: Taint[];
  /** The pod subnet to register with (spec.podCIDR/podCIDRs, as the kubelet's --pod-cidr); else node IPAM assigns one. */
  podCIDR?: string;
  /** The node's images for status.images (runtimes that use images); a change is reported at the next status check. */
  images?: () => Promise<ContainerImage[]>;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

function readTrim(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const text = readTrim('/etc/os-release');
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
  return m?.[1] ?? `${os.type()} ${os.release()}`;
}

/** The host's capacity and allocatable (allocatable keeps upstream's default eviction reserves). */
export function hostResources(rootDir: string): { capacity: Record<string, string>; allocatable: Record<string, string> } {
  const memKi = Math.floor(os.totalmem() / 1024);
  let storageBytes = 0;
  try {
    const st = fs.statfsSync(rootDir);
    storageBytes = st.blocks * st.bsize;
  } catch {
    storageBytes = 0;
  }
  const capacity: Record<string, string> = {
    cpu: String(os.cpus().length),
    'ephemeral-storage': `${Math.floor(storageBytes / 1024)}Ki`,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: `${memKi}Ki`,
    pods: '110',
  };
  const allocatable: Record<string, string> = {
    ...capacity,
    'ephemeral-storage': String(Math.floor(storageBytes * 0.9)),
    memory: `${Math.max(0, memKi - 100 * 1024)}Ki`,
  };
  return { capacity, allocatable };
}

/** Registers a node and keeps it alive. */
export class NodeManager {
  private readonly o: NodeManagerOptions;
  private node: Node | undefined;
  private lease: Lease | undefined;
  private lastReport = 0;
  private lastConditionsKey = '';
  private lastImagesKey = '';
  private imageList: ContainerImage[] = [];
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly resources: { capacity: Record<string, string>; allocatable: Record<string, string> };
  private readonly info: NodeStatus['nodeInfo'];
  /** Lease renewals done (benchmarks). */
  renewals = 0;

  constructor(o: NodeManagerOptions) {
    this.o = o;
    const host = o.capacity ? { capacity: o.capacity, allocatable: o.capacity } : hostResources(o.rootDir ?? os.tmpdir());
    this.resources = host;
    const machineID = readTrim('/etc/machine-id') || o.nodeName;
    this.info = {
      machineID,
      systemUUID: readTrim('/sys/class/dmi/id/product_uuid') || machineID,
      bootID: readTrim('/proc/sys/kernel/random/boot_id'),
      kernelVersion: os.release(),
      osImage: osImage(),
      containerRuntimeVersion: o.containerRuntimeVersion,
      kubeletVersion: agentVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    };
  }

  /** The allocatable resources the node reports (downward API limits default to them). */
  get allocatable(): Record<string, string> {
    return this.resources.allocatable;
  }

  /** Registers the node (retrying until it succeeds or `signal` aborts), then starts the heartbeat loops. */
  async start(signal?: AbortSignal): Promise<void> {
    signal?.addEventListener('abort', () => this.abort.abort(), { once: true });
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      try {
        await this.register();
        break;
      } catch (e) {
        log.warn('unable to register node', { node: this.o.nodeName, err: e, attempt });
        await sleep(Math.min(7000, 100 * 2 ** attempt), { signal: this.abort.signal }).catch(() => undefined);
      }
    }
    if (this.abort.signal.aborted) return;
    await this.renewLease().catch((e: unknown) => log.warn('lease renewal failed', { node: this.o.nodeName, err: e }));
    this.loops.push(this.leaseLoop(), this.statusLoop());
  }

  /** Stops heartbeating (the node goes NotReady when its lease expires, as when a kubelet stops). */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private labels(): Record<string, string> {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    return {
      'beta.kubernetes.io/arch': arch,
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': arch,
      'kubernetes.io/hostname': this.o.nodeName,
      'kubernetes.io/os': 'linux',
      ...(this.o.labels ?? {}),
    };
  }

  private conditions(now: number, previous: NodeCondition[] | undefined): NodeCondition[] {
    const ts = rfc3339(now);
    const prev = new Map((previous ?? []).map((c) => [c.type, c]));
    let memoryPressure = false;
    let diskPressure = false;
    if (this.o.measurePressure !== false) {
      memoryPressure = os.freemem() < 100 * 1024 * 1024;
      try {
        const st = fs.statfsSync(this.o.rootDir ?? os.tmpdir());
        diskPressure = st.blocks > 0 && st.bavail / st.blocks < 0.1;
      } catch {
        diskPressure = false;
      }
    }
    const make = (type: string, ok: boolean, reasonTrue: string, msgTrue: string, reasonFalse: string, msgFalse: string): NodeCondition => {
      const status = ok ? 'True' : 'False';
      const p = prev.get(type);
      return {
        type, status, lastHeartbeatTime: ts,
        lastTransitionTime: p && p.status === status ? p.lastTransitionTime : ts,
        reason: ok ? reasonTrue : reasonFalse, message: ok ? msgTrue : msgFalse,
      };
    };
    return [
      make('MemoryPressure', memoryPressure, 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      make('DiskPressure', diskPressure, 'KubeletHasDiskPressure', 'kubelet has disk pressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      make('PIDPressure', false, 'KubeletHasInsufficientPID', 'kubelet has insufficient PID available', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      make('Ready', true, 'KubeletReady', 'kubelet is posting ready status', 'KubeletNotReady', 'kubelet is not ready'),
    ];
  }

  private status(now: number, previous: NodeCondition[] | undefined): NodeStatus {
    return {
      capacity: this.resources.capacity,
      allocatable: this.resources.allocatable,
      conditions: this.conditions(now, previous),
      addresses: [{ type: 'InternalIP', address: this.o.hostIP }, { type: 'Hostname', address: this.o.nodeName }],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort } },
      nodeInfo: this.info,
      ...(this.o.images ? { images: this.imageList } : {}),
    };
  }

  private async refreshImages(): Promise<string> {
    if (!this.o.images) return '';
    try {
      this.imageList = await this.o.images();
    } catch (e) {
      log.warn('listing images failed', { node: this.o.nodeName, err: e });
    }
    return JSON.stringify(this.imageList);
  }

  private async register(): Promise<void> {
    this.lastImagesKey = await this.refreshImages();
    const now = Date.now();
    const desired: Node = {
      apiVersion: 'v1', kind: 'Node',
      metadata: {
        name: this.o.nodeName,
        labels: this.labels(),
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: {
        ...(this.o.taints ? { taints: this.o.taints } : {}),
        ...(this.o.podCIDR ? { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] } : {}),
      },
      status: this.status(now, undefined),
    };
    try {
      this.node = await this.o.nodes.create(desired);
      log.info('node registered', { node: this.o.nodeName });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // Re-registration (agent restart): reconcile labels and report fresh status, as the kubelet does.
      const existing = await this.o.nodes.get(this.o.nodeName);
      const labels = { ...(existing.metadata?.labels ?? {}), ...this.labels() };
      await this.o.nodes.patch(this.o.nodeName, { metadata: { labels } }, { type: 'merge' });
      this.node = await this.o.nodes.patch(this.o.nodeName, { status: this.status(now, existing.status?.conditions) }, { type: 'merge', subresource: 'status' });
    }
    this.lastReport = now;
    this.lastConditionsKey = conditionsKey(this.node?.status?.conditions);
  }

  private async leaseLoop(): Promise<void> {
    const every = this.o.leaseRenewMs ?? 10_000;
    while (!this.abort.signal.aborted) {
      try {
        await sleep(every, { signal: this.abort.signal });
        await this.renewLease();
      } catch (e) {
        if (this.abort.signal.aborted) return;
        log.warn('lease renewal failed', { node: this.o.nodeName, err: e });
      }
    }
  }

  /** Renews (or creates) the node's Lease. */
  async renewLease(): Promise<void> {
    const now = Date.now();
    const leases = this.o.leases;
    const ns = 'kube-node-lease';
    const spec = { holderIdentity: this.o.nodeName, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime: microTime(now) };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.lease) {
        try {
          this.lease = await leases.get(this.o.nodeName, { namespace: ns });
        } catch (e) {
          if (!isNotFound(e)) throw e;
          const owner = this.node?.metadata?.uid ? [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: this.node.metadata.uid }] : undefined;
          try {
            this.lease = await leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.nodeName, namespace: ns, ...(owner ? { ownerReferences: owner } : {}) }, spec });
            this.renewals++;
            return;
          } catch (ce) {
            if (!isAlreadyExists(ce)) throw ce;
            continue;
          }
        }
      }
      try {
        this.lease = await leases.update({ ...this.lease, spec: { ...this.lease.spec, ...spec } }, { namespace: ns });
        this.renewals++;
        return;
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) {
          this.lease = undefined;
          continue;
        }
        throw e;
      }
    }
  }

  private async statusLoop(): Promise<void> {
    const check = this.o.statusCheckMs ?? 10_000;
    const report = this.o.statusReportMs ?? 300_000;
    while (!this.abort.signal.aborted) {
      try {
        await sleep(check, { signal: this.abort.signal });
        const now = Date.now();
        const conds = this.conditions(now, this.node?.status?.conditions);
        const key = conditionsKey(conds);
        const imagesKey = await this.refreshImages();
        if (key === this.lastConditionsKey && imagesKey === this.lastImagesKey && now - this.lastReport < report) continue;
        this.lastImagesKey = imagesKey;
        this.node = await this.o.nodes.patch(this.o.nodeName, { status: this.status(now, this.node?.status?.conditions) }, { type: 'merge', subresource: 'status' });
        this.lastReport = now;
        this.lastConditionsKey = key;
      } catch (e) {
        if (this.abort.signal.aborted) return;
        if (isNotFound(e)) {
          // Deleted behind our back: register again, as the kubelet does.
          await this.register().catch((re: unknown) => log.warn('unable to re-register node', { node: this.o.nodeName, err: re }));
          continue;
        }
        log.warn('node status update failed', { node: this.o.nodeName, err: e });
      }
    }
  }
}

function conditionsKey(conds: NodeCondition[] | undefined): string {
  return (conds ?? []).map((c) => `${c.type}=${c.status}`).join(',');
}
