/**
 * `skiff proxy`: the service proxy (iptables) and, unless `--no-dns`, the cluster DNS server, for one node,
 * until SIGTERM/SIGINT. `--cleanup` removes every rule the proxy wrote and exits (kube-proxy's --cleanup).
 */
import os from 'node:os';
import type { Command } from 'commander';
import { logger } from '../base/log.ts';

const log = logger('proxy-cmd');

interface ProxyCommandOptions {
  kubeconfig?: string;
  nodeName?: string;
  nodeIp: string;
  clusterCidr: string;
  chainPrefix: string;
  syncPeriod: number;
  cleanup: boolean;
  cleanupOnExit: boolean;
  dns: boolean;
  dnsAddress: string;
  dnsPort: number;
  clusterDomain: string;
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid number ${JSON.stringify(v)}`);
  return n;
}

/** Registers `skiff proxy` on the program. */
export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('run the service proxy (ClusterIP/NodePort rules) and the cluster DNS server for this node')
    .option('--kubeconfig <file>', 'kubeconfig to reach the API server (default $KUBECONFIG or ~/.kube/config)')
    .option('--node-name <name>', 'name of this node (default: the host name)')
    .option('--node-ip <ip>', 'address on which NodePorts answer', '127.0.0.1')
    .option('--cluster-cidr <cidr>', 'the cluster pod CIDR', '10.42.0.0/16')
    .option('--chain-prefix <prefix>', 'prefix of the iptables chains', 'SKIFF-')
    .option('--sync-period <ms>', 'full resync period', nonNegativeInt, 30_000)
    .option('--cleanup', 'remove every rule with the chain prefix and exit', false)
    .option('--cleanup-on-exit', 'remove the rules when stopping (default: keep them so traffic flows across a restart)', false)
    .option('--no-dns', 'do not run the cluster DNS server')
    .option('--dns-address <ip>', 'address of the cluster DNS server', '127.0.0.1')
    .option('--dns-port <port>', 'port of the cluster DNS server (UDP and TCP)', nonNegativeInt, 53)
    .option('--cluster-domain <domain>', 'the cluster domain', 'cluster.local')
    .action(async (o: ProxyCommandOptions) => {
      process.exitCode = await runProxy(o);
    });
}

async function runProxy(o: ProxyCommandOptions): Promise<number> {
  const { cleanupProxyRules, startServiceProxy } = await import('../agent/proxy/index.ts');
  if (o.cleanup) {
    await cleanupProxyRules({ chainPrefix: o.chainPrefix });
    process.stdout.write(`removed the ${o.chainPrefix}* rules\n`);
    return 0;
  }
  const { startClusterDns } = await import('../agent/dns/index.ts');
  const { ApiClient, RestClient, clientConfigFromKubeconfig } = await import('../client/index.ts');
  const client = new ApiClient(new RestClient(clientConfigFromKubeconfig(o.kubeconfig), { userAgent: 'skiff-proxy/0.1.0' }));
  const abort = new AbortController();
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const proxy = await startServiceProxy({
    client,
    nodeName: o.nodeName ?? os.hostname().toLowerCase(),
    nodeIPs: [o.nodeIp],
    clusterCIDR: o.clusterCidr,
    chainPrefix: o.chainPrefix,
    syncPeriodMs: o.syncPeriod,
    cleanupOnStop: o.cleanupOnExit,
    signal: abort.signal,
  });
  const dns = o.dns ? await startClusterDns({ client, address: o.dnsAddress, port: o.dnsPort, zone: o.clusterDomain, signal: abort.signal }) : undefined;
  process.stdout.write(`skiff proxy running${dns ? `, cluster DNS on ${dns.address}:${dns.port}` : ''}\n`);
  const sig = await stopSignal;
  log.info('shutting down', { signal: sig });
  abort.abort();
  await dns?.close();
  await proxy.stop();
  client.close();
  return 0;
}
