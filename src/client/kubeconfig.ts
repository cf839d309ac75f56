/**
 * kubeconfig loading with kubectl's rules: an explicit path, else every file in $KUBECONFIG merged (the first
 * file to set a map entry or current-context wins; missing files are skipped), else ~/.kube/config. Relative
 * file references are resolved against the directory of the file that holds them. `resolveClientConfig`
 * applies the command-line overrides and reads the referenced files into a ready-to-use ClientConfig.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { parseSimpleYaml } from './kubeconfig-yaml.ts';

let yamlLib: typeof import('yaml') | undefined;

/**
 * The full YAML library, loaded on first use and resolved from node_modules at run time: most kubeconfigs are
 * read by parseSimpleYaml, and a CLI start should neither compile nor evaluate the library (bundlers leave this
 * require alone, so it stays out of the start-up chunk).
 */
function yamlCodec(): typeof import('yaml') {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLib;
}

/** A cluster entry (clientcmdapi.Cluster, kubeconfig spelling). */
export interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  [field: string]: unknown;
}

/** A user entry (clientcmdapi.AuthInfo, kubeconfig spelling). */
export interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  as?: string;
  'as-groups'?: string[];
  exec?: unknown;
  'auth-provider'?: unknown;
  [field: string]: unknown;
}

/** A context entry. */
export interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
  [field: string]: unknown;
}

/** A kubeconfig file's content (clientcmdapi.Config, v1 serialization). */
export interface Kubeconfig {
  apiVersion: string;
  kind: string;
  'current-context'?: string;
  preferences?: Record<string, unknown>;
  clusters: { name: string; cluster: KubeconfigCluster }[];
  users: { name: string; user: KubeconfigUser }[];
  contexts: { name: string; context: KubeconfigContext }[];
  [field: string]: unknown;
}

/** A kubeconfig problem: missing or malformed file, unknown context, no server… One line, meant for people. */
export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

/** The loaded, merged kubeconfig and the files that contributed to it (in precedence order). */
export interface LoadedKubeconfig {
  config: Kubeconfig;
  files: string[];
}

/** Everything a REST client needs to reach one cluster as one user. */
export interface ClientConfig {
  /** Base URL of the API server, without a trailing slash. */
  server: string;
  /** Default namespace for namespaced requests ("default" unless the context or an override sets one). */
  namespace: string;
  contextName?: string;
  clusterName?: string;
  userName?: string;
  token?: string;
  username?: string;
  password?: string;
  /** PEM bytes. */
  caData?: Buffer;
  certData?: Buffer;
  keyData?: Buffer;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  /** Impersonation (--as, --as-group). */
  impersonateUser?: string;
  impersonateGroups?: string[];
}

/** Command-line overrides, as kubectl's flags. */
export interface KubeconfigOverrides {
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  server?: string;
  token?: string;
  insecureSkipTLSVerify?: boolean;
  certificateAuthority?: string;
  clientCertificate?: string;
  clientKey?: string;
  tlsServerName?: string;
  as?: string;
  asGroups?: string[];
}

/** An empty kubeconfig. */
export function emptyKubeconfig(): Kubeconfig {
  return { apiVersion: 'v1', kind: 'Config', preferences: {}, clusters: [], users: [], contexts: [] };
}

/**
 * Loads the kubeconfig kubectl would use: `path` if given (it must exist), else the $KUBECONFIG files merged,
 * else ~/.kube/config if present, else an empty config. Throws KubeconfigError for a missing explicit file or
 * a malformed one.
 */
export function loadKubeconfig(path?: string, opts: { env?: Record<string, string | undefined>; homeDir?: string } = {}): LoadedKubeconfig {
  const env = opts.env ?? process.env;
  if (path) return { config: readKubeconfigFile(path, { mustExist: true }) ?? emptyKubeconfig(), files: [resolve(path)] };
  const fromEnv = env['KUBECONFIG'];
  let candidates: string[];
  if (fromEnv !== undefined && fromEnv !== '') {
    candidates = [...new Set(fromEnv.split(delimiter).filter((p) => p !== ''))];
  } else {
    candidates = [join(opts.homeDir ?? env['HOME'] ?? homedir(), '.kube', 'config')];
  }
  const configs: Kubeconfig[] = [];
  const files: string[] = [];
  for (const f of candidates) {
    const c = readKubeconfigFile(f, { mustExist: false });
    if (c === undefined) continue;
    configs.push(c);
    files.push(resolve(f));
  }
  return { config: mergeKubeconfigs(configs), files };
}

/** Parses one kubeconfig document; relative file references resolve against `baseDir`. Throws KubeconfigError. */
export function parseKubeconfig(text: string, opts: { source?: string; baseDir?: string } = {}): Kubeconfig {
  const where = opts.source ?? '<input>';
  let doc: unknown;
  try {
    const simple = parseSimpleYaml(text);
    doc = simple ? simple.value : yamlCodec().parse(text);
  } catch (e) {
    const msg = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
    throw new KubeconfigError(`error loading config file "${where}": ${msg}`);
  }
  const cfg = emptyKubeconfig();
  if (doc === null || doc === undefined) return cfg;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KubeconfigError(`error loading config file "${where}": not a kubeconfig (expected a mapping at the top level)`);
  }
  const d = doc as Record<string, unknown>;
  Object.assign(cfg, d);
  cfg.apiVersion = typeof d['apiVersion'] === 'string' ? d['apiVersion'] : 'v1';
  cfg.kind = typeof d['kind'] === 'string' ? d['kind'] : 'Config';
  cfg.clusters = namedList(d['clusters'], 'cluster', where) as Kubeconfig['clusters'];
  cfg.users = namedList(d['users'], 'user', where) as Kubeconfig['users'];
  cfg.contexts = namedList(d['contexts'], 'context', where) as Kubeconfig['contexts'];
  const cc = d['current-context'];
  if (cc !== undefined && cc !== null && typeof cc !== 'string') {
    throw new KubeconfigError(`error loading config file "${where}": current-context must be a string`);
  }
  if (typeof cc === 'string' && cc !== '') cfg['current-context'] = cc;
  else delete cfg['current-context'];
  if (opts.baseDir !== undefined) resolveLocalPaths(cfg, opts.baseDir);
  return cfg;
}

/** Merges configs in precedence order: the first to define a cluster/user/context name or current-context wins. */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const out = emptyKubeconfig();
  const seen = { clusters: new Set<string>(), users: new Set<string>(), contexts: new Set<string>() };
  for (const c of configs) {
    if (out['current-context'] === undefined && c['current-context']) out['current-context'] = c['current-context'];
    if (c.preferences && Object.keys(out.preferences ?? {}).length === 0) out.preferences = c.preferences;
    for (const e of c.clusters) if (!seen.clusters.has(e.name)) (seen.clusters.add(e.name), out.clusters.push(e));
    for (const e of c.users) if (!seen.users.has(e.name)) (seen.users.add(e.name), out.users.push(e));
    for (const e of c.contexts) if (!seen.contexts.has(e.name)) (seen.contexts.add(e.name), out.contexts.push(e));
  }
  return out;
}

/** Serializes a kubeconfig as YAML, kubectl's field order (for `config view` and writing files). */
export function serializeKubeconfig(config: Kubeconfig): string {
  const { apiVersion, kind, clusters, contexts, users, preferences, ...rest } = config;
  const current = config['current-context'] ?? '';
  delete rest['current-context'];
  return yamlCodec().stringify({ apiVersion, clusters, contexts, 'current-context': current, kind, preferences: preferences ?? {}, users, ...rest });
}

/**
 * Applies `overrides` to the selected context and reads referenced files (tokenFile, certificates, CA) into a
 * ClientConfig. Throws KubeconfigError for unknown contexts/users/clusters or when no server is configured.
 */
export function resolveClientConfig(config: Kubeconfig, overrides: KubeconfigOverrides = {}): ClientConfig {
  const contextName = overrides.context ?? config['current-context'];
  let context: KubeconfigContext = {};
  if (contextName) {
    const found = config.contexts.find((c) => c.name === contextName);
    if (!found) throw new KubeconfigError(`context was not found for specified context: ${contextName}`);
    context = found.context ?? {};
  }
  const clusterName = overrides.cluster ?? context.cluster;
  let cluster: KubeconfigCluster = {};
  if (clusterName) {
    const found = config.clusters.find((c) => c.name === clusterName);
    if (!found && overrides.server === undefined) throw new KubeconfigError(`cluster "${clusterName}" does not exist`);
    cluster = found?.cluster ?? {};
  }
  const userName = overrides.user ?? context.user;
  let user: KubeconfigUser = {};
  if (userName) {
    const found = config.users.find((u) => u.name === userName);
    if (!found) throw new KubeconfigError(`auth info "${userName}" does not exist`);
    user = found.user ?? {};
  }

  const rawServer = overrides.server ?? cluster.server;
  if (!rawServer) {
    throw new KubeconfigError(
      clusterName
        ? `invalid configuration: no server found for cluster "${clusterName}"`
        : 'invalid configuration: no configuration has been provided, try setting KUBECONFIG or --server',
    );
  }
  const out: ClientConfig = { server: normalizeServer(rawServer), namespace: overrides.namespace || context.namespace || 'default' };
  if (contextName) out.contextName = contextName;
  if (clusterName) out.clusterName = clusterName;
  if (userName) out.userName = userName;

  const insecure = overrides.insecureSkipTLSVerify ?? cluster['insecure-skip-tls-verify'] ?? false;
  if (insecure) out.insecureSkipTLSVerify = true;
  else if (overrides.certificateAuthority) out.caData = readRef(overrides.certificateAuthority, 'certificate-authority');
  else if (cluster['certificate-authority-data']) out.caData = decodeData(cluster['certificate-authority-data'], 'certificate-authority-data');
  else if (cluster['certificate-authority']) out.caData = readRef(cluster['certificate-authority'], 'certificate-authority');
  const tlsServerName = overrides.tlsServerName ?? cluster['tls-server-name'];
  if (tlsServerName) out.tlsServerName = tlsServerName;

  if (overrides.token) out.token = overrides.token;
  else if (user.token) out.token = user.token;
  else if (user.tokenFile) out.token = readRef(user.tokenFile, 'tokenFile').toString('utf8').trim();
  if (overrides.clientCertificate) out.certData = readRef(overrides.clientCertificate, 'client-certificate');
  else if (user['client-certificate-data']) out.certData = decodeData(user['client-certificate-data'], 'client-certificate-data');
  else if (user['client-certificate']) out.certData = readRef(user['client-certificate'], 'client-certificate');
  if (overrides.clientKey) out.keyData = readRef(overrides.clientKey, 'client-key');
  else if (user['client-key-data']) out.keyData = decodeData(user['client-key-data'], 'client-key-data');
  else if (user['client-key']) out.keyData = readRef(user['client-key'], 'client-key');
  if ((out.certData === undefined) !== (out.keyData === undefined)) {
    throw new KubeconfigError(`invalid configuration: client-certificate and client-key must be given together for user "${userName ?? ''}"`);
  }
  if (user.username !== undefined && !out.token) {
    out.username = user.username;
    out.password = user.password ?? '';
  }
  if (!out.token && !out.certData && out.username === undefined && (user.exec || user['auth-provider'])) {
    throw new KubeconfigError(`user "${userName ?? ''}" uses an exec or auth-provider plugin, which is not supported`);
  }
  const as = overrides.as ?? user.as;
  if (as) out.impersonateUser = as;
  const asGroups = overrides.asGroups ?? user['as-groups'];
  if (asGroups && asGroups.length > 0) out.impersonateGroups = asGroups;
  return out;
}

/** loadKubeconfig followed by resolveClientConfig: the usual way a component gets its ClientConfig. */
export function clientConfigFromKubeconfig(path?: string, opts: KubeconfigOverrides & { env?: Record<string, string | undefined>; homeDir?: string } = {}): ClientConfig {
  const { env, homeDir, ...overrides } = opts;
  const loaded = loadKubeconfig(path, { env, homeDir });
  return resolveClientConfig(loaded.config, overrides);
}

function readKubeconfigFile(path: string, opts: { mustExist: boolean }): Kubeconfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !opts.mustExist) return undefined;
    if (code === 'ENOENT') throw new KubeconfigError(`stat ${path}: no such file or directory`);
    throw new KubeconfigError(`error loading config file "${path}": ${(e as Error).message}`);
  }
  return parseKubeconfig(text, { source: path, baseDir: dirname(resolve(path)) });
}

function namedList(v: unknown, field: string, where: string): { name: string }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new KubeconfigError(`error loading config file "${where}": ${field}s must be a list`);
  return v.map((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || typeof (e as { name?: unknown }).name !== 'string') {
      throw new KubeconfigError(`error loading config file "${where}": ${field}s[${i}] has no name`);
    }
    const entry = e as Record<string, unknown>;
    const body = entry[field];
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
      throw new KubeconfigError(`error loading config file "${where}": ${field}s[${i}].${field} must be a mapping`);
    }
    return { ...entry, name: entry['name'] as string, [field]: { ...((body as object | null) ?? {}) } };
  });
}

function resolveLocalPaths(cfg: Kubeconfig, baseDir: string): void {
  const abs = (p: string | undefined): string | undefined => (p && !isAbsolute(p) ? join(baseDir, p) : p);
  for (const { cluster } of cfg.clusters) {
    if (cluster['certificate-authority']) cluster['certificate-authority'] = abs(cluster['certificate-authority']);
  }
  for (const { user } of cfg.users) {
    if (user.tokenFile) user.tokenFile = abs(user.tokenFile);
    if (user['client-certificate']) user['client-certificate'] = abs(user['client-certificate']);
    if (user['client-key']) user['client-key'] = abs(user['client-key']);
  }
}

function readRef(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KubeconfigError(`unable to read ${what} ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
}

function decodeData(data: string, what: string): Buffer {
  const s = data.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new KubeconfigError(`invalid configuration: ${what} is not valid base64`);
  return Buffer.from(s, 'base64');
}

function normalizeServer(s: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`;
  return withScheme.replace(/\/+$/, '');
}
