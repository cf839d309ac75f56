/**
 * Registry credentials from `kubernetes.io/dockerconfigjson` (and legacy `kubernetes.io/dockercfg`) pull secrets,
 * matched to an image the way the kubelet's credential provider does: by registry host, then by the longest path
 * prefix; Docker Hub's historical keys (`https://index.docker.io/v1/`) count as docker.io.
 */

/** One set of credentials for a registry. */
export interface RegistryCredential {
  username?: string;
  password?: string;
  /** A bearer token sent to the token endpoint (`identitytoken`) instead of a password. */
  identityToken?: string;
  /** A token used directly as `Authorization: Bearer` (`registrytoken`). */
  registryToken?: string;
}

interface DockerConfigEntry {
  username?: string;
  password?: string;
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** A parsed docker config: key (registry, possibly with scheme and path) → entry. */
export type DockerConfig = Record<string, DockerConfigEntry>;

/** Parses the `.dockerconfigjson` (`{"auths": {…}}`) or `.dockercfg` (`{…}`) payload; throws on invalid JSON. */
export function parseDockerConfig(text: string): DockerConfig {
  const doc = JSON.parse(text) as { auths?: DockerConfig } & DockerConfig;
  const auths = doc.auths && typeof doc.auths === 'object' ? doc.auths : (doc as DockerConfig);
  const out: DockerConfig = {};
  for (const [k, v] of Object.entries(auths)) if (v && typeof v === 'object') out[k] = v;
  return out;
}

function normalizeKey(key: string): { host: string; path: string } {
  let k = key.replace(/^[a-z]+:\/\//i, '');
  k = k.replace(/\/+$/, '');
  const slash = k.indexOf('/');
  let host = slash >= 0 ? k.slice(0, slash) : k;
  let path = slash >= 0 ? k.slice(slash + 1) : '';
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com') host = 'docker.io';
  // Docker Hub's "v1/" suffix names the registry, not a repository path.
  if (host === 'docker.io' && (path === 'v1' || path === 'v2')) path = '';
  return { host: host.toLowerCase(), path };
}

function toCredential(e: DockerConfigEntry): RegistryCredential {
  let { username, password } = e;
  if (e.auth) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  return {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(e.identitytoken ? { identityToken: e.identitytoken } : {}),
    ...(e.registrytoken ? { registryToken: e.registrytoken } : {}),
  };
}

function globMatch(pattern: string, host: string): boolean {
  if (!pattern.includes('*')) return pattern === host;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`);
  return re.test(host);
}

/**
 * Credentials that apply to `registry`/`repository`, most specific first, from any number of docker configs (in
 * the order the pod lists its imagePullSecrets).
 */
export function credentialsFor(registry: string, repository: string, configs: DockerConfig[]): RegistryCredential[] {
  const matches: { cred: RegistryCredential; specificity: number; order: number }[] = [];
  let order = 0;
  for (const cfg of configs) {
    for (const [key, entry] of Object.entries(cfg)) {
      const k = normalizeKey(key);
      order++;
      if (!globMatch(k.host, registry.toLowerCase())) continue;
      if (k.path && repository !== k.path && !repository.startsWith(`${k.path}/`)) continue;
      matches.push({ cred: toCredential(entry), specificity: k.path.length, order });
    }
  }
  return matches.sort((a, b) => b.specificity - a.specificity || a.order - b.order).map((m) => m.cred);
}
