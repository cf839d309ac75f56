import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { SpdySession, decodeHeaderBlock, encodeHeaderBlock, spdyDictionary } from './spdy.ts';
import type { SpdyStream } from './spdy.ts';

/** A client-side SYN_STREAM as spdystream writes it (compressed with its own zlib context). */
function synStream(deflate: zlib.Deflate, id: number, headers: Record<string, string[]>): Promise<Buffer> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const onData = (c: Buffer): void => { out.push(c); };
    deflate.on('data', onData);
    deflate.write(encodeHeaderBlock(headers));
    deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      deflate.off('data', onData);
      const block = Buffer.concat(out);
      const h = Buffer.alloc(18);
      h.writeUInt32BE((0x80000000 | (3 << 16) | 1) >>> 0, 0);
      h.writeUInt32BE(10 + block.length, 4);
      h.writeUInt32BE(id, 8);
      resolve(Buffer.concat([h, block]));
    });
  });
}

function dataFrame(id: number, data: Buffer, fin: boolean): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h.writeUInt32BE(((fin ? 1 : 0) << 24 | data.length) >>> 0, 4);
  return Buffer.concat([h, data]);
}

describe('SPDY/3.1', () => {
  it('has the SPDY/3 dictionary (the zlib dictionary id kubectl sends is e3c6a7c2)', () => {
    assert.equal(spdyDictionary.length, 1423);
    const z = zlib.deflateSync(Buffer.from('x'), { dictionary: spdyDictionary });
    assert.equal(z.subarray(2, 6).toString('hex'), 'e3c6a7c2');
  });

  it('round-trips header blocks with multi-valued headers', () => {
    const h = { streamtype: ['data'], port: ['80'], multi: ['a', 'b'] };
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock(h)), h);
  });

  it('accepts streams, replies, echoes pings and carries data both ways with FIN', async () => {
    const written: Buffer[] = [];
    const streams: SpdyStream[] = [];
    const session = new SpdySession({ write: (b) => written.push(b), close: () => undefined }, (s) => {
      streams.push(s);
      void s.reply();
    });
    const deflate = zlib.createDeflate({ dictionary: spdyDictionary });
    session.receive(await synStream(deflate, 1, { streamtype: ['error'], port: ['80'], requestid: ['0'] }));
    const second = await synStream(deflate, 3, { streamtype: ['data'], port: ['80'], requestid: ['0'] });
    // Frames may arrive split anywhere.
    session.receive(second.subarray(0, 5));
    session.receive(second.subarray(5));
    const ping = Buffer.alloc(12);
    ping.writeUInt32BE((0x80000000 | (3 << 16) | 6) >>> 0, 0);
    ping.writeUInt32BE(4, 4);
    ping.writeUInt32BE(7, 8);
    session.receive(ping);
    session.receive(dataFrame(3, Buffer.from('hello'), true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(streams.length, 2);
    assert.equal(streams[1]!.header('streamtype'), 'data');
    const got: Buffer[] = [];
    streams[1]!.on('data', (c: Buffer) => got.push(c));
    await new Promise((r) => streams[1]!.once('end', r));
    assert.equal(Buffer.concat(got).toString(), 'hello');
    streams[1]!.end(Buffer.from('reply'));
    await new Promise((r) => setTimeout(r, 50));
    const all = Buffer.concat(written);
    // Parse what the session wrote: two SYN_REPLYs (decompressible with one context), the PING echo, DATA + FIN.
    const inflate = zlib.createInflate({ dictionary: spdyDictionary });
    const kinds: string[] = [];
    let off = 0;
    const replies: Buffer[] = [];
    while (off < all.length) {
      const first = all.readUInt32BE(off);
      const flags = all[off + 4]!;
      const len = all.readUInt32BE(off + 4) & 0xffffff;
      const payload = all.subarray(off + 8, off + 8 + len);
      if (first & 0x80000000) {
        const type = first & 0xffff;
        kinds.push(type === 2 ? `reply:${payload.readUInt32BE(0)}` : type === 6 ? `ping:${payload.readUInt32BE(0)}` : `ctl:${type}`);
        if (type === 2) replies.push(payload.subarray(4));
      } else {
        kinds.push(`data:${first}:${payload.toString()}${flags & 1 ? ':fin' : ''}`);
      }
      off += 8 + len;
    }
    assert.deepEqual(kinds.filter((k) => k.startsWith('reply')), ['reply:1', 'reply:3']);
    assert.ok(kinds.includes('ping:7'));
    assert.ok(kinds.includes('data:3:reply'));
    assert.ok(kinds.includes('data:3::fin'));
    for (const r of replies) {
      const h = await new Promise<Buffer>((resolve) => {
        const out: Buffer[] = [];
        const onData = (c: Buffer): void => { out.push(c); };
        inflate.on('data', onData);
        inflate.write(r);
        inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => { inflate.off('data', onData); resolve(Buffer.concat(out)); });
      });
      assert.deepEqual(decodeHeaderBlock(h), {});
    }
    session.close();
    deflate.close();
    inflate.close();
  });
});
