/**
 * The kubelet's image manager for one agent: decides from `imagePullPolicy` whether a container's image must be
 * pulled, pulls it through the runtime with credentials from the pod's `imagePullSecrets`, and keeps a per
 * pod-and-image back-off so that a failing pull reports ErrImagePull once and then ImagePullBackOff, with
 * upstream's event and status messages.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { credentialsFor, parseDockerConfig } from '../images/credentials.ts';
import type { DockerConfig } from '../images/credentials.ts';
import { parseReference } from '../images/reference.ts';
import type { ContainerRuntime, PullCredential } from '../runtime/runtime.ts';
import type { ConfigSource } from './env.ts';
import type { BackoffPolicy } from './worker.ts';

/** The pull policy in effect: the container's, else upstream's default (Always for `:latest` or no tag, else IfNotPresent). */
export function effectivePullPolicy(c: Pick<Container, 'image' | 'imagePullPolicy'>): 'Always' | 'IfNotPresent' | 'Never' {
  const p = c.imagePullPolicy;
  if (p === 'Always' || p === 'IfNotPresent' || p === 'Never') return p;
  const image = c.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const tag = colon >= 0 ? image.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Credentials for `image` from the pod's imagePullSecrets (dockerconfigjson / dockercfg), most specific first; missing or malformed secrets are skipped, as upstream does. */
export async function pullCredentials(pod: Pod, image: string, opts: { source: ConfigSource }): Promise<PullCredential[]> {
  const refs = pod.spec?.imagePullSecrets ?? [];
  if (refs.length === 0) return [];
  let registry: string;
  let repository: string;
  try {
    ({ registry, repository } = parseReference(image));
  } catch {
    return [];
  }
  const ns = pod.metadata?.namespace ?? 'default';
  const configs: DockerConfig[] = [];
  for (const r of refs) {
    if (!r.name) continue;
    const s = await opts.source.getSecret(ns, r.name);
    const raw = s?.data?.['.dockerconfigjson'] ?? s?.data?.['.dockercfg'];
    if (!raw) continue;
    try {
      configs.push(parseDockerConfig(Buffer.from(raw, 'base64').toString('utf8')));
    } catch {
      // The kubelet logs and ignores a pull secret it cannot parse.
    }
  }
  return credentialsFor(registry, repository, configs);
}

/** The outcome of ensureImage: ready, or a waiting reason and message for the container status. */
export type EnsureResult =
  | { ok: true; imageRef: string }
  | { ok: false; reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName'; message: string; retryAt?: number };

/** An event the image manager wants recorded about a container. */
export interface ImageEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

interface BackoffEntry {
  delayMs: number;
  until: number;
  lastError: string;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

/** Pulls images for the pod workers of one agent, with one back-off per pod and image (shared across attempts). */
export class ImageManager {
  private readonly backoff = new Map<string, BackoffEntry>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly runtime: ContainerRuntime, private readonly policy: BackoffPolicy) {}

  /** Makes sure the container's image is present per its pull policy; `emit` receives upstream's Pulling/Pulled/Failed/BackOff events. */
  async ensureImage(pod: Pod, c: Container, opts: { source: ConfigSource; emit: (ev: ImageEvent) => void; now?: number }): Promise<EnsureResult> {
    const image = c.image ?? '';
    if (image === '') return { ok: false, reason: 'InvalidImageName', message: 'Failed to apply default image tag "": couldn\'t parse image name "": invalid reference format' };
    try {
      parseReference(image);
    } catch (e) {
      return { ok: false, reason: 'InvalidImageName', message: `Failed to apply default image tag "${image}": couldn't parse image name "${image}": ${(e as Error).message}` };
    }
    const policy = effectivePullPolicy(c);
    const present = await this.runtime.imageStatus(image);
    if (present && policy !== 'Always') {
      opts.emit({ type: 'Normal', reason: 'Pulled', message: `Container image "${image}" already present on machine` });
      return { ok: true, imageRef: present.id };
    }
    if (!present && policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      opts.emit({ type: 'Warning', reason: 'ErrImageNeverPull', message });
      return { ok: false, reason: 'ErrImageNeverPull', message };
    }
    const key = `${pod.metadata?.uid ?? ''}/${image}`;
    const now = opts.now ?? Date.now();
    const b = this.backoff.get(key);
    if (b && now < b.until) {
      const msg = `Back-off pulling image "${image}"`;
      opts.emit({ type: 'Normal', reason: 'BackOff', message: msg });
      return { ok: false, reason: 'ImagePullBackOff', message: `${msg}: ErrImagePull: ${b.lastError}`, retryAt: b.until };
    }
    opts.emit({ type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"` });
    const started = Date.now();
    try {
      const credentials = await pullCredentials(pod, image, { source: opts.source });
      // Concurrent pulls of one image (several pods of a Deployment) share one transfer.
      const iKey = `${image}\u0000${JSON.stringify(credentials)}`;
      let p = this.inflight.get(iKey);
      if (!p) {
        p = this.runtime.pullImage(image, { credentials }).finally(() => this.inflight.delete(iKey));
        this.inflight.set(iKey, p);
      }
      const ref = await p;
      this.backoff.delete(key);
      const took = Date.now() - started;
      const size = (await this.runtime.imageStatus(image))?.size ?? 0;
      opts.emit({ type: 'Normal', reason: 'Pulled', message: `Successfully pulled image "${image}" in ${seconds(took)} (${seconds(took)} including waiting). Image size: ${size} bytes.` });
      return { ok: true, imageRef: ref };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const delayMs = b ? Math.min(this.policy.maxMs, b.delayMs * 2) : this.policy.initialMs;
      const at = Date.now();
      this.backoff.set(key, { delayMs, until: at + delayMs, lastError: msg });
      // The caller records `Error: ErrImagePull` with the other container errors, as the kubelet's runtime manager does.
      opts.emit({ type: 'Warning', reason: 'Failed', message: `Failed to pull image "${image}": ${msg}` });
      return { ok: false, reason: 'ErrImagePull', message: msg, retryAt: at + delayMs };
    }
  }

  /** Forgets the back-off entries of a pod (it was deleted). */
  forgetPod(uid: string): void {
    for (const k of this.backoff.keys()) if (k.startsWith(`${uid}/`)) this.backoff.delete(k);
  }
}
