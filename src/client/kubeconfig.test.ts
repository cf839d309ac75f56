import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  KubeconfigError,
  clientConfigFromKubeconfig,
  loadKubeconfig,
  parseKubeconfig,
  resolveClientConfig,
  serializeKubeconfig,
} from './kubeconfig.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-kubeconfig-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const fileA = `
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: shared
  cluster:
    server: https://a.example:6443
    certificate-authority-data: ${b64('CA-A')}
- name: only-a
  cluster: { server: https://only-a:6443, insecure-skip-tls-verify: true }
users:
- name: alice
  user: { token: tok-a }
contexts:
- name: a
  context: { cluster: shared, user: alice, namespace: team-a }
- name: both
  context: { cluster: shared, user: alice }
`;

const fileB = `
apiVersion: v1
kind: Config
current-context: b
clusters:
- name: shared
  cluster: { server: https://b.example:6443 }
- name: only-b
  cluster:
    server: https://only-b:6443
    certificate-authority: certs/ca.pem
users:
- name: bob
  user:
    client-certificate: certs/bob.crt
    client-key-data: ${b64('KEY-B')}
- name: tf
  user: { tokenFile: token.txt }
contexts:
- name: both
  context: { cluster: only-b, user: bob }
- name: b
  context: { cluster: only-b, user: bob, namespace: team-b }
- name: tf
  context: { cluster: only-b, user: tf }
`;

test('KUBECONFIG merges files: first file wins per name and for current-context', () => {
  const sub = join(dir, 'b');
  mkdirSync(join(sub, 'certs'), { recursive: true });
  writeFileSync(join(sub, 'certs', 'ca.pem'), 'CA-B');
  writeFileSync(join(sub, 'certs', 'bob.crt'), 'CERT-B');
  writeFileSync(join(sub, 'token.txt'), 'tok-from-file\n');
  const a = write('a.yaml', fileA);
  const b = join(sub, 'config');
  writeFileSync(b, fileB);
  const missing = join(dir, 'missing.yaml');
  const env = { KUBECONFIG: [a, missing, b].join(delimiter) };
  const loaded = loadKubeconfig(undefined, { env });
  assert.deepEqual(loaded.files, [a, b], 'missing files in KUBECONFIG are skipped');
  const cfg = loaded.config;
  assert.equal(cfg['current-context'], 'a');
  assert.deepEqual(cfg.clusters.map((c) => c.name), ['shared', 'only-a', 'only-b']);
  assert.equal(cfg.clusters.find((c) => c.name === 'shared')?.cluster.server, 'https://a.example:6443');
  assert.equal(cfg.contexts.find((c) => c.name === 'both')?.context.user, 'alice');

  const cur = resolveClientConfig(cfg);
  assert.equal(cur.server, 'https://a.example:6443');
  assert.equal(cur.namespace, 'team-a');
  assert.equal(cur.token, 'tok-a');
  assert.equal(cur.caData?.toString(), 'CA-A');
  assert.equal(cur.contextName, 'a');

  // Relative paths resolve against the directory of the file that names them.
  const bob = resolveClientConfig(cfg, { context: 'b' });
  assert.equal(bob.server, 'https://only-b:6443');
  assert.equal(bob.caData?.toString(), 'CA-B');
  assert.equal(bob.certData?.toString(), 'CERT-B');
  assert.equal(bob.keyData?.toString(), 'KEY-B');
  assert.equal(bob.token, undefined);
  assert.equal(bob.namespace, 'team-b');

  const tf = resolveClientConfig(cfg, { context: 'tf' });
  assert.equal(tf.token, 'tok-from-file');
  assert.equal(tf.namespace, 'default');
});

test('overrides: context, cluster, user, namespace, server, token, insecure', () => {
  const cfg = parseKubeconfig(fileA);
  const o = resolveClientConfig(cfg, { cluster: 'only-a', namespace: 'x', token: 'override', as: 'jane', asGroups: ['g1'] });
  assert.equal(o.server, 'https://only-a:6443');
  assert.equal(o.insecureSkipTLSVerify, true);
  assert.equal(o.caData, undefined, 'insecure drops the CA');
  assert.equal(o.namespace, 'x');
  assert.equal(o.token, 'override');
  assert.equal(o.impersonateUser, 'jane');
  assert.deepEqual(o.impersonateGroups, ['g1']);
  const s = resolveClientConfig(cfg, { server: 'https://127.0.0.1:1234/', insecureSkipTLSVerify: true });
  assert.equal(s.server, 'https://127.0.0.1:1234');
  assert.equal(s.insecureSkipTLSVerify, true);
  // --server alone works without any kubeconfig, as kubectl.
  const bare = clientConfigFromKubeconfig(undefined, { env: { KUBECONFIG: join(dir, 'nope') }, server: 'localhost:8080', token: 't' });
  assert.equal(bare.server, 'https://localhost:8080');
  assert.equal(bare.namespace, 'default');
});

test('clear one-line errors', () => {
  const cfg = parseKubeconfig(fileA);
  assert.throws(() => resolveClientConfig(cfg, { context: 'nope' }), { name: 'KubeconfigError', message: 'context was not found for specified context: nope' });
  assert.throws(() => resolveClientConfig(cfg, { user: 'nobody' }), /auth info "nobody" does not exist/);
  assert.throws(() => resolveClientConfig(cfg, { cluster: 'ghost' }), /cluster "ghost" does not exist/);
  assert.throws(() => loadKubeconfig(join(dir, 'absent.yaml')), (e: unknown) => e instanceof KubeconfigError && /^stat .*absent\.yaml: no such file or directory$/.test(e.message));
  const bad = write('bad.yaml', 'clusters:\n  - name: x\n   cluster: [\n');
  assert.throws(() => loadKubeconfig(bad), (e: unknown) => e instanceof KubeconfigError && e.message.startsWith(`error loading config file "${bad}": `) && !e.message.includes('\n'));
  const notMap = write('list.yaml', '- a\n- b\n');
  assert.throws(() => loadKubeconfig(notMap), /not a kubeconfig/);
  const noName = write('noname.yaml', 'clusters:\n- cluster: {server: x}\n');
  assert.throws(() => loadKubeconfig(noName), /clusters\[0\] has no name/);
  assert.throws(() => resolveClientConfig(parseKubeconfig('')), /no configuration has been provided/);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  assert.deepEqual(loadKubeconfig(undefined, { env: {}, homeDir: home }).files, [], 'no ~/.kube/config is not an error');
});

test('~/.kube/config is the default and serialization round-trips', () => {
  const home = join(dir, 'home2');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(join(home, '.kube', 'config'), fileA);
  const loaded = loadKubeconfig(undefined, { env: {}, homeDir: home });
  assert.equal(loaded.files.length, 1);
  const again = parseKubeconfig(serializeKubeconfig(loaded.config));
  assert.deepEqual(again, loaded.config);
  assert.match(serializeKubeconfig(loaded.config), /^apiVersion: v1\nclusters:/);
});
