/**
 * The TLS settings of the API server's HTTPS port, chosen to accept the clients kube-apiserver (a Go server)
 * accepts. Node's defaults refuse one of them: a TLS 1.2 client that sends no signature_algorithms extension —
 * busybox's wget and ssl_client, the HTTPS clients of minimal images — must, by RFC 5246 §7.4.1.4.1, be answered
 * with a SHA-1 ServerKeyExchange signature, which OpenSSL 3 forbids from security level 1 up, so the handshake
 * ends in `no shared cipher` (alert 40). Go's crypto/tls (through Go 1.24, which Kubernetes releases use) signs with
 * ecdsa_sha1 in exactly that case and otherwise only as its last preference.
 *
 * The same here, for that case only: security level 0 lets OpenSSL consider SHA-1; the signature algorithm list
 * keeps SHA-1 last, and honouring the server's order means any client that offers a SHA-2 algorithm gets it. TLS
 * 1.3 never uses SHA-1 signatures; the minimum stays TLS 1.2 and the cipher list stays Node's (ECDHE, AEAD first,
 * no RC4, 3DES, NULL or export suites). What level 1 also checked — key sizes in client certificate chains — is kept
 * by the cluster CA, which signs only P-256 keys of its own and refuses weak keys in certificate requests (pki.ts).
 */
import { DEFAULT_CIPHERS } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';

/**
 * The signature algorithms the server signs and verifies with, in its order of preference: SHA-2 with ECDSA,
 * EdDSA, RSA-PSS and RSA PKCS#1, then ECDSA with SHA-1 for TLS 1.2 clients that name no algorithm (or no other).
 */
export const SERVING_SIGALGS: readonly string[] = [
  'ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512', 'ed25519', 'ed448',
  'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512', 'rsa_pss_pss_sha256', 'rsa_pss_pss_sha384', 'rsa_pss_pss_sha512',
  'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512',
  'ECDSA+SHA1',
];

/** The TLS options of the API server's serving context (spread into https.createServer and setSecureContext). */
export type ServingTlsOptions = Required<Pick<SecureContextOptions, 'ciphers' | 'sigalgs' | 'honorCipherOrder' | 'minVersion'>>;

/** TLS options that accept every client kube-apiserver accepts, and give modern clients what Node's defaults give them. */
export function servingTlsOptions(): ServingTlsOptions {
  return {
    minVersion: 'TLSv1.2',
    // Read at call time: `node --tls-cipher-list` replaces the default list.
    ciphers: `${DEFAULT_CIPHERS}:@SECLEVEL=0`,
    sigalgs: SERVING_SIGALGS.join(':'),
    honorCipherOrder: true,
  };
}
