/**
 * Port-forward, server side, in both protocols clients use: SPDY/3.1 (kubectl; raw or tunnelled in WebSocket
 * binary messages) with an error and a data stream per connection, paired by `requestid`; and the kubelet
 * WebSocket protocol (client libraries) with channels 2i (data) and 2i+1 (error) for the i-th port of `ports`,
 * each first carrying the port as a little-endian uint16.
 */
import { Duplex, PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import { logger } from '../../base/log.ts';
import { SpdySession } from '../spdy/spdy.ts';
import type { SpdyStream, SpdyTransport } from '../spdy/spdy.ts';

const log = logger('port-forward');

/** Connects a stream to a port of the pod; rejects when the port cannot be reached. */
export type ForwardFn = (port: number, stream: Duplex) => Promise<void>;

/** Serves one SPDY port-forward session over `transport`; returns the session to feed with the peer's bytes. */
export function spdyPortForward(transport: SpdyTransport, podLabel: string, forward: ForwardFn): SpdySession {
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream; started?: boolean }>();
  const session = new SpdySession(transport, (s) => {
    void s.reply().catch(() => undefined);
    const type = s.header('streamtype');
    const requestId = s.header('requestid') ?? '';
    const port = Number(s.header('port'));
    if (type !== 'error' && type !== 'data') {
      s.reset();
      return;
    }
    const pair = pairs.get(requestId) ?? {};
    pairs.set(requestId, pair);
    if (type === 'error') {
      pair.error = s;
      // The client never writes to the error stream; drain its FIN.
      s.resume();
    } else pair.data = s;
    if (!pair.data || !pair.error || pair.started) return;
    pair.started = true;
    const { data, error } = pair;
    forward(port, data).then(
      () => {
        pairs.delete(requestId);
        if (!data.writableEnded) data.end();
        error.end();
      },
      (e: unknown) => {
        pairs.delete(requestId);
        const msg = `error forwarding port ${port} to pod ${podLabel}: ${e instanceof Error ? e.message : String(e)}`;
        log.v(2).info('port-forward failed', { pod: podLabel, port, err: msg });
        error.end(Buffer.from(msg));
        if (!data.writableEnded) data.end();
      },
    );
  });
  return session;
}

/** Serves the WebSocket port-forward protocol for `ports` on an open WebSocket. */
export function websocketPortForward(ws: WebSocket, ports: number[], podLabel: string, forward: ForwardFn): void {
  const base64 = ws.protocol.includes('base64');
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String(channel) + data.toString('base64'));
    else ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true });
  };
  const inputs: PassThrough[] = [];
  let remaining = ports.length;
  ports.forEach((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    send(2 * i, portBytes);
    send(2 * i + 1, portBytes);
    // From the client to the pod: channel 2i; from the pod to the client: channel 2i.
    const toPod = new PassThrough();
    inputs[i] = toPod;
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _e: BufferEncoding, cb: () => void) {
        send(2 * i, chunk);
        cb();
      },
    });
    toPod.on('data', (c: Buffer) => duplex.push(c));
    toPod.on('end', () => duplex.push(null));
    forward(port, duplex).then(
      () => {
        if (--remaining === 0 && ws.readyState === ws.OPEN) ws.close(1000);
      },
      (e: unknown) => {
        send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${podLabel}: ${e instanceof Error ? e.message : String(e)}`));
        if (--remaining === 0 && ws.readyState === ws.OPEN) ws.close(1000);
      },
    );
  });
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
    if (channel % 2 !== 0) return;
    const i = channel / 2;
    if (data.length > 0) inputs[i]?.write(Buffer.from(data));
  });
  ws.once('close', () => {
    for (const p of inputs) p.end();
  });
}
