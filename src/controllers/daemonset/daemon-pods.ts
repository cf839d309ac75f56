/**
 * Which nodes a DaemonSet runs on, as pure functions (pkg/controller/daemon/util and NodeShouldRunDaemonPod): the
 * tolerations every daemon pod gets, node selector / required node affinity / taint checks, the node affinity that
 * pins a pod to its node (matchFields metadata.name), and the pod template a revision hash labels.
 */
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Affinity, Node, NodeSelector, NodeSelectorRequirement, Pod, PodSpec, PodTemplateSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { controllerRevisionHashLabel } from '../history/controller-history.ts';
import { timeMs } from '../common/pods.ts';

/** extensions.DaemonSetTemplateGenerationKey. */
export const templateGenerationLabel = 'pod-template-generation';
/** The DaemonSet annotation the generation label is copied from (deprecated.daemonset.template.generation). */
export const templateGenerationAnnotation = 'deprecated.daemonset.template.generation';

/** Node taint keys (v1.TaintNode*). */
export const taintKeys = {
  notReady: 'node.kubernetes.io/not-ready',
  unreachable: 'node.kubernetes.io/unreachable',
  diskPressure: 'node.kubernetes.io/disk-pressure',
  memoryPressure: 'node.kubernetes.io/memory-pressure',
  pidPressure: 'node.kubernetes.io/pid-pressure',
  unschedulable: 'node.kubernetes.io/unschedulable',
  networkUnavailable: 'node.kubernetes.io/network-unavailable',
} as const;

/** AddOrUpdateTolerationInPodSpec: adds `t`, replacing a toleration with the same key, operator, value and effect. */
export function addOrUpdateToleration(spec: PodSpec, t: Toleration): void {
  const list = spec.tolerations ?? [];
  const i = list.findIndex((x) => (x.key ?? '') === (t.key ?? '') && (x.effect ?? '') === (t.effect ?? '') && (x.operator ?? 'Equal') === (t.operator ?? 'Equal') && (x.value ?? '') === (t.value ?? ''));
  if (i >= 0) list[i] = t;
  else list.push(t);
  spec.tolerations = list;
}

/** AddOrUpdateDaemonPodTolerations: not-ready/unreachable NoExecute forever; pressure, unschedulable (and, with host network, network-unavailable) NoSchedule. */
export function addDaemonTolerations(spec: PodSpec): void {
  addOrUpdateToleration(spec, { key: taintKeys.notReady, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: taintKeys.unreachable, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: taintKeys.diskPressure, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: taintKeys.memoryPressure, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: taintKeys.pidPressure, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: taintKeys.unschedulable, operator: 'Exists', effect: 'NoSchedule' });
  if (spec.hostNetwork) addOrUpdateToleration(spec, { key: taintKeys.networkUnavailable, operator: 'Exists', effect: 'NoSchedule' });
}

/** Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** FindMatchingUntoleratedTaint: the first taint passing `filter` that no toleration tolerates. */
export function untoleratedTaint(taints: Taint[], tolerations: Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  return taints.filter(filter).find((taint) => !tolerations.some((t) => toleratesTaint(t, taint)));
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In': return value !== undefined && vals.includes(value);
    case 'NotIn': return value === undefined || !vals.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value) || vals.length !== 1 || !/^-?\d+$/.test(vals[0]!)) return false;
      return r.operator === 'Gt' ? Number(value) > Number(vals[0]) : Number(value) < Number(vals[0]);
    }
    default: return false;
  }
}

/** NodeSelector.Match: some term whose label expressions and metadata.name field expressions all match. */
export function nodeSelectorMatches(sel: NodeSelector, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return sel.nodeSelectorTerms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    // An empty term matches nothing.
    if (exprs.length === 0 && fields.length === 0) return false;
    return exprs.every((r) => requirementMatches(r, labels[r.key])) && fields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata?.name));
  });
}

/** GetRequiredNodeAffinity(pod).Match(node): spec.nodeSelector and the required node affinity. */
export function fitsNodeAffinity(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const req = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return !req || nodeSelectorMatches(req, node);
}

/**
 * NodeShouldRunDaemonPod: whether a daemon pod should be placed on `node` (shouldRun) and whether an existing one
 * may stay (shouldContinueRunning: it tolerates every NoExecute taint).
 */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const spec: PodSpec = structuredClone(ds.spec?.template?.spec ?? { containers: [] });
  addDaemonTolerations(spec);
  const nodeName = node.metadata?.name ?? '';
  if (spec.nodeName && spec.nodeName !== nodeName) return { shouldRun: false, shouldContinueRunning: false };
  if (!fitsNodeAffinity(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = spec.tolerations ?? [];
  const fitsTaints = untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute') === undefined;
  if (!fitsTaints) {
    return { shouldRun: false, shouldContinueRunning: untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute') === undefined };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/** ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes "metadata.name In [node]". */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const selector: NodeSelector = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] };
  const a: Affinity = affinity ? structuredClone(affinity) : {};
  a.nodeAffinity = { ...(a.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: selector };
  return a;
}

/** GetTargetNodeName: spec.nodeName, else the node a daemon pod's affinity pins it to. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** The DaemonSet's template generation (from its deprecated annotation), if any. */
export function templateGeneration(ds: DaemonSet): string | undefined {
  const v = ds.metadata?.annotations?.[templateGenerationAnnotation];
  return v !== undefined && /^\d+$/.test(v) ? v : undefined;
}

/** CreatePodTemplate: the template with the daemon tolerations, the generation label and the revision hash label. */
export function daemonPodTemplate(ds: DaemonSet, hash: string): PodTemplateSpec {
  const t: PodTemplateSpec = structuredClone(ds.spec?.template ?? {});
  t.spec ??= { containers: [] };
  addDaemonTolerations(t.spec);
  const labels = ((t.metadata ??= {}).labels ??= {});
  const gen = templateGeneration(ds);
  if (gen !== undefined) labels[templateGenerationLabel] = gen;
  if (hash) labels[controllerRevisionHashLabel] = hash;
  return t;
}

/** IsPodUpdated: the pod carries the current hash (or template generation). */
export function isPodUpdated(pod: Pod, hash: string, generation: string | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  return (hash !== '' && labels[controllerRevisionHashLabel] === hash) || (generation !== undefined && labels[templateGenerationLabel] === generation);
}

/** podByCreationTimestampAndPhase: scheduled pods first, then oldest, then by name. */
export function byCreationAndPhase(a: Pod, b: Pod): number {
  const sa = !!a.spec?.nodeName;
  const sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? -1 : 1;
  const d = timeMs(a.metadata?.creationTimestamp) - timeMs(b.metadata?.creationTimestamp);
  if (d !== 0) return d;
  return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0;
}
