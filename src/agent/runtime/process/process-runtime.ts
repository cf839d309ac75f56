/**
 * The `process` runtime: every container is a plain host process (no isolation, no images) for hosts without
 * root or runc. A pod sandbox is a directory; volumes are directories linked into a per-container root
 * directory (the default working directory); logs are CRI-format files written by the agent from FIFOs.
 *
 * A container's stdout/stderr are FIFOs that the container itself holds open read-write, so its writes never
 * fail while the agent is away (they block once the pipe buffer fills); the agent drains them into the log file.
 * Per-record state files (`<pod dir>/sandbox-<id>.json`, `<container dir>/container.json`, with PIDs and their
 * start times) let a restarted agent adopt containers that are still running instead of starting them again; a
 * change rewrites only the record that changed, so the cost per change does not grow with the pods on the node.
 * An adopted container's exit code is unknown (it is not the agent's child).
 *
 * stdin is a FIFO too. Besides the agent, a tiny holder process (`sleep infinity`) keeps its write side open, so
 * the container never reads end-of-file while the agent is away and a restarted agent can reopen it for attach;
 * closing stdin (stdinOnce) ends the agent's writer and the holder. A container with `tty` runs under script(1),
 * which gives it a pseudo-terminal whose size any later agent can set (see pty.ts).
 */
import { procStartTime, reopenStdin } from '../held-stdin.ts';
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { logger } from '../../../base/log.ts';
import { sleep } from '../../../base/clock.ts';
import { LogWriter } from '../../logs/cri-log.ts';
import type { LogStream } from '../../logs/cri-log.ts';
import type {
  ContainerConfig, ContainerEvent, ContainerRuntime, ContainerState, ContainerStats, ContainerStatus, ExecSyncResult,
  ImageInfo, ListFilter, PodSandboxConfig, PodSandboxStatus, RuntimeVersion, StreamOptions,
} from '../runtime.ts';
import { RuntimeError } from '../runtime.ts';
import { childrenOf, forwardResizes, onPty } from './pty.ts';

const log = logger('process-runtime');
const execFileP = promisify(execFile);

/** The command a container without command and args runs (the process runtime has no image entrypoints). */
export const placeholderCommand = ['sleep', 'infinity'];

/** Options of the process runtime. */
export interface ProcessRuntimeOptions {
  /** Directory for sandboxes, containers and their state files. */
  rootDir: string;
  /** The address reported as every pod's IP (the node's InternalIP). */
  podIP: string;
  /** Base environment of containers (default: PATH and HOME of the agent). */
  baseEnv?: Record<string, string>;
  /** Log rotation. */
  logMaxBytes?: number;
  logMaxFiles?: number;
  version?: string;
}

interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  createdAt: number;
  state: PodSandboxStatus['state'];
  dir: string;
}

interface ContainerRecord {
  id: string;
  podSandboxId: string;
  config: ContainerConfig;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  dir: string;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  pid?: number;
  /** /proc/<pid>/stat start time, to tell our process from a recycled PID. */
  pidStart?: string;
  /** The process that holds the stdin FIFO open for writing while the agent is away. */
  stdinHolderPid?: number;
  stdinHolderStart?: string;
  /** stdin was closed (stdinOnce after the first attach): never reopened. */
  stdinClosed?: boolean;
}

interface Live {
  child?: ChildProcess;
  pumps: net.Socket[];
  writer?: LogWriter;
  stdinWriter?: net.Socket;
  subscribers: Set<(stream: LogStream, chunk: Buffer) => void>;
  exited: Promise<void>;
  markExited: () => void;
  execs: Set<ChildProcess>;
  poll?: NodeJS.Timeout;
}

/** The single state file of earlier versions, read once and replaced by per-record files. */
interface LegacyStateFile {
  version: 1;
  sandboxes: SandboxRecord[];
  containers: ContainerRecord[];
}

/** Creates the process runtime. */
export function createProcessRuntime(opts: ProcessRuntimeOptions): ProcessRuntime {
  return new ProcessRuntime(opts);
}

/** Host processes behind the CRI-shaped boundary. */
export class ProcessRuntime implements ContainerRuntime {
  readonly usesImages = false;
  private readonly opts: ProcessRuntimeOptions;
  private readonly rootDir: string;
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly live = new Map<string, Live>();
  private readonly listeners = new Set<(ev: ContainerEvent) => void>();
  private saveScheduled = false;
  private readonly dirtySandboxes = new Set<string>();
  private readonly dirtyContainers = new Set<string>();
  private closed = false;
  private readonly fifoPool: string[] = [];
  private refilling: Promise<void> | undefined;

  constructor(opts: ProcessRuntimeOptions) {
    this.opts = opts;
    this.rootDir = resolve(opts.rootDir);
  }

  version(): RuntimeVersion {
    const v = this.opts.version ?? '0.1.0';
    return { runtimeName: 'process', runtimeVersion: v, runtimeApiVersion: 'v1' };
  }

  async start(): Promise<void> {
    fs.mkdirSync(join(this.rootDir, 'pods'), { recursive: true });
    fs.rmSync(join(this.rootDir, 'fifo-pool'), { recursive: true, force: true });
    await this.refillFifos();
    const { sandboxes, containers } = this.loadState();
    for (const s of sandboxes) this.sandboxes.set(s.id, s);
    for (const c of containers) {
      this.containers.set(c.id, c);
      if (c.state === 'CONTAINER_RUNNING') await this.adopt(c);
    }
  }

  async close(opts: { killContainers?: boolean } = {}): Promise<void> {
    if (opts.killContainers) {
      await Promise.all([...this.containers.values()].filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => this.stopContainer(c.id, { timeoutSeconds: 0 })));
    }
    this.closed = true;
    for (const [, l] of this.live) {
      if (l.poll) clearInterval(l.poll);
      for (const p of l.pumps) p.destroy();
      l.stdinWriter?.destroy();
      l.writer?.close();
      for (const e of l.execs) killTree(e.pid, 'SIGKILL');
    }
    this.saveNow();
  }

  onContainerEvent(listener: (ev: ContainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- sandboxes ---

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = sandboxId(config);
    const existing = this.sandboxes.get(id);
    if (existing && existing.state === 'SANDBOX_READY') return id;
    const dir = join(this.rootDir, 'pods', config.metadata.uid);
    fs.mkdirSync(dir, { recursive: true });
    const sb: SandboxRecord = { id, config, createdAt: existing?.createdAt ?? Date.now(), state: 'SANDBOX_READY', dir };
    this.sandboxes.set(id, sb);
    this.saveSandbox(sb);
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    await Promise.all([...this.containers.values()].filter((c) => c.podSandboxId === id).map((c) => this.stopContainer(c.id, { timeoutSeconds: 0 })));
    sb.state = 'SANDBOX_NOTREADY';
    this.saveSandbox(sb);
  }

  async removePodSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    if (!sb) return;
    await this.stopPodSandbox(id);
    for (const c of [...this.containers.values()]) if (c.podSandboxId === id) await this.removeContainer(c.id);
    this.sandboxes.delete(id);
    // Only this runtime's own directory is removed; host paths behind volume links are not followed.
    fs.rmSync(sb.dir, { recursive: true, force: true });
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    const sb = this.sandboxes.get(id);
    return sb ? this.sandboxStatusOf(sb) : undefined;
  }

  async listPodSandbox(filter: ListFilter = {}): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()].filter((s) => matchLabels(s.config.labels, filter.labelSelector)).map((s) => this.sandboxStatusOf(s));
  }

  /** The directory of a sandbox (volumes are created under it by the agent). */
  sandboxDir(id: string): string | undefined {
    return this.sandboxes.get(id)?.dir;
  }

  private sandboxStatusOf(sb: SandboxRecord): PodSandboxStatus {
    return { id: sb.id, metadata: sb.config.metadata, state: sb.state, createdAt: sb.createdAt, ip: this.opts.podIP, additionalIps: [], labels: sb.config.labels };
  }

  // --- containers ---

  async createContainer(podSandboxId: string, config: ContainerConfig): Promise<string> {
    const sb = this.sandboxes.get(podSandboxId);
    if (!sb) throw new RuntimeError('CreateContainerError', `pod sandbox ${podSandboxId} not found`);
    const id = randomBytes(32).toString('hex');
    const dir = join(sb.dir, 'containers', `${config.metadata.name}-${config.metadata.attempt}`);
    const rootfs = join(sb.dir, 'containers', config.metadata.name, 'rootfs');
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(rootfs, { recursive: true });
    for (const m of config.mounts) {
      const link = join(rootfs, m.containerPath.replace(/^\/+/, ''));
      fs.mkdirSync(join(link, '..'), { recursive: true });
      try {
        const cur = fs.readlinkSync(link);
        if (cur === m.hostPath) continue;
        fs.rmSync(link, { force: true });
      } catch {
        // not a link yet
      }
      fs.symlinkSync(m.hostPath, link);
    }
    let argv = [...config.command, ...config.args];
    if (argv.length === 0) argv = [...placeholderCommand];
    const env: Record<string, string> = { ...this.baseEnv(), HOSTNAME: sb.config.hostname };
    for (const e of config.envs) env[e.key] = e.value;
    const rec: ContainerRecord = {
      id, podSandboxId, config, argv, cwd: config.workingDir || rootfs, env, dir, state: 'CONTAINER_CREATED',
      createdAt: Date.now(), startedAt: 0, finishedAt: 0, exitCode: 0, reason: '', message: '',
    };
    this.containers.set(id, rec);
    this.save(rec);
    this.emit(rec, 'CONTAINER_CREATED_EVENT');
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const rec = this.mustGet(id);
    if (rec.state !== 'CONTAINER_CREATED') throw new RuntimeError('RunContainerError', `container ${id} is not in created state: ${rec.state}`);
    const outPath = join(rec.dir, 'stdout.fifo');
    const errPath = join(rec.dir, 'stderr.fifo');
    const inPath = join(rec.dir, 'stdin.fifo');
    // A terminal always reads a FIFO: script(1) must not see end-of-file on its input before stdin is closed.
    const wantStdin = rec.config.stdin || rec.config.tty;
    const fifos = [outPath, errPath, ...(wantStdin ? [inPath] : [])];
    for (const f of fifos) {
      fs.rmSync(f, { force: true });
      await this.takeFifo(f);
    }
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
    let cwdError: string | undefined;
    if (!isDir(rec.cwd)) cwdError = `chdir to cwd ("${rec.cwd}") set in config.json failed: no such file or directory`;
    let child: ChildProcess | undefined;
    let spawnError: Error | undefined;
    if (!cwdError) {
      try {
        const argv = rec.config.tty ? onPty(rec.argv) : rec.argv;
        const env = rec.config.tty ? { ...rec.env, TERM: rec.env['TERM'] ?? 'xterm' } : rec.env;
        child = spawn(argv[0]!, argv.slice(1), { cwd: rec.cwd, env, stdio: [inR ?? 'ignore', outW, errW], detached: true });
        await new Promise<void>((res) => {
          child!.once('spawn', () => res());
          child!.once('error', (e) => {
            spawnError = e;
            res();
          });
        });
      } catch (e) {
        spawnError = e as Error;
      }
    }
    if (child?.pid && inW !== undefined) this.spawnStdinHolder(rec, inW);
    fs.closeSync(outW);
    fs.closeSync(errW);
    if (inR !== undefined) fs.closeSync(inR);
    const failure = cwdError ?? (spawnError ? startErrorMessage(rec.argv[0]!, spawnError) : undefined);
    if (failure || !child?.pid) {
      fs.closeSync(outR);
      fs.closeSync(errR);
      if (inW !== undefined) fs.closeSync(inW);
      live.writer.close();
      rec.state = 'CONTAINER_EXITED';
      rec.exitCode = 128;
      rec.reason = 'StartError';
      rec.message = failure ?? 'failed to start the process';
      rec.startedAt = 0;
      rec.finishedAt = Date.now();
      live.markExited();
      this.save(rec);
      this.emit(rec, 'CONTAINER_STOPPED_EVENT');
      throw new RuntimeError('RunContainerError', rec.message);
    }
    child.unref();
    rec.pid = child.pid;
    rec.pidStart = procStartTime(child.pid);
    rec.state = 'CONTAINER_RUNNING';
    rec.startedAt = Date.now();
    live.child = child;
    if (inW !== undefined) live.stdinWriter = new net.Socket({ fd: inW, readable: false, writable: true });
    live.stdinWriter?.on('error', () => undefined);
    this.pump(rec, live, outR, errR);
    child.on('exit', (code, signal) => {
      const exitCode = code ?? 128 + signalNumber(signal);
      void this.finish(rec, live, exitCode);
    });
    this.save(rec);
    this.emit(rec, 'CONTAINER_STARTED_EVENT');
  }

  async stopContainer(id: string, opts: { timeoutSeconds: number }): Promise<void> {
    const rec = this.containers.get(id);
    if (!rec) return;
    if (rec.state === 'CONTAINER_CREATED') {
      rec.state = 'CONTAINER_EXITED';
      rec.finishedAt = Date.now();
      this.save(rec);
      return;
    }
    if (rec.state !== 'CONTAINER_RUNNING' || !rec.pid) return;
    const live = this.live.get(id);
    const exited = live?.exited ?? Promise.resolve();
    if (opts.timeoutSeconds > 0) {
      signalContainer(rec, 'SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(opts.timeoutSeconds * 1000).then(() => false)]);
      if (done) return;
    }
    signalContainer(rec, 'SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }

  async removeContainer(id: string): Promise<void> {
    const rec = this.containers.get(id);
    if (!rec) return;
    if (rec.state === 'CONTAINER_RUNNING') await this.stopContainer(id, { timeoutSeconds: 0 });
    const live = this.live.get(id);
    if (live?.poll) clearInterval(live.poll);
    this.live.delete(id);
    this.containers.delete(id);
    fs.rmSync(rec.dir, { recursive: true, force: true });
    this.emit(rec, 'CONTAINER_DELETED_EVENT');
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const rec = this.containers.get(id);
    return rec ? statusOf(rec) : undefined;
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const rec of this.containers.values()) {
      if (filter.podSandboxId && rec.podSandboxId !== filter.podSandboxId) continue;
      if (filter.state && rec.state !== filter.state) continue;
      if (!matchLabels(rec.config.labels, filter.labelSelector)) continue;
      out.push(statusOf(rec));
    }
    return out;
  }

  // --- exec / attach / port-forward ---

  async execSync(id: string, cmd: string[], opts: { timeoutMs: number }): Promise<ExecSyncResult> {
    const rec = this.running(id);
    return new Promise((resolveExec) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let child: ChildProcess;
      try {
        child = spawn(cmd[0] ?? '', cmd.slice(1), { cwd: rec.cwd, env: rec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      } catch (e) {
        resolveExec({ exitCode: 126, stdout: Buffer.alloc(0), stderr: Buffer.from(String((e as Error).message)), timedOut: false });
        return;
      }
      const live = this.live.get(id);
      live?.execs.add(child);
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, 'SIGKILL');
      }, opts.timeoutMs);
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      child.once('error', (e) => {
        clearTimeout(timer);
        live?.execs.delete(child);
        resolveExec({ exitCode: 126, stdout: Buffer.alloc(0), stderr: Buffer.from(startErrorMessage(cmd[0] ?? '', e)), timedOut: false });
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        live?.execs.delete(child);
        resolveExec({ exitCode: code ?? 128 + signalNumber(signal), stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut });
      });
    });
  }

  async exec(id: string, cmd: string[], opts: StreamOptions): Promise<number> {
    const rec = this.running(id);
    const argv = opts.tty ? onPty(cmd) : cmd;
    return new Promise((resolveExec, rejectExec) => {
      // A terminal's input stays open without stdin, as upstream's: script(1) would pass end-of-file on as ^D.
      const child = spawn(argv[0] ?? '', argv.slice(1), {
        cwd: rec.cwd,
        env: opts.tty ? { ...rec.env, TERM: rec.env['TERM'] ?? 'xterm' } : rec.env,
        stdio: [opts.stdin || opts.tty ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        detached: true,
      });
      if (opts.tty && opts.resize && child.pid) {
        const pid = child.pid;
        void forwardResizes(pid, opts.resize, { isAlive: () => child.exitCode === null && child.signalCode === null });
      }
      const live = this.live.get(id);
      live?.execs.add(child);
      const stdout = opts.stdout;
      const stderr = opts.tty ? opts.stdout : opts.stderr;
      child.stdout!.on('data', (c: Buffer) => stdout?.write(c));
      child.stderr!.on('data', (c: Buffer) => stderr?.write(c));
      if (child.stdin) {
        child.stdin.on('error', () => undefined);
        if (opts.stdin) opts.stdin.pipe(child.stdin);
      }
      const onAbort = (): void => killTree(child.pid, 'SIGKILL');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (e) => {
        live?.execs.delete(child);
        opts.signal?.removeEventListener('abort', onAbort);
        rejectExec(new RuntimeError('ExecError', startErrorMessage(cmd[0] ?? '', e)));
      });
      child.once('close', (code, signal) => {
        live?.execs.delete(child);
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.stdin && child.stdin) opts.stdin.unpipe(child.stdin);
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
        // stdinOnce: the container's stdin closes after the first attach that used it ends.
        if (rec.config.stdinOnce) this.closeStdin(rec, live);
      });
    }
    if (rec.config.tty && opts.resize && rec.pid) {
      const pid = rec.pid;
      void forwardResizes(pid, opts.resize, { isAlive: () => rec.state === 'CONTAINER_RUNNING' && !(opts.signal?.aborted ?? false) });
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
    if (!this.sandboxes.has(podSandboxId)) throw new RuntimeError('PortForwardError', `pod sandbox ${podSandboxId} not found`);
    await pipeToPort('127.0.0.1', port, stream);
  }

  // --- images and stats ---

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
    const rec = this.containers.get(id);
    if (!rec?.pid || rec.state !== 'CONTAINER_RUNNING') return undefined;
    try {
      const stat = fs.readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const status = fs.readFileSync(`/proc/${rec.pid}/status`, 'utf8');
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      return { id, timestamp: Date.now(), cpuUsageCoreNanoSeconds: ticks * 10_000_000, memoryWorkingSetBytes: Number(rss?.[1] ?? 0) * 1024 };
    } catch {
      return undefined;
    }
  }

  // --- internals ---

  /**
   * Moves a ready-made FIFO to `path`. Node has no mkfifo(3), and running mkfifo(1) for every container would put
   * a process spawn on the pod-startup path, so FIFOs are made ahead of time in batches.
   */
  private async takeFifo(path: string): Promise<void> {
    for (;;) {
      const f = this.fifoPool.pop();
      if (f !== undefined) {
        fs.renameSync(f, path);
        if (this.fifoPool.length < 16) void this.refillFifos();
        return;
      }
      await this.refillFifos();
    }
  }

  private refillFifos(): Promise<void> {
    this.refilling ??= (async () => {
      try {
        const dir = join(this.rootDir, 'fifo-pool');
        fs.mkdirSync(dir, { recursive: true });
        const batch = Array.from({ length: 64 }, () => join(dir, randomBytes(8).toString('hex')));
        await execFileP('mkfifo', batch);
        this.fifoPool.push(...batch);
      } finally {
        this.refilling = undefined;
      }
    })();
    return this.refilling;
  }

  private baseEnv(): Record<string, string> {
    if (this.opts.baseEnv) return { ...this.opts.baseEnv };
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
    if (process.env['HOME']) env['HOME'] = process.env['HOME'];
    return env;
  }

  private newLive(): Live {
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    return { pumps: [], subscribers: new Set(), exited, markExited, execs: new Set() };
  }

  /**
   * Starts the process that keeps the stdin FIFO writable while no agent runs: without a writer the container
   * would read end-of-file the moment the agent exits, and an adopted container could never be attached again.
   */
  private spawnStdinHolder(rec: ContainerRecord, inW: number): void {
    try {
      const holder = spawn('sleep', ['infinity'], { stdio: ['ignore', inW, 'ignore'], detached: true });
      holder.on('error', (e) => log.warn('cannot start the stdin holder', { container: rec.config.metadata.name, err: e.message }));
      holder.unref();
      if (holder.pid) {
        rec.stdinHolderPid = holder.pid;
        rec.stdinHolderStart = procStartTime(holder.pid);
      }
    } catch (e) {
      log.warn('cannot start the stdin holder', { container: rec.config.metadata.name, err: (e as Error).message });
    }
  }

  private stopStdinHolder(rec: ContainerRecord): void {
    const pid = rec.stdinHolderPid;
    if (pid !== undefined && rec.stdinHolderStart !== undefined && procStartTime(pid) === rec.stdinHolderStart) killGroup(pid, 'SIGKILL');
    rec.stdinHolderPid = undefined;
    rec.stdinHolderStart = undefined;
  }

  /** Closes the container's stdin for good: the agent's writer and the holder go, so the container reads EOF. */
  private closeStdin(rec: ContainerRecord, live: Live): void {
    const w = live.stdinWriter;
    live.stdinWriter = undefined;
    this.stopStdinHolder(rec);
    rec.stdinClosed = true;
    this.save(rec);
    if (w) w.end(() => w.destroy());
  }

  private pump(rec: ContainerRecord, live: Live, outFd: number, errFd: number): void {
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
    void rec;
  }

  private async finish(rec: ContainerRecord, live: Live, exitCode: number): Promise<void> {
    if (rec.pid) signalContainer(rec, 'SIGKILL');
    this.stopStdinHolder(rec);
    // Let the pumps drain what the process wrote before it exited (bounded: a leftover child may hold the FIFO).
    await Promise.race([Promise.all(live.pumps.map((p) => (p.readableEnded || p.destroyed ? Promise.resolve() : new Promise((r) => p.once('close', r))))), sleep(1000)]);
    for (const p of live.pumps) p.destroy();
    live.writer?.close();
    live.stdinWriter?.destroy();
    for (const e of live.execs) killTree(e.pid, 'SIGKILL');
    if (live.poll) clearInterval(live.poll);
    rec.state = 'CONTAINER_EXITED';
    rec.exitCode = exitCode;
    rec.reason = exitCode === 0 ? 'Completed' : 'Error';
    rec.finishedAt = Date.now();
    live.markExited();
    this.save(rec);
    this.emit(rec, 'CONTAINER_STOPPED_EVENT');
  }

  private async adopt(rec: ContainerRecord): Promise<void> {
    const alive = rec.pid !== undefined && procStartTime(rec.pid) === rec.pidStart && rec.pidStart !== undefined;
    const live = this.newLive();
    this.live.set(rec.id, live);
    if (!alive) {
      this.stopStdinHolder(rec);
      rec.state = 'CONTAINER_EXITED';
      rec.exitCode = 255;
      rec.reason = 'ContainerStatusUnknown';
      rec.message = 'The container exited while the agent was not running; its exit status is unknown';
      rec.finishedAt = Date.now();
      live.markExited();
      this.save(rec);
      return;
    }
    log.info('adopted running container', { container: rec.config.metadata.name, pid: rec.pid });
    try {
      live.writer = new LogWriter(rec.config.logPath, { maxBytes: this.opts.logMaxBytes, maxFiles: this.opts.logMaxFiles });
      const outR = fs.openSync(join(rec.dir, 'stdout.fifo'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const errR = fs.openSync(join(rec.dir, 'stderr.fifo'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      this.pump(rec, live, outR, errR);
      reopenStdin(rec, live);
    } catch (e) {
      log.warn('cannot reopen the output of an adopted container', { container: rec.config.metadata.name, err: e });
    }
    live.poll = setInterval(() => {
      if (rec.pid !== undefined && procStartTime(rec.pid) === rec.pidStart) return;
      if (live.poll) clearInterval(live.poll);
      live.poll = undefined;
      rec.message = 'The container was adopted after an agent restart; its exit status is unknown';
      void this.finish(rec, live, 255).then(() => {
        rec.reason = 'ContainerStatusUnknown';
        this.save(rec);
      });
    }, 500);
    live.poll.unref();
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

  private saveSandbox(sb: SandboxRecord): void {
    this.dirtySandboxes.add(sb.id);
    this.scheduleSave();
  }

  private save(rec: ContainerRecord): void {
    this.dirtyContainers.add(rec.id);
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (this.saveScheduled || this.closed) return;
    this.saveScheduled = true;
    setImmediate(() => {
      this.saveScheduled = false;
      this.saveNow();
    });
  }

  /** Writes the records changed since the last save (removed ones went with their directories). */
  private saveNow(): void {
    for (const id of this.dirtySandboxes) {
      const sb = this.sandboxes.get(id);
      if (sb) writeJsonAtomic(sandboxFile(sb.dir, sb.id), sb);
    }
    this.dirtySandboxes.clear();
    for (const id of this.dirtyContainers) {
      const rec = this.containers.get(id);
      if (rec) writeJsonAtomic(join(rec.dir, 'container.json'), rec);
    }
    this.dirtyContainers.clear();
  }

  /** Reads the per-record files, migrating the single state file of earlier versions if there is one. */
  private loadState(): { sandboxes: SandboxRecord[]; containers: ContainerRecord[] } {
    const sandboxes: SandboxRecord[] = [];
    const containers: ContainerRecord[] = [];
    const podsDir = join(this.rootDir, 'pods');
    for (const uid of readDirOr(podsDir)) {
      const dir = join(podsDir, uid);
      for (const f of readDirOr(dir)) if (f.startsWith('sandbox-') && f.endsWith('.json')) pushJson(sandboxes, join(dir, f));
      for (const c of readDirOr(join(dir, 'containers'))) pushJson(containers, join(dir, 'containers', c, 'container.json'));
    }
    const legacy = join(this.rootDir, 'state.json');
    if (fs.existsSync(legacy)) {
      try {
        const state = JSON.parse(fs.readFileSync(legacy, 'utf8')) as LegacyStateFile;
        const known = new Set([...sandboxes, ...containers].map((r) => r.id));
        for (const sb of state.sandboxes) if (!known.has(sb.id) && isDir(sb.dir)) { sandboxes.push(sb); this.dirtySandboxes.add(sb.id); }
        for (const c of state.containers) if (!known.has(c.id) && isDir(c.dir)) { containers.push(c); this.dirtyContainers.add(c.id); }
      } catch (e) {
        log.warn('cannot read the old runtime state file', { err: (e as Error).message });
      }
      for (const sb of sandboxes) this.sandboxes.set(sb.id, sb);
      for (const c of containers) this.containers.set(c.id, c);
      this.saveNow();
      fs.rmSync(legacy, { force: true });
    }
    return { sandboxes, containers };
  }
}

function statusOf(rec: ContainerRecord): ContainerStatus {
  return {
    id: rec.id, podSandboxId: rec.podSandboxId, metadata: rec.config.metadata, state: rec.state, createdAt: rec.createdAt,
    startedAt: rec.startedAt, finishedAt: rec.finishedAt, exitCode: rec.exitCode, reason: rec.reason, message: rec.message,
    image: rec.config.image, imageRef: '', logPath: rec.config.logPath, labels: rec.config.labels, annotations: rec.config.annotations,
  };
}

function sandboxId(config: PodSandboxConfig): string {
  return createHash('sha256').update(`${config.metadata.uid}/${config.metadata.attempt}`).digest('hex');
}

function matchLabels(labels: Record<string, string>, sel: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

function sandboxFile(dir: string, id: string): string {
  return join(dir, `sandbox-${id.slice(0, 16)}.json`);
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, path);
  } catch (e) {
    log.error('cannot write a runtime state file', { path, err: (e as Error).message });
  }
}

function readDirOr(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function pushJson<T>(out: T[], path: string): void {
  try {
    out.push(JSON.parse(fs.readFileSync(path, 'utf8')) as T);
  } catch {
    // no record here (a directory without state, or a write that never completed)
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Signals a container: its process group and, for a terminal, the session script(1) started on the pty (script
 * runs the command with setsid, out of reach of a signal to script's group, and does not forward SIGKILL).
 */
function signalContainer(rec: ContainerRecord, signal: NodeJS.Signals): void {
  if (!rec.pid) return;
  if (rec.config.tty) for (const k of childrenOf(rec.pid)) killGroup(k, signal);
  killGroup(rec.pid, signal);
}

/** Signals a process group and the groups of its direct children (an exec's script(1) and the command's session). */
function killTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  for (const k of childrenOf(pid)) killGroup(k, signal);
  killGroup(pid, signal);
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (!signal) return 0;
  return os.constants.signals[signal] ?? 0;
}

/** runc's wording for a command that cannot be executed. */
function startErrorMessage(cmd: string, e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return cmd.includes('/') ? `exec: "${cmd}": stat ${cmd}: no such file or directory` : `exec: "${cmd}": executable file not found in $PATH`;
  }
  if (code === 'EACCES') return `exec: "${cmd}": permission denied`;
  return `exec: "${cmd}": ${e.message}`;
}

/** Pipes `stream` to a TCP port until either side ends. */
export function pipeToPort(host: string, port: number, stream: Duplex): Promise<void> {
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
