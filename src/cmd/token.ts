/**
 * `skiff token create|list|delete`: bootstrap tokens for joining nodes (kubeadm's `token` verbs). A token
 * <id>.<secret> is a Secret kube-system/bootstrap-token-<id>; an agent presents it once to request its own node
 * client certificate through a CertificateSigningRequest, which the server approves and signs.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { ApiClient, RestClient, clientConfigFromKubeconfig } from '../client/index.ts';
import { secrets } from '../api/core/v1/index.ts';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** A new random bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}). */
export function generateBootstrapToken(): string {
  return `${randomString(6)}.${randomString(16)}`;
}

/** Parses a duration like 24h, 90m, 30s or 0 (no expiry) into milliseconds. */
export function parseTtl(v: string): number {
  if (v === '0') return 0;
  const m = /^(\d+)(h|m|s)$/.exec(v);
  if (!m) throw new Error(`invalid --ttl ${JSON.stringify(v)}: use a number with h, m or s (e.g. 24h), or 0 for no expiry`);
  return Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
}

/** The Secret of a bootstrap token (type bootstrap.kubernetes.io/token, usable for authentication). */
export function bootstrapTokenSecret(token: string, opts: { ttlMs?: number; description?: string; groups?: string[]; now?: number } = {}): Secret {
  const [id, secret] = token.split('.') as [string, string];
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const data: Record<string, string> = {
    'token-id': b64(id), 'token-secret': b64(secret), 'usage-bootstrap-authentication': b64('true'), 'usage-bootstrap-signing': b64('true'),
  };
  if (opts.ttlMs) data.expiration = b64(new Date((opts.now ?? Date.now()) + opts.ttlMs).toISOString().replace(/\.\d+Z$/, 'Z'));
  if (opts.description) data.description = b64(opts.description);
  if (opts.groups && opts.groups.length > 0) data['auth-extra-groups'] = b64(opts.groups.join(','));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' }, type: 'bootstrap.kubernetes.io/token', data };
}

function clientFor(opts: { kubeconfig?: string; dataDir?: string }): ApiClient {
  const path = opts.kubeconfig ?? (opts.dataDir ? join(opts.dataDir, 'kubeconfig.yaml') : undefined);
  return new ApiClient(new RestClient(clientConfigFromKubeconfig(path)));
}

/** Registers `skiff token` on the program; `out` receives what the verbs print. */
export function registerTokenCommands(program: Command, io: { out?: (s: string) => void } = {}): void {
  const out = io.out ?? ((s: string) => process.stdout.write(s));
  const token = program.command('token').description('manage bootstrap tokens for joining nodes');
  const common = (c: Command) => c
    .option('--kubeconfig <path>', 'kubeconfig of the cluster (default: <data-dir>/kubeconfig.yaml, else $KUBECONFIG)')
    .option('--data-dir <dir>', 'the server data dir whose admin kubeconfig to use');
  common(token.command('create').description('create a bootstrap token and print it'))
    .option('--ttl <duration>', 'lifetime of the token (e.g. 24h; 0 = never expires)', '24h')
    .option('--description <text>', 'a human-readable description')
    .option('--groups <groups>', 'extra groups (system:bootstrappers:<name>), comma-separated')
    .action(async (o: { kubeconfig?: string; dataDir?: string; ttl: string; description?: string; groups?: string }) => {
      const client = clientFor(o);
      try {
        const t = generateBootstrapToken();
        const groups = (o.groups ?? '').split(',').filter((g) => g !== '');
        for (const g of groups) if (!g.startsWith('system:bootstrappers:')) throw new Error(`--groups: ${JSON.stringify(g)} must start with "system:bootstrappers:"`);
        await client.resource<Secret & { metadata: { name: string } }>(secrets).create(bootstrapTokenSecret(t, { ttlMs: parseTtl(o.ttl), ...(o.description ? { description: o.description } : {}), groups }) as Secret & { metadata: { name: string } }, { namespace: 'kube-system' });
        out(`${t}\n`);
      } finally {
        client.close();
      }
    });
  common(token.command('list').description('list bootstrap tokens'))
    .action(async (o: { kubeconfig?: string; dataDir?: string }) => {
      const client = clientFor(o);
      try {
        const list = await client.resource<Secret & { metadata: { name: string } }>(secrets).list({ namespace: 'kube-system', fieldSelector: 'type=bootstrap.kubernetes.io/token' });
        out('TOKEN ID   EXPIRES                DESCRIPTION\n');
        for (const s of list.items) {
          const d = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : '');
          out(`${d('token-id').padEnd(10)} ${(d('expiration') || '<never>').padEnd(22)} ${d('description')}\n`);
        }
      } finally {
        client.close();
      }
    });
  common(token.command('delete <id>').description('delete a bootstrap token (by id or whole token)'))
    .action(async (id: string, o: { kubeconfig?: string; dataDir?: string }) => {
      const client = clientFor(o);
      try {
        const tokenId = id.split('.')[0]!;
        await client.resource(secrets).delete(`bootstrap-token-${tokenId}`, { namespace: 'kube-system' });
        out(`bootstrap token "${tokenId}" deleted\n`);
      } finally {
        client.close();
      }
    });
}
