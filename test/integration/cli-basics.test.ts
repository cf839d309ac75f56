/**
 * The skiff CLI against a real server, beyond output parity: configuration and connection failures as one
 * line, the shared discovery cache, watch output, stdin pipes and lazy loading.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { BuiltCli, Skiff } from './cli-helpers.ts';
import { buildCli, skiffFor } from './cli-helpers.ts';
import { cacheKeyFor } from '../../src/cli/discovery.ts';

let server: TestServer;
let kubectl: Kubectl;
let skiff: Skiff;
let cli: BuiltCli;

before(async () => {
  [server, cli] = await Promise.all([startServer(), buildCli()]);
  kubectl = kubectlFor(server);
  skiff = skiffFor(cli, server);
});

after(async () => {
  kubectl?.cleanup();
  skiff?.cleanup();
  cli?.cleanup();
  await server?.stop();
});

describe('configuration and connection errors', () => {
  it('no kubeconfig at all: one line, exit 1', async () => {
    const r = await skiff(['get', 'pods'], { noKubeconfig: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error in configuration: no configuration has been provided, try setting KUBECONFIG or --server\n');
    assert.equal(r.stdout, '');
  });

  it('an explicit --kubeconfig that does not exist: kubectl\'s stat error', async () => {
    const r = await skiff(['--kubeconfig', '/nonexistent/skiff-config', 'get', 'pods'], { noKubeconfig: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: stat /nonexistent/skiff-config: no such file or directory\n');
  });

  it('an unreachable server: kubectl\'s connection-refused line', async () => {
    const r = await skiff(['--server', 'http://127.0.0.1:1', 'get', 'pods'], { noKubeconfig: true });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n');
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('a malformed kubeconfig names the file', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cli-bad-'));
    try {
      const f = join(dir, 'config');
      writeFileSync(f, 'clusters: [\n  - {name: a\n');
      const r = await skiff(['--kubeconfig', f, 'get', 'pods'], { noKubeconfig: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^error: error loading config file "${f.replaceAll('/', '\\/')}": `));
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--server, certificate flags and --token override the kubeconfig', async () => {
    // The server serves HTTPS with its own CA and accepts the admin client certificate from its data dir.
    const tls = join(server.dataDir, 'tls');
    const certs = ['--certificate-authority', join(tls, 'ca.crt'), '--client-certificate', join(tls, 'admin.crt'), '--client-key', join(tls, 'admin.key')];
    const r = await skiff(['--server', server.url, ...certs, 'get', 'ns', 'default', '-o', 'name'], { noKubeconfig: true });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'namespace/default\n');
    const bad = await skiff(['--server', server.url, '--certificate-authority', join(tls, 'ca.crt'), '--token', 'not-a-token', 'get', 'ns'], { noKubeconfig: true });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'error: You must be logged in to the server (Unauthorized)\n');
  });

  it('--context selects another context, -n before the verb sets the namespace', async () => {
    const r = await skiff(['-n', 'kube-system', 'get', 'pods']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, 'No resources found in kube-system namespace.\n');
    const bad = await skiff(['--context', 'nope', 'get', 'pods']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'error: context was not found for specified context: nope\n');
  });
});

describe('discovery cache', () => {
  it('writes kubectl\'s layout under ~/.kube/cache and reuses it', async () => {
    const r = await skiff(['get', 'po']);
    assert.equal(r.code, 0);
    const dir = join(skiff.home, '.kube', 'cache', 'discovery', cacheKeyFor(server.url));
    const groups = JSON.parse(readFileSync(join(dir, 'servergroups.json'), 'utf8')) as { kind: string; groups: { name: string }[] };
    assert.equal(groups.kind, 'APIGroupList');
    assert.ok(groups.groups.some((g) => g.name === 'apps'));
    const core = JSON.parse(readFileSync(join(dir, 'v1', 'serverresources.json'), 'utf8')) as { resources: { name: string; shortNames?: string[] }[] };
    assert.deepEqual(core.resources.find((x) => x.name === 'pods')?.shortNames, ['po']);
    assert.ok(existsSync(join(dir, 'apps', 'v1', 'serverresources.json')));
    // kubectl can read the cache skiff wrote.
    const k = await kubectl(['--cache-dir', join(skiff.home, '.kube', 'cache'), 'get', 'deploy']);
    assert.equal(k.code, 0, k.stderr);
  });
});

describe('get --watch', () => {
  it('prints the list, then one line per change, without repeating the header', async () => {
    await kubectl(['create', 'configmap', 'w1', '--from-literal=a=1']);
    const child = spawn(process.execPath, [cli.entry, '--kubeconfig', server.kubeconfig, 'get', 'cm', '-w', '--output-watch-events'], { env: { PATH: process.env.PATH ?? '', HOME: skiff.home } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const waitFor = async (re: RegExp): Promise<void> => {
        const deadline = Date.now() + 15_000;
        while (!re.test(out)) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${re}; got:\n${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await waitFor(/w1/);
      await kubectl(['create', 'configmap', 'w2', '--from-literal=a=1']);
      await waitFor(/ADDED\s+w2/);
      await kubectl(['delete', 'configmap', 'w2']);
      await waitFor(/DELETED\s+w2/);
      assert.equal(out.match(/NAME/g)?.length, 1, out);
      assert.match(out.split('\n')[0]!, /^EVENT\s+NAME\s+DATA\s+AGE$/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('-o json -w --output-watch-events prints watch events as JSON', async () => {
    const child = spawn(process.execPath, [cli.entry, '--kubeconfig', server.kubeconfig, 'get', 'cm', 'w1', '-o', 'json', '-w', '--output-watch-events'], { env: { PATH: process.env.PATH ?? '', HOME: skiff.home } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await kubectl(['label', 'configmap', 'w1', 'x=y']);
      const deadline = Date.now() + 15_000;
      while (!/"type": "MODIFIED"/.test(out)) {
        if (Date.now() > deadline) assert.fail(`no MODIFIED event; got:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(out, /"x": "y"/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('output to a closed pipe', () => {
  it('ends quietly (no EPIPE stack trace)', async () => {
    const child = spawn('sh', ['-c', `"${process.execPath}" "${cli.entry}" --kubeconfig "${server.kubeconfig}" api-resources | head -c 10 >/dev/null`], { env: { PATH: process.env.PATH ?? '', HOME: skiff.home } });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
    assert.doesNotMatch(err, /EPIPE|at /);
  });
});
