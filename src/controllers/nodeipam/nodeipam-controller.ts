/**
 * The node IPAM controller with the RangeAllocator (pkg/controller/nodeipam): gives every node without one a
 * `spec.podCIDR` / `spec.podCIDRs` subnet of the cluster CIDR (10.42.0.0/16 cut into /24s by default, as k3s),
 * never handing out a subnet another node holds, and freeing the subnet of a deleted node.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { nodes as nodesDef } from '../../api/core/v1/index.ts';
import type { EventRecorder, Lister, ResourceClient } from '../../client/index.ts';
import { isNotFound, isTombstone, objectKey, splitKey } from '../../client/index.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../controller.ts';
import { newQueue } from '../controller.ts';
import { CidrSet } from './cidr.ts';

/** Options of node IPAM (upstream's --cluster-cidr and --node-cidr-mask-size). */
export interface NodeIpamOptions {
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
}

/** The default cluster CIDR (k3s's). */
export const defaultClusterCIDR = '10.42.0.0/16';
/** The default per-node mask. */
export const defaultNodeCIDRMaskSize = 24;

class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  readonly queue;
  readonly workers = 1;
  private readonly nodeLister: Lister<Node>;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly recorder: EventRecorder;
  private readonly set: CidrSet;
  /** node name → the subnet this allocator counts as held by it. */
  private readonly held = new Map<string, string>();
  private primed = false;

  constructor(ctx: ControllerContext, opts: NodeIpamOptions) {
    this.queue = newQueue('node_ipam', ctx.clock);
    this.set = new CidrSet(opts.clusterCIDR ?? defaultClusterCIDR, opts.nodeCIDRMaskSize ?? defaultNodeCIDRMaskSize);
    const inf = ctx.informers.informerFor<Node>(nodesDef);
    this.nodeLister = inf.lister();
    this.nodeClient = ctx.client.resource<Node>(nodesDef);
    this.recorder = ctx.recorder('cidrAllocator');
    inf.addEventHandler({
      onAdd: (n) => this.queue.add(objectKey(n)),
      onUpdate: (o, n) => {
        if (o.spec?.podCIDR !== n.spec?.podCIDR || !n.spec?.podCIDR) this.queue.add(objectKey(n));
      },
      onDelete: (o) => this.queue.add(objectKey(isTombstone(o) ? o.obj : o)),
    });
  }

  /** Marks every subnet nodes already hold (once, with the cache synced, before the first allocation). */
  private prime(): void {
    if (this.primed) return;
    this.primed = true;
    for (const n of this.nodeLister.list()) this.observe(n);
  }

  private observe(n: Node): void {
    const name = n.metadata?.name ?? '';
    const cidr = n.spec?.podCIDRs?.[0] ?? n.spec?.podCIDR;
    if (!cidr || this.held.get(name) === cidr) return;
    if (this.set.occupy(cidr)) this.held.set(name, cidr);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    this.prime();
    const { name } = splitKey(key);
    const node = this.nodeLister.get('', name);
    if (!node) {
      const cidr = this.held.get(name);
      if (cidr) this.set.release(cidr);
      this.held.delete(name);
      return;
    }
    if (node.spec?.podCIDR || (node.spec?.podCIDRs ?? []).length > 0) {
      this.observe(node);
      return;
    }
    const cidr = this.set.allocateNext();
    const subject = { ...node, apiVersion: 'v1', kind: 'Node' };
    if (!cidr) {
      this.recorder.event(subject, { type: 'Normal', reason: 'CIDRNotAvailable', message: `Node ${name} status is now: CIDRNotAvailable` });
      return { requeueAfter: 30_000 };
    }
    try {
      // podCIDR is immutable once set: the resourceVersion guards against a concurrent assignment.
      await this.nodeClient.patch(name, { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { podCIDR: cidr, podCIDRs: [cidr] } }, { type: 'merge' });
      this.held.set(name, cidr);
    } catch (e) {
      this.set.release(cidr);
      if (isNotFound(e)) return;
      this.recorder.event(subject, { type: 'Warning', reason: 'CIDRAssignmentFailed', message: `Node ${name} status is now: CIDRAssignmentFailed` });
      throw e;
    }
  }
}

/** The node IPAM controller; `opts` set the cluster CIDR and node mask. */
export function newNodeIpamController(ctx: ControllerContext, opts: NodeIpamOptions = {}): Controller {
  return new NodeIpamController(ctx, opts);
}
