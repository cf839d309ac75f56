import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestClient } from './rest-client.ts';

let dir = '';
let server: https.Server | undefined;
let base = '';
const pem: Record<string, Buffer> = {};

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  if (!haveOpenssl()) return;
  dir = mkdtempSync(join(tmpdir(), 'skiff-tls-'));
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:skiff.test\n');
  ossl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=skiff-apiserver');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
  ossl('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=jane/O=devs');
  ossl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1');
  for (const f of ['ca.crt', 'server.key', 'server.crt', 'client.key', 'client.crt']) pem[f] = readFileSync(join(dir, f));
  server = https.createServer({ key: pem['server.key'], cert: pem['server.crt'], ca: pem['ca.crt'], requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const sock = req.socket as TLSSocket;
    const cn = sock.authorized ? String(sock.getPeerCertificate().subject?.CN ?? '') : '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ user: cn, auth: req.headers['authorization'] ?? '' }));
  });
  const s = server;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
});

after(async () => {
  const s = server;
  if (s) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('HTTPS with a CA and a client certificate', { skip: !haveOpenssl() && 'openssl not installed' }, async () => {
  const c = new RestClient({ server: base, namespace: 'default', caData: pem['ca.crt'], certData: pem['client.crt'], keyData: pem['client.key'] });
  try {
    const r = await c.request<{ user: string }>({ path: '/api' });
    assert.equal(r.body.user, 'jane');
  } finally {
    c.close();
  }
  const named = new RestClient({ server: base, namespace: 'default', caData: pem['ca.crt'], tlsServerName: 'skiff.test', token: 't' });
  try {
    const r = await named.request<{ user: string; auth: string }>({ path: '/api' });
    assert.equal(r.body.auth, 'Bearer t');
    assert.equal(r.body.user, '');
  } finally {
    named.close();
  }
});

test('HTTPS without the CA fails unless insecure-skip-tls-verify', { skip: !haveOpenssl() && 'openssl not installed' }, async () => {
  const strict = new RestClient({ server: base, namespace: 'default' });
  try {
    await assert.rejects(() => strict.request({ path: '/api' }), (e: NodeJS.ErrnoException) => /SELF_SIGNED|UNABLE_TO_GET_ISSUER|unable to verify/i.test(`${e.code ?? ''} ${e.message}`));
  } finally {
    strict.close();
  }
  const insecure = new RestClient({ server: base, namespace: 'default', insecureSkipTLSVerify: true });
  try {
    const r = await insecure.request<{ user: string }>({ path: '/api' });
    assert.equal(r.body.user, '');
  } finally {
    insecure.close();
  }
});
