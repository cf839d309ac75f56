import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, issueKeyPair } from './pki.ts';
import { servingTlsOptions } from './serving-options.ts';

/**
 * The ClientHello busybox 1.35's TLS sends (wget, ssl_client): TLS 1.2, ECDHE/RSA suites with AES-CBC/GCM, the
 * groups P-256 and x25519, and no signature_algorithms extension.
 */
function busyboxClientHello(): Buffer {
  const suites = [0x00ff, 0xc023, 0xc027, 0xc02b, 0xc02f, 0x003c, 0x003d, 0x009c];
  const sni = Buffer.from('kubernetes');
  const ext = Buffer.concat([
    u16(0x0000), u16(sni.length + 5), u16(sni.length + 3), Buffer.from([0]), u16(sni.length), sni,
    u16(0x000a), u16(6), u16(4), u16(0x0017), u16(0x001d),
  ]);
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]),
    u16(suites.length * 2), ...suites.map(u16), Buffer.from([1, 0]),
    u16(ext.length), ext,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 3]), u16(hs.length), hs]);
}

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

/** Sends `hello` and reads the first record: the ServerHello's cipher suite, or the alert's description. */
function firstReply(port: number, hello: Buffer): Promise<{ serverHelloSuite?: number; alert?: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(hello));
    let buf = Buffer.alloc(0);
    const done = (r: { serverHelloSuite?: number; alert?: number }): void => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(5000, () => s.destroy(new Error('no reply')));
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 5 || buf.length < 5 + buf.readUInt16BE(3)) return;
      if (buf[0] === 0x15) return done({ alert: buf[6]! });
      // handshake header (4) + version (2) + random (32) + session id, then the suite
      assert.equal(buf[5], 2, 'a ServerHello');
      const sid = buf[5 + 4 + 2 + 32]!;
      done({ serverHelloSuite: buf.readUInt16BE(5 + 4 + 2 + 32 + 1 + sid) });
    });
  });
}

describe('the API server TLS options', () => {
  let pems: { cert: string; key: string; ca: string };
  const servers: https.Server[] = [];
  const serve = async (opts: tls.SecureContextOptions): Promise<number> => {
    const s = https.createServer({ ...opts, cert: pems.cert, key: pems.key, ca: pems.ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const sock = req.socket as tls.TLSSocket;
      res.end(`${sock.getProtocol()} ${sock.getCipher().name}`);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  };
  const get = (port: number, o: https.RequestOptions = {}): Promise<string> => new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', ca: pems.ca, agent: false, ...o }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });

  before(async () => {
    const ca = await createCertificateAuthority();
    const kp = await issueKeyPair(ca, { commonName: 'kube-apiserver', sans: ['127.0.0.1'], usage: 'server' });
    pems = { cert: kp.certPem, key: kp.keyPem, ca: ca.certPem };
  });
  after(() => {
    for (const s of servers) s.close();
  });

  it('answers a client without signature_algorithms (busybox) with ECDHE-ECDSA-AES128-GCM, where Node defaults refuse it', async () => {
    const ours = await firstReply(await serve(servingTlsOptions()), busyboxClientHello());
    assert.deepEqual(ours, { serverHelloSuite: 0xc02b });
    const defaults = await firstReply(await serve({}), busyboxClientHello());
    assert.deepEqual(defaults, { alert: 40 }, 'handshake_failure with OpenSSL 3 at security level 1');
  });

  it('gives modern clients TLS 1.3, and TLS 1.2 clients ECDHE with AES-GCM', async () => {
    const port = await serve(servingTlsOptions());
    assert.match(await get(port), /^TLSv1\.3 TLS_AES_(256|128)_GCM_SHA(384|256)$/);
    assert.match(await get(port, { maxVersion: 'TLSv1.2' }), /^TLSv1\.2 ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)$/);
  });

  it('refuses TLS 1.1 and older', async () => {
    const port = await serve(servingTlsOptions());
    await assert.rejects(get(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
  });

  it('signs with SHA-256 for a TLS 1.2 client that offers SHA-1 first and SHA-256 too', { skip: existsSync('/usr/bin/openssl') ? false : 'openssl is not installed' }, async () => {
    const port = await serve(servingTlsOptions());
    const digest = (sigalgs: string): Promise<string> => new Promise((resolve) => {
      const p = execFile('/usr/bin/openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0', '-sigalgs', sigalgs], { timeout: 10_000 }, (_e, stdout, stderr) => {
        resolve(/Peer signing digest: (\S+)/.exec(stdout + stderr)?.[1] ?? `none: ${stderr}`);
      });
      p.stdin?.end();
    });
    assert.equal(await digest('ECDSA+SHA1:ECDSA+SHA256'), 'SHA256');
    assert.equal(await digest('ECDSA+SHA256'), 'SHA256');
  });

  it('serves busybox wget (its own TLS, no openssl on PATH)', { skip: existsSync('/bin/busybox') ? false : 'busybox is not installed' }, async () => {
    const port = await serve(servingTlsOptions());
    const out = await new Promise<string>((resolve) => {
      execFile('/bin/busybox', ['wget', '-q', '-O-', `https://127.0.0.1:${port}/`], { env: { PATH: '/nonexistent' }, timeout: 10_000 }, (e, stdout, stderr) => resolve(e ? `failed: ${stderr}` : stdout));
    });
    assert.equal(out, 'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256');
  });
});
