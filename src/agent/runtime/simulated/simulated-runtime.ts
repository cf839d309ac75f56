/**
 * The `simulated` runtime, in the spirit of kwok: no processes at all. Containers become running after a
 * configurable delay; containers of run-to-completion pods (restartPolicy Never/OnFailure) exit 0 after a
 * configurable duration. Per-pod annotations override both (`sim.skiff.io/run-seconds`, `sim.skiff.io/exit-code`).
 * Everything is a small in-memory record so that one process can simulate thousands of nodes.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type {
  ContainerConfig, ContainerEvent, ContainerRuntime, ContainerStats, ContainerStatus, ExecSyncResult, ImageInfo, ListFilter,
  PodSandboxConfig, PodSandboxStatus, RuntimeVersion, StreamOptions,
} from '../runtime.ts';
import { RuntimeError } from '../runtime.ts';

/** Annotation on a pod: seconds its containers run before exiting (any restart policy). */
export const annotationRunSeconds = 'sim.skiff.io/run-seconds';
/** Annotation on a pod: the exit code its containers exit with (default 0). */
export const annotationExitCode = 'sim.skiff.io/exit-code';
/** Container annotation the agent sets with the pod's restartPolicy. */
export const annotationRestartPolicy = 'io.kubernetes.pod.restartPolicy';

/** Options of the simulated runtime. */
export interface SimulatedRuntimeOptions {
  /** Delay between start and running (default 0). */
  startDelayMs?: number;
  /** How long containers of Never/OnFailure pods run before succeeding (default 5 s). */
  completeAfterMs?: number;
  /** Returns the IP of a new sandbox. */
  allocateIP: () => string;
}

interface SimSandbox {
  status: PodSandboxStatus;
  annotations: Record<string, string>;
}

interface SimContainer {
  status: ContainerStatus;
  timer?: NodeJS.Timeout;
  exited?: () => void;
}

/** Creates a simulated runtime (one per simulated node). */
export function createSimulatedRuntime(opts: SimulatedRuntimeOptions): SimulatedRuntime {
  return new SimulatedRuntime(opts);
}

/** No processes: timers and records. */
export class SimulatedRuntime implements ContainerRuntime {
  readonly usesImages = false;
  private readonly opts: SimulatedRuntimeOptions;
  private readonly sandboxes = new Map<string, SimSandbox>();
  private readonly containers = new Map<string, SimContainer>();
  private readonly listeners = new Set<(ev: ContainerEvent) => void>();

  constructor(opts: SimulatedRuntimeOptions) {
    this.opts = opts;
  }

  version(): RuntimeVersion {
    return { runtimeName: 'simulated', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' };
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    for (const c of this.containers.values()) if (c.timer) clearTimeout(c.timer);
  }

  onContainerEvent(listener: (ev: ContainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = `${config.metadata.uid}-${config.metadata.attempt}`;
    const existing = this.sandboxes.get(id);
    if (existing && existing.status.state === 'SANDBOX_READY') return id;
    this.sandboxes.set(id, {
      status: { id, metadata: config.metadata, state: 'SANDBOX_READY', createdAt: Date.now(), ip: existing?.status.ip ?? this.opts.allocateIP(), additionalIps: [], labels: config.labels },
      annotations: config.annotations,
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    for (const c of this.containers.values()) if (c.status.podSandboxId === id) this.exit(c, c.status.state === 'CONTAINER_RUNNING' ? 137 : c.status.exitCode, 'Error');
    sb.status.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.stopPodSandbox(id);
    for (const [cid, c] of this.containers) if (c.status.podSandboxId === id) this.containers.delete(cid);
    this.sandboxes.delete(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    return this.sandboxes.get(id)?.status;
  }

  async listPodSandbox(filter: ListFilter = {}): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()].map((s) => s.status).filter((s) => matchLabels(s.labels, filter.labelSelector));
  }

  async createContainer(podSandboxId: string, config: ContainerConfig): Promise<string> {
    if (!this.sandboxes.has(podSandboxId)) throw new RuntimeError('CreateContainerError', `pod sandbox ${podSandboxId} not found`);
    const id = randomBytes(16).toString('hex');
    this.containers.set(id, {
      status: {
        id, podSandboxId, metadata: config.metadata, state: 'CONTAINER_CREATED', createdAt: Date.now(), startedAt: 0, finishedAt: 0,
        exitCode: 0, reason: '', message: '', image: config.image, imageRef: config.image, logPath: config.logPath, labels: config.labels, annotations: config.annotations,
      },
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError('RunContainerError', `container ${id} not found`);
    const delay = this.opts.startDelayMs ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    c.status.state = 'CONTAINER_RUNNING';
    c.status.startedAt = Date.now();
    this.emit(c, 'CONTAINER_STARTED_EVENT');
    const sbAnn = this.sandboxes.get(c.status.podSandboxId)?.annotations ?? {};
    const runSeconds = sbAnn[annotationRunSeconds];
    const policy = c.status.annotations[annotationRestartPolicy] ?? 'Always';
    let runMs: number | undefined;
    if (runSeconds !== undefined && Number.isFinite(Number(runSeconds))) runMs = Number(runSeconds) * 1000;
    else if (policy !== 'Always') runMs = this.opts.completeAfterMs ?? 5000;
    if (runMs !== undefined) {
      const code = Number(sbAnn[annotationExitCode] ?? 0) || 0;
      c.timer = setTimeout(() => this.exit(c, code, code === 0 ? 'Completed' : 'Error'), runMs);
      c.timer.unref();
    }
  }

  async stopContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    if (c.status.state === 'CONTAINER_RUNNING') this.exit(c, 143, 'Error');
    else if (c.status.state === 'CONTAINER_CREATED') this.exit(c, 0, '');
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    if (c.timer) clearTimeout(c.timer);
    this.containers.delete(id);
    this.emit(c, 'CONTAINER_DELETED_EVENT');
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    return this.containers.get(id)?.status;
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const c of this.containers.values()) {
      if (filter.podSandboxId && c.status.podSandboxId !== filter.podSandboxId) continue;
      if (filter.state && c.status.state !== filter.state) continue;
      if (!matchLabels(c.status.labels, filter.labelSelector)) continue;
      out.push(c.status);
    }
    return out;
  }

  async execSync(): Promise<ExecSyncResult> {
    // Probes of simulated pods always succeed: there is nothing to probe.
    return { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), timedOut: false };
  }

  async exec(_id: string, _cmd: string[], _opts: StreamOptions): Promise<number> {
    throw new RuntimeError('NotSupported', 'exec is not supported by the simulated runtime');
  }

  async attach(_id: string, _opts: StreamOptions): Promise<void> {
    throw new RuntimeError('NotSupported', 'attach is not supported by the simulated runtime');
  }

  async portForward(_podSandboxId: string, _port: number, _stream: Duplex): Promise<void> {
    throw new RuntimeError('NotSupported', 'port-forward is not supported by the simulated runtime');
  }

  async pullImage(image: string): Promise<string> {
    return image;
  }

  async listImages(): Promise<ImageInfo[]> {
    return [];
  }

  /** Images are not used here: every reference counts as present so that no pull is attempted. */
  async imageStatus(image: string): Promise<ImageInfo | undefined> {
    return { id: image, repoTags: [image], size: 0 };
  }

  async containerStats(id: string): Promise<ContainerStats | undefined> {
    const c = this.containers.get(id);
    if (!c || c.status.state !== 'CONTAINER_RUNNING') return undefined;
    return { id, timestamp: Date.now(), cpuUsageCoreNanoSeconds: 0, memoryWorkingSetBytes: 0 };
  }

  private exit(c: SimContainer, exitCode: number, reason: string): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    if (c.status.state === 'CONTAINER_EXITED') return;
    c.status.state = 'CONTAINER_EXITED';
    c.status.exitCode = exitCode;
    c.status.reason = reason;
    c.status.finishedAt = Date.now();
    this.emit(c, 'CONTAINER_STOPPED_EVENT');
  }

  private emit(c: SimContainer, type: ContainerEvent['type']): void {
    const ev: ContainerEvent = { containerId: c.status.id, podSandboxId: c.status.podSandboxId, type, labels: c.status.labels };
    for (const l of this.listeners) l(ev);
  }
}

function matchLabels(labels: Record<string, string>, sel: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}
