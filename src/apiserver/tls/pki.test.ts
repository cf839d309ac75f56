import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createCertificateRequest, ensureClusterPki, signCertificateRequest, parseCertificateRequest } from './pki.ts';

test('the cluster PKI is created once, with private keys 0600, and reused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  try {
    const a = await ensureClusterPki(dir, { sans: ['skiff.example', '10.1.2.3'] });
    assert.equal(a.servingRenewed, true);
    assert.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'admin.key')).mode & 0o777, 0o600);
    const serving = new X509Certificate(a.serving.certPem);
    assert.ok(serving.checkIssued(new X509Certificate(a.ca.certPem)));
    assert.match(serving.subjectAltName ?? '', /DNS:skiff\.example/);
    assert.match(serving.subjectAltName ?? '', /IP Address:10\.1\.2\.3/);
    assert.match(serving.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    const admin = new X509Certificate(a.admin.certPem);
    assert.match(admin.subject, /O=system:masters/);
    assert.match(admin.subject, /CN=system:admin/);
    const b = await ensureClusterPki(dir, { sans: ['skiff.example', '10.1.2.3'] });
    assert.equal(b.servingRenewed, false);
    assert.equal(b.ca.certPem, a.ca.certPem);
    const c = await ensureClusterPki(dir, { sans: ['new.example'] });
    assert.equal(c.servingRenewed, true, 'a new SAN re-issues the serving certificate');
    const late = await ensureClusterPki(dir, { sans: ['new.example'], now: Date.now() + 300 * 86_400_000 });
    assert.equal(late.servingRenewed, true, 'renewed in the last third of its life');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('certificate requests are verified and signed for the subject they name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  try {
    const pki = await ensureClusterPki(dir);
    const req = await createCertificateRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'] });
    assert.deepEqual((({ commonName, organizations }) => ({ commonName, organizations }))(await parseCertificateRequest(req.csrPem)), { commonName: 'system:node:n1', organizations: ['system:nodes'] });
    const cert = new X509Certificate(await signCertificateRequest(pki.ca, req.csrPem));
    assert.match(cert.subject, /CN=system:node:n1/);
    assert.ok(cert.checkIssued(new X509Certificate(pki.ca.certPem)));
    await assert.rejects(parseCertificateRequest('-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('certificate requests with RSA keys shorter than 1024 bits are refused; 2048-bit ones are signed', async () => {
  const { webcrypto } = await import('node:crypto');
  const x509 = await import('@peculiar/x509');
  const rsaRequest = async (bits: number): Promise<string> => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=weak, O=system:masters', keys, signingAlgorithm: alg } as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]);
    return csr.toString('pem');
  };
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  try {
    const pki = await ensureClusterPki(dir);
    await assert.rejects(signCertificateRequest(pki.ca, await rsaRequest(512)), /512-bit RSA keys are insecure/);
    const cert = new X509Certificate(await signCertificateRequest(pki.ca, await rsaRequest(2048)));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
