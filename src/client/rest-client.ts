/**
 * The HTTP(S) transport to the API server (client-go's rest.RESTClient): one keep-alive Agent per client,
 * bearer-token / basic / client-certificate auth, CA or insecure TLS, impersonation headers, JSON bodies,
 * Kubernetes Status errors as ApiError, bounded retries, and chunked streams (watch, logs).
 *
 * Retries: 429 (and 5xx carrying Retry-After) for every verb, honouring Retry-After up to `maxRetryAfterMs`;
 * connection errors only for idempotent verbs (GET, HEAD, OPTIONS, PUT, DELETE), plus the one case Node
 * documents as safe for any verb: a reset on a reused keep-alive socket before any response.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { StringDecoder } from 'node:string_decoder';
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import { backoffDelay } from '../base/backoff.ts';
import { logger } from '../base/log.ts';
import type { ClientConfig } from './kubeconfig.ts';
import { ApiError, apiErrorFromResponse } from './api-error.ts';
import { clockSleep } from './sleep.ts';

const log = logger('rest-client');

/** Query parameters; undefined values are left out, arrays repeat the key. */
export type Query = Record<string, string | number | boolean | string[] | undefined>;

/** One request. `body` objects are sent as JSON; strings and Buffers as they are. */
export interface RequestOptions {
  method?: string;
  /** Absolute path on the server, e.g. /api/v1/namespaces/default/pods. */
  path: string;
  query?: Query;
  body?: unknown;
  /** Content-Type of the body (default application/json for objects). */
  contentType?: string;
  /** Accept header (default application/json). */
  accept?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** A completed response: `body` is parsed JSON when the server sent JSON, else the text (undefined when empty). */
export interface RestResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
}

/** An open streaming response. Iterate `lines()` or `chunks()` once; both end quietly on abort or `close()`. */
export interface RestStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Newline-delimited text lines (without the newline); a final unterminated line is yielded too. */
  lines(): AsyncGenerator<string>;
  /** Raw body chunks as they arrive. */
  chunks(): AsyncGenerator<Buffer>;
  /** Ends the stream (the iterator finishes without error). */
  close(): void;
}

/** Transport options. */
export interface RestClientOptions {
  /** Time source for retry waits. */
  clock?: Clock;
  /** Maximum retries of one request (default 5). */
  maxRetries?: number;
  /** Upper bound on one Retry-After wait (default 10 s). */
  maxRetryAfterMs?: number;
  /** Back-off for connection-error retries (default 50 ms doubling to 1 s). */
  backoff?: { initialMs: number; maxMs: number };
  userAgent?: string;
}

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const connectionErrors = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

const secureContexts = new Map<string, tls.SecureContext>();

/**
 * One TLS context per set of credentials, shared by every connection and client using them: without it each new
 * connection parses the CA, certificate and key again (milliseconds of CPU each, seconds for a burst of clients).
 */
function secureContextFor(config: ClientConfig): tls.SecureContext {
  const k = `${config.caData ?? ''}\0${config.certData ?? ''}\0${config.keyData ?? ''}`;
  let ctx = secureContexts.get(k);
  if (!ctx) {
    ctx = tls.createSecureContext({
      ...(config.caData !== undefined ? { ca: config.caData } : {}),
      ...(config.certData !== undefined ? { cert: config.certData } : {}),
      ...(config.keyData !== undefined ? { key: config.keyData } : {}),
    });
    secureContexts.set(k, ctx);
  }
  return ctx;
}

/** A REST client bound to one server and identity. Call `close()` to release its sockets. */
export class RestClient {
  readonly config: ClientConfig;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly clock: Clock;
  private readonly maxRetries: number;
  private readonly maxRetryAfterMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly defaultHeaders: Record<string, string | string[]>;

  constructor(config: ClientConfig, opts: RestClientOptions = {}) {
    this.config = config;
    this.base = new URL(config.server);
    this.clock = opts.clock ?? realClock;
    this.maxRetries = opts.maxRetries ?? 5;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 10_000;
    this.backoff = opts.backoff ?? { initialMs: 50, maxMs: 1000 };
    if (this.base.protocol === 'https:') {
      this.agent = new https.Agent({
        keepAlive: true,
        secureContext: secureContextFor(config),
        rejectUnauthorized: !config.insecureSkipTLSVerify,
        servername: config.tlsServerName,
      });
    } else {
      this.agent = new http.Agent({ keepAlive: true });
    }
    const h: Record<string, string | string[]> = { 'user-agent': opts.userAgent ?? `skiff/0.1.0 (${process.platform}/${process.arch})` };
    if (config.token) h['authorization'] = `Bearer ${config.token}`;
    else if (config.username !== undefined) h['authorization'] = `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`;
    if (config.impersonateUser) h['impersonate-user'] = config.impersonateUser;
    if (config.impersonateGroups?.length) h['impersonate-group'] = config.impersonateGroups;
    this.defaultHeaders = h;
  }

  /** Sends a request and reads the whole response; rejects with ApiError on a non-2xx status. */
  async request<T = unknown>(opts: RequestOptions): Promise<RestResponse<T>> {
    const method = (opts.method ?? 'GET').toUpperCase();
    const res = await this.send(method, opts);
    const raw = await readAll(res, opts.signal);
    const body = decodeBody(res, raw);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw apiErrorFromResponse(status, body, { verb: method });
    return { status, headers: res.headers, body: body as T };
  }

  /** Opens a streaming GET (watch, logs…); rejects with ApiError on a non-2xx status before streaming. */
  async stream(opts: RequestOptions): Promise<RestStream> {
    const method = (opts.method ?? 'GET').toUpperCase();
    const res = await this.send(method, opts);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const raw = await readAll(res, opts.signal);
      throw apiErrorFromResponse(status, decodeBody(res, raw), { verb: method });
    }
    return openStream(res, opts.signal);
  }

  /** Builds the full URL of a path and query on this server. */
  url(path: string, query?: Query): URL {
    const u = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const e of v) u.searchParams.append(k, e);
      else u.searchParams.set(k, String(v));
    }
    return u;
  }

  /** Releases the keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private async send(method: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const url = this.url(opts.path, opts.query);
    const headers: Record<string, string | string[]> = { ...this.defaultHeaders, accept: opts.accept ?? 'application/json' };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      if (Buffer.isBuffer(opts.body)) payload = opts.body;
      else if (typeof opts.body === 'string') payload = Buffer.from(opts.body);
      else payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;

    for (let attempt = 0; ; attempt++) {
      opts.signal?.throwIfAborted();
      let res: http.IncomingMessage;
      try {
        res = await this.once(method, url, headers, payload, opts.signal);
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { reusedSocket?: boolean };
        const retryable = err.code !== undefined && connectionErrors.has(err.code) && (idempotent.has(method) || (err.reusedSocket === true && err.code === 'ECONNRESET'));
        if (!retryable || attempt >= this.maxRetries || opts.signal?.aborted) throw e;
        const wait = backoffDelay(attempt, { ...this.backoff, jitter: 0.2 });
        log.v(4).info('retrying after connection error', { method, path: opts.path, code: err.code, attempt, waitMs: wait });
        await clockSleep(this.clock, wait, { signal: opts.signal });
        continue;
      }
      const status = res.statusCode ?? 0;
      const retryAfter = retryAfterSeconds(res.headers['retry-after']);
      if ((status === 429 || (status >= 500 && retryAfter !== undefined)) && attempt < this.maxRetries) {
        // The server did not process the request, so any verb may be sent again.
        res.resume();
        const wait = Math.min(this.maxRetryAfterMs, retryAfter !== undefined ? retryAfter * 1000 : backoffDelay(attempt, { initialMs: 1000, maxMs: this.maxRetryAfterMs }));
        log.v(4).info('retrying after throttling', { method, path: opts.path, status, attempt, waitMs: wait });
        await clockSleep(this.clock, wait, { signal: opts.signal });
        continue;
      }
      return res;
    }
  }

  private once(method: string, url: URL, headers: Record<string, string | string[]>, payload: Buffer | undefined, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, signal }, resolve);
      req.on('error', (e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
        e.reusedSocket = req.reusedSocket;
        reject(e);
      });
      req.end(payload);
    });
  }
}

function retryAfterSeconds(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

async function readAll(res: http.IncomingMessage, signal: AbortSignal | undefined): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const c of res) parts.push(c as Buffer);
  } catch (e) {
    if (signal?.aborted) signal.throwIfAborted();
    throw e;
  }
  return Buffer.concat(parts);
}

function decodeBody(res: http.IncomingMessage, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  const ct = String(res.headers['content-type'] ?? '');
  if (ct.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status <= 299) throw new Error(`invalid JSON in the response (${ct}): ${text.slice(0, 100)}`);
      return text;
    }
  }
  return text;
}

function openStream(res: http.IncomingMessage, signal: AbortSignal | undefined): RestStream {
  let closed = false;
  const close = (): void => {
    closed = true;
    res.destroy();
  };
  const ended = (): boolean => closed || signal?.aborted === true;
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const c of res) yield c as Buffer;
    } catch (e) {
      if (ended()) return;
      throw e;
    } finally {
      res.destroy();
    }
  }
  async function* lines(): AsyncGenerator<string> {
    let buf = '';
    // A multi-byte character may straddle two chunks.
    const decoder = new StringDecoder('utf8');
    for await (const c of chunks()) {
      buf += decoder.write(c);
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        yield line;
      }
    }
    buf += decoder.end();
    if (buf !== '' && !ended()) yield buf;
  }
  return { status: res.statusCode ?? 0, headers: res.headers, lines, chunks, close };
}

export { ApiError };
