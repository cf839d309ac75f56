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

/** Runs an exec/attach session to completion and returns the remote command's exit code. */
export function runRemoteCommand(ctx: CliContext, path: string, query: [string, string][], o: StreamOptions): Promise<number> {
  const { url, options } = webSocketTarget(ctx, path, query);
  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], options);
  const stdin = ctx.io.stdin as NodeJS.ReadStream;
  let rawMode = false;
  let onResize: (() => void) | undefined;
  let exitCode = 0;
  let statusSeen = false;
  return new Promise<number>((resolve, reject) => {
    const cleanup = (): void => {
      if (rawMode && typeof stdin.setRawMode === 'function') stdin.setRawMode(false);
      if (onResize) process.stdout.off('resize', onResize);
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
        stdin.on('data', (d: Buffer | string) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([STDIN]), typeof d === 'string' ? Buffer.from(d) : d]));
        });
        stdin.on('end', () => {
          if (v5 && ws.readyState === WebSocket.OPEN) ws.send(Buffer.from([CLOSE, STDIN]));
        });
        stdin.resume();
      }
    });
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) return;
      const ch = data[0]!;
      const payload = data.subarray(1);
      if (ch === STDOUT) ctx.io.stdout.write(payload);
      else if (ch === STDERR) ctx.io.stderr.write(payload);
      else if (ch === ERROR && payload.length > 0) {
        statusSeen = true;
        const text = payload.toString('utf8');
        try {
          const st = JSON.parse(text) as { status?: string; reason?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } };
          if (st.status === 'Failure') {
            const code = st.reason === 'NonZeroExitCode' ? Number(st.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? 1) : undefined;
            if (code !== undefined) {
              exitCode = code;
              ctx.err(`command terminated with exit code ${code}\n`);
            } else {
              exitCode = 1;
              ctx.err(`error: ${st.message ?? text}\n`);
            }
          }
        } catch {
          exitCode = 1;
          ctx.err(`error: ${text}\n`);
        }
      }
    });
    ws.on('close', () => {
      cleanup();
      void statusSeen;
      resolve(exitCode);
    });
  });
}
