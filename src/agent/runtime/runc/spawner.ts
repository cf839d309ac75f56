/**
 * Runs the runtime's short host commands (ip, CNI plugins, mount, mkfifo, runc kill/delete) and launches container
 * shims from a worker thread. Forking the agent — a process of a few hundred MiB when the control plane is embedded —
 * costs milliseconds of page-table copying per child; done on the main thread at 20 pods/s, those forks alone kept
 * the event loop that also serves the API busy most of the time. The worker forks in parallel and the main thread
 * only exchanges messages. The worker's source is plain JavaScript evaluated in place, so the same code runs under
 * tsx and from the esbuild bundle (no second entry file).
 */
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';

/** Options of one command. */
export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Written to the command's stdin (else stdin is empty). */
  input?: string;
  /** SIGKILL after this long (default none). */
  timeoutMs?: number;
}

/** How a command ended and what it printed. */
export interface RunResult {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects only when it cannot be started (e.g. ENOENT). */
export type RunCommand = (file: string, args: string[], opts?: RunOptions) => Promise<RunResult>;

/** A detached process (own session) whose stdio are file descriptors of this process. */
export interface DetachedOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** stdin, stdout, stderr: a file descriptor or 'ignore'. */
  stdio: [number | 'ignore', number | 'ignore', number | 'ignore'];
}

/** A launched detached process: its pid and promises of its end, which do not keep this process alive. */
export interface Launched {
  pid: number;
  /** Exit status (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Exit status and the signal that killed it (as the child's 'exit' event gives them). */
  ended: Promise<{ code: number | null; signal: string | null }>;
}

/** Runs commands and launches detached processes. */
export interface Spawner {
  run: RunCommand;
  /**
   * Launches a detached process (own session, unreferenced); resolves once it is spawned, with its pid. Rejects
   * when it cannot be spawned, with an Error whose `code` is the errno name (ENOENT, EACCES…).
   */
  launch(file: string, args: string[], opts: DetachedOptions): Promise<Launched>;
  /** Stops the worker (commands in flight are left to finish on their own). */
  close(): Promise<void>;
}

/** Rejects with an Error carrying `code` and stderr when the command did not exit 0 (execFile's contract). */
export async function runChecked(run: RunCommand, file: string, args: string[], opts?: RunOptions): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.code === 0) return r;
  const what = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit status ${r.code}`;
  const err = new Error(`Command failed: ${[file, ...args].join(' ')} (${what})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`) as Error & { code: number | null; stderr: string; stdout: string };
  err.code = r.code;
  err.stderr = r.stderr;
  err.stdout = r.stdout;
  throw err;
}

/** Runs a command from the calling thread (tools and tests that do not need a worker). */
export const runInline: RunCommand = (file, args, opts = {}) => new Promise((resolve, reject) => {
  const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.once('error', (e) => {
    if (timer) clearTimeout(timer);
    reject(e);
  });
  child.once('close', (code, signal) => {
    if (timer) clearTimeout(timer);
    resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input ?? '');
});

// The worker: one message per request; replies { id, result } or { id, error }, and for launches { id, pid } then
// { id, exit }. Children of `run` are referenced (the worker stays up while they run); launched ones are not.
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', (m) => {
  if (m.op === 'launch') {
    let child;
    try {
      child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, stdio: m.stdio, detached: true });
    } catch (e) {
      parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
      return;
    }
    child.once('error', (e) => parentPort.postMessage({ id: m.id, error: String(e && e.message || e), code: e && e.code }));
    child.once('spawn', () => parentPort.postMessage({ id: m.id, pid: child.pid }));
    child.once('exit', (code, signal) => parentPort.postMessage({ id: m.id, exit: code, signal }));
    child.unref();
    return;
  }
  let child;
  try {
    child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
    return;
  }
  const out = [];
  const err = [];
  const timer = m.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), m.timeoutMs) : undefined;
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  child.once('error', (e) => {
    if (timer) clearTimeout(timer);
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e), code: e && e.code });
  });
  child.once('close', (code, signal) => {
    if (timer) clearTimeout(timer);
    parentPort.postMessage({ id: m.id, result: { code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') } });
  });
  child.stdin.on('error', () => {});
  child.stdin.end(m.input || '');
});
`;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onExit?: (code: number | null, signal: string | null) => void;
}

type Reply = { id: number; result?: RunResult; error?: string; code?: string; pid?: number; exit?: number | null; signal?: string | null };

/** A spawner backed by one worker thread (started lazily, unreferenced while idle). */
export function createSpawner(): Spawner {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  // Referenced while a command is in flight, so that awaiting one keeps the process alive.
  let busy = 0;
  const hold = (): void => {
    if (busy++ === 0) worker?.ref();
  };
  const release = (): void => {
    if (--busy === 0) worker?.unref();
  };
  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const ensure = (): Worker => {
    if (worker) return worker;
    const w = new Worker(workerSource, { eval: true, stdout: false, stderr: false });
    w.unref();
    w.on('message', (r: Reply) => {
      const p = pending.get(r.id);
      if (!p) return;
      if (r.exit !== undefined) {
        pending.delete(r.id);
        p.onExit?.(r.exit, r.signal ?? null);
        return;
      }
      if (r.error !== undefined) {
        pending.delete(r.id);
        const e = new Error(r.error) as Error & { code?: string };
        if (r.code) e.code = r.code;
        p.reject(e);
        return;
      }
      if (r.pid !== undefined) {
        // A launch: the entry stays for the exit message.
        p.resolve(r.pid);
        return;
      }
      pending.delete(r.id);
      p.resolve(r.result);
    });
    w.on('error', (e) => {
      worker = undefined;
      failAll(e);
    });
    w.on('exit', () => {
      if (worker === w) worker = undefined;
      failAll(new Error('spawner worker exited'));
    });
    worker = w;
    return w;
  };
  // Without an env the worker's own copy of process.env is used: not cloned into every message.
  const env = (e: Record<string, string> | undefined): Record<string, string> | undefined => e;
  return {
    run(file, args, opts = {}) {
      const w = ensure();
      const id = nextId++;
      hold();
      return new Promise<RunResult>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        w.postMessage({ op: 'run', id, file, args, env: env(opts.env), cwd: opts.cwd, input: opts.input, timeoutMs: opts.timeoutMs });
      }).finally(release);
    },
    launch(file, args, opts) {
      const w = ensure();
      const id = nextId++;
      let onExit!: (code: number | null, signal: string | null) => void;
      const ended = new Promise<{ code: number | null; signal: string | null }>((r) => (onExit = (code, signal) => r({ code, signal })));
      const exited = ended.then((e) => e.code);
      hold();
      return new Promise<number>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onExit });
        w.postMessage({ op: 'launch', id, file, args, env: env(opts.env), cwd: opts.cwd, stdio: opts.stdio });
      }).then((pid) => ({ pid, exited, ended })).finally(release);
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
    },
  };
}
