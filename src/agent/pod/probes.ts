/**
 * Probes and lifecycle hooks as the kubelet runs them: exec (ExecSync with timeoutSeconds), httpGet (2xx/3xx
 * succeed; the body is not read past 10 KiB), tcpSocket (a connection succeeds). A ProbeWorker applies
 * upstream's timing: initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold, failureThreshold.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, HTTPGetAction, LifecycleHandler, Probe, TCPSocketAction } from 'kubernetes-types/core/v1.js';
import { sleep } from '../../base/clock.ts';
import type { ContainerRuntime } from '../runtime/runtime.ts';

/** A probe's outcome. */
export interface ProbeResult {
  ok: boolean;
  /** The failure message (Unhealthy events use it). */
  output: string;
}

/** Where a probe runs. */
export interface ProbeTarget {
  runtime: ContainerRuntime;
  containerId: string;
  podIP: string;
  container: Container;
}

/** Runs one probe attempt. */
export async function runProbe(p: Probe, target: ProbeTarget, opts: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? (p.timeoutSeconds ?? 1) * 1000;
  try {
    if (p.exec) {
      const cmd = p.exec.command ?? [];
      const r = await target.runtime.execSync(target.containerId, cmd, { timeoutMs });
      if (r.timedOut) return { ok: false, output: `command ${JSON.stringify(cmd.join(' '))} timed out` };
      const out = Buffer.concat([r.stdout, r.stderr]).toString('utf8').trim();
      return r.exitCode === 0 ? { ok: true, output: out } : { ok: false, output: out };
    }
    if (p.httpGet) return await httpProbe(p.httpGet, target, timeoutMs);
    if (p.tcpSocket) return await tcpProbe(p.tcpSocket, target, timeoutMs);
    if (p.grpc) return { ok: false, output: 'grpc probes are not supported by this agent' };
  } catch (e) {
    return { ok: false, output: e instanceof Error ? e.message : String(e) };
  }
  return { ok: false, output: 'missing probe handler' };
}

function resolvePort(port: number | string, c: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (c.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`couldn't find port: ${port} in ${JSON.stringify(c.name)}`);
  return named.containerPort;
}

function httpProbe(a: HTTPGetAction, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(a.port, t.container);
  const host = a.host || t.podIP || '127.0.0.1';
  const scheme = (a.scheme ?? 'HTTP').toLowerCase();
  const path = a.path ? (a.path.startsWith('/') ? a.path : `/${a.path}`) : '/';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const h of a.httpHeaders ?? []) headers[h.name] = h.value;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  return new Promise((resolve) => {
    const mod = scheme === 'https' ? https : http;
    const req = mod.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      const code = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 10240) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        if (code >= 200 && code < 400) resolve({ ok: true, output: '' });
        else resolve({ ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', () => resolve({ ok: false, output: `HTTP probe failed with statuscode: ${code}` }));
    });
    req.on('timeout', () => {
      req.destroy(new Error(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const msg = e.code === 'ECONNREFUSED' ? `Get "${url}": dial tcp ${host}:${port}: connect: connection refused` : e.message;
      resolve({ ok: false, output: msg });
    });
  });
}

function tcpProbe(a: TCPSocketAction, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(a.port, t.container);
  const host = a.host || t.podIP || '127.0.0.1';
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true, output: '' });
    });
    s.once('timeout', () => {
      s.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      resolve({ ok: false, output: e.code === 'ECONNREFUSED' ? `dial tcp ${host}:${port}: connect: connection refused` : e.message });
    });
  });
}

/** Runs a postStart/preStop handler; resolves with an error message, or undefined on success. */
export async function runHandler(h: LifecycleHandler, target: ProbeTarget, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<string | undefined> {
  if (h.sleep) {
    try {
      await sleep(Math.min(h.sleep.seconds * 1000, opts.timeoutMs), { signal: opts.signal });
    } catch {
      // cut short by the grace period
    }
    return undefined;
  }
  const r = await runProbe({ exec: h.exec, httpGet: h.httpGet, tcpSocket: h.tcpSocket }, target, { timeoutMs: opts.timeoutMs });
  if (r.ok) return undefined;
  if (h.exec) return `command '${(h.exec.command ?? []).join(' ')}' exited with ${r.output ? `: ${r.output}` : 'an error'}`;
  return r.output;
}

/** The kind of probe. */
export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** Options of a ProbeWorker. */
export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: Probe;
  target: ProbeTarget;
  /** When the container started (initialDelaySeconds counts from here). */
  startedAt: number;
  /** Called when the thresholded result changes (and for every failure of liveness/startup past the threshold). */
  onResult: (ok: boolean, output: string) => void;
  /** Called for each failed attempt (Unhealthy events). */
  onFailure?: (output: string) => void;
}

/** Probes one container periodically until stopped. */
export class ProbeWorker {
  private readonly opts: ProbeWorkerOptions;
  private readonly abort = new AbortController();
  private result: boolean | undefined;
  private successes = 0;
  private failures = 0;

  constructor(opts: ProbeWorkerOptions) {
    this.opts = opts;
  }

  /** Starts the loop in the background. */
  start(): void {
    void this.loop();
  }

  /** Stops probing. */
  stop(): void {
    this.abort.abort();
  }

  private async loop(): Promise<void> {
    const p = this.opts.probe;
    const signal = this.abort.signal;
    const period = Math.max(1, p.periodSeconds ?? 10) * 1000;
    const initial = (p.initialDelaySeconds ?? 0) * 1000;
    const successThreshold = p.successThreshold ?? 1;
    const failureThreshold = p.failureThreshold ?? 3;
    try {
      const wait = this.opts.startedAt + initial - Date.now();
      // Upstream jitters the first probe of a freshly started kubelet; a fresh container is probed promptly.
      if (wait > 0) await sleep(wait, { signal });
      while (!signal.aborted) {
        const r = await runProbe(p, this.opts.target);
        if (signal.aborted) return;
        if (r.ok) {
          this.failures = 0;
          this.successes++;
          if (this.result !== true && this.successes >= successThreshold) {
            this.result = true;
            this.opts.onResult(true, r.output);
          }
        } else {
          this.successes = 0;
          this.failures++;
          this.opts.onFailure?.(r.output);
          if (this.failures >= failureThreshold && (this.result !== false || this.opts.kind !== 'readiness')) {
            this.result = false;
            this.opts.onResult(false, r.output);
            // Liveness and startup failures restart the container: probing starts over afterwards.
            if (this.opts.kind !== 'readiness') this.failures = 0;
          }
        }
        await sleep(period, { signal });
      }
    } catch {
      // stopped
    }
  }
}
