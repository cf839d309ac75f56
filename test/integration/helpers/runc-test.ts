/**
 * Helpers shared by the integration tests that run real runc pods: polling with their longer default, a free
 * loopback port, and a plain HTTP GET.
 */
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
