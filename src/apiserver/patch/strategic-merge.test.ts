import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { PatchError } from './errors.ts';
import { strategicMergePatch, strategicMergePatchWithSchema } from './strategic-merge.ts';
import { mergeItemSchemas, smpCasesYaml } from './testdata/smp-cases.ts';
import { typeNodeOf } from './type-node.ts';

interface Case {
  description: string;
  original: object;
  patch: object;
  result?: object;
  error?: string;
}

const mergeItem = typeNodeOf(mergeItemSchemas['mergeItem']!, { resolve: (n) => mergeItemSchemas[n] });
const cases = parse(smpCasesYaml) as Case[];
const deployment = { group: 'apps', version: 'v1', kind: 'Deployment' };
const pod = { group: '', version: 'v1', kind: 'Pod' };

describe('strategicMergePatch: upstream patch_test.go cases on MergeItem', () => {
  it('has the cases', () => assert.ok(cases.length >= 40, `${cases.length} cases`));
  for (const c of cases) {
    it(c.description, () => {
      const before = structuredClone(c.original);
      if (c.error !== undefined) {
        assert.throws(() => strategicMergePatchWithSchema(c.original, c.patch, mergeItem), (e: unknown) => {
          assert.ok(e instanceof PatchError, String(e));
          assert.ok(e.detail.includes(c.error!), `${e.detail} should contain ${c.error!}`);
          return true;
        });
      } else {
        assert.deepStrictEqual(strategicMergePatchWithSchema(c.original, c.patch, mergeItem), c.result);
      }
      assert.deepStrictEqual(c.original, before, 'the original is not modified');
    });
  }
});

function nginxDeployment(): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', finalizers: ['a/one'], annotations: { keep: 'me' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] },
            { name: 'sidecar', image: 'busybox', args: ['sleep', '1d'] },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}

describe('strategicMergePatch on built-in kinds', () => {
  it('applies kubectl apply\'s second-apply body (KUBECTL-WIRE §10.3)', () => {
    const live = nginxDeployment();
    const out = strategicMergePatch(live, {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' } },
      spec: { replicas: 3, template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ image: 'nginx:1.26', name: 'nginx' }] } } },
    }, deployment) as ReturnType<typeof nginxDeployment>;
    const spec = out['spec'] as { replicas: number; template: { spec: { containers: Record<string, unknown>[] } } };
    assert.equal(spec.replicas, 3);
    assert.deepEqual(spec.template.spec.containers.map((c) => [c['name'], c['image']]), [['nginx', 'nginx:1.26'], ['sidecar', 'busybox']]);
    assert.deepEqual(spec.template.spec.containers[0]!['env'], [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    assert.deepEqual((out['metadata'] as { annotations: object }).annotations, { keep: 'me', 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' });
    assert.equal(((live['spec'] as { replicas: number }).replicas), 2, 'live object untouched');
  });

  it('merges env by name, ports by containerPort, and replaces atomic args', () => {
    const out = strategicMergePatch(nginxDeployment(), {
      spec: { template: { spec: { containers: [
        { name: 'nginx', env: [{ name: 'B', value: 'x' }, { name: 'A', $patch: 'delete' }], ports: [{ containerPort: 443 }] },
        { name: 'sidecar', args: ['sleep', '2d'] },
      ] } } },
    }, deployment) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    const [nginx, sidecar] = out.spec.template.spec.containers;
    assert.deepEqual(nginx!['env'], [{ name: 'B', value: 'x' }]);
    assert.deepEqual(nginx!['ports'], [{ containerPort: 443 }, { containerPort: 80, protocol: 'TCP' }]);
    assert.deepEqual(sidecar!['args'], ['sleep', '2d']);
  });

  it('unions finalizers and removes them with $deleteFromPrimitiveList', () => {
    const added = strategicMergePatch(nginxDeployment(), { metadata: { finalizers: ['b/two', 'a/one'] } }, deployment) as { metadata: { finalizers: string[] } };
    assert.deepEqual(added.metadata.finalizers, ['b/two', 'a/one']);
    const removed = strategicMergePatch(added, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a/one'] } }, deployment) as { metadata: { finalizers: string[] } };
    assert.deepEqual(removed.metadata.finalizers, ['b/two']);
  });

  it('clears other union members of a retainKeys field (Deployment strategy, volumes)', () => {
    const out = strategicMergePatch(nginxDeployment(), {
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null },
        template: { spec: { volumes: [{ name: 'data', $retainKeys: ['name', 'configMap'], configMap: { name: 'cm' } }] } },
      },
    }, deployment) as { spec: { strategy: object; template: { spec: { volumes: object[] } } } };
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
    assert.deepEqual(out.spec.template.spec.volumes, [{ name: 'data', configMap: { name: 'cm' } }]);
  });

  it('replaces a map with $patch: replace and deletes one with null', () => {
    const out = strategicMergePatch(nginxDeployment(), { metadata: { annotations: { $patch: 'replace', only: 'this' } }, spec: { selector: null } }, deployment) as Record<string, Record<string, unknown>>;
    assert.deepEqual(out['metadata']!['annotations'], { only: 'this' });
    assert.equal(Object.hasOwn(out['spec']!, 'selector'), false);
  });

  it('answers 422 for a container without its merge key, as a PatchError Status', () => {
    assert.throws(() => strategicMergePatch({ spec: { containers: [{ name: 'a', image: 'x' }] } }, { spec: { containers: [{ image: 'nginx:1.25' }] } }, pod), (e: unknown) => {
      assert.ok(e instanceof PatchError);
      assert.equal(e.code, 422);
      assert.equal(e.status.reason, 'Invalid');
      assert.equal(e.status.message, 'map: map[image:nginx:1.25] does not contain declared merge key: name');
      return true;
    });
  });

  it('answers 400 for a malformed $retainKeys and 422 for lists of lists', () => {
    assert.throws(() => strategicMergePatch({ spec: { strategy: {} } }, { spec: { strategy: { $retainKeys: 'type' } } }, deployment), (e: unknown) => e instanceof PatchError && e.code === 400 && e.status.message === 'invalid patch format of retainKeys');
    assert.throws(() => strategicMergePatch({ metadata: { finalizers: [['x']] } }, { metadata: { finalizers: [['y']] } }, deployment), (e: unknown) => {
      assert.ok(e instanceof PatchError);
      assert.equal(e.code, 422);
      assert.deepEqual(e.status.details?.causes, [{ reason: 'UnexpectedServerResponse', message: 'lists of lists are not supported' }]);
      return true;
    });
  });

  it('uses JSON merge patch semantics for kinds without a schema', () => {
    const out = strategicMergePatch({ spec: { items: [{ name: 'a', v: 1 }], keep: true, drop: 1 } }, { spec: { items: [{ name: 'b' }], drop: null } }, { group: 'example.com', version: 'v1', kind: 'Widget' });
    assert.deepEqual(out, { spec: { items: [{ name: 'b' }], keep: true } });
  });
});
