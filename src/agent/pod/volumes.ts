/**
 * Pod volumes as directories on the host: emptyDir (medium Memory under /dev/shm), configMap, secret,
 * downwardAPI and projected volumes written atomically the way the kubelet's AtomicWriter does (a `..data`
 * link swapped to a fresh timestamped directory, key files linked through it), and hostPath (the host path
 * itself). Runtimes then make each directory visible at the container's mountPath. ServiceAccount token
 * projections are requested through the TokenRequest API and re-requested, as the kubelet's token manager does,
 * once 80 % of their lifetime (or 24 h) has passed; every refresh of the pod's volumes checks them.
 */
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import type { DownwardAPIVolumeFile, KeyToPath, Pod, ServiceAccountTokenProjection, Volume } from 'kubernetes-types/core/v1.js';
import type { ConfigSource, DownwardContext } from './env.ts';
import { podFieldValue, resourceFieldValue } from './env.ts';

/** A volume that could not be set up (FailedMount). */
export class VolumeError extends Error {
  override readonly name = 'VolumeError';
  readonly volume: string;
  constructor(volume: string, message: string) {
    super(message);
    this.volume = volume;
  }
}

/** Files of a volume: relative path → content and mode. */
type Payload = Map<string, { data: Buffer; mode: number }>;

/** Issues ServiceAccount tokens bound to a pod (POST serviceaccounts/<name>/token). */
export interface TokenSource {
  requestServiceAccountToken(namespace: string, serviceAccount: string, opts: {
    audiences?: string[];
    expirationSeconds: number;
    pod: { name: string; uid: string };
  }): Promise<{ token: string; expirationTimestamp: string }>;
}

/** Options of setUpVolumes. */
export interface VolumeOptions {
  /** Where configMap/secret data comes from; with requestServiceAccountToken also ServiceAccount tokens. */
  source: ConfigSource & Partial<TokenSource>;
  downward: DownwardContext;
  memoryDir?: string;
  /** The clock for token lifetimes (ms since the epoch; default Date.now). */
  now?: () => number;
}

interface IssuedToken {
  token: string;
  /** ms since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

/** The kubelet's token manager cache, per token source (one per agent): pod uid, volume and path → token. */
const tokenCaches = new WeakMap<object, Map<string, IssuedToken>>();

const MAX_TOKEN_AGE_MS = 24 * 3600 * 1000;

/** upstream requiresRefresh (without jitter): past 80 % of the lifetime, or older than 24 h. */
function needsRefresh(t: IssuedToken, now: number): boolean {
  return now >= t.issuedAt + MAX_TOKEN_AGE_MS || now >= t.expiresAt - (t.expiresAt - t.issuedAt) * 0.2;
}

/**
 * Sets up (or refreshes) every volume of `pod` under `dir`; returns volume name → host path. Rejects with
 * VolumeError (upstream's `MountVolume.SetUp failed …` wording) when a non-optional source is missing.
 */
export async function setUpVolumes(pod: Pod, dir: string, opts: VolumeOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    out.set(v.name, await setUpVolume(pod, v, dir, opts));
  }
  return out;
}

async function setUpVolume(pod: Pod, v: Volume, dir: string, opts: VolumeOptions): Promise<string> {
  const target = join(dir, v.name);
  const ns = pod.metadata?.namespace ?? 'default';
  if (v.hostPath) {
    const p = v.hostPath.path;
    const type = v.hostPath.type ?? '';
    if (type === 'DirectoryOrCreate') fs.mkdirSync(p, { recursive: true });
    else if (type === 'FileOrCreate' && !fs.existsSync(p)) {
      fs.mkdirSync(dirname(p), { recursive: true });
      fs.writeFileSync(p, '');
    } else if (type === 'Directory' && !isDir(p)) throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${p} is not a directory`);
    else if (type === 'File' && !isFile(p)) throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${p} is not a file`);
    return p;
  }
  if (v.emptyDir) {
    if (v.emptyDir.medium === 'Memory' && opts.memoryDir) {
      const p = join(opts.memoryDir, `${pod.metadata?.uid ?? 'pod'}-${v.name}`);
      fs.mkdirSync(p, { recursive: true });
      if (!fs.existsSync(target)) fs.symlinkSync(p, target);
      return p;
    }
    fs.mkdirSync(target, { recursive: true });
    return target;
  }
  let payload: Payload | undefined;
  if (v.configMap) {
    const name = v.configMap.name ?? '';
    const cm = await opts.source.getConfigMap(ns, name);
    if (!cm) {
      if (!v.configMap.optional) throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : configmap "${name}" not found`);
      payload = new Map();
    } else {
      const all = new Map<string, Buffer>();
      for (const [k, val] of Object.entries(cm.data ?? {})) all.set(k, Buffer.from(val));
      for (const [k, val] of Object.entries(cm.binaryData ?? {})) all.set(k, Buffer.from(val, 'base64'));
      payload = project(v.name, all, v.configMap.items, v.configMap.defaultMode ?? 0o644, v.configMap.optional ?? false, `configmap "${name}"`);
    }
  } else if (v.secret) {
    const name = v.secret.secretName ?? '';
    const s = await opts.source.getSecret(ns, name);
    if (!s) {
      if (!v.secret.optional) throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`);
      payload = new Map();
    } else {
      const all = new Map<string, Buffer>();
      for (const [k, val] of Object.entries(s.data ?? {})) all.set(k, Buffer.from(val, 'base64'));
      payload = project(v.name, all, v.secret.items, v.secret.defaultMode ?? 0o644, v.secret.optional ?? false, `secret "${name}"`);
    }
  } else if (v.downwardAPI) {
    payload = downwardPayload(pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? 0o644, opts.downward);
  } else if (v.projected) {
    payload = new Map();
    const mode = v.projected.defaultMode ?? 0o644;
    const sources = v.projected.sources ?? [];
    // Every source is fetched at once (the root CA ConfigMap and the TokenRequest of every pod's token volume would
    // otherwise cost two API round trips in a row), then projected in order.
    const fetched = await Promise.allSettled(sources.map((src): Promise<unknown> => {
      if (src.configMap) return opts.source.getConfigMap(ns, src.configMap.name ?? '');
      if (src.secret) return opts.source.getSecret(ns, src.secret.name ?? '');
      if (src.serviceAccountToken) return serviceAccountToken(pod, v.name, src.serviceAccountToken, opts);
      return Promise.resolve(undefined);
    }));
    const result = <T>(i: number): T => {
      const r = fetched[i]!;
      if (r.status === 'rejected') throw r.reason;
      return r.value as T;
    };
    for (const [i, src] of sources.entries()) {
      if (src.configMap) {
        const name = src.configMap.name ?? '';
        const cm = result<Awaited<ReturnType<typeof opts.source.getConfigMap>>>(i);
        if (!cm) {
          if (src.configMap.optional) continue;
          throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : configmap "${name}" not found`);
        }
        const all = new Map<string, Buffer>();
        for (const [k, val] of Object.entries(cm.data ?? {})) all.set(k, Buffer.from(val));
        for (const [k, val] of project(v.name, all, src.configMap.items, mode, src.configMap.optional ?? false, `configmap "${name}"`)) payload.set(k, val);
      } else if (src.secret) {
        const name = src.secret.name ?? '';
        const s = result<Awaited<ReturnType<typeof opts.source.getSecret>>>(i);
        if (!s) {
          if (src.secret.optional) continue;
          throw new VolumeError(v.name, `MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`);
        }
        const all = new Map<string, Buffer>();
        for (const [k, val] of Object.entries(s.data ?? {})) all.set(k, Buffer.from(val, 'base64'));
        for (const [k, val] of project(v.name, all, src.secret.items, mode, src.secret.optional ?? false, `secret "${name}"`)) payload.set(k, val);
      } else if (src.downwardAPI) {
        for (const [k, val] of downwardPayload(pod, src.downwardAPI.items ?? [], mode, opts.downward)) payload.set(k, val);
      } else if (src.serviceAccountToken) {
        const token = result<string>(i);
        payload.set(src.serviceAccountToken.path, { data: Buffer.from(token), mode });
      }
    }
  } else {
    // Volume types without host support here (PVCs, cloud disks…) get scratch space so that the pod can start.
    fs.mkdirSync(target, { recursive: true });
    return target;
  }
  writeAtomic(target, payload);
  return target;
}

/** The token for a projection: the cached one while fresh, else a new one from the TokenRequest API. */
async function serviceAccountToken(pod: Pod, volume: string, p: ServiceAccountTokenProjection, opts: VolumeOptions): Promise<string> {
  const source = opts.source;
  // Without a token source (tests, simulated nodes) an empty file keeps paths stable for programs that only check existence.
  if (!source.requestServiceAccountToken) return '';
  let cache = tokenCaches.get(source);
  if (!cache) tokenCaches.set(source, (cache = new Map()));
  const now = (opts.now ?? Date.now)();
  for (const [k, t] of cache) if (t.expiresAt <= now) cache.delete(k);
  const uid = pod.metadata?.uid ?? '';
  const key = `${uid}/${volume}/${p.path}`;
  const cached = cache.get(key);
  if (cached && !needsRefresh(cached, now)) return cached.token;
  const ns = pod.metadata?.namespace ?? 'default';
  const sa = pod.spec?.serviceAccountName || 'default';
  const expirationSeconds = p.expirationSeconds ?? 3600;
  try {
    const r = await source.requestServiceAccountToken(ns, sa, {
      ...(p.audience ? { audiences: [p.audience] } : {}), expirationSeconds, pod: { name: pod.metadata?.name ?? '', uid },
    });
    const expiresAt = Date.parse(r.expirationTimestamp);
    cache.set(key, { token: r.token, issuedAt: now, expiresAt: Number.isFinite(expiresAt) ? expiresAt : now + expirationSeconds * 1000 });
    return r.token;
  } catch (e) {
    // A token that has not expired yet is still good; the next refresh tries again.
    if (cached && cached.expiresAt > now) return cached.token;
    throw new VolumeError(volume, `MountVolume.SetUp failed for volume "${volume}" : failed to fetch token: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function project(volume: string, all: Map<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean, what: string): Payload {
  const out: Payload = new Map();
  if (!items || items.length === 0) {
    for (const [k, data] of all) out.set(k, { data, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const data = all.get(it.key);
    if (data === undefined) {
      if (optional) continue;
      throw new VolumeError(volume, `MountVolume.SetUp failed for volume "${volume}" : configmap references non-existent config key: ${it.key}`.replace('configmap', what.startsWith('secret') ? 'secret' : 'configmap'));
    }
    out.set(it.path, { data, mode: it.mode ?? defaultMode });
  }
  return out;
}

function downwardPayload(pod: Pod, items: DownwardAPIVolumeFile[], defaultMode: number, ctx: DownwardContext): Payload {
  const out: Payload = new Map();
  for (const it of items) {
    let value = '';
    if (it.fieldRef) value = podFieldValue(pod, it.fieldRef, ctx);
    else if (it.resourceFieldRef) value = resourceFieldValue(pod, undefined, it.resourceFieldRef, ctx);
    out.set(it.path, { data: Buffer.from(value), mode: it.mode ?? defaultMode });
  }
  return out;
}

/**
 * AtomicWriter: writes the payload to a fresh `..<timestamp>` directory, swaps the `..data` link to it with a
 * rename, links each top-level entry through `..data`, and removes the previous directory. Readers never see a
 * half-written update. Unchanged payloads are left alone.
 */
export function writeAtomic(target: string, payload: Payload): void {
  fs.mkdirSync(target, { recursive: true });
  const dataLink = join(target, '..data');
  let current: string | undefined;
  try {
    current = fs.readlinkSync(dataLink);
  } catch {
    current = undefined;
  }
  if (current && sameContent(join(target, current), payload)) return;
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace(/\..*$/, '')}.${process.hrtime.bigint().toString().slice(-9)}`;
  const fresh = join(target, stamp);
  fs.mkdirSync(fresh, { recursive: true });
  for (const [rel, f] of payload) {
    const p = join(fresh, rel);
    fs.mkdirSync(dirname(p), { recursive: true });
    fs.writeFileSync(p, f.data, { mode: f.mode });
    fs.chmodSync(p, f.mode);
  }
  const tmpLink = join(target, '..data_tmp');
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(stamp, tmpLink);
  fs.renameSync(tmpLink, dataLink);
  const tops = new Set([...payload.keys()].map((rel) => rel.split('/')[0]!));
  for (const top of tops) {
    const link = join(target, top);
    try {
      if (fs.readlinkSync(link) === join('..data', top)) continue;
    } catch {
      // missing
    }
    fs.rmSync(link, { force: true, recursive: true });
    fs.symlinkSync(join('..data', top), link);
  }
  for (const name of fs.readdirSync(target)) {
    if (name === '..data' || name === stamp) continue;
    if (name.startsWith('..')) fs.rmSync(join(target, name), { recursive: true, force: true });
    else if (!tops.has(name)) fs.rmSync(join(target, name), { recursive: true, force: true });
  }
}

function sameContent(dir: string, payload: Payload): boolean {
  try {
    const existing = listFiles(dir);
    if (existing.length !== payload.size) return false;
    for (const rel of existing) {
      const want = payload.get(rel);
      if (!want || !fs.readFileSync(join(dir, rel)).equals(want.data)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
