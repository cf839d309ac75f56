import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RuntimeError } from '../runtime.ts';
import { buildSpec, capabilitySet, containerArgs, defaultCapabilities, linuxConfigFor, oomScoreAdj, resolveUser } from './spec.ts';
import type { RuncContainerConfig } from './spec.ts';

function rootfs(): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'skiff-spec-'));
  fs.mkdirSync(join(dir, 'etc'));
  fs.writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n');
  fs.writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nweb:x:33:\nlog:x:4:web\n');
  return dir;
}

test('argv follows Kubernetes: command replaces Entrypoint and drops Cmd; args replace Cmd', () => {
  const img = { Entrypoint: ['/entry'], Cmd: ['default'] };
  assert.deepEqual(containerArgs({ command: [], args: [] }, img), ['/entry', 'default']);
  assert.deepEqual(containerArgs({ command: ['/bin/x'], args: [] }, img), ['/bin/x']);
  assert.deepEqual(containerArgs({ command: [], args: ['a'] }, img), ['/entry', 'a']);
  assert.deepEqual(containerArgs({ command: ['/bin/x'], args: ['a'] }, img), ['/bin/x', 'a']);
});

test('users resolve from the image, runAsUser/runAsGroup win, runAsNonRoot refuses root', () => {
  const r = rootfs();
  try {
    assert.deepEqual(resolveUser(r, 'web', {}), { uid: 33, gid: 33, additionalGids: [33, 4], home: '/var/www' });
    assert.deepEqual(resolveUser(r, '33:4', {}), { uid: 33, gid: 4, additionalGids: [4], home: '/var/www' });
    assert.equal(resolveUser(r, 'web', { runAsUser: 1234, runAsGroup: 99, supplementalGroups: [5] }).uid, 1234);
    assert.deepEqual(resolveUser(r, undefined, { runAsUser: 1234, runAsGroup: 99, supplementalGroups: [5] }).additionalGids, [99, 5]);
    assert.throws(() => resolveUser(r, 'nobody', {}), /unable to find user nobody/);
    assert.throws(() => resolveUser(r, undefined, { runAsNonRoot: true }), (e: unknown) => e instanceof RuntimeError && e.reason === 'CreateContainerConfigError' && e.message === 'container has runAsNonRoot and image will run as root');
  } finally {
    fs.rmSync(r, { recursive: true, force: true });
  }
});

test('capabilities: the default set, add and drop, ALL, privileged', () => {
  assert.deepEqual(capabilitySet({}), defaultCapabilities);
  const s = capabilitySet({ capabilities: { add: ['NET_ADMIN'], drop: ['KILL', 'CAP_CHOWN'] } });
  assert.ok(s.includes('CAP_NET_ADMIN') && !s.includes('CAP_KILL') && !s.includes('CAP_CHOWN'));
  assert.deepEqual(capabilitySet({ capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } }), ['CAP_NET_BIND_SERVICE']);
  assert.ok(capabilitySet({ privileged: true }).includes('CAP_SYS_ADMIN'));
});

test('buildSpec: env, mounts, namespaces, limits, read-only root, clamped oom_score_adj', () => {
  const r = rootfs();
  try {
    const config: RuncContainerConfig = {
      metadata: { name: 'c', attempt: 0 }, image: 'x', command: ['sh'], args: [], workingDir: '', labels: {}, annotations: {},
      envs: [{ key: 'A', value: '1' }, { key: 'PATH', value: '/custom' }], mounts: [{ containerPath: '/data', hostPath: '/tmp', readonly: true }],
      logPath: '/dev/null', stdin: false, stdinOnce: false, tty: false,
      linux: { resources: { memoryLimitInBytes: 64 << 20, cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512, oomScoreAdj: -997 }, securityContext: { readonlyRootfs: true } },
    };
    const spec = buildSpec({ config, image: { Env: ['PATH=/img', 'B=2'], WorkingDir: '/w' }, rootfs: r, hostname: 'pod', netnsPath: '/var/run/netns/x', etcFiles: { hosts: '/h' }, cgroupsPath: '/skiff/pod1/c', minOomScoreAdj: 0 });
    assert.deepEqual(spec.process.env, ['PATH=/custom', 'B=2', 'HOSTNAME=pod', 'A=1', 'HOME=/root']);
    assert.equal(spec.process.cwd, '/w');
    assert.equal(spec.root.readonly, true);
    assert.equal(spec.process.oomScoreAdj, 0);
    assert.deepEqual(spec.linux.resources.memory, { limit: 64 << 20, swap: 64 << 20 });
    assert.deepEqual(spec.linux.resources.cpu, { shares: 512, quota: 50_000, period: 100_000 });
    assert.deepEqual(spec.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/var/run/netns/x' });
    assert.deepEqual(spec.mounts.find((m) => m.destination === '/data')?.options, ['rbind', 'rprivate', 'ro']);
    assert.deepEqual(spec.mounts.find((m) => m.destination === '/etc/hosts')?.options, ['rbind', 'rprivate', 'ro']);
    assert.ok(spec.linux.maskedPaths?.includes('/proc/kcore'));
    const host = buildSpec({ config: { ...config, linux: {} }, image: {}, rootfs: r, hostname: 'h', etcFiles: {}, cgroupsPath: '/x' });
    assert.equal(host.linux.namespaces.some((n) => n.type === 'network'), false, 'host network: no network namespace');
  } finally {
    fs.rmSync(r, { recursive: true, force: true });
  }
});

test('linuxConfigFor maps resources and security contexts like the kubelet', () => {
  const pod = { spec: { securityContext: { runAsUser: 1000, fsGroup: 2000 }, containers: [{ name: 'c', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } }, securityContext: { readOnlyRootFilesystem: true, runAsUser: 1001 } }] } };
  const c = pod.spec.containers[0]!;
  const l = linuxConfigFor(pod, c);
  assert.equal(l.resources?.cpuShares, 256);
  assert.equal(l.resources?.cpuQuota, 50_000);
  assert.equal(l.resources?.memoryLimitInBytes, 128 * 1024 * 1024);
  assert.equal(l.securityContext?.runAsUser, 1001);
  assert.deepEqual(l.securityContext?.supplementalGroups, [2000]);
  assert.equal(l.securityContext?.readonlyRootfs, true);
  assert.equal(oomScoreAdj({ spec: { containers: [{ name: 'g', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } }, { name: 'g', resources: { limits: { cpu: '1', memory: '1Gi' } } }), -997);
  assert.equal(oomScoreAdj({ spec: { containers: [{ name: 'b' }] } }, { name: 'b' }), 1000);
});
