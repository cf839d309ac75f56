// Security end to end with the real kubectl and several identities: the admin certificate, a user certificate signed
// by the cluster CA, a static token, a ServiceAccount token, a node certificate, a bootstrap token, and --as.
// Checks 401/403 with upstream's messages, `auth can-i` matching outcomes, escalation refused, the Node authorizer,
// quota, limit ranges, PodSecurity, and bad credentials.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { startServer, kubectlFor, tempFile, adminFetch, fetchAs } from './helpers/cluster.ts';
import type { TestServer, Kubectl } from './helpers/cluster.ts';
import { kubeconfigAs, userCert } from './security-helpers.ts';
import { waitFor } from '../../src/base/wait.ts';
import { createCertificateRequest } from '../../src/apiserver/tls/pki.ts';

const FORBIDDEN_LIST_PODS = (user: string) => `Error from server (Forbidden): pods is forbidden: User "${user}" cannot list resource "pods" in API group "" in the namespace "default"`;

describe('security: authentication, RBAC, admission', () => {
  let server: TestServer;
  let admin: Kubectl;
  let dir: string;
  const others: Kubectl[] = [];
  const as = (kubeconfig: string): Kubectl => {
    const k = kubectlFor({ kubeconfig });
    others.push(k);
    return k;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-sec-'));
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, 'alice-token,alice,u-1,"devs,testers"\ncarol-token,carol,u-2\n');
    writeFileSync(join(dir, 'audit.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version"]\n- level: Metadata\n');
    server = await startServer({
      args: ['--disable-controller-manager', '--disable-scheduler'],
      env: { SKIFF_TOKEN_AUTH_FILE: tokens, SKIFF_AUDIT_POLICY_FILE: join(dir, 'audit.yaml'), SKIFF_AUDIT_LOG_PATH: join(dir, 'audit.log') },
    });
    admin = kubectlFor(server);
    for (const ns of ['team', 'quota', 'limits', 'locked']) assert.equal((await admin(['create', 'namespace', ns])).code, 0);
    for (const ns of ['default', 'team', 'quota', 'limits', 'locked']) await admin(['create', 'serviceaccount', 'default', '-n', ns]);
  });
  after(async () => {
    for (const k of [admin, ...others]) k?.cleanup();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS only: plain HTTP is refused; anonymous users reach health and version only', async () => {
    const port = Number(new URL(server.url).port);
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/version' }, (res) => resolve(`status ${res.statusCode ?? 0}`));
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.end();
    });
    assert.ok(!plain.startsWith('status 2'), `plain HTTP must not be served: ${plain}`);
    assert.equal((await fetchAs(server, '/version')).status, 200);
    assert.equal((await fetchAs(server, '/readyz')).status, 200);
    const pods = await fetchAs(server, '/api/v1/namespaces/default/pods');
    assert.equal(pods.status, 403);
    const st = (await pods.json()) as { message: string; reason: string };
    assert.equal(st.reason, 'Forbidden');
    assert.equal(st.message, 'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"');
    const root = (await (await fetchAs(server, '/metrics')).json()) as { message: string };
    assert.equal(root.message, 'forbidden: User "system:anonymous" cannot get path "/metrics"');
  });

  it('bad credentials are 401: unknown token, expired and foreign certificates, garbage JWTs', async () => {
    const k = as(kubeconfigAs(server, 'bad-token', { token: 'no-such-token' }));
    const r = await k(['get', 'pods']);
    assert.notEqual(r.code, 0);
    // kubectl fails in discovery first and words it as client-go does for any 401.
    assert.match(r.stderr, /error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
    for (const creds of [await userCert(server, 'old', [], { expired: true }), await userCert(server, 'mallory', ['system:masters'], { foreign: true })]) {
      const res = await fetchAs(server, '/api/v1/namespaces/default/pods', {}, creds);
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    for (const token of ['a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'abcdef.0123456789abcdef', 'x'.repeat(5000)]) {
      assert.equal((await fetchAs(server, '/api/v1/pods', {}, { token })).status, 401, token.slice(0, 20));
    }
  });

  it('a token user is denied until bound; auth can-i and whoami match what happens', async () => {
    const alice = as(kubeconfigAs(server, 'alice', { token: 'alice-token' }));
    const denied = await alice(['get', 'pods']);
    assert.equal(denied.stderr.trim(), FORBIDDEN_LIST_PODS('alice'));
    assert.equal((await alice(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'no');
    const who = await alice(['auth', 'whoami', '-o', 'json']);
    const info = (JSON.parse(who.stdout) as { status: { userInfo: { username: string; uid: string; groups: string[] } } }).status.userInfo;
    assert.deepEqual(info, { username: 'alice', uid: 'u-1', groups: ['devs', 'testers', 'system:authenticated'] });
    assert.equal((await admin(['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', 'default'])).code, 0);
    await waitFor(async () => (await alice(['get', 'pods'])).code === 0, { what: 'alice may list pods' });
    assert.equal((await alice(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'yes');
    assert.equal((await alice(['auth', 'can-i', 'list', 'pods', '-n', 'kube-system'])).stdout.trim(), 'no');
    assert.equal((await alice(['get', 'pods', '-n', 'kube-system'])).code, 1);
    assert.equal((await alice(['create', 'configmap', 'made-by-alice', '--from-literal=a=1'])).code, 0);
    const list = await alice(['auth', 'can-i', '--list']);
    assert.match(list.stdout, /configmaps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]|configmaps/);
    assert.equal((await alice(['auth', 'can-i', 'create', 'roles'])).stdout.trim(), 'no');
  });

  it('a user certificate signed by the cluster CA carries user and groups; a group binding grants view', async () => {
    const bob = as(kubeconfigAs(server, 'bob', await userCert(server, 'bob', ['viewers'])));
    assert.equal((await bob(['get', 'pods'])).stderr.trim(), FORBIDDEN_LIST_PODS('bob'));
    assert.equal((await admin(['create', 'clusterrolebinding', 'viewers-view', '--clusterrole=view', '--group=viewers'])).code, 0);
    await waitFor(async () => (await bob(['get', 'pods', '-A'])).code === 0, { what: 'bob may list pods' });
    assert.equal((await bob(['auth', 'can-i', 'get', 'secrets'])).stdout.trim(), 'no');
    const s = await bob(['get', 'secrets']);
    assert.equal(s.stderr.trim(), 'Error from server (Forbidden): secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "default"');
    const del = await bob(['delete', 'configmap', 'made-by-alice']);
    assert.equal(del.stderr.trim(), 'Error from server (Forbidden): configmaps "made-by-alice" is forbidden: User "bob" cannot delete resource "configmaps" in API group "" in the namespace "default"');
  });

  it('escalation is refused: no role or binding grants more than its author holds', async () => {
    assert.equal((await admin(['create', 'rolebinding', 'carol-admin', '--clusterrole=admin', '--user=carol', '-n', 'team'])).code, 0);
    const carol = as(kubeconfigAs(server, 'carol', { token: 'carol-token' }));
    await waitFor(async () => (await carol(['auth', 'can-i', 'create', 'roles', '-n', 'team'])).stdout.trim() === 'yes', { what: 'carol is admin of team' });
    assert.equal((await carol(['create', 'role', 'ok', '--verb=get', '--resource=pods', '-n', 'team'])).code, 0);
    const esc = await carol(['create', 'role', 'too-much', '--verb=get', '--resource=nodes', '-n', 'team']);
    assert.notEqual(esc.code, 0);
    assert.match(esc.stderr, /roles\.rbac\.authorization\.k8s\.io "too-much" is forbidden: user "carol" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["nodes"\], Verbs:\["get"\]\}/);
    const bind = await carol(['create', 'rolebinding', 'steal', '--clusterrole=cluster-admin', '--user=carol', '-n', 'team']);
    assert.notEqual(bind.code, 0);
    assert.match(bind.stderr, /rolebindings\.rbac\.authorization\.k8s\.io "steal" is forbidden: user "carol" .* is attempting to grant RBAC permissions not currently held/);
    assert.equal((await carol(['create', 'rolebinding', 'share', '--clusterrole=view', '--user=dave', '-n', 'team'])).code, 0);
  });

  it('impersonation needs the impersonate verb; an admin may act as another user', async () => {
    const alice = as(kubeconfigAs(server, 'alice2', { token: 'alice-token' }));
    const r = await alice(['get', 'pods', '--as=bob']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\)/);
    const res = await fetchAs(server, '/api/v1/namespaces/default/pods', { headers: { 'Impersonate-User': 'bob' } }, { token: 'alice-token' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { message: string }).message, 'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope');
    const sa = await fetchAs(server, '/api/v1/namespaces/default/pods', { headers: { 'Impersonate-User': 'system:serviceaccount:team:default' } }, { token: 'alice-token' });
    assert.equal(((await sa.json()) as { message: string }).message, 'serviceaccounts "default" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "team"');
    assert.equal((await admin(['get', 'secrets', '--as=bob', '--as-group=viewers'])).stderr.trim(), 'Error from server (Forbidden): secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "default"');
    assert.equal((await admin(['get', 'pods', '--as=bob', '--as-group=viewers'])).code, 0);
    assert.equal((await admin(['auth', 'can-i', 'list', 'secrets', '--as=alice'])).stdout.trim(), 'yes');
  });

  it('ServiceAccount tokens: TokenRequest, RBAC for the account, and 401 once the account is gone', async () => {
    assert.equal((await admin(['create', 'serviceaccount', 'robot'])).code, 0);
    const token = (await admin(['create', 'token', 'robot', '--duration=20m'])).stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const robot = as(kubeconfigAs(server, 'robot', { token }));
    assert.equal((await robot(['get', 'pods'])).stderr.trim(), FORBIDDEN_LIST_PODS('system:serviceaccount:default:robot'));
    assert.equal((await admin(['create', 'rolebinding', 'robot-view', '--clusterrole=view', '--serviceaccount=default:robot'])).code, 0);
    await waitFor(async () => (await robot(['get', 'pods'])).code === 0, { what: 'robot may list pods' });
    const who = JSON.parse((await robot(['auth', 'whoami', '-o', 'json'])).stdout) as { status: { userInfo: { groups: string[] } } };
    assert.deepEqual(who.status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    const short = await admin(['create', 'token', 'robot', '--duration=5m']);
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
    assert.equal((await admin(['delete', 'serviceaccount', 'robot'])).code, 0);
    const gone = await robot(['get', 'pods']);
    assert.match(gone.stderr, /You must be logged in to the server \(Unauthorized\)/);
  });

  it('a pod gets the ServiceAccount token volume and default tolerations', async () => {
    assert.equal((await admin(['run', 'tv', '--image=busybox', '--restart=Never'])).code, 0);
    const pod = JSON.parse((await admin(['get', 'pod', 'tv', '-o', 'json'])).stdout) as { spec: { serviceAccountName: string; volumes: { name: string; projected?: { sources: unknown[] } }[]; containers: { volumeMounts: { mountPath: string }[] }[]; tolerations: { key: string; tolerationSeconds: number }[] } };
    assert.equal(pod.spec.serviceAccountName, 'default');
    const vol = pod.spec.volumes.find((v) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol?.projected, 'projected token volume');
    assert.deepEqual(pod.spec.containers[0]!.volumeMounts.map((m) => m.mountPath), ['/var/run/secrets/kubernetes.io/serviceaccount']);
    assert.deepEqual(pod.spec.tolerations.map((t) => [t.key, t.tolerationSeconds]), [['node.kubernetes.io/not-ready', 300], ['node.kubernetes.io/unreachable', 300]]);
    assert.equal((await admin(['get', 'configmap', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}'])).stdout, readFileSync(join(server.dataDir, 'tls', 'ca.crt'), 'utf8'));
  });

  it('a node reads only the secrets its pods use and changes only itself', async () => {
    for (const s of ['s-used', 's-other']) assert.equal((await admin(['create', 'secret', 'generic', s, '--from-literal=k=v'])).code, 0);
    const podYaml = 'apiVersion: v1\nkind: Pod\nmetadata: {name: on-n1}\nspec:\n  nodeName: n1\n  containers:\n  - name: c\n    image: busybox\n    envFrom: [{secretRef: {name: s-used}}]\n';
    assert.equal((await admin(['create', '-f', tempFile(dir, 'on-n1.yaml', podYaml)])).code, 0);
    const n1 = as(kubeconfigAs(server, 'n1', await userCert(server, 'system:node:n1', ['system:nodes'])));
    await waitFor(async () => (await n1(['get', 'secret', 's-used'])).code === 0, { what: 'node reads its pod secret' });
    const other = await n1(['get', 'secret', 's-other']);
    assert.equal(other.stderr.trim(), 'Error from server (Forbidden): secrets "s-other" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node \'n1\' and this object');
    assert.equal((await n1(['get', 'secrets'])).code, 1);
    const nodeYaml = (n: string) => `apiVersion: v1\nkind: Node\nmetadata: {name: ${n}}\n`;
    assert.equal((await n1(['create', '-f', tempFile(dir, 'n1.yaml', nodeYaml('n1'))])).code, 0);
    const n2 = await n1(['create', '-f', tempFile(dir, 'n2.yaml', nodeYaml('n2'))]);
    assert.equal(n2.stderr.trim(), 'Error from server (Forbidden): error when creating "' + join(dir, 'n2.yaml') + '": nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
  });

  it('a bootstrap token joins a node: CSR auto-approved and signed, the certificate authenticates as the node', async () => {
    const token = (await admin(['create', 'secret', 'generic', 'bootstrap-token-abcdef', '-n', 'kube-system', '--type=bootstrap.kubernetes.io/token',
      '--from-literal=token-id=abcdef', '--from-literal=token-secret=0123456789abcdef', '--from-literal=usage-bootstrap-authentication=true'])).code;
    assert.equal(token, 0);
    const boot = { token: 'abcdef.0123456789abcdef' };
    const csr = await createCertificateRequest({ commonName: 'system:node:joined', organizations: ['system:nodes'] });
    const body = {
      apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'node-csr-joined' },
      spec: { request: Buffer.from(csr.csrPem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] },
    };
    const res = await fetchAs(server, '/apis/certificates.k8s.io/v1/certificatesigningrequests', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, boot);
    assert.equal(res.status, 201, await res.clone().text());
    const created = (await res.json()) as { spec: { username: string; groups: string[] } };
    assert.equal(created.spec.username, 'system:bootstrap:abcdef');
    const cert = await waitFor(async () => {
      const r = await fetchAs(server, '/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-joined', {}, boot);
      const o = (await r.json()) as { status?: { certificate?: string; conditions?: { type: string }[] } };
      return o.status?.certificate ? Buffer.from(o.status.certificate, 'base64').toString('utf8') : undefined;
    }, { what: 'signed certificate' });
    const joined = as(kubeconfigAs(server, 'joined', { cert, key: csr.keyPem }));
    const who = JSON.parse((await joined(['auth', 'whoami', '-o', 'json'])).stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    assert.deepEqual(who.status.userInfo, { username: 'system:node:joined', groups: ['system:nodes', 'system:authenticated'] });
    // The bootstrap identity may not create pods or read secrets.
    assert.equal((await fetchAs(server, '/api/v1/namespaces/default/secrets', {}, boot)).status, 403);
  });

  it('a node gets its own serving certificate (kubelet-serving signer) for its addresses, and nothing else', async () => {
    const node = await userCert(server, 'system:node:n2', ['system:nodes']);
    const post = async (name: string, subject: { commonName: string; organizations: readonly string[]; sans: readonly string[] }, usages = ['digital signature', 'server auth']) => {
      const csr = await createCertificateRequest({ commonName: subject.commonName, organizations: [...subject.organizations], sans: [...subject.sans] });
      const body = {
        apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
        spec: { request: Buffer.from(csr.csrPem).toString('base64'), signerName: 'kubernetes.io/kubelet-serving', usages },
      };
      const res = await fetchAs(server, '/apis/certificates.k8s.io/v1/certificatesigningrequests', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, node);
      assert.equal(res.status, 201, await res.clone().text());
      const o = (await res.json()) as { status?: { certificate?: string; conditions?: { type: string }[] } };
      return o.status;
    };
    const ok = await post('serving-n2', { commonName: 'system:node:n2', organizations: ['system:nodes'], sans: ['127.0.0.1', 'n2'] });
    assert.deepEqual(ok?.conditions?.map((c) => c.type), ['Approved']);
    const pem = Buffer.from(ok?.certificate ?? '', 'base64').toString('utf8');
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(pem);
    assert.equal(cert.subjectAltName, 'IP Address:127.0.0.1, DNS:n2');
    assert.ok(cert.checkIssued(new X509Certificate(readFileSync(join(server.dataDir, 'tls', 'ca.crt'), 'utf8'))));
    assert.match(cert.toLegacyObject().ext_key_usage?.join(',') ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.1/);
    // Another node's name, a wrong group, or client usages are left for an approver.
    for (const [name, subject, usages] of [
      ['serving-other', { commonName: 'system:node:n3', organizations: ['system:nodes'], sans: ['127.0.0.1'] }, undefined],
      ['serving-group', { commonName: 'system:node:n2', organizations: ['system:masters'], sans: ['127.0.0.1'] }, undefined],
      ['serving-client', { commonName: 'system:node:n2', organizations: ['system:nodes'], sans: ['127.0.0.1'] }, ['digital signature', 'client auth']],
    ] as const) {
      const st = await post(name, subject, usages ? [...usages] : undefined);
      assert.equal(st?.certificate, undefined, name);
      assert.deepEqual(st?.conditions ?? [], [], name);
    }
  });

  it('quota and limit ranges are enforced with upstream messages', async () => {
    assert.equal((await admin(['create', 'quota', 'q', '--hard=pods=1', '-n', 'quota'])).code, 0);
    await waitFor(async () => (await admin(['get', 'quota', 'q', '-n', 'quota'])).code === 0);
    assert.equal((await admin(['run', 'p1', '--image=busybox', '--restart=Never', '-n', 'quota'])).code, 0);
    const over = await admin(['run', 'p2', '--image=busybox', '--restart=Never', '-n', 'quota']);
    assert.equal(over.stderr.trim(), 'Error from server (Forbidden): pods "p2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1');
    const used = JSON.parse((await admin(['get', 'quota', 'q', '-n', 'quota', '-o', 'json'])).stdout) as { status: { used: Record<string, string> } };
    assert.equal(used.status.used.pods, '1');
    const lr = 'apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr, namespace: limits}\nspec:\n  limits:\n  - type: Container\n    max: {cpu: "1"}\n    default: {cpu: 500m}\n    defaultRequest: {cpu: 200m}\n';
    assert.equal((await admin(['create', '-f', tempFile(dir, 'lr.yaml', lr)])).code, 0);
    await waitFor(async () => (await admin(['get', 'limitrange', 'lr', '-n', 'limits'])).code === 0);
    assert.equal((await admin(['run', 'd', '--image=busybox', '--restart=Never', '-n', 'limits'])).code, 0);
    const res = JSON.parse((await admin(['get', 'pod', 'd', '-n', 'limits', '-o', 'jsonpath={.spec.containers[0].resources}'])).stdout) as unknown;
    assert.deepEqual(res, { limits: { cpu: '500m' }, requests: { cpu: '200m' } });
    const big = await admin(['run', 'big', '--image=busybox', '--restart=Never', '-n', 'limits', '--overrides={"spec":{"containers":[{"name":"big","image":"busybox","resources":{"limits":{"cpu":"2"}}}]}}']);
    assert.equal(big.stderr.trim(), 'Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  });

  it('PodSecurity restricted refuses a privileged pod and warns at baseline', async () => {
    assert.equal((await admin(['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted'])).code, 0);
    const priv = 'apiVersion: v1\nkind: Pod\nmetadata: {name: priv, namespace: locked}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    securityContext: {privileged: true}\n';
    await waitFor(async () => {
      const r = await admin(['create', '-f', tempFile(dir, 'priv.yaml', priv)]);
      return r.code !== 0 && /violates PodSecurity/.test(r.stderr) ? r : undefined;
    }).then((r) => {
      assert.match(r.stderr, /pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext\.privileged=true\), allowPrivilegeEscalation != false \(container "c" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "c" must set securityContext\.capabilities\.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "c" must set securityContext\.runAsNonRoot=true\), seccompProfile \(pod or container "c" must set securityContext\.seccompProfile\.type to "RuntimeDefault" or "Localhost"\)/);
    });
    const ok = 'apiVersion: v1\nkind: Pod\nmetadata: {name: ok, namespace: locked}\nspec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n  containers:\n  - name: c\n    image: busybox\n    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n';
    const r = await admin(['create', '-f', tempFile(dir, 'ok.yaml', ok)]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('malformed RBAC objects are 422; the snapshot endpoint is for system:masters only; audit events are written', async () => {
    const bad = await adminFetch(server, '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'bad' }, rules: [{ verbs: [], resources: ['pods'] }] }),
    });
    assert.equal(bad.status, 422);
    const st = (await bad.json()) as { message: string };
    assert.equal(st.message, 'Role.rbac.authorization.k8s.io "bad" is invalid: [rules[0].verbs: Required value: verbs must contain at least one value, rules[0].apiGroups: Required value: resource rules must supply at least one api group]');
    const badRef = await adminFetch(server, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'bad' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, subjects: [{ kind: 'Robot', name: 'r' }] }),
    });
    assert.equal(badRef.status, 422);
    const alice = { token: 'alice-token' };
    assert.equal((await fetchAs(server, '/skiff/v1/snapshot', {}, alice)).status, 403);
    const snap = await adminFetch(server, '/skiff/v1/snapshot');
    assert.equal(snap.status, 200);
    await snap.body?.cancel();
    const log = join(dir, 'audit.log');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('"username":"alice"'), { what: 'audit events of alice' });
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; verb: string; user: { username: string }; objectRef?: { resource: string }; responseStatus: { code: number } });
    assert.ok(events.every((e) => e.level === 'Metadata'));
    assert.ok(events.some((e) => e.user.username === 'alice' && e.objectRef?.resource === 'pods' && e.responseStatus.code === 403));
    assert.ok(!events.some((e) => (e as { requestURI?: string }).requestURI?.startsWith('/readyz')), 'health checks are not audited');
  });

  it('PodSecurity audit mode admits the pod and records its violations on the audit event', async () => {
    assert.equal((await admin(['create', 'namespace', 'audited'])).code, 0);
    assert.equal((await admin(['label', 'namespace', 'audited', 'pod-security.kubernetes.io/audit=baseline'])).code, 0);
    const priv = 'apiVersion: v1\nkind: Pod\nmetadata: {name: priv, namespace: audited}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    securityContext: {privileged: true}\n';
    const r = await admin(['create', '-f', tempFile(dir, 'audited.yaml', priv)]);
    assert.equal(r.code, 0, r.stderr);
    const log = join(dir, 'audit.log');
    type Ev = { verb: string; objectRef?: { resource: string; namespace?: string; name?: string }; annotations?: Record<string, string> };
    const find = (): Ev | undefined => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Ev)
      .find((e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && e.objectRef.namespace === 'audited');
    await waitFor(() => find() !== undefined, { what: 'the audit event of the pod create' });
    assert.equal(find()!.annotations?.['pod-security.kubernetes.io/audit-violations'],
      'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)');
  });
});
