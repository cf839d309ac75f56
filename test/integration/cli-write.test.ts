/**
 * Side-by-side parity for the write verbs and the rest (issue 11, part 2): the real kubectl runs in namespace
 * `kx` and skiff in namespace `sx` of one server, every command on each side against its own objects, and their
 * stdout, stderr and exit codes must match (skiff's namespace name mapped back to kubectl's). Verbs without a
 * kubectl counterpart (tree, completion) and outputs with random parts (diff's temp paths) are checked on their
 * own. Objects' resulting state is compared too, so a wrong three-way patch cannot pass on its message alone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kubectl, KubectlResult, TestServer } from './helpers/cluster.ts';
import { kubectlFor, startServer } from './helpers/cluster.ts';
import type { BuiltCli, Skiff } from './cli-helpers.ts';
import { buildCli, skiffFor } from './cli-helpers.ts';

let server: TestServer;
let kubectl: Kubectl;
let skiff: Skiff;
let cli: BuiltCli;
let dir: string;

const K = 'kx';
const S = 'sx';

/** skiff's output with its namespace spelled as kubectl's. */
function mapNs(r: KubectlResult): KubectlResult {
  const re = new RegExp(`\\b${S}\\b`, 'g');
  return { code: r.code, stdout: r.stdout.replace(re, K), stderr: r.stderr.replace(re, K) };
}

type RunOpts = { input?: string; env?: Record<string, string>; ages?: boolean };

/** Runs the command on both sides (in order: kubectl, then skiff) and returns both results. */
async function both(args: string[], o: RunOpts = {}): Promise<{ k: KubectlResult; s: KubectlResult }> {
  const k = await kubectl(['-n', K, ...args], { input: o.input, env: o.env });
  const s = mapNs(await skiff(['-n', S, ...args], { input: o.input?.replaceAll(`namespace: ${K}`, `namespace: ${S}`), env: o.env }));
  return { k, s };
}

/** Both sides print the same stdout and stderr and exit with the same code. */
async function same(args: string[], o: RunOpts = {}): Promise<void> {
  const { k, s } = await both(args, o);
  const norm = (t: string): string => (o.ages ? t.replace(/\b\d+(s|m\d*s?|h)\b/g, 'AGE') : t);
  assert.equal(
    `${norm(s.stdout)}\n--- stderr ---\n${norm(s.stderr)}\n--- exit ${s.code}`,
    `${norm(k.stdout)}\n--- stderr ---\n${norm(k.stderr)}\n--- exit ${k.code}`,
    `skiff ${args.join(' ')} differs from kubectl`,
  );
}

/** The same object on both sides, after the commands: compared without server-assigned fields. */
async function sameState(resource: string, jsonpath: string): Promise<void> {
  const args = ['get', resource, '-o', `jsonpath=${jsonpath}`];
  const k = await kubectl(['-n', K, ...args]);
  const s = mapNs(await skiff(['-n', S, ...args]));
  assert.equal(k.code, 0, k.stderr);
  assert.equal(s.stdout, k.stdout, `state of ${resource} (${jsonpath}) differs`);
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const CM = `apiVersion: v1
kind: ConfigMap
metadata: {name: c1}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c2, labels: {tier: web}}
data: {b: "2"}
`;

const DEP1 = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, labels: {a: b, c: d}}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: one, image: nginx, env: [{name: A, value: "1"}, {name: B, value: "2"}], ports: [{containerPort: 80}]}
      - {name: two, image: redis}
      volumes: [{name: v, emptyDir: {}}]
`;

const DEP2 = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, labels: {a: b}}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: one, image: "nginx:2", env: [{name: B, value: "3"}]}
      volumes: [{name: v, hostPath: {path: /tmp}}]
`;

before(async () => {
  [server, cli] = await Promise.all([startServer(), buildCli()]);
  kubectl = kubectlFor(server);
  skiff = skiffFor(cli, server);
  dir = mkdtempSync(join(tmpdir(), 'skiff-cli-write-'));
  for (const ns of [K, S]) {
    const r = await kubectl(['create', 'namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  kubectl?.cleanup();
  skiff?.cleanup();
  cli?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await server?.stop();
});

describe('explain', () => {
  const cases = [
    ['explain', 'pods'],
    ['explain', 'pods.spec.restartPolicy'],
    ['explain', 'deploy'],
    ['explain', 'deployment.spec', '--recursive'],
    ['explain', 'pod.metadata'],
    ['explain', 'svc.spec.type'],
    ['explain', 'jobs.spec.template.spec.containers'],
    ['explain', 'pods.spec.foo'],
    ['explain', 'nosuchthing'],
    ['explain'],
  ];
  for (const args of cases) it(args.join(' '), () => same(args));
});

describe('create -f and apply -f', () => {
  it('create -f a multi-document file, then again (AlreadyExists, file named)', async () => {
    const p = file('cm.yaml', CM);
    await same(['create', '-f', p]);
    await same(['create', '-f', p]);
  });

  it('create -f - (stdin) with --dry-run and -o name', async () => {
    await same(['create', '-f', '-', '--dry-run=client', '-o', 'name'], { input: CM.replaceAll('c1', 'd1').replaceAll('c2', 'd2') });
    await same(['create', '-f', '-', '--dry-run=server'], { input: CM.replaceAll('c1', 'd1').replaceAll('c2', 'd2') });
  });

  it('create -f a directory, recursively', async () => {
    const d = join(dir, `tree-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dir-a}\n');
    writeFileSync(join(d, 'sub', 'b.json'), '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dir-b"}}');
    writeFileSync(join(d, 'ignored.txt'), 'not a manifest');
    await same(['create', '-f', d]);
    await same(['create', '-f', d, '-R']);
  });

  it('apply creates, then is unchanged, then configures with a three-way patch that kubectl would send', async () => {
    const p1 = file('dep1.yaml', DEP1);
    const p2 = file('dep2.yaml', DEP2);
    await same(['apply', '-f', p1]);
    await same(['apply', '-f', p1]);
    await same(['apply', '-f', p2]);
    await sameState('deploy/app', '{.metadata.labels}{.spec.replicas}{.spec.strategy}{.spec.template.spec.containers}{.spec.template.spec.volumes}');
    await same(['apply', '-f', p1, '--dry-run=client']);
    await same(['apply', '-f', p1, '--dry-run=server']);
    await same(['apply', '-f', p1]);
    await sameState('deploy/app', '{.metadata.labels}{.spec.strategy}{.spec.template.spec.containers}{.spec.template.spec.volumes}{.metadata.annotations}');
  });

  it('apply warns about objects created without the annotation and keeps fields others set', async () => {
    await same(['create', 'configmap', 'plain', '--from-literal=x=1']);
    await same(['label', 'cm', 'plain', 'owner=someone']);
    const p = file('plain.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {x: "2"}\n');
    await same(['apply', '-f', p]);
    await sameState('cm/plain', '{.metadata.labels}{.data}');
  });

  it('apply --server-side, conflicts and --force-conflicts', async () => {
    const p = file('ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {k: "1"}\n');
    await same(['apply', '--server-side', '-f', p]);
    await same(['apply', '--server-side', '-f', p, '--field-manager=other']);
    await same(['apply', '--server-side', '-f', p, '--force-conflicts']);
  });

  it('apply --prune -l deletes what left the file', async () => {
    const two = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p1, labels: {set: s}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: p2, labels: {set: s}}\n';
    await same(['apply', '-f', file('prune2.yaml', two)]);
    await same(['apply', '-f', file('prune1.yaml', two.split('---\n')[0]!), '--prune', '-l', 'set=s', '--prune-allowlist=core/v1/ConfigMap']);
    await same(['get', 'cm', '-l', 'set=s', '-o', 'name']);
  });
});

describe('create generators', () => {
  const gens = [
    ['namespace', 'gen-ns'],
    ['configmap', 'gcm', '--from-literal=a=b', '--from-literal=text=l1\nl2'],
    ['secret', 'generic', 'gs', '--from-literal=a=b', '--type=Opaque'],
    ['secret', 'docker-registry', 'gdr', '--docker-server=r.io', '--docker-username=u', '--docker-password=p', '--docker-email=e@x'],
    ['deployment', 'gd', '--image=nginx:1', '--image=redis', '--port=80', '--replicas=3'],
    ['service', 'clusterip', 'gsvc', '--tcp=80:8080,443'],
    ['service', 'nodeport', 'gnp', '--tcp=80'],
    ['service', 'externalname', 'gext', '--external-name=x.example'],
    ['job', 'gj', '--image=busybox'],
    ['cronjob', 'gcj', '--image=busybox', '--schedule=*/5 * * * *'],
    ['role', 'gr', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=a'],
    ['rolebinding', 'grb', '--clusterrole=view', '--user=u', '--group=g', '--serviceaccount=kx:sa'],
    ['clusterrole', 'gcr', '--verb=get', '--resource=nodes'],
    ['serviceaccount', 'gsa'],
  ];
  for (const g of gens) {
    for (const o of ['yaml', 'json', 'name']) it(`create ${g.join(' ')} --dry-run=client -o ${o}`, () => same(['create', ...g, '--dry-run=client', '-o', o]));
  }
  it('create configmap from files and env files, for real', async () => {
    const f1 = file('f1.txt', 'hello');
    const env = file('e.env', '# comment\nK=V\nX=1\n');
    await same(['create', 'configmap', 'files', `--from-file=${f1}`, `--from-file=k2=${f1}`, '--from-literal=l=1']);
    await sameState('cm/files', '{.data}');
    await same(['create', 'configmap', 'envs', `--from-env-file=${env}`]);
    await sameState('cm/envs', '{.data}');
    await same(['create', 'configmap', 'mixed', `--from-env-file=${env}`, '--from-literal=l=1']);
  });
  it('create deployment with a command, and the usage errors', async () => {
    await same(['create', 'deployment', 'cmd', '--image=busybox', '--', 'sleep', '10']);
    await sameState('deploy/cmd', '{.spec.template.spec.containers[0].command}');
    await same(['create', 'configmap']);
    await same(['create', 'nonsense']);
    await same(['create']);
  });
});

describe('delete, label, annotate, patch, scale, replace', () => {
  before(async () => {
    for (const ns of [K, S]) {
      for (const a of [['create', 'configmap', 'm1', '--from-literal=a=1'], ['create', 'configmap', 'm2'], ['create', 'deployment', 'sc', '--image=nginx']]) {
        const r = await kubectl(['-n', ns, ...a]);
        assert.equal(r.code, 0, r.stderr);
      }
    }
  });
  const steps: string[][] = [
    ['label', 'cm', 'm1', 'x=y'],
    ['label', 'cm', 'm1', 'x=y'],
    ['label', 'cm', 'm1', 'x=z'],
    ['label', 'cm', 'm1', 'x=z', '--overwrite'],
    ['label', 'cm', 'm1', 'x-'],
    ['label', 'cm', 'm1', 'x-'],
    ['label', 'cm', 'm1', 'k=v', '-o', 'name'],
    ['label', 'cm', 'm1', '--list'],
    ['label', 'cm', '--all', 'all=yes'],
    ['label', 'cm', 'm1'],
    ['annotate', 'cm', 'm1', 'note=hi'],
    ['annotate', 'cm', 'm1', 'note=ho'],
    ['annotate', 'cm', 'm1', 'note-'],
    ['patch', 'cm', 'm1', '-p', '{"data":{"z":"1"}}'],
    ['patch', 'cm', 'm1', '-p', '{"data":{"z":"1"}}'],
    ['patch', 'cm', 'm1', '--type=json', '-p', '[{"op":"remove","path":"/data/z"}]'],
    ['patch', 'cm', 'm1', '--type=merge', '-p', 'data: {y: "2"}'],
    ['patch', 'cm', 'm1'],
    ['scale', 'deploy', 'sc', '--replicas=3'],
    ['scale', 'deploy', 'sc', '--replicas=2', '--current-replicas=1'],
    ['scale', 'deploy/sc', '--replicas=2', '--dry-run=server'],
    ['delete', 'cm', 'm2'],
    ['delete', 'cm', 'm2'],
    ['delete', 'cm', 'm2', '--ignore-not-found'],
    ['delete', 'cm', '-l', 'nothing=here'],
    ['delete', 'cm', '--all', '--dry-run=server'],
    ['delete'],
    ['delete', 'cm'],
    ['delete', 'deploy', 'sc', '--cascade=orphan'],
    ['delete', 'rs', '--all', '--wait'],
  ];
  for (const args of steps) it(args.join(' '), () => same(args));
  it('state after the steps', () => sameState('cm/m1', '{.metadata.labels}{.metadata.annotations}{.data}'));
  it('replace -f, and from stdin', async () => {
    const p = file('rep.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m1}\ndata: {replaced: "yes"}\n');
    await same(['replace', '-f', p]);
    await sameState('cm/m1', '{.data}');
    await same(['replace', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m1}\ndata: {again: "yes"}\n' });
    await same(['replace', '-f', p, '--force']);
  });
  it('delete -f', async () => {
    const p = file('del.yaml', CM.replaceAll('c1', 'del1').replaceAll('c2', 'del2'));
    await same(['create', '-f', p]);
    await same(['delete', '-f', p]);
    await same(['delete', '-f', p]);
  });
});

describe('rollout, set, wait, run, expose', () => {
  before(async () => {
    for (const ns of [K, S]) {
      for (const a of [['create', 'deployment', 'r', '--image=nginx:1'], ['set', 'image', 'deploy/r', 'nginx=nginx:2']]) {
        const r = await kubectl(['-n', ns, ...a]);
        assert.equal(r.code, 0, r.stderr);
      }
    }
    // The controller manager creates a ReplicaSet per revision.
    for (const ns of [K, S]) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await kubectl(['-n', ns, 'get', 'rs', '-o', 'name']);
        if (r.stdout.trim().split('\n').length >= 2 || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
  });
  const steps: string[][] = [
    ['rollout', 'history', 'deploy/r'],
    ['rollout', 'history', 'deploy/r', '--revision=1'],
    ['rollout', 'status', 'deploy/r', '--watch=false'],
    ['rollout', 'status', 'deploy/r', '--timeout=1s'],
    ['rollout', 'undo', 'deploy/r', '--to-revision=9'],
    ['rollout', 'undo', 'deploy/r'],
    ['rollout', 'pause', 'deploy/r'],
    ['rollout', 'pause', 'deploy/r'],
    ['rollout', 'undo', 'deploy/r'],
    ['rollout', 'resume', 'deploy/r'],
    ['rollout', 'resume', 'deploy/r'],
    ['set', 'env', 'deploy/r', 'A=1', 'B=2'],
    ['set', 'env', 'deploy/r', 'A-'],
    ['set', 'env', 'deploy/r', '--list'],
    ['set', 'resources', 'deploy/r', '-c=nginx', '--limits=cpu=200m', '--requests=memory=64Mi'],
    ['set', 'resources', 'deploy/r', '-c=nginx', '--limits=cpu=200m'],
    ['set', 'image', 'deploy/r', 'nginx=nginx:3'],
    ['set', 'image', 'deploy/r', 'nope=x'],
    ['wait', '--for=jsonpath={.spec.replicas}=1', 'deploy/r'],
    ['wait', '--for=condition=Available', 'deploy/r', '--timeout=1s'],
    ['wait', '--for=delete', 'cm/does-not-exist', '--timeout=1s'],
    ['wait', 'deploy/r'],
    ['run', 'p', '--image=nginx', '--dry-run=client', '-o', 'yaml'],
    ['run', 'p', '--image=nginx', '--port=80', '--env=A=1', '--labels=x=y,z=w', '--restart=Never', '--dry-run=client', '-o', 'json', '--', 'sh', '-c', 'echo'],
    ['run', 'p2', '--image=nginx'],
    ['run', 'p2', '--image=nginx'],
    ['expose', 'deploy', 'r', '--port=80', '--target-port=8080', '--dry-run=client', '-o', 'yaml'],
    ['expose', 'deploy', 'r', '--port=80'],
    ['expose', 'pod', 'p2', '--port=81', '--name=p2s'],
    ['get', 'svc', 'r', 'p2s', '-o', 'jsonpath={.items[*].spec.ports}{.items[*].spec.selector}'],
  ];
  for (const args of steps) it(args.join(' '), () => same(args));
  it('state after rollout and set', () => sameState('deploy/r', '{.spec.template.spec.containers}{.spec.paused}'));
  it('rollout restart', async () => {
    const { k, s } = await both(['rollout', 'restart', 'deploy/r']);
    assert.equal(s.stdout, k.stdout);
    assert.equal(s.code, 0);
  });
});

describe('events, describe node, nodes', () => {
  before(async () => {
    const node = 'apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {kubernetes.io/hostname: n1, node-role.kubernetes.io/control-plane: ""}\nspec:\n  podCIDR: 10.244.0.0/24\n  podCIDRs: [10.244.0.0/24]\n  taints: [{key: dedicated, value: x, effect: NoSchedule}]\n';
    const r = await kubectl(['create', '-f', '-'], { input: node });
    assert.equal(r.code, 0, r.stderr);
    const status = {
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n1' }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
        nodeInfo: { machineID: 'm', systemUUID: 'u', bootID: 'b', kernelVersion: '6.1', osImage: 'Linux', containerRuntimeVersion: 'skiff://0.1', kubeletVersion: 'v1.30.0', kubeProxyVersion: 'v1.30.0', operatingSystem: 'linux', architecture: 'amd64' },
      },
    };
    const p = await kubectl(['patch', 'node', 'n1', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    assert.equal(p.code, 0, p.stderr);
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: bound, namespace: kx}\nspec:\n  nodeName: n1\n  initContainers: [{name: i, image: x, resources: {requests: {cpu: "1", memory: 1Gi}}}]\n  containers:\n  - {name: a, image: x, resources: {requests: {cpu: 250m, memory: 100Mi}, limits: {cpu: 500m, memory: 200Mi}}}\n';
    const b = await kubectl(['create', '-f', '-'], { input: pod });
    assert.equal(b.code, 0, b.stderr);
  });
  it('describe node', () => same(['describe', 'node', 'n1'], { ages: true }));
  it('describe nodes', () => same(['describe', 'nodes'], { ages: true }));
  it('events for an object without events', () => same(['events', '--for', 'cm/m1']));
  it('events -A -o name, --for, bad --types', async () => {
    await same(['events', '-A', '-o', 'name']);
    await same(['events', '--types=Bogus']);
    await same(['events', '--for', 'nonsense']);
  });
  const nodeSteps: string[][] = [
    ['cordon', 'n1'],
    ['cordon', 'n1', '--dry-run=client'],
    ['uncordon', 'n1'],
    ['taint', 'nodes', 'n1', 'k2=v:NoSchedule'],
    ['taint', 'nodes', 'n1', 'k2-'],
    ['taint', 'nodes', 'n1', 'bad'],
    ['top', 'pods'],
    ['top', 'nodes'],
  ];
  // Node state is shared, so kubectl and skiff each run against the same node in turn: compare per command
  // with the node restored in between.
  for (const args of nodeSteps) {
    it(args.join(' '), async () => {
      const k = await kubectl(args);
      if (args[0] === 'cordon' && !args.includes('--dry-run=client')) await kubectl(['uncordon', 'n1']);
      if (args[0] === 'uncordon') await kubectl(['cordon', 'n1']);
      if (args[0] === 'taint' && args[3] === 'k2=v:NoSchedule') await kubectl(['taint', 'nodes', 'n1', 'k2-']);
      if (args[0] === 'taint' && args[3] === 'k2-') await kubectl(['taint', 'nodes', 'n1', 'k2=v:NoSchedule']);
      const s = await skiff(args);
      assert.deepEqual(s, k);
      if (args[0] === 'uncordon') await kubectl(['uncordon', 'n1']);
    });
  }
});

describe('edit', () => {
  it('applies the editor\'s change, and cancels when nothing changed', async () => {
    const script = file('editor.sh', '#!/bin/sh\nsed -i \'s/^  a: "1"$/  a: edited/\' "$1"\n');
    chmodSync(script, 0o755);
    for (const ns of [K, S]) assert.equal((await kubectl(['-n', ns, 'create', 'configmap', 'ed', '--from-literal=a=1'])).code, 0);
    await same(['edit', 'cm/ed'], { env: { KUBE_EDITOR: script } });
    await sameState('cm/ed', '{.data}');
    await same(['edit', 'cm/ed'], { env: { KUBE_EDITOR: 'true' } });
  });
  it('reopens the file with the server\'s error, then saves the fix', async () => {
    const script = file('editor2.sh', '#!/bin/sh\nif grep -q "is invalid\\|not valid" "$1"; then sed -i \'s/^  a: BAD NAME$/  a: fixed/; s/^  "bad key": x$//\' "$1"; else sed -i \'s/^  a: edited$/  a: BAD NAME/; s/^data:$/data:\\n  "bad key": x/\' "$1"; fi\n');
    chmodSync(script, 0o755);
    const { s } = await both(['edit', 'cm/ed'], { env: { KUBE_EDITOR: script } });
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /configmap\/ed edited/);
  });
});

describe('diff', () => {
  it('exits 1 with a unified diff of live and merged, 0 when equal', async () => {
    for (const ns of [K, S]) assert.equal((await kubectl(['-n', ns, 'create', 'configmap', 'df', '--from-literal=a=1', '--save-config'])).code, 0);
    const p = file('df.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: df}\ndata: {a: "2"}\n');
    const { k, s } = await both(['diff', '-f', p]);
    const strip = (t: string): string => t.replace(/\/tmp\/(LIVE|MERGED)-\d+/g, '/tmp/$1').replace(/\t\d{4}-\d\d-\d\d [\d:.]+ \+0000/g, '').replace(/^(\s+(creationTimestamp|resourceVersion|uid|generation):).*$/gm, '$1');
    assert.equal(s.code, 1);
    assert.equal(strip(s.stdout), strip(k.stdout));
    const same0 = file('df0.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: df}\ndata: {a: "1"}\n');
    const r = await both(['diff', '-f', same0]);
    assert.equal(r.s.code, r.k.code);
    assert.equal(r.s.stdout, '');
  });
});

describe('beyond kubectl', () => {
  it('tree draws Deployment → ReplicaSet → Pod', async () => {
    assert.equal((await skiff(['-n', S, 'create', 'deployment', 'tr', '--image=nginx'])).code, 0);
    const deadline = Date.now() + 20_000;
    let out = '';
    while (Date.now() < deadline) {
      const r = await skiff(['-n', S, 'tree', 'deploy/tr']);
      out = r.stdout;
      if (/└─Pod\/tr-/.test(out)) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.match(out, /^NAMESPACE\s+NAME\s+READY\s+REASON\s+AGE\n/);
    assert.match(out, /sx\s+Deployment\/tr\s/);
    assert.match(out, /sx\s+└─ReplicaSet\/tr-[a-z0-9]+\s/);
    assert.match(out, /sx\s+ └─Pod\/tr-[a-z0-9]+-[a-z0-9]+\s+-\s+Pending/);
    assert.ok(!out.includes('\x1b['), 'no colour when piped');
  });
  it('completion scripts and candidates with resource names', async () => {
    const bash = await skiff(['completion', 'bash']);
    assert.equal(bash.code, 0);
    assert.match(bash.stdout, /complete -o default -F _skiff skiff/);
    assert.match((await skiff(['completion', 'zsh'])).stdout, /^#compdef skiff/);
    assert.equal((await skiff(['completion', 'fish'])).code, 1);
    const verbs = await skiff(['__complete', '--', 'ro']);
    assert.deepEqual(verbs.stdout.split('\n').filter(Boolean), ['rollout']);
    const types = await skiff(['__complete', '--', 'get', 'deploy']);
    assert.ok(types.stdout.split('\n').includes('deployments'));
    const names = await skiff(['__complete', '--', '-n', S, 'get', 'deploy', 't']);
    assert.deepEqual(names.stdout.split('\n').filter(Boolean), ['tr']);
    const slash = await skiff(['__complete', '--', '-n', S, 'describe', 'deploy/t']);
    assert.deepEqual(slash.stdout.split('\n').filter(Boolean), ['deploy/tr']);
  });
  it('malformed YAML names the file and line', async () => {
    const p = file('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: : indent\n');
    const r = await skiff(['create', '-f', p]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: error parsing ${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: error converting YAML to JSON: yaml: line \\d+: `));
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  });
  it('a missing file and an unreachable server are one clear line', async () => {
    const missing = await skiff(['apply', '-f', join(dir, 'nope.yaml')]);
    assert.equal(missing.stderr, `error: the path "${join(dir, 'nope.yaml')}" does not exist\n`);
    const down = await skiff(['--server', 'http://127.0.0.1:1', 'apply', '-f', file('up.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: up}\n')], { noKubeconfig: true });
    assert.equal(down.code, 1);
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
  });
});
