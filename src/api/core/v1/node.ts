/**
 * Node (core/v1, cluster-scoped): SetDefaults_NodeStatus, ValidateNode/ValidateNodeUpdate, the node strategy and
 * printNode.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isQualifiedName, isValidLabelValue, nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, validateMeta, validateMetaUpdate, writable } from './helpers.ts';

const supportedTaintEffects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const labelNodeRolePrefix = 'node-role.kubernetes.io/';
const nodeLabelRole = 'kubernetes.io/role';

function isCIDR(s: string): boolean {
  const m = /^(.+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const [, ip = '', bits = ''] = m;
  const n = Number(bits);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return ip.split('.').every((o) => Number(o) <= 255) && n <= 32;
  return ip.includes(':') && /^[0-9a-fA-F:.]+$/.test(ip) && n <= 128;
}

function validateNodeSpec(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = node.spec ?? {};
  const cidrs = spec.podCIDRs ?? (spec.podCIDR ? [spec.podCIDR] : []);
  cidrs.forEach((c, i) => {
    if (!isCIDR(c)) errs.push(fieldError.invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR'));
  });
  if (cidrs.length > 2) errs.push(fieldError.invalid('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  const seen = new Set<string>();
  (spec.taints ?? []).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!t.key) errs.push(fieldError.required(`${p}.key`));
    else for (const m of isQualifiedName(t.key)) errs.push(fieldError.invalid(`${p}.key`, t.key, m));
    if (t.value) for (const m of isValidLabelValue(t.value)) errs.push(fieldError.invalid(`${p}.value`, t.value, m));
    if (!t.effect) errs.push(fieldError.required(`${p}.effect`));
    else if (!supportedTaintEffects.includes(t.effect)) errs.push(fieldError.notSupported(`${p}.effect`, t.effect, supportedTaintEffects));
    const key = `${t.key}\u0000${t.effect}`;
    if (seen.has(key)) errs.push(fieldError.duplicate(p, t));
    seen.add(key);
  });
  return errs;
}

/** The STATUS cell: Ready/NotReady/Unknown from the Ready condition, plus SchedulingDisabled when cordoned. */
export function nodeStatusCell(node: Node): string {
  const status: string[] = [];
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (status.length === 0) status.push('Unknown');
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  return status.join(',');
}

/** findNodeRoles: node-role.kubernetes.io/<role> labels and the kubernetes.io/role label, sorted; "<none>" if none. */
export function nodeRolesCell(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith(labelNodeRolePrefix)) {
      const role = k.slice(labelNodeRolePrefix.length);
      if (role) roles.add(role);
    } else if (k === nodeLabelRole && v !== '') {
      roles.add(v);
    }
  }
  return [...roles].sort().join(',') || '<none>';
}

function address(node: Node, type: string): string {
  return (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';
}

/** nodes: the core/v1 Node kind. */
export const nodes = defineResource<Node>({
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  subresources: {
    status: true,
    others: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
  },
  defaults(node) {
    const status = node.status;
    if (status && status.allocatable === undefined && status.capacity !== undefined) {
      writable(status).allocatable = { ...status.capacity };
    }
  },
  validate(node) {
    return [...validateMeta(node.metadata, false, nameIsDNSSubdomain), ...validateNodeSpec(node)];
  },
  validateUpdate(node, old) {
    const errs = validateMetaUpdate(node.metadata, old.metadata);
    const oldCIDRs = old.spec?.podCIDRs ?? [];
    const newCIDRs = node.spec?.podCIDRs ?? [];
    if (oldCIDRs.length > 0 && (oldCIDRs.length !== newCIDRs.length || oldCIDRs.some((c, i) => c !== newCIDRs[i]))) {
      errs.push(fieldError.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
    }
    if (old.spec?.providerID && old.spec.providerID !== node.spec?.providerID) {
      errs.push(fieldError.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
    }
    return errs;
  },
  strategy: {
    // Kubelets register nodes with their status, so create keeps it (upstream clears nothing here).
    prepareForUpdate(node, old) {
      writable(node).status = clone(old.status);
    },
    prepareForStatusUpdate(node, old) {
      node.spec = clone(old.spec);
    },
  },
  columns: [
    { name: 'Status', type: 'string', description: 'The status of the node', cell: nodeStatusCell },
    { name: 'Roles', type: 'string', description: 'The roles of the node', cell: nodeRolesCell },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (n, now) => translateTimestampSince(n.metadata?.creationTimestamp, now) },
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', cell: (n) => n.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.', cell: (n) => address(n, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.', cell: (n) => address(n, 'ExternalIP') },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', cell: (n) => n.status?.nodeInfo?.osImage || '<unknown>' },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", cell: (n) => n.status?.nodeInfo?.kernelVersion || '<unknown>' },
    { name: 'Container-Runtime', type: 'string', priority: 1, description: 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', cell: (n) => n.status?.nodeInfo?.containerRuntimeVersion || '<unknown>' },
  ],
  fieldSelectors: {
    'spec.unschedulable': (n) => String(n.spec?.unschedulable === true),
  },
  examples: [{
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
  }],
});
