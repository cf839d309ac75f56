import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ContainerConfigError, expand, makeEnvironment, resourceFieldValue } from './env.ts';
import type { ConfigSource } from './env.ts';

const source = (cms: Record<string, Record<string, string>>, secrets: Record<string, Record<string, string>> = {}): ConfigSource => ({
  getConfigMap: async (_ns, name) => (cms[name] ? { data: cms[name] } : undefined),
  getSecret: async (_ns, name) => (secrets[name] ? { data: Object.fromEntries(Object.entries(secrets[name]).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } : undefined),
});
const downward = { hostIP: '10.0.0.1', podIP: '10.1.0.2', nodeAllocatable: { cpu: '4', memory: '8Gi' } };

describe('container environment', () => {
  it('expands $(VAR) references as upstream', () => {
    const env = new Map([['A', 'x']]);
    assert.equal(expand('$(A)-$(B)-$$(A)-$', env), 'x-$(B)-$(A)-$');
  });

  it('applies envFrom, then env with valueFrom, later entries winning', async () => {
    const pod: Pod = {
      metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { app: 'web' } },
      spec: {
        nodeName: 'n1',
        containers: [{
          name: 'c',
          resources: { requests: { memory: '64Mi' } },
          envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 's' } }],
          env: [
            { name: 'CM_a', value: 'override-$(TOKEN)' },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi' } } },
            { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
            { name: 'KEY', valueFrom: { configMapKeyRef: { name: 'cm', key: 'a' } } },
          ],
        }],
      },
    };
    const env = await makeEnvironment(pod, pod.spec!.containers[0]!, { source: source({ cm: { a: '1', 'bad key': 'x' } }, { s: { TOKEN: 't0k' } }), downward });
    assert.deepEqual(Object.fromEntries(env.map((e) => [e.key, e.value])), {
      CM_a: 'override-t0k', TOKEN: 't0k', POD: 'p', APP: 'web', IP: '10.1.0.2', MEM: '64', CPU_LIMIT: '4', KEY: '1',
    });
  });

  it('fails with upstream messages for missing objects and keys, unless optional', async () => {
    const pod: Pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c' }] } };
    const run = (env: NonNullable<Pod['spec']>['containers'][0]['env']) => makeEnvironment(pod, { name: 'c', env }, { source: source({ cm: { a: '1' } }), downward });
    await assert.rejects(run([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'a' } } }]), (e: unknown) => e instanceof ContainerConfigError && e.message === 'configmap "nope" not found');
    await assert.rejects(run([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'b' } } }]), /couldn't find key b in ConfigMap ns\/cm/);
    await assert.rejects(run([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'b' } } }]), /secret "s" not found/);
    assert.deepEqual(await run([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'b', optional: true } } }]), []);
  });

  it('rounds resource values up by the divisor', () => {
    const pod: Pod = { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '250m' } } }] } };
    assert.equal(resourceFieldValue(pod, pod.spec!.containers[0], { resource: 'limits.cpu' }, downward), '1');
    assert.equal(resourceFieldValue(pod, pod.spec!.containers[0], { resource: 'limits.cpu', divisor: '1m' }, downward), '250');
    assert.equal(resourceFieldValue(pod, pod.spec!.containers[0], { resource: 'limits.memory', divisor: '1Gi' }, downward), '8');
  });
});
