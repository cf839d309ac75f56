/**
 * The runc runtime end to end, in process, against a real loopback registry: a pod sandbox with its own network
 * namespace, containers from a pulled busybox image, logs in the CRI format, StartError, exec (plain and tty), a
 * server reachable on the pod IP, runAsUser, a read-only root filesystem, OOMKilled under a memory limit, stats,
 * adoption by a new runtime instance, and a machine left as it was found.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setLogSink } from '../../src/base/log.ts';
import { openImageStore } from '../../src/agent/images/store.ts';
import type { ImageStore } from '../../src/agent/images/store.ts';
import { createRuncRuntime } from '../../src/agent/runtime/runc/runc-runtime.ts';
import type { RuncRuntime } from '../../src/agent/runtime/runc/runc-runtime.ts';
import type { RuncContainerConfig } from '../../src/agent/runtime/runc/spec.ts';
import type { PodSandboxConfig } from '../../src/agent/runtime/runtime.ts';
import { RuntimeError } from '../../src/agent/runtime/runtime.ts';
import { busyboxImage, containerToolsMissing, httpdImage, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';

setLogSink(null);
const skip = containerToolsMissing();

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('runc runtime', { skip, concurrency: false }, () => {
  let reg: TestRegistry;
  let dir: string;
  let store: ImageStore;
  let rt: RuncRuntime;
  let image: string;
  let httpd: string;
  const cgroupParent = `skiff-test-${process.pid}`;
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
  let sandboxId = '';
  const sandbox = (name: string): PodSandboxConfig => ({
    metadata: { name, namespace: 'default', uid: `uid-${name}-${process.pid}`, attempt: 0 },
    hostname: name, logDirectory: join(dir, 'logs', name), labels: { app: name }, annotations: {}, hostNetwork: false, portMappings: [],
  });
  const container = (name: string, over: Partial<RuncContainerConfig> = {}): RuncContainerConfig => ({
    metadata: { name, attempt: 0 }, image, command: [], args: [], workingDir: '', envs: [], mounts: [], labels: { c: name }, annotations: {},
    logPath: join(dir, 'logs', `${name}.log`), stdin: false, stdinOnce: false, tty: false, ...over,
  });
  const runToEnd = async (cfg: RuncContainerConfig) => {
    const id = await rt.createContainer(sandboxId, cfg);
    await rt.startContainer(id);
    return until(async () => {
      const s = await rt.containerStatus(id);
      return s?.state === 'CONTAINER_EXITED' ? s : undefined;
    }, `${cfg.metadata.name} to exit`);
  };

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/busybox', 'v1', busyboxImage());
    await reg.push('test/httpd', 'v1', httpdImage());
    image = `${reg.host}/test/busybox:v1`;
    httpd = `${reg.host}/test/httpd:v1`;
    dir = fs.mkdtempSync(join(tmpdir(), 'skiff-runc-'));
    store = openImageStore(join(dir, 'images'));
    rt = createRuncRuntime({ dataDir: join(dir, 'runtime'), imageStore: store, hostIP: '127.0.0.1', cgroupParent, network: { podCIDR: subnet } });
    await rt.start();
    await rt.pullImage(image);
    sandboxId = await rt.runPodSandbox(sandbox('main'));
  });

  after(async () => {
    await rt?.close({ killContainers: true });
    await reg?.stop();
    fs.rmSync(join('/sys/fs/cgroup/memory', cgroupParent), { recursive: true, force: true });
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      try {
        fs.rmdirSync(join('/sys/fs/cgroup', h, cgroupParent));
      } catch {
        // not created in this hierarchy
      }
    }
    if (dir) {
      const left = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
      assert.deepEqual(left, [], 'no mount left');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the sandbox has a pod IP from the pod CIDR', async () => {
    const st = await rt.podSandboxStatus(sandboxId);
    assert.equal(st?.state, 'SANDBOX_READY');
    assert.ok(st!.ip.startsWith(subnet.split('.').slice(0, 3).join('.') + '.'), st!.ip);
  });

  test('runs a container to completion and writes its output in the CRI log format', async () => {
    const s = await runToEnd(container('hello', { command: ['sh', '-c'], args: ['echo out; echo err >&2; echo $HOSTNAME; cat /etc/hostname; exit 3'] }));
    assert.equal(s.exitCode, 3);
    assert.equal(s.reason, 'Error');
    assert.ok(s.startedAt > 0 && s.finishedAt >= s.startedAt);
    assert.equal(s.imageRef.split('@')[1], rt.imageRecord(image)!.manifestDigest);
    const lines = fs.readFileSync(s.logPath, 'utf8').trim().split('\n');
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) F /);
    const entries = lines.map((l) => l.split(' ')).map((f) => `${f[1]}:${f.slice(3).join(' ')}`);
    assert.ok(entries.includes('stdout:out') && entries.includes('stderr:err'), entries.join('\n'));
    assert.equal(entries.filter((e) => e === 'stdout:main').length, 2, 'HOSTNAME and /etc/hostname are the pod hostname');
  });

  test('a command missing from the image is a StartError with runc\'s message', async () => {
    const id = await rt.createContainer(sandboxId, container('missing', { command: ['/no/such/binary'] }));
    await assert.rejects(rt.startContainer(id), (e: unknown) => e instanceof RuntimeError && e.reason === 'StartError' && /no such file or directory/.test(e.message));
    const s = await rt.containerStatus(id);
    assert.equal(s?.state, 'CONTAINER_EXITED');
    assert.equal(s?.reason, 'StartError');
    await rt.removeContainer(id);
  });

  test('runAsUser and the image\'s groups take effect', async () => {
    const s = await runToEnd(container('user', { command: ['id'], linux: { securityContext: { runAsUser: 1000 } } }));
    assert.equal(s.exitCode, 0);
    const out = fs.readFileSync(s.logPath, 'utf8');
    assert.match(out, /uid=1000\(app\) gid=1000\(app\) groups=1000\(app\),2000\(extra\)/);
  });

  test('a read-only root filesystem refuses writes; a writable one accepts them', async () => {
    const ro = await runToEnd(container('ro', { command: ['sh', '-c', 'touch /probe && echo wrote'], linux: { securityContext: { readonlyRootfs: true } } }));
    assert.notEqual(ro.exitCode, 0);
    assert.match(fs.readFileSync(ro.logPath, 'utf8'), /Read-only file system/);
    const rw = await runToEnd(container('rw', { command: ['sh', '-c', 'touch /probe && echo wrote'] }));
    assert.equal(rw.exitCode, 0);
  });

  test('a memory hog over its limit is OOMKilled', async () => {
    const s = await runToEnd(container('hog', {
      command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=4'],
      linux: { resources: { memoryLimitInBytes: 16 * 1024 * 1024, oomScoreAdj: -997 } },
    }));
    assert.equal(s.reason, 'OOMKilled');
    assert.equal(s.exitCode, 137);
  });

  test('a server in the pod answers on the pod IP; exec, tty exec and stats work', async () => {
    await rt.pullImage(httpd);
    const id = await rt.createContainer(sandboxId, container('web', { image: httpd }));
    await rt.startContainer(id);
    const ip = (await rt.podSandboxStatus(sandboxId))!.ip;
    const body = await until(async () => {
      try {
        const r = await fetch(`http://${ip}/index.html`);
        return r.ok ? await r.text() : undefined;
      } catch {
        return undefined;
      }
    }, 'httpd on the pod IP');
    assert.equal(body, 'hello from skiff\n');
    // From another container of another pod (through the bridge).
    const other = await rt.runPodSandbox(sandbox('client'));
    const cid = await rt.createContainer(other, container('client', { command: ['wget', '-qO-', `http://${ip}/index.html`], logPath: join(dir, 'logs', 'client.log') }));
    await rt.startContainer(cid);
    const cs = await until(async () => {
      const s = await rt.containerStatus(cid);
      return s?.state === 'CONTAINER_EXITED' ? s : undefined;
    }, 'client');
    assert.equal(cs.exitCode, 0);
    assert.match(fs.readFileSync(cs.logPath, 'utf8'), /hello from skiff/);
    await rt.removePodSandbox(other);

    const r = await rt.execSync(id, ['sh', '-c', 'echo $((6*7)); exit 4'], { timeoutMs: 5000 });
    assert.equal(r.exitCode, 4);
    assert.equal(r.stdout.toString().trim(), '42');
    const slow = await rt.execSync(id, ['sleep', '30'], { timeoutMs: 300 });
    assert.equal(slow.timedOut, true);

    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const stdin = new PassThrough();
    const code = rt.exec(id, ['sh'], { stdin, stdout, tty: true });
    stdin.write('tty; exit 5\n');
    assert.equal(await code, 5);
    assert.match(out, /\/dev\/pts\/\d+/);

    const st = await rt.containerStats(id);
    assert.ok(st && st.memoryWorkingSetBytes > 0 && st.cpuUsageCoreNanoSeconds > 0, JSON.stringify(st));
  });

  test('a new runtime instance adopts running containers instead of restarting them', async () => {
    const id = await rt.createContainer(sandboxId, container('long', { command: ['sh', '-c', 'trap "echo bye; exit 7" TERM; echo started; sleep 1000 & wait'] }));
    await rt.startContainer(id);
    const before1 = await rt.containerStatus(id);
    await rt.close();
    rt = createRuncRuntime({ dataDir: join(dir, 'runtime'), imageStore: store, hostIP: '127.0.0.1', cgroupParent, network: { podCIDR: subnet } });
    await rt.start();
    const adopted = await rt.containerStatus(id);
    assert.equal(adopted?.state, 'CONTAINER_RUNNING');
    assert.equal(adopted?.startedAt, before1?.startedAt);
    await rt.stopContainer(id, { timeoutSeconds: 1 });
    const s = await rt.containerStatus(id);
    assert.equal(s?.state, 'CONTAINER_EXITED');
    assert.equal(s?.exitCode, 7, 'the trap ran on SIGTERM');
    assert.match(fs.readFileSync(s!.logPath, 'utf8'), /stdout F started\n.*stdout F bye\n/s, 'output before and after the restart is logged');
  });

  test('removing the sandbox leaves no container, mount, netns or cgroup', async () => {
    const st = await rt.podSandboxStatus(sandboxId);
    const uid = st!.metadata.uid;
    await rt.removePodSandbox(sandboxId);
    assert.equal(await rt.podSandboxStatus(sandboxId), undefined);
    const runcList = execFileSync('runc', ['--root', join(dir, 'runtime', 'runc-state'), 'list', '-q'], { encoding: 'utf8' }).trim();
    assert.equal(runcList, '');
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(dir, 'runtime')));
    assert.deepEqual(mounts, []);
    assert.ok(!fs.existsSync(rt.network!.netnsPath(sandboxId)));
    assert.ok(!fs.existsSync(join('/sys/fs/cgroup/memory', cgroupParent, `pod${uid}`)));
  });
});
