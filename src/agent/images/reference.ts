/**
 * Image references with the Docker normalisation every Kubernetes runtime applies: `busybox` is
 * `docker.io/library/busybox:latest`, `localhost:5000/app` keeps its registry, `name@sha256:…` pins a digest.
 */

/** A parsed, normalised image reference. */
export interface ImageReference {
  /** Registry host (with port), e.g. `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  repository: string;
  /** Tag, when the reference names one (defaults to `latest` when there is neither tag nor digest). */
  tag?: string;
  /** `sha256:<hex>` when the reference pins a digest. */
  digest?: string;
}

const digestRe = /^sha256:[a-f0-9]{64}$/;
const componentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;

/** An invalid reference (the message is the containerd wording). */
export class InvalidReferenceError extends Error {
  override readonly name = 'InvalidReferenceError';
}

/** Parses and normalises `ref`; throws InvalidReferenceError when it is not a valid reference. */
export function parseReference(ref: string): ImageReference {
  let rest = ref.trim();
  if (rest === '') throw new InvalidReferenceError('invalid reference format: repository name must have at least one component');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw new InvalidReferenceError(`invalid reference format: invalid digest "${digest}"`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw new InvalidReferenceError(`invalid reference format: invalid tag "${tag}"`);
  }
  let registry = 'docker.io';
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Upstream's rule: the first component is a registry when it looks like a host.
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (repository !== repository.toLowerCase()) throw new InvalidReferenceError('invalid reference format: repository name must be lowercase');
  for (const c of repository.split('/')) {
    if (!componentRe.test(c)) throw new InvalidReferenceError('invalid reference format');
  }
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The repository name with its registry (`docker.io/library/busybox`). */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The full normalised reference (`docker.io/library/busybox:latest`, `host/app@sha256:…`). */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** Normalises a reference string (`busybox` → `docker.io/library/busybox:latest`). */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The registry's API host: docker.io is served by registry-1.docker.io. */
export function registryHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

/** Whether a registry host is on this machine (spoken to over plain HTTP, as containerd does for localhost). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
