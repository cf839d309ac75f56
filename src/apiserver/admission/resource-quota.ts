/**
 * ResourceQuota admission (validating): an object counted by a namespace's quotas is refused when it would take
 * usage past `spec.hard`, with upstream's `exceeded quota` message; admitted objects are charged to
 * `status.used` (recomputed from the caches each time, so deletions are reflected on the next admission).
 */
import type { Container, Pod, ResourceQuota } from 'kubernetes-types/core/v1.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.ts';
import type { Store } from '../registry/store.ts';
import { parseQuantity, type Quantity } from '../../api/meta/quantity.ts';
import { admissionForbidden } from './pod-plugins.ts';
import { logger } from '../../base/log.ts';

const log = logger('admission');

/** Object-count quota names of the core kinds (upstream's legacy names). */
const LEGACY_COUNTS: Record<string, string> = {
  pods: 'pods', services: 'services', configmaps: 'configmaps', secrets: 'secrets', persistentvolumeclaims: 'persistentvolumeclaims',
  replicationcontrollers: 'replicationcontrollers', resourcequotas: 'resourcequotas',
};

const COMPUTE = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'cpu', 'memory', 'requests.ephemeral-storage', 'limits.ephemeral-storage', 'ephemeral-storage'];

function q(v: string | number | undefined): Quantity | undefined {
  if (v === undefined) return undefined;
  try {
    return parseQuantity(String(v));
  } catch {
    return undefined;
  }
}

function zero(): Quantity {
  return parseQuantity('0');
}

function podTerminal(p: Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

/** The compute usage of one pod: init containers count by their maximum, as upstream's pod evaluator does. */
export function podUsage(pod: Pod): Map<string, Quantity> {
  const sum = (cs: Container[] | undefined, kind: 'requests' | 'limits', res: string): Quantity => {
    let total = zero();
    for (const c of cs ?? []) {
      const v = q(c.resources?.[kind]?.[res]);
      if (v) total = total.add(v);
    }
    return total;
  };
  const maxInit = (kind: 'requests' | 'limits', res: string): Quantity => {
    let m = zero();
    for (const c of pod.spec?.initContainers ?? []) {
      const v = q(c.resources?.[kind]?.[res]);
      if (v && v.cmp(m) > 0) m = v;
    }
    return m;
  };
  const out = new Map<string, Quantity>();
  for (const kind of ['requests', 'limits'] as const) {
    for (const res of ['cpu', 'memory', 'ephemeral-storage']) {
      const main = sum(pod.spec?.containers, kind, res);
      const init = maxInit(kind, res);
      out.set(`${kind}.${res}`, main.cmp(init) >= 0 ? main : init);
    }
  }
  out.set('cpu', out.get('requests.cpu')!);
  out.set('memory', out.get('requests.memory')!);
  out.set('ephemeral-storage', out.get('requests.ephemeral-storage')!);
  return out;
}

function countName(r: Pick<AdmissionRequest, 'def'>): string[] {
  const names = [`count/${r.def.plural}${r.def.group ? `.${r.def.group}` : ''}`];
  if (r.def.group === '' && LEGACY_COUNTS[r.def.plural]) names.push(LEGACY_COUNTS[r.def.plural]!);
  return names;
}

/** The ResourceQuota plugin. */
export function resourceQuotaPlugin(deps: { storeFor: (g: string, r: string) => Store | undefined }): AdmissionPlugin {
  return {
    name: 'ResourceQuota',
    async validate(r) {
      if (r.operation !== 'CREATE' || r.subresource || !r.object || !r.def.namespaced) return;
      const quotas = deps.storeFor('', 'resourcequotas');
      if (!quotas) return;
      const list = quotas.cache.list(undefined, r.namespace).map((c) => c.obj as unknown as ResourceQuota);
      if (list.length === 0) return;
      const counts = countName(r);
      const isPod = r.def.group === '' && r.def.kind === 'Pod';
      const requested = new Map<string, Quantity>();
      for (const n of counts) requested.set(n, parseQuantity('1'));
      if (isPod) for (const [k, v] of podUsage(r.object as unknown as Pod)) requested.set(k, v);
      const store = deps.storeFor(r.def.group, r.def.plural);
      const existing = store ? store.cache.list(undefined, r.namespace).map((c) => c.obj) : [];
      const live = isPod ? existing.filter((o) => !podTerminal(o as unknown as Pod)) : existing;
      const charges: { quota: ResourceQuota; used: Record<string, string> }[] = [];
      for (const quota of list) {
        const hard = quota.spec?.hard ?? {};
        const tracked = Object.keys(hard).filter((k) => requested.has(k));
        if (tracked.length === 0) continue;
        if (isPod) {
          // A pod without requests or limits for a tracked compute resource cannot be charged.
          const pod = r.object as unknown as Pod;
          const missing: string[] = [];
          for (const k of tracked.filter((t) => COMPUTE.includes(t)).sort()) {
            const [kind, res] = k.includes('.') ? (k.split('.') as ['requests' | 'limits', string]) : (['requests', k] as const);
            const without = (pod.spec?.containers ?? []).filter((c) => c.resources?.[kind]?.[res] === undefined).map((c) => c.name);
            if (without.length > 0) missing.push(`${k} for: ${without.join(',')}`);
          }
          if (missing.length > 0) throw admissionForbidden(r, `failed quota: ${quota.metadata?.name ?? ''}: must specify ${missing.join('; ')}`);
        }
        const used = new Map<string, Quantity>();
        for (const k of tracked) {
          if (!COMPUTE.includes(k)) used.set(k, parseQuantity(String(live.length)));
          else {
            let total = zero();
            for (const o of live) total = total.add(podUsage(o as unknown as Pod).get(k) ?? zero());
            used.set(k, total);
          }
        }
        const exceeded = tracked.filter((k) => used.get(k)!.add(requested.get(k)!).cmp(q(hard[k]) ?? zero()) > 0).sort();
        if (exceeded.length > 0) {
          const fmt = (m: (k: string) => string) => exceeded.map((k) => `${k}=${m(k)}`).join(',');
          throw admissionForbidden(r, `exceeded quota: ${quota.metadata?.name ?? ''}, requested: ${fmt((k) => requested.get(k)!.toString())}, used: ${fmt((k) => used.get(k)!.toString())}, limited: ${fmt((k) => q(hard[k])!.toString())}`);
        }
        const after: Record<string, string> = {};
        for (const k of Object.keys(hard)) {
          const u = used.get(k);
          after[k] = u ? u.add(requested.get(k)!).toString() : (quota.status?.used?.[k] ?? '0');
        }
        charges.push({ quota, used: after });
      }
      if (r.dryRun) return;
      for (const c of charges) {
        const name = c.quota.metadata?.name ?? '';
        await quotas.guaranteedUpdate(r.namespace, name, (cur) => {
          const s = (cur.status ?? {}) as { hard?: Record<string, string>; used?: Record<string, string> };
          cur.status = { ...s, hard: { ...((cur.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {}) }, used: c.used };
          return cur;
        }, { subresource: 'status' }).catch((e: unknown) => log.warn('quota usage not recorded', { quota: name, err: e }));
      }
    },
  };
}
