/** Helpers of the security integration tests: identities (certificates signed by the test server's CA, tokens) as kubeconfigs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { issueKeyPair, loadCertificateAuthority, createCertificateAuthority } from '../../src/apiserver/tls/pki.ts';
import type { TestServer } from './helpers/cluster.ts';

/** A client certificate for `user` in `groups`, signed by the server's CA (or by a foreign CA, or already expired). */
export async function userCert(server: TestServer, user: string, groups: string[] = [], opts: { foreign?: boolean; expired?: boolean } = {}): Promise<{ cert: string; key: string }> {
  const dir = join(server.dataDir, 'tls');
  const ca = opts.foreign ? await createCertificateAuthority() : await loadCertificateAuthority(readFileSync(join(dir, 'ca.crt'), 'utf8'), readFileSync(join(dir, 'ca.key'), 'utf8'));
  const now = Date.now();
  const kp = await issueKeyPair(ca, { commonName: user, organizations: groups, usage: 'client', ...(opts.expired ? { now: now - 7200_000, notAfter: now - 3600_000 } : { days: 1 }) });
  return { cert: kp.certPem, key: kp.keyPem };
}

/** Writes a kubeconfig for one identity (client certificate or token) next to the server's and returns its path. */
export function kubeconfigAs(server: TestServer, name: string, creds: { cert?: string; key?: string; token?: string }): string {
  const ca = readFileSync(join(server.dataDir, 'tls', 'ca.crt'), 'utf8');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user: Record<string, string> = {};
  if (creds.cert && creds.key) {
    user['client-certificate-data'] = b64(creds.cert);
    user['client-key-data'] = b64(creds.key);
  }
  if (creds.token) user.token = creds.token;
  const path = join(server.dataDir, `kubeconfig-${name}.yaml`);
  writeFileSync(path, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': name,
    clusters: [{ name: 'skiff', cluster: { server: server.url, 'certificate-authority-data': b64(ca) } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: 'skiff', user: name, namespace: 'default' } }],
  }), { mode: 0o600 });
  return path;
}
