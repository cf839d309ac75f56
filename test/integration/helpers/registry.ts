/**
 * Test helper for real containers: builds a busybox-based OCI image from the host's busybox-static (no network), and
 * starts Debian's `docker-registry` on a free loopback port in a temp dir, stopped by PID. Images are pushed with
 * the registry v2 upload API.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../../src/agent/images/build.ts';
import type { BuildImageOptions, BuiltImage } from '../../../src/agent/images/build.ts';
import { mediaTypes } from '../../../src/agent/images/oci.ts';
import type { TarWriteEntry } from '../../../src/agent/images/tar.ts';

/** Where Debian's busybox-static installs the binary. */
export const busyboxPath = '/bin/busybox';

/** Whether the tools real-container tests need are installed (run scripts/install-deps.sh as root). */
export function containerToolsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'real containers need root';
  for (const [what, path] of [['runc', '/usr/sbin/runc'], ['busybox-static', busyboxPath], ['docker-registry', '/usr/bin/docker-registry'], ['containernetworking-plugins', '/usr/lib/cni/bridge']] as const) {
    if (!fs.existsSync(path)) return `${what} is not installed (scripts/install-deps.sh)`;
  }
  return undefined;
}

/** Options of busyboxImage. */
export interface BusyboxImageOptions extends BuildImageOptions {
  /** Extra files in the layer. */
  files?: TarWriteEntry[];
}

/**
 * A single-layer image: busybox with every applet linked in /bin, /etc/passwd and /etc/group (root, nobody, and
 * `app` with uid/gid 1000), /www/index.html, /tmp. Default command `sh`.
 */
export function busyboxImage(opts: BusyboxImageOptions = {}): BuiltImage {
  const bin = fs.readFileSync(busyboxPath);
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const files: TarWriteEntry[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', data: bin, mode: 0o755 },
    ...applets.map((a): TarWriteEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { name: 'etc/group', data: 'root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n' },
    { name: 'home/', type: 'directory' },
    { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'www/', type: 'directory' },
    { name: 'www/index.html', data: 'hello from skiff\n' },
    ...(opts.files ?? []),
  ];
  return buildImage([files], {
    ...opts,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/', ...opts.config },
  });
}

/** A busybox image whose default command serves /www over HTTP on port 80. */
export function httpdImage(): BuiltImage {
  return busyboxImage({ config: { Cmd: ['httpd', '-f', '-v', '-p', '80', '-h', '/www'], ExposedPorts: { '80/tcp': {} } } });
}

/** A running registry. */
export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 (use it as the registry part of image references). */
  host: string;
  url: string;
  dir: string;
  proc: ChildProcess;
  /** Pushes `img` as `repo:tag`. */
  push(repo: string, tag: string, img: BuiltImage): Promise<void>;
  /** Stops the registry by PID and removes its directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `docker-registry` on 127.0.0.1 (a free port) with storage in a temp dir. */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(join(tmpdir(), 'skiff-registry-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    fs.writeFileSync(config, [
      'version: 0.1',
      'log:', '  level: error', '  accesslog:', '    disabled: true',
      'storage:', `  filesystem:`, `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true',
      'http:', `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'));
    const proc = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    const url = `http://127.0.0.1:${port}`;
    const up = await waitUp(url, proc);
    if (!up) {
      proc.kill('SIGKILL');
      if (attempt < 3) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${err}`);
    }
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    return {
      host: `127.0.0.1:${port}`, url, dir, proc,
      push: (repo, tag, img) => pushImage(url, repo, tag, img),
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitUp(url: string, proc: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return false;
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Uploads every blob of `img` (monolithic uploads) and puts its manifest as `repo:tag`. */
export async function pushImage(url: string, repo: string, tag: string, img: BuiltImage): Promise<void> {
  for (const [digest, data] of img.blobs) {
    if (digest === img.manifestDigest) continue;
    const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
    const loc = new URL(start.headers.get('location')!, url);
    loc.searchParams.set('digest', digest);
    const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
  }
  const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: img.manifest, headers: { 'content-type': mediaTypes.ociManifest } });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${await r.text()}`);
}
