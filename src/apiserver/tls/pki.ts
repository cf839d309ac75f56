/**
 * The cluster's PKI: a CA created on first start and kept in the data dir (private keys mode 0600), a serving
 * certificate for the API server's names (renewed before expiry or when the names change), client certificates
 * (CN = user, O = groups) for the admin kubeconfig and for approved CertificateSigningRequests, and the key that
 * signs ServiceAccount tokens. ECDSA P-256 throughout, as kubeadm and k3s use.
 */
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import './reflect-metadata.ts';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate with its private key, both PEM. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/** The CA: certificate PEM plus the signing key. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  key: CryptoKey;
}

/** Everything the API server and its kubeconfigs need. */
export interface ClusterPki {
  dir: string;
  ca: CertificateAuthority;
  serving: KeyPair;
  admin: KeyPair;
  /** The API server's client certificate towards agents (CN kube-apiserver-kubelet-client). */
  kubeletClient: KeyPair;
  /** PKCS#8 PEM of the ServiceAccount token signing key (ES256) and its SPKI public key. */
  serviceAccountKeyPem: string;
  serviceAccountPublicKeyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function derOf(pemText: string): Buffer {
  return Buffer.from(pemText.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** Generates an ECDSA P-256 key pair (extractable). */
export function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** PKCS#8 PEM of a private key. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

/** SPKI PEM of a public key. */
export async function publicKeyPem(key: CryptoKey): Promise<string> {
  return pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', key));
}

/** Imports a PKCS#8 PEM ECDSA P-256 private key for signing. */
export function importPrivateKey(keyPem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', derOf(keyPem), EC, true, ['sign']) as Promise<CryptoKey>;
}

function writeSecret(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

function writePublic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive
  return Buffer.from(b).toString('hex');
}

/** Creates a self-signed CA certificate valid for `days`. */
export async function createCertificateAuthority(opts: { commonName?: string; days?: number; now?: number } = {}): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const now = opts.now ?? Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.commonName ?? `skiff-ca@${Math.floor(now / 1000)}`] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 3650) * DAY),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey, certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** Loads a CA from PEM texts. */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  return { certPem, keyPem, cert: new x509.X509Certificate(certPem), key: await importPrivateKey(keyPem) };
}

/** The user of the API server's client certificate towards agents (kubeadm's apiserver-kubelet-client). */
export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';

/** What a certificate is for. */
export type CertificateUsage = 'server' | 'client';

/** Options of a leaf certificate. */
export interface LeafOptions {
  commonName: string;
  /** Subject O values (groups, for client certificates). */
  organizations?: string[];
  /** DNS names and IP addresses (server certificates). */
  sans?: string[];
  usage: CertificateUsage;
  days?: number;
  /** Validity end in ms since the epoch (overrides days; tests make expired certificates with it). */
  notAfter?: number;
  now?: number;
}

/** Signs a leaf certificate for `publicKey` with the CA. */
export async function signLeaf(ca: CertificateAuthority, publicKey: CryptoKey | x509.PublicKey, opts: LeafOptions): Promise<x509.X509Certificate> {
  const now = opts.now ?? Date.now();
  const name: x509.JsonName = [{ CN: [opts.commonName] }];
  if (opts.organizations && opts.organizations.length > 0) name.unshift({ O: opts.organizations });
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (opts.sans && opts.sans.length > 0) extensions.push(sanExtension(opts.sans));
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: ca.cert.subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(opts.notAfter ?? now + (opts.days ?? 365) * DAY),
    signingAlgorithm: SIGN,
    publicKey,
    signingKey: ca.key,
    extensions,
  });
}

/** Creates a fresh key pair and a CA-signed certificate for it. */
export async function issueKeyPair(ca: CertificateAuthority, opts: LeafOptions): Promise<KeyPair> {
  const keys = await generateKeyPair();
  const cert = await signLeaf(ca, keys.publicKey, opts);
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

function sanExtension(sans: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s })));
}

/** Creates a PKCS#10 certificate request (PEM) and its private key, as a joining node does; `sans` for serving certificates. */
export async function createCertificateRequest(opts: { commonName: string; organizations?: string[]; sans?: string[] }): Promise<{ csrPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  const name: x509.JsonName = [{ CN: [opts.commonName] }];
  if (opts.organizations && opts.organizations.length > 0) name.unshift({ O: opts.organizations });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name, keys, signingAlgorithm: SIGN, ...(opts.sans && opts.sans.length > 0 ? { extensions: [sanExtension(opts.sans)] } : {}),
  });
  return { csrPem: csr.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** The shortest RSA modulus a certificate request may carry (Go's crypto/rsa minimum, OpenSSL's security level 1). */
export const MIN_RSA_BITS = 1024;

/**
 * Refuses RSA keys below MIN_RSA_BITS. The serving context runs at OpenSSL security level 0 (serving-options.ts), so
 * the handshake no longer rejects weak keys in client certificates: the CA must never sign one.
 */
function checkKeyStrength(key: x509.PublicKey): void {
  const alg = key.algorithm as { name?: string; modulusLength?: number };
  if (alg.name?.startsWith('RSA') && (alg.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new Error(`${alg.modulusLength ?? 0}-bit RSA keys are insecure (at least ${MIN_RSA_BITS} bits are required)`);
  }
}

/** What a verified certificate request asks for. */
export interface CertificateRequestInfo {
  commonName: string;
  organizations: string[];
  /** DNS names and IP addresses of its subjectAltName extension. */
  sans: string[];
  /** Other subjectAltName kinds (email, URI…), which Kubernetes' signers refuse. */
  otherSans: string[];
  publicKey: x509.PublicKey;
}

/** The subject of a PEM certificate request, after checking its self-signature. Throws on a malformed or forged request. */
export async function parseCertificateRequest(csrPem: string): Promise<CertificateRequestInfo> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  if (!(await csr.verify())) throw new Error('the certificate request signature is invalid');
  checkKeyStrength(csr.publicKey);
  // CSR extensions come back generic: re-read the subjectAltName one with its own class.
  const raw = csr.extensions.find((e) => e.type === '2.5.29.17');
  const items = raw ? new x509.SubjectAlternativeNameExtension(raw.rawData).names.items : [];
  return {
    commonName: csr.subjectName.getField('CN')[0] ?? '',
    organizations: csr.subjectName.getField('O'),
    sans: items.filter((n) => n.type === 'dns' || n.type === 'ip').map((n) => n.value),
    otherSans: items.filter((n) => n.type !== 'dns' && n.type !== 'ip').map((n) => `${n.type}:${n.value}`),
    publicKey: csr.publicKey,
  };
}

/**
 * Signs a verified PEM certificate request for the subject it names: a client certificate, or with usage `server`
 * a serving certificate for the DNS names and IP addresses it asks for.
 */
export async function signCertificateRequest(ca: CertificateAuthority, csrPem: string, opts: { days?: number; usage?: CertificateUsage } = {}): Promise<string> {
  const req = await parseCertificateRequest(csrPem);
  const usage = opts.usage ?? 'client';
  const cert = await signLeaf(ca, req.publicKey, {
    commonName: req.commonName, organizations: req.organizations, usage, days: opts.days ?? 365, ...(usage === 'server' ? { sans: req.sans } : {}),
  });
  return cert.toString('pem') + '\n';
}

/** The serving certificate's names: loopback, localhost, the host name and the extra SANs. */
export function servingNames(extra: string[] = []): string[] {
  const names = ['127.0.0.1', '::1', 'localhost', hostname(), 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', ...extra];
  return [...new Set(names.filter((n) => n !== ''))];
}

function certNeedsRenewal(certPem: string, names: string[], now: number): boolean {
  try {
    const cert = new x509.X509Certificate(certPem);
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    // Renew in the last third of the lifetime, as kubelet's certificate manager does (roughly).
    if (cert.notAfter.getTime() - now < lifetime / 3) return true;
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const have = new Set((san?.names.items ?? []).map((n) => n.value));
    return names.some((n) => !have.has(n));
  } catch {
    return true;
  }
}

/**
 * Loads the cluster PKI from `dir`, creating what is missing: the CA, the serving certificate (re-issued when it
 * nears expiry or lacks one of `sans`), the admin client certificate (CN system:admin, O system:masters), the
 * API server's client certificate towards agents and the ServiceAccount signing key. Returns whether the serving certificate was (re)issued.
 */
export async function ensureClusterPki(dir: string, opts: { sans?: string[]; now?: number } = {}): Promise<ClusterPki & { servingRenewed: boolean }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = opts.now ?? Date.now();
  const caCrt = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  let ca: CertificateAuthority;
  if (existsSync(caCrt) && existsSync(caKey)) {
    ca = await loadCertificateAuthority(readFileSync(caCrt, 'utf8'), readFileSync(caKey, 'utf8'));
  } else {
    ca = await createCertificateAuthority({ now });
    writeSecret(caKey, ca.keyPem);
    writePublic(caCrt, ca.certPem);
  }
  const names = servingNames(opts.sans);
  const srvCrt = join(dir, 'serving.crt');
  const srvKey = join(dir, 'serving.key');
  let servingRenewed = false;
  if (!existsSync(srvCrt) || !existsSync(srvKey) || certNeedsRenewal(readFileSync(srvCrt, 'utf8'), names, now)) {
    const kp = await issueKeyPair(ca, { commonName: 'kube-apiserver', sans: names, usage: 'server', days: 365, now });
    writeSecret(srvKey, kp.keyPem);
    writePublic(srvCrt, kp.certPem);
    servingRenewed = true;
  }
  const admCrt = join(dir, 'admin.crt');
  const admKey = join(dir, 'admin.key');
  if (!existsSync(admCrt) || !existsSync(admKey) || certNeedsRenewal(readFileSync(admCrt, 'utf8'), [], now)) {
    const kp = await issueKeyPair(ca, { commonName: 'system:admin', organizations: ['system:masters'], usage: 'client', days: 365, now });
    writeSecret(admKey, kp.keyPem);
    writePublic(admCrt, kp.certPem);
  }
  // A dedicated identity rather than system:masters: a stolen copy reaches agents, not the whole API.
  const kcCrt = join(dir, 'apiserver-kubelet-client.crt');
  const kcKey = join(dir, 'apiserver-kubelet-client.key');
  if (!existsSync(kcCrt) || !existsSync(kcKey) || certNeedsRenewal(readFileSync(kcCrt, 'utf8'), [], now)) {
    const kp = await issueKeyPair(ca, { commonName: KUBELET_CLIENT_USER, usage: 'client', days: 365, now });
    writeSecret(kcKey, kp.keyPem);
    writePublic(kcCrt, kp.certPem);
  }
  const saKey = join(dir, 'service-account.key');
  const saPub = join(dir, 'service-account.pub');
  if (!existsSync(saKey) || !existsSync(saPub)) {
    const keys = await generateKeyPair();
    writeSecret(saKey, await privateKeyPem(keys.privateKey));
    writePublic(saPub, await publicKeyPem(keys.publicKey));
  }
  return {
    dir, ca, servingRenewed,
    serving: { certPem: readFileSync(srvCrt, 'utf8'), keyPem: readFileSync(srvKey, 'utf8') },
    admin: { certPem: readFileSync(admCrt, 'utf8'), keyPem: readFileSync(admKey, 'utf8') },
    kubeletClient: { certPem: readFileSync(kcCrt, 'utf8'), keyPem: readFileSync(kcKey, 'utf8') },
    serviceAccountKeyPem: readFileSync(saKey, 'utf8'),
    serviceAccountPublicKeyPem: readFileSync(saPub, 'utf8'),
  };
}
