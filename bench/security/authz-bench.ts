// Authorization benchmark: throughput of authorized GETs by a token user with 1,000 RoleBindings in place (Node,RBAC)
// versus the same server configuration with authorization off (AlwaysAllow), both real `skiff server` processes on
// 127.0.0.1, measured in alternating rounds in one run. Prints a table beside the target of issue 9 (≥ 90 %).
//   node --import tsx bench/security/authz-bench.ts [--bindings 1000] [--clients 32] [--seconds 4] [--rounds 6]
import https from 'node:https';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
function arg(name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}
const BINDINGS = arg('bindings', 1000);
const CLIENTS = arg('clients', 32);
const SECONDS = arg('seconds', 4);
const ROUNDS = arg('rounds', 6);
const ROOT = resolve(import.meta.dirname, '..', '..');

interface Server { url: URL; dir: string; proc: ChildProcess; ca: string; cert: string; key: string; agent: https.Agent }

async function start(mode: string, tokens: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-authz-bench-'));
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'skiff'), 'server', '--port', '0', '--data-dir', dir, '--no-agent', '--max-requests-inflight', '10000', '--disable-controller-manager', '--disable-scheduler'], {
    stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, SKIFF_AUTHORIZATION_MODE: mode, SKIFF_TOKEN_AUTH_FILE: tokens },
  });
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    const t = setTimeout(() => fail(new Error('server did not start')), 20_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https?\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        ok(m[1]!);
      }
    });
  });
  const tls = join(dir, 'tls');
  const ca = readFileSync(join(tls, 'ca.crt'), 'utf8');
  return { url: new URL(url), dir, proc, ca, cert: readFileSync(join(tls, 'admin.crt'), 'utf8'), key: readFileSync(join(tls, 'admin.key'), 'utf8'), agent: new https.Agent({ keepAlive: true, maxSockets: CLIENTS + 8, ca }) };
}

function call(s: Server, method: string, path: string, opts: { body?: unknown; admin?: boolean } = {}): Promise<number> {
  return new Promise((ok, fail) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request({
      host: s.url.hostname, port: s.url.port, method, path, ca: s.ca,
      ...(opts.admin ? { cert: s.cert, key: s.key, agent: false } : { agent: s.agent, headers: { authorization: 'Bearer bench-token' } }),
      ...(body ? { headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } } : {}),
    }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end(body);
  });
}

async function seed(s: Server): Promise<void> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings';
  await call(s, 'POST', '/api/v1/namespaces/default/configmaps', { admin: true, body: { metadata: { name: 'bench-cm' }, data: { a: '1' } } });
  // The bench user's own grant is created last, behind the 1,000 others.
  for (let i = 0; i < BINDINGS; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, BINDINGS - i) }, (_, j) => call(s, 'POST', rbac, { admin: true, body: {
      metadata: { name: `rb-${i + j}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `user-${i + j}` }, { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: `group-${(i + j) % 100}` }],
    } })));
  }
  await call(s, 'POST', rbac, { admin: true, body: { metadata: { name: 'bench' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bench' }] } });
  for (let i = 0; i < 200; i++) {
    if ((await call(s, 'GET', '/api/v1/namespaces/default/configmaps/bench-cm')) === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the bench user never got access');
}

async function measure(s: Server): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let ok = 0;
  let bad = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < end) {
      const code = await call(s, 'GET', '/api/v1/namespaces/default/configmaps/bench-cm');
      if (code === 200) ok++;
      else bad++;
    }
  }));
  if (bad > 0) throw new Error(`${bad} GETs failed`);
  return ok / SECONDS;
}

const tokDir = mkdtempSync(join(tmpdir(), 'skiff-authz-tokens-'));
const tokens = join(tokDir, 'tokens.csv');
writeFileSync(tokens, 'bench-token,bench,bench-uid,bench-group\n');
const servers: Server[] = [];
try {
  const rbac = await start('Node,RBAC', tokens);
  servers.push(rbac);
  const off = await start('AlwaysAllow', tokens);
  servers.push(off);
  await Promise.all([seed(rbac), seed(off)]);
  await measure(rbac);
  await measure(off);
  const a: number[] = [];
  const b: number[] = [];
  // ABBA order, so that load from elsewhere on the machine falls on both sides alike.
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(await measure(rbac));
      b.push(await measure(off));
    } else {
      b.push(await measure(off));
      a.push(await measure(rbac));
    }
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ratio = med(a) / med(b);
  const rows: [string, string, string][] = [
    [`GET/s, Node,RBAC, ${BINDINGS} RoleBindings (median of ${ROUNDS})`, med(a).toFixed(0), ''],
    [`GET/s, AlwaysAllow (median of ${ROUNDS})`, med(b).toFixed(0), ''],
    ['RBAC / AlwaysAllow', `${(ratio * 100).toFixed(1)} %`, '≥ 90 %'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`${'measure'.padEnd(w)}  ${'value'.padStart(10)}  target\n`);
  for (const [k, v, t] of rows) process.stdout.write(`${k.padEnd(w)}  ${v.padStart(10)}  ${t}\n`);
  process.stdout.write(`(clients ${CLIENTS}, ${SECONDS} s per round; rounds: RBAC ${a.map((x) => x.toFixed(0)).join(', ')}; off ${b.map((x) => x.toFixed(0)).join(', ')})\n`);
} finally {
  for (const s of servers) {
    s.agent.destroy();
    s.proc.kill('SIGTERM');
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const s of servers) rmSync(s.dir, { recursive: true, force: true });
  rmSync(tokDir, { recursive: true, force: true });
}
