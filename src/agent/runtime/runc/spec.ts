/**
 * The OCI runtime spec (config.json) of a container, built from the CRI-shaped container config, the image config
 * and the sandbox, with containerd's CRI defaults: upstream's default capability set, masked and read-only /proc
 * paths, a private /dev, /etc/hosts, /etc/hostname and /etc/resolv.conf from the sandbox, and cgroup limits.
 */
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Container, PodSpec } from 'kubernetes-types/core/v1.js';
import type { ContainerConfig, LinuxContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext } from '../runtime.ts';
import { RuntimeError } from '../runtime.ts';
import type { ImageRuntimeConfig } from '../../images/oci.ts';

export type { LinuxContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext } from '../runtime.ts';

/** A container config with the Linux part the runc runtime reads (CRI's ContainerConfig.linux). */
export type RuncContainerConfig = ContainerConfig;

/** Upstream's default capabilities (containerd's and CRI-O's default set). */
export const defaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability runc 1.1 knows (privileged containers get them all). */
export const allCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const maskedPaths = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The minimal OCI runtime spec shape written here. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; access: string }[];
      memory?: { limit: number; swap?: number };
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
  annotations?: Record<string, string>;
}

/** A resolved user. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function readLines(path: string): string[] {
  try {
    return fs.readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  } catch {
    return [];
  }
}

function passwd(rootfs: string): PasswdEntry[] {
  return readLines(join(rootfs, 'etc/passwd')).map((l) => {
    const f = l.split(':');
    return { name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  });
}

function groups(rootfs: string): { name: string; gid: number; members: string[] }[] {
  return readLines(join(rootfs, 'etc/group')).map((l) => {
    const f = l.split(':');
    return { name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) };
  });
}

/**
 * Resolves the user a container runs as: runAsUser/runAsGroup over the image's USER (`name`, `uid`, `name:group`,
 * `uid:gid`), names looked up in the image's /etc/passwd and /etc/group, plus the user's groups and the
 * supplemental groups. Throws RuntimeError('CreateContainerConfigError') for unknown names and for root under
 * runAsNonRoot, with the kubelet's wording.
 */
export function resolveUser(rootfs: string, imageUser: string | undefined, sc: LinuxContainerSecurityContext = {}): ResolvedUser {
  const users = passwd(rootfs);
  let uid = 0;
  let gid: number | undefined;
  let entry: PasswdEntry | undefined;
  const [u, g] = (imageUser ?? '').split(':', 2) as [string, string | undefined];
  if (sc.runAsUser !== undefined) {
    uid = sc.runAsUser;
    entry = users.find((e) => e.uid === uid);
  } else if (u) {
    if (/^\d+$/.test(u)) {
      uid = Number(u);
      entry = users.find((e) => e.uid === uid);
    } else {
      entry = users.find((e) => e.name === u);
      if (!entry) throw new RuntimeError('CreateContainerConfigError', `unable to find user ${u}: no matching entries in passwd file`);
      uid = entry.uid;
    }
  }
  entry ??= users.find((e) => e.uid === uid);
  if (sc.runAsNonRoot && uid === 0) {
    const msg = u && !/^\d+$/.test(u) && sc.runAsUser === undefined
      ? `container has runAsNonRoot and image has non-numeric user (${u}), cannot verify user is non-root`
      : 'container has runAsNonRoot and image will run as root';
    throw new RuntimeError('CreateContainerConfigError', msg);
  }
  const grp = groups(rootfs);
  if (sc.runAsGroup !== undefined) gid = sc.runAsGroup;
  else if (g && sc.runAsUser === undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const ge = grp.find((x) => x.name === g);
      if (!ge) throw new RuntimeError('CreateContainerConfigError', `unable to find group ${g}: no matching entries in group file`);
      gid = ge.gid;
    }
  }
  gid ??= entry?.gid ?? 0;
  // The primary group leads the list, as containerd does, so that `id` shows it among the groups.
  const extra = new Set<number>([gid]);
  if (entry) for (const ge of grp) if (ge.members.includes(entry.name)) extra.add(ge.gid);
  for (const s of sc.supplementalGroups ?? []) extra.add(s);
  return { uid, gid, additionalGids: [...extra], home: entry?.home ?? '/' };
}

function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/** The capability set after add/drop (`ALL` allowed in both, as upstream). */
export function capabilitySet(sc: LinuxContainerSecurityContext = {}): string[] {
  if (sc.privileged) return [...allCapabilities];
  const add = (sc.capabilities?.add ?? []).map(capName);
  const drop = (sc.capabilities?.drop ?? []).map(capName);
  let caps = add.includes('CAP_ALL') ? [...allCapabilities] : [...defaultCapabilities, ...add.filter((c) => allCapabilities.includes(c))];
  if (drop.includes('CAP_ALL')) caps = add.includes('CAP_ALL') ? caps : add.filter((c) => allCapabilities.includes(c));
  else caps = caps.filter((c) => !drop.includes(c));
  return [...new Set(caps)];
}

/** Kubernetes' argv rule: command overrides Entrypoint (and then Cmd is dropped); args override Cmd. */
export function containerArgs(config: Pick<ContainerConfig, 'command' | 'args'>, image: ImageRuntimeConfig): string[] {
  const entrypoint = config.command.length > 0 ? config.command : (image.Entrypoint ?? []);
  const cmd = config.args.length > 0 ? config.args : config.command.length > 0 ? [] : (image.Cmd ?? []);
  return [...entrypoint, ...cmd];
}

/** Inputs of buildSpec. */
export interface SpecInputs {
  config: RuncContainerConfig;
  image: ImageRuntimeConfig;
  /** The container's root filesystem (already prepared), to resolve users in. */
  rootfs: string;
  hostname: string;
  /** Network namespace path; undefined shares the host's network (hostNetwork). */
  netnsPath?: string;
  /** Files bind-mounted at /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  etcFiles: { hosts?: string; hostname?: string; resolvConf?: string };
  cgroupsPath: string;
  /** Lowest oom_score_adj this process may set (negative values need CAP_SYS_RESOURCE). */
  minOomScoreAdj?: number;
}

/** Builds config.json for runc. Throws RuntimeError('CreateContainerConfigError') for an unusable user setting. */
export function buildSpec(inp: SpecInputs): OciSpec {
  const { config, image } = inp;
  const sc = config.linux?.securityContext ?? {};
  const res = config.linux?.resources ?? {};
  const user = resolveUser(inp.rootfs, image.User, sc);
  const env = new Map<string, string>();
  for (const e of image.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  env.set('HOSTNAME', inp.hostname);
  for (const e of config.envs) env.set(e.key, e.value);
  if (!env.has('HOME')) env.set('HOME', user.home || '/');
  if (config.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  const args = containerArgs(config, image);
  if (args.length === 0) throw new RuntimeError('CreateContainerError', 'no command specified');
  const caps = capabilitySet(sc);
  const privileged = sc.privileged === true;
  const mounts: OciSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  const etc: [string, string | undefined][] = [['/etc/hosts', inp.etcFiles.hosts], ['/etc/hostname', inp.etcFiles.hostname], ['/etc/resolv.conf', inp.etcFiles.resolvConf]];
  const userMounts = new Set(config.mounts.map((m) => m.containerPath));
  for (const [dest, src] of etc) {
    if (src && !userMounts.has(dest)) mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', sc.readonlyRootfs ? 'ro' : 'rw'] });
  }
  for (const m of config.mounts) {
    mounts.push({ destination: m.containerPath, type: 'bind', source: m.hostPath, options: ['rbind', 'rprivate', m.readonly ? 'ro' : 'rw'] });
  }
  const namespaces: OciSpec['linux']['namespaces'] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (inp.netnsPath) namespaces.push({ type: 'network', path: inp.netnsPath });
  const resources: OciSpec['linux']['resources'] = { devices: [{ allow: privileged, access: 'rwm' }] };
  if (res.memoryLimitInBytes && res.memoryLimitInBytes > 0) resources.memory = { limit: res.memoryLimitInBytes, swap: res.memoryLimitInBytes };
  const cpu: NonNullable<OciSpec['linux']['resources']['cpu']> = {};
  if (res.cpuShares) cpu.shares = res.cpuShares;
  if (res.cpuQuota && res.cpuQuota > 0) {
    cpu.quota = res.cpuQuota;
    cpu.period = res.cpuPeriod ?? 100_000;
  }
  if (Object.keys(cpu).length > 0) resources.cpu = cpu;
  if (res.pidsLimit && res.pidsLimit > 0) resources.pids = { limit: res.pidsLimit };
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: config.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd: config.workingDir || image.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: sc.noNewPrivs === true,
    },
    root: { path: inp.rootfs, readonly: sc.readonlyRootfs === true },
    hostname: inp.hostname,
    mounts,
    linux: {
      namespaces,
      cgroupsPath: inp.cgroupsPath,
      resources,
      ...(privileged ? {} : { maskedPaths, readonlyPaths }),
    },
  };
  if (res.oomScoreAdj !== undefined) {
    // Lowering oom_score_adj needs CAP_SYS_RESOURCE; runc fails the whole container otherwise, so clamp instead.
    spec.process.oomScoreAdj = Math.max(res.oomScoreAdj, inp.minOomScoreAdj ?? -1000);
  }
  return spec;
}

/** Parses a Kubernetes CPU quantity to millicores. */
function milliCpu(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const s = String(q);
  if (s.endsWith('m')) return Number(s.slice(0, -1));
  return Math.round(Number(s) * 1000);
}

const memSuffix: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Parses a Kubernetes memory quantity to bytes. */
function bytes(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(String(q));
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (memSuffix[m[2]!] ?? 1));
}

/**
 * The kubelet's mapping of a pod's container to CRI's LinuxContainerConfig: CPU requests → shares
 * (milli × 1024 / 1000, at least 2), CPU limits → quota over a 100 ms period, memory limit, QoS-based
 * oom_score_adj, and the container's security context merged over the pod's.
 */
export function linuxConfigFor(pod: { spec?: PodSpec }, c: Container): LinuxContainerConfig {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const cpuReq = milliCpu(req['cpu'] ?? lim['cpu']);
  const cpuLim = milliCpu(lim['cpu']);
  const memLim = bytes(lim['memory']);
  const resources: LinuxContainerResources = {
    cpuShares: cpuReq ? Math.max(2, Math.floor((cpuReq * 1024) / 1000)) : 2,
    ...(cpuLim ? { cpuQuota: Math.max(1000, Math.floor((cpuLim * 100_000) / 1000)), cpuPeriod: 100_000 } : {}),
    ...(memLim ? { memoryLimitInBytes: memLim } : {}),
    oomScoreAdj: oomScoreAdj(pod, c),
  };
  const psc = pod.spec?.securityContext ?? {};
  const csc = c.securityContext ?? {};
  const runAsUser = csc.runAsUser ?? psc.runAsUser;
  const runAsGroup = csc.runAsGroup ?? psc.runAsGroup;
  const runAsNonRoot = csc.runAsNonRoot ?? psc.runAsNonRoot;
  const supplementalGroups = [...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])];
  const securityContext: LinuxContainerSecurityContext = {
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    ...(runAsNonRoot !== undefined ? { runAsNonRoot } : {}),
    ...(supplementalGroups.length ? { supplementalGroups } : {}),
    ...(csc.privileged ? { privileged: true } : {}),
    ...(csc.readOnlyRootFilesystem ? { readonlyRootfs: true } : {}),
    ...(csc.capabilities ? { capabilities: { add: csc.capabilities.add ?? [], drop: csc.capabilities.drop ?? [] } } : {}),
    ...(csc.allowPrivilegeEscalation === false ? { noNewPrivs: true } : {}),
  };
  return { resources, securityContext };
}

/** The kubelet's QoS oom_score_adj: Guaranteed −997, BestEffort 1000, Burstable scaled by the memory request. */
export function oomScoreAdj(pod: { spec?: PodSpec }, c: Container): number {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const hasAny = all.some((x) => Object.keys(x.resources?.requests ?? {}).length > 0 || Object.keys(x.resources?.limits ?? {}).length > 0);
  if (!hasAny) return 1000;
  const guaranteed = all.every((x) => {
    const l = x.resources?.limits ?? {};
    const r = x.resources?.requests ?? {};
    return ['cpu', 'memory'].every((k) => l[k] !== undefined && (r[k] === undefined || String(r[k]) === String(l[k])));
  });
  if (guaranteed) return -997;
  const memReq = bytes(c.resources?.requests?.['memory'] ?? c.resources?.limits?.['memory']) ?? 0;
  const total = os.totalmem();
  const adj = 1000 - Math.floor((1000 * memReq) / total);
  return Math.min(999, Math.max(3, adj));
}
