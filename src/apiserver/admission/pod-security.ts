/**
 * PodSecurity admission (k8s.io/pod-security-admission): the Pod Security Standards levels privileged, baseline
 * and restricted, chosen per namespace by the pod-security.kubernetes.io/{enforce,warn,audit} labels. `enforce`
 * refuses a violating pod (403), `warn` answers with a Warning header, `audit` annotates the request's audit event
 * (pod-security.kubernetes.io/audit-violations); the messages follow upstream's checks.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { AdmissionPlugin } from './chain.ts';
import type { ObjectLookup } from '../auth/service-account-token.ts';
import { admissionForbidden } from './pod-plugins.ts';
import { addAuditAnnotation } from '../auth/audit.ts';

/** A Pod Security Standards level. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** One failed check: its short reason and the detail. */
export interface CheckResult {
  reason: string;
  detail: string;
}

const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

function containersOf(pod: Pod): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...((pod.spec?.ephemeralContainers ?? []) as Container[])];
}

function names(kind: string, list: string[]): string {
  return `${kind}${list.length > 1 ? 's' : ''} ${list.map((n) => JSON.stringify(n)).join(', ')}`;
}

/** The checks a pod fails at `level` (empty when it complies). */
export function checkPod(pod: Pod, level: PodSecurityLevel): CheckResult[] {
  if (level === 'privileged') return [];
  const out: CheckResult[] = [];
  const spec = pod.spec;
  const cs = containersOf(pod);
  const psc = spec?.securityContext;
  // baseline
  const hostNs = [spec?.hostNetwork ? 'hostNetwork=true' : '', spec?.hostPID ? 'hostPID=true' : '', spec?.hostIPC ? 'hostIPC=true' : ''].filter((x) => x !== '');
  if (hostNs.length > 0) out.push({ reason: 'host namespaces', detail: hostNs.join(', ') });
  const privileged = cs.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  if (privileged.length > 0) out.push({ reason: 'privileged', detail: `${names('container', privileged)} must not set securityContext.privileged=true` });
  const badCaps = new Map<string, string[]>();
  for (const c of cs) for (const cap of c.securityContext?.capabilities?.add ?? []) if (!BASELINE_CAPS.has(cap)) badCaps.set(c.name, [...(badCaps.get(c.name) ?? []), cap]);
  if (badCaps.size > 0) out.push({ reason: 'non-default capabilities', detail: `${names('container', [...badCaps.keys()])} must not include ${[...new Set([...badCaps.values()].flat())].map((x) => JSON.stringify(x)).join(', ')} in securityContext.capabilities.add` });
  const hostPath = (spec?.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name);
  if (hostPath.length > 0) out.push({ reason: 'hostPath volumes', detail: names('volume', hostPath) });
  const ports: string[] = [];
  const portCs: string[] = [];
  for (const c of cs) for (const p of c.ports ?? []) if (p.hostPort) {
    ports.push(String(p.hostPort));
    if (!portCs.includes(c.name)) portCs.push(c.name);
  }
  if (ports.length > 0) out.push({ reason: 'hostPort', detail: `${names('container', portCs)} ${portCs.length > 1 ? 'use' : 'uses'} ${ports.length > 1 ? 'hostPorts' : 'hostPort'} ${ports.join(', ')}` });
  const unconfined: string[] = [];
  if (psc?.seccompProfile?.type === 'Unconfined') unconfined.push('pod');
  const unconfinedCs = cs.filter((c) => c.securityContext?.seccompProfile?.type === 'Unconfined').map((c) => c.name);
  if (unconfined.length > 0 || unconfinedCs.length > 0) {
    const who = [unconfined.length > 0 ? 'pod' : '', unconfinedCs.length > 0 ? names('container', unconfinedCs) : ''].filter((x) => x).join(' and ');
    out.push({ reason: 'seccompProfile', detail: `${who} must not set securityContext.seccompProfile.type to "Unconfined"` });
  }
  const procMount = cs.filter((c) => c.securityContext?.procMount !== undefined && c.securityContext.procMount !== 'Default').map((c) => c.name);
  if (procMount.length > 0) out.push({ reason: 'procMount', detail: `${names('container', procMount)} must not set securityContext.procMount to "Unmasked"` });
  if (level === 'baseline') return out;
  // restricted
  const restrictedVols = (spec?.volumes ?? []).filter((v) => !Object.keys(v).some((k) => RESTRICTED_VOLUMES.has(k)));
  if (restrictedVols.length > 0) {
    const types = [...new Set(restrictedVols.map((v) => Object.keys(v).find((k) => k !== 'name') ?? 'unknown'))];
    out.push({ reason: 'restricted volume types', detail: `${names('volume', restrictedVols.map((v) => v.name))} ${restrictedVols.length > 1 ? 'use' : 'uses'} restricted volume type${types.length > 1 ? 's' : ''} ${types.map((t) => JSON.stringify(t)).join(', ')}` });
  }
  const ape = cs.filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
  if (ape.length > 0) out.push({ reason: 'allowPrivilegeEscalation != false', detail: `${names('container', ape)} must set securityContext.allowPrivilegeEscalation=false` });
  const noDrop = cs.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
  const addCaps = cs.filter((c) => (c.securityContext?.capabilities?.add ?? []).some((x) => x !== 'NET_BIND_SERVICE')).map((c) => c.name);
  if (noDrop.length > 0 || addCaps.length > 0) {
    const parts: string[] = [];
    if (noDrop.length > 0) parts.push(`${names('container', noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    if (addCaps.length > 0) parts.push(`${names('container', addCaps)} must not include ${[...new Set(cs.flatMap((c) => (c.securityContext?.capabilities?.add ?? []).filter((x) => x !== 'NET_BIND_SERVICE')))].map((x) => JSON.stringify(x)).join(', ')} in securityContext.capabilities.add`);
    out.push({ reason: 'unrestricted capabilities', detail: parts.join('; ') });
  }
  const podNonRoot = psc?.runAsNonRoot === true;
  const rootCs = cs.filter((c) => c.securityContext?.runAsNonRoot === false || (!podNonRoot && c.securityContext?.runAsNonRoot !== true)).map((c) => c.name);
  if (rootCs.length > 0 || psc?.runAsNonRoot === false) {
    out.push({ reason: 'runAsNonRoot != true', detail: podNonRoot || rootCs.length < cs.length ? `${names('container', rootCs)} must not set securityContext.runAsNonRoot=false` : `pod or ${names('container', rootCs)} must set securityContext.runAsNonRoot=true` });
  }
  const root = [psc?.runAsUser === 0 ? 'pod' : '', ...cs.filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name)].filter((x) => x);
  if (root.length > 0) out.push({ reason: 'runAsUser=0', detail: `${root.join(', ')} must not set runAsUser=0` });
  const podSeccomp = psc?.seccompProfile?.type;
  const podOk = podSeccomp === 'RuntimeDefault' || podSeccomp === 'Localhost';
  const badSeccomp = cs.filter((c) => {
    const t = c.securityContext?.seccompProfile?.type;
    if (t === undefined) return !podOk;
    return t !== 'RuntimeDefault' && t !== 'Localhost';
  }).map((c) => c.name);
  if (badSeccomp.length > 0 && !out.some((o) => o.reason === 'seccompProfile')) {
    out.push({ reason: 'seccompProfile', detail: podOk ? `${names('container', badSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"` : `pod or ${names('container', badSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"` });
  }
  return out;
}

/** The summary upstream prints: `violates PodSecurity "restricted:latest": a (x), b (y)`. */
export function violationText(level: PodSecurityLevel, version: string, results: CheckResult[]): string {
  return `PodSecurity "${level}:${version}": ${results.map((r) => `${r.reason} (${r.detail})`).join(', ')}`;
}

function levelOf(v: string | undefined): PodSecurityLevel | undefined {
  return v === 'privileged' || v === 'baseline' || v === 'restricted' ? v : undefined;
}

/** The PodSecurity plugin (validating). */
export function podSecurityPlugin(deps: { lookup: ObjectLookup }): AdmissionPlugin {
  return {
    name: 'PodSecurity',
    async validate(r) {
      if (r.def.group !== '' || r.def.kind !== 'Pod' || r.operation !== 'CREATE' || r.subresource || !r.object) return;
      const ns = await deps.lookup('', 'namespaces', '', r.namespace);
      const labels = (ns?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
      const pod = r.object as unknown as Pod;
      const enforce = levelOf(labels['pod-security.kubernetes.io/enforce']);
      const enforceVersion = labels['pod-security.kubernetes.io/enforce-version'] ?? 'latest';
      addAuditAnnotation(r.user, 'pod-security.kubernetes.io/enforce-policy', `${enforce ?? 'privileged'}:${enforceVersion}`);
      // audit is evaluated whatever enforce decides, as upstream: a refused request is audited too.
      const audit = levelOf(labels['pod-security.kubernetes.io/audit']);
      if (audit) {
        const results = checkPod(pod, audit);
        if (results.length > 0) {
          addAuditAnnotation(r.user, 'pod-security.kubernetes.io/audit-violations', `would violate ${violationText(audit, labels['pod-security.kubernetes.io/audit-version'] ?? 'latest', results)}`);
        }
      }
      if (enforce) {
        const results = checkPod(pod, enforce);
        if (results.length > 0) throw admissionForbidden(r, `violates ${violationText(enforce, enforceVersion, results)}`);
      }
      const warn = levelOf(labels['pod-security.kubernetes.io/warn']);
      if (warn) {
        const results = checkPod(pod, warn);
        if (results.length > 0) r.warnings.push(`would violate ${violationText(warn, labels['pod-security.kubernetes.io/warn-version'] ?? 'latest', results)}`);
      }
    },
  };
}
