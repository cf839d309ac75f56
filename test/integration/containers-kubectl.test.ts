/**
 * Issue 8 end to end: the real kubectl against a real `skiff server` whose node runs the runc runtime (started in
 * process against the server, as `skiff server --runtime runc` does), pulling images from a loopback registry.
 * Deployments reach Running with pod IPs reachable from the host and from other pods; logs, exec -it, cp and
 * port-forward work; memory limits OOM-kill; security contexts and configMap updates take effect; the bad inputs
 * report upstream's reasons; and deleting everything leaves no container, mount, netns, veth or cgroup.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { RuncRuntime } from '../../src/agent/runtime/runc/index.ts';
import { startAgentCluster } from './agent-helpers.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { busyboxImage, containerToolsMissing, httpdImage, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';
import { freePort, httpGet, removeCgroups, waitFor } from './helpers/runc-test.ts';

const skip = containerToolsMissing();

describe('containers on runc through kubectl', { skip, timeout: 600_000 }, () => {
  let reg: TestRegistry;
  let c: AgentCluster;
  let work: string;
  const cgroupParent = `skiff-kit-${process.pid}`;
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
  let httpd = '';
  let busybox = '';

  const kubectlOk = async (args: string[], input?: string): Promise<string> => {
    const r = await c.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const getPod = async (name: string): Promise<Pod> => JSON.parse(await kubectlOk(['get', 'pod', name, '-o', 'json'])) as Pod;
  const podsOf = async (selector: string): Promise<Pod[]> => (JSON.parse(await kubectlOk(['get', 'pods', '-l', selector, '-o', 'json'])) as { items: Pod[] }).items;
  const running = (name: string, timeoutMs = 60_000): Promise<Pod> => waitFor(async () => {
    const p = await getPod(name);
    return p.status?.phase === 'Running' && p.status.containerStatuses?.every((s) => s.state?.running) ? p : undefined;
  }, { timeoutMs, what: `pod ${name} running` });
  const podYaml = (name: string, spec: Record<string, unknown>): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { terminationGracePeriodSeconds: 1, ...spec } });

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/httpd', 'v1', httpdImage());
    await reg.push('test/busybox', 'v1', busyboxImage());
    httpd = `${reg.host}/test/httpd:v1`;
    busybox = `${reg.host}/test/busybox:v1`;
    work = fs.mkdtempSync(join(tmpdir(), 'skiff-kit-'));
    c = await startAgentCluster({
      runtime: 'runc', dataDir: join(work, 'data'), podCIDR: subnet, cgroupParent, killPodsOnStop: true,
      backoff: { initialMs: 1000, maxMs: 4000, resetAfterMs: 60_000 }, volumeResyncMs: 1000, statusCheckMs: 1000,
    });
  });

  after(async () => {
    if (c) {
      await c.kubectl(['delete', 'deployments,pods,configmaps', '--all', '--grace-period=1', '--wait=true'], { timeoutMs: 60_000 }).catch(() => undefined);
      await c.stop();
    }
    await reg?.stop();
    removeCgroups(cgroupParent);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs a Deployment pulled from the registry with pod IPs reachable from the host and from another pod', async () => {
    await kubectlOk(['create', 'deployment', 'web', `--image=${httpd}`, '--replicas=2', '--port=80']);
    const pods = await waitFor(async () => {
      const ps = await podsOf('app=web');
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && p.status.podIP) ? ps : undefined;
    }, { timeoutMs: 90_000, what: 'two web pods running' });
    const [a, b] = [pods[0]!.status!.podIP!, pods[1]!.status!.podIP!];
    const prefix = subnet.split('.').slice(0, 3).join('.');
    assert.ok(a.startsWith(`${prefix}.`) && b.startsWith(`${prefix}.`) && a !== b, `${a} ${b} in ${subnet}`);
    assert.equal(pods[0]!.status!.containerStatuses?.[0]?.imageID.includes('sha256:'), true);
    assert.equal(await httpGet(`http://${a}/index.html`), 'hello from skiff\n');
    const fromPod = await kubectlOk(['exec', pods[0]!.metadata!.name!, '--', 'wget', '-qO-', `http://${b}/index.html`]);
    assert.equal(fromPod, 'hello from skiff\n');
    const node = JSON.parse(await kubectlOk(['get', 'node', 'node-1', '-o', 'json'])) as Node;
    assert.ok(node.status?.nodeInfo?.containerRuntimeVersion.startsWith('runc://'), node.status?.nodeInfo?.containerRuntimeVersion);
    await waitFor(async () => {
      const n = JSON.parse(await kubectlOk(['get', 'node', 'node-1', '-o', 'json'])) as Node;
      return n.status?.images?.some((i) => i.names?.includes(httpd)) ?? false;
    }, { timeoutMs: 20_000, what: 'the image in node status.images' });
    const events = await kubectlOk(['get', 'events', '--field-selector', `involvedObject.name=${pods[0]!.metadata!.name!}`, '-o', 'jsonpath={range .items[*]}{.reason}:{.message}{"\\n"}{end}']);
    assert.match(events, new RegExp(`Pulling:Pulling image "${httpd.replace(/[.]/g, '\\.')}"`));
  });

  it('serves logs, exec -it, cp and port-forward', async () => {
    const [p] = await podsOf('app=web');
    const name = p!.metadata!.name!;
    await httpGet(`http://${p!.status!.podIP!}/`).catch(() => undefined);
    await waitFor(async () => (await kubectlOk(['logs', name])).length > 0, { timeoutMs: 10_000, what: 'httpd access log' });
    // A real terminal for kubectl (script), so that -t allocates a TTY end to end; the shell reads its commands from it.
    const term = spawn('script', ['-qefc', `kubectl --kubeconfig ${c.kubeconfig} exec -it ${name} -- sh`, '/dev/null'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home, TERM: 'dumb' },
    });
    let ttyOut = '';
    term.stdout.on('data', (d: Buffer) => (ttyOut += d.toString()));
    term.stderr.on('data', (d: Buffer) => (ttyOut += d.toString()));
    const termExit = new Promise<number | null>((r) => term.once('exit', (code) => r(code)));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      term.stdin.write('tty; echo uid=$(id -u)\r');
      await waitFor(() => /uid=0/.test(ttyOut), { timeoutMs: 15_000, what: () => `exec -it output: ${JSON.stringify(ttyOut)}` });
      term.stdin.write('exit 3\r');
      assert.equal(await Promise.race([termExit, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]), 3);
    } finally {
      term.kill();
    }
    assert.match(ttyOut, /\/dev\/pts\/\d+/);
    const src = join(work, 'up.txt');
    fs.writeFileSync(src, 'copied in\n');
    await kubectlOk(['cp', src, `${name}:/tmp/up.txt`]);
    assert.equal(await kubectlOk(['exec', name, '--', 'cat', '/tmp/up.txt']), 'copied in\n');
    const dst = join(work, 'down.txt');
    await kubectlOk(['cp', `${name}:/www/index.html`, dst]);
    assert.equal(fs.readFileSync(dst, 'utf8'), 'hello from skiff\n');
    const local = await freePort();
    const pf = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', `pod/${name}`, `${local}:80`], { env: { PATH: process.env['PATH'] ?? '', HOME: c.kubectl.home } });
    let out = '';
    pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
    pf.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('Forwarding from'), { timeoutMs: 15_000, what: `port-forward: ${out}` });
      assert.equal(await httpGet(`http://127.0.0.1:${local}/index.html`), 'hello from skiff\n');
    } finally {
      pf.kill();
    }
  });

  it('OOM-kills a memory hog and restarts it', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('hog', {
      containers: [{ name: 'hog', image: busybox, command: ['sh', '-c', 'sleep 1; a=$(head -c 100000000 /dev/zero | tr "\\000" x); sleep 1000'], resources: { limits: { memory: '32Mi' } } }],
    }));
    let last = '';
    const p = await waitFor(async () => {
      const x = await getPod('hog');
      const s = x.status?.containerStatuses?.[0];
      last = JSON.stringify(s);
      return s && s.restartCount >= 1 && (s.lastState?.terminated?.reason === 'OOMKilled') ? x : undefined;
    }, { timeoutMs: 60_000, what: () => `hog OOMKilled and restarted: ${last}` });
    assert.equal(p.status!.containerStatuses![0]!.lastState!.terminated!.exitCode, 137);
  });

  it('applies runAsUser and a read-only root filesystem', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('secure', {
      securityContext: { runAsUser: 1000, runAsGroup: 1000 },
      containers: [{ name: 'c', image: busybox, command: ['sleep', '1000'], securityContext: { readOnlyRootFilesystem: true } }],
    }));
    await running('secure');
    assert.equal((await kubectlOk(['exec', 'secure', '--', 'id', '-u'])).trim(), '1000');
    const w = await c.kubectl(['exec', 'secure', '--', 'touch', '/home/app/x']);
    assert.notEqual(w.code, 0);
    assert.match(w.stdout + w.stderr, /Read-only file system/);
  });

  it('shows a configMap update inside the container', async () => {
    await kubectlOk(['create', 'configmap', 'cfg', '--from-literal=greeting=one']);
    await kubectlOk(['apply', '-f', '-'], podYaml('cfgpod', {
      containers: [{ name: 'c', image: busybox, command: ['sleep', '1000'], volumeMounts: [{ name: 'v', mountPath: '/cfg' }] }],
      volumes: [{ name: 'v', configMap: { name: 'cfg' } }],
    }));
    await running('cfgpod');
    assert.equal(await kubectlOk(['exec', 'cfgpod', '--', 'cat', '/cfg/greeting']), 'one');
    await kubectlOk(['patch', 'configmap', 'cfg', '--type=merge', '-p', '{"data":{"greeting":"two"}}']);
    await waitFor(async () => (await kubectlOk(['exec', 'cfgpod', '--', 'cat', '/cfg/greeting'])) === 'two', { timeoutMs: 30_000, what: 'the updated configMap inside the container' });
  });

  it('reports ErrImagePull then ImagePullBackOff with the registry\'s message, and StartError for a missing command', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('noimage', { containers: [{ name: 'c', image: `${reg.host}/test/nosuch:v1` }] }));
    const seen = new Set<string>();
    let lastStatus = '';
    await waitFor(async () => {
      const ps = (await getPod('noimage')).status;
      lastStatus = JSON.stringify(ps);
      const w = ps?.containerStatuses?.[0]?.state?.waiting;
      // Each failed pull shows ErrImagePull with the registry's message until the back-off turns it into
      // ImagePullBackOff, as upstream's status does.
      if (w?.reason === 'ErrImagePull') {
        assert.match(w.message ?? '', /not found/);
        seen.add('ErrImagePull');
      }
      if (w?.reason === 'ImagePullBackOff') {
        assert.match(w.message ?? '', new RegExp(`^Back-off pulling image "${reg.host.replace(/\./g, '\\.')}/test/nosuch:v1": ErrImagePull: .*not found`));
        seen.add('ImagePullBackOff');
      }
      return seen.size === 2;
    }, { timeoutMs: 30_000, what: () => `ErrImagePull and ImagePullBackOff (seen ${[...seen].join(',')}; last ${lastStatus})` });

    await kubectlOk(['apply', '-f', '-'], podYaml('nocmd', { containers: [{ name: 'c', image: busybox, command: ['/no/such/cmd'] }] }));
    const st = await waitFor(async () => {
      const s = (await getPod('nocmd')).status?.containerStatuses?.[0];
      const reasons = [s?.state?.waiting?.reason, s?.state?.terminated?.reason, s?.lastState?.terminated?.reason];
      return reasons.includes('StartError') ? s : undefined;
    }, { timeoutMs: 30_000, what: 'StartError' });
    const msg = [st?.state?.waiting, st?.state?.terminated, st?.lastState?.terminated].find((x) => x?.reason === 'StartError')?.message ?? '';
    assert.match(msg, /\/no\/such\/cmd/);
  });

  it('refuses a blob whose digest does not match: ErrImagePull names the digest and nothing is half-stored', async () => {
    // A layer only this test uses, corrupted in the registry's storage after the push (same size, other bytes).
    const img = busyboxImage({ files: [{ name: 'marker', data: `corrupt-${process.pid}-${Date.now()}\n` }] });
    await reg.push('test/corrupt', 'v1', img);
    const layer = img.layers[0]!.digest;
    const hex = layer.slice('sha256:'.length);
    const stored = join(reg.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const bytes = fs.readFileSync(stored);
    for (let i = bytes.length - 64; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff;
    fs.writeFileSync(stored, bytes);
    const image = `${reg.host}/test/corrupt:v1`;
    await kubectlOk(['apply', '-f', '-'], podYaml('corrupt', { containers: [{ name: 'c', image, command: ['sleep', '60'] }] }));
    let last = '';
    const w = await waitFor(async () => {
      const x = (await getPod('corrupt')).status?.containerStatuses?.[0]?.state?.waiting;
      last = JSON.stringify(x);
      return x?.reason === 'ErrImagePull' ? x : undefined;
    }, { timeoutMs: 30_000, what: () => `ErrImagePull for a corrupted layer: ${last}` });
    assert.match(w.message ?? '', new RegExp(`^failed to pull and unpack image "${image.replace(/\./g, '\\.')}": .*digest mismatch: expected ${layer}, got sha256:[0-9a-f]{64}`));
    // Nothing of the bad blob is kept: not as a blob, not as an unpacked layer, not in flight, and no image record.
    const store = join(work, 'data', 'images');
    assert.equal(fs.existsSync(join(store, 'blobs', 'sha256', hex)), false, 'the corrupted blob is not stored');
    assert.deepEqual(fs.readdirSync(join(store, 'tmp')), [], 'no partial download left');
    assert.equal(fs.existsSync(join(store, 'blobs', 'sha256', img.manifestDigest.slice(7))), false, 'the manifest of the failed pull is not stored');
    const images = await kubectlOk(['get', 'node', '-o', 'jsonpath={.items[0].status.images[*].names}']).catch(() => '');
    assert.ok(!images.includes('test/corrupt'), 'the node does not list the image');
    await kubectlOk(['delete', 'pod', 'corrupt', '--grace-period=0', '--force']);
  });

  it('reports an image built only for another platform as ErrImagePull naming both platforms', async () => {
    const arm = busyboxImage({ architecture: 'arm64', files: [{ name: 'arm-marker', data: `arm-${process.pid}\n` }] });
    await reg.push('test/armonly', arm.manifestDigest, arm);
    const index = JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.manifestDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } }],
    });
    const put = await fetch(`${reg.url}/v2/test/armonly/manifests/v1`, { method: 'PUT', body: index, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
    assert.equal(put.status, 201, await put.text());
    const image = `${reg.host}/test/armonly:v1`;
    await kubectlOk(['apply', '-f', '-'], podYaml('armonly', { containers: [{ name: 'c', image, command: ['sleep', '60'] }] }));
    let last = '';
    const w = await waitFor(async () => {
      const x = (await getPod('armonly')).status?.containerStatuses?.[0]?.state?.waiting;
      last = JSON.stringify(x);
      return x?.reason === 'ErrImagePull' ? x : undefined;
    }, { timeoutMs: 30_000, what: () => `ErrImagePull for another platform: ${last}` });
    assert.match(w.message ?? '', /no match for platform linux\/amd64 in manifest sha256:[0-9a-f]{64}: not found \(the image offers linux\/arm64\)/);
    await kubectlOk(['delete', 'pod', 'armonly', '--grace-period=0', '--force']);
  });

  it('reports ErrImagePull naming authentication when the pull secret has the wrong password', async () => {
    // A second registry that requires basic auth (alice / s3cret; the bcrypt hash was made once with crypt(3)).
    const rdir = fs.mkdtempSync(join(tmpdir(), 'skiff-kit-authreg-'));
    fs.writeFileSync(join(rdir, 'htpasswd'), 'alice:$2b$12$214jK2A/Phnt7OoirZjZF./JDiG/JUoxZeoCrrCCZUfJremEf4XtG\n');
    const port = await freePort();
    fs.writeFileSync(join(rdir, 'config.yml'), [
      'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
      'storage:', '  filesystem:', `    rootdirectory: ${join(rdir, 'data')}`,
      'auth:', '  htpasswd:', '    realm: skiff-test', `    path: ${join(rdir, 'htpasswd')}`,
      'http:', `  addr: 127.0.0.1:${port}`, '',
    ].join('\n'));
    const proc = spawn('/usr/bin/docker-registry', ['serve', join(rdir, 'config.yml')], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).status === 401, { timeoutMs: 10_000, what: 'the auth registry' });
      const good = await fetch(`http://127.0.0.1:${port}/v2/`, { headers: { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` } });
      assert.equal(good.status, 200, 'the right password is accepted by the registry');
      const auths = { auths: { [`127.0.0.1:${port}`]: { username: 'alice', password: 'wrong' } } };
      fs.writeFileSync(join(rdir, 'config.json'), JSON.stringify(auths));
      await kubectlOk(['create', 'secret', 'docker-registry', 'badcreds', `--from-file=.dockerconfigjson=${join(rdir, 'config.json')}`]);
      const image = `127.0.0.1:${port}/test/private:v1`;
      await kubectlOk(['apply', '-f', '-'], podYaml('private', { imagePullSecrets: [{ name: 'badcreds' }], containers: [{ name: 'c', image }] }));
      let last = '';
      const w = await waitFor(async () => {
        const x = (await getPod('private')).status?.containerStatuses?.[0]?.state?.waiting;
        last = JSON.stringify(x);
        return x?.reason === 'ErrImagePull' || x?.reason === 'ImagePullBackOff' ? x : undefined;
      }, { timeoutMs: 30_000, what: () => `ErrImagePull for wrong credentials: ${last}` });
      assert.match(w.message ?? '', /authoriz|authenticat|unauthorized/i);
    } finally {
      await c.kubectl(['delete', 'pod', 'private', '--grace-period=0', '--force']).catch(() => undefined);
      proc.kill('SIGTERM');
      await exited;
      fs.rmSync(rdir, { recursive: true, force: true });
    }
  });

  it('leaves no container, mount, netns, veth or cgroup after everything is deleted', async () => {
    const uids = (JSON.parse(await kubectlOk(['get', 'pods', '-o', 'json'])) as { items: Pod[] }).items.map((p) => p.metadata!.uid!);
    assert.ok(uids.length > 0);
    const rt = c.agent.agents[0]!.runtime as RuncRuntime;
    const netnsPaths = (await rt.listPodSandbox()).filter((x) => x.state === 'SANDBOX_READY').map((x) => rt.network!.netnsPath(x.id));
    assert.ok(netnsPaths.length > 0 && netnsPaths.every((n) => fs.existsSync(n)), 'the pods have network namespaces to clean up');
    await kubectlOk(['delete', 'deployment', 'web', '--wait=true']);
    await kubectlOk(['delete', 'pods', '--all', '--grace-period=1', '--wait=true']);
    await waitFor(async () => (JSON.parse(await kubectlOk(['get', 'pods', '-o', 'json'])) as { items: Pod[] }).items.length === 0, { timeoutMs: 60_000, what: 'pods gone' });
    const runcRoot = join(c.rootDir, 'runc');
    await waitFor(() => {
      const states = fs.existsSync(join(runcRoot, 'runc-state')) ? fs.readdirSync(join(runcRoot, 'runc-state')) : [];
      return states.length === 0;
    }, { timeoutMs: 20_000, what: 'no runc container state' });
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(c.rootDir));
    assert.deepEqual(mounts, []);
    assert.deepEqual((await rt.listPodSandbox()).map((x) => x.id), []);
    assert.deepEqual(netnsPaths.filter((n) => fs.existsSync(n)), []);
    for (const uid of uids) assert.ok(!fs.existsSync(join('/sys/fs/cgroup/memory', cgroupParent, `pod${uid}`)), `cgroup of ${uid}`);
    const attached = execFileSync('ip', ['-o', 'link', 'show', 'master', rt.network!.bridge], { encoding: 'utf8' }).trim();
    assert.equal(attached, '', 'no veth left on the pod bridge');
  });
});
