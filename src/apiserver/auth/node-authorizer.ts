/**
 * The Node authorizer (upstream plugin/pkg/auth/authorizer/node): a node identity (system:node:<name> in
 * system:nodes) may read the secrets, config maps, persistent volume claims and ServiceAccount tokens that pods
 * bound to it use, its own Lease, and what the system:node rules allow by type; it has no opinion on other users.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import type { Attributes, Authorizer, Decision } from './user.ts';
import { nodeNameOf } from './user.ts';
import { rulesAllow } from './rbac-rules.ts';

/** The pods bound to a node. */
export type PodsOnNode = (node: string) => Iterable<Pod>;

/** The names a pod refers to, by resource. */
export function podReferences(pod: Pod): { secrets: Set<string>; configmaps: Set<string>; persistentvolumeclaims: Set<string>; serviceaccounts: Set<string> } {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const pvcs = new Set<string>();
  const spec = pod.spec;
  for (const s of spec?.imagePullSecrets ?? []) if (s.name) secrets.add(s.name);
  for (const v of spec?.volumes ?? []) {
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    if (v.configMap?.name) configmaps.add(v.configMap.name);
    if (v.persistentVolumeClaim?.claimName) pvcs.add(v.persistentVolumeClaim.claimName);
    for (const src of v.projected?.sources ?? []) {
      if (src.secret?.name) secrets.add(src.secret.name);
      if (src.configMap?.name) configmaps.add(src.configMap.name);
    }
    for (const ref of [v.azureFile?.secretName, v.cephfs?.secretRef?.name, v.cinder?.secretRef?.name, v.flexVolume?.secretRef?.name, v.iscsi?.secretRef?.name, v.rbd?.secretRef?.name, v.scaleIO?.secretRef?.name, v.storageos?.secretRef?.name, v.csi?.nodePublishSecretRef?.name]) {
      if (ref) secrets.add(ref);
    }
  }
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...((spec?.ephemeralContainers ?? []) as NonNullable<Pod['spec']>['containers'])];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
      if (e.valueFrom?.configMapKeyRef?.name) configmaps.add(e.valueFrom.configMapKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.secretRef?.name) secrets.add(f.secretRef.name);
      if (f.configMapRef?.name) configmaps.add(f.configMapRef.name);
    }
  }
  return { secrets, configmaps, persistentvolumeclaims: pvcs, serviceaccounts: new Set([spec?.serviceAccountName || 'default']) };
}

/** The Node authorizer. */
export class NodeAuthorizer implements Authorizer {
  private readonly podsOnNode: PodsOnNode;
  private readonly rules: PolicyRule[];

  constructor(opts: { podsOnNode: PodsOnNode; nodeRules: PolicyRule[] }) {
    this.podsOnNode = opts.podsOnNode;
    this.rules = opts.nodeRules;
  }

  /** Decides for node identities only. */
  authorize(a: Attributes): Decision {
    const node = nodeNameOf(a.user);
    if (node === undefined) return { decision: 'noopinion', reason: '' };
    if (!a.resourceRequest) return rulesAllow(a, this.rules) ? allow() : noOpinion();
    const relationship = `no relationship found between node '${node}' and this object`;
    if (a.apiGroup === '') {
      switch (a.resource) {
        case 'secrets':
        case 'configmaps':
        case 'persistentvolumeclaims': {
          if (a.subresource) return noOpinion();
          if (a.verb !== 'get') return noOpinion(`can only get individual resources of this type`);
          if (!a.name) return noOpinion('No Object name found');
          return this.referenced(node, a.resource, a.namespace, a.name) ? allow() : noOpinion(relationship);
        }
        case 'serviceaccounts':
          if (a.subresource !== 'token') break;
          if (a.verb !== 'create') return noOpinion(`can only create tokens for individual service accounts`);
          return this.referenced(node, 'serviceaccounts', a.namespace, a.name) ? allow() : noOpinion(relationship);
        case 'persistentvolumes':
          return noOpinion(relationship);
        default:
          break;
      }
    }
    if (a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') {
      if (a.namespace !== 'kube-node-lease') return noOpinion(`can only access leases in the kube-node-lease namespace`);
      if (a.verb === 'create' && !a.name) return allow();
      if (a.name !== node) return noOpinion(`can only access node lease with the same name as the requesting node`);
      return rulesAllow(a, this.rules) ? allow() : noOpinion();
    }
    return rulesAllow(a, this.rules) ? allow() : noOpinion();
  }

  private referenced(node: string, resource: 'secrets' | 'configmaps' | 'persistentvolumeclaims' | 'serviceaccounts', namespace: string, name: string): boolean {
    for (const pod of this.podsOnNode(node)) {
      if ((pod.metadata?.namespace ?? '') !== namespace) continue;
      if (podReferences(pod)[resource].has(name)) return true;
    }
    return false;
  }
}

function allow(): Decision {
  return { decision: 'allow', reason: '' };
}

function noOpinion(reason = ''): Decision {
  return { decision: 'noopinion', reason };
}

/** Always allows (authorization mode AlwaysAllow, used for --authorization-mode=AlwaysAllow and benchmarks). */
export const alwaysAllow: Authorizer = { authorize: () => ({ decision: 'allow', reason: '' }) };

/** Allows members of system:masters everything (upstream's privileged-group authorizer, ahead of RBAC). */
export const mastersAuthorizer: Authorizer = {
  authorize: (a) => (a.user.groups.includes('system:masters') ? { decision: 'allow', reason: '' } : { decision: 'noopinion', reason: '' }),
};

/** Chains authorizers: the first allow or deny wins; the reasons of those with no opinion are joined. */
export function unionAuthorizer(list: Authorizer[]): Authorizer {
  return {
    authorize(a) {
      const reasons: string[] = [];
      for (const z of list) {
        const d = z.authorize(a);
        if (d.decision !== 'noopinion') return d;
        if (d.reason) reasons.push(d.reason);
      }
      return { decision: 'noopinion', reason: reasons.join('\n') };
    },
  };
}
