/**
 * Endpoints (core/v1): SetDefaults_Endpoints, ValidateEndpoints and printEndpoints.
 */
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { isDNS1123Label, isDNS1123Subdomain, isValidIP, isValidPortNum, nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { validateMeta, validateMetaUpdate } from './helpers.ts';

const supportedProtocols = ['SCTP', 'TCP', 'UDP'];

function invalidEach(path: string, value: unknown, problems: string[]): FieldError[] {
  return problems.map((m) => fieldError.invalid(path, value, m));
}

function validateSubsets(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    const path = `subsets[${i}]`;
    const addrs = [...(ss.addresses ?? []).map((a, j) => ({ a, p: `${path}.addresses[${j}]` })),
      ...(ss.notReadyAddresses ?? []).map((a, j) => ({ a, p: `${path}.notReadyAddresses[${j}]` }))];
    for (const { a, p } of addrs) {
      errs.push(...invalidEach(`${p}.ip`, a.ip, isValidIP(a.ip)));
      if (a.hostname) errs.push(...invalidEach(`${p}.hostname`, a.hostname, isDNS1123Label(a.hostname)));
      if (a.nodeName) errs.push(...invalidEach(`${p}.nodeName`, a.nodeName, isDNS1123Subdomain(a.nodeName)));
    }
    const ports = ss.ports ?? [];
    const names = new Set<string>();
    ports.forEach((port, j) => {
      const p = `${path}.ports[${j}]`;
      if (ports.length > 1 && !port.name) errs.push(fieldError.required(`${p}.name`));
      else if (port.name) {
        errs.push(...invalidEach(`${p}.name`, port.name, isDNS1123Label(port.name)));
        if (names.has(port.name)) errs.push(fieldError.duplicate(`${p}.name`, port.name));
        names.add(port.name);
      }
      errs.push(...invalidEach(`${p}.port`, port.port, isValidPortNum(port.port)));
      if (!port.protocol) errs.push(fieldError.required(`${p}.protocol`));
      else if (!supportedProtocols.includes(port.protocol)) errs.push(fieldError.notSupported(`${p}.protocol`, port.protocol, supportedProtocols));
    });
  });
  return errs;
}

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** formatEndpoints: up to three "ip:port" entries, then " + N more...", or "<none>". */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    if ((ss.ports ?? []).length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const port of ss.ports ?? []) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, port.port));
      }
    }
  }
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret || '<none>';
}

/** endpoints: the core/v1 Endpoints kind. */
export const endpoints = defineResource<Endpoints>({
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  defaults(ep) {
    for (const ss of ep.subsets ?? []) for (const p of ss.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
  },
  validate(ep) {
    return [...validateMeta(ep.metadata, true, nameIsDNSSubdomain), ...validateSubsets(ep)];
  },
  validateUpdate(ep, old) {
    return validateMetaUpdate(ep.metadata, old.metadata);
  },
  columns: [
    { name: 'Endpoints', type: 'string', description: 'The set of all endpoints is the union of all subsets.', cell: formatEndpoints },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', cell: (e, now) => translateTimestampSince(e.metadata?.creationTimestamp, now) },
  ],
  examples: [{
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ port: 8080 }] }],
  }],
});
