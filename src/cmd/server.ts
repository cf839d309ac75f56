/**
 * `skiff server`: wires the storage engine, the API server and (as later components land) the scheduler,
 * controller manager and embedded agent; writes the admin kubeconfig; stops cleanly on SIGTERM/SIGINT.
 */
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { ApiServer } from '../apiserver/server.ts';
import { openStorage } from '../storage/open.ts';
import { catalog, bootstrapObjects } from '../api/catalog.ts';
import { buildOpenApi } from '../apiserver/openapi/documents.ts';
import { logger } from '../base/log.ts';
import { startCompactor } from '../storage/compactor.ts';
import { snapshotHandler, SNAPSHOT_ENDPOINT } from '../storage/snapshot/http-handler.ts';
import { startSnapshotSchedule } from '../storage/snapshot/schedule.ts';
import type { SnapshotSchedule } from '../storage/snapshot/schedule.ts';
import { cronSnapshotSchedule } from './snapshot.ts';
import { SKIFF_VERSION } from '../apiserver/version.ts';
import { Counter, Gauge } from 'prom-client';
import type { ApiServer as ApiServerT } from '../apiserver/server.ts';
import { ensureClusterPki, issueKeyPair } from '../apiserver/tls/pki.ts';
import type { ClusterPki, KeyPair } from '../apiserver/tls/pki.ts';
import { securityStage, parseAuthorizationModes } from '../apiserver/auth/index.ts';
import { loadTokenFile } from '../apiserver/auth/authenticator.ts';
import { loadAuditPolicy } from '../apiserver/auth/audit.ts';
import { ApiError } from '../apiserver/errors.ts';
import { loadEncryptionConfig, transformerByKey } from '../apiserver/auth/encryption-config.ts';
import { transformingStorage } from '../apiserver/registry/store.ts';

const log = logger('server');

/** Options of `skiff server`. */
export interface ServerOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  datastore?: string;
  agent: boolean;
  maxRequestsInflight?: number;
  /** Run the controller manager in this process (default true). */
  controllerManager?: boolean;
  /** Run the scheduler in this process (default true). */
  scheduler?: boolean;
  /** Runtime of the embedded agent (default: runc when running as root with runc installed, else process). */
  runtime?: 'process' | 'simulated' | 'runc';
  /** Port of the embedded agent's streaming endpoint (default: any free port). */
  agentStreamingPort?: number;
  /** Cron expression for scheduled snapshots (unset: none). */
  snapshotSchedule?: string;
  /** Scheduled snapshots to keep. */
  snapshotRetention?: number;
  /** Extra names and IPs for the serving certificate (env SKIFF_TLS_SAN, comma-separated). */
  tlsSan?: string[];
  /** Static token file: token,user,uid,"group1,group2" (env SKIFF_TOKEN_AUTH_FILE). */
  tokenAuthFile?: string;
  /** Comma-separated authorization modes: Node,RBAC (default) or AlwaysAllow (env SKIFF_AUTHORIZATION_MODE). */
  authorizationMode?: string;
  /** Audit policy file (env SKIFF_AUDIT_POLICY_FILE); audit events go to auditLogPath. */
  auditPolicyFile?: string;
  /** Audit log path (env SKIFF_AUDIT_LOG_PATH; default <data-dir>/audit.log when a policy is given). */
  auditLogPath?: string;
  /** EncryptionConfiguration for secrets at rest (env SKIFF_ENCRYPTION_PROVIDER_CONFIG). */
  encryptionProviderConfig?: string;
  /** Pod subnet of the embedded node (--pod-cidr; default the Node's spec.podCIDR from the cluster CIDR allocator). */
  podCidr?: string;
  /** Do not run the embedded agent's service proxy (`--disable-proxy`). */
  disableProxy?: boolean;
  /** Do not run the embedded agent's cluster DNS, nor create the kube-dns Service (`--disable-dns`). */
  disableDns?: boolean;
  /** Service proxy backend (`--proxy-mode`, default auto). */
  proxyMode?: 'auto' | 'nftables' | 'iptables';
  /** Cluster pod CIDR (`--cluster-cidr`, default 10.42.0.0/16). */
  clusterCidr?: string;
  /** Cluster DNS address: the kube-dns ClusterIP and pods' name server (`--cluster-dns`, default 10.43.0.10). */
  clusterDns?: string;
  /** Cluster domain (`--cluster-domain`, default cluster.local). */
  clusterDomain?: string;
}

export { addSecurityServerOptions } from './server-options.ts';

/** Fills security options from SKIFF_* environment variables where flags left them unset. */
function withSecurityEnv(o: ServerOptions, env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const out = { ...o };
  if (!out.tlsSan?.length && env.SKIFF_TLS_SAN) out.tlsSan = env.SKIFF_TLS_SAN.split(',').filter((x) => x !== '');
  out.tokenAuthFile ??= env.SKIFF_TOKEN_AUTH_FILE || undefined;
  if ((out.authorizationMode === undefined || out.authorizationMode === 'Node,RBAC') && env.SKIFF_AUTHORIZATION_MODE) out.authorizationMode = env.SKIFF_AUTHORIZATION_MODE;
  out.auditPolicyFile ??= env.SKIFF_AUDIT_POLICY_FILE || undefined;
  out.auditLogPath ??= env.SKIFF_AUDIT_LOG_PATH || undefined;
  out.encryptionProviderConfig ??= env.SKIFF_ENCRYPTION_PROVIDER_CONFIG || undefined;
  return out;
}

/** TLS material a kubeconfig carries. */
export interface KubeconfigTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Writes a kubeconfig for one identity (client certificate) atomically and returns its path. */
export function writeKubeconfig(path: string, serverUrl: string, user: string, tls: KubeconfigTls): string {
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'skiff', cluster: { server: serverUrl, 'certificate-authority-data': b64(tls.caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(tls.certPem), 'client-key-data': b64(tls.keyPem) } }],
    contexts: [{ name: 'skiff', context: { cluster: 'skiff', user, namespace: 'default' } }],
    'current-context': 'skiff',
    preferences: {},
  };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, yamlStringify(doc), { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** A client certificate for a component identity, signed by the cluster CA. */
async function componentCert(pki: ClusterPki, commonName: string, organizations: string[]): Promise<KeyPair> {
  return issueKeyPair(pki.ca, { commonName, organizations, usage: 'client', days: 365 });
}

/** Writes the admin kubeconfig atomically and returns its path (client certificate when `tls` is given). */
export function writeAdminKubeconfig(dataDir: string, serverUrl: string, tls?: KubeconfigTls): string {
  const path = join(dataDir, 'kubeconfig.yaml');
  if (tls) return writeKubeconfig(path, serverUrl, 'skiff-admin', tls);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'skiff', cluster: { server: serverUrl } }],
    users: [{ name: 'skiff-admin', user: { token: 'skiff-admin' } }],
    contexts: [{ name: 'skiff', context: { cluster: 'skiff', user: 'skiff-admin', namespace: 'default' } }],
    'current-context': 'skiff',
    preferences: {},
  };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, yamlStringify(doc), { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** Runs the server until a signal arrives. Resolves with the process exit code. */
export async function runServer(options: ServerOptions): Promise<number> {
  const o = withSecurityEnv(options);
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const schedule = o.snapshotSchedule ? cronSnapshotSchedule(o.snapshotSchedule) : undefined;
  // A bad encryption configuration stops start-up before anything is written.
  const encryption = o.encryptionProviderConfig ? loadEncryptionConfig(o.encryptionProviderConfig) : undefined;
  const pki = await ensureClusterPki(join(dataDir, 'tls'), { sans: o.tlsSan ?? [] });
  const tls = { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem };
  const auditPath = o.auditPolicyFile ? (o.auditLogPath ?? join(dataDir, 'audit.log')) : undefined;
  const security = securityStage({
    ca: pki.ca,
    serviceAccountKeys: { privateKeyPem: pki.serviceAccountKeyPem, publicKeyPem: pki.serviceAccountPublicKeyPem },
    ...(o.tokenAuthFile ? { tokens: loadTokenFile(o.tokenAuthFile) } : {}),
    authorizationModes: parseAuthorizationModes(o.authorizationMode ?? 'Node,RBAC'),
    kubeletClient: { caPem: pki.ca.certPem, ...pki.kubeletClient },
    ...(o.auditPolicyFile && auditPath ? { audit: { path: auditPath, policy: loadAuditPolicy(o.auditPolicyFile) } } : {}),
  });
  const storage = await openStorage(o.datastore ?? `sqlite://${join(dataDir, 'state.db')}`, { dataDir });
  // The registry sees original values; storage, compaction and snapshots keep the encrypted bytes.
  const registryStorage = encryption ? transformingStorage(storage, transformerByKey(encryption, catalog)) : storage;
  const api = new ApiServer({
    tls, security,
    adminHandlers: { [SNAPSHOT_ENDPOINT]: snapshotHandler(storage, { skiffVersion: SKIFF_VERSION }) },
    catalog, storage: registryStorage, host: o.bindAddress, port: o.port, bootstrap: bootstrapObjects(), openapi: buildOpenApi(catalog),
    ...(o.maxRequestsInflight ? { maxInFlight: o.maxRequestsInflight } : {}),
  });
  let addr: { url: string };
  try {
    addr = await api.start();
  } catch (e) {
    await storage.close().catch(() => undefined);
    throw e;
  }
  if (!o.disableDns) await ensureKubeDnsService(api, o.clusterDns ?? '10.43.0.10');
  const compactor = startCompactor(storage, { intervalMs: 5 * 60 * 1000 });
  const snapshots = schedule
    ? startScheduledSnapshots(api, storage, { schedule, retention: o.snapshotRetention ?? 5, dir: join(dataDir, 'snapshots') })
    : undefined;
  const kubeconfig = writeAdminKubeconfig(dataDir, addr.url, { caPem: pki.ca.certPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem });
  // Every component gets its own identity (upstream's user names) and only its role's rights.
  const componentKubeconfig = async (file: string, cn: string, groups: string[]): Promise<string> => {
    const kp = await componentCert(pki, cn, groups);
    return writeKubeconfig(join(dataDir, 'tls', file), addr.url, cn, { caPem: pki.ca.certPem, ...kp });
  };
  const controllerManagerKubeconfig = await componentKubeconfig('controller-manager.kubeconfig', 'system:kube-controller-manager', []);
  const schedulerKubeconfig = await componentKubeconfig('scheduler.kubeconfig', 'system:kube-scheduler', []);
  // The embedded agent: a node identity that is also an admin until agents join with their own credentials.
  const agentKubeconfig = await componentKubeconfig('agent.kubeconfig', `system:node:${hostname().toLowerCase()}`, ['system:nodes', 'system:masters']);
  const renew = setInterval(() => {
    ensureClusterPki(join(dataDir, 'tls'), { sans: o.tlsSan ?? [] }).then((p) => {
      if (p.servingRenewed) api.reloadTls({ certPem: p.serving.certPem, keyPem: p.serving.keyPem, caPem: p.ca.certPem });
    }).catch((e: unknown) => log.warn('serving certificate renewal failed', { err: e }));
  }, 12 * 3600 * 1000);
  renew.unref();
  const components: { name: string; stop: () => Promise<void> }[] = [];
  if (o.controllerManager !== false) {
    const { startControllerManager } = await import('../controllers/index.ts');
    const cm = await startControllerManager({ kubeconfig: controllerManagerKubeconfig });
    components.push({ name: 'controller-manager', stop: () => cm.stop() });
  }
  if (o.scheduler !== false) {
    const { startScheduler } = await import('../scheduler/index.ts');
    const sched = await startScheduler({ kubeconfig: schedulerKubeconfig });
    api.metrics.addRegistry(sched.metrics.registry);
    components.push({ name: 'scheduler', stop: () => sched.stop() });
  }
  if (o.agent) {
    const { startAgent, defaultRuntimeKind } = await import('../agent/index.ts');
    const { agentServiceOptions } = await import('./agent.ts');
    const runtime = o.runtime ?? defaultRuntimeKind();
    // The agent's streaming endpoint serves a certificate of the cluster CA for the addresses its Node reports.
    const nodeName = hostname().toLowerCase();
    const serving = await issueKeyPair(pki.ca, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], usage: 'server', sans: ['127.0.0.1', '::1', 'localhost', nodeName], days: 365 });
    const agent = await startAgent({
      streamingTls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: pki.ca.certPem },
      // Service proxy and cluster DNS: on by default (root), as k3s runs kube-proxy and CoreDNS.
      ...agentServiceOptions(o, { fleet: runtime === 'simulated' }),
      // The image store is the data dir's, shared with `skiff images import --data-dir`.
      kubeconfig: agentKubeconfig, runtime, rootDir: join(dataDir, 'agent'), dataDir,
      // Any free port: several servers (tests) may share a machine; the Node advertises the port it got.
      streamingPort: o.agentStreamingPort ?? 0, controlPlane: true,
      ...(o.podCidr ? { podCIDR: o.podCidr } : {}),
    });
    components.push({ name: 'agent', stop: () => agent.stop() });
  }
  log.info('skiff server ready', { url: addr.url, engine: storage.engine, ms: Date.now() - started });
  process.stdout.write(`skiff server listening on ${addr.url}\nadmin kubeconfig written to ${kubeconfig}\n  export KUBECONFIG=${kubeconfig}\n`);
  await new Promise<void>((resolveStop) => {
    const stop = (sig: string): void => {
      log.info('shutting down', { signal: sig });
      resolveStop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  clearInterval(renew);
  await snapshots?.stop();
  for (const c of components.reverse()) {
    await c.stop().catch((e: unknown) => log.warn('component did not stop cleanly', { component: c.name, err: e }));
  }
  await api.stop({ timeoutMs: 10_000 });
  await compactor.stop();
  await storage.close();
  log.info('stopped');
  return 0;
}

/**
 * The `kube-dns` Service in kube-system (upstream's DNS addon Service): the cluster DNS address, 53/UDP `dns` and
 * 53/TCP `dns-tcp`. It has no selector and no endpoints: every agent's proxy redirects this address to the DNS
 * server of its own node (docs/services.md). An existing kube-dns is left as it is.
 */
async function ensureKubeDnsService(api: ApiServerT, clusterIP: string): Promise<void> {
  const svcs = api.storeFor('', 'services');
  if (!svcs) return;
  try {
    await svcs.create('kube-system', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'KubeDNS' } },
      spec: {
        type: 'ClusterIP', clusterIP, sessionAffinity: 'None',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }],
      },
    });
  } catch (e) {
    if (e instanceof ApiError && e.code === 409) return;
    // Another Service holding the address must not stop the control plane; pods still get it as name server.
    log.warn('kube-dns Service not created', { err: e, clusterIP });
  }
}

/** Scheduled snapshots, each reported as an Event in kube-system and in /metrics. */
function startScheduledSnapshots(
  api: ApiServerT,
  storage: Awaited<ReturnType<typeof openStorage>>,
  o: { schedule: ReturnType<typeof cronSnapshotSchedule>; retention: number; dir: string },
): SnapshotSchedule {
  const taken = new Counter({ name: 'skiff_snapshots_total', help: 'Scheduled snapshots by result.', labelNames: ['result'] as const, registers: [api.metrics.registry] });
  const last = new Gauge({ name: 'skiff_snapshot_last_success_timestamp_seconds', help: 'Time of the last successful scheduled snapshot.', registers: [api.metrics.registry] });
  const lastRev = new Gauge({ name: 'skiff_snapshot_last_revision', help: 'Store revision of the last scheduled snapshot.', registers: [api.metrics.registry] });
  const report = (type: 'Normal' | 'Warning', reason: string, message: string): void => {
    const events = api.storeFor('', 'events');
    if (!events) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // Events about cluster-scoped objects live in the default namespace, as upstream's recorders put them.
    events.create('default', {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: 'skiff-snapshot-' },
      involvedObject: { apiVersion: 'v1', kind: 'Namespace', name: 'default' },
      reason, message, type, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'skiff-server' }, reportingComponent: 'skiff-server',
    }).catch((e: unknown) => log.warn('snapshot event not recorded', { err: e }));
  };
  return startSnapshotSchedule(storage, {
    schedule: o.schedule, retention: o.retention, dir: o.dir, save: { skiffVersion: SKIFF_VERSION },
    onSnapshot: (snap) => {
      taken.inc({ result: 'success' });
      last.set(Date.now() / 1000);
      lastRev.set(snap.header.revision);
      report('Normal', 'SnapshotTaken', `Snapshot ${snap.name} taken at revision ${snap.header.revision} (${snap.header.count} keys)${snap.pruned.length ? `; pruned ${snap.pruned.join(', ')}` : ''}`);
    },
    onError: (e) => {
      taken.inc({ result: 'error' });
      report('Warning', 'SnapshotFailed', `Scheduled snapshot failed: ${e instanceof Error ? e.message : String(e)}`);
    },
  });
}
