/**
 * ServiceAccount tokens (upstream pkg/serviceaccount): ES256 JWTs issued by the TokenRequest API, optionally
 * bound to a Pod or Secret, and validated on every use — signature, issuer, audience and expiry, then the
 * ServiceAccount (and the bound object) must still exist with the same uid, so a token of a deleted account or
 * bound to a deleted pod stops working at once.
 */
import { randomUUID, createHash } from 'node:crypto';
import { SignJWT, jwtVerify, importPKCS8, importSPKI, errors as joseErrors } from 'jose';
import type { CryptoKey as JoseKey } from 'jose';
import type { UserInfo } from './user.ts';
import { Groups, serviceAccountUsername } from './user.ts';

/** The issuer and default audience, as a kubeadm cluster has them. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Reads one object by group, resource, namespace and name (null when it does not exist). */
export type ObjectLookup = (group: string, resource: string, namespace: string, name: string) => Promise<{ metadata: { uid?: string; name?: string; deletionTimestamp?: string }; spec?: unknown } | null>;

/** The private claims upstream puts under "kubernetes.io". */
interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
  node?: { name: string; uid: string };
}

/** A token to issue. */
export interface TokenSpec {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  audiences?: string[];
  expirationSeconds?: number;
  boundObject?: { kind: 'Pod' | 'Secret' | 'Node'; name: string; uid: string };
  /** The node a bound pod runs on (recorded as upstream does for pod-bound tokens). */
  node?: { name: string; uid: string };
}

/** Issues and validates ServiceAccount tokens with one key pair. */
export class ServiceAccountTokens {
  private readonly issuer: string;
  private readonly audiences: string[];
  private readonly privatePem: string;
  private readonly publicPem: string;
  private keys: Promise<{ priv: JoseKey; pub: JoseKey }> | null = null;
  private readonly kid: string;

  constructor(opts: { privateKeyPem: string; publicKeyPem: string; issuer?: string; audiences?: string[] }) {
    this.privatePem = opts.privateKeyPem;
    this.publicPem = opts.publicKeyPem;
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.audiences = opts.audiences ?? [this.issuer];
    this.kid = createHash('sha256').update(opts.publicKeyPem).digest('base64url').slice(0, 43);
  }

  /** The API server's audiences (a token must name one of them). */
  get apiAudiences(): string[] {
    return [...this.audiences];
  }

  private loadKeys(): Promise<{ priv: JoseKey; pub: JoseKey }> {
    this.keys ??= Promise.all([importPKCS8(this.privatePem, 'ES256'), importSPKI(this.publicPem, 'ES256')]).then(([priv, pub]) => ({ priv, pub }));
    return this.keys;
  }

  /** Signs a token; returns it and its expiry. */
  async issue(spec: TokenSpec, opts: { now?: number } = {}): Promise<{ token: string; expirationTimestamp: string }> {
    const { priv } = await this.loadKeys();
    const now = Math.floor((opts.now ?? Date.now()) / 1000);
    const exp = now + (spec.expirationSeconds ?? 3600);
    const k8s: KubernetesClaims = { namespace: spec.namespace, serviceaccount: spec.serviceAccount };
    if (spec.boundObject?.kind === 'Pod') k8s.pod = { name: spec.boundObject.name, uid: spec.boundObject.uid };
    if (spec.boundObject?.kind === 'Secret') k8s.secret = { name: spec.boundObject.name, uid: spec.boundObject.uid };
    if (spec.boundObject?.kind === 'Node') k8s.node = { name: spec.boundObject.name, uid: spec.boundObject.uid };
    if (spec.node && !k8s.node) k8s.node = spec.node;
    const token = await new SignJWT({ 'kubernetes.io': k8s })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid })
      .setIssuer(this.issuer)
      .setSubject(serviceAccountUsername(spec.namespace, spec.serviceAccount.name))
      .setAudience(spec.audiences && spec.audiences.length > 0 ? spec.audiences : this.audiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(priv);
    return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  /**
   * Validates a token for `audiences` (default: the API server's) and returns its user, or null when the token is
   * not one of ours or is invalid, expired, or refers to objects that are gone.
   */
  async authenticate(token: string, lookup: ObjectLookup, opts: { audiences?: string[] } = {}): Promise<UserInfo | null> {
    const { pub } = await this.loadKeys();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, pub, { issuer: this.issuer, audience: opts.audiences ?? this.audiences, algorithms: ['ES256'] }));
    } catch (e) {
      if (e instanceof joseErrors.JOSEError || e instanceof TypeError) return null;
      return null;
    }
    const k8s = payload['kubernetes.io'] as KubernetesClaims | undefined;
    if (!k8s || typeof k8s.namespace !== 'string' || !k8s.serviceaccount || typeof k8s.serviceaccount.name !== 'string') return null;
    const sa = await lookup('', 'serviceaccounts', k8s.namespace, k8s.serviceaccount.name);
    if (!sa || sa.metadata.uid !== k8s.serviceaccount.uid || sa.metadata.deletionTimestamp) return null;
    const extra: Record<string, string[]> = {};
    if (k8s.pod) {
      const pod = await lookup('', 'pods', k8s.namespace, k8s.pod.name);
      if (!pod || pod.metadata.uid !== k8s.pod.uid || pod.metadata.deletionTimestamp) return null;
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    if (k8s.secret) {
      const secret = await lookup('', 'secrets', k8s.namespace, k8s.secret.name);
      if (!secret || secret.metadata.uid !== k8s.secret.uid || secret.metadata.deletionTimestamp) return null;
    }
    if (k8s.node) {
      extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
    }
    if (typeof payload.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${payload.jti}`];
    return {
      name: serviceAccountUsername(k8s.namespace, k8s.serviceaccount.name),
      uid: k8s.serviceaccount.uid,
      groups: [Groups.serviceAccounts, `${Groups.serviceAccounts}:${k8s.namespace}`],
      extra,
    };
  }
}

/** Whether a bearer token looks like a JWT (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}
