/**
 * Pod admission plugins: ServiceAccount (default account and the projected token volume), DefaultTolerationSeconds,
 * LimitRanger (defaults, minimum and maximum per container) and NodeRestriction (a node changes only itself and its
 * pods). Messages follow upstream's `admission.NewForbidden` wording.
 */
import type { Container, LimitRange, Pod, Toleration, Volume } from 'kubernetes-types/core/v1.js';
import { ApiError, forbidden } from '../errors.ts';
import type { AdmissionPlugin, AdmissionRequest } from './chain.ts';
import { parseQuantity } from '../../api/meta/quantity.ts';
import type { Store } from '../registry/store.ts';
import type { ObjectLookup } from '../auth/service-account-token.ts';
import { nodeNameOf } from '../auth/user.ts';
import { generateName } from '../registry/store.ts';
import { logger } from '../../base/log.ts';

const log = logger('admission');

/** Where the ServiceAccount token volume is mounted. */
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The 403 of admission.NewForbidden: `<resource> "<name>" is forbidden: <message>`. */
export function admissionForbidden(r: Pick<AdmissionRequest, 'def' | 'name' | 'object' | 'oldObject'>, message: string): ApiError {
  const name = r.object?.metadata?.name ?? r.oldObject?.metadata?.name ?? r.name;
  const res = r.def.group ? `${r.def.plural}.${r.def.group}` : r.def.plural;
  return forbidden(`${res} ${JSON.stringify(name)} is forbidden: ${message}`, { name, ...(r.def.group ? { group: r.def.group } : {}), kind: r.def.plural });
}

function isPodCreate(r: AdmissionRequest): boolean {
  return r.def.group === '' && r.def.kind === 'Pod' && r.operation === 'CREATE' && !r.subresource && r.object !== undefined;
}

function isMirrorPod(pod: Pod): boolean {
  return pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
}

function allContainers(pod: Pod): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/** The ServiceAccount plugin (mutating). */
export function serviceAccountPlugin(deps: { lookup: ObjectLookup; storeFor: (g: string, r: string) => Store | undefined; caPem?: string }): AdmissionPlugin {
  const published = new Set<string>();
  const ensureRootCa = async (namespace: string): Promise<void> => {
    // upstream's root-ca-cert-publisher controller; published on first use so every pod's volume resolves.
    if (!deps.caPem || published.has(namespace)) return;
    const cms = deps.storeFor('', 'configmaps');
    if (!cms) return;
    try {
      await cms.create(namespace, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': deps.caPem } });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) {
        log.warn('kube-root-ca.crt not published', { namespace, err: e });
        return;
      }
    }
    published.add(namespace);
  };
  return {
    name: 'ServiceAccount',
    async admit(r) {
      if (!isPodCreate(r)) return;
      const pod = r.object as unknown as Pod;
      if (isMirrorPod(pod)) return;
      const spec = (pod.spec ??= { containers: [] });
      spec.serviceAccountName ||= 'default';
      if (spec.serviceAccount !== undefined && spec.serviceAccount !== spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
      const sa = await deps.lookup('', 'serviceaccounts', r.namespace, spec.serviceAccountName);
      if (!sa) {
        // The default account appears shortly after its namespace (serviceaccount controller); other names must exist.
        if (spec.serviceAccountName !== 'default') {
          throw admissionForbidden(r, `error looking up service account ${r.namespace}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`);
        }
        return;
      }
      const saAuto = (sa as { automountServiceAccountToken?: boolean }).automountServiceAccountToken;
      const auto = spec.automountServiceAccountToken ?? saAuto ?? true;
      if (!auto) return;
      const containers = allContainers(pod);
      if (containers.some((c) => (c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT))) return;
      const existing = new Set((spec.volumes ?? []).map((v) => v.name));
      let name = generateName('kube-api-access-');
      while (existing.has(name)) name = generateName('kube-api-access-');
      const volume: Volume = {
        name,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      };
      spec.volumes = [...(spec.volumes ?? []), volume];
      for (const c of containers) c.volumeMounts = [...(c.volumeMounts ?? []), { name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT }];
      if (!r.dryRun) await ensureRootCa(r.namespace);
    },
  };
}

/** DefaultTolerationSeconds (mutating): not-ready and unreachable NoExecute tolerations of 300 s. */
export function defaultTolerationSecondsPlugin(seconds = 300): AdmissionPlugin {
  return {
    name: 'DefaultTolerationSeconds',
    admit(r) {
      if (!isPodCreate(r)) return;
      const pod = r.object as unknown as Pod;
      const spec = (pod.spec ??= { containers: [] });
      const tolerations: Toleration[] = [...(spec.tolerations ?? [])];
      const has = (key: string) => tolerations.some((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute'));
      for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
        if (!has(key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
      }
      spec.tolerations = tolerations;
    },
  };
}

function qty(v: string | number | undefined): ReturnType<typeof parseQuantity> | undefined {
  if (v === undefined) return undefined;
  try {
    return parseQuantity(String(v));
  } catch {
    return undefined;
  }
}

/** LimitRanger: container defaults (mutating) and per-container minimum, maximum and ratio (validating). */
export function limitRangerPlugin(deps: { storeFor: (g: string, r: string) => Store | undefined }): AdmissionPlugin {
  const rangesIn = (ns: string): LimitRange[] => {
    const s = deps.storeFor('', 'limitranges');
    return s ? s.cache.list(undefined, ns).map((c) => c.obj as unknown as LimitRange) : [];
  };
  return {
    name: 'LimitRanger',
    admit(r) {
      if (!isPodCreate(r)) return;
      const pod = r.object as unknown as Pod;
      for (const lr of rangesIn(r.namespace)) {
        for (const item of lr.spec?.limits ?? []) {
          if (item.type !== 'Container') continue;
          for (const c of allContainers(pod)) {
            const res = (c.resources ??= {});
            for (const [k, v] of Object.entries(item.default ?? {})) {
              res.limits ??= {};
              if (res.limits[k] === undefined) res.limits[k] = v;
            }
            for (const [k, v] of Object.entries(item.defaultRequest ?? {})) {
              res.requests ??= {};
              if (res.requests[k] === undefined) res.requests[k] = v;
            }
          }
        }
      }
    },
    validate(r) {
      if (!isPodCreate(r)) return;
      const pod = r.object as unknown as Pod;
      const errs: string[] = [];
      for (const lr of rangesIn(r.namespace)) {
        for (const item of lr.spec?.limits ?? []) {
          if (item.type !== 'Container') continue;
          for (const c of allContainers(pod)) {
            const req = c.resources?.requests ?? {};
            const lim = c.resources?.limits ?? {};
            for (const [k, v] of Object.entries(item.min ?? {})) {
              const min = qty(v)!;
              const rq = qty(req[k]);
              const lm = qty(lim[k]);
              if (!rq) errs.push(`minimum ${k} usage per Container is ${min.toString()}.  No request is specified`);
              else if (rq.cmp(min) < 0) errs.push(`minimum ${k} usage per Container is ${min.toString()}, but request is ${rq.toString()}`);
              if (lm && lm.cmp(min) < 0) errs.push(`minimum ${k} usage per Container is ${min.toString()}, but limit is ${lm.toString()}`);
            }
            for (const [k, v] of Object.entries(item.max ?? {})) {
              const max = qty(v)!;
              const lm = qty(lim[k]);
              const rq = qty(req[k]);
              if (!lm) errs.push(`maximum ${k} usage per Container is ${max.toString()}.  No limit is specified`);
              else if (lm.cmp(max) > 0) errs.push(`maximum ${k} usage per Container is ${max.toString()}, but limit is ${lm.toString()}`);
              if (rq && rq.cmp(max) > 0) errs.push(`maximum ${k} usage per Container is ${max.toString()}, but request is ${rq.toString()}`);
            }
            for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
              const ratio = qty(v)!;
              const lm = qty(lim[k]);
              const rq = qty(req[k]);
              if (!lm || !rq || rq.isZero()) continue;
              const actual = lm.asApproximateFloat() / rq.asApproximateFloat();
              if (actual > ratio.asApproximateFloat()) errs.push(`${k} max limit to request ratio per Container is ${ratio.toString()}, but provided ratio is ${actual.toFixed(6)}`);
            }
          }
        }
      }
      if (errs.length === 1) throw admissionForbidden(r, errs[0]!);
      if (errs.length > 1) throw admissionForbidden(r, `[${errs.join(', ')}]`);
    },
  };
}

/** NodeRestriction (validating): a node identity may change only its own Node and the pods bound to it. */
export function nodeRestrictionPlugin(): AdmissionPlugin {
  return {
    name: 'NodeRestriction',
    validate(r) {
      const node = nodeNameOf(r.user);
      if (node === undefined || r.user.groups.includes('system:masters')) return;
      if (r.def.group === '' && r.def.kind === 'Pod') {
        const pod = (r.object ?? r.oldObject) as unknown as Pod | undefined;
        const bound = (r.oldObject as unknown as Pod | undefined)?.spec?.nodeName ?? pod?.spec?.nodeName;
        if (r.operation === 'CREATE' && !r.subresource) {
          if (!pod || !isMirrorPod(pod)) throw admissionForbidden(r, `pod does not have "kubernetes.io/config.mirror" annotation, node "${node}" can only create mirror pods`);
          if (pod.spec?.nodeName !== node) throw admissionForbidden(r, `node "${node}" can only create pods with spec.nodeName set to itself`);
          return;
        }
        if (r.operation === 'UPDATE') {
          if (r.subresource !== 'status') throw admissionForbidden(r, `node "${node}" can only update pod status`);
          if (bound !== node) throw admissionForbidden(r, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
          return;
        }
        if (r.operation === 'DELETE' && bound !== node) throw admissionForbidden(r, `node "${node}" can only delete pods with spec.nodeName set to itself`);
        return;
      }
      if (r.def.group === '' && r.def.kind === 'Node') {
        const name = r.object?.metadata?.name ?? r.oldObject?.metadata?.name ?? r.name;
        if (name !== node) throw admissionForbidden(r, `node "${node}" is not allowed to modify node "${name}"`);
      }
    },
  };
}
