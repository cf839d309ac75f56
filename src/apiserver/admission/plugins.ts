/** The default admission plugins, in upstream's order. */
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { AdmissionPlugin } from './chain.ts';
import type { Store } from '../registry/store.ts';
import type { RequestGate } from '../auth/security.ts';
import type { ObjectLookup } from '../auth/service-account-token.ts';
import { admitPodPriority } from './priority.ts';
import { rbacEscalationPlugin } from './rbac-escalation.ts';
import { defaultTolerationSecondsPlugin, limitRangerPlugin, nodeRestrictionPlugin, serviceAccountPlugin } from './pod-plugins.ts';
import { resourceQuotaPlugin } from './resource-quota.ts';
import { podSecurityPlugin } from './pod-security.ts';

/** What the plugins read. */
export interface PluginDeps {
  gate: RequestGate;
  storeFor: (group: string, resource: string) => Store | undefined;
  lookup: ObjectLookup;
  /** The cluster CA, published as kube-root-ca.crt for ServiceAccount token volumes. */
  caPem?: string;
}

function isPod(r: { def: { group: string; kind: string } }): boolean {
  return r.def.group === '' && r.def.kind === 'Pod';
}

/** The Priority plugin around admitPodPriority (pod creates only). */
export function priorityPlugin(deps: PluginDeps): AdmissionPlugin {
  return {
    name: 'Priority',
    async admit(r) {
      if (!isPod(r) || r.operation !== 'CREATE' || r.subresource || !r.object) return;
      const pcs = deps.storeFor('scheduling.k8s.io', 'priorityclasses');
      await admitPodPriority(r.object as unknown as Pod, async (name) => (await deps.lookup('scheduling.k8s.io', 'priorityclasses', '', name)) as unknown as PriorityClass | undefined ?? undefined, {
        listPriorityClasses: () => (pcs ? pcs.cache.list().map((c) => c.obj as unknown as PriorityClass) : []),
      });
    },
  };
}

/**
 * Every default plugin in upstream's order (NamespaceLifecycle runs in the registry Store): the chain runs their
 * mutating phases first, then their validating phases.
 */
export function defaultAdmissionPlugins(deps: PluginDeps): AdmissionPlugin[] {
  return [
    limitRangerPlugin(deps),
    serviceAccountPlugin(deps),
    nodeRestrictionPlugin(),
    podSecurityPlugin(deps),
    priorityPlugin(deps),
    defaultTolerationSecondsPlugin(),
    rbacEscalationPlugin(deps.gate),
    resourceQuotaPlugin(deps),
  ];
}
