// Secrets encrypted at rest (--encryption-provider-config) with the real kubectl: the SQLite rows hold upstream's
// `k8s:enc:aesgcm:v1:<key>:` ciphertext, reads return the plaintext, rotation re-encrypts by re-writing
// (`kubectl get secrets -A -o json | kubectl replace -f -`), and a bad configuration stops start-up with one line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startServer, kubectlFor } from './helpers/cluster.ts';
import type { TestServer, Kubectl } from './helpers/cluster.ts';

const PLAIN = 'plaintext-marker-7f3a9c';
const K1 = Buffer.alloc(32, 0x11).toString('base64');
const K2 = Buffer.alloc(32, 0x22).toString('base64');

function encryptionConfig(keys: [string, string][], extra = ''): string {
  return `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
${keys.map(([n, s]) => `            - name: ${n}\n              secret: ${s}\n`).join('')}      - identity: {}
${extra}`;
}

/** Every stored version of a key, newest first (the kine-style log keeps history until compaction); the server must be stopped (it holds the file exclusively). */
function rawRows(dataDir: string, key: string): Buffer[] {
  const db = new Database(join(dataDir, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT value FROM log WHERE name = ? AND value IS NOT NULL ORDER BY id DESC').all(key) as { value: Buffer }[]).map((r) => r.value);
  } finally {
    db.close();
  }
}

describe('security: secrets encrypted at rest', () => {
  let dir: string;
  let dataDir: string;
  let server: TestServer | undefined;
  let kubectl: Kubectl | undefined;
  const config = (): string => join(dir, 'encryption.yaml');
  const start = async (): Promise<void> => {
    server = await startServer({ dataDir, args: ['--disable-controller-manager', '--disable-scheduler', '--encryption-provider-config', config()] });
    kubectl?.cleanup();
    kubectl = kubectlFor(server);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-enc-it-'));
    dataDir = join(dir, 'data');
    writeFileSync(config(), encryptionConfig([['k1', K1]]));
    await start();
  });
  after(async () => {
    kubectl?.cleanup();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores ciphertext, reads plaintext, and leaves other kinds alone', async () => {
    const k = kubectl!;
    assert.equal((await k(['create', 'secret', 'generic', 's1', `--from-literal=v=${PLAIN}`])).code, 0);
    assert.equal((await k(['create', 'configmap', 'c1', `--from-literal=v=${PLAIN}`])).code, 0);
    const got = await k(['get', 'secret', 's1', '-o', 'jsonpath={.data.v}']);
    assert.equal(Buffer.from(got.stdout, 'base64').toString(), PLAIN);
    const listed = await k(['get', 'secrets', '-o', 'jsonpath={.items[?(@.metadata.name=="s1")].data.v}']);
    assert.equal(Buffer.from(listed.stdout, 'base64').toString(), PLAIN);
    await server!.stop({ keepData: true });
    const rows = rawRows(dataDir, '/registry/secrets/default/s1');
    assert.ok(rows.length > 0);
    for (const r of rows) {
      assert.ok(r.toString('latin1').startsWith('k8s:enc:aesgcm:v1:k1:'), r.toString('latin1').slice(0, 40));
      assert.ok(!r.includes(PLAIN) && !r.includes(Buffer.from(PLAIN).toString('base64')), 'the plaintext must not reach storage');
    }
    assert.ok(rawRows(dataDir, '/registry/configmaps/default/c1')[0]!.includes(PLAIN), 'config maps are not in the configuration');
  });

  it('rotates keys by re-writing: a new first key encrypts, the old one still reads', async () => {
    writeFileSync(config(), encryptionConfig([['k2', K2], ['k1', K1]]));
    await start();
    const k = kubectl!;
    const got = await k(['get', 'secret', 's1', '-o', 'jsonpath={.data.v}']);
    assert.equal(Buffer.from(got.stdout, 'base64').toString(), PLAIN, 'the old key still reads');
    const all = await k(['get', 'secrets', '-A', '-o', 'json']);
    assert.equal(all.code, 0, all.stderr);
    const replaced = await k(['replace', '-f', '-'], { input: all.stdout });
    assert.equal(replaced.code, 0, replaced.stderr);
    await server!.stop({ keepData: true });
    assert.ok(rawRows(dataDir, '/registry/secrets/default/s1')[0]!.toString('latin1').startsWith('k8s:enc:aesgcm:v1:k2:'));
    // With k1 gone the re-written secret is still readable.
    writeFileSync(config(), encryptionConfig([['k2', K2]]));
    await start();
    const after = await kubectl!(['get', 'secret', 's1', '-o', 'jsonpath={.data.v}']);
    assert.equal(Buffer.from(after.stdout, 'base64').toString(), PLAIN);
  });

  it('a bad configuration fails start-up with one line naming the problem', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, encryptionConfig([['k1', Buffer.alloc(8).toString('base64')]]));
    const failed = await startServer({ dataDir: join(dir, 'bad-data'), args: ['--encryption-provider-config', bad] }).then(
      async (s) => {
        await s.stop();
        return 'started';
      },
      (e: Error) => e.message,
    );
    const lines = failed.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(lines.length, 1, failed);
    assert.equal(lines[0], `error: error while parsing encryption provider configuration file ${JSON.stringify(bad)}: error while parsing file: resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 8, expected one of [16 24 32]`);
  });
});
