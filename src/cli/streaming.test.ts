import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CliContext } from './context.ts';
import { runRemoteCommand } from './streaming.ts';

// A stand-in for the API server's exec endpoint speaking v5.channel.k8s.io.
let wss: WebSocketServer;
let url: string;
const seen: { path?: string; protocol?: string; stdin: string; closedStdin: boolean } = { stdin: '', closedStdin: false };

before(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false) });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  wss.on('connection', (ws, req) => {
    seen.path = req.url;
    seen.protocol = ws.protocol;
    const q = new URL(req.url ?? '', 'http://x').searchParams;
    const code = Number(q.get('command') === 'fail' ? 3 : 0);
    ws.on('message', (d: Buffer) => {
      if (d[0] === 0) seen.stdin += d.subarray(1).toString();
      if (d[0] === 255 && d[1] === 0) {
        seen.closedStdin = true;
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`echo:${seen.stdin}`)]));
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }))]));
        ws.close();
      }
    });
    if (q.get('stdin') !== 'true') {
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('out\n')]));
      ws.send(Buffer.concat([Buffer.from([2]), Buffer.from('err\n')]));
      const status = code === 0 ? { metadata: {}, status: 'Success' } : { metadata: {}, status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } };
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
      ws.close();
    }
  });
});

after(() => new Promise<void>((r) => wss.close(() => r())));

function context(stdinText?: string): { ctx: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stdin = new PassThrough();
  if (stdinText !== undefined) stdin.end(stdinText);
  const ctx = new CliContext({ server: url }, {
    stdout: { write: (s: string | Uint8Array) => (out += Buffer.from(s).toString()) },
    stderr: { write: (s: string | Uint8Array) => (err += Buffer.from(s).toString()) },
    stdin,
    env: { HOME: '/nonexistent' },
  });
  return { ctx, out: () => out, err: () => err };
}

describe('runRemoteCommand', () => {
  it('demultiplexes stdout and stderr and returns 0 on Success', async () => {
    const c = context();
    const code = await runRemoteCommand(c.ctx, '/api/v1/namespaces/d/pods/p/exec', [['command', 'ok'], ['stdout', 'true'], ['stderr', 'true']], { stdin: false, tty: false, stderr: true });
    assert.equal(code, 0);
    assert.equal(c.out(), 'out\n');
    assert.equal(c.err(), 'err\n');
    assert.equal(seen.protocol, 'v5.channel.k8s.io');
    assert.equal(seen.path, '/api/v1/namespaces/d/pods/p/exec?command=ok&stdout=true&stderr=true');
  });

  it('exits with the remote command\'s code, worded as kubectl', async () => {
    const c = context();
    const code = await runRemoteCommand(c.ctx, '/x/exec', [['command', 'fail']], { stdin: false, tty: false, stderr: true });
    assert.equal(code, 3);
    assert.equal(c.err(), 'err\ncommand terminated with exit code 3\n');
  });

  it('sends stdin on channel 0 and closes it with [255, 0]', async () => {
    const c = context('hello');
    const code = await runRemoteCommand(c.ctx, '/x/exec', [['command', 'cat'], ['stdin', 'true']], { stdin: true, tty: false, stderr: true });
    assert.equal(code, 0);
    assert.equal(seen.stdin, 'hello');
    assert.equal(seen.closedStdin, true);
    assert.equal(c.out(), 'echo:hello');
  });
});
