// API writes driven by the real kubectl: client-side apply (create/configured/unchanged/removals), server-side
// apply with conflicts and --force-conflicts, dry run and diff, edit, every patch type, scale (both forms),
// protobuf-bodied create commands, and deletion semantics (grace period, --force, finalizers, propagation).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminFetch, startServer, kubectlFor, tempFile } from './helpers/cluster.ts';
import type { TestServer, Kubectl } from './helpers/cluster.ts';

function deployment(o: { image: string; replicas: number; env?: Record<string, string>; sidecar?: boolean }): string {
  const env = Object.entries(o.env ?? {}).map(([k, v]) => `        - {name: ${k}, value: "${v}"}`).join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: app}
spec:
  replicas: ${o.replicas}
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: main
        image: ${o.image}
${env ? `        env:\n${env}\n` : ''}${o.sidecar ? '      - name: sidecar\n        image: busybox\n' : ''}`;
}

interface Obj {
  metadata: { name: string; generation?: number; annotations?: Record<string, string>; labels?: Record<string, string>; finalizers?: string[]; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; managedFields?: { manager: string; operation: string; subresource?: string }[]; resourceVersion: string };
  spec: { replicas: number; template: { spec: { containers: { name: string; image: string; env?: { name: string; value: string }[] }[] } } };
  data?: Record<string, string>;
  type?: string;
}

describe('kubectl writes against skiff server', () => {
  let server: TestServer;
  let k: Kubectl;
  let dir: string;
  const getJson = async (...args: string[]): Promise<Obj> => {
    const r = await k(['get', ...args, '-o', 'json', '--show-managed-fields']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Obj;
  };

  before(async () => {
    // API semantics alone: no controllers acting on what the test records.
    server = await startServer({ args: ['--disable-controller-manager', '--disable-scheduler'] });
    k = kubectlFor(server);
    dir = mkdtempSync(join(tmpdir(), 'skiff-writes-'));
  });
  after(async () => {
    k?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('client-side apply: created, unchanged, configured, and removed fields and list elements', async () => {
    const f = join(dir, 'app.yaml');
    writeFileSync(f, deployment({ image: 'nginx:1.25', replicas: 2, env: { A: '1', B: '2' }, sidecar: true }));
    assert.equal((await k(['apply', '-f', f])).stdout.trim(), 'deployment.apps/app created');
    assert.equal((await k(['apply', '-f', f])).stdout.trim(), 'deployment.apps/app unchanged');
    writeFileSync(f, deployment({ image: 'nginx:1.26', replicas: 3, env: { A: '1' } }));
    const r = await k(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps/app configured');
    const d = await getJson('deploy', 'app');
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.template.spec.containers.map((c) => c.name), ['main']);
    assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx:1.26');
    assert.deepEqual(d.spec.template.spec.containers[0]!.env, [{ name: 'A', value: '1' }]);
    assert.equal(d.metadata.generation, 2);
    assert.ok(d.metadata.managedFields?.some((m) => m.manager === 'kubectl-client-side-apply' && m.operation === 'Update'));
  });

  it('server-side apply records ownership, reports conflicts and takes over with --force-conflicts', async () => {
    const f = tempFile(dir, 'ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: "1", b: "2"}\n');
    const first = await k(['apply', '--server-side', '-f', f]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), 'configmap/ssa serverside-applied');
    const other = tempFile(dir, 'ssa-other.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: "9"}\n');
    const conflict = await k(['apply', '--server-side', '--field-manager=other', '-f', other]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/);
    const forced = await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', other]);
    assert.equal(forced.code, 0, forced.stderr);
    const cm = await getJson('cm', 'ssa');
    assert.deepEqual(cm.data, { a: '9', b: '2' });
    const managers = (cm.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`).sort();
    assert.deepEqual(managers, ['kubectl/Apply', 'other/Apply']);
    // The first manager stops applying b: it goes, since no one else owns it.
    const shrink = tempFile(dir, 'ssa-shrink.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {}\n');
    assert.equal((await k(['apply', '--server-side', '-f', shrink])).code, 0);
    assert.deepEqual((await getJson('cm', 'ssa')).data, { a: '9' });
  });

  it('server-side apply takes over from client-side apply (csaupgrade) and removes what the manifest dropped', async () => {
    const manifest = (image: string, env: string, sidecar: boolean): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: mig, labels: {app: mig}}
spec:
  replicas: 1
  selector: {matchLabels: {app: mig}}
  template:
    metadata: {labels: {app: mig}}
    spec:
      containers:
      - name: main
        image: ${image}
        env: [${env}]
${sidecar ? '      - {name: sidecar, image: busybox}\n' : ''}`;
    const f = tempFile(dir, 'mig.yaml', manifest('nginx:1', '{name: A, value: "1"}, {name: B, value: "2"}', true));
    assert.equal((await k(['apply', '-f', f])).stdout.trim(), 'deployment.apps/mig created');
    // The manifest changes a value client-side apply set, drops an env var and a container: no conflict with
    // kubectl-client-side-apply, and what was dropped goes.
    writeFileSync(f, manifest('nginx:2', '{name: A, value: "1"}', false));
    const ssa = await k(['apply', '--server-side', '-f', f]);
    assert.equal(ssa.code, 0, ssa.stderr);
    assert.equal(ssa.stdout.trim(), 'deployment.apps/mig serverside-applied');
    const d = await getJson('deploy', 'mig');
    assert.deepEqual(d.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`), ['main=nginx:2']);
    assert.deepEqual(d.spec.template.spec.containers[0]!.env, [{ name: 'A', value: '1' }]);
    const managers = (d.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes('kubectl/Apply'), managers.join());
    assert.ok(!managers.includes('kubectl-client-side-apply/Update'), managers.join());
    // The last-applied annotation follows what was applied, so a later client-side apply diffs against it.
    const last = JSON.parse(d.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}') as Obj;
    assert.deepEqual(last.spec.template.spec.containers.map((c) => c.image), ['nginx:2']);

    // A field someone else changed since is still a conflict, naming that manager.
    const cm = tempFile(dir, 'mig-cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mig}\ndata: {a: "1", b: "2"}\n');
    assert.equal((await k(['apply', '-f', cm])).code, 0);
    assert.equal((await k(['patch', 'cm', 'mig', '--type=merge', '-p', '{"data":{"b":"3"}}'])).code, 0);
    const changed = tempFile(dir, 'mig-cm2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mig}\ndata: {a: "5", b: "4"}\n');
    const conflict = await k(['apply', '--server-side', '-f', changed]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: \.data\.b/);
    assert.deepEqual((await getJson('cm', 'mig')).data, { a: '1', b: '3' });
  });

  it('credits the fields of an object without managedFields to before-first-apply', async () => {
    const cm = tempFile(dir, 'bfa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bfa}\ndata: {a: "1", b: "2"}\n');
    assert.equal((await k(['create', '-f', cm])).code, 0);
    // An explicit single empty entry resets managedFields (upstream's way to stop tracking).
    const reset = await k(['patch', 'cm', 'bfa', '--type=json', '-p', '[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((await getJson('cm', 'bfa')).metadata.managedFields, undefined);
    const applied = tempFile(dir, 'bfa-apply.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bfa}\ndata: {a: "9"}\n');
    const conflict = await k(['apply', '--server-side', '--field-manager=tool', '-f', applied]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /conflict with "before-first-apply" using v1: \.data\.a/);
    const forced = await k(['apply', '--server-side', '--field-manager=tool', '--force-conflicts', '-f', applied]);
    assert.equal(forced.code, 0, forced.stderr);
    const got = await getJson('cm', 'bfa');
    assert.deepEqual(got.data, { a: '9', b: '2' });
    assert.deepEqual((got.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`).sort(), ['before-first-apply/Update', 'tool/Apply']);
  });

  it('dry run persists nothing and diff shows the change', async () => {
    const f = join(dir, 'app.yaml');
    writeFileSync(f, deployment({ image: 'nginx:1.27', replicas: 4 }));
    const dry = await k(['apply', '--dry-run=server', '-f', f]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout.trim(), 'deployment.apps/app configured (server dry run)');
    assert.equal((await getJson('deploy', 'app')).spec.replicas, 3);
    const diff = await k(['diff', '-f', f]);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /^-\s+replicas: 3$/m);
    assert.match(diff.stdout, /^\+\s+replicas: 4$/m);
    const create = tempFile(dir, 'dry-cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\n');
    assert.equal((await k(['create', '--dry-run=server', '-f', create])).stdout.trim(), 'configmap/dry created (server dry run)');
    assert.equal((await k(['get', 'cm', 'dry'])).code, 1);
    assert.equal((await k(['delete', 'deploy', 'app', '--dry-run=server'])).code, 0);
    assert.equal((await k(['get', 'deploy', 'app'])).code, 0);
  });

  it('edit applies what the editor wrote', async () => {
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/replicas: 3/replicas: 7/" "$1"\n');
    chmodSync(editor, 0o755);
    const r = await k(['edit', 'deploy', 'app'], { env: { KUBE_EDITOR: editor } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps/app edited');
    assert.equal((await getJson('deploy', 'app')).spec.replicas, 7);
  });

  it('patches with strategic merge, merge and JSON patch, and refuses a bad patch untouched', async () => {
    const smp = await k(['patch', 'deploy', 'app', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:smp"}]}}}}']);
    assert.equal(smp.code, 0, smp.stderr);
    let d = await getJson('deploy', 'app');
    assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx:smp');
    assert.equal(d.spec.template.spec.containers.length, 1);
    assert.equal((await k(['patch', 'deploy', 'app', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}'])).code, 0);
    assert.equal((await k(['patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":5}]'])).code, 0);
    d = await getJson('deploy', 'app');
    assert.equal(d.metadata.labels?.patched, 'merge');
    assert.equal(d.spec.replicas, 5);
    const rv = d.metadata.resourceVersion;
    const test = await k(['patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":9},{"op":"replace","path":"/spec/replicas","value":1}]']);
    assert.equal(test.code, 1);
    const badPointer = await k(['patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"remove","path":"/spec/nope/x"}]']);
    assert.equal(badPointer.code, 1);
    const noKey = await k(['patch', 'deploy', 'app', '-p', '{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}']);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /does not contain declared merge key: name/);
    const invalid = await k(['patch', 'deploy', 'app', '--type=merge', '-p', '{"spec":{"replicas":-2}}']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /spec\.replicas: Invalid value: -2/);
    assert.equal((await getJson('deploy', 'app')).metadata.resourceVersion, rv);
    // A resourceVersion in a patch is a precondition: a stale one is a conflict, the current one applies.
    for (const type of ['merge', 'strategic']) {
      const stale = await k(['patch', 'deploy', 'app', `--type=${type}`, '-p', JSON.stringify({ metadata: { resourceVersion: String(Number(rv) - 1), labels: { stale: 'yes' } } })]);
      assert.equal(stale.code, 1, type);
      assert.match(stale.stderr, /Operation cannot be fulfilled on deployments\.apps "app": the object has been modified; please apply your changes to the latest version and try again/);
    }
    assert.equal((await getJson('deploy', 'app')).metadata.resourceVersion, rv);
    const fresh = await k(['patch', 'deploy', 'app', '--type=merge', '-p', JSON.stringify({ metadata: { resourceVersion: rv, labels: { fresh: 'yes' } } })]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal((await getJson('deploy', 'app')).metadata.labels?.fresh, 'yes');
  });

  it('scales through the scale subresource in both forms', async () => {
    const s1 = await k(['scale', 'deploy', 'app', '--replicas=2']);
    assert.equal(s1.stdout.trim(), 'deployment.apps/app scaled');
    assert.equal((await getJson('deploy', 'app')).spec.replicas, 2);
    const s2 = await k(['scale', 'deploy', 'app', '--current-replicas=2', '--replicas=6']);
    assert.equal(s2.code, 0, s2.stderr);
    const d = await getJson('deploy', 'app');
    assert.equal(d.spec.replicas, 6);
    assert.ok(d.metadata.managedFields?.some((m) => m.subresource === 'scale'));
    const stale = await k(['scale', 'deploy', 'app', '--current-replicas=2', '--replicas=1']);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /Expected replicas to be 2, was 6/);
  });

  it('creates with the protobuf-bodied generators', async () => {
    assert.equal((await k(['create', 'namespace', 'team-a'])).stdout.trim(), 'namespace/team-a created');
    assert.equal((await k(['create', 'secret', 'generic', 's1', '--from-literal=user=admin', '-n', 'team-a'])).stdout.trim(), 'secret/s1 created');
    assert.equal((await k(['create', 'configmap', 'c1', '--from-literal=k=v', '-n', 'team-a'])).stdout.trim(), 'configmap/c1 created');
    const s = await getJson('secret', 's1', '-n', 'team-a');
    assert.equal(s.type, 'Opaque');
    assert.equal(Buffer.from(s.data!.user!, 'base64').toString(), 'admin');
    assert.deepEqual((await getJson('cm', 'c1', '-n', 'team-a')).data, { k: 'v' });
  });

  it('deletes gracefully, by force, behind a finalizer, and records propagation', async () => {
    // A bound pod is deleted gracefully: it stays with a deletionTimestamp until its node agent confirms.
    const pod = tempFile(dir, 'pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec:\n  nodeName: nowhere\n  terminationGracePeriodSeconds: 45\n  containers: [{name: c, image: x}]\n');
    assert.equal((await k(['create', '-f', pod])).code, 0);
    assert.equal((await k(['delete', 'pod', 'g', '--wait=false'])).stdout.trim(), 'pod "g" deleted');
    const g = await getJson('pod', 'g');
    assert.ok(g.metadata.deletionTimestamp);
    assert.equal(g.metadata.deletionGracePeriodSeconds, 45);
    assert.match((await k(['get', 'pod', 'g'])).stdout, /Terminating/);
    // A second delete may only shorten the grace period.
    assert.equal((await k(['delete', 'pod', 'g', '--grace-period=10', '--wait=false'])).code, 0);
    assert.equal((await getJson('pod', 'g')).metadata.deletionGracePeriodSeconds, 10);
    const forced = await k(['delete', 'pod', 'g', '--grace-period=0', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /pod "g" force deleted/);
    assert.equal((await k(['get', 'pod', 'g'])).code, 1);

    // A finalizer holds the object until it is patched away.
    const fin = tempFile(dir, 'fin.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fin, finalizers: [example.com/block]}\n');
    assert.equal((await k(['create', '-f', fin])).code, 0);
    assert.equal((await k(['delete', 'cm', 'fin', '--wait=false'])).code, 0);
    const held = await getJson('cm', 'fin');
    assert.ok(held.metadata.deletionTimestamp);
    const addFin = await k(['patch', 'cm', 'fin', '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/block","example.com/more"]}}']);
    assert.equal(addFin.code, 1);
    assert.match(addFin.stderr, /no new finalizers can be added if the object is being deleted/);
    assert.equal((await k(['patch', 'cm', 'fin', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'])).code, 0);
    assert.equal((await k(['get', 'cm', 'fin'])).code, 1);

    // Propagation policies are recorded as upstream does (the garbage collector acts on them).
    const own = tempFile(dir, 'own.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\n');
    assert.equal((await k(['create', '-f', own])).code, 0);
    assert.equal((await k(['delete', 'cm', 'owner', '--cascade=orphan', '--wait=false'])).code, 0);
    assert.deepEqual((await getJson('cm', 'owner')).metadata.finalizers, ['orphan']);
    const own2 = tempFile(dir, 'own2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner2}\n');
    assert.equal((await k(['create', '-f', own2])).code, 0);
    assert.equal((await k(['delete', 'cm', 'owner2', '--cascade=foreground', '--wait=false'])).code, 0);
    assert.deepEqual((await getJson('cm', 'owner2')).metadata.finalizers, ['foregroundDeletion']);

    // Preconditions are checked.
    const cur = await getJson('cm', 'ssa');
    const res = await adminFetch(server, '/api/v1/namespaces/default/configmaps/ssa', {
      method: 'DELETE', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }),
    });
    assert.equal(res.status, 409);
    assert.equal((await getJson('cm', 'ssa')).metadata.resourceVersion, cur.metadata.resourceVersion);

    // Namespace deletion: Terminating, and no new content.
    assert.equal((await k(['delete', 'ns', 'team-a', '--wait=false'])).code, 0);
    assert.match((await k(['get', 'ns', 'team-a'])).stdout, /Terminating/);
    const late = await k(['create', 'configmap', 'late', '-n', 'team-a']);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /unable to create new content in namespace team-a because it is being terminated/);
  });
});
