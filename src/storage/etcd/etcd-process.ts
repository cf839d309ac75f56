/**
 * Starts a real, private etcd server for tests, benchmarks and development: free loopback ports, a
 * temporary data directory, fsync left on (a crash test on a server that skips fsync proves nothing).
 * Never talks to a system etcd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../base/clock.ts';

/** A running etcd started by startEtcd. */
export interface EtcdProcess {
  /** Client URLs (http://127.0.0.1:PORT), ready for openEtcdStorage. */
  endpoints: string[];
  /** The data directory in use (removed by stop() only when startEtcd created it). */
  dataDir: string;
  /** The etcd process id. */
  pid: number;
  /** Stops etcd by PID (SIGTERM, then SIGKILL after 5 s) and removes a data dir it created. */
  stop(): Promise<void>;
}

/** Options for startEtcd. */
export interface StartEtcdOptions {
  /** Use this data directory (kept on stop); default: a new temp dir, removed on stop. */
  dataDir?: string;
  /** The etcd binary; default $ETCD_BIN or `etcd` on PATH. */
  binary?: string;
  /** How long to wait for the server to report healthy (ms); default 20000. */
  startTimeoutMs?: number;
  /** Listen on these loopback ports (e.g. to restart a server where its clients expect it); default: free ones. */
  ports?: { client: number; peer: number };
  /** Extra command-line flags. */
  extraArgs?: string[];
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner that dies must not leave etcd servers behind holding ports and temp dirs.
  process.on('exit', () => {
    for (const c of running) {
      if (c.pid !== undefined && c.exitCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

/** Finds a free TCP port on 127.0.0.1 by binding port 0 and releasing it. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Starts etcd on free loopback ports and resolves once it reports healthy. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  installExitHook();
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'skiff-etcd-')));
  let lastError: unknown;
  try {
    // Another process can take a port between our probe and etcd's bind: retry with fresh ports.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await launch(dataDir, ownDir, opts);
      } catch (e) {
        lastError = e;
        if (!(e instanceof PortInUseError) || opts.ports !== undefined) throw e;
      }
    }
    throw lastError instanceof Error ? lastError : new Error('etcd did not start');
  } catch (e) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}

class PortInUseError extends Error {}

async function launch(dataDir: string, ownDir: boolean, opts: StartEtcdOptions): Promise<EtcdProcess> {
  const clientPort = opts.ports?.client ?? (await freeLoopbackPort());
  let peerPort = opts.ports?.peer ?? (await freeLoopbackPort());
  while (opts.ports === undefined && peerPort === clientPort) peerPort = await freeLoopbackPort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const name = 'skiff';
  const args = [
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `${name}=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', `skiff-${process.pid}-${clientPort}`,
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--log-level', 'warn',
    // kube-apiserver's recommended bookmark cadence; etcd's default is 10 minutes.
    '--experimental-watch-progress-notify-interval', '5s',
    ...(opts.extraArgs ?? []),
  ];
  const binary = opts.binary ?? process.env['ETCD_BIN'] ?? 'etcd';
  // etcd reads ETCD_* variables as flags and refuses ones that duplicate the command line.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_') || k === 'ETCD_UNSUPPORTED_ARCH'),
  );
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  running.add(child);
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    tail = (tail + s).slice(-16_384);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const grace = new AbortController();
      const done = await Promise.race([
        exited.then(() => true),
        sleep(5000, { signal: grace.signal }).then(() => false, () => true),
      ]);
      grace.abort();
      if (!done) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    }
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  let failure: string | undefined;
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  void spawnError.then((e) => {
    failure = `cannot run ${binary}: ${e.message} (install it with scripts/install-deps.sh)`;
  });
  for (;;) {
    if (failure !== undefined) break;
    if (exitedEarly) {
      if (/address already in use/.test(tail)) {
        throw new PortInUseError(`etcd port collision on ${clientPort}/${peerPort}`);
      }
      failure = `etcd exited during start-up: ${lastLine(tail)}`;
      break;
    }
    if (await healthy(clientUrl)) {
      if (child.pid === undefined) throw new Error('etcd has no pid');
      return { endpoints: [clientUrl], dataDir, pid: child.pid, stop };
    }
    if (Date.now() > deadline) {
      failure = `etcd at ${clientUrl} did not become healthy within ${opts.startTimeoutMs ?? 20_000} ms: ${lastLine(tail)}`;
      break;
    }
    await sleep(50);
  }
  // The data dir is startEtcd's to remove (it may retry in it), so only the process is ended here.
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
  throw new Error(failure);
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: unknown };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1] ?? '(no output)';
  try {
    const o = JSON.parse(last) as { msg?: string; error?: string };
    return [o.msg, o.error].filter(Boolean).join(': ') || last;
  } catch {
    return last;
  }
}
