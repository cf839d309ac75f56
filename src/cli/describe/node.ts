/**
 * kubectl's describeNode and describeNodeResource: identity, roles, taints, the node lease, conditions,
 * addresses, capacity, system info, CIDRs, the non-terminated pods with their requests and limits as a share of
 * allocatable, the allocated totals, and events.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Quantity } from '../../api/meta/quantity.ts';
import { newQuantity, parseQuantity } from '../../api/meta/quantity.ts';
import type { CoreEvent } from './writer.ts';
import { DescribeWriter, rfc1123z, since, writeAnnotations, writeEvents, writeLabels } from './writer.ts';

/** The related objects describe node reads: the lease (or why it could not be read) and the node's pods. */
export interface NodeExtras {
  lease?: Lease;
  leaseError?: string;
  /** Non-terminated pods bound to the node; undefined when they could not be listed. */
  pods?: Pod[];
  events?: CoreEvent[];
}

/** describeNode. */
export function describeNode(node: Node, extras: NodeExtras, now = Date.now()): string {
  const w = new DescribeWriter();
  const m = node.metadata ?? {};
  const spec = node.spec ?? {};
  const st = node.status ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  const roles = nodeRoles(m.labels ?? {});
  w.raw(`Roles:\t${roles.length > 0 ? roles.join(',') : '<none>'}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  w.raw(`CreationTimestamp:\t${rfc1123z(m.creationTimestamp ?? '')}\n`);
  writeTaints(w, spec.taints ?? []);
  w.raw(`Unschedulable:\t${spec.unschedulable === true}\n`);
  if (extras.lease) {
    const l = extras.lease.spec ?? {};
    w.raw('Lease:\n');
    w.write(1, `HolderIdentity:\t${l.holderIdentity ?? '<unset>'}\n`);
    w.write(1, `AcquireTime:\t${l.acquireTime ? rfc1123z(l.acquireTime) : '<unset>'}\n`);
    w.write(1, `RenewTime:\t${l.renewTime ? rfc1123z(l.renewTime) : '<unset>'}\n`);
  } else {
    w.raw(`Lease:\tFailed to get lease: ${extras.leaseError ?? ''}\n`);
  }
  if (st.conditions && st.conditions.length > 0) {
    w.raw('Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n');
    for (const c of st.conditions) {
      w.write(1, `${c.type} \t${c.status} \t${goTime(c.lastHeartbeatTime)} \t${goTime(c.lastTransitionTime)} \t${c.reason ?? ''} \t${c.message ?? ''}\n`);
    }
  }
  w.raw('Addresses:\n');
  for (const a of st.addresses ?? []) w.write(1, `${a.type}:\t${a.address}\n`);
  const printResources = (list: Record<string, string>): void => {
    for (const k of Object.keys(list).sort()) w.raw(`  ${k}:\t${canonical(list[k]!)}\n`);
  };
  if (st.capacity && Object.keys(st.capacity).length > 0) {
    w.raw('Capacity:\n');
    printResources(st.capacity);
  }
  if (st.allocatable && Object.keys(st.allocatable).length > 0) {
    w.raw('Allocatable:\n');
    printResources(st.allocatable);
  }
  const info = st.nodeInfo;
  w.raw('System Info:\n');
  w.raw(`  Machine ID:\t${info?.machineID ?? ''}\n`);
  w.raw(`  System UUID:\t${info?.systemUUID ?? ''}\n`);
  w.raw(`  Boot ID:\t${info?.bootID ?? ''}\n`);
  w.raw(`  Kernel Version:\t${info?.kernelVersion ?? ''}\n`);
  w.raw(`  OS Image:\t${info?.osImage ?? ''}\n`);
  w.raw(`  Operating System:\t${info?.operatingSystem ?? ''}\n`);
  w.raw(`  Architecture:\t${info?.architecture ?? ''}\n`);
  w.raw(`  Container Runtime Version:\t${info?.containerRuntimeVersion ?? ''}\n`);
  w.raw(`  Kubelet Version:\t${info?.kubeletVersion ?? ''}\n`);
  w.raw(`  Kube-Proxy Version:\t${info?.kubeProxyVersion ?? ''}\n`);
  if (spec.podCIDR) w.raw(`PodCIDR:\t${spec.podCIDR}\n`);
  if (spec.podCIDRs && spec.podCIDRs.length > 0) w.raw(`PodCIDRs:\t${spec.podCIDRs.join(',')}\n`);
  if (spec.providerID) w.raw(`ProviderID:\t${spec.providerID}\n`);
  if (extras.pods) describeNodeResource(w, extras.pods, node, now);
  else w.raw('Pods:\tnot authorized\n');
  writeEvents(w, extras.events, now);
  return w.toString();
}

function describeNodeResource(w: DescribeWriter, pods: Pod[], node: Node, now: number): void {
  w.raw(`Non-terminated Pods:\t(${pods.length} in total)\n`);
  w.write(1, 'Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n');
  w.write(1, '---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n');
  const capacity = node.status?.capacity ?? {};
  const allocatable = node.status?.allocatable && Object.keys(node.status.allocatable).length > 0 ? node.status.allocatable : capacity;
  const alloc = (r: string): Quantity => q(allocatable[r]);
  const pct = (part: number, whole: number): number => (whole === 0 ? part === 0 ? NaN : Infinity : Math.trunc((part / whole) * 100));
  for (const pod of pods) {
    const req = podResources(pod, 'requests');
    const lim = podResources(pod, 'limits');
    const cpuReq = req.get('cpu') ?? zero();
    const cpuLim = lim.get('cpu') ?? zero();
    const memReq = req.get('memory') ?? zero();
    const memLim = lim.get('memory') ?? zero();
    w.write(
      1,
      `${pod.metadata?.namespace ?? ''}\t${pod.metadata?.name ?? ''}\t\t${cpuReq.toString()} (${goInt(pct(cpuReq.milliValue(), alloc('cpu').milliValue()))}%)\t${cpuLim.toString()} (${goInt(pct(cpuLim.milliValue(), alloc('cpu').milliValue()))}%)\t${memReq.toString()} (${goInt(pct(memReq.value(), alloc('memory').value()))}%)\t${memLim.toString()} (${goInt(pct(memLim.value(), alloc('memory').value()))}%)\t${since(pod.metadata?.creationTimestamp ?? '', now)}\n`,
    );
  }
  w.raw('Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n');
  w.write(1, 'Resource\tRequests\tLimits\n');
  w.write(1, '--------\t--------\t------\n');
  const reqs = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  for (const pod of pods) {
    for (const [k, v] of podResources(pod, 'requests')) reqs.set(k, reqs.has(k) ? reqs.get(k)!.add(v) : v);
    for (const [k, v] of podResources(pod, 'limits')) limits.set(k, limits.has(k) ? limits.get(k)!.add(v) : v);
  }
  const row = (name: string, milli: boolean): void => {
    const r = reqs.get(name) ?? zero();
    const l = limits.get(name) ?? zero();
    const a = milli ? alloc(name).milliValue() : alloc(name).value();
    const fr = a !== 0 ? Math.trunc(((milli ? r.milliValue() : r.value()) / a) * 100) : 0;
    const fl = a !== 0 ? Math.trunc(((milli ? l.milliValue() : l.value()) / a) * 100) : 0;
    w.write(1, `${name}\t${r.toString()} (${fr}%)\t${l.toString()} (${fl}%)\n`);
  };
  row('cpu', true);
  row('memory', false);
  row('ephemeral-storage', false);
  const names = Object.keys(allocatable);
  for (const name of names.filter((n) => n.startsWith('hugepages-')).sort()) row(name, false);
  for (const name of names.filter((n) => !n.startsWith('hugepages-') && !isStandardResource(n) && n !== 'pods').sort()) {
    w.write(1, `${name}\t${(reqs.get(name) ?? zero()).toString()}\t${(limits.get(name) ?? zero()).toString()}\n`);
  }
}

/** resourcehelper.PodRequests/PodLimits: the sum over app containers, at least the largest init container. */
function podResources(pod: Pod, which: 'requests' | 'limits'): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  const spec = pod.spec;
  for (const c of spec?.containers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) out.set(k, out.has(k) ? out.get(k)!.add(q(v)) : q(v));
  }
  for (const c of spec?.initContainers ?? []) {
    for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) {
      const x = q(v);
      if (!out.has(k) || out.get(k)!.cmp(x) < 0) out.set(k, x);
    }
  }
  for (const [k, v] of Object.entries(spec?.overhead ?? {})) if (out.has(k)) out.set(k, out.get(k)!.add(q(v)));
  return out;
}

const standard = new Set(['cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage']);
function isStandardResource(n: string): boolean {
  return standard.has(n) || n.startsWith('hugepages-');
}

function q(s: string | number | undefined): Quantity {
  if (s === undefined) return zero();
  try {
    return parseQuantity(String(s));
  } catch {
    return zero();
  }
}

function zero(): Quantity {
  return newQuantity(0);
}

function canonical(s: string): string {
  return q(s).toString();
}

/** Go's int64(float64) of a percentage (NaN/Inf convert to the minimum int64 on amd64, as kubectl prints). */
function goInt(n: number): string {
  return Number.isFinite(n) ? String(n) : '-9223372036854775808';
}

function goTime(ts: string | undefined): string {
  return ts ? rfc1123z(ts) : 'Mon, 01 Jan 0001 00:00:00 +0000';
}

/** findNodeRoles: node-role.kubernetes.io/<role> labels and the legacy kubernetes.io/role label. */
function nodeRoles(labels: Record<string, string>): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

function writeTaints(w: DescribeWriter, taints: NonNullable<Node['spec']>['taints'] & object): void {
  w.raw('Taints:\t');
  if (taints.length === 0) return void w.raw('<none>\n');
  // printNodeTaintsMultiline groups taints by effect, in the order NoExecute, NoSchedule, PreferNoSchedule.
  const order = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
  const sorted = order.flatMap((e) => taints.filter((t) => t.effect === e)).concat(taints.filter((t) => !order.includes(t.effect)));
  sorted.forEach((t, i) => {
    if (i !== 0) w.raw('\t');
    w.raw(`${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}\n`);
  });
}
