/**
 * `skiff agent`: joins a cluster as a node (or a simulated fleet of nodes) using a kubeconfig, and runs until
 * SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { logger } from '../base/log.ts';
import { waitFor } from '../base/wait.ts';
import type { StreamingTls } from '../agent/streaming/server.ts';
import type { RuntimeKind, StartAgentOptions } from '../agent/index.ts';

const log = logger('agent-cmd');

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid count ${JSON.stringify(v)}: must be a positive integer`);
  return n;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port ${JSON.stringify(v)}`);
  return n;
}

function runtimeKind(v: string): RuntimeKind {
  if (v !== 'process' && v !== 'simulated' && v !== 'runc') throw new Error(`unknown runtime ${JSON.stringify(v)}: use runc, process or simulated`);
  return v;
}

/** Options parsed from the command line. */
interface AgentCommandOptions {
  kubeconfig?: string;
  nodeName?: string;
  runtime?: RuntimeKind;
  dataDir?: string;
  podCidr?: string;
  nodes: number;
  nodeNamePrefix: string;
  rootDir?: string;
  nodeIp: string;
  port: number;
  killPodsOnExit: boolean;
  simulatedStartDelay: number;
  simulatedCompleteAfter: number;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  disableProxy?: boolean;
  disableDns?: boolean;
  proxyMode: 'auto' | 'nftables' | 'iptables';
  clusterCidr: string;
  clusterDns: string;
  clusterDomain: string;
}

function proxyMode(v: string): 'auto' | 'nftables' | 'iptables' {
  if (v !== 'auto' && v !== 'nftables' && v !== 'iptables') throw new Error(`unknown proxy mode ${JSON.stringify(v)}: use auto, nftables or iptables`);
  return v;
}

/** The Services flags shared by `skiff agent` and `skiff server` (the names fill AgentServiceFlags). */
export function addAgentServiceOptions(cmd: Command): Command {
  return cmd
    .option('--disable-proxy', 'do not run the service proxy (ClusterIP/NodePort rules; on by default when root)')
    .option('--disable-dns', 'do not run the cluster DNS server (on by default when root)')
    .option('--proxy-mode <mode>', 'service proxy backend: auto (nftables when nft works, else iptables), nftables or iptables', proxyMode, 'auto')
    .option('--cluster-cidr <cidr>', 'the cluster pod CIDR', '10.42.0.0/16')
    .option('--cluster-dns <ip>', 'the cluster DNS address given to pods (the kube-dns Service ClusterIP)', '10.43.0.10')
    .option('--cluster-domain <domain>', 'the cluster domain', 'cluster.local');
}

/** Parsed Services flags. */
export interface AgentServiceFlags {
  disableProxy?: boolean;
  disableDns?: boolean;
  proxyMode?: 'auto' | 'nftables' | 'iptables';
  clusterCidr?: string;
  clusterDns?: string;
  clusterDomain?: string;
}

/**
 * The proxy and DNS options of startAgent for the commands: both on unless disabled, and only where rules can be
 * programmed (root on Linux); a fleet of simulated nodes gets neither.
 */
export function agentServiceOptions(f: AgentServiceFlags, o: { fleet?: boolean } = {}): Pick<StartAgentOptions, 'serviceProxy' | 'clusterDns'> {
  const root = process.platform === 'linux' && process.getuid?.() === 0;
  if (o.fleet || !root) {
    if (!o.fleet && (!f.disableProxy || !f.disableDns)) log.info('service proxy and cluster DNS not started: they need root on Linux');
    return {};
  }
  return {
    ...(f.disableProxy ? {} : { serviceProxy: { mode: f.proxyMode ?? 'auto', clusterCIDR: f.clusterCidr ?? '10.42.0.0/16' } }),
    ...(f.disableDns ? {} : { clusterDns: { clusterIP: f.clusterDns ?? '10.43.0.10', zone: f.clusterDomain ?? 'cluster.local' } }),
  };
}

/** Registers `skiff agent` on the program. */
export function registerAgentCommand(program: Command): void {
  addAgentServiceOptions(program
    .command('agent'))
    .description('run the node agent: register a node and run the pods bound to it')
    .option('--kubeconfig <file>', 'kubeconfig to reach the API server (default $KUBECONFIG or ~/.kube/config)')
    .option('--node-name <name>', 'name of the node (default: the host name)')
    .option('--runtime <kind>', 'container runtime: runc, process or simulated (default: runc when running as root with runc installed, else process)', runtimeKind)
    .option('--data-dir <dir>', 'runc: the data dir whose image store `skiff images import --data-dir` fills (default $SKIFF_DATA_DIR or ~/.skiff)')
    .option('--pod-cidr <cidr>', 'runc: the pod subnet (default the Node\'s spec.podCIDR, else 10.42.0.0/24)')
    .option('--nodes <n>', 'simulated runtime: number of nodes to simulate', positiveInt, 1)
    .option('--node-name-prefix <prefix>', 'simulated runtime: prefix of the simulated node names', 'sim-')
    .option('--root-dir <dir>', 'directory for pod state and logs (default ~/.skiff/agent/<node>)')
    .option('--node-ip <ip>', 'the node address reported to the cluster (InternalIP)', '127.0.0.1')
    .option('--port <port>', 'port of the streaming endpoint (logs, exec, port-forward); 0 = any free port', port, 10250)
    .option('--kill-pods-on-exit', 'stop every container when the agent exits (default: keep them for adoption)', false)
    .option('--simulated-start-delay <ms>', 'simulated runtime: delay before a container runs', (v) => Number(v), 0)
    .option('--simulated-complete-after <ms>', 'simulated runtime: run time of Never/OnFailure pods', (v) => Number(v), 5000)
    .option('--tls-cert-file <file>', 'serving certificate of the streaming endpoint (default: requested from the cluster CA with a kubelet-serving CSR)')
    .option('--tls-private-key-file <file>', 'private key of --tls-cert-file')
    .option('--client-ca-file <file>', 'CA whose client certificates may use the streaming endpoint (default: the cluster CA of the kubeconfig)')
    .action(async (o: AgentCommandOptions) => {
      process.exitCode = await runAgent(o);
    });
}

async function runAgent(o: AgentCommandOptions): Promise<number> {
  const { startAgent, defaultRuntimeKind } = await import('../agent/index.ts');
  const abort = new AbortController();
  const runtime = o.runtime ?? (o.nodes > 1 ? 'simulated' : defaultRuntimeKind());
  const opts: StartAgentOptions = {
    kubeconfig: o.kubeconfig,
    nodeName: o.nodeName,
    runtime,
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.podCidr ? { podCIDR: o.podCidr } : {}),
    nodes: o.nodes,
    nodeNamePrefix: o.nodeNamePrefix,
    rootDir: o.rootDir,
    nodeIP: o.nodeIp,
    streamingPort: o.port,
    killPodsOnStop: o.killPodsOnExit,
    // Simulated pods have no network to route to.
    ...agentServiceOptions(o, { fleet: o.nodes > 1 || runtime === 'simulated' }),
    simulatedStartDelayMs: o.simulatedStartDelay,
    simulatedCompleteAfterMs: o.simulatedCompleteAfter,
    signal: abort.signal,
  };
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const tls = await streamingTls(o, o.nodes > 1 ? `${o.nodeNamePrefix}0` : (o.nodeName ?? os.hostname().toLowerCase()));
  if (tls) opts.streamingTls = tls;
  const agent = await startAgent(opts);
  process.stdout.write(`skiff agent running: ${agent.nodeNames.length === 1 ? `node ${agent.nodeNames[0]!}` : `${agent.nodeNames.length} nodes`}, streaming on port ${agent.streamingPort}\n`);
  const sig = await stopSignal;
  log.info('shutting down', { signal: sig });
  abort.abort();
  await agent.stop();
  return 0;
}

/**
 * The streaming endpoint's TLS material: the given files, or (the kubelet's serverTLSBootstrap) a serving certificate
 * for the node's address and name requested with a kubernetes.io/kubelet-serving CSR. Plain HTTP only when the API
 * server itself is plain HTTP.
 */
async function streamingTls(o: AgentCommandOptions, nodeName: string): Promise<StreamingTls | undefined> {
  const { clientConfigFromKubeconfig, ApiClient, RestClient } = await import('../client/index.ts');
  const cfg = clientConfigFromKubeconfig(o.kubeconfig);
  const api = new ApiClient(new RestClient(cfg));
  try {
    let clientCaPem = o.clientCaFile ? readFileSync(o.clientCaFile, 'utf8') : cfg.caData?.toString('utf8');
    if (!clientCaPem && cfg.server.startsWith('https:')) {
      const { configmaps } = await import('../api/core/v1/index.ts');
      const cm = await api.resource<ConfigMap>(configmaps).get('kube-root-ca.crt', { namespace: 'kube-system' });
      clientCaPem = cm.data?.['ca.crt'];
    }
    if (o.tlsCertFile || o.tlsPrivateKeyFile) {
      if (!o.tlsCertFile || !o.tlsPrivateKeyFile) throw new Error('--tls-cert-file and --tls-private-key-file go together');
      if (!clientCaPem) throw new Error('--client-ca-file is required when the kubeconfig names no certificate authority');
      return { certPem: readFileSync(o.tlsCertFile, 'utf8'), keyPem: readFileSync(o.tlsPrivateKeyFile, 'utf8'), clientCaPem };
    }
    if (!cfg.server.startsWith('https:') || !clientCaPem) return undefined;
    const { createCertificateRequest } = await import('../apiserver/tls/pki.ts');
    const { certificateSigningRequests } = await import('../api/certificates/v1/certificate-signing-request.ts');
    const csr = await createCertificateRequest({ commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], sans: [...new Set([o.nodeIp, nodeName])] });
    const csrs = api.resource<CertificateSigningRequest>(certificateSigningRequests);
    const created = await csrs.create({
      apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { generateName: 'csr-' },
      spec: { request: Buffer.from(csr.csrPem).toString('base64'), signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'] },
    });
    const name = created.metadata?.name ?? '';
    const certPem = await waitFor(async () => {
      const cur = await csrs.get(name);
      if (cur.status?.conditions?.some((c) => c.type === 'Denied' || c.type === 'Failed')) throw new Error(`the serving certificate request ${name} was denied`);
      return cur.status?.certificate ? Buffer.from(cur.status.certificate, 'base64').toString('utf8') : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500, what: `the serving certificate (approve it with \`kubectl certificate approve ${name}\`)` });
    log.info('serving certificate issued', { csr: name });
    return { certPem, keyPem: csr.keyPem, clientCaPem };
  } finally {
    api.close();
  }
}
