/**
 * PodInfo and NodeInfo (framework.PodInfo / framework.NodeInfo): a pod with its parsed affinity terms and
 * requests computed once, and a node with the pods on it, their summed requests and used host ports.
 */
import type { Node, Pod, PodAffinityTerm, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from '../../api/meta/labels.ts';
import { labelSelectorFromMeta, matchesLabels } from '../../api/meta/labels.ts';
import type { Resource } from './resources.ts';
import { accumulate, cloneResource, emptyResource, podRequests, resourceFromList } from './resources.ts';

/** A parsed pod affinity term (framework.AffinityTerm); a null selector selects nothing. */
export interface AffinityTerm {
  namespaces: Set<string>;
  selector: LabelSelector | null;
  topologyKey: string;
  /** null selects no namespace; [] selects every namespace. */
  namespaceSelector: LabelSelector | null;
}

/** An affinity term with its weight (framework.WeightedAffinityTerm). */
export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** A host port as the scheduler tracks it. */
export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** A pod plus what the plugins need from it, computed once. */
export interface PodInfo {
  pod: Pod;
  /** The uid, or namespace/name when the pod has none (test fixtures). */
  key: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  priority: number;
  requiredAffinityTerms: AffinityTerm[];
  requiredAntiAffinityTerms: AffinityTerm[];
  preferredAffinityTerms: WeightedAffinityTerm[];
  preferredAntiAffinityTerms: WeightedAffinityTerm[];
  /** Requests as the Fit filter counts them. */
  requests: Resource;
  /** Requests with the scoring defaults for unset CPU/memory. */
  nonZeroRequests: Resource;
  hostPorts: HostPort[];
  /** Set when a part of the spec could not be parsed (e.g. an invalid label selector); the pod fails scheduling with it. */
  parseError: string | undefined;
}

/** The identity of a pod in the cache and queue. */
export function podKey(pod: Pod): string {
  const uid = pod.metadata?.uid;
  return uid ? uid : `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** The pod's priority (corev1helpers.PodPriority): spec.priority, else 0. */
export function podPriority(pod: Pod): number {
  return pod.spec?.priority ?? 0;
}

function parseTerm(t: PodAffinityTerm, podNamespace: string): AffinityTerm {
  const namespaces = new Set(t.namespaces ?? []);
  const namespaceSelector = t.namespaceSelector ? labelSelectorFromMeta(t.namespaceSelector) : null;
  // An empty namespaces list with no namespaceSelector means "the pod's own namespace".
  if (namespaces.size === 0 && !t.namespaceSelector) namespaces.add(podNamespace);
  return { namespaces, selector: t.labelSelector ? labelSelectorFromMeta(t.labelSelector) : null, topologyKey: t.topologyKey, namespaceSelector };
}

function parseWeighted(ts: WeightedPodAffinityTerm[] | undefined, ns: string): WeightedAffinityTerm[] {
  return (ts ?? []).map((w) => ({ ...parseTerm(w.podAffinityTerm, ns), weight: w.weight }));
}

/** Builds the PodInfo of a pod; a spec the scheduler cannot parse sets `parseError` instead of throwing. */
export function newPodInfo(pod: Pod): PodInfo {
  const namespace = pod.metadata?.namespace ?? '';
  const spec = pod.spec;
  const info: PodInfo = {
    pod, key: podKey(pod), namespace, name: pod.metadata?.name ?? '', labels: pod.metadata?.labels ?? {},
    priority: podPriority(pod),
    requiredAffinityTerms: [], requiredAntiAffinityTerms: [], preferredAffinityTerms: [], preferredAntiAffinityTerms: [],
    requests: emptyResource(), nonZeroRequests: emptyResource(), hostPorts: [], parseError: undefined,
  };
  try {
    const aff = spec?.affinity;
    info.requiredAffinityTerms = (aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, namespace));
    info.requiredAntiAffinityTerms = (aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, namespace));
    info.preferredAffinityTerms = parseWeighted(aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
    info.preferredAntiAffinityTerms = parseWeighted(aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, namespace);
    info.requests = podRequests(pod);
    info.nonZeroRequests = podRequests(pod, { nonZero: true });
    for (const c of spec?.containers ?? []) {
      for (const p of c.ports ?? []) {
        if (p.hostPort && p.hostPort > 0) info.hostPorts.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
      }
    }
  } catch (e) {
    info.parseError = e instanceof Error ? e.message : String(e);
  }
  return info;
}

/** AffinityTerm.Matches: the pod is in one of the term's namespaces (or its namespace's labels match) and its labels match. */
export function termMatches(t: AffinityTerm, pod: PodInfo, nsLabels: Record<string, string> | undefined): boolean {
  const nsOk = t.namespaces.has(pod.namespace) || (t.namespaceSelector !== null && matchesLabels(t.namespaceSelector, nsLabels ?? {}));
  if (!nsOk) return false;
  return t.selector !== null && matchesLabels(t.selector, pod.labels);
}

/** True when the pod matches every term (podMatchesAllAffinityTerms); false for no terms. */
export function matchesAllTerms(terms: AffinityTerm[], pod: PodInfo): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod, undefined)) return false;
  return true;
}

function hasAffinity(p: PodInfo): boolean {
  const a = p.pod.spec?.affinity;
  return !!(a && (a.podAffinity || a.podAntiAffinity));
}

let generation = 0;

/** A monotonically increasing counter shared by every NodeInfo, as upstream's nextGeneration. */
export function nextGeneration(): number {
  return ++generation;
}

/** A node and the pods assigned (or assumed) to it. */
export class NodeInfo {
  node: Node | undefined;
  name: string;
  labels: Record<string, string>;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** Used host ports: `protocol/port` → the IPs using it. */
  usedPorts = new Map<string, Set<string>>();
  requested: Resource = emptyResource();
  nonZeroRequested: Resource = emptyResource();
  allocatable: Resource = emptyResource();
  generation = nextGeneration();

  constructor(node?: Node) {
    this.node = node;
    this.name = node?.metadata?.name ?? '';
    this.labels = node?.metadata?.labels ?? {};
    if (node) this.setNode(node);
  }

  /** Replaces the node object (allocatable and labels follow it). */
  setNode(node: Node): void {
    this.node = node;
    this.name = node.metadata?.name ?? '';
    this.labels = node.metadata?.labels ?? {};
    this.allocatable = resourceFromList(node.status?.allocatable as Record<string, string> | undefined);
    this.generation = nextGeneration();
  }

  /** Adds a pod's requests, ports and affinity bookkeeping. */
  addPod(p: PodInfo): void {
    this.pods.push(p);
    if (hasAffinity(p)) this.podsWithAffinity.push(p);
    if (p.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(p);
    this.update(p, 1);
  }

  /** Removes a pod by key; false when it was not on this node. */
  removePod(key: string): boolean {
    const i = this.pods.findIndex((p) => p.key === key);
    if (i < 0) return false;
    const p = this.pods[i] as PodInfo;
    this.pods.splice(i, 1);
    const a = this.podsWithAffinity.indexOf(p);
    if (a >= 0) this.podsWithAffinity.splice(a, 1);
    const b = this.podsWithRequiredAntiAffinity.indexOf(p);
    if (b >= 0) this.podsWithRequiredAntiAffinity.splice(b, 1);
    this.update(p, -1);
    return true;
  }

  private update(p: PodInfo, sign: 1 | -1): void {
    accumulate(this.requested, p.requests, sign);
    accumulate(this.nonZeroRequested, p.nonZeroRequests, sign);
    for (const hp of p.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      let ips = this.usedPorts.get(k);
      if (sign === 1) {
        if (!ips) this.usedPorts.set(k, (ips = new Set()));
        ips.add(hp.ip);
      } else if (ips) {
        ips.delete(hp.ip);
        if (ips.size === 0) this.usedPorts.delete(k);
      }
    }
    this.generation = nextGeneration();
  }

  /** A copy whose pod lists and sums can be changed without touching this one (for preemption simulation). */
  clone(): NodeInfo {
    const c = new NodeInfo();
    c.node = this.node;
    c.name = this.name;
    c.labels = this.labels;
    c.pods = [...this.pods];
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    for (const [k, v] of this.usedPorts) c.usedPorts.set(k, new Set(v));
    c.requested = cloneResource(this.requested);
    c.nonZeroRequested = cloneResource(this.nonZeroRequested);
    c.allocatable = cloneResource(this.allocatable);
    c.generation = this.generation;
    return c;
  }
}

/** True when `hp` conflicts with a port in use on the node (HostPortInfo.CheckConflict): 0.0.0.0 conflicts with any IP. */
export function portConflicts(used: Map<string, Set<string>>, hp: HostPort): boolean {
  const ips = used.get(`${hp.protocol}/${hp.port}`);
  if (!ips || ips.size === 0) return false;
  if (hp.ip === '0.0.0.0') return true;
  return ips.has('0.0.0.0') || ips.has(hp.ip);
}
