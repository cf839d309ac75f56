/**
 * `skiff config`: kubectl's config subcommands over the kubeconfig chain (--kubeconfig, else every $KUBECONFIG
 * file, else ~/.kube/config). Changes are written where kubectl writes them: an existing entry back to the file
 * it came from, a new entry or current-context to the default file (the explicit file, else the first existing
 * $KUBECONFIG file, else the last one listed, else ~/.kube/config).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Kubeconfig } from '../../client/index.ts';
import { emptyKubeconfig, parseKubeconfig } from '../../client/index.ts';
import type { VerbCommand, VerbGroup } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import type { FlagSpec } from '../flags.ts';
import { goJson, goYaml } from '../printers/encode.ts';
import { tabwrite } from '../printers/tabwriter.ts';

type Section = 'clusters' | 'users' | 'contexts';

/** The kubeconfig files in precedence order, each parsed as written (paths not resolved). */
class ConfigChain {
  readonly files: string[];
  readonly explicit: boolean;
  private readonly cache = new Map<string, Kubeconfig>();

  constructor(ctx: CliContext) {
    const env = ctx.io.env;
    if (ctx.globals.kubeconfig) {
      this.files = [resolve(ctx.globals.kubeconfig)];
      this.explicit = true;
    } else if (env['KUBECONFIG']) {
      this.files = [...new Set(env['KUBECONFIG'].split(delimiter).filter((p) => p !== ''))].map((p) => resolve(p));
      this.explicit = false;
    } else {
      this.files = [join(env['HOME'] ?? homedir(), '.kube', 'config')];
      this.explicit = false;
    }
  }

  read(file: string): Kubeconfig {
    let c = this.cache.get(file);
    if (!c) {
      c = existsSync(file) ? parseKubeconfig(readFileSync(file, 'utf8'), { source: file }) : emptyKubeconfig();
      this.cache.set(file, c);
    }
    return c;
  }

  /** The merged view (the first file to define a name wins), with each entry's file of origin. */
  merged(): { config: Kubeconfig; origin: Map<string, string> } {
    const out = emptyKubeconfig();
    const origin = new Map<string, string>();
    for (const f of this.files) {
      if (!existsSync(f)) continue;
      const c = this.read(f);
      if (out['current-context'] === undefined && c['current-context']) out['current-context'] = c['current-context'];
      for (const s of ['clusters', 'users', 'contexts'] as const) {
        for (const e of c[s] as { name: string }[]) {
          const key = `${s}/${e.name}`;
          if (origin.has(key)) continue;
          origin.set(key, f);
          (out[s] as { name: string }[]).push(e);
        }
      }
    }
    return { config: out, origin };
  }

  /** clientcmd's GetDefaultFilename. */
  defaultFile(): string {
    if (this.explicit || this.files.length === 1) return this.files[0]!;
    return this.files.find((f) => existsSync(f)) ?? this.files[this.files.length - 1]!;
  }

  write(file: string, config: Kubeconfig): void {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, goYaml(toV1(config, { nullEmpty: true })), { mode: 0o600 });
    this.cache.set(file, config);
  }

  /** Inserts or replaces a named entry where kubectl would write it. */
  upsert<S extends Section>(section: S, name: string, update: (old: Record<string, unknown> | undefined) => Record<string, unknown>): 'created' | 'modified' {
    const { origin } = this.merged();
    const file = origin.get(`${section}/${name}`) ?? this.defaultFile();
    const cfg = this.read(file);
    const list = cfg[section] as { name: string; [k: string]: unknown }[];
    const field = section.slice(0, -1);
    const i = list.findIndex((e) => e.name === name);
    const body = update(i >= 0 ? (list[i]![field] as Record<string, unknown>) : undefined);
    if (i >= 0) list[i] = { name, [field]: body };
    else list.push({ name, [field]: body });
    this.write(file, cfg);
    return i >= 0 ? 'modified' : 'created';
  }

  remove(section: Section, name: string): string | undefined {
    const { origin } = this.merged();
    const file = origin.get(`${section}/${name}`);
    if (!file) return undefined;
    const cfg = this.read(file);
    (cfg[section] as { name: string }[]).splice((cfg[section] as { name: string }[]).findIndex((e) => e.name === name), 1);
    this.write(file, cfg);
    return file;
  }

  setCurrentContext(name: string): void {
    if (name === '') {
      for (const f of this.files) {
        if (!existsSync(f)) continue;
        const c = this.read(f);
        if (c['current-context']) {
          delete c['current-context'];
          this.write(f, c);
          return;
        }
      }
      return;
    }
    const file = this.defaultFile();
    const cfg = this.read(file);
    cfg['current-context'] = name;
    this.write(file, cfg);
  }
}

/** The v1 Config serialization (field names and which fields are always present) as clientcmd writes it. */
function toV1(config: Kubeconfig, opts: { nullEmpty: boolean; redact?: boolean }): Record<string, unknown> {
  const byName = <T extends { name: string }>(l: T[]): T[] => [...l].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const list = <T>(l: T[]): T[] | null => (l.length === 0 && opts.nullEmpty ? null : l);
  const clusters = byName(config.clusters).map(({ name, cluster }) => {
    const c: Record<string, unknown> = { server: cluster.server ?? '' };
    for (const k of ['tls-server-name', 'insecure-skip-tls-verify', 'certificate-authority', 'certificate-authority-data', 'proxy-url', 'disable-compression', 'extensions']) {
      if (cluster[k] !== undefined && cluster[k] !== '' && cluster[k] !== false) c[k] = cluster[k];
    }
    if (opts.redact && c['certificate-authority-data']) c['certificate-authority-data'] = 'DATA+OMITTED';
    return { name, cluster: c };
  });
  const users = byName(config.users).map(({ name, user }) => {
    const u: Record<string, unknown> = {};
    for (const k of ['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'as', 'as-uid', 'as-groups', 'as-user-extra', 'username', 'password', 'auth-provider', 'exec', 'extensions']) {
      if (user[k] !== undefined && user[k] !== '') u[k] = user[k];
    }
    if (opts.redact) {
      for (const k of ['client-certificate-data', 'client-key-data']) if (u[k]) u[k] = 'DATA+OMITTED';
      for (const k of ['token', 'password']) if (u[k]) u[k] = 'REDACTED';
    }
    return { name, user: u };
  });
  const contexts = byName(config.contexts).map(({ name, context }) => {
    const c: Record<string, unknown> = { cluster: context.cluster ?? '', user: context.user ?? '' };
    if (context.namespace) c['namespace'] = context.namespace;
    if (context['extensions'] !== undefined) c['extensions'] = context['extensions'];
    return { name, context: c };
  });
  return {
    kind: 'Config',
    apiVersion: 'v1',
    preferences: config.preferences ?? {},
    clusters: list(clusters),
    users: list(users),
    contexts: list(contexts),
    'current-context': config['current-context'] ?? '',
  };
}

const outputFlag: FlagSpec = { name: 'output', short: 'o', type: 'string', usage: 'Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).' };

const view: VerbCommand = {
  use: 'config view [flags] [options]',
  short: 'Display merged kubeconfig settings or a specified kubeconfig file.',
  flags: [
    outputFlag,
    { name: 'minify', type: 'bool', usage: 'Remove all information not used by current-context from the output' },
    { name: 'raw', type: 'bool', usage: 'Display raw byte data and sensitive data' },
    { name: 'flatten', type: 'bool', usage: 'Flatten the resulting kubeconfig file into self-contained output (useful for creating portable kubeconfig files)' },
    { name: 'merge', type: 'bool', default: true, usage: 'Merge the full hierarchy of kubeconfig files' },
  ],
  async run(ctx, f) {
    const chain = new ConfigChain(ctx);
    let config = f.values['merge'] === false ? chain.read(chain.defaultFile()) : chain.merged().config;
    config = structuredClone(config);
    const origin = chain.merged().origin;
    for (const { name, cluster } of config.clusters) makeAbsolute(cluster, ['certificate-authority'], origin.get(`clusters/${name}`));
    for (const { name, user } of config.users) makeAbsolute(user, ['client-certificate', 'client-key', 'tokenFile'], origin.get(`users/${name}`));
    if (f.values['minify'] === true) {
      const current = ctx.globals.context ?? config['current-context'];
      if (!current) throw new CliError('current-context must exist in order to minify');
      const c = config.contexts.find((x) => x.name === current);
      if (!c) throw new CliError(`cannot locate context ${current}`);
      config.contexts = [c];
      config.clusters = config.clusters.filter((x) => x.name === c.context.cluster);
      config.users = config.users.filter((x) => x.name === c.context.user);
      config['current-context'] = current;
    }
    if (f.values['flatten'] === true) {
      for (const { cluster } of config.clusters) inline(cluster, 'certificate-authority', 'certificate-authority-data');
      for (const { user } of config.users) {
        inline(user, 'client-certificate', 'client-certificate-data');
        inline(user, 'client-key', 'client-key-data');
      }
    }
    const v1 = toV1(config, { nullEmpty: true, redact: f.values['raw'] !== true });
    const out = String(f.values['output'] || 'yaml');
    if (out === 'yaml') ctx.out(goYaml(v1));
    else if (out === 'json') ctx.out(goJson(v1, { sortKeys: false }) + '\n');
    else if (out.startsWith('jsonpath')) {
      const { printJsonPath } = await import('../printers/jsonpath.ts');
      ctx.out(printJsonPath(out, JSON.parse(JSON.stringify(v1)) as unknown));
    } else throw new CliError(`unable to match a printer suitable for the output format "${out}", allowed formats are: json,jsonpath,jsonpath-as-json,jsonpath-file,yaml`);
  },
};

function makeAbsolute(entry: Record<string, unknown>, keys: string[], file: string | undefined): void {
  if (!file) return;
  for (const k of keys) {
    const v = entry[k];
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) entry[k] = join(dirname(file), v);
  }
}

function inline(entry: Record<string, unknown>, pathKey: string, dataKey: string): void {
  const p = entry[pathKey];
  if (typeof p !== 'string' || p === '') return;
  entry[dataKey] = readFileSync(p).toString('base64');
  delete entry[pathKey];
}

const getContexts: VerbCommand = {
  use: 'config get-contexts [(-o|--output=)name)]',
  short: 'Display one or many contexts from the kubeconfig file.',
  flags: [
    { name: 'output', short: 'o', type: 'string', usage: 'Output format. One of: (name).' },
    { name: 'no-headers', type: 'bool', usage: "When using the default or custom-column output format, don't print headers (default print headers)." },
  ],
  async run(ctx, f) {
    const { config } = new ConfigChain(ctx).merged();
    const out = String(f.values['output']);
    if (out !== '' && out !== 'name') throw new CliError(`output must be one of '' or 'name': ${out}`);
    const names = f.args.length > 0 ? f.args : [...config.contexts.map((c) => c.name)].sort();
    const rows: string[] = [];
    const missing: string[] = [];
    if (out === '' && f.values['no-headers'] !== true) rows.push('CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE');
    const lines: string[] = [];
    for (const n of names) {
      const c = config.contexts.find((x) => x.name === n);
      if (!c) {
        missing.push(`context ${n} not found`);
        continue;
      }
      if (out === 'name') lines.push(n);
      else rows.push(`${config['current-context'] === n ? '*' : ''}\t${n}\t${c.context.cluster ?? ''}\t${c.context.user ?? ''}\t${c.context.namespace ?? ''}`);
    }
    if (out === 'name') ctx.out(lines.map((l) => `${l}\n`).join(''));
    else ctx.out(tabwrite(rows));
    if (missing.length > 0) throw new CliError(missing.join('\n'));
  },
};

const nameLister = (section: 'clusters' | 'users', header: string, short: string): VerbCommand => ({
  use: `config get-${section}`,
  short,
  flags: [],
  async run(ctx) {
    const { config } = new ConfigChain(ctx).merged();
    ctx.out(`${header}\n${(config[section] as { name: string }[]).map((e) => `${e.name}\n`).join('')}`);
  },
});

const currentContext: VerbCommand = {
  use: 'config current-context [options]',
  short: 'Display the current-context.',
  flags: [],
  async run(ctx) {
    const { config } = new ConfigChain(ctx).merged();
    if (!config['current-context']) throw new CliError('current-context is not set');
    ctx.out(`${config['current-context']}\n`);
  },
};

const useContext: VerbCommand = {
  use: 'config use-context CONTEXT_NAME [options]',
  short: 'Set the current-context in a kubeconfig file.',
  flags: [],
  async run(ctx, f) {
    if (f.args.length !== 1) throw new CliError(`Unexpected args: [${f.args.join(' ')}]`);
    const name = f.args[0]!;
    const chain = new ConfigChain(ctx);
    if (!chain.merged().config.contexts.some((c) => c.name === name)) throw new CliError(`no context exists with the name: ${JSON.stringify(name)}`);
    chain.setCurrentContext(name);
    ctx.out(`Switched to context ${JSON.stringify(name)}.\n`);
  },
};

const setContext: VerbCommand = {
  use: 'config set-context [NAME | --current] [--cluster=cluster_nickname] [--user=user_nickname] [--namespace=namespace] [options]',
  short: 'Set a context entry in kubeconfig.',
  flags: [
    { name: 'current', type: 'bool', usage: 'Modify the current context' },
    { name: 'cluster', type: 'string', usage: 'cluster for the context entry in kubeconfig' },
    { name: 'user', type: 'string', usage: 'user for the context entry in kubeconfig' },
    { name: 'namespace', short: 'n', type: 'string', usage: 'namespace for the context entry in kubeconfig' },
  ],
  async run(ctx, f) {
    const chain = new ConfigChain(ctx);
    let name = f.args[0] ?? '';
    if (f.values['current'] === true) {
      if (name !== '') throw new CliError('you cannot specify both a context name and --current');
      name = chain.merged().config['current-context'] ?? '';
      if (name === '') throw new CliError('no current context is set');
    }
    if (name === '' || f.args.length > 1) throw new CliError('you must specify a non-empty context name or --current');
    const result = chain.upsert('contexts', name, (old) => {
      const c: Record<string, unknown> = { ...(old ?? {}) };
      for (const k of ['cluster', 'user', 'namespace']) if (f.changed.has(k)) c[k] = f.values[k];
      return c;
    });
    ctx.out(`Context ${JSON.stringify(name)} ${result}.\n`);
  },
};

const setCluster: VerbCommand = {
  use: 'config set-cluster NAME [--server=server] [--certificate-authority=path/to/certificate/authority] [--insecure-skip-tls-verify=true] [--tls-server-name=example.com] [options]',
  short: 'Set a cluster entry in kubeconfig.',
  flags: [
    { name: 'server', type: 'string', usage: 'server for the cluster entry in kubeconfig' },
    { name: 'certificate-authority', type: 'string', usage: 'Path to certificate-authority file for the cluster entry in kubeconfig' },
    { name: 'insecure-skip-tls-verify', type: 'bool', usage: 'insecure-skip-tls-verify for the cluster entry in kubeconfig' },
    { name: 'tls-server-name', type: 'string', usage: 'tls-server-name for the cluster entry in kubeconfig' },
    { name: 'proxy-url', type: 'string', usage: 'proxy-url for the cluster entry in kubeconfig' },
    { name: 'embed-certs', type: 'bool', usage: 'embed-certs for the cluster entry in kubeconfig' },
  ],
  async run(ctx, f) {
    if (f.args.length !== 1 || f.args[0] === '') throw new CliError(`Unexpected args: [${f.args.join(' ')}]`);
    const name = f.args[0]!;
    new ConfigChain(ctx).upsert('clusters', name, (old) => {
      const c: Record<string, unknown> = { ...(old ?? {}) };
      if (f.changed.has('server')) c['server'] = f.values['server'];
      if (f.changed.has('tls-server-name')) c['tls-server-name'] = f.values['tls-server-name'];
      if (f.changed.has('proxy-url')) c['proxy-url'] = f.values['proxy-url'];
      if (f.changed.has('insecure-skip-tls-verify')) {
        c['insecure-skip-tls-verify'] = f.values['insecure-skip-tls-verify'];
        if (f.values['insecure-skip-tls-verify'] === true) {
          delete c['certificate-authority'];
          delete c['certificate-authority-data'];
        }
      }
      if (f.changed.has('certificate-authority')) {
        const p = resolve(String(f.values['certificate-authority']));
        if (f.values['embed-certs'] === true) {
          c['certificate-authority-data'] = readFileSync(p).toString('base64');
          delete c['certificate-authority'];
        } else {
          c['certificate-authority'] = p;
          delete c['certificate-authority-data'];
        }
        delete c['insecure-skip-tls-verify'];
      }
      return c;
    });
    ctx.out(`Cluster ${JSON.stringify(name)} set.\n`);
  },
};

const setCredentials: VerbCommand = {
  use: 'config set-credentials NAME [--client-certificate=path/to/certfile] [--client-key=path/to/keyfile] [--token=bearer_token] [--username=basic_user] [--password=basic_password] [options]',
  short: 'Set a user entry in kubeconfig.',
  flags: [
    { name: 'token', type: 'string', usage: 'token for the user entry in kubeconfig' },
    { name: 'username', type: 'string', usage: 'username for the user entry in kubeconfig' },
    { name: 'password', type: 'string', usage: 'password for the user entry in kubeconfig' },
    { name: 'client-certificate', type: 'string', usage: 'Path to client-certificate file for the user entry in kubeconfig' },
    { name: 'client-key', type: 'string', usage: 'Path to client-key file for the user entry in kubeconfig' },
    { name: 'embed-certs', type: 'bool', usage: 'Embed client cert/key for the user entry in kubeconfig' },
  ],
  async run(ctx, f) {
    if (f.args.length !== 1 || f.args[0] === '') throw new CliError(`Unexpected args: [${f.args.join(' ')}]`);
    const name = f.args[0]!;
    const embed = f.values['embed-certs'] === true;
    new ConfigChain(ctx).upsert('users', name, (old) => {
      const u: Record<string, unknown> = { ...(old ?? {}) };
      if (f.changed.has('token')) u['token'] = f.values['token'];
      if (f.changed.has('username')) u['username'] = f.values['username'];
      if (f.changed.has('password')) u['password'] = f.values['password'];
      for (const k of ['client-certificate', 'client-key']) {
        if (!f.changed.has(k)) continue;
        const p = resolve(String(f.values[k]));
        if (embed) {
          u[`${k}-data`] = readFileSync(p).toString('base64');
          delete u[k];
        } else {
          u[k] = p;
          delete u[`${k}-data`];
        }
      }
      return u;
    });
    ctx.out(`User ${JSON.stringify(name)} set.\n`);
  },
};

const deleter = (section: Section, what: string): VerbCommand => ({
  use: `config delete-${what} NAME`,
  short: `Delete the specified ${what} from the kubeconfig.`,
  flags: [],
  async run(ctx, f) {
    const name = f.args[0];
    if (!name) throw new CliError(`Unexpected args: [${f.args.join(' ')}]`);
    const chain = new ConfigChain(ctx);
    const wasCurrent = section === 'contexts' && chain.merged().config['current-context'] === name;
    const file = chain.remove(section, name);
    if (!file) throw new CliError(section === 'contexts' ? `cannot delete context ${name}, not in ${chain.files.join(', ')}` : `cannot delete ${what} ${name}, not in ${chain.files.join(', ')}`);
    if (wasCurrent) ctx.err('warning: this removed your active context, use "kubectl config use-context" to select a different one\n');
    ctx.out(`deleted ${what} ${name} from ${ctx.globals.kubeconfig ?? file}\n`);
  },
});

const renameContext: VerbCommand = {
  use: 'config rename-context CONTEXT_NAME NEW_NAME',
  short: 'Rename a context from the kubeconfig file.',
  flags: [],
  async run(ctx, f) {
    if (f.args.length !== 2) throw new CliError(`Unexpected args: [${f.args.join(' ')}]`);
    const [from, to] = f.args as [string, string];
    const chain = new ConfigChain(ctx);
    const { config, origin } = chain.merged();
    const file = origin.get(`contexts/${from}`);
    if (!file) throw new CliError(`cannot rename the context ${JSON.stringify(from)}, it's not in ${chain.files.join(', ')}`);
    if (config.contexts.some((c) => c.name === to)) throw new CliError(`cannot rename the context ${JSON.stringify(from)}, the context ${JSON.stringify(to)} already exists in ${chain.files.join(', ')}`);
    const cfg = chain.read(file);
    const e = cfg.contexts.find((c) => c.name === from)!;
    e.name = to;
    if (config['current-context'] === from) cfg['current-context'] = to;
    chain.write(file, cfg);
    if (config['current-context'] === from && cfg !== chain.read(chain.defaultFile())) chain.setCurrentContext(to);
    ctx.out(`Context ${JSON.stringify(from)} renamed to ${JSON.stringify(to)}.\n`);
  },
};

/** `skiff config …`. */
export const command: VerbGroup = {
  use: 'config SUBCOMMAND',
  short: 'Modify kubeconfig files using subcommands like "skiff config set current-context my-context".',
  subcommands: {
    'current-context': currentContext,
    'delete-cluster': deleter('clusters', 'cluster'),
    'delete-context': deleter('contexts', 'context'),
    'delete-user': deleter('users', 'user'),
    'get-clusters': nameLister('clusters', 'NAME', 'Display clusters defined in the kubeconfig.'),
    'get-contexts': getContexts,
    'get-users': nameLister('users', 'NAME', 'Display users defined in the kubeconfig.'),
    'rename-context': renameContext,
    'set-cluster': setCluster,
    'set-context': setContext,
    'set-credentials': setCredentials,
    'use-context': useContext,
    use: useContext,
    view,
  },
};

/** Exposed for tests: the v1 serialization used by `config view` and when writing files. */
export function serializeForView(config: Kubeconfig, opts: { redact: boolean }): string {
  return goYaml(toV1(config, { nullEmpty: true, redact: opts.redact }));
}
