import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { checkPod, podSecurityPlugin, violationText } from './pod-security.ts';
import { auditAnnotationsOf } from '../auth/audit.ts';
import { pods } from '../../api/core/v1/index.ts';

const pod = (extra: Partial<NonNullable<Pod['spec']>> = {}, sc: NonNullable<Pod['spec']>['containers'][0]['securityContext'] = {}): Pod => ({
  metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox', securityContext: sc }], ...extra },
});

test('privileged allows everything; baseline refuses host namespaces, privileged and hostPath', () => {
  const p = pod({ hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/' } }] }, { privileged: true });
  assert.deepEqual(checkPod(p, 'privileged'), []);
  assert.deepEqual(checkPod(p, 'baseline').map((r) => r.reason), ['host namespaces', 'privileged', 'hostPath volumes']);
  assert.deepEqual(checkPod(pod(), 'baseline'), []);
});

test('restricted wants no escalation, dropped capabilities, non-root and a seccomp profile; message as upstream', () => {
  const r = checkPod(pod(), 'restricted');
  assert.equal(violationText('restricted', 'latest', r), 'PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")');
  const ok = pod({ securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } }, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  assert.deepEqual(checkPod(ok, 'restricted'), []);
});

test('audit mode annotates the request with the violations at the namespace\'s audit level, whatever enforce decides', async () => {
  const nsLabels: Record<string, Record<string, string>> = {
    audited: { 'pod-security.kubernetes.io/audit': 'baseline' },
    both: { 'pod-security.kubernetes.io/audit': 'restricted', 'pod-security.kubernetes.io/audit-version': 'v1.30', 'pod-security.kubernetes.io/enforce': 'baseline' },
    none: {},
  };
  const plugin = podSecurityPlugin({ lookup: async (_g, _r, _ns, name) => ({ metadata: { name, labels: nsLabels[name] } }) as never });
  const run = async (namespace: string, p: Pod) => {
    const user = { name: 'alice', groups: ['system:authenticated'] };
    let refused = '';
    try {
      await plugin.validate!({ operation: 'CREATE', def: pods, namespace, name: 'p', subresource: '', object: p as never, user, dryRun: false, warnings: [] });
    } catch (e) {
      refused = (e as Error).message;
    }
    return { notes: auditAnnotationsOf(user) ?? {}, refused };
  };
  const privileged = pod({}, { privileged: true });
  const a = await run('audited', privileged);
  assert.equal(a.refused, '');
  assert.equal(a.notes['pod-security.kubernetes.io/audit-violations'], 'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)');
  assert.equal(a.notes['pod-security.kubernetes.io/enforce-policy'], 'privileged:latest');
  const b = await run('both', privileged);
  assert.match(b.refused, /violates PodSecurity "baseline:latest"/);
  assert.match(b.notes['pod-security.kubernetes.io/audit-violations'] ?? '', /^would violate PodSecurity "restricted:v1.30": privileged \(/);
  assert.equal((await run('none', privileged)).notes['pod-security.kubernetes.io/audit-violations'], undefined);
  assert.equal((await run('audited', pod())).notes['pod-security.kubernetes.io/audit-violations'], undefined);
});
