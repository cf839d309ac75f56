/**
 * A pod worker drives one pod towards its spec through the runtime, the way the kubelet's pod worker and
 * kuberuntime manager do: sandbox, volumes, init containers in order, then the containers; restarts by
 * restartPolicy with CrashLoopBackOff (10 s doubling to 5 min, reset after 10 min of running); probes; hooks;
 * graceful termination followed by the final delete of the pod object. Syncs are serialised per pod and are
 * level-triggered: every wake-up recomputes the actions from the pod and the runtime's state.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import type { Container, ContainerStateTerminated, ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import type { EventInfo, ResourceClient } from '../../client/index.ts';
import { isNotFound } from '../../client/index.ts';
import type { ContainerRuntime, ContainerStatus as RuntimeContainerStatus, PodSandboxConfig } from '../runtime/runtime.ts';
import { labelContainerName, labelPodName, labelPodNamespace, labelPodUid, RuntimeError } from '../runtime/runtime.ts';
import { linuxConfigFor } from '../runtime/runc/spec.ts';
import { annotationRestartPolicy } from '../runtime/simulated/simulated-runtime.ts';
import type { ConfigSource, DownwardContext } from './env.ts';
import { ContainerConfigError, expand, makeEnvironment } from './env.ts';
import { ProbeWorker, runHandler } from './probes.ts';
import type { ProbeKind, ProbeTarget } from './probes.ts';
import type { ImageManager } from './images.ts';
import { buildPodStatus } from './status.ts';
import type { StatusManager } from './status-manager.ts';
import { setUpVolumes, VolumeError } from './volumes.ts';

const log = logger('pod-worker');

/** CrashLoopBackOff timing (upstream: 10 s initial, 5 min cap; reset after 10 min of running). */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

/** The kubelet's defaults. */
export const defaultBackoff: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** Everything a pod worker needs from its agent. */
export interface PodWorkerDeps {
  runtime: ContainerRuntime;
  nodeName: string;
  hostIP: string;
  /** Per-pod directories (volumes, logs) live under `<podsDir>/<uid>`. */
  podsDir: string;
  source: ConfigSource;
  downward: Omit<DownwardContext, 'podIP'>;
  statusManager: StatusManager;
  pods: ResourceClient<Pod>;
  /** Records an event about the pod (undefined: events off). */
  recordEvent?: (pod: Pod, info: EventInfo) => void;
  backoff?: BackoffPolicy;
  /** Write volumes to disk (false for the simulated runtime). */
  materializeVolumes: boolean;
  /** Directory for emptyDir medium Memory (default /dev/shm when it exists). */
  memoryDir?: string;
  /** Called once the worker has finished (pod deleted and cleaned up). */
  onDone: (uid: string) => void;
  /** How often configMap/secret/downwardAPI volumes of running pods are refreshed (default 60 s, the kubelet's syncFrequency). */
  volumeResyncMs?: number;
  /** Image pulls for runtimes that use images (shared by the agent's workers). */
  images?: ImageManager;
  /** The pod's DNS settings for its sandbox (the kubelet's dnsPolicy handling); absent: the runtime's default. */
  dnsConfig?: (pod: Pod) => PodSandboxConfig['dnsConfig'];
}

interface ContainerTrack {
  name: string;
  init: boolean;
  /** The latest runtime container of this name. */
  id?: string;
  /** The runtime container of the previous attempt (for lastState). */
  prevId?: string;
  attempt: number;
  /** Why the container is not running yet, when known. */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
  probes: ProbeWorker[];
  /** Set by liveness/startup failures: kill and restart. */
  restartRequested?: string;
  backoffMs?: number;
  /** The container exited because the agent stopped it (liveness, hook failure…). */
  killedByAgent?: boolean;
  /** A failed pull shows ErrImagePull until then; later syncs in the back-off show ImagePullBackOff. */
  errImagePullUntil?: number;
}

/** Formats milliseconds as a Go duration (10s, 1m20s, 5m0s). */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return `${m}m${s % 60}s`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One worker per pod. */
export class PodWorker {
  readonly uid: string;
  private pod: Pod;
  private readonly deps: PodWorkerDeps;
  private readonly tracks = new Map<string, ContainerTrack>();
  private sandboxId: string | undefined;
  private sandboxIP = '';
  private startTime: string | undefined;
  private dirty = true;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextWakeAt = 0;
  private deleted = false;
  private terminated = false;
  private finished = false;
  private running: Promise<void> | undefined;
  private lastError = '';
  private emittedPulled = new Set<string>();
  private lastVolumeSync = 0;
  private readonly abort = new AbortController();
  /** Stage timings of a new pod's first start, logged at -v 2 once it runs (where startup latency goes). */
  private trace: { t0: number; marks: [string, number][] } | undefined;

  constructor(pod: Pod, deps: PodWorkerDeps) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.deps = deps;
    this.startTime = pod.status?.startTime;
    if (!this.startTime) this.trace = { t0: Date.now(), marks: [] };
  }

  /** The pod as last seen. */
  get current(): Pod {
    return this.pod;
  }

  /** The directory of this pod's logs and volumes. */
  get podDir(): string {
    return join(this.deps.podsDir, this.uid);
  }

  /** Starts the worker loop. */
  start(): void {
    this.running ??= this.loop();
  }

  /**
   * A newer version of the pod arrived: sync again. (Skipping the echoes of this agent's own status writes saves
   * syncs but lost the CrashLoopBackOff and ConfigMap-volume refreshes that ride on them: see the session notes.)
   */
  update(pod: Pod): void {
    this.pod = pod;
    this.kick();
  }

  /** The pod object is gone from the API: terminate and clean up. */
  podDeleted(pod: Pod): void {
    this.pod = pod;
    this.deleted = true;
    this.kick();
  }

  /** Something changed (container exit, probe result): sync soon. */
  kick(): void {
    this.dirty = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Stops the loop without touching containers (agent shutdown; they are adopted on restart). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.finished = true;
    this.kick();
    for (const t of this.tracks.values()) for (const p of t.probes) p.stop();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** The log file of a container: the current attempt, or the previous one with `previous`. */
  logPath(container: string, previous: boolean): string | undefined {
    const t = this.tracks.get(container);
    if (!t) return undefined;
    const attempt = previous ? t.attempt - 1 : t.attempt;
    if (attempt < 0) return undefined;
    const p = this.containerLogPath(container, attempt);
    if (previous && !fs.existsSync(p)) return undefined;
    return p;
  }

  /** The runtime id of a container's current instance (exec, attach), if any. */
  containerId(container: string): string | undefined {
    return this.tracks.get(container)?.id;
  }

  /** The sandbox id (port-forward). */
  get sandbox(): string | undefined {
    return this.sandboxId;
  }

  private containerLogPath(container: string, attempt: number): string {
    return join(this.podDir, 'logs', container, `${attempt}.log`);
  }

  private scheduleWake(atMs: number): void {
    if (this.nextWakeAt !== 0 && this.nextWakeAt <= atMs && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextWakeAt = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextWakeAt = 0;
      this.kick();
    }, Math.max(0, atMs - Date.now()));
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    let errors = 0;
    while (!this.finished) {
      if (!this.dirty) await new Promise<void>((r) => (this.wake = r));
      if (this.finished) break;
      this.dirty = false;
      try {
        await this.sync();
        errors = 0;
      } catch (e) {
        errors++;
        const msg = e instanceof Error ? e.message : String(e);
        if (msg !== this.lastError) log.warn('pod sync failed', { pod: this.key(), err: msg });
        this.lastError = msg;
        // The agent never crashes on a pod: it retries with back-off and reports what it can.
        this.scheduleWake(Date.now() + Math.min(10_000, 500 * 2 ** Math.min(errors, 5)));
      }
    }
  }

  private mark(stage: string): void {
    this.trace?.marks.push([stage, Date.now() - this.trace.t0]);
  }

  private key(): string {
    return `${this.pod.metadata?.namespace ?? ''}/${this.pod.metadata?.name ?? ''}`;
  }

  private event(info: EventInfo): void {
    this.deps.recordEvent?.(this.pod, info);
  }

  private containers(): { c: Container; init: boolean }[] {
    const spec = this.pod.spec;
    return [...(spec?.initContainers ?? []).map((c) => ({ c, init: true })), ...(spec?.containers ?? []).map((c) => ({ c, init: false }))];
  }

  private track(name: string, init: boolean): ContainerTrack {
    let t = this.tracks.get(name);
    if (!t) {
      t = { name, init, attempt: 0, ready: false, started: false, probes: [] };
      this.tracks.set(name, t);
    }
    return t;
  }

  // --- the sync ---

  private async sync(): Promise<void> {
    if (this.deleted || this.pod.metadata?.deletionTimestamp) {
      await this.terminate();
      return;
    }
    if (this.terminated) return;
    await this.ensureSandbox();
    const statuses = await this.runtimeStatuses();
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    // Init containers, in order; each must succeed before the next starts.
    let initDone = true;
    for (const { c } of this.containers().filter((x) => x.init)) {
      const t = this.track(c.name, true);
      const st = t.id ? statuses.get(t.id) : undefined;
      const sidecar = c.restartPolicy === 'Always';
      if (!st) {
        await this.startContainer(c, t);
        initDone = false;
        break;
      }
      if (st.state === 'CONTAINER_RUNNING') {
        if (t.restartRequested) await this.killForRestart(c, t);
        if (sidecar && t.started) continue;
        initDone = false;
        break;
      }
      if (st.state === 'CONTAINER_EXITED') {
        if (!sidecar && st.exitCode === 0 && !t.restartRequested) continue;
        if (!sidecar && policy === 'Never') {
          initDone = false;
          break;
        }
        await this.maybeRestart(c, t, st);
        initDone = false;
        break;
      }
      initDone = false;
      break;
    }
    if (initDone) {
      for (const { c } of this.containers().filter((x) => !x.init)) {
        const t = this.track(c.name, false);
        const st = t.id ? statuses.get(t.id) : undefined;
        if (!st) {
          await this.startContainer(c, t);
          continue;
        }
        if (st.state === 'CONTAINER_RUNNING') {
          if (t.restartRequested) {
            await this.killForRestart(c, t);
            if (policy !== 'Never') await this.maybeRestart(c, t, (await this.deps.runtime.containerStatus(t.id!))!);
          }
          continue;
        }
        if (st.state === 'CONTAINER_EXITED') {
          const restart = policy === 'Always' || (policy === 'OnFailure' && (st.exitCode !== 0 || t.killedByAgent === true));
          if (restart) await this.maybeRestart(c, t, st);
        }
      }
    }
    await this.reportStatus();
    await this.refreshVolumes();
    // A pod whose containers will not run again is done: stop the sandbox, keep logs for `kubectl logs`.
    const phase = this.deps.statusManager.latest(this.pod.metadata?.namespace ?? '', this.pod.metadata?.name ?? '')?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.terminated) {
      this.terminated = true;
      for (const t of this.tracks.values()) for (const p of t.probes.splice(0)) p.stop();
      if (this.sandboxId) await this.deps.runtime.stopPodSandbox(this.sandboxId);
      await this.reportStatus(true);
    }
  }

  /** Rewrites projected volumes of a running pod when their sources changed (atomic swap; unchanged ones are left). */
  private async refreshVolumes(): Promise<void> {
    const every = this.deps.volumeResyncMs ?? 60_000;
    if (!this.deps.materializeVolumes || !this.sandboxId || (this.pod.spec?.volumes ?? []).length === 0) return;
    const now = Date.now();
    if (now - this.lastVolumeSync < every) {
      this.scheduleWake(this.lastVolumeSync + every);
      return;
    }
    this.lastVolumeSync = now;
    try {
      await setUpVolumes(this.pod, join(this.podDir, 'volumes'), { source: this.deps.source, downward: { ...this.deps.downward, podIP: this.podIP() }, memoryDir: this.deps.memoryDir });
    } catch (e) {
      if (!(e instanceof VolumeError)) throw e;
    }
    this.scheduleWake(now + every);
  }

  private async runtimeStatuses(): Promise<Map<string, RuntimeContainerStatus>> {
    const out = new Map<string, RuntimeContainerStatus>();
    if (!this.sandboxId) return out;
    for (const st of await this.deps.runtime.listContainers({ podSandboxId: this.sandboxId })) out.set(st.id, st);
    return out;
  }

  private sandboxConfig(): PodSandboxConfig {
    const meta = this.pod.metadata ?? {};
    const ports = (this.pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => ({ containerPort: p.containerPort, protocol: p.protocol ?? 'TCP', ...(p.hostPort ? { hostPort: p.hostPort } : {}) })));
    return {
      metadata: { name: meta.name ?? '', namespace: meta.namespace ?? '', uid: this.uid, attempt: 0 },
      hostname: this.pod.spec?.hostname ?? meta.name ?? '',
      logDirectory: join(this.podDir, 'logs'),
      labels: { [labelPodUid]: this.uid, [labelPodName]: meta.name ?? '', [labelPodNamespace]: meta.namespace ?? '' },
      annotations: { ...(meta.annotations ?? {}) },
      hostNetwork: this.pod.spec?.hostNetwork === true,
      portMappings: ports,
      ...(this.deps.dnsConfig ? { dnsConfig: this.deps.dnsConfig(this.pod) } : {}),
    };
  }

  private async ensureSandbox(): Promise<void> {
    if (this.sandboxId) {
      const st = await this.deps.runtime.podSandboxStatus(this.sandboxId);
      if (st?.state === 'SANDBOX_READY') return;
    }
    // Adopt what a previous agent process left running.
    const existing = (await this.deps.runtime.listPodSandbox({ labelSelector: { [labelPodUid]: this.uid } })).find((s) => s.state === 'SANDBOX_READY');
    if (existing) {
      this.sandboxId = existing.id;
      this.sandboxIP = existing.ip;
      await this.adoptContainers();
      return;
    }
    this.mark('sync');
    this.sandboxId = await this.deps.runtime.runPodSandbox(this.sandboxConfig());
    const st = await this.deps.runtime.podSandboxStatus(this.sandboxId);
    this.sandboxIP = st?.ip ?? this.deps.hostIP;
    this.mark('sandbox');
    this.startTime ??= rfc3339(Date.now());
  }

  private async adoptContainers(): Promise<void> {
    const all = await this.deps.runtime.listContainers({ podSandboxId: this.sandboxId });
    const byName = new Map<string, RuntimeContainerStatus[]>();
    for (const st of all) {
      const name = st.labels[labelContainerName] ?? st.metadata.name;
      byName.set(name, [...(byName.get(name) ?? []), st]);
    }
    for (const { c, init } of this.containers()) {
      const list = (byName.get(c.name) ?? []).sort((a, b) => a.metadata.attempt - b.metadata.attempt);
      const latest = list[list.length - 1];
      if (!latest) continue;
      const t = this.track(c.name, init);
      t.id = latest.id;
      t.prevId = list[list.length - 2]?.id;
      t.attempt = latest.metadata.attempt;
      if (latest.state === 'CONTAINER_RUNNING') {
        // Probes start over; a container without probes is ready at once, as after its first start.
        t.started = !c.startupProbe;
        t.ready = !c.readinessProbe && t.started;
        this.startProbes(c, t, latest.startedAt);
      }
    }
    this.startTime ??= rfc3339(Date.now());
    log.info('adopted pod', { pod: this.key(), containers: all.length });
  }

  private podIP(): string {
    return this.pod.spec?.hostNetwork ? this.deps.hostIP : this.sandboxIP || this.deps.hostIP;
  }

  private async startContainer(c: Container, t: ContainerTrack): Promise<void> {
    const rt = this.deps.runtime;
    const attempt = t.id ? t.attempt + 1 : t.attempt;
    const fieldPath = `spec.${t.init ? 'initContainers' : 'containers'}{${c.name}}`;
    // Volumes and environment first: a missing ConfigMap or Secret keeps the container waiting.
    let volumes = new Map<string, string>();
    const downward: DownwardContext = { ...this.deps.downward, podIP: this.podIP() };
    if (this.deps.materializeVolumes) {
      try {
        volumes = await setUpVolumes(this.pod, join(this.podDir, 'volumes'), { source: this.deps.source, downward, memoryDir: this.deps.memoryDir });
      } catch (e) {
        if (e instanceof VolumeError) {
          t.waiting = { reason: 'ContainerCreating' };
          this.event({ type: 'Warning', reason: 'FailedMount', message: e.message });
          this.scheduleWake(Date.now() + 2000);
          return;
        }
        throw e;
      }
    }
    this.mark(`${c.name}.volumes`);
    let envs: { key: string; value: string }[];
    try {
      envs = await makeEnvironment(this.pod, c, { source: this.deps.source, downward });
    } catch (e) {
      if (e instanceof ContainerConfigError) {
        if (t.waiting?.message !== e.message) this.event({ type: 'Warning', reason: 'Failed', message: `Error: ${e.message}`, fieldPath });
        t.waiting = { reason: 'CreateContainerConfigError', message: e.message };
        // Upstream retries on its resync; the pod starts by itself once the object appears.
        this.scheduleWake(Date.now() + 2000);
        return;
      }
      throw e;
    }
    this.mark(`${c.name}.env`);
    if (rt.usesImages && this.deps.images) {
      const now = Date.now();
      if (t.waiting?.reason === 'ErrImagePull' && t.errImagePullUntil !== undefined && now < t.errImagePullUntil) {
        this.scheduleWake(t.errImagePullUntil);
        return;
      }
      const res = await this.deps.images.ensureImage(this.pod, c, {
        source: this.deps.source,
        emit: (ev) => this.event({ ...ev, fieldPath }),
      });
      if (!res.ok) {
        t.waiting = { reason: res.reason, message: res.message };
        this.event({ type: 'Warning', reason: 'Failed', message: `Error: ${res.reason}`, fieldPath });
        t.errImagePullUntil = undefined;
        let wakeAt = res.retryAt ?? Date.now() + 10_000;
        if (res.reason === 'ErrImagePull') {
          // Upstream's pod worker syncs again after its 10 s back-off period, inside the image back-off, and only
          // then reports ImagePullBackOff; here the next sync is at half the back-off, so both states are seen.
          wakeAt = Date.now() + Math.max(0, (res.retryAt ?? Date.now()) - Date.now()) / 2;
          t.errImagePullUntil = wakeAt;
        }
        // ErrImageNeverPull and InvalidImageName are retried on the resync, as upstream does.
        this.scheduleWake(wakeAt);
        return;
      }
      t.errImagePullUntil = undefined;
    } else if (!this.emittedPulled.has(c.name)) {
      this.emittedPulled.add(c.name);
      const image = c.image ?? '';
      if (rt.version().runtimeName === 'process') {
        const noCommand = (c.command ?? []).length === 0 && (c.args ?? []).length === 0;
        this.event({
          type: noCommand ? 'Warning' : 'Normal',
          reason: 'Pulled',
          message: `Container image "${image}" is not used: the process runtime runs the container's command on the host${noCommand ? ' (no command given: it runs "sleep infinity")' : ''}`,
          fieldPath,
        });
      } else {
        this.event({ type: 'Normal', reason: 'Pulled', message: `Container image "${image}" already present on machine`, fieldPath });
      }
    }
    this.mark(`${c.name}.image`);
    const envMap = new Map(envs.map((e) => [e.key, e.value]));
    const mounts = (c.volumeMounts ?? []).flatMap((m) => {
      const base = volumes.get(m.name);
      if (!base) return [];
      let hostPath = base;
      if (m.subPath) {
        hostPath = join(base, m.subPath);
        if (this.deps.materializeVolumes && !fs.existsSync(hostPath)) fs.mkdirSync(hostPath, { recursive: true });
      }
      return [{ containerPath: m.mountPath, hostPath, readonly: m.readOnly === true }];
    });
    const meta = this.pod.metadata ?? {};
    const labels = { [labelPodUid]: this.uid, [labelPodName]: meta.name ?? '', [labelPodNamespace]: meta.namespace ?? '', [labelContainerName]: c.name };
    let id: string;
    try {
      id = await rt.createContainer(this.sandboxId!, {
        metadata: { name: c.name, attempt },
        image: c.image ?? '',
        command: (c.command ?? []).map((s) => expand(s, envMap)),
        args: (c.args ?? []).map((s) => expand(s, envMap)),
        workingDir: c.workingDir ?? '',
        envs,
        mounts,
        labels,
        annotations: { [annotationRestartPolicy]: this.pod.spec?.restartPolicy ?? 'Always', 'io.kubernetes.container.restartCount': String(attempt) },
        logPath: this.containerLogPath(c.name, attempt),
        stdin: c.stdin === true,
        stdinOnce: c.stdinOnce === true,
        tty: c.tty === true,
        ...(rt.usesImages ? { linux: linuxConfigFor(this.pod, c) } : {}),
      }, this.sandboxConfig());
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      t.waiting = { reason: 'CreateContainerError', message: msg };
      this.event({ type: 'Warning', reason: 'Failed', message: `Error: ${msg}`, fieldPath });
      this.scheduleWake(Date.now() + 2000);
      return;
    }
    // The previous instance stays for lastState and `logs --previous`; older ones go.
    if (t.prevId) await rt.removeContainer(t.prevId).catch(() => undefined);
    t.prevId = t.id;
    t.id = id;
    t.attempt = attempt;
    t.ready = false;
    t.started = false;
    t.killedByAgent = false;
    t.restartRequested = undefined;
    for (const p of t.probes.splice(0)) p.stop();
    this.mark(`${c.name}.create`);
    this.event({ type: 'Normal', reason: 'Created', message: `Created container: ${c.name}`, fieldPath });
    try {
      await rt.startContainer(id);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      t.waiting = { reason: e instanceof RuntimeError ? e.reason : 'RunContainerError', message: msg };
      if (t.waiting.reason !== 'RunContainerError' && t.waiting.reason !== 'StartError') t.waiting.reason = 'RunContainerError';
      this.event({ type: 'Warning', reason: 'Failed', message: `Error: ${msg}`, fieldPath });
      return;
    }
    t.waiting = undefined;
    this.mark(`${c.name}.start`);
    this.event({ type: 'Normal', reason: 'Started', message: `Started container ${c.name}`, fieldPath });
    const st = await rt.containerStatus(id);
    if (c.lifecycle?.postStart) {
      const err = await runHandler(c.lifecycle.postStart, this.probeTarget(c, id), { timeoutMs: 30_000 });
      if (err) {
        this.event({ type: 'Warning', reason: 'FailedPostStartHook', message: `PostStartHook failed`, fieldPath });
        log.info('postStart hook failed', { pod: this.key(), container: c.name, err });
        t.killedByAgent = true;
        await rt.stopContainer(id, { timeoutSeconds: this.gracePeriod() });
        return;
      }
    }
    t.started = !c.startupProbe;
    t.ready = !c.readinessProbe && t.started;
    this.startProbes(c, t, st?.startedAt ?? Date.now());
  }

  private probeTarget(c: Container, id: string): ProbeTarget {
    return { runtime: this.deps.runtime, containerId: id, podIP: this.podIP(), container: c };
  }

  private startProbes(c: Container, t: ContainerTrack, startedAt: number): void {
    const id = t.id!;
    const fieldPath = `spec.${t.init ? 'initContainers' : 'containers'}{${c.name}}`;
    const target = this.probeTarget(c, id);
    const label: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };
    const make = (kind: ProbeKind, probe: NonNullable<Container['livenessProbe']>): ProbeWorker => {
      const w = new ProbeWorker({
        kind, probe, target, startedAt,
        onFailure: (output) => {
          if (t.id !== id) return;
          this.event({ type: 'Warning', reason: 'Unhealthy', message: `${label[kind]} probe failed: ${output}`, fieldPath });
        },
        onResult: (ok) => {
          if (t.id !== id) return;
          if (kind === 'readiness') t.ready = ok && t.started;
          else if (kind === 'startup') {
            if (ok) {
              t.started = true;
              if (!c.readinessProbe) t.ready = true;
              // Liveness and readiness run once the startup probe has succeeded.
              for (const [k, p] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe]] as const) {
                if (p) {
                  const pw = make(k, p);
                  t.probes.push(pw);
                  pw.start();
                }
              }
            } else {
              t.restartRequested = `Container ${c.name} failed startup probe, will be restarted`;
            }
          } else if (!ok) {
            t.restartRequested = `Container ${c.name} failed liveness probe, will be restarted`;
          }
          this.kick();
        },
      });
      return w;
    };
    const toStart: ProbeWorker[] = [];
    if (c.startupProbe) toStart.push(make('startup', c.startupProbe));
    else {
      if (c.livenessProbe) toStart.push(make('liveness', c.livenessProbe));
      if (c.readinessProbe) toStart.push(make('readiness', c.readinessProbe));
    }
    t.probes.push(...toStart);
    for (const p of toStart) p.start();
  }

  private gracePeriod(): number {
    return this.pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private async killForRestart(c: Container, t: ContainerTrack): Promise<void> {
    const fieldPath = `spec.${t.init ? 'initContainers' : 'containers'}{${c.name}}`;
    this.event({ type: 'Normal', reason: 'Killing', message: t.restartRequested ?? `Stopping container ${c.name}`, fieldPath });
    for (const p of t.probes.splice(0)) p.stop();
    t.ready = false;
    t.killedByAgent = true;
    const probeGrace = c.livenessProbe?.terminationGracePeriodSeconds ?? c.startupProbe?.terminationGracePeriodSeconds;
    if (c.lifecycle?.preStop) {
      await runHandler(c.lifecycle.preStop, this.probeTarget(c, t.id!), { timeoutMs: (probeGrace ?? this.gracePeriod()) * 1000 });
    }
    await this.deps.runtime.stopContainer(t.id!, { timeoutSeconds: probeGrace ?? this.gracePeriod() });
    t.restartRequested = undefined;
  }

  /** Restarts an exited container unless it is in back-off (then reports CrashLoopBackOff and waits). */
  private async maybeRestart(c: Container, t: ContainerTrack, st: RuntimeContainerStatus): Promise<void> {
    const policy = this.deps.backoff ?? defaultBackoff;
    const now = Date.now();
    if (st.startedAt > 0 && st.finishedAt - st.startedAt >= policy.resetAfterMs) t.backoffMs = undefined;
    if (t.backoffMs !== undefined && now - st.finishedAt < t.backoffMs) {
      const meta = this.pod.metadata ?? {};
      const podRef = `${meta.name ?? ''}_${meta.namespace ?? ''}(${this.uid})`;
      const message = `back-off ${goDuration(t.backoffMs)} restarting failed container=${c.name} pod=${podRef}`;
      if (t.waiting?.reason !== 'CrashLoopBackOff' || t.waiting.message !== message) {
        this.event({ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${podRef}`, fieldPath: `spec.${t.init ? 'initContainers' : 'containers'}{${c.name}}` });
      }
      t.waiting = { reason: 'CrashLoopBackOff', message };
      this.scheduleWake(st.finishedAt + t.backoffMs);
      return;
    }
    t.backoffMs = t.backoffMs === undefined ? policy.initialMs : Math.min(policy.maxMs, t.backoffMs * 2);
    await this.startContainer(c, t);
  }

  /** Whether an exited container will be started again (restartPolicy, sidecars, agent-initiated kills). */
  private willRestart(c: Container, t: ContainerTrack, exitCode: number): boolean {
    if (this.terminated || this.deleted || this.pod.metadata?.deletionTimestamp) return false;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (t.init && c.restartPolicy === 'Always') return true;
    if (t.init) return policy !== 'Never' && exitCode !== 0;
    return policy === 'Always' || (policy === 'OnFailure' && (exitCode !== 0 || t.killedByAgent === true));
  }

  // --- status ---

  private async containerStatusOf(c: Container, t: ContainerTrack | undefined, initRunning: boolean): Promise<ContainerStatus> {
    const rt = this.deps.runtime;
    const base: ContainerStatus = { name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: t?.attempt ?? 0, started: false, state: {} };
    const st = t?.id ? await rt.containerStatus(t.id) : undefined;
    const prev = t?.prevId ? await rt.containerStatus(t.prevId) : undefined;
    const runtimeName = rt.version().runtimeName;
    const terminated = (s: RuntimeContainerStatus): ContainerStateTerminated => {
      const term: ContainerStateTerminated = {
        exitCode: s.exitCode,
        reason: s.reason || (s.exitCode === 0 ? 'Completed' : 'Error'),
        startedAt: s.startedAt ? rfc3339(s.startedAt) : undefined,
        finishedAt: rfc3339(s.finishedAt || Date.now()),
        containerID: `${runtimeName}://${s.id}`,
      };
      if (s.message) term.message = s.message;
      if (!term.startedAt) delete term.startedAt;
      return term;
    };
    if (prev && prev.state === 'CONTAINER_EXITED') base.lastState = { terminated: terminated(prev) };
    if (!st) {
      base.state = { waiting: t?.waiting ?? { reason: !t?.init && initRunning ? 'PodInitializing' : 'ContainerCreating' } };
      if (!base.lastState) base.lastState = {};
      return base;
    }
    base.containerID = `${runtimeName}://${st.id}`;
    base.imageID = st.imageRef;
    if (st.state === 'CONTAINER_RUNNING') {
      base.state = { running: { startedAt: rfc3339(st.startedAt) } };
      base.ready = t?.ready ?? false;
      base.started = t?.started ?? false;
    } else if (st.state === 'CONTAINER_EXITED') {
      if (t?.waiting && this.willRestart(c, t, st.exitCode)) {
        base.state = { waiting: t.waiting };
        base.lastState = { terminated: terminated(st) };
      } else {
        base.state = { terminated: terminated(st) };
      }
    } else {
      base.state = { waiting: t?.waiting ?? { reason: 'ContainerCreating' } };
    }
    if (!base.lastState) base.lastState = {};
    return base;
  }

  private async reportStatus(podIsTerminal = false): Promise<void> {
    const spec = this.pod.spec;
    const initStatuses: ContainerStatus[] = [];
    let initRunning = false;
    for (const c of spec?.initContainers ?? []) {
      const s = await this.containerStatusOf(c, this.tracks.get(c.name), false);
      initStatuses.push(s);
      if (!(s.state?.terminated?.exitCode === 0) && !(c.restartPolicy === 'Always' && s.started)) initRunning = true;
    }
    const statuses: ContainerStatus[] = [];
    for (const c of spec?.containers ?? []) statuses.push(await this.containerStatusOf(c, this.tracks.get(c.name), initRunning));
    const status = buildPodStatus(this.pod, {
      initContainerStatuses: initStatuses,
      containerStatuses: statuses,
      sandboxReady: this.sandboxId !== undefined && !podIsTerminal,
      hostIP: this.deps.hostIP,
      podIP: this.podIP(),
      startTime: this.startTime ?? rfc3339(Date.now()),
      podIsTerminal,
      now: rfc3339(Date.now()),
    });
    this.deps.statusManager.setPodStatus(this.pod, status);
    if (this.trace && (status.phase === 'Running' || podIsTerminal)) {
      this.mark('status');
      log.v(2).info('pod startup stages', { pod: this.key(), seenAt: this.trace.t0, ...Object.fromEntries(this.trace.marks) });
      this.trace = undefined;
    }
  }

  // --- termination ---

  private async terminate(): Promise<void> {
    if (this.finished) return;
    const rt = this.deps.runtime;
    const meta = this.pod.metadata ?? {};
    let grace = meta.deletionGracePeriodSeconds ?? this.gracePeriod();
    if (this.deleted && meta.deletionGracePeriodSeconds === undefined && !meta.deletionTimestamp) grace = this.gracePeriod();
    const deadline = Date.now() + grace * 1000;
    if (this.sandboxId) {
      const statuses = await this.runtimeStatuses();
      const running = this.containers().filter(({ c }) => {
        const id = this.tracks.get(c.name)?.id;
        return id !== undefined && statuses.get(id)?.state === 'CONTAINER_RUNNING';
      });
      for (const t of this.tracks.values()) for (const p of t.probes.splice(0)) p.stop();
      await Promise.all(running.map(async ({ c, init }) => {
        const t = this.tracks.get(c.name)!;
        t.ready = false;
        this.event({ type: 'Normal', reason: 'Killing', message: `Stopping container ${c.name}`, fieldPath: `spec.${init ? 'initContainers' : 'containers'}{${c.name}}` });
        if (c.lifecycle?.preStop && grace > 0) {
          const err = await runHandler(c.lifecycle.preStop, this.probeTarget(c, t.id!), { timeoutMs: Math.max(0, deadline - Date.now()) });
          if (err) this.event({ type: 'Warning', reason: 'FailedPreStopHook', message: `PreStopHook failed`, fieldPath: `spec.${init ? 'initContainers' : 'containers'}{${c.name}}` });
        }
        // Upstream leaves at least 2 s between SIGTERM and SIGKILL after a preStop hook used the grace period.
        const left = grace === 0 ? 0 : Math.max(2, Math.ceil((deadline - Date.now()) / 1000));
        await rt.stopContainer(t.id!, { timeoutSeconds: left });
      }));
      await rt.stopPodSandbox(this.sandboxId);
    }
    this.terminated = true;
    if (!this.deleted) {
      await this.reportStatus(true);
      await this.deps.statusManager.flush();
      try {
        await this.deps.pods.delete(meta.name ?? '', { namespace: meta.namespace, gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (this.sandboxId) await rt.removePodSandbox(this.sandboxId);
    if (this.deps.materializeVolumes) await fs.promises.rm(this.podDir, { recursive: true, force: true });
    this.deps.statusManager.forget(meta.namespace ?? '', meta.name ?? '');
    this.finished = true;
    this.deps.onDone(this.uid);
  }
}
