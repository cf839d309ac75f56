/**
 * The runtime boundary of the node agent, shaped like the Container Runtime Interface (CRI): pod sandboxes,
 * containers, exec/attach, port-forward, images and stats. The pod workers only talk to a runtime through this
 * interface, so that runc, a CRI client (containerd, CRI-O) or the host-process and simulated runtimes are
 * interchangeable. Times are milliseconds since the epoch (CRI uses nanoseconds; nothing here needs them).
 */
import type { Duplex, Readable, Writable } from 'node:stream';

/** Labels the agent puts on sandboxes and containers, as the kubelet does (kubetypes). */
export const labelPodUid = 'io.kubernetes.pod.uid';
export const labelPodName = 'io.kubernetes.pod.name';
export const labelPodNamespace = 'io.kubernetes.pod.namespace';
export const labelContainerName = 'io.kubernetes.container.name';

/** RunPodSandbox's config (runtime.v1.PodSandboxConfig, reduced to what the runtimes here use). */
export interface PodSandboxConfig {
  metadata: { name: string; namespace: string; uid: string; attempt: number };
  hostname: string;
  /** Directory under which container logs of this pod live. */
  logDirectory: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  hostNetwork: boolean;
  /** Declared container ports (for runtimes that map them). */
  portMappings: { containerPort: number; protocol: string; hostPort?: number }[];
  /** The pod's resolv.conf content (CRI DNSConfig); absent: the runtime's default. */
  dnsConfig?: { servers: string[]; searches: string[]; options: string[] };
}

/** SANDBOX_READY / SANDBOX_NOTREADY. */
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

/** PodSandboxStatus. */
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxConfig['metadata'];
  state: PodSandboxState;
  createdAt: number;
  /** The pod IP (the host's address for runtimes without pod networking). */
  ip: string;
  additionalIps: string[];
  labels: Record<string, string>;
}

/** A volume mount: the runtime makes `hostPath` visible to the container at `containerPath`. */
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
}

/** CRI's LinuxContainerResources (the subset enforced here). */
export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
  pidsLimit?: number;
}

/** CRI's LinuxContainerSecurityContext (the subset used here). */
export interface LinuxContainerSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
  privileged?: boolean;
  readonlyRootfs?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  noNewPrivs?: boolean;
}

/** CRI's LinuxContainerConfig: what a runtime with isolation enforces (the others ignore it). */
export interface LinuxContainerConfig {
  resources?: LinuxContainerResources;
  securityContext?: LinuxContainerSecurityContext;
}

/** Registry credentials of a pull (CRI's AuthConfig), from the pod's imagePullSecrets. */
export interface PullCredential {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** CreateContainer's config (runtime.v1.ContainerConfig). */
export interface ContainerConfig {
  metadata: { name: string; attempt: number };
  image: string;
  /** Entrypoint (the pod's `command`); empty means the image's. */
  command: string[];
  /** Arguments (the pod's `args`); empty means the image's. */
  args: string[];
  workingDir: string;
  envs: { key: string; value: string }[];
  mounts: Mount[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Where the runtime writes the container's log, in the CRI log format. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  /** Resources and security context (runtime.v1.ContainerConfig.linux). */
  linux?: LinuxContainerConfig;
}

/** CRI container states. */
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

/** ContainerStatus. */
export interface ContainerStatus {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  createdAt: number;
  /** 0 until started. */
  startedAt: number;
  /** 0 until exited. */
  finishedAt: number;
  exitCode: number;
  /** Brief reason of the exit (Completed, Error, OOMKilled, StartError…). */
  reason: string;
  message: string;
  image: string;
  imageRef: string;
  logPath: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Filter of ListContainers / ListPodSandbox. */
export interface ListFilter {
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

/** The result of ExecSync. */
export interface ExecSyncResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** True when the command ran past its timeout and was killed. */
  timedOut: boolean;
}

/** Terminal size from the resize channel. */
export interface TerminalSize {
  width: number;
  height: number;
}

/** Streams of an exec or attach session; absent streams are not connected. */
export interface StreamOptions {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty?: boolean;
  /** Terminal resizes (tty sessions). */
  resize?: AsyncIterable<TerminalSize>;
  signal?: AbortSignal;
}

/** Image metadata (runtime.v1.Image). */
export interface ImageInfo {
  id: string;
  repoTags: string[];
  /** `repository@sha256:…` names (runtime.v1.Image.repo_digests). */
  repoDigests?: string[];
  size: number;
}

/** Container stats (runtime.v1.ContainerStats, reduced). */
export interface ContainerStats {
  id: string;
  timestamp: number;
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageCoreNanoSeconds: number;
  memoryWorkingSetBytes: number;
}

/** A container lifecycle event (GetContainerEvents). */
export interface ContainerEvent {
  containerId: string;
  podSandboxId: string;
  type: 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';
  labels: Record<string, string>;
}

/** Version (runtime.v1.VersionResponse). */
export interface RuntimeVersion {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/**
 * An error the runtime reports for a container that could not be created or started: the pod worker turns
 * `reason` into the container's waiting reason (RunContainerError, CreateContainerError, StartError…).
 */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A CRI-shaped container runtime. Every method may reject with RuntimeError or another Error. */
export interface ContainerRuntime {
  /** Version and name, e.g. process://0.1.0 for nodeInfo.containerRuntimeVersion. */
  version(): RuntimeVersion;
  /** Whether images are really pulled and used (false for the process and simulated runtimes). */
  readonly usesImages: boolean;

  /** Creates and starts a pod sandbox; returns its id. Idempotent per pod uid and attempt. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stops every container of the sandbox (force) and marks it not ready. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes a stopped sandbox and its containers' state. */
  removePodSandbox(id: string): Promise<void>;
  /** Status of a sandbox, or undefined when unknown. */
  podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined>;
  /** Every sandbox the runtime knows (including ones adopted after an agent restart). */
  listPodSandbox(filter?: ListFilter): Promise<PodSandboxStatus[]>;

  /** Creates a container in a sandbox; returns its id. */
  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  /** Starts a created container; rejects with RuntimeError('StartError' | 'RunContainerError', …) when it cannot run. */
  startContainer(id: string): Promise<void>;
  /** Stops a container: SIGTERM, then SIGKILL after `timeoutSeconds`; resolves once it has exited. */
  stopContainer(id: string, opts: { timeoutSeconds: number }): Promise<void>;
  /** Removes an exited container (its log file stays for `logs --previous`). */
  removeContainer(id: string): Promise<void>;
  /** Status of a container, or undefined when unknown. */
  containerStatus(id: string): Promise<ContainerStatus | undefined>;
  /** Containers matching the filter. */
  listContainers(filter?: ListFilter): Promise<ContainerStatus[]>;

  /** Runs a command in a running container and collects its output (probes, hooks). */
  execSync(id: string, cmd: string[], opts: { timeoutMs: number }): Promise<ExecSyncResult>;
  /** Runs a command in a running container with streamed stdio; resolves with its exit code. */
  exec(id: string, cmd: string[], opts: StreamOptions): Promise<number>;
  /** Attaches to a running container's stdio until the container exits or the session ends. */
  attach(id: string, opts: StreamOptions): Promise<void>;
  /** Connects `stream` to a TCP port inside the sandbox's network namespace. */
  portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void>;

  /** Pulls an image with the given credentials (tried in order); returns its id. Rejects with RuntimeError('ErrImagePull', registry's message). */
  pullImage(image: string, opts?: { credentials?: PullCredential[]; signal?: AbortSignal }): Promise<string>;
  /** The image a reference names when present (CRI ImageStatus), else undefined. */
  imageStatus(image: string): Promise<ImageInfo | undefined>;
  /** The images present. */
  listImages(): Promise<ImageInfo[]>;

  /** Resource usage of a container, or undefined when unknown. */
  containerStats(id: string): Promise<ContainerStats | undefined>;

  /** Subscribes to container lifecycle events; returns the unsubscribe function. */
  onContainerEvent(listener: (ev: ContainerEvent) => void): () => void;

  /** Loads persisted state (adopting containers that still run); called once before use. */
  start(): Promise<void>;
  /** Releases the runtime's resources. With `killContainers`, every container is stopped first. */
  close(opts?: { killContainers?: boolean }): Promise<void>;
}
