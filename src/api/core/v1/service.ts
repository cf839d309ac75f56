/**
 * Service (core/v1): SetDefaults_Service, ValidateService/ValidateServiceUpdate, the service strategy and
 * printService. ClusterIP and NodePort allocation belong to the apiserver, not here.
 */
import type { LoadBalancerStatus, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  isDNS1123Label, isDNS1123Subdomain, isValidIP, isValidPortName, isValidPortNum, nameIsDNS1035Label, validateImmutableField,
  validateLabels,
} from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { clone, formatLabels, validateMeta, validateMetaUpdate, writable } from './helpers.ts';

const supportedTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const supportedProtocols = ['SCTP', 'TCP', 'UDP'];
const supportedAffinity = ['ClientIP', 'None'];
const supportedTrafficPolicies = ['Cluster', 'Local'];

/** SetDefaults_Service plus the declarative port protocol default. */
export function defaultService(svc: Service): void {
  const spec = (svc.spec ??= {});
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of spec.ports ?? []) {
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.externalIPs ?? []).length > 0;
  if (external && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (!spec.internalTrafficPolicy && (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || spec.type === 'ClusterIP')) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip && !ing.ipMode) ing.ipMode = 'VIP';
  }
}

function invalidEach(path: string, value: unknown, problems: string[]): FieldError[] {
  return problems.map((m) => fieldError.invalid(path, value, m));
}

function validateServicePort(p: ServicePort, requireName: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !p.name) errs.push(fieldError.required(`${path}.name`));
  else if (p.name) errs.push(...invalidEach(`${path}.name`, p.name, isDNS1123Label(p.name)));
  errs.push(...invalidEach(`${path}.port`, p.port, isValidPortNum(p.port)));
  if (!p.protocol) errs.push(fieldError.required(`${path}.protocol`));
  else if (!supportedProtocols.includes(p.protocol)) errs.push(fieldError.notSupported(`${path}.protocol`, p.protocol, supportedProtocols));
  const tp = p.targetPort;
  if (typeof tp === 'number') errs.push(...invalidEach(`${path}.targetPort`, tp, isValidPortNum(tp)));
  else if (typeof tp === 'string') errs.push(...invalidEach(`${path}.targetPort`, tp, isValidPortName(tp)));
  return errs;
}

/** ValidateService's important rules. */
function validateServiceSpec(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec ?? {};
  const type = spec.type ?? '';
  const headless = spec.clusterIP === 'None';
  if (!supportedTypes.includes(type)) errs.push(fieldError.notSupported('spec.type', type, supportedTypes));
  if (type === 'ExternalName') {
    if (spec.clusterIP) errs.push(fieldError.forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
    if (!spec.externalName) errs.push(fieldError.required('spec.externalName', ''));
    else errs.push(...invalidEach('spec.externalName', spec.externalName, isDNS1123Subdomain(spec.externalName.replace(/\.$/, ''))));
  } else if (spec.clusterIP && spec.clusterIP !== 'None') {
    errs.push(...invalidEach('spec.clusterIP', spec.clusterIP, isValidIP(spec.clusterIP)));
  }
  const ports = spec.ports ?? [];
  if (ports.length === 0 && !headless && type !== 'ExternalName') errs.push(fieldError.required('spec.ports'));
  const names = new Set<string>();
  const portProtos = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    errs.push(...validateServicePort(p, ports.length > 1, path));
    if (p.name) {
      if (names.has(p.name)) errs.push(fieldError.duplicate(`${path}.name`, p.name));
      names.add(p.name);
    }
    const key = `${p.port}/${p.protocol ?? ''}`;
    if (portProtos.has(key)) errs.push(fieldError.duplicate(path, { port: p.port, protocol: p.protocol }));
    portProtos.add(key);
    if (p.nodePort && type === 'ClusterIP') {
      errs.push(fieldError.forbidden(`${path}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
    } else if (p.nodePort && type === 'ExternalName') {
      errs.push(fieldError.forbidden(`${path}.nodePort`, "may not be used when `type` is 'ExternalName'"));
    }
  });
  if (spec.selector && type !== 'ExternalName') errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (!spec.sessionAffinity) errs.push(fieldError.required('spec.sessionAffinity'));
  else if (!supportedAffinity.includes(spec.sessionAffinity)) {
    errs.push(fieldError.notSupported('spec.sessionAffinity', spec.sessionAffinity, supportedAffinity));
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP' && timeout !== undefined && (timeout <= 0 || timeout > 86400)) {
    errs.push(fieldError.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
  }
  (spec.externalIPs ?? []).forEach((ip, i) => errs.push(...invalidEach(`spec.externalIPs[${i}]`, ip, isValidIP(ip))));
  const etp = spec.externalTrafficPolicy;
  if (etp) {
    if (type !== 'NodePort' && type !== 'LoadBalancer' && (spec.externalIPs ?? []).length === 0) {
      errs.push(fieldError.invalid('spec.externalTrafficPolicy', etp, "may only be set for externally-accessible services"));
    } else if (!supportedTrafficPolicies.includes(etp)) {
      errs.push(fieldError.notSupported('spec.externalTrafficPolicy', etp, supportedTrafficPolicies));
    }
  } else if (type === 'NodePort' || type === 'LoadBalancer') {
    errs.push(fieldError.required('spec.externalTrafficPolicy'));
  }
  const itp = spec.internalTrafficPolicy;
  if (type !== 'ExternalName') {
    if (!itp) errs.push(fieldError.required('spec.internalTrafficPolicy'));
    else if (!supportedTrafficPolicies.includes(itp)) errs.push(fieldError.notSupported('spec.internalTrafficPolicy', itp, supportedTrafficPolicies));
  }
  if (spec.healthCheckNodePort && !(type === 'LoadBalancer' && etp === 'Local')) {
    errs.push(fieldError.invalid('spec.healthCheckNodePort', spec.healthCheckNodePort,
      'may only be set when `type` is \'LoadBalancer\' and `externalTrafficPolicy` is \'Local\''));
  }
  return errs;
}

/** The EXTERNAL-IP cell (getServiceExternalIP; server-side tables are always wide, so nothing is truncated). */
function externalIPCell(svc: Service): string {
  const spec = svc.spec ?? {};
  const ext = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length > 0 ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerStatusString(svc.status?.loadBalancer);
      if (ext.length > 0) return [...(lb ? lb.split(',') : []), ...ext].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function loadBalancerStatusString(s: LoadBalancerStatus | undefined): string {
  const set = new Set<string>();
  for (const ing of s?.ingress ?? []) {
    if (ing.ip) set.add(ing.ip);
    else if (ing.hostname) set.add(ing.hostname);
  }
  return [...set].sort().join(',');
}

/** makePortString: "80/TCP", "80:30080/TCP", comma-joined. */
export function servicePortsCell(ports: ServicePort[] | undefined): string {
  const s = (ports ?? []).map((p) => (p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? ''}` : `${p.port}/${p.protocol ?? ''}`)).join(',');
  return s || '<none>';
}

/** services: the core/v1 Service kind. */
export const services = defineResource<Service>({
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  subresources: {
    status: true,
    others: [{ name: 'proxy', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
  },
  defaults: defaultService,
  validate(svc) {
    return [...validateMeta(svc.metadata, true, nameIsDNS1035Label), ...validateServiceSpec(svc)];
  },
  validateUpdate(svc, old) {
    const errs = validateMetaUpdate(svc.metadata, old.metadata);
    const spec = svc.spec ?? {};
    const oldSpec = old.spec ?? {};
    // ClusterIP is fixed once allocated, unless the service moves to or from ExternalName.
    if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName' && oldSpec.clusterIP && spec.clusterIP) {
      errs.push(...validateImmutableField(spec.clusterIP, oldSpec.clusterIP, 'spec.clusterIP'));
    }
    return errs;
  },
  strategy: {
    prepareForCreate(svc) {
      writable(svc).status = {};
    },
    prepareForUpdate(svc, old) {
      writable(svc).status = clone(old.status);
    },
    prepareForStatusUpdate(svc, old) {
      svc.spec = clone(old.spec);
    },
  },
  columns: [
    { name: 'Type', type: 'string', description: 'type determines how the Service is exposed.', cell: (s) => s.spec?.type ?? '' },
    { name: 'Cluster-IP', type: 'string', description: 'clusterIP is the IP address of the service and is usually assigned randomly.', cell: (s) => s.spec?.clusterIPs?.[0] || s.spec?.clusterIP || '<none>' },
    { name: 'External-IP', type: 'string', description: 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.', cell: externalIPCell },
    { name: 'Port(s)', type: 'string', description: 'The list of ports that are exposed by this service.', cell: (s) => servicePortsCell(s.spec?.ports) },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (s, now) => translateTimestampSince(s.metadata?.creationTimestamp, now) },
    { name: 'Selector', type: 'string', priority: 1, description: 'Route service traffic to pods with label keys and values matching this selector.', cell: (s) => formatLabels(s.spec?.selector) },
  ],
  fieldSelectors: {
    'spec.clusterIP': (s) => s.spec?.clusterIP ?? '',
    'spec.type': (s) => s.spec?.type ?? '',
  },
  examples: [{
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  }],
});
