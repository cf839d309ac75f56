import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from './etcd-process.ts';
import { GrpcCallError, GrpcClientClosedError, GrpcStatus, GrpcUnaryClient } from './grpc-unary.ts';

/** A gRPC message with its 5-byte prefix. */
function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

/** A tiny gRPC server: /t/Echo echoes the message reversed, /t/Fail answers trailers-only, /t/Hang never answers. */
async function startServer(): Promise<{ server: http2.Http2Server; url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    paths.push(path);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const req = Buffer.concat(chunks);
      if (path === '/t/Echo') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame(Buffer.from(req.subarray(5)).reverse()));
      } else if (path === '/t/Fail') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '9', 'grpc-message': 'etcdserver%3A mvcc: 100%25 wrong' }, { endStream: true });
      }
      // /t/Hang: no answer at all
    });
    stream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return { server, url: `127.0.0.1:${addr.port}`, paths };
}

async function stopServer(server: http2.Http2Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('GrpcUnaryClient', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await stopServer(srv.server);
  });

  it('sends one framed message and resolves with the answer, for 50 concurrent calls and for a 3 MiB message', async () => {
    const c = new GrpcUnaryClient([srv.url]);
    try {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => c.call('/t/Echo', frame(Buffer.from(`abc${i}`)), { timeoutMs: 10_000 })),
      );
      answers.forEach((a, i) => assert.equal(a.toString(), `abc${i}`.split('').reverse().join('')));
      const big = Buffer.alloc(3 * 1024 * 1024, 5);
      assert.ok((await c.call('/t/Echo', frame(big), { timeoutMs: 30_000 })).equals(big));
    } finally {
      c.close();
    }
  });

  it('rejects with the status and the decoded message of a trailers-only answer', async () => {
    const c = new GrpcUnaryClient([srv.url]);
    try {
      await assert.rejects(c.call('/t/Fail', frame(Buffer.from('x')), { timeoutMs: 10_000 }), (e: unknown) => {
        assert.ok(e instanceof GrpcCallError);
        assert.equal(e.code, 9);
        assert.equal(e.message, 'etcdserver: mvcc: 100% wrong');
        return true;
      });
    } finally {
      c.close();
    }
  });

  it('gives up on an unanswered call after its deadline with DEADLINE_EXCEEDED', async () => {
    const c = new GrpcUnaryClient([srv.url]);
    try {
      const started = Date.now();
      await assert.rejects(c.call('/t/Hang', frame(Buffer.from('x')), { timeoutMs: 300 }), (e: unknown) => {
        assert.ok(e instanceof GrpcCallError);
        assert.equal(e.code, GrpcStatus.DEADLINE_EXCEEDED);
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took >= 290 && took < 5000, `took ${took} ms`);
      // The session survives a call's deadline.
      assert.equal((await c.call('/t/Echo', frame(Buffer.from('ok')), { timeoutMs: 10_000 })).toString(), 'ko');
    } finally {
      c.close();
    }
  });

  it('fails a call to an endpoint nobody listens on with UNAVAILABLE, then moves on to the next endpoint', async () => {
    const dead = `127.0.0.1:${await freeLoopbackPort()}`;
    const c = new GrpcUnaryClient([dead, srv.url]);
    try {
      let failures = 0;
      let answer = '';
      // The first endpoint is chosen at random; within two calls one must have reached the live one.
      for (let i = 0; i < 3 && answer === ''; i++) {
        try {
          answer = (await c.call('/t/Echo', frame(Buffer.from('yes')), { timeoutMs: 10_000 })).toString();
        } catch (e) {
          assert.ok(e instanceof GrpcCallError);
          assert.equal(e.code, GrpcStatus.UNAVAILABLE);
          assert.ok(e.message.includes(dead), e.message);
          failures++;
        }
      }
      assert.equal(answer, 'sey');
      assert.ok(failures <= 1, `${failures} failures`);
    } finally {
      c.close();
    }
  });

  it('dials again after the server went away, and refuses calls once closed', async () => {
    const port = await freeLoopbackPort();
    const one = http2.createServer();
    const sessions: http2.ServerHttp2Session[] = [];
    const serve = (s: http2.Http2Server): void => {
      s.on('session', (sess) => sessions.push(sess));
      s.on('stream', (stream) => {
        stream.on('data', () => undefined);
        stream.on('end', () => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(frame(Buffer.from('up')));
        });
      });
    };
    serve(one);
    await new Promise<void>((resolve) => one.listen(port, '127.0.0.1', resolve));
    const c = new GrpcUnaryClient([`127.0.0.1:${port}`]);
    try {
      assert.equal((await c.call('/t/X', frame(Buffer.alloc(0)), { timeoutMs: 10_000 })).toString(), 'up');
      // Closing the server ends its sessions (GOAWAY): the client must not keep using the dead one.
      const closed = new Promise<void>((resolve) => one.close(() => resolve()));
      for (const s of sessions) s.close();
      await closed;
      const two = http2.createServer();
      serve(two);
      await new Promise<void>((resolve) => two.listen(port, '127.0.0.1', resolve));
      try {
        let answer = '';
        for (let i = 0; i < 3 && answer === ''; i++) {
          answer = await c.call('/t/X', frame(Buffer.alloc(0)), { timeoutMs: 10_000 }).then((b) => b.toString(), () => '');
        }
        assert.equal(answer, 'up');
      } finally {
        c.close();
        await stopServer(two);
      }
    } finally {
      c.close();
    }
    await assert.rejects(c.call('/t/X', frame(Buffer.alloc(0)), { timeoutMs: 1000 }), (e: unknown) => e instanceof GrpcClientClosedError);
  });
});
