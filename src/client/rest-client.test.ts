import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestClient } from './rest-client.ts';
import { ApiError, isAlreadyExists, isConflict, isGone, isNotFound, isTooManyRequests } from './api-error.ts';

/** A tiny scripted server: each test sets `handler`. */
let handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void = (_q, _b, res) => res.end();
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => handler(req, Buffer.concat(parts).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function json(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

test('request sends auth, impersonation, query and JSON body; parses JSON', async () => {
  let seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
  handler = (req, body, res) => {
    seen = { method: req.method, url: req.url, headers: req.headers, body };
    json(res, 201, { ok: true, echo: JSON.parse(body) as unknown });
  };
  const c = new RestClient({ server: base, namespace: 'default', token: 'sekret', impersonateUser: 'jane', impersonateGroups: ['a', 'b'] });
  try {
    const r = await c.request<{ ok: boolean; echo: unknown }>({
      method: 'POST',
      path: '/api/v1/namespaces/default/configmaps',
      query: { fieldManager: 'me', dryRun: ['All'], skip: undefined, pretty: false },
      body: { metadata: { name: 'x' } },
    });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, { ok: true, echo: { metadata: { name: 'x' } } });
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/api/v1/namespaces/default/configmaps?fieldManager=me&dryRun=All&pretty=false');
    assert.equal(seen.headers?.['authorization'], 'Bearer sekret');
    assert.equal(seen.headers?.['content-type'], 'application/json');
    assert.equal(seen.headers?.['impersonate-user'], 'jane');
    assert.equal(seen.headers?.['impersonate-group'], 'a, b');
    assert.match(String(seen.headers?.['user-agent']), /^skiff\//);
  } finally {
    c.close();
  }
});

test('non-JSON bodies come back as text; basic auth header', async () => {
  let auth: string | undefined;
  handler = (req, _b, res) => {
    auth = req.headers['authorization'];
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello logs');
  };
  const c = new RestClient({ server: base, namespace: 'default', username: 'u', password: 'p' });
  try {
    const r = await c.request({ path: '/api/v1/namespaces/default/pods/x/log' });
    assert.equal(r.body, 'hello logs');
    assert.equal(auth, `Basic ${Buffer.from('u:p').toString('base64')}`);
  } finally {
    c.close();
  }
});

test('errors carry the server Status; non-Status errors are worded as client-go', async () => {
  const c = new RestClient({ server: base, namespace: 'default' });
  try {
    handler = (_q, _b, res) =>
      json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods "web" not found', reason: 'NotFound', code: 404, details: { name: 'web', kind: 'pods' } });
    const e = await c.request({ path: '/api/v1/namespaces/default/pods/web' }).catch((x: unknown) => x);
    assert.ok(e instanceof ApiError);
    assert.equal(e.message, 'pods "web" not found');
    assert.equal(e.code, 404);
    assert.equal(e.reason, 'NotFound');
    assert.equal(e.details?.name, 'web');
    assert.ok(isNotFound(e));

    handler = (_q, _b, res) => {
      res.writeHead(409, { 'content-type': 'text/plain' });
      res.end('nope');
    };
    const post = await c.request({ method: 'POST', path: '/x', body: {} }).catch((x: unknown) => x);
    assert.ok(isAlreadyExists(post));
    const put = await c.request({ method: 'PUT', path: '/x', body: {} }).catch((x: unknown) => x);
    assert.ok(isConflict(put));
    assert.equal((put as ApiError).message, 'the server reported a conflict');

    handler = (_q, _b, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
    };
    const ise = await c.request({ path: '/x' }).catch((x: unknown) => x);
    assert.equal((ise as ApiError).message, 'an error on the server ("boom") has prevented the request from succeeding');
    assert.equal((ise as ApiError).reason, 'InternalError');
  } finally {
    c.close();
  }
});

test('429 is retried honouring a bounded Retry-After, for any verb', async () => {
  let calls = 0;
  handler = (_q, _b, res) => {
    calls++;
    if (calls < 3) json(res, 429, { kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }, { 'retry-after': '3600' });
    else json(res, 201, { done: calls });
  };
  const c = new RestClient({ server: base, namespace: 'default' }, { maxRetryAfterMs: 5 });
  try {
    const t0 = Date.now();
    const r = await c.request({ method: 'POST', path: '/x', body: {} });
    assert.deepEqual(r.body, { done: 3 });
    assert.ok(Date.now() - t0 < 3000, 'Retry-After is capped');
    calls = -100;
    const c2 = new RestClient({ server: base, namespace: 'default' }, { maxRetryAfterMs: 1, maxRetries: 2 });
    const e = await c2.request({ path: '/x' }).catch((x: unknown) => x);
    c2.close();
    assert.ok(isTooManyRequests(e));
    assert.equal(calls, -97, 'one try plus two retries');
  } finally {
    c.close();
  }
});

test('connection errors are retried for GET but not for POST', async () => {
  let calls = 0;
  handler = (req, _b, res) => {
    calls++;
    if (calls === 1) {
      req.socket.destroy();
      return;
    }
    json(res, 200, { calls });
  };
  const c = new RestClient({ server: base, namespace: 'default' }, { backoff: { initialMs: 1, maxMs: 5 } });
  try {
    const r = await c.request<{ calls: number }>({ path: '/x' });
    assert.equal(r.body.calls, 2);
    calls = 0;
    // A fresh client so the socket is not a reused keep-alive one (that case Node deems safe to retry).
    const fresh = new RestClient({ server: base, namespace: 'default' }, { backoff: { initialMs: 1, maxMs: 5 } });
    const e = await fresh.request({ method: 'POST', path: '/x', body: {} }).catch((x: unknown) => x);
    fresh.close();
    assert.equal((e as NodeJS.ErrnoException).code, 'ECONNRESET');
    assert.equal(calls, 1);
  } finally {
    c.close();
  }
});

test('stream yields lines across chunk boundaries and ends quietly on abort', async () => {
  let open: http.ServerResponse | undefined;
  handler = (_q, _b, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"a":1}\n{"b":');
    setImmediate(() => res.write('2}\n{"é":3'));
    setImmediate(() => res.write('}\n'));
    open = res;
  };
  const c = new RestClient({ server: base, namespace: 'default' });
  const ac = new AbortController();
  try {
    const s = await c.stream({ path: '/w', query: { watch: true }, signal: ac.signal });
    assert.equal(s.status, 200);
    const got: string[] = [];
    for await (const line of s.lines()) {
      got.push(line);
      if (got.length === 3) ac.abort();
    }
    assert.deepEqual(got, ['{"a":1}', '{"b":2}', '{"é":3}']);
    open?.end();

    handler = (_q, _b, res) => json(res, 410, { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' });
    const e = await c.stream({ path: '/w' }).catch((x: unknown) => x);
    assert.ok(isGone(e));

    handler = (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setImmediate(() => res.end(' tail'));
    };
    const logs = await c.stream({ path: '/log' });
    const text: string[] = [];
    for await (const chunk of logs.chunks()) text.push(chunk.toString());
    assert.equal(text.join(''), 'partial tail');
  } finally {
    c.close();
  }
});

test('close() ends a stream without error', async () => {
  handler = (_q, _b, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"x":1}\n');
  };
  const c = new RestClient({ server: base, namespace: 'default' });
  try {
    const s = await c.stream({ path: '/w' });
    const got: string[] = [];
    for await (const line of s.lines()) {
      got.push(line);
      s.close();
    }
    assert.deepEqual(got, ['{"x":1}']);
  } finally {
    c.close();
  }
});
