/**
 * Integration-test helpers: start a real `skiff server` process on 127.0.0.1 port 0 in a temp dir, run the real
 * kubectl against it with a fresh HOME and cache dir, and stop everything by PID afterwards.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
// SKIFF_TEST_BUNDLE runs another build of the executable (e.g. a private bundle while dist/ is shared).
const SKIFF = process.env['SKIFF_TEST_BUNDLE'] ? resolve(process.env['SKIFF_TEST_BUNDLE']) : join(ROOT, 'bin', 'skiff');

/** A running server started by a test. */
export interface TestServer {
  url: string;
  dataDir: string;
  kubeconfig: string;
  proc: ChildProcess;
  /** Everything the server printed on stderr (logs). */
  logs(): string;
  /** Stops the server by PID (SIGTERM, then SIGKILL after 10 s) and removes the temp dir unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<number | null>;
}

/** Options of startServer. */
export interface StartServerOptions {
  args?: string[];
  dataDir?: string;
  env?: Record<string, string>;
  /**
   * Keep the embedded node agent (default false: `--no-agent`, tests start their own agents). Its service proxy and
   * DNS stay off: they program the host's nft table, which servers running side by side would share.
   */
  agent?: boolean;
}

/** Starts `skiff server` and waits until it reports its URL. */
export async function startServer(opts: StartServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-it-'));
  const proc = spawn(process.execPath, [SKIFF, 'server', '--port', '0', '--data-dir', dataDir, ...(opts.agent ? ['--disable-proxy', '--disable-dns'] : ['--no-agent']), ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${err}`)), 20_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolveUrl(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server exited with ${code}:\n${err}`));
    });
  });
  let exited: Promise<number | null> = new Promise((r) => proc.once('exit', (code) => r(code)));
  return {
    url, dataDir, proc, kubeconfig: join(dataDir, 'kubeconfig.yaml'),
    logs: () => err,
    async stop(o = {}) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(t);
        exited = Promise.resolve(code);
      }
      const code = await exited;
      if (!o.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** The result of a kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A kubectl bound to one server with its own HOME and cache dir. */
export interface Kubectl {
  (args: string[], opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<KubectlResult>;
  home: string;
  cleanup(): void;
}

/** Makes a kubectl runner for a server (fresh HOME and discovery cache). */
export function kubectlFor(server: { kubeconfig: string }): Kubectl {
  const home = mkdtempSync(join(tmpdir(), 'skiff-kubectl-'));
  const run = ((args: string[], o: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}) =>
    new Promise<KubectlResult>((resolveRun) => {
      const child = execFile('kubectl', ['--kubeconfig', server.kubeconfig, '--cache-dir', join(home, 'cache'), ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: home, ...o.env },
        timeout: o.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
      }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
        resolveRun({ code, stdout, stderr });
      });
      if (o.input !== undefined) {
        child.stdin!.end(o.input);
      } else {
        child.stdin?.end();
      }
    })) as Kubectl;
  run.home = home;
  run.cleanup = () => rmSync(home, { recursive: true, force: true });
  return run;
}

/** Client credentials for `fetchAs`: a client certificate, a bearer token, or nothing (anonymous). */
export interface TestCredentials {
  cert?: string;
  key?: string;
  token?: string;
  /** Verify the server with this CA (default: the server's own CA from its data dir). */
  ca?: string;
}

/** The cluster CA, admin client certificate and key a server wrote into its data dir. */
export function serverPki(server: { dataDir: string }): { ca: string; cert: string; key: string } {
  const dir = join(server.dataDir, 'tls');
  return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), cert: readFileSync(join(dir, 'admin.crt'), 'utf8'), key: readFileSync(join(dir, 'admin.key'), 'utf8') };
}

/**
 * fetch() for a test server with explicit credentials: HTTPS verified against the server's CA, the response as a
 * standard Response whose body streams (watches work).
 */
export function fetchAs(server: { url: string; dataDir: string }, path: string, init: RequestInit = {}, creds: TestCredentials = {}): Promise<Response> {
  const url = new URL(server.url + path);
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => { headers[k] = v; });
  if (creds.token) headers.authorization = `Bearer ${creds.token}`;
  const body = init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? Buffer.from(init.body) : Buffer.from(init.body as Uint8Array);
  if (body) headers['content-length'] = String(body.length);
  const tls = url.protocol === 'https:' ? { ca: creds.ca ?? serverPki(server).ca, ...(creds.cert ? { cert: creds.cert, key: creds.key } : {}) } : {};
  return new Promise<Response>((resolveRes, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: init.method ?? 'GET', headers, ...tls, agent: false }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (Array.isArray(v)) for (const x of v) h.append(k, x);
        else if (v !== undefined) h.set(k, v);
      }
      const status = res.statusCode ?? 0;
      const nullBody = status === 204 || status === 304 || (init.method ?? 'GET') === 'HEAD';
      if (nullBody) res.resume();
      resolveRes(new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: h }));
    });
    req.once('error', reject);
    const signal = init.signal;
    if (signal) {
      if (signal.aborted) req.destroy(new Error('aborted'));
      signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
    }
    req.end(body);
  });
}

/** fetch() as the cluster admin (the admin client certificate from the server's data dir). */
export function adminFetch(server: { url: string; dataDir: string }, path: string, init: RequestInit = {}): Promise<Response> {
  const pki = serverPki(server);
  return fetchAs(server, path, init, { cert: pki.cert, key: pki.key, ca: pki.ca });
}

/** Writes a file into a temp dir and returns its path (for kubectl -f). */
export function tempFile(dir: string, name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
