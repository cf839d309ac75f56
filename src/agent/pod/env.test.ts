import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { ContainerConfigError, expand, makeEnvironment, resourceFieldValue, serviceEnvironment } from './env.ts';
import type { ConfigSource } from './env.ts';

const source = (cms: Record<string, Record<string, string>>, secrets: Record<string, Record<string, string>> = {}): ConfigSource => ({
  getConfigMap: async (_ns, name) => (cms[name] ? { data: cms[name] } : undefined),
  getSecret: async (_ns, name) => (secrets[name] ? { data: Object.fromEntries(Object.entries(secrets[name]).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } : undefined),
});
const downward = { hostIP: '10.0.0.1', podIP: '10.1.0.2', nodeAllocatable: { cpu: '4', memory: '8Gi' } };

const svc = (namespace: string, name: string, clusterIP: string, ports: { name?: string; port: number; protocol?: string }[]): Service => ({
  metadata: { namespace, name }, spec: { clusterIP, ports: ports.map((p) => ({ ...p })) },
});
const cluster: Service[] = [
  svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
  svc('default', 'other', '10.43.0.9', [{ port: 80 }]),
  svc('shop', 'web-front', '10.43.0.20', [{ name: 'http', port: 80 }, { name: 'dns-udp', port: 53, protocol: 'UDP' }]),
  svc('shop', 'headless', 'None', [{ port: 80 }]),
];

describe('service environment variables', () => {
  it('are upstream FromServices: host, ports, named ports and Docker link variables', () => {
    const env = serviceEnvironment('shop', true, cluster);
    assert.deepEqual(Object.fromEntries(env), {
      KUBERNETES_SERVICE_HOST: '10.43.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://10.43.0.1:443',
      KUBERNETES_PORT_443_TCP: 'tcp://10.43.0.1:443',
      KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_443_TCP_PORT: '443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.43.0.1',
      WEB_FRONT_SERVICE_HOST: '10.43.0.20',
      WEB_FRONT_SERVICE_PORT: '80',
      WEB_FRONT_SERVICE_PORT_HTTP: '80',
      WEB_FRONT_SERVICE_PORT_DNS_UDP: '53',
      WEB_FRONT_PORT: 'tcp://10.43.0.20:80',
      WEB_FRONT_PORT_80_TCP: 'tcp://10.43.0.20:80',
      WEB_FRONT_PORT_80_TCP_PROTO: 'tcp',
      WEB_FRONT_PORT_80_TCP_PORT: '80',
      WEB_FRONT_PORT_80_TCP_ADDR: '10.43.0.20',
      WEB_FRONT_PORT_53_UDP: 'udp://10.43.0.20:53',
      WEB_FRONT_PORT_53_UDP_PROTO: 'udp',
      WEB_FRONT_PORT_53_UDP_PORT: '53',
      WEB_FRONT_PORT_53_UDP_ADDR: '10.43.0.20',
    });
  });

  it('keep the kubernetes Service without enableServiceLinks, and only the own namespace with it', () => {
    assert.deepEqual([...serviceEnvironment('shop', false, cluster).keys()].filter((k) => k.endsWith('_SERVICE_HOST')), ['KUBERNETES_SERVICE_HOST']);
    assert.deepEqual([...serviceEnvironment('default', true, cluster).keys()].filter((k) => k.endsWith('_SERVICE_HOST')), ['KUBERNETES_SERVICE_HOST', 'OTHER_SERVICE_HOST']);
  });

  it('come after the container env, which wins on a clash and can refer to them', async () => {
    const pod: Pod = {
      metadata: { name: 'p', namespace: 'shop', uid: 'u' },
      spec: { containers: [{ name: 'c', env: [{ name: 'URL', value: 'http://$(WEB_FRONT_SERVICE_HOST):$(WEB_FRONT_SERVICE_PORT)' }, { name: 'WEB_FRONT_SERVICE_PORT', value: '8080' }] }] },
    };
    const env = await makeEnvironment(pod, pod.spec!.containers[0]!, { source: { ...source({}), listServices: async () => cluster }, downward });
    const m = new Map(env.map((e) => [e.key, e.value]));
    assert.equal(m.get('URL'), 'http://10.43.0.20:80');
    assert.equal(m.get('WEB_FRONT_SERVICE_PORT'), '8080');
    assert.equal(m.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
    assert.deepEqual(env.slice(0, 2).map((e) => e.key), ['URL', 'WEB_FRONT_SERVICE_PORT']);
    assert.equal(env.filter((e) => e.key === 'WEB_FRONT_SERVICE_PORT').length, 1);
  });
});

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
