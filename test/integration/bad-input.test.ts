// Bad input over the API: every case gets a Status with upstream's code and reason, nothing is half-written,
// and a fuzz run of random and mutated requests never produces a 5xx or a crash.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminFetch, startServer } from './helpers/cluster.ts';
import type { TestServer } from './helpers/cluster.ts';

interface Reply { status: number; json: Record<string, unknown>; headers: Headers }

async function send(server: TestServer, method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await adminFetch(server, path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json, headers: res.headers };
}

const CM = '/api/v1/namespaces/default/configmaps';
const JSON_CT = { 'Content-Type': 'application/json' };

describe('bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--max-requests-inflight', '4'] });
  });
  after(async () => {
    await server?.stop();
  });

  async function count(): Promise<number> {
    const r = await send(server, 'GET', CM);
    return (r.json.items as unknown[]).length;
  }

  it('malformed JSON and YAML are 400 naming the problem', async () => {
    const before = await count();
    const j = await send(server, 'POST', CM, '{"metadata": {"name": "x",}', JSON_CT);
    assert.equal(j.status, 400);
    assert.equal(j.json.kind, 'Status');
    assert.equal(j.json.reason, 'BadRequest');
    assert.match(String(j.json.message), /JSON/);
    const y = await send(server, 'POST', CM, 'metadata:\n  name: [x\n', { 'Content-Type': 'application/yaml' });
    assert.equal(y.status, 400);
    assert.match(String(y.json.message), /yaml/i);
    const arr = await send(server, 'POST', CM, '[1,2]', JSON_CT);
    assert.equal(arr.status, 400);
    assert.equal(await count(), before);
  });

  it('a kind, apiVersion or namespace that does not match the URL is 400', async () => {
    const kind = await send(server, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' } }), JSON_CT);
    assert.equal(kind.status, 400);
    assert.match(String(kind.json.message), /kind in the data \(Secret\) does not match the expected kind \(ConfigMap\)/);
    const av = await send(server, 'POST', CM, JSON.stringify({ apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'k' } }), JSON_CT);
    assert.equal(av.status, 400);
    const ns = await send(server, 'POST', CM, JSON.stringify({ metadata: { name: 'k', namespace: 'kube-system' } }), JSON_CT);
    assert.equal(ns.status, 400);
    assert.equal(ns.json.message, 'the namespace of the provided object does not match the namespace sent on the request');
    const name = await send(server, 'PUT', `${CM}/a`, JSON.stringify({ metadata: { name: 'b' } }), JSON_CT);
    assert.equal(name.status, 400);
    assert.equal((await send(server, 'GET', `${CM}/k`)).status, 404);
  });

  it('bodies over 3 MiB are 413 and objects over 1.5 MiB are refused', async () => {
    const huge = JSON.stringify({ metadata: { name: 'huge' }, data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    const h = await send(server, 'POST', CM, huge, JSON_CT);
    assert.equal(h.status, 413);
    assert.equal(h.json.reason, 'RequestEntityTooLarge');
    const big = JSON.stringify({ metadata: { name: 'big' }, binaryData: { a: Buffer.alloc(1_200_000).toString('base64') } });
    const b = await send(server, 'POST', CM, big, JSON_CT);
    assert.ok(b.status === 413 || b.status === 422, `status ${b.status}: ${JSON.stringify(b.json).slice(0, 200)}`);
    assert.equal((await send(server, 'GET', `${CM}/big`)).status, 404);
    assert.equal((await send(server, 'GET', `${CM}/huge`)).status, 404);
  });

  it('invalid names and values are 422 with causes', async () => {
    const r = await send(server, 'POST', CM, JSON.stringify({ metadata: { name: 'Not_Valid' } }), JSON_CT);
    assert.equal(r.status, 422);
    assert.equal(r.json.reason, 'Invalid');
    assert.match(String(r.json.message), /^ConfigMap "Not_Valid" is invalid: metadata\.name: Invalid value: "Not_Valid": a lowercase RFC 1123 subdomain/);
    const causes = (r.json.details as { causes: { reason: string; field: string }[] }).causes;
    assert.equal(causes[0]!.reason, 'FieldValueInvalid');
    assert.equal(causes[0]!.field, 'metadata.name');
    const d = await send(server, 'POST', '/apis/apps/v1/namespaces/default/deployments', JSON.stringify({
      metadata: { name: 'd' }, spec: { replicas: -1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'c' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    }), JSON_CT);
    assert.equal(d.status, 422);
    assert.match(String(d.json.message), /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
    assert.match(String(d.json.message), /`selector` does not match template `labels`/);
  });

  it('unsupported media types are 415 and unknown resources 404', async () => {
    const m = await send(server, 'POST', CM, 'x', { 'Content-Type': 'text/plain' });
    assert.equal(m.status, 415);
    assert.equal(m.json.reason, 'UnsupportedMediaType');
    const p = await send(server, 'PATCH', `${CM}/x`, '{}', { 'Content-Type': 'application/xml' });
    assert.equal(p.status, 415);
    const u = await send(server, 'GET', '/api/v1/namespaces/default/flurbs');
    assert.equal(u.status, 404);
    assert.equal(u.json.reason, 'NotFound');
    const g = await send(server, 'GET', '/apis/nope.example.com/v1');
    assert.equal(g.status, 404);
  });

  it('a stale resourceVersion is a 409 and the stored object is untouched', async () => {
    const c = await send(server, 'POST', CM, JSON.stringify({ metadata: { name: 'rv' }, data: { a: '1' } }), JSON_CT);
    assert.equal(c.status, 201);
    const obj = c.json as { metadata: { resourceVersion: string }; data: Record<string, string> };
    const u1 = await send(server, 'PUT', `${CM}/rv`, JSON.stringify({ ...obj, data: { a: '2' } }), JSON_CT);
    assert.equal(u1.status, 200);
    const u2 = await send(server, 'PUT', `${CM}/rv`, JSON.stringify({ ...obj, data: { a: '3' } }), JSON_CT);
    assert.equal(u2.status, 409);
    assert.equal(u2.json.reason, 'Conflict');
    const g = await send(server, 'GET', `${CM}/rv`);
    assert.equal((g.json.data as Record<string, string>).a, '2');
    const w = await send(server, 'GET', `${CM}?watch=true&resourceVersion=abc`);
    assert.equal(w.status, 400);
  });

  it('too many requests in flight are 429 with Retry-After', async () => {
    // Lists waiting for a future resourceVersion hold their in-flight slot for up to 3 s (then 504).
    const holders = Array.from({ length: 4 }, () => send(server, 'GET', `${CM}?resourceVersion=99999999`));
    await new Promise((r) => setTimeout(r, 300));
    const limited = await send(server, 'GET', CM);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal(limited.json.reason, 'TooManyRequests');
    const held = await Promise.all(holders);
    assert.deepEqual(held.map((r) => r.status), [504, 504, 504, 504]);
    assert.match(String(held[0]!.json.message), /Too large resource version/);
    const ok = await send(server, 'GET', CM);
    assert.equal(ok.status, 200);
  });

  it('survives thousands of random and mutated requests without a 5xx', async () => {
    const valid = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fuzz', labels: { a: 'b' } }, data: { k: 'v' } });
    const paths = [CM, `${CM}/fuzz`, '/api/v1/namespaces/default/pods', '/apis/apps/v1/namespaces/default/deployments',
      '/api/v1/namespaces', '/api/v1/nodes', `${CM}?labelSelector=a%20in%20(`, `${CM}?fieldSelector=x`, `${CM}?limit=-1`,
      `${CM}?continue=zzz`, `${CM}?resourceVersion=99999999&resourceVersionMatch=Exact`, '/api/v1/namespaces/default/pods/x/status'];
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
    const cts = ['application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json',
      'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/vnd.kubernetes.protobuf', '', 'text/html'];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const mutate = (s: string): string => {
      const b = Buffer.from(s);
      const n = 1 + rnd(4);
      for (let i = 0; i < n; i++) {
        const op = rnd(3);
        const at = rnd(b.length);
        if (op === 0) b[at] = rnd(256);
        else if (op === 1) return b.subarray(0, at).toString('latin1');
      }
      return b.toString('latin1');
    };
    const bodies = (): string | Uint8Array => {
      switch (rnd(6)) {
        case 0: return valid;
        case 1: return mutate(valid);
        case 2: return Buffer.from(Array.from({ length: rnd(200) }, () => rnd(256)));
        case 3: return JSON.stringify({ metadata: { name: 'f' + rnd(1000), labels: { 'bad key!': 'v' } }, data: [1, 2] });
        case 4: return `[{"op":"replace","path":"/data/${rnd(3)}","value":${rnd(9)}}]`;
        default: return Buffer.concat([Buffer.from('k8s\0'), Buffer.from(Array.from({ length: rnd(100) }, () => rnd(256)))]);
      }
    };
    const serverErrors: string[] = [];
    for (let round = 0; round < 40; round++) {
      const batch = Array.from({ length: 50 }, async () => {
        const method = methods[rnd(methods.length)]!;
        const path = paths[rnd(paths.length)]!;
        const ct = cts[rnd(cts.length)]!;
        const headers: Record<string, string> = ct ? { 'Content-Type': ct } : {};
        if (rnd(4) === 0) headers.Accept = ['application/json;as=Table;v=v1;g=meta.k8s.io', 'text/html', '*/*', 'application/yaml'][rnd(4)]!;
        const body = method === 'GET' ? undefined : bodies();
        try {
          const r = await send(server, method, path, body, headers);
          if (r.status >= 500) serverErrors.push(`${method} ${path} ${ct} → ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
        } catch (e) {
          serverErrors.push(`${method} ${path} → ${String(e)}`);
        }
      });
      await Promise.all(batch);
    }
    assert.deepEqual(serverErrors, []);
    const health = await adminFetch(server, '/readyz');
    assert.equal(health.status, 200);
    assert.equal(server.proc.exitCode, null);
  });
});
