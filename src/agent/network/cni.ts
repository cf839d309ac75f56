/**
 * Invokes CNI plugins as the CNI specification (1.0) describes for network configuration lists: ADD runs the
 * plugins in order, each receiving the previous plugin's result as `prevResult`; DEL runs them in reverse with the
 * cached result of the ADD; CHECK runs them in order with it. Capabilities a plugin declares (portMappings) are
 * passed as `runtimeConfig`. Results are cached on disk so that DEL and CHECK work after an agent restart.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';

/** One plugin of a configuration list. */
export interface CniPluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list. */
export interface CniConfigList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

/** The success result of ADD (spec "Success"). */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
}

/** A plugin's error result. */
export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(readonly code: number, message: string, readonly plugin: string) {
    super(message);
  }
}

/** Identity of one attachment (container, network namespace, interface). */
export interface CniAttachment {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS key=value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, …). */
  args?: Record<string, string>;
  /** Runtime config per capability (`portMappings`). */
  runtimeConfig?: Record<string, unknown>;
}

/** Options of a CniInvoker. */
export interface CniOptions {
  /** Directories searched for plugin binaries (CNI_PATH). */
  binDirs: string[];
  /** Where ADD results are cached. */
  cacheDir: string;
  /** Per-plugin timeout (default 30 s). */
  timeoutMs?: number;
  /** Runs a plugin (default: spawned from this thread); the runc runtime passes its off-thread spawner. */
  run?: CommandRunner;
}

/** Runs a command to completion with `input` on stdin; rejects only when it cannot be started. */
export type CommandRunner = (file: string, args: string[], opts: { env: Record<string, string>; input: string; timeoutMs: number }) => Promise<{ code: number | null; stdout: string; stderr: string }>;

/** A CommandRunner spawning from the calling thread. */
export const spawnRunner: CommandRunner = (file, args, opts) => new Promise((resolve, reject) => {
  const child = spawn(file, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.once('error', (e) => {
    clearTimeout(timer);
    reject(e);
  });
  child.once('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.input);
});

/** Runs configuration lists through the plugins. */
export class CniInvoker {
  constructor(private readonly opts: CniOptions) {}

  /** ADD: attaches the interface; resolves with the final result (also cached). */
  async add(list: CniConfigList, a: CniAttachment): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const p of list.plugins) {
      const out = await this.exec('ADD', list, p, a, prev);
      prev = out ? (JSON.parse(out) as CniResult) : prev;
    }
    const result = prev ?? { cniVersion: list.cniVersion };
    fs.mkdirSync(this.opts.cacheDir, { recursive: true });
    fs.writeFileSync(this.cachePath(list.name, a), JSON.stringify({ kind: 'cniCacheV1', containerId: a.containerId, ifName: a.ifName, networkName: list.name, config: list, result, netns: a.netns, args: a.args ?? {}, runtimeConfig: a.runtimeConfig ?? {} }));
    return result;
  }

  /** DEL: detaches (idempotent: a missing namespace or attachment is not an error for the plugins used here). */
  async del(list: CniConfigList, a: CniAttachment): Promise<void> {
    const cached = this.cached(list.name, a);
    const prev = cached?.result;
    const attachment = { ...a, runtimeConfig: a.runtimeConfig ?? cached?.runtimeConfig };
    // DEL runs the list the ADD ran (the spec's cached config), when there is one.
    const used = cached?.config && cached.config.name === list.name ? cached.config : list;
    for (const p of [...used.plugins].reverse()) await this.exec('DEL', used, p, attachment, prev);
    fs.rmSync(this.cachePath(list.name, a), { force: true });
  }

  /** CHECK: verifies the attachment is as ADD left it; rejects with CniError otherwise. */
  async check(list: CniConfigList, a: CniAttachment): Promise<void> {
    const cached = this.cached(list.name, a);
    if (!cached) throw new CniError(999, `no cached result for ${a.containerId}/${a.ifName}`, list.name);
    const used = cached.config && cached.config.name === list.name ? cached.config : list;
    for (const p of used.plugins) await this.exec('CHECK', used, p, { ...a, runtimeConfig: a.runtimeConfig ?? cached.runtimeConfig }, cached.result);
  }

  /** The cached ADD result of an attachment, if any. */
  cached(network: string, a: Pick<CniAttachment, 'containerId' | 'ifName'>): { result: CniResult; config?: CniConfigList; runtimeConfig?: Record<string, unknown>; netns?: string } | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.cachePath(network, a), 'utf8')) as { result: CniResult; config?: CniConfigList; runtimeConfig?: Record<string, unknown> };
    } catch {
      return undefined;
    }
  }

  /** Container ids with a cached attachment on `network`. */
  cachedContainers(network: string): { containerId: string; ifName: string; netns?: string }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.opts.cacheDir);
    } catch {
      return [];
    }
    const out: { containerId: string; ifName: string; netns?: string }[] = [];
    for (const n of names) {
      if (!n.startsWith(`${network}-`)) continue;
      try {
        const c = JSON.parse(fs.readFileSync(join(this.opts.cacheDir, n), 'utf8')) as { containerId: string; ifName: string; netns?: string };
        out.push(c);
      } catch {
        // unreadable: ignore
      }
    }
    return out;
  }

  private cachePath(network: string, a: Pick<CniAttachment, 'containerId' | 'ifName'>): string {
    return join(this.opts.cacheDir, `${network}-${a.containerId}-${a.ifName}`);
  }

  private findPlugin(type: string): string {
    if (!/^[\w.-]+$/.test(type)) throw new CniError(1, `invalid plugin type ${JSON.stringify(type)}`, type);
    for (const d of this.opts.binDirs) {
      const p = join(d, type);
      if (fs.existsSync(p)) return p;
    }
    throw new CniError(1, `failed to find plugin "${type}" in path [${this.opts.binDirs.join(' ')}]`, type);
  }

  private exec(cmd: 'ADD' | 'DEL' | 'CHECK', list: CniConfigList, p: CniPluginConfig, a: CniAttachment, prev: CniResult | undefined): Promise<string> {
    const bin = this.findPlugin(p.type);
    const conf: Record<string, unknown> = { ...p, cniVersion: list.cniVersion, name: list.name };
    delete conf['capabilities'];
    if (prev !== undefined) conf['prevResult'] = prev;
    const rc: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(p.capabilities ?? {})) if (on && a.runtimeConfig?.[cap] !== undefined) rc[cap] = a.runtimeConfig[cap];
    if (Object.keys(rc).length > 0) conf['runtimeConfig'] = rc;
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: a.containerId,
      CNI_NETNS: a.netns,
      CNI_IFNAME: a.ifName,
      CNI_PATH: this.opts.binDirs.join(':'),
    };
    if (a.args && Object.keys(a.args).length > 0) env['CNI_ARGS'] = Object.entries(a.args).map(([k, v]) => `${k}=${v}`).join(';');
    return this.runPlugin(bin, cmd, list.name, p.type, env, JSON.stringify(conf));
  }

  private async runPlugin(bin: string, cmd: string, network: string, type: string, env: Record<string, string>, input: string): Promise<string> {
    let r: { code: number | null; stdout: string; stderr: string };
    try {
      r = await (this.opts.run ?? spawnRunner)(bin, [], { env, input, timeoutMs: this.opts.timeoutMs ?? 30_000 });
    } catch (e) {
      throw new CniError(1, `plugin ${type}: ${(e as Error).message}`, type);
    }
    if (r.code === 0) return r.stdout.trim();
    let msg = r.stderr.trim() || `exit status ${r.code}`;
    let ecode = r.code ?? 1;
    try {
      const e = JSON.parse(r.stdout) as { code?: number; msg?: string; details?: string };
      if (e.msg) msg = e.details ? `${e.msg}: ${e.details}` : e.msg;
      if (e.code) ecode = e.code;
    } catch {
      // not a JSON error
    }
    throw new CniError(ecode, `plugin type="${type}" name="${network}" failed (${cmd.toLowerCase()}): ${msg}`, type);
  }
}
