/**
 * The WebSocket remote-command protocol of exec and attach (channel.k8s.io … v5.channel.k8s.io, and the base64
 * variants): each message starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize;
 * v5 adds [255, channel] to close a stream (stdin EOF). The session ends with a Status on channel 3 (v4+) whose
 * NonZeroExitCode reason and ExitCode cause make `kubectl exec` exit with the command's code.
 */
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { TerminalSize } from '../runtime/runtime.ts';

/** Subprotocols served, most preferred first. */
export const remoteCommandProtocols = [
  'v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io',
];

/** A Kubernetes Status for the error channel. */
export interface ChannelStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes: { reason: string; message: string }[] };
}

/** The Status of a finished command, worded as the kubelet's streaming server. */
export function exitStatus(cmd: string[], exitCode: number): ChannelStatus {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${cmd.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** The Status of an error that prevented the command from running. */
export function errorStatus(message: string): ChannelStatus {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** The streams of one WebSocket session. */
export interface ChannelSession {
  stdin?: PassThrough;
  stdout?: Writable;
  stderr?: Writable;
  resize: AsyncIterable<TerminalSize>;
  /** Sends the final status and closes the connection. */
  finish(status: ChannelStatus): void;
  /** Resolves when the client goes away. */
  closed: Promise<void>;
  signal: AbortSignal;
}

/** Wires a WebSocket to exec/attach streams. */
export function channelSession(ws: WebSocket, opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): ChannelSession {
  const protocol = ws.protocol;
  const base64 = protocol.includes('base64');
  const version = /^v(\d)\./.exec(protocol)?.[1] ? Number(/^v(\d)\./.exec(protocol)![1]) : 1;
  const abort = new AbortController();
  const closed = new Promise<void>((r) => ws.once('close', () => {
    abort.abort();
    r();
  }));
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String(channel) + data.toString('base64'));
    else ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true });
  };
  const writer = (channel: number): Writable => new Writable({
    write(chunk: Buffer, _e, cb) {
      send(channel, chunk);
      cb();
    },
  });
  const stdin = opts.stdin ? new PassThrough() : undefined;
  const sizes: TerminalSize[] = [];
  let wakeResize: (() => void) | undefined;
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    let data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (data.length === 0) return;
    let channel: number;
    if (base64 && !isBinary) {
      channel = data[0]! - 48;
      data = Buffer.from(data.subarray(1).toString(), 'base64');
    } else {
      channel = data[0]!;
      data = data.subarray(1);
    }
    if (channel === 255 && version >= 5) {
      if (data[0] === 0) stdin?.end();
      return;
    }
    if (channel === 0) {
      if (data.length > 0) stdin?.write(Buffer.from(data));
    } else if (channel === 4) {
      try {
        const r = JSON.parse(data.toString()) as { Width?: number; Height?: number };
        sizes.push({ width: r.Width ?? 0, height: r.Height ?? 0 });
        wakeResize?.();
      } catch {
        // ignore malformed resize
      }
    }
  });
  ws.once('close', () => {
    stdin?.end();
    wakeResize?.();
  });
  const resize: AsyncIterable<TerminalSize> = {
    async *[Symbol.asyncIterator]() {
      while (!abort.signal.aborted) {
        const next = sizes.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((r) => (wakeResize = r));
      }
    },
  };
  return {
    stdin,
    stdout: opts.stdout ? writer(1) : undefined,
    stderr: opts.stderr && !opts.tty ? writer(2) : undefined,
    resize,
    closed,
    signal: abort.signal,
    finish(status) {
      if (version >= 4) send(3, Buffer.from(JSON.stringify(status)));
      else if (status.status !== 'Success') send(3, Buffer.from(status.message ?? 'error'));
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
  };
}
