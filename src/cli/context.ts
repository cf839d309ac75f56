/**
 * What every verb works with: the global flags (kubectl's persistent flags), the standard streams, and the
 * kubeconfig → ClientConfig → RestClient/ApiClient/Discovery chain, each built on first use so that verbs that
 * never talk to a server (config, completion) never pay for it.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ClientConfig, KubeconfigOverrides, LoadedKubeconfig } from '../client/index.ts';
import { ApiClient, RestClient, loadKubeconfig, resolveClientConfig } from '../client/index.ts';
import type { FlagSpec } from './flags.ts';
import { Discovery } from './discovery.ts';

/** kubectl's global flags, as parsed. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  server?: string;
  token?: string;
  insecureSkipTlsVerify?: boolean;
  as?: string;
  asGroup?: string[];
  certificateAuthority?: string;
  clientCertificate?: string;
  clientKey?: string;
  tlsServerName?: string;
  username?: string;
  password?: string;
  cacheDir?: string;
  requestTimeout?: string;
}

/** The global flags in pflag form (verbs accept them anywhere on the command line). */
export const globalFlagSpecs: readonly FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', usage: 'Path to the kubeconfig file to use for CLI requests.' },
  { name: 'context', type: 'string', usage: 'The name of the kubeconfig context to use' },
  { name: 'cluster', type: 'string', usage: 'The name of the kubeconfig cluster to use' },
  { name: 'user', type: 'string', usage: 'The name of the kubeconfig user to use' },
  { name: 'namespace', short: 'n', type: 'string', usage: 'If present, the namespace scope for this CLI request' },
  { name: 'server', short: 's', type: 'string', usage: 'The address and port of the Kubernetes API server' },
  { name: 'token', type: 'string', usage: 'Bearer token for authentication to the API server' },
  { name: 'insecure-skip-tls-verify', type: 'bool', usage: "If true, the server's certificate will not be checked for validity." },
  { name: 'as', type: 'string', usage: 'Username to impersonate for the operation.' },
  { name: 'as-group', type: 'stringArray', usage: 'Group to impersonate for the operation.' },
  { name: 'as-uid', type: 'string', usage: 'UID to impersonate for the operation.' },
  { name: 'certificate-authority', type: 'string', usage: 'Path to a cert file for the certificate authority' },
  { name: 'client-certificate', type: 'string', usage: 'Path to a client certificate file for TLS' },
  { name: 'client-key', type: 'string', usage: 'Path to a client key file for TLS' },
  { name: 'tls-server-name', type: 'string', usage: 'Server name to use for server certificate validation.' },
  { name: 'username', type: 'string', usage: 'Username for basic authentication to the API server' },
  { name: 'password', type: 'string', usage: 'Password for basic authentication to the API server' },
  { name: 'cache-dir', type: 'string', usage: 'Default cache directory' },
  { name: 'request-timeout', type: 'string', default: '0', usage: 'The length of time to wait before giving up on a single server request.' },
  { name: 'match-server-version', type: 'bool', usage: 'Require server version to match client version' },
  { name: 'warnings-as-errors', type: 'bool', usage: 'Treat warnings received from the server as errors' },
  { name: 'disable-compression', type: 'bool', usage: 'If true, opt-out of response compression for all requests to the server' },
  { name: 'v', short: 'v', type: 'string', usage: 'number for the log level verbosity' },
];

/** Converts pflag values of the global flags (by long name) into GlobalOptions, keeping only those given. */
export function globalsFromFlags(values: Record<string, unknown>, changed: ReadonlySet<string>): GlobalOptions {
  const g: GlobalOptions = {};
  const str = (k: string): string | undefined => (changed.has(k) ? String(values[k]) : undefined);
  const assign = <K extends keyof GlobalOptions>(key: K, v: GlobalOptions[K] | undefined): void => {
    if (v !== undefined) g[key] = v;
  };
  assign('kubeconfig', str('kubeconfig'));
  assign('context', str('context'));
  assign('cluster', str('cluster'));
  assign('user', str('user'));
  assign('namespace', str('namespace'));
  assign('server', str('server'));
  assign('token', str('token'));
  if (changed.has('insecure-skip-tls-verify')) g.insecureSkipTlsVerify = values['insecure-skip-tls-verify'] === true;
  assign('as', str('as'));
  if (changed.has('as-group')) g.asGroup = values['as-group'] as string[];
  assign('certificateAuthority', str('certificate-authority'));
  assign('clientCertificate', str('client-certificate'));
  assign('clientKey', str('client-key'));
  assign('tlsServerName', str('tls-server-name'));
  assign('username', str('username'));
  assign('password', str('password'));
  assign('cacheDir', str('cache-dir'));
  assign('requestTimeout', str('request-timeout'));
  return g;
}

/** The streams and environment a command runs with (replaceable in tests). */
export interface CliIO {
  stdout: { write(s: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(s: string | Uint8Array): unknown; isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

let pipeGuard = false;

/** The process's own streams (a closed pipe, as in `skiff get pods | head`, ends the process quietly). */
export function processIO(): CliIO {
  if (!pipeGuard) {
    pipeGuard = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Opening stdin costs a stream (and a socket for a pipe) that most verbs never read: only on first use.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
  };
}

/** Per-invocation state shared by the verbs. */
export class CliContext {
  readonly globals: GlobalOptions;
  readonly io: CliIO;
  /** The command path for messages (`skiff get`). */
  readonly commandPath: string;
  private loaded?: LoadedKubeconfig;
  private cfg?: ClientConfig;
  private restClient?: RestClient;
  private apiClient?: ApiClient;
  private disco?: Discovery;

  constructor(globals: GlobalOptions, io: CliIO, opts: { commandPath?: string } = {}) {
    this.globals = globals;
    this.io = io;
    this.commandPath = opts.commandPath ?? 'skiff';
  }

  /** The merged kubeconfig (KUBECONFIG rules, or --kubeconfig). */
  kubeconfig(): LoadedKubeconfig {
    this.loaded ??= loadKubeconfig(this.globals.kubeconfig, { env: this.io.env });
    return this.loaded;
  }

  /** The overrides the global flags make to the kubeconfig. */
  overrides(): KubeconfigOverrides {
    const g = this.globals;
    const o: KubeconfigOverrides = {};
    if (g.context !== undefined) o.context = g.context;
    if (g.cluster !== undefined) o.cluster = g.cluster;
    if (g.user !== undefined) o.user = g.user;
    if (g.namespace !== undefined) o.namespace = g.namespace;
    if (g.server !== undefined) o.server = g.server;
    if (g.token !== undefined) o.token = g.token;
    if (g.insecureSkipTlsVerify !== undefined) o.insecureSkipTLSVerify = g.insecureSkipTlsVerify;
    if (g.certificateAuthority !== undefined) o.certificateAuthority = g.certificateAuthority;
    if (g.clientCertificate !== undefined) o.clientCertificate = g.clientCertificate;
    if (g.clientKey !== undefined) o.clientKey = g.clientKey;
    if (g.tlsServerName !== undefined) o.tlsServerName = g.tlsServerName;
    if (g.as !== undefined) o.as = g.as;
    if (g.asGroup !== undefined) o.asGroups = g.asGroup;
    return o;
  }

  /** The resolved connection settings; throws KubeconfigError when there is no usable configuration. */
  clientConfig(): ClientConfig {
    if (!this.cfg) {
      const cfg = resolveClientConfig(this.kubeconfig().config, this.overrides());
      if (this.globals.username !== undefined && !cfg.token) {
        cfg.username = this.globals.username;
        cfg.password = this.globals.password ?? '';
      }
      this.cfg = cfg;
    }
    return this.cfg;
  }

  /** The namespace a namespaced request defaults to (-n, else the context's, else "default"). */
  namespace(): string {
    if (this.globals.namespace) return this.globals.namespace;
    try {
      return this.clientConfig().namespace;
    } catch {
      return 'default';
    }
  }

  /** Whether -n was given explicitly (kubectl enforces it against objects in files). */
  namespaceExplicit(): boolean {
    return this.globals.namespace !== undefined && this.globals.namespace !== '';
  }

  /** The transport. */
  rest(): RestClient {
    this.restClient ??= new RestClient(this.clientConfig(), { userAgent: `skiff/0.1.0 (${process.platform}/${process.arch})` });
    return this.restClient;
  }

  /** Typed resource clients over the transport. */
  api(): ApiClient {
    this.apiClient ??= new ApiClient(this.rest());
    return this.apiClient;
  }

  /** Server discovery with kubectl's on-disk cache. */
  discovery(): Discovery {
    this.disco ??= new Discovery(this.rest(), { cacheDir: this.cacheDir() });
    return this.disco;
  }

  /** --cache-dir, else $KUBECACHEDIR, else ~/.kube/cache. */
  cacheDir(): string {
    return this.globals.cacheDir ?? this.io.env['KUBECACHEDIR'] ?? join(this.io.env['HOME'] ?? homedir(), '.kube', 'cache');
  }

  /** Writes to stdout. */
  out(s: string): void {
    if (s !== '') this.io.stdout.write(s);
  }

  /** Writes to stderr. */
  err(s: string): void {
    if (s !== '') this.io.stderr.write(s);
  }

  /** Releases sockets. */
  close(): void {
    this.restClient?.close();
  }
}
