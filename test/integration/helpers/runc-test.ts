/**
 * Helpers shared by the integration tests that run real runc pods: polling with their longer default, a free
 * loopback port, and a plain HTTP GET.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { waitFor as poll } from '../../../src/base/wait.ts';

/** waitFor with the runc tests' defaults (30 s, polled every 200 ms). */
export function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, o: { timeoutMs?: number; what: string | (() => string) }): Promise<T> {
  return poll(fn, { timeoutMs: o.timeoutMs ?? 30_000, intervalMs: 200, what: o.what }) as Promise<T>;
}

/** A free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** GETs `url` with a 3 s timeout and resolves with the body. */
export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A raw HTTP/1.1 response: status code (0 when there was none) and the body, de-chunked. */
export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses an HTTP/1.1 response as a client printed it (status line, headers, body; chunked bodies decoded). */
export function parseHttpResponse(text: string): RawHttpResponse {
  const m = /^HTTP\/1\.[01] (\d{3})[^\n]*\n/.exec(text);
  if (!m) return { status: 0, headers: {}, body: text };
  // Line ends may have lost their CR on the way through a container log.
  const blank = /\r?\n\r?\n/.exec(text);
  if (!blank) return { status: Number(m[1]), headers: {}, body: '' };
  const headers: Record<string, string> = {};
  for (const line of text.slice(m[0].length, blank.index).split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = text.slice(blank.index + blank[0].length);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let out = '';
    let rest = Buffer.from(body);
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const size = parseInt(rest.subarray(0, nl).toString().trim(), 16);
      if (!(size > 0)) break;
      out += rest.subarray(nl + 1, nl + 1 + size).toString();
      rest = rest.subarray(nl + 1 + size);
      rest = rest.subarray(rest[0] === 0x0d ? 2 : 1);
    }
    body = out;
  }
  return { status: Number(m[1]), headers, body };
}

/** One round of a pod's API calls, as printed by a script that writes `=== <n> wget`, `=== <n> raw`, `=== <n> end`. */
export interface ApiCall {
  round: number;
  /** What `wget -q -O-` printed: the body, or its error line. */
  wget: string;
  /** The raw response ssl_client printed. */
  raw: RawHttpResponse;
}

/** The complete rounds in a pod's log (see ApiCall); a round still being written is left out. */
export function apiCallLog(logs: string): ApiCall[] {
  const calls: ApiCall[] = [];
  const re = /^=== (\d+) wget\n([\s\S]*?)^=== \1 raw\n([\s\S]*?)^=== \1 end$/gm;
  for (const m of logs.matchAll(re)) {
    calls.push({ round: Number(m[1]), wget: m[2]!.trim(), raw: parseHttpResponse(m[3]!.replace(/\n$/, '')) });
  }
  return calls;
}

/** Removes the cgroups runc left under `parent` in every hierarchy (best effort: a test's last clean-up step). */
export function removeCgroups(parent: string): void {
  try {
    execFileSync('sh', ['-c', `for d in /sys/fs/cgroup/*/${parent}; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; ; done; true`]);
  } catch {
    // best effort
  }
}
