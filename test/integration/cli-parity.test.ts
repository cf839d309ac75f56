/**
 * Side-by-side parity: the real kubectl and `skiff` run the same arguments against the same Skiff server and
 * must print the same stdout and stderr and exit with the same code. Ages are computed by the server at request
 * time, so a mismatch is retried twice (two runs straddling a second boundary can differ in an AGE cell; a loaded machine makes that common).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kubectl, TestServer } from './helpers/cluster.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { BuiltCli, Skiff } from './cli-helpers.ts';
import { buildCli, kubectlRaw, skiffFor } from './cli-helpers.ts';

const RICH_POD = `apiVersion: v1
kind: Pod
metadata:
  name: rich
  labels: {a: b}
  annotations: {note: hello}
spec:
  containers:
  - name: c1
    image: nginx
    command: [sh, -c]
    args: ["echo hi"]
    ports: [{containerPort: 80}, {containerPort: 443, hostPort: 8443}]
    env: [{name: A, value: x}, {name: B, valueFrom: {secretKeyRef: {name: s, key: k}}}]
    resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 100m, memory: 64Mi}}
    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}
    volumeMounts: [{name: v, mountPath: /data}]
  volumes: [{name: v, emptyDir: {}}]
  tolerations: [{key: k, operator: Exists, effect: NoSchedule}]
  nodeSelector: {disk: ssd}
`;

let server: TestServer;
let kubectl: Kubectl;
let skiff: Skiff;
let cli: BuiltCli;

/**
 * Ages are computed by the server at the moment of each request; on a loaded machine the two runs can straddle a
 * second (and a wider age column shifts the alignment). Only as a last resort, compare with ages masked and runs of
 * spaces collapsed.
 */
function maskAges(text: string): string {
  return text.replace(/\b\d+(?:y|d|h|m|s)(?:\d+(?:d|h|m|s))?\b/g, '<age>').replace(/ {2,}/g, '  ');
}

async function same(args: string[]): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const [k, s] = await Promise.all([kubectl(args), skiff(args)]);
    if (k.stdout === s.stdout && k.stderr === s.stderr && k.code === s.code) return;
    if (attempt === 2 && maskAges(k.stdout) === maskAges(s.stdout) && maskAges(k.stderr) === maskAges(s.stderr) && k.code === s.code) return;
    last = `kubectl ${args.join(' ')}\n--- kubectl (exit ${k.code}) ---\n${k.stdout}${k.stderr}\n--- skiff (exit ${s.code}) ---\n${s.stdout}${s.stderr}`;
  }
  assert.fail(`outputs differ:\n${last}`);
}

before(async () => {
  [server, cli] = await Promise.all([startServer(), buildCli()]);
  kubectl = kubectlFor(server);
  skiff = skiffFor(cli, server);
  const setup: string[][] = [
    ['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2'],
    ['create', 'configmap', 'cm1', '--from-literal=a=b'],
    ['create', 'configmap', 'multi', '--from-literal=text=line1\nline2', '--from-literal=on=yes', '--from-literal=n=123'],
    ['create', 'secret', 'generic', 'sec', '--from-literal=k=v'],
    ['create', 'service', 'clusterip', 's1', '--tcp=80:8080'],
    ['run', 'p1', '--image=busybox', '--labels=run=p1,tier=web,app.kubernetes.io/name=x'],
    ['create', 'job', 'j1', '--image=busybox'],
    ['create', 'namespace', 'other'],
    ['run', 'p2', '-n', 'other', '--image=nginx', '--labels=app=a'],
  ];
  for (const a of setup) {
    const r = await kubectl(a);
    assert.equal(r.code, 0, `${a.join(' ')}: ${r.stderr}`);
  }
  const rich = await kubectl(['create', '-f', '-'], { input: RICH_POD });
  assert.equal(rich.code, 0, rich.stderr);
});

after(async () => {
  kubectl?.cleanup();
  skiff?.cleanup();
  cli?.cleanup();
  await server?.stop();
});

describe('get: same output as kubectl', () => {
  const cases: string[][] = [
    ['get', 'pods'],
    ['get', 'pods', '-o', 'wide'],
    ['get', 'all'],
    ['get', 'all', '-A'],
    ['get', 'all', '-o', 'name', '-A'],
    ['get', 'pods,cm'],
    ['get', 'po', 'p1'],
    ['get', 'pod/p1', 'cm/cm1'],
    ['get', 'pods', '-A', '--show-labels'],
    ['get', 'pods', '-A', '-L', 'run,app.kubernetes.io/name'],
    ['get', 'pods', '-l', 'tier=web'],
    ['get', 'pods', '-A', '-l', 'tier!=web'],
    ['get', 'pods', '--field-selector=metadata.name=p1'],
    ['get', 'pods', '--no-headers'],
    ['get', 'pods', '-o', 'name'],
    ['get', 'pods,cm', '-o', 'name'],
    ['get', 'pods', '-o', 'json'],
    ['get', 'pods', '-o', 'yaml'],
    ['get', 'pod', 'p1', '-o', 'yaml'],
    ['get', 'pod', 'p1', '-o', 'json'],
    ['get', 'deploy', 'web', '-o', 'yaml'],
    ['get', 'deployments.apps', '-o', 'wide'],
    ['get', 'svc', 's1', '-o', 'yaml'],
    ['get', 'svc', '-o', 'wide'],
    ['get', 'cm', 'multi', '-o', 'yaml'],
    ['get', 'cm', '-o', 'json'],
    ['get', 'secrets'],
    ['get', 'jobs', '-o', 'wide'],
    ['get', 'ns'],
    ['get', 'ns', '-o', 'custom-columns=NAME:.metadata.name,PHASE:.status.phase'],
    ['get', 'pods', '-o', 'custom-columns=N:.metadata.name,I:.spec.containers[*].image,X:.foo'],
    ['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'],
    ['get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}'],
    ['get', 'svc', 's1', '-o', 'jsonpath={.spec}'],
    ['get', 'cm', '--sort-by=.metadata.name'],
    ['get', 'cm', '-A', '--sort-by=.metadata.name', '-o', 'name'],
    ['get', 'pods', '--chunk-size=1'],
    ['get', 'rs,deploy,po', '-A', '--show-kind'],
    ['get', 'nodes'],
    ['get', 'events', '-A', '-o', 'wide'],
  ];
  for (const args of cases) it(args.join(' '), () => same(args));
});

describe('describe, api-resources, api-versions, cluster-info: same output as kubectl', () => {
  const cases: string[][] = [
    ['describe', 'pod', 'p1'],
    ['describe', 'pod', 'rich'],
    ['describe', 'pods'],
    ['describe', 'pods', 'r'],
    ['describe', 'po/p1', 'cm/cm1'],
    ['describe', 'deploy', 'web'],
    ['describe', 'svc', 's1'],
    ['describe', 'ns', 'other'],
    ['describe', 'ns'],
    ['describe', 'cm', 'multi'],
    ['describe', 'secret', 'sec'],
    ['describe', 'job', 'j1'],
    ['describe', 'rs'],
    ['describe', 'node'],
    ['describe', 'pod', 'nope'],
    ['describe'],
    ['api-resources'],
    ['api-resources', '-o', 'wide'],
    ['api-resources', '-o', 'name'],
    ['api-resources', '--namespaced=false'],
    ['api-resources', '--api-group=apps', '--sort-by=name'],
    ['api-resources', '--verbs=get,list', '--no-headers'],
    ['api-versions'],
    ['cluster-info'],
  ];
  for (const args of cases) it(args.join(' '), () => same(args));
});

describe('get errors: same text and exit code as kubectl', () => {
  const cases: string[][] = [
    ['get'],
    ['get', 'foo'],
    ['get', 'pods', 'nope'],
    ['get', 'pods', 'p1', 'nope'],
    ['get', 'deploy', 'nope'],
    ['get', 'pods', 'nope', '--ignore-not-found'],
    ['get', 'pods', '-o', 'bogus'],
    ['get', 'pods', '--bogus'],
    ['get', 'pods', '-z'],
    ['get', 'pods', '--chunk-size=abc'],
    ['get', 'pods', '-n', 'empty-namespace'],
  ];
  for (const args of cases) {
    it(args.join(' '), async () => {
      const [k, s] = await Promise.all([kubectl(args), skiff(args)]);
      assert.equal(s.code, k.code, `exit code for ${args.join(' ')}`);
      assert.equal(s.stdout, k.stdout);
      // Flag errors name the program: kubectl says "kubectl get", skiff says "skiff get".
      assert.equal(s.stderr.replaceAll('skiff', 'kubectl'), k.stderr);
    });
  }
});

describe('config: same output and same file as kubectl', () => {
  it('set-context, use-context, set-cluster, set-credentials, view, get-contexts, current-context', async () => {
    const { mkdtempSync, copyFileSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cli-config-'));
    try {
      const kk = join(dir, 'k.yaml');
      const ks = join(dir, 's.yaml');
      copyFileSync(server.kubeconfig, kk);
      copyFileSync(server.kubeconfig, ks);
      const steps: string[][] = [
        ['config', 'view'],
        ['config', 'set-context', 'foo', '--cluster=x', '--namespace=y'],
        ['config', 'use-context', 'foo'],
        ['config', 'set-cluster', 'x', '--server=https://192.0.2.1:6443', '--insecure-skip-tls-verify'],
        ['config', 'set-credentials', 'bob', '--token=abc'],
        ['config', 'set-context', '--current', '--user=bob'],
        ['config', 'get-contexts'],
        ['config', 'get-contexts', 'nope'],
        ['config', 'get-contexts', '-o', 'name'],
        ['config', 'use-context', 'nope'],
        ['config', 'current-context'],
        ['config', 'view', '-o', 'json'],
        ['config', 'view', '--minify'],
        ['config', 'view', '--raw'],
        ['config', 'get-clusters'],
        ['config', 'get-users'],
        ['config', 'view', '-o', 'jsonpath={.contexts[*].name}'],
        ['config', 'delete-context', 'foo'],
        ['config', 'current-context'],
        ['config', 'set-context'],
      ];
      for (const step of steps) {
        const k = await kubectl(['--kubeconfig', kk, ...step]);
        const s = await skiff(['--kubeconfig', ks, ...step]);
        assert.equal(s.code, k.code, `exit code of ${step.join(' ')}`);
        assert.equal(s.stdout.replaceAll(ks, kk), k.stdout, `stdout of ${step.join(' ')}`);
        assert.equal(s.stderr.replaceAll(ks, kk), k.stderr, `stderr of ${step.join(' ')}`);
        assert.equal(readFileSync(ks, 'utf8'), readFileSync(kk, 'utf8'), `file after ${step.join(' ')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('KUBECONFIG with several files: merged view and writes to the file of origin', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cli-merge-'));
    try {
      const a = 'apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://192.0.2.1\ncontexts:\n- name: ctx-a\n  context:\n    cluster: a\n    user: u\ncurrent-context: ctx-a\nusers:\n- name: u\n  user:\n    token: t\n';
      const b = 'apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://192.0.2.99\n- name: b\n  cluster:\n    server: https://192.0.2.2\ncontexts:\n- name: ctx-b\n  context:\n    cluster: b\n    user: u\ncurrent-context: ctx-b\n';
      for (const who of ['k', 's']) {
        writeFileSync(join(dir, `${who}1.yaml`), a);
        writeFileSync(join(dir, `${who}2.yaml`), b);
      }
      const env = (who: string): Record<string, string> => ({ KUBECONFIG: `${join(dir, `${who}1.yaml`)}:${join(dir, `${who}2.yaml`)}` });
      const steps: string[][] = [['config', 'view'], ['config', 'get-contexts'], ['config', 'use-context', 'ctx-b'], ['config', 'set-context', 'ctx-b', '--namespace=n1'], ['config', 'set-cluster', 'c', '--server=https://192.0.2.3'], ['config', 'current-context']];
      for (const step of steps) {
        const k = await kubectlRaw(step, { env: env('k'), home: kubectl.home });
        const s = await skiff(step, { env: env('s'), noKubeconfig: true });
        assert.equal(s.code, k.code, `exit code of ${step.join(' ')}`);
        assert.equal(s.stdout, k.stdout, `stdout of ${step.join(' ')}`);
        for (const n of ['1', '2']) assert.equal(readFileSync(join(dir, `s${n}.yaml`), 'utf8'), readFileSync(join(dir, `k${n}.yaml`), 'utf8'), `file ${n} after ${step.join(' ')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
