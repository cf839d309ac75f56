/**
 * Request authentication (upstream's union of authenticators): X.509 client certificates (CN = user, O = groups),
 * a static token file, bootstrap tokens, ServiceAccount tokens, then anonymous. A credential that is presented but
 * invalid (expired or foreign certificate, unknown token) fails the request with 401 rather than falling back to
 * anonymous, as upstream does.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import type { UserInfo } from './user.ts';
import { Groups, anonymousUser } from './user.ts';
import type { ObjectLookup, ServiceAccountTokens } from './service-account-token.ts';
import { looksLikeJwt } from './service-account-token.ts';

/** A parsed static token file: token → user. */

/** The client-certificate identity of each TLS connection (undefined: none presented; null: not valid). */
const certificateUsers = new WeakMap<object, UserInfo | null | undefined>();

export type TokenTable = Map<string, UserInfo>;

/** Parses a token file (`token,user,uid,"group1,group2"` per line, as --token-auth-file). Throws on malformed lines. */
export function parseTokenFile(text: string): TokenTable {
  const out: TokenTable = new Map();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const cols = parseCsvLine(line);
    if (cols.length < 3) throw new Error(`token file line ${i + 1}: expected at least 3 columns (token,user,uid), got ${cols.length}`);
    const [token, name, uid, groups] = cols as [string, string, string, string | undefined];
    if (token === '' || name === '') throw new Error(`token file line ${i + 1}: token and user must not be empty`);
    out.set(token, { name, uid, groups: (groups ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '') });
  });
  return out;
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** Loads a token file from disk. */
export function loadTokenFile(path: string): TokenTable {
  return parseTokenFile(readFileSync(path, 'utf8'));
}

/** The bootstrap token format [a-z0-9]{6}.[a-z0-9]{16}. */
export const BOOTSTRAP_TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

function b64(v: unknown): string | undefined {
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Validates a bootstrap token against its Secret kube-system/bootstrap-token-<id> (type bootstrap.kubernetes.io/token,
 * usage-bootstrap-authentication "true", not expired). The user is system:bootstrap:<id> in system:bootstrappers
 * plus the secret's auth-extra-groups.
 */
export async function authenticateBootstrapToken(token: string, lookup: SecretLookup, opts: { now?: number } = {}): Promise<UserInfo | null> {
  const m = BOOTSTRAP_TOKEN_RE.exec(token);
  if (!m) return null;
  const [, id, secretPart] = m as unknown as [string, string, string];
  const secret = await lookup('kube-system', `bootstrap-token-${id}`);
  if (!secret || secret.type !== 'bootstrap.kubernetes.io/token' || secret.metadata?.deletionTimestamp) return null;
  const data = secret.data ?? {};
  if (b64(data['token-id']) !== id || !safeEqual(b64(data['token-secret']) ?? '', secretPart)) return null;
  if (b64(data['usage-bootstrap-authentication']) !== 'true') return null;
  const exp = b64(data.expiration);
  if (exp && Date.parse(exp) <= (opts.now ?? Date.now())) return null;
  const extra = (b64(data['auth-extra-groups']) ?? '').split(',').map((g) => g.trim()).filter((g) => g.startsWith('system:bootstrappers:'));
  return { name: `system:bootstrap:${id}`, groups: [Groups.bootstrappers, ...extra] };
}

/** Reads a Secret by namespace and name. */
export type SecretLookup = (namespace: string, name: string) => Promise<{ type?: string; data?: Record<string, string>; metadata?: { deletionTimestamp?: string } } | null>;

/** Options of the request authenticator. */
export interface AuthenticatorOptions {
  /** Static tokens (--token-auth-file). */
  tokens?: TokenTable;
  serviceAccounts?: ServiceAccountTokens;
  lookup?: ObjectLookup;
  /** Allow unauthenticated requests as system:anonymous (authorization then decides; default true). */
  anonymous?: boolean;
}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** Authenticates requests; `authenticate` resolves to the user, or null for 401. */
export class RequestAuthenticator {
  private readonly o: AuthenticatorOptions;

  constructor(o: AuthenticatorOptions) {
    this.o = o;
  }

  /** The user of a request (with system:authenticated added), anonymous when no credential was presented, null for 401. */
  async authenticate(req: IncomingMessage): Promise<UserInfo | null> {
    let failed = false;
    // Client certificates come first, as in upstream's authenticator union.
    const cert = this.fromCertificate(req);
    if (cert) return withAuthenticated(cert);
    if (cert === null) failed = true;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const user = m ? await this.fromToken(m[1]!) : null;
      if (user) return withAuthenticated(user);
      failed = true;
    }
    if (failed) return null;
    return this.o.anonymous === false ? null : { ...anonymousUser, groups: [...anonymousUser.groups] };
  }

  /** undefined: no certificate presented; null: presented but not valid for client authentication. */
  private fromCertificate(req: IncomingMessage): UserInfo | null | undefined {
    // The peer certificate is fixed for a connection (verified at the handshake) and getPeerCertificate() is costly:
    // decide once per socket, and hand each request its own copy.
    const cached = certificateUsers.get(req.socket);
    if (cached !== undefined || certificateUsers.has(req.socket)) return cached === undefined ? undefined : cached && { name: cached.name, groups: [...cached.groups] };
    const user = this.certificateUser(req);
    certificateUsers.set(req.socket, user);
    return user === undefined || user === null ? user : { name: user.name, groups: [...user.groups] };
  }

  private certificateUser(req: IncomingMessage): UserInfo | null | undefined {
    const socket = req.socket as Partial<TLSSocket>;
    if (typeof socket.getPeerCertificate !== 'function') return undefined;
    const peer = socket.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return undefined;
    if (!socket.authorized) return null;
    if (peer.ext_key_usage && !peer.ext_key_usage.includes(CLIENT_AUTH_OID)) return null;
    const subject = peer.subject as unknown as Record<string, string | string[] | undefined> | undefined;
    const cn = subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (!name) return null;
    const o = subject?.O;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return { name, groups: [...groups] };
  }

  /** Resolves a bearer token through the static table, bootstrap tokens and ServiceAccount tokens. */
  async fromToken(token: string): Promise<UserInfo | null> {
    const fixed = this.o.tokens?.get(token);
    if (fixed) return { ...fixed, groups: [...fixed.groups] };
    const lookup = this.o.lookup;
    if (lookup && BOOTSTRAP_TOKEN_RE.test(token)) {
      return authenticateBootstrapToken(token, async (ns, name) => (await lookup('', 'secrets', ns, name)) as Awaited<ReturnType<SecretLookup>>);
    }
    if (lookup && this.o.serviceAccounts && looksLikeJwt(token)) {
      return this.o.serviceAccounts.authenticate(token, lookup);
    }
    return null;
  }
}

/** Adds system:authenticated, as upstream does for every authenticated user. */
export function withAuthenticated(user: UserInfo): UserInfo {
  if (user.groups.includes(Groups.authenticated) || user.groups.includes(Groups.unauthenticated)) return user;
  return { ...user, groups: [...user.groups, Groups.authenticated] };
}
