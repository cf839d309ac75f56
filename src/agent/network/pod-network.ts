/**
 * Pod networking with the standard CNI plugins: one network namespace per pod (`ip netns`) with lo brought up in the
 * same command that creates it (what the `loopback` plugin does, without a plugin exec per pod), and a configuration
 * list of `bridge` (a per-agent bridge, the node's gateway, no masquerade), `host-local` IPAM over the node's pod CIDR
 * and `portmap` for hostPorts (only for pods that map host ports). Pod traffic stays on the machine: no masquerade, and the
 * `net.ipv4.ip_forward` setting the bridge plugin turns on is put back as it was (pods on one bridge talk at layer 2,
 * the host reaches them through the bridge address; nothing is routed to other interfaces).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import { logger } from '../../base/log.ts';
import type { CniConfigList, CniResult, CommandRunner } from './cni.ts';
import { CniInvoker, spawnRunner } from './cni.ts';

const log = logger('pod-network');

/** Where Debian's containernetworking-plugins are installed. */
export const defaultCniBinDir = '/usr/lib/cni';

/** Options of a PodNetwork. */
export interface PodNetworkOptions {
  /** Directory for the CNI result cache and IPAM state. */
  dataDir: string;
  /** The node's pod CIDR (spec.podCIDR), e.g. 10.244.0.0/24. */
  podCIDR: string;
  /** Bridge name (default derived from dataDir, at most 15 characters). */
  bridgeName?: string;
  /** Network name (default `skiff`). */
  networkName?: string;
  /** Plugin directories (default /usr/lib/cni). */
  binDirs?: string[];
  /** Keep `net.ipv4.ip_forward` as found (default true). */
  restoreIpForward?: boolean;
  /** Runs `ip` and the plugins (default: spawned from this thread). */
  run?: CommandRunner;
}

/** What a pod's sandbox needs to be wired. */
export interface PodAttachment {
  /** The sandbox id (CNI_CONTAINERID). */
  id: string;
  namespace: string;
  name: string;
  uid: string;
  portMappings?: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
}

/** The wiring of one pod. */
export interface PodNetworkStatus {
  netnsPath: string;
  ip: string;
  gateway?: string;
}

const ipForwardPath = '/proc/sys/net/ipv4/ip_forward';

/** Pod networks of one agent. */
export class PodNetwork {
  readonly bridge: string;
  readonly network: string;
  private readonly cni: CniInvoker;
  private readonly prefix: string;
  private readonly ipForward: string | undefined;

  constructor(private readonly opts: PodNetworkOptions) {
    const h = createHash('sha256').update(opts.dataDir).digest('hex');
    this.bridge = opts.bridgeName ?? `skb-${h.slice(0, 8)}`;
    if (this.bridge.length > 15) throw new Error(`bridge name ${this.bridge} is longer than 15 characters`);
    this.network = opts.networkName ?? 'skiff';
    this.prefix = `skiff-${h.slice(0, 8)}-`;
    this.cni = new CniInvoker({ binDirs: opts.binDirs ?? [defaultCniBinDir], cacheDir: join(opts.dataDir, 'cache'), ...(opts.run ? { run: opts.run } : {}) });
    this.ipForward = opts.restoreIpForward === false ? undefined : readTrim(ipForwardPath);
  }

  /** The configuration list used for pods (portmap only when the pod maps host ports: each plugin is an exec). */
  configList(withPortmap = true): CniConfigList {
    return {
      cniVersion: '1.0.0',
      name: this.network,
      plugins: [
        {
          type: 'bridge', bridge: this.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: this.opts.podCIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(this.opts.dataDir, 'ipam') },
        },
        ...(withPortmap ? [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] : []),
      ],
    };
  }

  /** Runs `ip` (or a shell around it); rejects with its stderr when it fails. */
  private async ip(args: string[], viaShell?: string): Promise<void> {
    const [file, argv] = viaShell ? ['/bin/sh', ['-c', viaShell, 'sh', ...args]] : ['ip', args];
    const r = await (this.opts.run ?? spawnRunner)(file, argv, { env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, input: '', timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`ip ${viaShell ? `netns add ${args[0] ?? ''}` : args.join(' ')}: ${r.stderr.trim() || `exit status ${r.code}`}`);
  }

  /** The network namespace path of a sandbox. */
  netnsPath(id: string): string {
    return `/var/run/netns/${this.netnsName(id)}`;
  }

  private netnsName(id: string): string {
    return `${this.prefix}${id.slice(0, 16)}`;
  }

  /** Creates the pod's namespace and attaches lo and eth0; returns the namespace and the pod IP. */
  async setUp(p: PodAttachment): Promise<PodNetworkStatus> {
    const name = this.netnsName(p.id);
    const netns = this.netnsPath(p.id);
    const args = { IgnoreUnknown: '1', K8S_POD_NAMESPACE: p.namespace, K8S_POD_NAME: p.name, K8S_POD_INFRA_CONTAINER_ID: p.id, K8S_POD_UID: p.uid };
    try {
      // One exec for the namespace and its loopback interface (each exec of a large agent is costly).
      if (fs.existsSync(netns)) await this.ip(['-n', name, 'link', 'set', 'lo', 'up']);
      else await this.ip([name], 'ip netns add "$1" && ip -n "$1" link set lo up');
      const portMappings = (p.portMappings ?? []).filter((m) => m.hostPort > 0).map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol.toLowerCase(), ...(m.hostIP ? { hostIP: m.hostIP } : {}) }));
      const result = await this.cni.add(this.configList(portMappings.length > 0), { containerId: p.id, netns, ifName: 'eth0', args, runtimeConfig: { portMappings } });
      this.restoreForwarding();
      const ip = firstIPv4(result);
      if (!ip) throw new Error(`CNI returned no IPv4 address for pod ${p.namespace}/${p.name}`);
      return { netnsPath: netns, ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}) };
    } catch (e) {
      this.restoreForwarding();
      await this.tearDown(p).catch(() => undefined);
      throw e;
    }
  }

  /** The cached wiring of a sandbox (after an agent restart), if any. */
  status(id: string): PodNetworkStatus | undefined {
    const c = this.cni.cached(this.network, { containerId: id, ifName: 'eth0' });
    const ip = c ? firstIPv4(c.result) : undefined;
    if (!ip || !fs.existsSync(this.netnsPath(id))) return undefined;
    return { netnsPath: this.netnsPath(id), ip: ip.address };
  }

  /** CNI CHECK of a sandbox's attachment. */
  async check(p: PodAttachment): Promise<void> {
    await this.cni.check(this.configList(), { containerId: p.id, netns: this.netnsPath(p.id), ifName: 'eth0' });
  }

  /** Detaches the pod (CNI DEL) and deletes its namespace; idempotent. */
  async tearDown(p: Pick<PodAttachment, 'id'> & Partial<PodAttachment>): Promise<void> {
    const netns = this.netnsPath(p.id);
    const args = p.namespace ? { IgnoreUnknown: '1', K8S_POD_NAMESPACE: p.namespace, K8S_POD_NAME: p.name ?? '', K8S_POD_INFRA_CONTAINER_ID: p.id, K8S_POD_UID: p.uid ?? '' } : undefined;
    try {
      await this.cni.del(this.configList(), { containerId: p.id, netns: fs.existsSync(netns) ? netns : '', ifName: 'eth0', ...(args ? { args } : {}) });
    } catch (e) {
      log.warn('CNI DEL failed', { sandbox: p.id, err: (e as Error).message });
    }
    // Attachments made by agents that still ran the loopback plugin: lo goes with the namespace.
    fs.rmSync(join(this.opts.dataDir, 'cache', `cni-loopback-${p.id}-lo`), { force: true });
    if (fs.existsSync(netns)) await this.ip(['netns', 'delete', this.netnsName(p.id)]).catch((e: Error) => log.warn('cannot delete network namespace', { netns, err: e.message }));
  }

  /** Namespaces and cached attachments of this agent whose sandbox is not in `keep` are torn down. */
  async cleanupOrphans(keep: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    const ids = new Set<string>();
    for (const c of this.cni.cachedContainers(this.network)) ids.add(c.containerId);
    for (const id of ids) {
      if (keep.has(id)) continue;
      await this.tearDown({ id });
      removed.push(id);
    }
    const keepNames = new Set([...keep].map((id) => this.netnsName(id)));
    let names: string[] = [];
    try {
      names = fs.readdirSync('/var/run/netns');
    } catch {
      names = [];
    }
    for (const n of names) {
      if (!n.startsWith(this.prefix) || keepNames.has(n)) continue;
      await this.ip(['netns', 'delete', n]).catch(() => undefined);
      removed.push(n);
    }
    return removed;
  }

  /** Removes the bridge and IPAM state when no pod is attached (tests and node teardown). */
  async destroy(): Promise<void> {
    if (this.cni.cachedContainers(this.network).length > 0) return;
    await this.ip(['link', 'delete', this.bridge]).catch(() => undefined);
    fs.rmSync(join(this.opts.dataDir, 'ipam'), { recursive: true, force: true });
    this.restoreForwarding();
  }

  private restoreForwarding(): void {
    if (this.ipForward === undefined) return;
    if (readTrim(ipForwardPath) !== this.ipForward) {
      try {
        fs.writeFileSync(ipForwardPath, this.ipForward);
      } catch (e) {
        log.warn('cannot restore net.ipv4.ip_forward', { err: (e as Error).message });
      }
    }
    // Restoring the global switch also resets every interface's own switch; the pod bridge keeps forwarding so that
    // a pod reaching a ClusterIP (DNAT to another pod on the same bridge) is routed back onto it. Only the bridge:
    // nothing is forwarded to or from any other interface.
    const bridgeForwarding = `/proc/sys/net/ipv4/conf/${this.bridge}/forwarding`;
    if (fs.existsSync(bridgeForwarding) && readTrim(bridgeForwarding) !== '1') {
      try {
        fs.writeFileSync(bridgeForwarding, '1');
      } catch (e) {
        log.warn('cannot enable forwarding on the pod bridge', { bridge: this.bridge, err: (e as Error).message });
      }
    }
  }
}

function readTrim(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function firstIPv4(r: CniResult): { address: string; gateway?: string } | undefined {
  const ip = (r.ips ?? []).find((i) => !i.address.includes(':'));
  if (!ip) return undefined;
  return { address: ip.address.split('/')[0]!, ...(ip.gateway ? { gateway: ip.gateway } : {}) };
}
