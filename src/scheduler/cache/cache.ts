/**
 * The scheduler cache (internal/cache): nodes and the pods on them, including pods the scheduler has
 * assumed (decided, binding in flight) so that the next decision already counts them and never waits for
 * the API. Assume on Reserve, forget when binding fails, confirm when the informer reports the pod bound.
 * Nodes are listed in a zone-interleaved order (upstream's nodeTree) so that a partial search (see
 * percentageOfNodesToScore) still sees every zone.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import type { PodInfo } from '../framework/node-info.ts';
import { NodeInfo, newPodInfo, podKey } from '../framework/node-info.ts';

const log = logger('scheduler-cache');

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  bindingFinished: boolean;
}

/** The zone key of a node: region and zone labels (utilnode.GetZoneKey). */
export function zoneKey(node: Node): string {
  const l = node.metadata?.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region === '' && zone === '' ? '' : `${region}:\u0000:${zone}`;
}

/** Nodes and assumed/bound pods. */
export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  private readonly zones = new Map<string, string[]>();
  private readonly zoneOf = new Map<string, string>();
  private ordered: NodeInfo[] | undefined;

  /** Every node with a Node object, zone-interleaved (nodeTree.list). */
  nodeList(): NodeInfo[] {
    if (this.ordered) return this.ordered;
    const out: NodeInfo[] = [];
    const lists = [...this.zones.values()];
    let max = 0;
    for (const l of lists) max = Math.max(max, l.length);
    for (let i = 0; i < max; i++) {
      for (const l of lists) {
        const name = l[i];
        if (name === undefined) continue;
        const ni = this.nodes.get(name);
        if (ni?.node) out.push(ni);
      }
    }
    this.ordered = out;
    return out;
  }

  /** The NodeInfo of a node (also for nodes known only through their pods). */
  getNodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  /** Number of nodes with a Node object. */
  nodeCount(): number {
    return this.nodeList().length;
  }

  /** Adds or replaces a node. */
  addNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(node);
      this.nodes.set(name, ni);
    } else {
      ni.setNode(node);
    }
    this.placeInTree(name, node);
  }

  /** Applies a node update. */
  updateNode(_old: Node, node: Node): void {
    this.addNode(node);
  }

  /** Removes a node; its NodeInfo stays while pods still reference it. */
  removeNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const ni = this.nodes.get(name);
    if (!ni) return;
    this.removeFromTree(name);
    if (ni.pods.length === 0) this.nodes.delete(name);
    else ni.node = undefined;
  }

  /** Adds a pod the scheduler decided to place (pod.spec.nodeName set); it counts at once. */
  assumePod(info: PodInfo): void {
    const nodeName = info.pod.spec?.nodeName ?? '';
    if (this.pods.has(info.key)) throw new Error(`pod ${info.namespace}/${info.name} is in the cache, so can't be assumed`);
    this.addToNode(info, nodeName);
    this.pods.set(info.key, { info, nodeName, assumed: true, bindingFinished: false });
  }

  /** Marks the binding of an assumed pod done (its confirmation comes with the informer). */
  finishBinding(key: string): void {
    const s = this.pods.get(key);
    if (s?.assumed) s.bindingFinished = true;
  }

  /** Drops an assumed pod whose binding failed. */
  forgetPod(key: string): void {
    const s = this.pods.get(key);
    if (!s || !s.assumed) return;
    this.nodes.get(s.nodeName)?.removePod(key);
    this.cleanupNode(s.nodeName);
    this.pods.delete(key);
  }

  /** True while a pod is assumed and not yet confirmed by the informer. */
  isAssumedPod(key: string): boolean {
    return this.pods.get(key)?.assumed ?? false;
  }

  /** True when the cache holds the pod (assumed or bound). */
  hasPod(key: string): boolean {
    return this.pods.has(key);
  }

  /** The informer reports a bound pod: confirms an assumed pod, or adds it. */
  addPod(pod: Pod): void {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName ?? '';
    const s = this.pods.get(key);
    if (s?.assumed) {
      if (s.nodeName !== nodeName) {
        log.warn('pod was added to a different node than it was assumed', { pod: key, assumedNode: s.nodeName, currentNode: nodeName });
        this.nodes.get(s.nodeName)?.removePod(key);
        this.cleanupNode(s.nodeName);
        const info = newPodInfo(pod);
        this.addToNode(info, nodeName);
        this.pods.set(key, { info, nodeName, assumed: false, bindingFinished: true });
        return;
      }
      // Same decision: keep the PodInfo (same spec), point it at the stored object.
      s.info.pod = pod;
      s.assumed = false;
      return;
    }
    if (s) {
      this.updatePod(s.info.pod, pod);
      return;
    }
    const info = newPodInfo(pod);
    this.addToNode(info, nodeName);
    this.pods.set(key, { info, nodeName, assumed: false, bindingFinished: true });
  }

  /** The informer reports a change to a bound pod. */
  updatePod(_old: Pod, pod: Pod): void {
    const key = podKey(pod);
    const s = this.pods.get(key);
    if (!s) {
      this.addPod(pod);
      return;
    }
    if (s.assumed) {
      this.addPod(pod);
      return;
    }
    this.nodes.get(s.nodeName)?.removePod(key);
    this.cleanupNode(s.nodeName);
    const nodeName = pod.spec?.nodeName ?? '';
    const info = newPodInfo(pod);
    this.addToNode(info, nodeName);
    this.pods.set(key, { info, nodeName, assumed: false, bindingFinished: true });
  }

  /** The informer reports a bound pod deleted. */
  removePod(pod: Pod): void {
    const key = podKey(pod);
    const s = this.pods.get(key);
    if (!s) return;
    this.nodes.get(s.nodeName)?.removePod(key);
    this.cleanupNode(s.nodeName);
    this.pods.delete(key);
  }

  /** The PodInfo the cache holds for a pod. */
  getPodInfo(key: string): PodInfo | undefined {
    return this.pods.get(key)?.info;
  }

  /** Counts for debugging and metrics. */
  stats(): { nodes: number; pods: number; assumedPods: number } {
    let assumed = 0;
    for (const s of this.pods.values()) if (s.assumed) assumed++;
    return { nodes: this.nodeCount(), pods: this.pods.size, assumedPods: assumed };
  }

  private addToNode(info: PodInfo, nodeName: string): void {
    let ni = this.nodes.get(nodeName);
    if (!ni) {
      // A pod may reference a node the cache has not seen yet; keep a node-less NodeInfo for it.
      ni = new NodeInfo();
      ni.name = nodeName;
      this.nodes.set(nodeName, ni);
    }
    ni.addPod(info);
  }

  private cleanupNode(name: string): void {
    const ni = this.nodes.get(name);
    if (ni && !ni.node && ni.pods.length === 0) this.nodes.delete(name);
  }

  private placeInTree(name: string, node: Node): void {
    const zone = zoneKey(node);
    const prev = this.zoneOf.get(name);
    if (prev === zone) {
      return;
    }
    if (prev !== undefined) this.removeFromTree(name);
    let list = this.zones.get(zone);
    if (!list) this.zones.set(zone, (list = []));
    list.push(name);
    this.zoneOf.set(name, zone);
    this.ordered = undefined;
  }

  private removeFromTree(name: string): void {
    const zone = this.zoneOf.get(name);
    if (zone === undefined) return;
    const list = this.zones.get(zone) ?? [];
    const i = list.indexOf(name);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.zones.delete(zone);
    this.zoneOf.delete(name);
    this.ordered = undefined;
  }
}
