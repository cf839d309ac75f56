/**
 * Captures the bodies real kubectl sends for its typed-client commands and checks that the decoder
 * turns them into the objects the commands meant. A tiny fake API server on 127.0.0.1:0 answers
 * /version and legacy discovery, records every request and answers writes with the decoded JSON.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './decode.ts';

interface Recorded {
  method: string;
  url: string;
  contentType: string;
  accept: string;
  body: Uint8Array;
  decoded?: Record<string, unknown>;
}

const CREATE = '?fieldManager=kubectl-create&fieldValidation=Strict';
const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function resource(name: string, kind: string, namespaced: boolean, verbs = VERBS): Record<string, unknown> {
  return { name, singularName: name.includes('/') ? '' : kind.toLowerCase(), namespaced, kind, verbs };
}

const GROUP_RESOURCES: Record<string, Record<string, unknown>[]> = {
  v1: [
    resource('namespaces', 'Namespace', false),
    resource('secrets', 'Secret', true),
    resource('configmaps', 'ConfigMap', true),
    resource('services', 'Service', true),
    resource('serviceaccounts', 'ServiceAccount', true),
    resource('serviceaccounts/token', 'TokenRequest', true, ['create']),
    resource('resourcequotas', 'ResourceQuota', true),
    resource('pods', 'Pod', true),
    resource('pods/eviction', 'Eviction', true, ['create']),
  ],
  'apps/v1': [resource('deployments', 'Deployment', true), resource('replicasets', 'ReplicaSet', true)],
  'batch/v1': [resource('jobs', 'Job', true), resource('cronjobs', 'CronJob', true)],
  'rbac.authorization.k8s.io/v1': [
    resource('roles', 'Role', true),
    resource('rolebindings', 'RoleBinding', true),
    resource('clusterroles', 'ClusterRole', false),
    resource('clusterrolebindings', 'ClusterRoleBinding', false),
  ],
  'authorization.k8s.io/v1': [
    resource('selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, ['create']),
    resource('selfsubjectrulesreviews', 'SelfSubjectRulesReview', false, ['create']),
  ],
  'authentication.k8s.io/v1': [
    resource('selfsubjectreviews', 'SelfSubjectReview', false, ['create']),
    resource('tokenreviews', 'TokenReview', false, ['create']),
  ],
  'policy/v1': [resource('poddisruptionbudgets', 'PodDisruptionBudget', true)],
  'scheduling.k8s.io/v1': [resource('priorityclasses', 'PriorityClass', false)],
  'networking.k8s.io/v1': [resource('ingresses', 'Ingress', true)],
};

function discovery(path: string): unknown {
  if (path === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' };
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    const groups = Object.keys(GROUP_RESOURCES)
      .filter((gv) => gv.includes('/'))
      .map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        const v = { groupVersion: gv, version };
        return { name, versions: [v], preferredVersion: v };
      });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
  const resources = gv === undefined ? undefined : GROUP_RESOURCES[gv];
  if (resources) return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
  return undefined;
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function reply(rec: Recorded, res: ServerResponse): void {
  const path = rec.url.split('?')[0] ?? '';
  const d = discovery(path);
  if (rec.method === 'GET' && d !== undefined) return json(res, 200, d);
  if (rec.method === 'POST' && rec.decoded) {
    const obj = structuredClone(rec.decoded);
    if (obj['kind'] === 'SelfSubjectAccessReview') obj['status'] = { allowed: true };
    if (obj['kind'] === 'TokenRequest') obj['status'] = { token: 'tok', expirationTimestamp: '2026-11-21T23:19:49Z' };
    const meta = (obj['metadata'] ?? {}) as Record<string, unknown>;
    obj['metadata'] = { ...meta, uid: 'u-1', resourceVersion: '1', creationTimestamp: '2026-11-21T23:19:49Z' };
    return json(res, 201, obj);
  }
  json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
}

describe('kubectl typed-client protobuf bodies', () => {
  let server: Server;
  let dir = '';
  let kubeconfig = '';
  const recorded: Recorded[] = [];
  let kubectlMissing = false;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-pb-'));
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: Recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: req.headers['content-type'] ?? '',
          accept: req.headers['accept'] ?? '',
          body: Buffer.concat(chunks),
        };
        if (rec.contentType.split(';')[0] === PROTOBUF_MEDIA_TYPE) rec.decoded = decodeProtobufObject(rec.body).object;
        recorded.push(rec);
        reply(rec, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    assert.ok(addr && typeof addr === 'object');
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:' + String(addr.port) + '"}}]',
        'users: [{name: u, user: {}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    kubectlMissing = !(await run(['version', '--client']).then(() => true, () => false));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  function run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir }, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
  }

  /** Runs one command and returns the single write it made. */
  async function capture(args: string[]): Promise<{ out: string; write: Recorded }> {
    const from = recorded.length;
    const out = await run(args);
    const writes = recorded.slice(from).filter((r) => r.method !== 'GET');
    assert.equal(writes.length, 1, `one write for kubectl ${args.join(' ')}: ${writes.map((w) => w.url).join(', ')}`);
    const write = writes[0] as Recorded;
    assert.equal(write.method, 'POST');
    assert.equal(write.contentType, PROTOBUF_MEDIA_TYPE, `kubectl ${args.join(' ')} sends protobuf`);
    assert.equal(write.accept, 'application/vnd.kubernetes.protobuf,application/json');
    assert.ok(write.decoded, 'decoded');
    return { out, write };
  }

  it('create namespace', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { out, write } = await capture(['create', 'namespace', 'x']);
    assert.equal(write.url, '/api/v1/namespaces' + CREATE);
    assert.deepEqual(write.decoded, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: {}, status: {} });
    assert.match(out, /namespace\/x created/);
  });

  it('create secret generic', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { write } = await capture(['create', 'secret', 'generic', 's', '--from-literal=a=b']);
    assert.equal(write.url, '/api/v1/namespaces/default/secrets' + CREATE);
    assert.deepEqual(write.decoded, {
      apiVersion: 'v1',
      kind: 'Secret',
      // The typed client leaves namespace to the URL and type to server defaulting (Opaque).
      metadata: { name: 's' },
      data: { a: Buffer.from('b').toString('base64') },
    });
  });

  it('create configmap', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { write } = await capture(['create', 'configmap', 'c', '--from-literal=k=v']);
    assert.equal(write.url, '/api/v1/namespaces/default/configmaps' + CREATE);
    assert.deepEqual(write.decoded, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } });
  });

  it('create deployment', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { write } = await capture(['create', 'deployment', 'd', '--image=nginx', '--replicas=2']);
    assert.equal(write.url, '/apis/apps/v1/namespaces/default/deployments' + CREATE);
    assert.deepEqual(write.decoded, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', labels: { app: 'd' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });
  });

  it('create job', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { write } = await capture(['create', 'job', 'j', '--image=busybox']);
    assert.equal(write.url, '/apis/batch/v1/namespaces/default/jobs' + CREATE);
    assert.deepEqual(write.decoded, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: {
        template: {
          metadata: {},
          spec: { containers: [{ name: 'j', image: 'busybox', resources: {} }], restartPolicy: 'Never' },
        },
      },
      status: {},
    });
  });

  it('create service clusterip', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { write } = await capture(['create', 'service', 'clusterip', 'svc', '--tcp=80:8080']);
    assert.equal(write.url, '/api/v1/namespaces/default/services' + CREATE);
    assert.deepEqual(write.decoded, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc', labels: { app: 'svc' } },
      spec: {
        ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
        selector: { app: 'svc' },
        type: 'ClusterIP',
      },
      status: { loadBalancer: {} },
    });
  });

  // More typed-client commands: the URL each one writes to and the object it meant.
  const MORE: [string[], string, Record<string, unknown>][] = [
    [['create', 'serviceaccount', 'sa'], '/api/v1/namespaces/default/serviceaccounts' + CREATE, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } }],
    [
      ['create', 'role', 'r', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=x'],
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles' + CREATE,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'r' },
        rules: [
          { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'], resourceNames: ['x'] },
          { verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['x'] },
        ],
      },
    ],
    [
      ['create', 'rolebinding', 'rb', '--role=r', '--user=alice', '--serviceaccount=default:sa', '--group=g'],
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings' + CREATE,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'rb' },
        subjects: [
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
          { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'g' },
          { kind: 'ServiceAccount', name: 'sa', namespace: 'default' },
        ],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
      },
    ],
    [
      ['create', 'clusterrole', 'cr', '--verb=get', '--non-resource-url=/healthz'],
      '/apis/rbac.authorization.k8s.io/v1/clusterroles' + CREATE,
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }] },
    ],
    [
      ['create', 'clusterrole', 'agg', '--aggregation-rule=a=b'],
      '/apis/rbac.authorization.k8s.io/v1/clusterroles' + CREATE,
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'b' } }] } },
    ],
    [
      ['create', 'clusterrolebinding', 'crb', '--clusterrole=cr', '--user=bob'],
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings' + CREATE,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'crb' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' }],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr' },
      },
    ],
    [
      ['create', 'cronjob', 'cj', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date'],
      '/apis/batch/v1/namespaces/default/cronjobs' + CREATE,
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'cj' },
        spec: {
          schedule: '*/5 * * * *',
          jobTemplate: {
            metadata: { name: 'cj' },
            spec: { template: { metadata: {}, spec: { containers: [{ name: 'cj', image: 'busybox', command: ['date'], resources: {} }], restartPolicy: 'OnFailure' } } },
          },
        },
        status: {},
      },
    ],
    [
      ['create', 'priorityclass', 'high', '--value=1000', '--global-default=false', '--description=hi', '--preemption-policy=Never'],
      '/apis/scheduling.k8s.io/v1/priorityclasses' + CREATE,
      { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000, description: 'hi', preemptionPolicy: 'Never' },
    ],
    [
      ['create', 'quota', 'q', '--hard=cpu=1,pods=2', '--scopes=NotTerminating'],
      '/api/v1/namespaces/default/resourcequotas' + CREATE,
      { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { cpu: '1', pods: '2' }, scopes: ['NotTerminating'] }, status: {} },
    ],
    [
      ['create', 'poddisruptionbudget', 'pdb', '--selector=app=web', '--min-available=50%'],
      '/apis/policy/v1/namespaces/default/poddisruptionbudgets' + CREATE,
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'pdb' },
        spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } },
        // These four have no omitempty in Go, so the JSON API receives them as zeros too.
        status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
      },
    ],
    [
      ['create', 'ingress', 'ing', '--class=nginx', '--rule=foo.com/bar*=svc:8080,tls=my-cert'],
      '/apis/networking.k8s.io/v1/namespaces/default/ingresses' + CREATE,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'ing' },
        spec: {
          tls: [{ hosts: ['foo.com'], secretName: 'my-cert' }],
          rules: [{ host: 'foo.com', http: { paths: [{ path: '/bar', backend: { service: { name: 'svc', port: { number: 8080 } } }, pathType: 'Prefix' }] } }],
          ingressClassName: 'nginx',
        },
        status: { loadBalancer: {} },
      },
    ],
    [
      ['create', 'token', 'sa', '--audience=api', '--duration=10m'],
      '/api/v1/namespaces/default/serviceaccounts/sa/token',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { audiences: ['api'], expirationSeconds: 600 }, status: {} },
    ],
    [
      ['auth', 'can-i', '--list'],
      '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace: 'default' }, status: { incomplete: false } },
    ],
    [
      ['auth', 'whoami'],
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {}, status: { userInfo: {} } },
    ],
    [
      ['create', 'secret', 'docker-registry', 'reg', '--docker-server=r.io', '--docker-username=u', '--docker-password=p'],
      '/api/v1/namespaces/default/secrets' + CREATE,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'reg' },
        data: { '.dockerconfigjson': Buffer.from('{"auths":{"r.io":{"username":"u","password":"p","auth":"dTpw"}}}').toString('base64') },
        type: 'kubernetes.io/dockerconfigjson',
      },
    ],
    [
      ['create', 'deployment', 'd0', '--image=nginx', '--replicas=0', '--port=80'],
      '/apis/apps/v1/namespaces/default/deployments' + CREATE,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd0', labels: { app: 'd0' } },
        // An explicit replicas: 0 survives (a pointer in Go); unset plain fields do not appear.
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'd0' } },
          template: { metadata: { labels: { app: 'd0' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] } },
          strategy: {},
        },
        status: {},
      },
    ],
    [
      ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'],
      '/api/v1/namespaces/default/services' + CREATE,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'np', labels: { app: 'np' } },
        spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }], selector: { app: 'np' }, type: 'NodePort' },
        status: { loadBalancer: {} },
      },
    ],
  ];

  for (const [args, url, want] of MORE) {
    it(args.slice(0, 3).join(' '), async (t) => {
      if (kubectlMissing) return t.skip('kubectl not installed');
      const { write } = await capture(args);
      assert.equal(write.url, url);
      assert.deepEqual(write.decoded, want);
    });
  }

  it('auth can-i get pods', async (t) => {
    if (kubectlMissing) return t.skip('kubectl not installed');
    const { out, write } = await capture(['auth', 'can-i', 'get', 'pods']);
    assert.equal(write.url, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    assert.deepEqual(write.decoded, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
      status: { allowed: false },
    });
    assert.equal(out.trim(), 'yes');
  });
});
