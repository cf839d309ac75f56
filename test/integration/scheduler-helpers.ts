/**
 * Helpers for the scheduler integration tests and benchmark: a client for a test server, Node and Pod
 * builders, and the scheduler started in-process against the server's kubeconfig.
 */
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { ApiClient, RestClient, clientConfigFromKubeconfig } from '../../src/client/index.ts';
import { nodes, pods } from '../../src/api/core/v1/index.ts';
import { waitFor } from '../../src/base/wait.ts';

/** A client for the server behind `kubeconfig`. */
export function clientFor(kubeconfig: string): ApiClient {
  return new ApiClient(new RestClient(clientConfigFromKubeconfig(kubeconfig), { userAgent: 'scheduler-it' }));
}

/** A Ready node with the given capacity, labels and taints. */
export function makeNode(name: string, o: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean; extra?: Record<string, string> } = {}): Node {
  const alloc = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...o.extra };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** A pod with one container and the given requests and scheduling constraints. */
export function makePod(name: string, o: { namespace?: string; cpu?: string; memory?: string; labels?: Record<string, string>; spec?: Partial<NonNullable<Pod['spec']>>; hostPort?: number } = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests['cpu'] = o.cpu;
  if (o.memory) requests['memory'] = o.memory;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels },
    spec: {
      containers: [{ name: 'c', image: 'pause', resources: { requests }, ports: o.hostPort ? [{ containerPort: 80, hostPort: o.hostPort }] : undefined }],
      ...o.spec,
    },
  };
}

/** Creates nodes (status included: the server keeps status on create for nodes, else it is patched). */
export async function createNodes(api: ApiClient, list: Node[]): Promise<void> {
  const c = api.resource<Node>(nodes);
  await Promise.all(list.map(async (n) => {
    const created = await c.create(n);
    if (!created.status?.allocatable) await c.updateStatus({ ...created, status: n.status });
  }));
}

/** Waits until the pod is bound and returns its node name. */
export async function waitForBound(api: ApiClient, namespace: string, name: string, timeoutMs = 15_000): Promise<string> {
  const c = api.resource<Pod>(pods);
  return waitFor(async () => (await c.get(name, { namespace })).spec?.nodeName, { timeoutMs, what: `pod ${namespace}/${name} bound`, intervalMs: 50 });
}

/** Waits until the pod has PodScheduled=False and returns the condition message. */
export async function waitForUnschedulable(api: ApiClient, namespace: string, name: string, timeoutMs = 15_000): Promise<string> {
  const c = api.resource<Pod>(pods);
  return waitFor(async () => {
    const p = await c.get(name, { namespace });
    const cond = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
    return cond?.status === 'False' && cond.reason === 'Unschedulable' ? cond.message ?? '' : undefined;
  }, { timeoutMs, what: `pod ${namespace}/${name} unschedulable`, intervalMs: 50 });
}
