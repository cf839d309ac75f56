/**
 * The skiff CLI's streaming verbs against a real server and agent (process runtime), side by side with the real
 * kubectl on the same cluster: `cp` both ways (directories, symlinks, -c, namespace/pod:path, --no-preserve,
 * errors), `run -i --rm --restart=Never` (stdin, exit code, deletion), and `port-forward` to a pod and through a
 * service's named targetPort, fetching over the forwarded port.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/base/wait.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { processesWith, startAgentCluster } from './agent-helpers.ts';
import type { BuiltCli, Skiff } from './cli-helpers.ts';
import { buildCli, skiffFor } from './cli-helpers.ts';

const marker = `skiff-cli-stream-${process.pid}-${Date.now()}`;
const nodePin = '--overrides={"spec":{"nodeName":"node-1"}}';

/** A listing of a tree: relative path, kind, permission bits, content or link target. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${r}/ ${(st.mode & 0o777).toString(8)}`);
        walk(p, r);
      } else out.push(`${r} ${(st.mode & 0o777).toString(8)} ${JSON.stringify(readFileSync(p, 'utf8'))}`);
    }
  };
  walk(root, '');
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

describe('skiff streaming verbs (cp, run -i --rm, port-forward) beside kubectl', { timeout: 240_000 }, () => {
  let c: AgentCluster;
  let cli: BuiltCli;
  let skiff: Skiff;
  let work: string;
  const children: ChildProcess[] = [];

  before(async () => {
    [c, cli] = await Promise.all([startAgentCluster({ backoff: { initialMs: 500, maxMs: 2000, resetAfterMs: 600_000 } }), buildCli()]);
    skiff = skiffFor(cli, { kubeconfig: c.kubeconfig });
    work = mkdtempSync(join(tmpdir(), 'skiff-cli-stream-'));
    const pods = `apiVersion: v1
kind: Pod
metadata:
  name: box
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: debian
    command: ["sh", "-c", ${JSON.stringify(`# ${marker}\nwhile true; do sleep 1; done`)}]
  - name: side
    image: debian
    command: ["sh", "-c", ${JSON.stringify(`# ${marker}\nwhile true; do sleep 1; done`)}]
`;
    const r = await c.kubectl(['apply', '-f', '-'], { input: pods });
    assert.equal(r.code, 0, r.stderr);
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/box', '--timeout=60s']);
    assert.equal(w.code, 0, w.stderr);
  });

  after(async () => {
    for (const ch of children) if (ch.exitCode === null) ch.kill();
    await c?.stop();
    skiff?.cleanup();
    cli?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
    assert.deepEqual(processesWith(marker), [], 'no container process may be left behind');
  });

  function source(): string {
    const src = join(work, 'src');
    rmSync(src, { recursive: true, force: true });
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(src, 'empty'));
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    chmodSync(join(src, 'a.txt'), 0o600);
    writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(src, 'run.sh'), 0o755);
    writeFileSync(join(src, 'sub', 'deeper', 'b.txt'), 'beta '.repeat(50_000));
    symlinkSync('a.txt', join(src, 'link'));
    return src;
  }

  it('copies a directory and a file into a pod as kubectl does (new path, existing directory, -c, --no-preserve)', async () => {
    const src = source();
    for (const [tool, run] of [['kubectl', c.kubectl], ['skiff', skiff]] as const) {
      const base = join(work, `up-${tool}`);
      mkdirSync(join(base, 'existing'), { recursive: true });
      const cases: string[][] = [
        [src, `box:${base}/newdir`],
        [src, `box:${base}/existing`],
        [`${src}/a.txt`, `box:${base}/existing`],
        ['-c', 'side', `${src}/a.txt`, `default/box:${base}/renamed.txt`],
        ['--no-preserve', `${src}/run.sh`, `box:${base}/np.sh`],
      ];
      for (const args of cases) {
        const r = await run(['cp', ...args]);
        assert.equal(r.code, 0, `${tool} cp ${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, '', `${tool} stdout`);
        const defaulted = args.includes('-c') ? '' : 'Defaulted container "main" out of: main, side\n';
        assert.equal(r.stderr, defaulted, `${tool} cp ${args.join(' ')} stderr`);
      }
    }
    const expected = tree(join(work, 'up-kubectl'));
    assert.ok(expected.some((l) => l.startsWith('newdir/sub/deeper/b.txt ')), expected.join('\n'));
    assert.ok(expected.includes('existing/src/link -> a.txt'), expected.join('\n'));
    assert.deepEqual(tree(join(work, 'up-skiff')), expected);
  });

  it('copies from a pod as kubectl does (directories, files, symlinks skipped with the warning)', async () => {
    const src = source();
    for (const [tool, run] of [['kubectl', c.kubectl], ['skiff', skiff]] as const) {
      const base = join(work, `down-${tool}`);
      mkdirSync(base, { recursive: true });
      const dir = await run(['cp', `box:${src}`, `${base}/dir`]);
      assert.equal(dir.code, 0, dir.stderr);
      const warning = `warning: skipping symlink: ${JSON.stringify(`${base}/dir/link`)} -> "a.txt" (consider using "${tool} exec -n "" "box" -- tar cf - ${JSON.stringify(src)} | tar xf -")\n`;
      assert.equal(dir.stderr, warning, `${tool} stderr`);
      // kubectl prints the remote tar's stderr on stdout, racing its own exit: skiff waits for it.
      const remoteStdout = 'Defaulted container "main" out of: main, side\ntar: Removing leading `/\' from member names\n';
      if (tool === 'skiff') assert.equal(dir.stdout, remoteStdout);
      else assert.ok(remoteStdout.startsWith(dir.stdout), dir.stdout);
      const file = await run(['cp', '-c', 'main', `default/box:${src}/sub/deeper/b.txt`, `${base}/b-copy.txt`]);
      assert.equal(file.code, 0, file.stderr);
      assert.equal(file.stderr, '');
    }
    const expected = tree(join(work, 'down-kubectl'));
    assert.ok(expected.some((l) => l.startsWith('dir/sub/deeper/b.txt ')), expected.join('\n'));
    assert.ok(!expected.some((l) => l.startsWith('dir/link')), 'symlinks are skipped');
    assert.deepEqual(tree(join(work, 'down-skiff')), expected);
  });

  it('fails as kubectl does on bad specs, missing files, unknown pods and containers, and remote tar errors', async () => {
    const src = source();
    const cases: string[][] = [
      ['cp', 'onlyone'],
      ['cp', ':x', 'y'],
      ['cp', 'a/b/c:x', 'y'],
      ['cp', 'x', 'y'],
      ['cp', 'box:/x', 'box:/y'],
      ['cp', 'box:', 'y'],
      ['cp', `${work}/nope.txt`, 'box:/tmp'],
      ['cp', `nobox:${src}/a.txt`, `${work}/x`],
      ['cp', '-c', 'nope', `${src}/a.txt`, `box:${work}/x`],
      ['cp', `${src}/a.txt`, `box:${work}/no/such/dir/a.txt`],
      ['cp', `box:${src}/a.txt`, `${work}/`],
      ['cp', `box:${src}`, `${src}/a.txt`],
    ];
    for (const args of cases) {
      const k = await c.kubectl(args);
      const s = await skiff(args);
      assert.notEqual(k.code, 0, `kubectl ${args.join(' ')} should fail`);
      assert.deepEqual({ code: s.code, stderr: s.stderr }, { code: k.code, stderr: k.stderr }, `skiff ${args.join(' ')}`);
      for (const line of k.stdout.split('\n').filter((l) => l !== '')) assert.ok(s.stdout.includes(`${line}\n`), `kubectl's stdout line ${line}`);
    }
    // A missing remote file: tar's complaint (kubectl sends it to stdout, racing its own exit) and success.
    const missing = ['cp', `box:${src}/nope.txt`, `${work}/nope-copy.txt`];
    const k = await c.kubectl(missing);
    const s = await skiff(missing);
    assert.equal(k.code, 0);
    assert.equal(s.code, 0);
    assert.match(s.stdout, /tar: .*nope\.txt: Cannot stat: No such file or directory\n/);
    for (const line of k.stdout.split('\n').filter((l) => l !== '')) assert.ok(s.stdout.includes(`${line}\n`), `kubectl's line ${line}`);
  });

  it('runs -i --rm --restart=Never: stdin in, output out, the container exit code, and the pod deleted', async () => {
    for (const [exit, tool, run] of [[0, 'kubectl', c.kubectl], [0, 'skiff', skiff], [3, 'kubectl', c.kubectl], [3, 'skiff', skiff]] as const) {
      const name = `once-${tool}-${exit}`;
      const r = await run(['run', name, '-i', '--rm', '--restart=Never', '--image=debian', nodePin, '--', 'sh', '-c', `# ${marker}\nread line; echo got:$line; echo to-stderr >&2; exit ${exit}`], { input: 'hello-attach\n', timeoutMs: 90_000 });
      assert.equal(r.code, exit, `${tool}: ${r.stderr}`);
      assert.equal(r.stdout, `got:hello-attach\npod "${name}" deleted\n`, tool);
      const failure = exit === 0 ? '' : `pod default/${name} terminated (Error)\n`;
      assert.equal(r.stderr, `If you don't see a command prompt, try pressing enter.\nto-stderr\n${failure}`, tool);
      const gone = await c.kubectl(['get', 'pod', name, '--ignore-not-found', '-o', 'name']);
      assert.equal(gone.stdout, '', `${tool}: the pod is deleted`);
    }
    const kept = await skiff(['run', 'kept', '-i', '--restart=Never', '--image=debian', nodePin, '--', 'sh', '-c', `# ${marker}\ncat`], { input: 'piped\n', timeoutMs: 90_000 });
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout, 'piped\n');
    const phase = await c.kubectl(['get', 'pod', 'kept', '-o', 'jsonpath={.status.phase}']);
    assert.equal(phase.stdout, 'Succeeded');
    for (const args of [['run', 'x', '--image=debian', '--rm'], ['run', 'x', '--image=debian', '-t'], ['run', 'x', '--image=debian', '-i', '--dry-run=client'], ['run', 'x', '--image=debian', '--restart=Sometimes']]) {
      const k = await c.kubectl(args);
      const s = await skiff(args);
      assert.deepEqual(s, k, args.join(' '));
    }
  });

  it('port-forwards to a pod and through a service (named targetPort), serving HTTP through the local port', async () => {
    const podPort = await freePort();
    const www = join(work, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'index.html'), 'hello from the pod\n');
    const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: debian
    ports: [{name: http, containerPort: ${podPort}}]
    command: ["sh", "-c", ${JSON.stringify(`# ${marker}\ncd ${www} && exec python3 -m http.server ${podPort} --bind 127.0.0.1`)}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{name: web, port: 80, targetPort: http}]
`;
    const r = await c.kubectl(['apply', '-f', '-'], { input: manifest });
    assert.equal(r.code, 0, r.stderr);
    const w = await c.kubectl(['wait', '--for=condition=Ready', 'pod/web', '--timeout=60s']);
    assert.equal(w.code, 0, w.stderr);
    await waitFor(() => new Promise<boolean>((res) => {
      const s = net.connect(podPort, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    }), { timeoutMs: 20_000, what: 'the http server' });
    for (const [target, remote] of [['pod/web', String(podPort)], ['svc/web', '80'], ['svc/web', 'web'], ['web', 'http']] as const) {
      const local = await freePort();
      const pf = spawn(process.execPath, [cli.entry, '--kubeconfig', c.kubeconfig, 'port-forward', target, `${local}:${remote}`], { env: { PATH: process.env['PATH'] ?? '', HOME: skiff.home } });
      children.push(pf);
      let out = '';
      pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
      pf.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        await waitFor(() => out.includes('Forwarding from [::1]') || out.includes('error'), { timeoutMs: 20_000, what: `port-forward ${target} to start: ${out}` });
        assert.match(out, new RegExp(`^Forwarding from 127\\.0\\.0\\.1:${local} -> ${podPort}\nForwarding from \\[::1\\]:${local} -> ${podPort}\n`), target);
        for (let i = 0; i < 2; i++) assert.equal(await fetchText(`http://127.0.0.1:${local}/index.html`), 'hello from the pod\n', target);
        await waitFor(() => (out.match(/Handling connection for/g) ?? []).length >= 2, { timeoutMs: 5_000, what: 'connection lines' });
        assert.equal(out.split('\n').filter((l) => l.startsWith('Handling connection for ')).every((l) => l === `Handling connection for ${local}`), true, out);
      } finally {
        pf.kill('SIGTERM');
      }
      await waitFor(() => pf.exitCode !== null || pf.signalCode !== null, { timeoutMs: 10_000, what: 'port-forward to stop' });
    }
    for (const args of [['port-forward', 'svc/web', '81'], ['port-forward', 'svc/web', 'nope'], ['port-forward', 'pod/web', 'nope'], ['port-forward', 'pod/web', 'abc:80'], ['port-forward', 'pod/web', '70000'], ['port-forward', 'pod/web', '0']]) {
      const k = await c.kubectl(args);
      const s = await skiff(args);
      assert.notEqual(k.code, 0, args.join(' '));
      assert.deepEqual({ code: s.code, stderr: s.stderr }, { code: k.code, stderr: k.stderr }, args.join(' '));
    }
  });
});
