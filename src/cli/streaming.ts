/**
 * The client side of exec and attach: the WebSocket remote-command protocol v5.channel.k8s.io (falling back to
 * v4), as kubectl speaks it since 1.30. Channel bytes: 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize; v5's
 * [255, 0] closes stdin. The final Status decides the exit code (NonZeroExitCode → the command's code, printed
 * as kubectl's `command terminated with exit code N`). With a TTY, stdin is put in raw mode and terminal size
 * changes are sent on the resize channel.
 *
 * The client library has no WebSocket upgrade yet, so the connection is opened here with `ws`, from the same
 * ClientConfig (server URL, TLS material, token/basic credentials, impersonation) the RestClient uses.
 */
import { WebSocket } from 'ws';
import type { CliContext } from './context.ts';
import { apiErrorFromResponse } from '../client/index.ts';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/** What a streaming session carries. */
export interface StreamOptions {
  stdin: boolean;
  tty: boolean;
  /** Attach stderr (false with a TTY: the terminal merges it into stdout). */
  stderr: boolean;
}

/** Builds the WebSocket URL and options for an API path, from the context's client configuration. */
export function webSocketTarget(ctx: CliContext, path: string, query: [string, string][]): { url: string; options: ConstructorParameters<typeof WebSocket>[2] } {
  const cfg = ctx.clientConfig();
  const u = new URL(cfg.server + path);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of query) u.searchParams.append(k, v);
  const headers: Record<string, string> = {};
  if (cfg.token) headers['Authorization'] = `Bearer ${cfg.token}`;
  else if (cfg.username !== undefined) headers['Authorization'] = `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}`;
  if (cfg.impersonateUser) headers['Impersonate-User'] = cfg.impersonateUser;
  const options: NonNullable<ConstructorParameters<typeof WebSocket>[2]> = { headers, handshakeTimeout: 30_000 };
  if (cfg.caData) options.ca = cfg.caData;
  if (cfg.certData) options.cert = cfg.certData;
  if (cfg.keyData) options.key = cfg.keyData;
  if (cfg.insecureSkipTLSVerify) options.rejectUnauthorized = false;
  // ws hands unknown options to tls.connect, which takes the SNI name as `servername`.
  if (cfg.tlsServerName) (options as Record<string, unknown>)['servername'] = cfg.tlsServerName;
  return { url: u.toString(), options };
}

/** Where a session's streams go; by default the context's own. */
export interface SessionStreams {
  stdin?: NodeJS.ReadableStream;
  /** Receives stdout; when write() returns false the session waits for 'drain' (a Writable). */
  stdout?: { write(b: Uint8Array): boolean | unknown; once?(ev: 'drain', fn: () => void): unknown };
  stderr?: { write(b: Uint8Array): unknown };
}

/** How a session ended: the remote exit code, and the Status message of a failure that is not an exit code. */
export interface SessionResult {
  exitCode: number;
  failure?: string;
}

/** Runs an exec/attach session to completion and returns the remote command's exit code. */
export async function runRemoteCommand(ctx: CliContext, path: string, query: [string, string][], o: StreamOptions): Promise<number> {
  const r = await streamRemoteCommand(ctx, path, query, o);
  if (r.failure !== undefined) ctx.err(`error: ${r.failure}\n`);
  else if (r.exitCode !== 0) ctx.err(`command terminated with exit code ${r.exitCode}\n`);
  return r.exitCode;
}

/**
 * Runs an exec/attach session with `streams` (default: the context's) and resolves to how it ended, printing
 * nothing of its own; rejects when the connection cannot be made (the server's Status as an ApiError). An
 * aborted `signal` closes the connection.
 */
export function streamRemoteCommand(ctx: CliContext, path: string, query: [string, string][], o: StreamOptions & { streams?: SessionStreams; signal?: AbortSignal }): Promise<SessionResult> {
  const { url, options } = webSocketTarget(ctx, path, query);
  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], options);
  const stdin = (o.streams?.stdin ?? ctx.io.stdin) as NodeJS.ReadStream;
  const stdout: NonNullable<SessionStreams['stdout']> = o.streams?.stdout ?? (ctx.io.stdout as NonNullable<SessionStreams['stdout']>);
  const stderr = o.streams?.stderr ?? ctx.io.stderr;
  let rawMode = false;
  let onResize: (() => void) | undefined;
  const result: SessionResult = { exitCode: 0 };
  let onData: ((d: Buffer | string) => void) | undefined;
  let onEnd: (() => void) | undefined;
  return new Promise<SessionResult>((resolve, reject) => {
    // Aborting ends the session at once; it then resolves with what was seen so far.
    const onAbort = (): void => ws.terminate();
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) onAbort();
    const cleanup = (): void => {
      o.signal?.removeEventListener('abort', onAbort);
      if (rawMode && typeof stdin.setRawMode === 'function') stdin.setRawMode(false);
      if (onResize) process.stdout.off('resize', onResize);
      if (onData) stdin.off('data', onData);
      if (onEnd) stdin.off('end', onEnd);
      stdin.pause();
    };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        cleanup();
        let parsed: unknown = body;
        try {
          parsed = JSON.parse(body);
        } catch {
          // Not JSON: worded from the status code, as client-go does.
        }
        reject(apiErrorFromResponse(res.statusCode ?? 0, parsed, { verb: 'GET' }));
      });
    });
    ws.on('error', (e) => {
      cleanup();
      reject(e);
    });
    ws.on('open', () => {
      const v5 = ws.protocol === 'v5.channel.k8s.io';
      if (o.tty && process.stdout.isTTY) {
        const send = (): void => ws.send(Buffer.concat([Buffer.from([RESIZE]), Buffer.from(JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }))]));
        send();
        onResize = send;
        process.stdout.on('resize', onResize);
      }
      if (o.stdin) {
        if (o.tty && stdin.isTTY && typeof stdin.setRawMode === 'function') {
          stdin.setRawMode(true);
          rawMode = true;
        }
        onData = (d: Buffer | string) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          ws.send(Buffer.concat([Buffer.from([STDIN]), typeof d === 'string' ? Buffer.from(d) : d]));
          // Large inputs (cp uploads) must not pile up in the socket's buffer.
          if (ws.bufferedAmount > 1 << 20) {
            stdin.pause();
            const wait = (): void => {
              if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount <= 1 << 18) stdin.resume();
              else setTimeout(wait, 5);
            };
            setTimeout(wait, 5);
          }
        };
        onEnd = () => {
          if (v5 && ws.readyState === WebSocket.OPEN) ws.send(Buffer.from([CLOSE, STDIN]));
        };
        stdin.on('data', onData);
        stdin.on('end', onEnd);
        stdin.resume();
      }
    });
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) return;
      const ch = data[0]!;
      const payload = data.subarray(1);
      if (ch === STDOUT) {
        const ok = stdout.write(payload);
        if (ok === false && typeof stdout.once === 'function') {
          // Backpressure from a slow consumer (cp's untar): stop reading the socket until it drains.
          ws.pause();
          stdout.once('drain', () => ws.resume());
        }
      } else if (ch === STDERR) stderr.write(payload);
      else if (ch === ERROR && payload.length > 0) {
        const text = payload.toString('utf8');
        try {
          const st = JSON.parse(text) as { status?: string; reason?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } };
          if (st.status === 'Failure') {
            const code = st.reason === 'NonZeroExitCode' ? Number(st.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? 1) : undefined;
            if (code !== undefined) result.exitCode = code;
            else {
              result.exitCode = 1;
              result.failure = st.message ?? text;
            }
          }
        } catch {
          result.exitCode = 1;
          result.failure = text;
        }
      }
    });
    ws.on('close', () => {
      cleanup();
      resolve(result);
    });
  });
}
