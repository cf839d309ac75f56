/**
 * A client of the OCI distribution API (registry v2) that pulls an image into the store: resolve the reference to a
 * manifest (choosing this machine's platform from an index), fetch config and layers, verify every digest, unpack.
 * Authentication follows the registry's `WWW-Authenticate` challenge: Bearer (token endpoint, anonymous or with
 * credentials) or Basic. Registries on the loopback address are spoken to over plain HTTP, as containerd does.
 */
import { Readable } from 'node:stream';
import { logger } from '../../base/log.ts';
import type { RegistryCredential } from './credentials.ts';
import { DigestMismatchError, sha256Digest } from './digest.ts';
import type { Descriptor, ImageIndex, Manifest, Platform } from './oci.ts';
import { formatPlatform, hostPlatform, isIndex, mediaTypes, selectPlatform } from './oci.ts';
import { formatReference, isLoopbackRegistry, parseReference, registryHost } from './reference.ts';
import type { ImageReference } from './reference.ts';
import type { ImageRecord, ImageStore } from './store.ts';
import { PlatformMismatchError } from './store.ts';

const log = logger('image-pull');

const manifestAccept = [mediaTypes.ociIndex, mediaTypes.dockerList, mediaTypes.ociManifest, mediaTypes.dockerManifest].join(', ');

/** Why a pull failed, for the agent's ErrImagePull message and for callers that branch on it. */
export type PullFailure = 'NotFound' | 'Unauthorized' | 'DigestMismatch' | 'Platform' | 'Network' | 'Invalid';

/** A failed pull; the message follows containerd's wording (`failed to pull and unpack image "…": …`). */
export class PullError extends Error {
  override readonly name = 'PullError';
  constructor(readonly kind: PullFailure, message: string) {
    super(message);
  }
}

/** Options of pullImage. */
export interface PullOptions {
  /** Credentials to try in order (from imagePullSecrets); anonymous access is tried when none is given. */
  credentials?: RegistryCredential[];
  /** Platform to select from an index (default: this machine's). */
  platform?: Platform;
  /** Registries spoken to over plain HTTP besides loopback ones. */
  insecureRegistries?: string[];
  /** Parallel blob downloads (default 3). */
  concurrency?: number;
  signal?: AbortSignal;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header (one challenge). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

async function registryMessage(res: Response): Promise<string> {
  try {
    const text = await res.text();
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const e = body.errors?.[0];
    if (e) return [e.code?.toLowerCase(), e.message].filter(Boolean).join(': ');
    return text.slice(0, 200);
  } catch {
    return '';
  }
}

/** One authenticated conversation with a registry about one repository. */
class RegistrySession {
  private authorization: string | undefined;
  private readonly base: string;

  constructor(private readonly ref: ImageReference, private readonly cred: RegistryCredential | undefined, opts: PullOptions) {
    const insecure = isLoopbackRegistry(ref.registry) || (opts.insecureRegistries ?? []).includes(ref.registry);
    this.base = `${insecure ? 'http' : 'https'}://${registryHost(ref.registry)}/v2/${ref.repository}`;
    if (cred?.registryToken) this.authorization = `Bearer ${cred.registryToken}`;
    this.signal = opts.signal;
  }

  private readonly signal: AbortSignal | undefined;

  async get(path: string, accept?: string): Promise<Response> {
    const url = `${this.base}${path}`;
    const send = (): Promise<Response> => fetch(url, {
      headers: { ...(accept ? { accept } : {}), ...(this.authorization ? { authorization: this.authorization } : {}) },
      signal: this.signal,
      redirect: 'follow',
    });
    let res = await send();
    if (res.status === 401) {
      const ch = parseChallenge(res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel();
      if (!ch) throw new PullError('Unauthorized', `unexpected status from GET request to ${url}: 401 Unauthorized`);
      await this.authorize(ch);
      res = await send();
      if (res.status === 401 || res.status === 403) {
        const msg = await registryMessage(res);
        throw new PullError('Unauthorized', `pull access denied, repository does not exist or may require authorization: ${msg ? `server message: ${msg}` : `${res.status} ${res.statusText}`}`);
      }
    }
    return res;
  }

  private async authorize(ch: Challenge): Promise<void> {
    const c = this.cred;
    if (ch.scheme === 'basic') {
      if (!c?.username && !c?.password) throw new PullError('Unauthorized', 'pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials');
      this.authorization = `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
      return;
    }
    if (ch.scheme !== 'bearer') throw new PullError('Unauthorized', `unsupported authentication scheme ${ch.scheme}`);
    const realm = ch.params['realm'];
    if (!realm) throw new PullError('Unauthorized', 'failed to authorize: the registry sent a Bearer challenge without a realm');
    const u = new URL(realm);
    if (ch.params['service']) u.searchParams.set('service', ch.params['service']);
    u.searchParams.set('scope', ch.params['scope'] ?? `repository:${this.ref.repository}:pull`);
    const headers: Record<string, string> = {};
    if (c?.identityToken) {
      // OAuth2 refresh-token grant, as docker and containerd do with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, service: ch.params['service'] ?? '', scope: u.searchParams.get('scope') ?? '', client_id: 'skiff' });
      const res = await fetch(realm, { method: 'POST', body: form, signal: this.signal });
      if (!res.ok) throw new PullError('Unauthorized', `failed to authorize: failed to fetch oauth token: unexpected status from POST request to ${realm}: ${res.status} ${res.statusText}`);
      const body = (await res.json()) as { access_token?: string; token?: string };
      this.authorization = `Bearer ${body.access_token ?? body.token ?? ''}`;
      return;
    }
    if (c?.username !== undefined || c?.password !== undefined) headers['authorization'] = `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
    const res = await fetch(u, { headers, signal: this.signal });
    if (!res.ok) {
      const kind = headers['authorization'] ? 'fetch oauth token' : 'fetch anonymous token';
      const msg = await registryMessage(res);
      throw new PullError('Unauthorized', `failed to authorize: failed to ${kind}: unexpected status from GET request to ${u.origin}${u.pathname}: ${res.status} ${res.statusText}${msg ? ` (${msg})` : ''}`);
    }
    const body = (await res.json()) as { access_token?: string; token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new PullError('Unauthorized', 'failed to authorize: the token endpoint returned no token');
    this.authorization = `Bearer ${token}`;
  }
}

async function fetchManifest(s: RegistrySession, refName: string, tagOrDigest: string): Promise<{ body: Buffer; digest: string; contentType: string }> {
  const res = await s.get(`/manifests/${tagOrDigest}`, manifestAccept);
  if (res.status === 404) {
    const msg = await registryMessage(res);
    throw new PullError('NotFound', `${refName}: not found${msg && !/manifest unknown|name unknown/i.test(msg) ? ` (${msg})` : ''}`);
  }
  if (!res.ok) {
    const msg = await registryMessage(res);
    throw new PullError('Network', `unexpected status from GET request to ${res.url}: ${res.status} ${res.statusText}${msg ? `: ${msg}` : ''}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  const digest = sha256Digest(body);
  if (tagOrDigest.startsWith('sha256:') && digest !== tagOrDigest) throw new PullError('DigestMismatch', new DigestMismatchError(tagOrDigest, digest).message);
  return { body, digest, contentType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim() };
}

async function fetchBlob(store: ImageStore, s: RegistrySession, d: Descriptor): Promise<void> {
  if (store.hasBlob(d.digest)) return;
  const res = await s.get(`/blobs/${d.digest}`);
  if (res.status === 404) throw new PullError('NotFound', `failed to copy: blob ${d.digest} not found`);
  if (!res.ok || !res.body) throw new PullError('Network', `failed to copy: unexpected status from GET request to ${res.url}: ${res.status} ${res.statusText}`);
  try {
    await store.ingest(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), { expected: d.digest, expectedSize: d.size });
  } catch (e) {
    if (e instanceof DigestMismatchError) throw new PullError('DigestMismatch', `failed to copy: ${e.message}`);
    throw new PullError('Network', `failed to copy: ${(e as Error).message}`);
  }
}

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * Pulls `image` into `store` and returns its record. Rejects with PullError (kind NotFound, Unauthorized,
 * DigestMismatch, Platform, Network, Invalid); a failed pull stores no unverified content.
 */
export async function pullImage(store: ImageStore, image: string, opts: PullOptions = {}): Promise<ImageRecord> {
  let ref: ImageReference;
  try {
    ref = parseReference(image);
  } catch (e) {
    throw new PullError('Invalid', `failed to pull and unpack image "${image}": ${(e as Error).message}`);
  }
  const name = formatReference(ref);
  const platform = opts.platform ?? hostPlatform();
  const creds: (RegistryCredential | undefined)[] = opts.credentials && opts.credentials.length > 0 ? opts.credentials : [undefined];
  const t0 = Date.now();
  store.pullsInFlight++;
  try {
    let lastErr: PullError | undefined;
    for (const cred of creds) {
      const s = new RegistrySession(ref, cred, opts);
      let manifestDigest: string;
      let manifest: Manifest;
      try {
        const top = await fetchManifest(s, name, ref.digest ?? ref.tag ?? 'latest');
        let doc = JSON.parse(top.body.toString('utf8')) as Manifest | ImageIndex;
        let body = top.body;
        let digest = top.digest;
        if (isIndex(doc as ImageIndex, top.contentType)) {
          const index = doc as ImageIndex;
          const chosen = selectPlatform(index, platform);
          if (!chosen) {
            const offered = index.manifests.filter((m) => m.platform && m.platform.architecture !== 'unknown').map((m) => formatPlatform(m.platform!));
            throw new PullError('Platform', `no match for platform ${formatPlatform(platform)} in manifest ${digest}: not found (the image offers ${offered.join(', ') || 'no platforms'})`);
          }
          const m = await fetchManifest(s, name, chosen.digest);
          if (m.digest !== chosen.digest) throw new PullError('DigestMismatch', new DigestMismatchError(chosen.digest, m.digest).message);
          store.putBlob(top.body, top.digest);
          body = m.body;
          digest = m.digest;
          doc = JSON.parse(body.toString('utf8')) as Manifest;
        }
        manifest = doc as Manifest;
        if (!manifest.config || !Array.isArray(manifest.layers)) throw new PullError('Invalid', `unsupported manifest ${digest} (schema ${manifest.schemaVersion}, ${manifest.mediaType ?? top.contentType})`);
        manifestDigest = digest;
        await fetchBlob(store, s, manifest.config);
        // The platform is checked before the layers are downloaded.
        const cfg = store.readJson<{ os?: string; architecture?: string }>(manifest.config.digest);
        if (cfg.os && cfg.architecture && (cfg.os !== platform.os || cfg.architecture !== platform.architecture)) {
          throw new PullError('Platform', `image ${name} is for platform ${cfg.os}/${cfg.architecture}, not ${formatPlatform(platform)}`);
        }
        await pool(manifest.layers, opts.concurrency ?? 3, (l) => fetchBlob(store, s, l));
        store.putBlob(body, digest);
      } catch (e) {
        if (e instanceof PullError && e.kind === 'Unauthorized' && creds.length > 1) {
          lastErr = e;
          continue;
        }
        throw e;
      }
      let rec: ImageRecord;
      try {
        rec = await store.addImage(manifestDigest, { names: [name], platform });
      } catch (e) {
        if (e instanceof DigestMismatchError) throw new PullError('DigestMismatch', `failed to extract layer: ${e.message}`);
        if (e instanceof PlatformMismatchError) throw new PullError('Platform', e.message);
        throw e;
      }
      log.info('image pulled', { image: name, id: rec.id, ms: Date.now() - t0, bytes: rec.size });
      return rec;
    }
    throw lastErr ?? new PullError('Unauthorized', 'no credentials worked');
  } catch (e) {
    if (e instanceof PullError) {
      const resolveStage = e.kind === 'NotFound' || e.kind === 'Unauthorized';
      throw new PullError(e.kind, `failed to pull and unpack image "${name}": ${resolveStage && !e.message.startsWith('failed to copy') ? `failed to resolve reference "${name}": ` : ''}${e.message}`);
    }
    if ((e as Error).name === 'AbortError') throw e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new PullError('Network', `failed to pull and unpack image "${name}": failed to resolve reference "${name}": ${cause?.message ?? (e as Error).message}`);
  } finally {
    store.pullsInFlight--;
  }
}
