/**
 * Streaming through the API server to a real agent on the process runtime, driven by the real kubectl:
 * logs (-f, --tail, --previous), exec (exit codes, stdin), cp both ways, port-forward, run -i --rm, the resize
 * channel of a tty exec, and attach to a container adopted after an agent restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { parse as yamlParse } from 'yaml';
import { waitFor } from '../../src/base/wait.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { processesWith, startAgentCluster } from './agent-helpers.ts';

const marker = `skiff-stream-${process.pid}-${Date.now()}`;

function podYaml(name: string, script: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 2
${extra}  containers:
  - name: main
    image: debian
    command: ["sh", "-c", ${JSON.stringify(`# ${marker}\n${script}`)}]
`;
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

describe('agent streaming through the API server', { timeout: 180_000 }, () => {
  let c: AgentCluster;
  let work: string;

  before(async () => {
    c = await startAgentCluster({ backoff: { initialMs: 500, maxMs: 2000, resetAfterMs: 600_000 } });
    work = mkdtempSync(join(tmpdir(), 'skiff-stream-work-'));
  });

  after(async () => {
    await c?.stop();
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(processesWith(marker), [], 'no container process may be left behind');
  });

  async function running(name: string): Promise<void> {
    const r = await c.kubectl(['wait', '--for=condition=Ready', `pod/${name}`, '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
  }

  it('serves logs with --tail, --timestamps, --limit-bytes and -f', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], { input: podYaml('logger', 'for i in 1 2 3 4 5; do echo line-$i; done; echo to-stderr >&2; while true; do sleep 0.2; echo tick; done') });
    assert.equal(r.code, 0, r.stderr);
    await running('logger');
    await waitFor(async () => (await c.kubectl(['logs', 'logger'])).stdout.includes('tick'), { timeoutMs: 10_000, what: 'ticks' });
    const all = await c.kubectl(['logs', 'logger']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^line-1\nline-2\nline-3\nline-4\nline-5\nto-stderr\ntick\n/);
    const tail = await c.kubectl(['logs', 'logger', '--tail=2']);
    assert.equal(tail.stdout.split('\n').filter((l) => l !== '').length, 2);
    const ts = await c.kubectl(['logs', 'logger', '--tail=1', '--timestamps']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick\n$/);
    const limited = await c.kubectl(['logs', 'logger', '--limit-bytes=9']);
    assert.equal(limited.stdout, 'line-1\nli');
    // -f keeps streaming new lines until kubectl is stopped.
    const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'logs', '-f', 'logger', '--tail=0'], { env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => (out.match(/tick/g) ?? []).length >= 3, { timeoutMs: 10_000, what: 'followed ticks' });
    child.kill();
    assert.doesNotMatch(out, /line-1/);
  });

  it('serves --previous after a restart and reports the restart', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], { input: podYaml('crasher', 'echo run-$(date +%s%N); sleep 0.3; exit 3') });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => {
      const g = await c.kubectl(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      return Number(g.stdout) >= 1;
    }, { timeoutMs: 20_000, what: 'a restart' });
    const prev = await c.kubectl(['logs', 'crasher', '--previous']);
    assert.equal(prev.code, 0, prev.stderr);
    assert.match(prev.stdout, /^run-\d+\n$/);
    const st = JSON.parse((await c.kubectl(['get', 'pod', 'crasher', '-o', 'json'])).stdout) as { status: { containerStatuses: { lastState: { terminated?: { exitCode: number; reason: string } } }[] } };
    assert.equal(st.status.containerStatuses[0]!.lastState.terminated?.exitCode, 3);
    assert.equal(st.status.containerStatuses[0]!.lastState.terminated?.reason, 'Error');
    const none = await c.kubectl(['logs', 'logger', '--previous']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /previous terminated container "main" in pod "logger" not found/);
    await c.kubectl(['delete', 'pod', 'crasher', '--wait=false']);
  });

  it('runs exec with the command exit code and with stdin', async () => {
    const ok = await c.kubectl(['exec', 'logger', '--', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'out\n');
    assert.equal(ok.stderr, 'err\n');
    const bad = await c.kubectl(['exec', 'logger', '--', 'sh', '-c', 'exit 7']);
    assert.equal(bad.code, 7);
    assert.match(bad.stderr, /command terminated with exit code 7/);
    const withStdin = await c.kubectl(['exec', '-i', 'logger', '--', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello stdin\n' });
    assert.equal(withStdin.code, 0, withStdin.stderr);
    assert.equal(withStdin.stdout, 'HELLO STDIN\ndone\n');
    const env = await c.kubectl(['exec', 'logger', '--', 'sh', '-c', 'echo $HOSTNAME']);
    assert.equal(env.stdout, 'logger\n');
  });

  it('copies files both ways with kubectl cp', async () => {
    const src = join(work, 'up.txt');
    writeFileSync(src, 'uploaded content\n');
    const remoteDir = join(work, 'remote');
    mkdirSync(remoteDir);
    const up = await c.kubectl(['cp', src, `logger:${remoteDir}/up.txt`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(remoteDir, 'up.txt'), 'utf8'), 'uploaded content\n');
    writeFileSync(join(remoteDir, 'down.txt'), 'downloaded content\n');
    const dst = join(work, 'down.txt');
    const down = await c.kubectl(['cp', `logger:${remoteDir}/down.txt`, dst]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(dst, 'utf8'), 'downloaded content\n');
  });

  it('port-forwards to a process serving HTTP', async () => {
    const podPort = await freePort();
    const dir = join(work, 'www');
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.html'), 'hello from the pod\n');
    const r = await c.kubectl(['apply', '-f', '-'], { input: podYaml('web', `cd ${dir} && exec python3 -m http.server ${podPort} --bind 127.0.0.1`) });
    assert.equal(r.code, 0, r.stderr);
    await running('web');
    await waitFor(() => new Promise<boolean>((res) => {
      const s = net.connect(podPort, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    }), { timeoutMs: 15_000, what: 'the http server' });
    const localPort = await freePort();
    const pf = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/web', `${localPort}:${podPort}`], { env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home } });
    let pfOut = '';
    pf.stdout.on('data', (d: Buffer) => (pfOut += d.toString()));
    pf.stderr.on('data', (d: Buffer) => (pfOut += d.toString()));
    try {
      await waitFor(() => pfOut.includes('Forwarding from'), { timeoutMs: 15_000, what: `port-forward to start: ${pfOut}` });
      for (let i = 0; i < 2; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          http.get(`http://127.0.0.1:${localPort}/index.html`, (res) => {
            let b = '';
            res.on('data', (d: Buffer) => (b += d.toString()));
            res.on('end', () => resolve(b));
          }).on('error', reject);
        });
        assert.equal(body, 'hello from the pod\n');
      }
      assert.doesNotMatch(pfOut, /error|lost connection/i);
    } finally {
      pf.kill();
    }
  });

  it('completes kubectl run -i --rm (attach, terminal phase, delete)', async () => {
    const r = await c.kubectl([
      'run', 'once', '-i', '--rm', '--restart=Never', '--image=debian', `--overrides={"spec":{"nodeName":"node-1"}}`,
      '--', 'sh', '-c', `# ${marker}\nread line; echo got:$line`,
    ], { input: 'hello-attach\n', timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /got:hello-attach/);
    assert.match(r.stdout, /pod "once" deleted/);
  });

  it('resizes the terminal of a tty exec from the resize channel (stty size)', async () => {
    const front = (yamlParse(readFileSync(c.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    const url = `${front.replace(/^http/, 'ws')}/api/v1/namespaces/default/pods/logger/exec?command=sh&stdin=true&stdout=true&tty=true`;
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], { headers: { Authorization: 'Bearer skiff-admin' } });
    let out = '';
    let status = '';
    ws.on('message', (d: Buffer) => {
      if (d[0] === 1) out += d.subarray(1).toString();
      if (d[0] === 3) status += d.subarray(1).toString();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    const send = (ch: number, s: string): void => ws.send(Buffer.concat([Buffer.from([ch]), Buffer.from(s)]));
    send(4, JSON.stringify({ Width: 132, Height: 43 }));
    await waitFor(() => {
      send(0, 'stty size\n');
      return /^43 132\r?$/m.test(out);
    }, { timeoutMs: 20_000, intervalMs: 250, what: `stty size 43 132 (output so far: ${JSON.stringify(out.slice(-200))})` });
    send(0, 'exit 5\n');
    await closed;
    assert.match(status, /NonZeroExitCode/);
    assert.match(status, /"message":"5"/);
  });

  it('attaches to a container adopted after an agent restart', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], { input: podYaml('reader', 'read line; echo got:$line; sleep 600', '  restartPolicy: Never\n').replace('    command:', '    stdin: true\n    command:') });
    assert.equal(r.code, 0, r.stderr);
    await running('reader');
    await c.restartAgent();
    // The new agent has adopted the container (not restarted it) before the attach.
    await waitFor(async () => (await c.kubectl(['get', 'pod', 'reader', '-o', 'jsonpath={.status.phase}/{.status.containerStatuses[0].restartCount}'])).stdout === 'Running/0', { timeoutMs: 20_000, what: 'the adopted pod' });
    // kubectl attach -i: input reaches the container through the new agent, output comes back through it.
    const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'attach', '-i', 'reader', '-c', 'main'], { env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // Lines sent before the attach is wired up would be lost: resend until the container answers.
      await waitFor(() => {
        child.stdin.write('after-restart\n');
        return out.includes('got:after-restart');
      }, { timeoutMs: 20_000, intervalMs: 500, what: `attach output (so far: ${JSON.stringify(out)})` });
    } finally {
      child.kill();
    }
    const logs = await c.kubectl(['logs', 'reader']);
    assert.match(logs.stdout, /^got:after-restart\n/);
    await c.kubectl(['delete', 'pod', 'reader', '--wait=false']);
  });
});
