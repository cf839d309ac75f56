import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { checkPod, violationText } from './pod-security.ts';

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
