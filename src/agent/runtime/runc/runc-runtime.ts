/**
 * The `runc` runtime: every container is a real OCI container run by runc from an image in the store, on a rootfs
 * that overlays the image's shared layers, in its pod's network namespace (CNI), with cgroup limits.
 *
 * Each container is supervised by a tiny shim, `sh -c 'runc run --keep …; echo $? > exit'`, started in its own
 * session: runc stays the parent of the container's init and returns its exit status, the shell records it, and
 * both survive an agent restart, after which the container is adopted (not restarted). `--keep` leaves the
 * container's cgroup in place after it exits so that an OOM kill can be read from it before `runc delete`.
 * Output goes through FIFOs that the shim holds open into CRI-format log files written by the agent. Terminals use
 * `script` to give runc the controlling terminal it needs in the foreground; a resize is set on that pty (found from
 * the shim's pid, so adopted containers resize too) and runc passes the SIGWINCH on to the container's console.
 * stdin's FIFO is kept writable by a holder process beside the shim, so an agent restart is no end-of-file and a new
 * agent can attach; stdinOnce closes it for good.
 */
import { procStartTime, reopenStdin } from '../held-stdin.ts';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import { sleep } from '../../../base/clock.ts';
import { logger } from '../../../base/log.ts';
import { LogWriter } from '../../logs/cri-log.ts';
import type { LogStream } from '../../logs/cri-log.ts';
import type { RegistryCredential } from '../../images/credentials.ts';
import { pullImage, PullError } from '../../images/registry.ts';
import { overlayMount, overlaySupported, prepareRootfs, removeRootfsAsync, mountsUnder, unmountAll } from '../../images/rootfs.ts';
import type { RootfsMode } from '../../images/rootfs.ts';
import type { GcOptions, ImageRecord, ImageStore } from '../../images/store.ts';
import { PodNetwork } from '../../network/pod-network.ts';
import type {
  ContainerEvent, ContainerRuntime, ContainerState, ContainerStats, ContainerStatus, ExecSyncResult, ImageInfo,
  ListFilter, PodSandboxConfig, PodSandboxStatus, RuntimeVersion, StreamOptions,
} from '../runtime.ts';
import { RuntimeError } from '../runtime.ts';
import { cgroupStats, lastRuncError, minOomScoreAdj, oomKills, removeCgroup, Runc } from './runc.ts';
import type { RuncContainerConfig } from './spec.ts';
import { buildSpec } from './spec.ts';
import { forwardResizes } from '../process/pty.ts';
import { createSpawner, runChecked } from './spawner.ts';
import type { Spawner } from './spawner.ts';

const log = logger('runc-runtime');

/** CNI settings of the runtime. */
export interface RuncNetworkOptions {
  /** The node's pod CIDR. */
  podCIDR: string;
  /** Bridge name (default derived from the data dir). */
  bridgeName?: string;
  /** CNI plugin directories (default /usr/lib/cni). */
  binDirs?: string[];
}

/** Options of createRuncRuntime. */
export interface RuncRuntimeOptions {
  /** Root of the runtime's state: bundles, runc's state root, CNI cache, state file. */
  dataDir: string;
  imageStore: ImageStore;
  /** Pod networking; without it every pod shares the host's network (and reports `hostIP`). */
  network?: RuncNetworkOptions;
  /** The node's address (hostNetwork pods, and every pod without `network`). */
  hostIP: string;
  /** cgroup parent of all pods (default `skiff`). */
  cgroupParent?: string;
  /** The runc binary (default `runc`). */
  runcPath?: string;
  /** Rootfs strategy (default: overlay when it works here, else copy). */
  rootfsMode?: RootfsMode;
  /** Pull an image that is not present when a container is created (default true: IfNotPresent). */
  pullOnCreate?: boolean;
  /** Credentials for pulls without explicit ones (e.g. from the node's config). */
  credentialsFor?: (image: string) => RegistryCredential[];
  /** resolv.conf for pods (default: the host's, without loopback name servers). */
  resolvConf?: string;
  logMaxBytes?: number;
  logMaxFiles?: number;
}

interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  createdAt: number;
  state: PodSandboxStatus['state'];
  dir: string;
  ip: string;
  netnsPath?: string;
}

interface ContainerRecord {
  id: string;
  podSandboxId: string;
  config: RuncContainerConfig;
  imageId: string;
  dir: string;
  cgroupsPath: string;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  shimPid?: number;
  shimStart?: string;
  /** Container init's host PID (from runc's pid file). */
  pid?: number;
  /** The process that keeps the stdin FIFO writable while no agent runs (stdin or tty containers). */
  stdinHolderPid?: number;
  stdinHolderStart?: string;
  /** stdin was closed (stdinOnce after the first attach, or its holder died): never reopened. */
  stdinClosed?: boolean;
}

interface Live {
  /** The shim this runtime instance launched (exitCode set once it exits). */
  shim?: { pid: number | undefined; exitCode: number | null };
  pumps: net.Socket[];
  writer?: LogWriter;
  stdinWriter?: net.Socket;
  subscribers: Set<(stream: LogStream, chunk: Buffer) => void>;
  exited: Promise<void>;
  markExited: () => void;
  poll?: NodeJS.Timeout;
  finishing?: Promise<void>;
}

interface StateFile {
  version: 1;
  sandboxes: SandboxRecord[];
  containers: ContainerRecord[];
}

/** Creates the runc runtime (call `start()` before use). */
export function createRuncRuntime(opts: RuncRuntimeOptions): RuncRuntime {
  return new RuncRuntime(opts);
}

/** Whether this host can run the runc runtime: root, and a runc binary on PATH (or at `runcPath`). */
export function runcAvailable(runcPath = 'runc'): boolean {
  if (process.getuid?.() !== 0) return false;
  if (runcPath.includes('/')) return fs.existsSync(runcPath);
  return (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => fs.existsSync(join(d, runcPath)));
}

/** Real OCI containers behind the CRI-shaped boundary. */
export class RuncRuntime implements ContainerRuntime {
  readonly usesImages = true;
  readonly network: PodNetwork | undefined;
  private readonly opts: RuncRuntimeOptions;
  private readonly root: string;
  private readonly runc: Runc;
  /** Every host command of the start and stop paths forks from this worker, never from the event loop. */
  private readonly spawner: Spawner;
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly live = new Map<string, Live>();
  private readonly listeners = new Set<(ev: ContainerEvent) => void>();
  private readonly cgroupParent: string;
  private rootfsMode: RootfsMode = 'copy';
  private runcVersion = 'unknown';
  private minOom = 0;
  private saveScheduled = false;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: RuncRuntimeOptions) {
    this.opts = opts;
    this.root = resolve(opts.dataDir);
    this.spawner = createSpawner();
    this.runc = new Runc(opts.runcPath ?? 'runc', join(this.root, 'runc-state'), { run: this.spawner.run });
    this.cgroupParent = `/${(opts.cgroupParent ?? 'skiff').replace(/^\/+|\/+$/g, '')}`;
    this.network = opts.network ? new PodNetwork({ dataDir: join(this.root, 'cni'), podCIDR: opts.network.podCIDR, run: this.spawner.run, ...(opts.network.bridgeName ? { bridgeName: opts.network.bridgeName } : {}), ...(opts.network.binDirs ? { binDirs: opts.network.binDirs } : {}) }) : undefined;
  }

  version(): RuntimeVersion {
    return { runtimeName: 'runc', runtimeVersion: this.runcVersion, runtimeApiVersion: 'v1' };
  }

  async start(): Promise<void> {
    for (const d of ['pods', 'containers', 'runc-state']) fs.mkdirSync(join(this.root, d), { recursive: true });
    this.rootfsMode = this.opts.rootfsMode ?? (overlaySupported(this.root) ? 'overlay' : 'copy');
    this.runcVersion = await this.runc.version();
    this.minOom = minOomScoreAdj();
    let state: StateFile | undefined;
    try {
      state = JSON.parse(fs.readFileSync(this.statePath(), 'utf8')) as StateFile;
    } catch {
      state = undefined;
    }
    for (const s of state?.sandboxes ?? []) this.sandboxes.set(s.id, s);
    for (const c of state?.containers ?? []) {
      this.containers.set(c.id, c);
      if (c.state === 'CONTAINER_RUNNING') await this.adopt(c);
    }
    await this.cleanupOrphans();
    log.info('runc runtime started', { root: this.root, rootfs: this.rootfsMode, runc: this.runcVersion, sandboxes: this.sandboxes.size, containers: this.containers.size });
  }

  async close(opts: { killContainers?: boolean } = {}): Promise<void> {
    if (opts.killContainers) {
      for (const sb of [...this.sandboxes.values()]) await this.removePodSandbox(sb.id);
      await this.network?.destroy();
    }
    this.closed = true;
    for (const [, l] of this.live) {
      if (l.poll) clearInterval(l.poll);
      for (const p of l.pumps) p.destroy();
      l.stdinWriter?.destroy();
      l.writer?.close();
    }
    // A write in flight would otherwise rename its older snapshot over this final one.
    await this.saving;
    this.saveNow();
    await this.spawner.close();
  }

  onContainerEvent(listener: (ev: ContainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- sandboxes ---

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = createHash('sha256').update(`${config.metadata.uid}/${config.metadata.attempt}`).digest('hex');
    const existing = this.sandboxes.get(id);
    if (existing && existing.state === 'SANDBOX_READY') return id;
    const dir = join(this.root, 'pods', id);
    fs.mkdirSync(dir, { recursive: true });
    let ip = this.opts.hostIP;
    let netnsPath: string | undefined;
    if (!config.hostNetwork && this.network) {
      try {
        const st = await this.network.setUp({
          id, namespace: config.metadata.namespace, name: config.metadata.name, uid: config.metadata.uid,
          portMappings: config.portMappings.filter((p) => p.hostPort).map((p) => ({ hostPort: p.hostPort!, containerPort: p.containerPort, protocol: p.protocol })),
        });
        ip = st.ip;
        netnsPath = st.netnsPath;
      } catch (e) {
        throw new RuntimeError('CreatePodSandboxError', `failed to set up sandbox network: ${(e as Error).message}`);
      }
    }
    const hostname = config.hostNetwork ? os.hostname() : (config.hostname || config.metadata.name).slice(0, 63);
    fs.writeFileSync(join(dir, 'hostname'), `${hostname}\n`);
    fs.writeFileSync(join(dir, 'hosts'), config.hostNetwork ? readOr('/etc/hosts', '127.0.0.1\tlocalhost\n') : hostsFile(ip, hostname));
    fs.writeFileSync(join(dir, 'resolv.conf'), config.dnsConfig ? resolvConfText(config.dnsConfig) : (this.opts.resolvConf ?? podResolvConf()));
    this.sandboxes.set(id, { id, config, createdAt: existing?.createdAt ?? Date.now(), state: 'SANDBOX_READY', dir, ip, ...(netnsPath ? { netnsPath } : {}) });
    this.save();
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    await Promise.all([...this.containers.values()].filter((c) => c.podSandboxId === id).map((c) => this.stopContainer(c.id, { timeoutSeconds: 0 })));
    if (sb.netnsPath && this.network) {
      const m = sb.config.metadata;
      await this.network.tearDown({ id, namespace: m.namespace, name: m.name, uid: m.uid });
      delete sb.netnsPath;
    }
    sb.state = 'SANDBOX_NOTREADY';
    this.save();
  }

  async removePodSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    await this.stopPodSandbox(id);
    for (const c of [...this.containers.values()]) if (c.podSandboxId === id) await this.removeContainer(c.id);
    this.sandboxes.delete(id);
    await fs.promises.rm(sb.dir, { recursive: true, force: true });
    await removeCgroup(this.podCgroup(sb));
    this.save();
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    const sb = this.sandboxes.get(id);
    return sb ? sandboxStatusOf(sb) : undefined;
  }

  async listPodSandbox(filter: ListFilter = {}): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()].filter((s) => matchLabels(s.config.labels, filter.labelSelector)).map(sandboxStatusOf);
  }

  private podCgroup(sb: SandboxRecord): string {
    return `${this.cgroupParent}/pod${sb.config.metadata.uid}`;
  }

  // --- images ---

  /** Pulls an image (CRI PullImage); resolves with the image id. Rejects with RuntimeError('ErrImagePull'). */
  async pullImage(image: string, opts: { credentials?: RegistryCredential[]; signal?: AbortSignal } = {}): Promise<string> {
    try {
      const rec = await pullImage(this.opts.imageStore, image, { credentials: opts.credentials ?? this.opts.credentialsFor?.(image) ?? [], ...(opts.signal ? { signal: opts.signal } : {}) });
      return rec.id;
    } catch (e) {
      if (e instanceof PullError) throw new RuntimeError('ErrImagePull', e.message);
      throw e;
    }
  }

  /** The stored image a reference names (CRI ImageStatus), or undefined. */
  async imageStatus(image: string): Promise<ImageInfo | undefined> {
    const rec = this.opts.imageStore.resolve(image);
    return rec ? { id: rec.id, repoTags: rec.repoTags, repoDigests: rec.repoDigests, size: rec.size } : undefined;
  }

  /** The stored image record a reference names, or undefined. */
  imageRecord(image: string): ImageRecord | undefined {
    return this.opts.imageStore.resolve(image);
  }

  /** Removes unused images when the store's disk is above the high threshold (the kubelet's image GC); returns the removed ids. */
  async garbageCollectImages(opts: Omit<GcOptions, 'inUse'> = {}): Promise<string[]> {
    return this.opts.imageStore.gc({ ...opts, inUse: this.imagesInUse() });
  }

  /** Removes an image (CRI RemoveImage); refuses one that a container uses. */
  async removeImage(image: string): Promise<void> {
    const rec = this.opts.imageStore.resolve(image);
    if (!rec) return;
    if ([...this.containers.values()].some((c) => c.imageId === rec.id)) throw new RuntimeError('ImageInUse', `image ${image} is used by a container`);
    await this.opts.imageStore.remove(rec.id);
  }

  async listImages(): Promise<ImageInfo[]> {
    return this.opts.imageStore.list().map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size }));
  }

  /** Image ids that containers use (never garbage collected). */
  imagesInUse(): Set<string> {
    return new Set([...this.containers.values()].map((c) => c.imageId));
  }

  // --- containers ---

  async createContainer(podSandboxId: string, config: RuncContainerConfig): Promise<string> {
    const sb = this.sandboxes.get(podSandboxId);
    if (!sb) throw new RuntimeError('CreateContainerError', `pod sandbox ${podSandboxId} not found`);
    let img = this.opts.imageStore.resolve(config.image);
    if (!img) {
      if (this.opts.pullOnCreate === false) throw new RuntimeError('ErrImageNeverPull', `Container image "${config.image}" is not present with pull policy of Never`);
      await this.pullImage(config.image);
      img = this.opts.imageStore.resolve(config.image);
      if (!img) throw new RuntimeError('ErrImagePull', `image ${config.image} not found after pull`);
    }
    await this.opts.imageStore.ensureUnpacked(img);
    void this.opts.imageStore.touch(img.id).catch(() => undefined);
    const id = randomBytes(32).toString('hex');
    const dir = join(this.root, 'containers', id);
    fs.mkdirSync(dir, { recursive: true });
    const cgroupsPath = `${this.podCgroup(sb)}/${id.slice(0, 16)}`;
    try {
      // The rootfs mount and the output FIFOs cost one exec, run off the event loop.
      const fifos = fifoPaths(dir, config);
      let rootfs: string;
      if (this.rootfsMode === 'overlay') {
        const m = overlayMount(this.opts.imageStore.layerDirs(img), dir);
        rootfs = m.rootfs;
        await runChecked(this.spawner.run, '/bin/sh', ['-c', `${m.argv.map(shellQuote).join(' ')} && mkfifo ${fifos.map(shellQuote).join(' ')}`], { ...(m.cwd ? { cwd: m.cwd } : {}) });
      } else {
        rootfs = prepareRootfs(this.opts.imageStore.layerDirs(img), dir, { mode: this.rootfsMode });
        await runChecked(this.spawner.run, 'mkfifo', fifos);
      }
      for (const m of config.mounts) {
        // A missing volume directory would otherwise surface later as runc's less helpful mount error.
        if (!fs.existsSync(m.hostPath)) throw new RuntimeError('CreateContainerError', `failed to generate spec: stat ${m.hostPath}: no such file or directory`);
      }
      const spec = buildSpec({
        config, image: img.config, rootfs, hostname: fs.readFileSync(join(sb.dir, 'hostname'), 'utf8').trim(),
        ...(sb.netnsPath ? { netnsPath: sb.netnsPath } : {}),
        etcFiles: { hosts: join(sb.dir, 'hosts'), hostname: join(sb.dir, 'hostname'), resolvConf: join(sb.dir, 'resolv.conf') },
        cgroupsPath, minOomScoreAdj: this.minOom,
      });
      fs.writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 1));
    } catch (e) {
      await removeRootfsAsync(dir, this.spawner.run);
      await fs.promises.rm(dir, { recursive: true, force: true });
      if (e instanceof RuntimeError) throw e;
      throw new RuntimeError('CreateContainerError', (e as Error).message);
    }
    const rec: ContainerRecord = {
      id, podSandboxId, config, imageId: img.id, dir, cgroupsPath, state: 'CONTAINER_CREATED',
      createdAt: Date.now(), startedAt: 0, finishedAt: 0, exitCode: 0, reason: '', message: '',
    };
    this.containers.set(id, rec);
    this.save();
    this.emit(rec, 'CONTAINER_CREATED_EVENT');
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const rec = this.mustGet(id);
    if (rec.state !== 'CONTAINER_CREATED') throw new RuntimeError('RunContainerError', `container ${id} is not in created state: ${rec.state}`);
    const outPath = join(rec.dir, 'stdout.fifo');
    const errPath = join(rec.dir, 'stderr.fifo');
    const inPath = join(rec.dir, 'stdin.fifo');
    const wantStdin = rec.config.stdin || rec.config.tty;
    // createContainer made the FIFOs (a container created by an older agent may lack them).
    const missing = fifoPaths(rec.dir, rec.config).filter((f) => !fs.existsSync(f));
    if (missing.length > 0) await runChecked(this.spawner.run, 'mkfifo', missing);
    const outW = fs.openSync(outPath, fs.constants.O_RDWR);
    const errW = fs.openSync(errPath, fs.constants.O_RDWR);
    const outR = fs.openSync(outPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const errR = fs.openSync(errPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    let inW: number | undefined;
    let inR: number | undefined;
    if (wantStdin) {
      inW = fs.openSync(inPath, fs.constants.O_RDWR);
      inR = fs.openSync(inPath, fs.constants.O_RDONLY);
    }
    const live = this.newLive();
    this.live.set(id, live);
    live.writer = new LogWriter(rec.config.logPath, { maxBytes: this.opts.logMaxBytes, maxFiles: this.opts.logMaxFiles });
    for (const f of ['pid', 'exit', 'exit.tmp', 'runc.log']) fs.rmSync(join(rec.dir, f), { force: true });
    const runcArgs = [this.runc.binary, ...this.runc.globalArgs(), '--log', join(rec.dir, 'runc.log'), '--log-format', 'json', 'run', '--keep', '--bundle', rec.dir, '--pid-file', join(rec.dir, 'pid'), id];
    let cmd = runcArgs.map(shellQuote).join(' ');
    if (rec.config.tty) cmd = `script -qefc ${shellQuote(cmd)} /dev/null`;
    const shimScript = `${cmd}; rc=$?; echo $rc > ${shellQuote(join(rec.dir, 'exit.tmp'))} && mv ${shellQuote(join(rec.dir, 'exit.tmp'))} ${shellQuote(join(rec.dir, 'exit'))}`;
    let launched: Awaited<ReturnType<Spawner['launch']>>;
    try {
      // The holder starts beside the shim (both fork in the spawner's worker), so it costs the start path no latency.
      const [shimLaunch] = await Promise.all([
        this.spawner.launch('/bin/sh', ['-c', shimScript], { cwd: rec.dir, stdio: [inR ?? 'ignore', outW, errW], env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' } }),
        inW !== undefined ? this.launchStdinHolder(rec, inW) : undefined,
      ]);
      launched = shimLaunch;
    } finally {
      fs.closeSync(outW);
      fs.closeSync(errW);
      if (inR !== undefined) fs.closeSync(inR);
    }
    const shim = { pid: launched.pid as number | undefined, exitCode: null as number | null };
    live.shim = shim;
    let shimExited = false;
    void launched.exited.then((code) => {
      shim.exitCode = code ?? 128;
      shimExited = true;
      void this.onShimExit(rec, live);
    });
    if (inW !== undefined) {
      live.stdinWriter = new net.Socket({ fd: inW, readable: false, writable: true });
      live.stdinWriter.on('error', () => undefined);
    }
    this.pump(live, outR, errR);
    rec.shimPid = shim.pid;
    rec.shimStart = shim.pid ? procStartTime(shim.pid) : undefined;
    // Running once runc has written the pid file (it does after the process exec'd); a start error ends the shim first.
    const deadline = Date.now() + 60_000;
    const pidFile = join(rec.dir, 'pid');
    while (!fs.existsSync(pidFile) && !shimExited && Date.now() < deadline) await sleep(5);
    if (fs.existsSync(pidFile)) {
      rec.pid = Number(readOr(pidFile, '0')) || undefined;
      if (rec.state === 'CONTAINER_CREATED') {
        rec.state = 'CONTAINER_RUNNING';
        rec.startedAt = Date.now();
        this.save();
        this.emit(rec, 'CONTAINER_STARTED_EVENT');
      }
      return;
    }
    await live.exited;
    if (rec.reason === 'StartError') throw new RuntimeError('StartError', rec.message);
    if ((rec.state as ContainerState) !== 'CONTAINER_EXITED') throw new RuntimeError('RunContainerError', `container ${id} did not start within 60 s`);
  }

  /**
   * Starts the process that keeps the stdin FIFO writable while no agent runs: without a writer the container (or
   * the `script` of a tty container) reads end-of-file the moment the agent exits, and an adopted container could
   * never be attached again. Failure only costs that, so it is logged, not thrown.
   */
  private async launchStdinHolder(rec: ContainerRecord, inW: number): Promise<void> {
    try {
      const holder = await this.spawner.launch('sleep', ['infinity'], { stdio: ['ignore', inW, 'ignore'] });
      rec.stdinHolderPid = holder.pid;
      rec.stdinHolderStart = procStartTime(holder.pid);
    } catch (e) {
      log.warn('cannot start the stdin holder', { container: rec.config.metadata.name, err: (e as Error).message });
    }
  }

  private stopStdinHolder(rec: ContainerRecord): void {
    const pid = rec.stdinHolderPid;
    if (pid !== undefined && rec.stdinHolderStart !== undefined && procStartTime(pid) === rec.stdinHolderStart) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    rec.stdinHolderPid = undefined;
    rec.stdinHolderStart = undefined;
  }

  /** Closes the container's stdin for good (stdinOnce): the agent's writer and the holder go, so the container reads EOF. */
  private closeStdin(rec: ContainerRecord, live: Live): void {
    const w = live.stdinWriter;
    live.stdinWriter = undefined;
    this.stopStdinHolder(rec);
    rec.stdinClosed = true;
    this.save();
    if (w) w.end(() => w.destroy());
  }

  private async onShimExit(rec: ContainerRecord, live: Live): Promise<void> {
    live.finishing ??= this.finish(rec, live);
    await live.finishing;
  }

  private async finish(rec: ContainerRecord, live: Live): Promise<void> {
    const started = fs.existsSync(join(rec.dir, 'pid'));
    const exitText = readOr(join(rec.dir, 'exit'), '');
    let exitCode = exitText.trim() === '' ? 255 : Number(exitText.trim());
    const oom = oomKills(rec.cgroupsPath) > 0;
    const runcErr = lastRuncError(join(rec.dir, 'runc.log'));
    await this.runc.delete(rec.id);
    await removeCgroup(rec.cgroupsPath);
    // Let the pumps drain what the container wrote before it exited.
    await Promise.race([Promise.all(live.pumps.map((p) => (p.destroyed ? Promise.resolve() : new Promise((r) => p.once('close', r))))), sleep(500)]);
    for (const p of live.pumps) p.destroy();
    live.writer?.close();
    live.stdinWriter?.destroy();
    this.stopStdinHolder(rec);
    if (live.poll) clearInterval(live.poll);
    rec.finishedAt = Date.now();
    rec.state = 'CONTAINER_EXITED';
    if (!started) {
      rec.reason = 'StartError';
      rec.message = runcErr ?? `runc exited with status ${exitCode} before the container started`;
      exitCode = 128;
      rec.startedAt = 0;
    } else if (oom) {
      rec.reason = 'OOMKilled';
    } else {
      rec.reason = exitCode === 0 ? 'Completed' : 'Error';
    }
    rec.exitCode = exitCode;
    live.markExited();
    this.save();
    this.emit(rec, 'CONTAINER_STOPPED_EVENT');
  }

  async stopContainer(id: string, opts: { timeoutSeconds: number }): Promise<void> {
    const rec = this.containers.get(id);
    if (!rec) return;
    if (rec.state === 'CONTAINER_CREATED') {
      rec.state = 'CONTAINER_EXITED';
      rec.finishedAt = Date.now();
      this.save();
      return;
    }
    if (rec.state !== 'CONTAINER_RUNNING') return;
    const exited = this.live.get(id)?.exited ?? Promise.resolve();
    if (opts.timeoutSeconds > 0) {
      await this.runc.kill(id, 'TERM');
      const done = await Promise.race([exited.then(() => true), sleep(opts.timeoutSeconds * 1000).then(() => false)]);
      if (done) return;
    }
    await this.runc.kill(id, 'KILL');
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) log.warn('container did not exit after SIGKILL', { container: rec.config.metadata.name, id });
  }

  async removeContainer(id: string): Promise<void> {
    const rec = this.containers.get(id);
    if (!rec) return;
    if (rec.state === 'CONTAINER_RUNNING') await this.stopContainer(id, { timeoutSeconds: 0 });
    const live = this.live.get(id);
    if (live?.finishing) await live.finishing;
    if (live?.poll) clearInterval(live.poll);
    this.live.delete(id);
    // An exited container was deleted from runc when it exited; one that never ran was never known to runc.
    if (rec.state !== 'CONTAINER_EXITED') await this.runc.delete(id);
    await removeCgroup(rec.cgroupsPath);
    await removeRootfsAsync(rec.dir, this.spawner.run);
    await fs.promises.rm(rec.dir, { recursive: true, force: true });
    this.containers.delete(id);
    this.save();
    this.emit(rec, 'CONTAINER_DELETED_EVENT');
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const rec = this.containers.get(id);
    return rec ? this.statusOf(rec) : undefined;
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const rec of this.containers.values()) {
      if (filter.podSandboxId && rec.podSandboxId !== filter.podSandboxId) continue;
      if (filter.state && rec.state !== filter.state) continue;
      if (!matchLabels(rec.config.labels, filter.labelSelector)) continue;
      out.push(this.statusOf(rec));
    }
    return out;
  }

  private statusOf(rec: ContainerRecord): ContainerStatus {
    const img = this.opts.imageStore.resolve(rec.imageId);
    const repoDigest = img?.repoDigests[0];
    return {
      id: rec.id, podSandboxId: rec.podSandboxId, metadata: rec.config.metadata, state: rec.state, createdAt: rec.createdAt,
      startedAt: rec.startedAt, finishedAt: rec.finishedAt, exitCode: rec.exitCode, reason: rec.reason, message: rec.message,
      image: img?.repoTags[0] ?? rec.config.image, imageRef: repoDigest ?? rec.imageId, logPath: rec.config.logPath,
      labels: rec.config.labels, annotations: rec.config.annotations,
    };
  }

  // --- exec / attach / port-forward ---

  async execSync(id: string, cmd: string[], opts: { timeoutMs: number }): Promise<ExecSyncResult> {
    this.running(id);
    const pidFile = join(this.mustGet(id).dir, `exec-${randomBytes(4).toString('hex')}.pid`);
    return new Promise((resolveExec) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const child = spawn(this.runc.binary, [...this.runc.globalArgs(), 'exec', '--pid-file', pidFile, id, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        timedOut = true;
        killPidFile(pidFile);
        child.kill('SIGKILL');
      }, opts.timeoutMs);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.once('error', (e) => {
        clearTimeout(timer);
        resolveExec({ exitCode: 126, stdout: Buffer.alloc(0), stderr: Buffer.from(e.message), timedOut: false });
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        fs.rmSync(pidFile, { force: true });
        resolveExec({ exitCode: code ?? 128 + signalNumber(signal), stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut });
      });
    });
  }

  async exec(id: string, cmd: string[], opts: StreamOptions): Promise<number> {
    const rec = this.running(id);
    const pidFile = join(rec.dir, `exec-${randomBytes(4).toString('hex')}.pid`);
    const runcArgs = [this.runc.binary, ...this.runc.globalArgs(), 'exec', ...(opts.tty ? ['--tty', '--env', 'TERM=xterm'] : []), '--pid-file', pidFile, id, ...cmd];
    const argv = opts.tty ? ['script', '-qefc', runcArgs.map(shellQuote).join(' '), '/dev/null'] : runcArgs;
    return new Promise((resolveExec, rejectExec) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: [opts.stdin || opts.tty ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      const stdout = opts.stdout;
      const stderr = opts.tty ? opts.stdout : opts.stderr;
      child.stdout!.on('data', (c: Buffer) => stdout?.write(c));
      child.stderr!.on('data', (c: Buffer) => stderr?.write(c));
      if (child.stdin) {
        child.stdin.on('error', () => undefined);
        if (opts.stdin) opts.stdin.pipe(child.stdin);
      }
      if (opts.tty && opts.resize && child.pid) {
        // `script` is the child; the pty it made is runc's stdin, one level down.
        void forwardResizes(child.pid, opts.resize, { isAlive: () => child.exitCode === null && child.signalCode === null });
      }
      const onAbort = (): void => {
        killPidFile(pidFile);
        child.kill('SIGKILL');
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (e) => {
        opts.signal?.removeEventListener('abort', onAbort);
        rejectExec(new RuntimeError('ExecError', e.message));
      });
      child.once('close', (code, signal) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.stdin && child.stdin) opts.stdin.unpipe(child.stdin);
        fs.rmSync(pidFile, { force: true });
        resolveExec(code ?? 128 + signalNumber(signal));
      });
    });
  }

  async attach(id: string, opts: StreamOptions): Promise<void> {
    const rec = this.running(id);
    const live = this.live.get(id);
    if (!live) throw new RuntimeError('AttachError', `container ${id} cannot be attached`);
    const sub = (stream: LogStream, chunk: Buffer): void => {
      const w: Writable | undefined = stream === 'stderr' && !rec.config.tty ? opts.stderr : opts.stdout;
      if (w && !w.destroyed) w.write(chunk);
    };
    live.subscribers.add(sub);
    const stdinWriter = live.stdinWriter;
    if (opts.stdin && stdinWriter && rec.config.stdin) {
      opts.stdin.on('data', (c: Buffer) => {
        if (!stdinWriter.destroyed) stdinWriter.write(c);
      });
      opts.stdin.once('end', () => {
        if (rec.config.stdinOnce && live.stdinWriter === stdinWriter) this.closeStdin(rec, live);
      });
    }
    // The shim is sh → script → runc, whose stdin is script's pty: found from the recorded pid, so an adopted
    // container resizes as well as one this instance started. runc passes each SIGWINCH on to the container's console.
    const shimPid = rec.shimPid;
    if (rec.config.tty && opts.resize && shimPid !== undefined) {
      void forwardResizes(shimPid, opts.resize, { isAlive: () => rec.state === 'CONTAINER_RUNNING' && procStartTime(shimPid) === rec.shimStart });
    }
    try {
      await new Promise<void>((res) => {
        void live.exited.then(res);
        if (opts.signal) {
          if (opts.signal.aborted) res();
          else opts.signal.addEventListener('abort', () => res(), { once: true });
        }
      });
    } finally {
      live.subscribers.delete(sub);
    }
  }

  async portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void> {
    const sb = this.sandboxes.get(podSandboxId);
    if (!sb) throw new RuntimeError('PortForwardError', `pod sandbox ${podSandboxId} not found`);
    await pipeToPort(sb.netnsPath ? sb.ip : '127.0.0.1', port, stream);
  }

  // --- stats ---

  async containerStats(id: string): Promise<ContainerStats | undefined> {
    const rec = this.containers.get(id);
    if (!rec || rec.state !== 'CONTAINER_RUNNING') return undefined;
    const s = cgroupStats(rec.cgroupsPath);
    if (!s) return undefined;
    return { id, timestamp: Date.now(), cpuUsageCoreNanoSeconds: s.cpuNs, memoryWorkingSetBytes: s.workingSet };
  }

  // --- internals ---

  private newLive(): Live {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    return { pumps: [], subscribers: new Set(), exited, markExited };
  }

  private pump(live: Live, outFd: number, errFd: number): void {
    const open = (fd: number, stream: LogStream): void => {
      const s = new net.Socket({ fd, readable: true, writable: false });
      s.on('data', (c: Buffer) => {
        live.writer?.write(stream, c);
        for (const sub of live.subscribers) sub(stream, c);
      });
      s.on('error', () => undefined);
      live.pumps.push(s);
    };
    open(outFd, 'stdout');
    open(errFd, 'stderr');
  }

  private async adopt(rec: ContainerRecord): Promise<void> {
    const live = this.newLive();
    this.live.set(rec.id, live);
    const alive = (): boolean => rec.shimPid !== undefined && rec.shimStart !== undefined && procStartTime(rec.shimPid) === rec.shimStart;
    try {
      live.writer = new LogWriter(rec.config.logPath, { maxBytes: this.opts.logMaxBytes, maxFiles: this.opts.logMaxFiles });
      const outR = fs.openSync(join(rec.dir, 'stdout.fifo'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const errR = fs.openSync(join(rec.dir, 'stderr.fifo'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      this.pump(live, outR, errR);
      reopenStdin(rec, live);
    } catch (e) {
      log.warn('cannot reopen the output of an adopted container', { container: rec.config.metadata.name, err: (e as Error).message });
    }
    if (!alive()) {
      await this.onShimExit(rec, live);
      return;
    }
    log.info('adopted running container', { container: rec.config.metadata.name, id: rec.id });
    live.poll = setInterval(() => {
      if (alive()) return;
      if (live.poll) clearInterval(live.poll);
      live.poll = undefined;
      void this.onShimExit(rec, live);
    }, 250);
    live.poll.unref();
  }

  /** Removes what a crash left behind: runc containers, mounts and network namespaces that no record owns. */
  private async cleanupOrphans(): Promise<void> {
    for (const c of await this.runc.list()) {
      if (this.containers.has(c.id)) continue;
      log.info('removing orphaned container', { id: c.id, status: c.status });
      await this.runc.kill(c.id, 'KILL');
      await this.runc.delete(c.id);
    }
    const containersDir = join(this.root, 'containers');
    for (const n of fs.readdirSync(containersDir)) {
      if (this.containers.has(n)) continue;
      unmountAll(join(containersDir, n));
      fs.rmSync(join(containersDir, n), { recursive: true, force: true });
    }
    for (const mp of mountsUnder(containersDir)) {
      const id = mp.slice(containersDir.length + 1).split('/')[0] ?? '';
      if (!this.containers.has(id)) unmountAll(mp);
    }
    if (this.network) {
      const keep = new Set([...this.sandboxes.values()].filter((s) => s.netnsPath).map((s) => s.id));
      const removed = await this.network.cleanupOrphans(keep);
      if (removed.length > 0) log.info('removed orphaned pod networks', { count: removed.length });
    }
  }

  private running(id: string): ContainerRecord {
    const rec = this.containers.get(id);
    if (!rec) throw new RuntimeError('NotFound', `container ${id} not found`);
    if (rec.state !== 'CONTAINER_RUNNING') throw new RuntimeError('NotRunning', `container ${id} is not running`);
    return rec;
  }

  private mustGet(id: string): ContainerRecord {
    const rec = this.containers.get(id);
    if (!rec) throw new RuntimeError('NotFound', `container ${id} not found`);
    return rec;
  }

  private emit(rec: ContainerRecord, type: ContainerEvent['type']): void {
    const ev: ContainerEvent = { containerId: rec.id, podSandboxId: rec.podSandboxId, type, labels: rec.config.labels };
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (e) {
        log.error('container event listener failed', { err: e });
      }
    }
  }

  private statePath(): string {
    return join(this.root, 'state.json');
  }

  /**
   * Persists the records soon: changes within 50 ms share one write, done off the event loop (the file holds every
   * record; at 20 pods/s a synchronous write per change was a visible share of the loop). A crash inside the window
   * loses at most the newest records, whose containers the next start treats as orphans and removes.
   */
  private save(): void {
    if (this.saveScheduled || this.closed) return;
    this.saveScheduled = true;
    const t = setTimeout(() => {
      this.saveScheduled = false;
      this.saving = this.saving.then(() => this.writeState()).catch((e: unknown) => log.error('cannot write the runtime state file', { err: e }));
    }, 50);
    t.unref();
  }

  private stateJson(): string {
    const state: StateFile = { version: 1, sandboxes: [...this.sandboxes.values()], containers: [...this.containers.values()] };
    return JSON.stringify(state);
  }

  private async writeState(): Promise<void> {
    if (this.closed) return;
    const tmp = `${this.statePath()}.tmp`;
    await fs.promises.writeFile(tmp, this.stateJson());
    await fs.promises.rename(tmp, this.statePath());
  }

  private saveNow(): void {
    const tmp = `${this.statePath()}.tmp`;
    try {
      fs.writeFileSync(tmp, this.stateJson());
      fs.renameSync(tmp, this.statePath());
    } catch (e) {
      log.error('cannot write the runtime state file', { err: e });
    }
  }
}

/** The FIFOs of a container's stdio: a terminal always gets stdin (`script` must not see end-of-file on its input). */
function fifoPaths(dir: string, config: RuncContainerConfig): string[] {
  const wantStdin = config.stdin || config.tty;
  return [join(dir, 'stdout.fifo'), join(dir, 'stderr.fifo'), ...(wantStdin ? [join(dir, 'stdin.fifo')] : [])];
}

function sandboxStatusOf(sb: SandboxRecord): PodSandboxStatus {
  return { id: sb.id, metadata: sb.config.metadata, state: sb.state, createdAt: sb.createdAt, ip: sb.ip, additionalIps: [], labels: sb.config.labels };
}

function matchLabels(labels: Record<string, string>, sel: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

function readOr(p: string, fallback: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return fallback;
  }
}

/** The kubelet's managed /etc/hosts of a pod. */
export function hostsFile(ip: string, hostname: string): string {
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${ip}\t${hostname}`,
    '',
  ].join('\n');
}

/** The host's resolv.conf without loopback name servers (unreachable from a pod's namespace). */
/** resolv.conf from a sandbox's DNS settings (the layout the kubelet writes). */
export function resolvConfText(dns: NonNullable<PodSandboxConfig['dnsConfig']>): string {
  return [dns.searches.length ? `search ${dns.searches.join(' ')}` : '', ...dns.servers.map((s) => `nameserver ${s}`), dns.options.length ? `options ${dns.options.join(' ')}` : ''].filter(Boolean).join('\n') + '\n';
}

export function podResolvConf(hostResolv = readOr('/etc/resolv.conf', '')): string {
  return hostResolv.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l)).join('\n');
}


function killPidFile(pidFile: string): void {
  const pid = Number(readOr(pidFile, '0'));
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (!signal) return 0;
  return os.constants.signals[signal] ?? 0;
}

function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\-./=:,@%+]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Pipes `stream` to a TCP port until either side ends. */
function pipeToPort(host: string, port: number, stream: Duplex): Promise<void> {
  return new Promise((resolvePipe, rejectPipe) => {
    const sock = net.connect({ host, port });
    let connected = false;
    sock.once('connect', () => {
      connected = true;
      stream.pipe(sock);
      sock.pipe(stream);
    });
    sock.once('error', (e) => {
      if (!connected) rejectPipe(e);
      else stream.destroy();
    });
    sock.once('close', () => {
      if (connected) resolvePipe();
    });
    stream.once('error', () => sock.destroy());
    stream.once('close', () => sock.destroy());
  });
}
