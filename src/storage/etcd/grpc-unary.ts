/**
 * Unary gRPC calls over node:http2, for the etcd engine's KV requests (Range, Txn, DeleteRange,
 * Compact). Through etcd3 and grpc-js a create cost the client more CPU than etcd spent serving it
 * (~320-560 vs ~200 µs on the loaded 2-core machine; here ~170 µs), in channel, resolver, load-balancer
 * and filter layers; a unary call is one HTTP/2 stream carrying one length-prefixed message each way,
 * with the status in the trailers, and that is all this does. Streams (watch) and
 * the rarely used services (lease, maintenance) stay on the etcd3 client.
 *
 * One HTTP/2 session at a time, to one endpoint; when it fails, the next call dials the next endpoint.
 * No retries here: the engine retries reads itself and never retries writes.
 */
import * as http2 from 'node:http2';

/** gRPC status codes used here and by callers. */
export const GrpcStatus = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, ABORTED: 10, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** A call that ended with a non-OK gRPC status (the server's, or UNAVAILABLE / DEADLINE_EXCEEDED for transport failures). */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'GrpcCallError';
  }
}

/** A call made after close(). */
export class GrpcClientClosedError extends Error {
  constructor() {
    super('gRPC client is closed');
    this.name = 'GrpcClientClosedError';
  }
}

/** Options of GrpcUnaryClient. */
export interface GrpcUnaryOptions {
  /** HTTP/2 receive window per stream and per session (bytes); default 16 MiB, so that large lists stream without stalls. */
  windowBytes?: number;
}

interface Pending {
  stream: http2.ClientHttp2Stream;
  deadline: number;
  timedOut: boolean;
}

const SWEEP_MS = 50;
const { NGHTTP2_CANCEL } = http2.constants;

/** Unary gRPC calls over one HTTP/2 session at a time, rotating through `endpoints` on failure. */
export class GrpcUnaryClient {
  private session: http2.ClientHttp2Session | null = null;
  private endpointIndex: number;
  private readonly urls: string[];
  private readonly pending = new Set<Pending>();
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly windowBytes: number;

  constructor(endpoints: string[], opts: GrpcUnaryOptions = {}) {
    if (endpoints.length === 0) throw new Error('no endpoints');
    this.urls = endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
    // Spread several clients over the endpoints, as etcd3's shuffled hosts did.
    this.endpointIndex = Math.floor(Math.random() * this.urls.length);
    this.windowBytes = opts.windowBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Sends one framed request message (gRPC's 5-byte prefix included) to `path` and resolves with the
   * response message (prefix removed); rejects with GrpcCallError, DEADLINE_EXCEEDED after `timeoutMs`.
   */
  call(path: string, request: Buffer, opts: { timeoutMs: number }): Promise<Buffer> {
    if (this.closed) return Promise.reject(new GrpcClientClosedError());
    return new Promise((resolve, reject) => {
      const session = this.connect();
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(
          {
            ':method': 'POST',
            ':path': path,
            'content-type': 'application/grpc',
            te: 'trailers',
            'grpc-timeout': grpcTimeout(opts.timeoutMs),
          },
          { endStream: false },
        );
      } catch (e) {
        this.dropSession(session);
        reject(new GrpcCallError(GrpcStatus.UNAVAILABLE, `${this.urls[this.endpointIndex]}: ${errorText(e)}`, { cause: e }));
        return;
      }
      const call: Pending = { stream, deadline: Date.now() + opts.timeoutMs, timedOut: false };
      this.track(call);
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let message = '';
      let httpStatus = 0;
      let failure: unknown;
      const takeStatus = (h: http2.IncomingHttpHeaders): void => {
        const s = h['grpc-status'];
        if (s === undefined) return;
        status = Number(s);
        const m = h['grpc-message'];
        message = typeof m === 'string' ? decodeMessage(m) : '';
      };
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        takeStatus(h); // a trailers-only response carries the status in its headers
      });
      stream.on('trailers', takeStatus);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => {
        failure ??= e;
      });
      stream.on('close', () => {
        this.pending.delete(call);
        if (call.timedOut) {
          // A session still dialling when a deadline passes is likely never to answer: dial the next endpoint.
          if (session.connecting) this.dropSession(session);
          reject(new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, `deadline of ${opts.timeoutMs} ms exceeded calling ${this.urls[this.endpointIndex]}`));
          return;
        }
        if (status === undefined) {
          // No status: the stream or the connection broke (refused, reset, GOAWAY before an answer).
          if (failure !== undefined) this.dropSession(session);
          const why = failure !== undefined ? errorText(failure) : httpStatus !== 0 && httpStatus !== 200 ? `HTTP status ${httpStatus}` : `stream closed (code ${stream.rstCode ?? '?'})`;
          reject(new GrpcCallError(GrpcStatus.UNAVAILABLE, `${this.urls[this.endpointIndex]}: ${why}`, { cause: failure }));
          return;
        }
        if (status !== 0) {
          reject(new GrpcCallError(status, message || `gRPC status ${status}`));
          return;
        }
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
          reject(new GrpcCallError(GrpcStatus.INTERNAL, `malformed gRPC response from ${path} (${body.length} bytes)`));
          return;
        }
        resolve(body.subarray(5));
      });
      stream.end(request);
    });
  }

  /** Ends the session; calls in flight fail, later calls reject with GrpcClientClosedError. */
  close(): void {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    const s = this.session;
    this.session = null;
    s?.destroy();
  }

  private connect(): http2.ClientHttp2Session {
    const cur = this.session;
    if (cur !== null && !cur.closed && !cur.destroyed) return cur;
    const url = this.urls[this.endpointIndex] ?? '';
    const options: http2.SecureClientSessionOptions & { noDelay: boolean } = {
      settings: { enablePush: false, initialWindowSize: this.windowBytes },
      // Large list responses are held until read; nghttp2's default 10 MiB would refuse new streams meanwhile.
      maxSessionMemory: 256,
      // Passed on to net/tls.connect: each request is one small write waiting for its answer, which Nagle would hold back.
      noDelay: true,
    };
    const session = http2.connect(url, options);
    session.on('connect', () => session.setLocalWindowSize(this.windowBytes));
    // Errors reach the streams as well; the session only needs replacing.
    session.on('error', () => this.dropSession(session));
    session.on('goaway', () => this.dropSession(session));
    session.on('close', () => this.dropSession(session));
    // An idle session must not keep the process alive; while calls are pending the sweeper's timer does.
    session.unref();
    this.session = session;
    return session;
  }

  /** Forgets a failed session (new calls dial the next endpoint); its open streams end on their own. */
  private dropSession(session: http2.ClientHttp2Session): void {
    if (this.session !== session) return;
    this.session = null;
    this.endpointIndex = (this.endpointIndex + 1) % this.urls.length;
    if (!session.destroyed && !session.closed) session.close();
  }

  private track(call: Pending): void {
    this.pending.add(call);
    if (this.sweeper !== null) return;
    // One coarse timer for every call rather than a timer per call: deadlines are seconds, not milliseconds.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const p of this.pending) {
        if (p.deadline <= now && !p.timedOut) {
          p.timedOut = true;
          p.stream.close(NGHTTP2_CANCEL);
        }
      }
      if (this.pending.size === 0 && this.sweeper !== null) {
        clearInterval(this.sweeper);
        this.sweeper = null;
      }
    }, SWEEP_MS);
  }
}

/** The grpc-timeout header: at most 8 digits and a unit (gRPC over HTTP/2 spec). */
function grpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  return m <= 99_999_999 ? `${m}m` : `${Math.min(99_999_999, Math.ceil(m / 1000))}S`;
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec). */
function decodeMessage(m: string): string {
  if (!m.includes('%')) return m;
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
