/** Request context and response helpers shared by the API server's handlers. */
import type http from 'node:http';
import type { ApiError } from './errors.ts';
import { tooLarge } from './errors.ts';

/** One request in flight. */
export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  method: string;
  /** process.hrtime.bigint() at arrival. */
  started: bigint;
}

/** Sends a JSON body (objects are serialised; strings and buffers are sent verbatim). */
export function sendJson(
  res: http.ServerResponse,
  code: number,
  body: unknown,
  opts: { contentType?: string; headers?: Record<string, string | string[]> } = {},
): void {
  const data = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': opts.contentType ?? 'application/json',
    'Content-Length': Buffer.byteLength(data),
    ...opts.headers,
  });
  res.end(data);
}

/** Sends an ApiError's Status with its code and headers. */
export function sendStatus(res: http.ServerResponse, err: ApiError): void {
  sendJson(res, err.code, err.status, { headers: err.headers });
}

/** Reads the whole request body, refusing more than `maxBytes` with 413. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge(`the request is too large: limit is ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > maxBytes) {
        failed = true;
        reject(tooLarge(`the request is too large: limit is ${maxBytes} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) {
        failed = true;
        reject(e);
      }
    });
  });
}
