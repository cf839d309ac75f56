/**
 * A throw-away network lab for the service tests: a bridge with its own /24, one network namespace per
 * "pod" (veth into the bridge), a small HTTP server per backend namespace that answers with its name, and
 * /etc/netns/<ns>/resolv.conf so that processes run with `ip netns exec` use the cluster DNS. Everything is
 * named with a random suffix and removed by `destroy()`; forwarding is enabled only on the lab's bridge.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

/** True when the machine can run the lab (root, ip, iptables-restore, python3, curl). */
export function labAvailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['ip', 'iptables-restore', 'python3', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `needs ${bin}`;
    }
  }
  return undefined;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const serverCode = `
import http.server, socketserver, sys
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = name.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
S(('0.0.0.0', int(sys.argv[2])), H).serve_forever()
`;

/** One network namespace on the lab bridge. */
export interface LabPod {
  name: string;
  ns: string;
  ip: string;
  server?: ChildProcess;
}

/** The lab. */
export class NetLab {
  readonly id = randomBytes(2).toString('hex');
  readonly bridge = `sktb${this.id}`;
  /** 10.42.<octet>.0/24: inside the cluster's pod CIDR, distinct per run. */
  readonly octet = 200 + (parseInt(this.id, 16) % 50);
  readonly subnet = `10.42.${this.octet}.0/24`;
  readonly gateway = `10.42.${this.octet}.1`;
  readonly pods: LabPod[] = [];
  private next = 10;

  /** Creates the bridge (forwarding on for it only). */
  create(): void {
    sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    sh('ip', ['link', 'set', this.bridge, 'up']);
    this.ensureForwarding();
  }

  /**
   * Turns forwarding on for the lab bridge only (pod → ClusterIP traffic is DNATed and forwarded back out of it).
   * Writing net.ipv4.ip_forward resets every interface's value, and other tests on the machine put it back as
   * they found it, so this is re-applied before each client run.
   */
  ensureForwarding(): void {
    fs.writeFileSync(`/proc/sys/net/ipv4/conf/${this.bridge}/forwarding`, '1');
  }

  /** Adds a namespace with an address on the bridge; with `port`, starts an HTTP server answering `name`. */
  async addPod(name: string, opts: { port?: number; resolvConf?: string } = {}): Promise<LabPod> {
    const i = this.pods.length;
    const ns = `sktn${this.id}-${i}`;
    const host = `sktv${this.id}${i}`;
    const ip = `10.42.${this.octet}.${this.next++}`;
    sh('ip', ['netns', 'add', ns]);
    const pod: LabPod = { name, ns, ip };
    this.pods.push(pod);
    sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['link', 'set', host, 'master', this.bridge, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', this.gateway]);
    if (opts.resolvConf) {
      fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      fs.writeFileSync(`/etc/netns/${ns}/resolv.conf`, opts.resolvConf);
    }
    if (opts.port) {
      pod.server = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', serverCode, name, String(opts.port)], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          if (sh('curl', ['-sf', '--max-time', '1', `http://${ip}:${opts.port}/`]) === name) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`backend ${name} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return pod;
  }

  /** Runs a shell command inside a pod's namespace (with its resolv.conf). */
  exec(pod: LabPod, script: string, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    this.ensureForwarding();
    // Kept on while the client runs: a concurrent test restoring ip_forward=0 would otherwise cut it off mid-run.
    const keep = setInterval(() => this.ensureForwarding(), 25);
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', pod.ns, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(t);
        clearInterval(keep);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Stops a pod's server (by PID). */
  async stopServer(pod: LabPod): Promise<void> {
    const s = pod.server;
    if (!s || s.exitCode !== null || s.signalCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGTERM');
    const t = setTimeout(() => s.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    // `ip netns exec` forwards no signal to python if it exec'd; both are gone when the namespace's pids are.
    this.killNamespacePids(pod.ns);
  }

  private killNamespacePids(ns: string): void {
    let pids: string[] = [];
    try {
      pids = sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean);
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Removes every process, namespace, link and file the lab created. */
  async destroy(): Promise<void> {
    for (const p of this.pods) {
      await this.stopServer(p).catch(() => undefined);
      this.killNamespacePids(p.ns);
      try {
        sh('ip', ['netns', 'del', p.ns]);
      } catch {
        // already removed
      }
      fs.rmSync(`/etc/netns/${p.ns}`, { recursive: true, force: true });
    }
    try {
      sh('ip', ['link', 'del', this.bridge]);
    } catch {
      // already removed
    }
  }
}

/** `iptables-save` of both tables. */
export function iptablesSave(): string {
  return sh('iptables-save', ['-t', 'nat']) + sh('iptables-save', ['-t', 'filter']);
}
