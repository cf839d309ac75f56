/** discovery.k8s.io/v1 EndpointSlice: validation and Table columns. */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidIP, nameIsDNSSubdomain, validateImmutableField,
  validateObjectMeta, validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { bumpGenerationIf, creationTimestampDoc, deepEqual, initGeneration } from '../../apps/v1/workload.ts';

const supportedAddressTypes = ['FQDN', 'IPv4', 'IPv6'];
const supportedProtocols = ['SCTP', 'TCP', 'UDP'];
const maxAddresses = 100;
const maxPorts = 100;
const maxEndpoints = 1000;

function validateAddress(addr: string, addressType: string, path: string): FieldError[] {
  switch (addressType) {
    case 'IPv4':
      if (isValidIP(addr).length > 0 || addr.includes(':')) return [fieldError.invalid(path, addr, 'must be a valid IPv4 address')];
      return [];
    case 'IPv6':
      if (isValidIP(addr).length > 0 || !addr.includes(':')) return [fieldError.invalid(path, addr, 'must be a valid IPv6 address')];
      return [];
    case 'FQDN': {
      const errs: FieldError[] = [];
      if (addr.length === 0) return [fieldError.required(path)];
      for (const msg of isDNS1123Subdomain(addr)) errs.push(fieldError.invalid(path, addr, msg));
      if (errs.length === 0 && addr.split('.').length < 2) errs.push(fieldError.invalid(path, addr, 'should be a domain with at least two segments separated by dots'));
      return errs;
    }
    default:
      return [];
  }
}

/** ValidateEndpointSlice: address type, endpoints (addresses, hostname) and ports (names, protocols). */
export function validateEndpointSlice(es: EndpointSlice): FieldError[] {
  const errs = validateObjectMeta(es.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' });
  const at = es.addressType ?? '';
  if (at === '') errs.push(fieldError.required('addressType'));
  else if (!supportedAddressTypes.includes(at)) errs.push(fieldError.notSupported('addressType', at, supportedAddressTypes));
  const endpoints = es.endpoints ?? [];
  if (endpoints.length > maxEndpoints) {
    errs.push(fieldError.tooMany('endpoints', endpoints.length, maxEndpoints));
  } else {
    endpoints.forEach((ep, i) => {
      const ap = `endpoints[${i}].addresses`;
      const addrs = ep.addresses ?? [];
      if (addrs.length === 0) errs.push(fieldError.required(ap, 'must contain at least 1 address'));
      else if (addrs.length > maxAddresses) errs.push(fieldError.tooMany(ap, addrs.length, maxAddresses));
      addrs.forEach((a, j) => errs.push(...validateAddress(a, at, `${ap}[${j}]`)));
      if (ep.hostname !== undefined) {
        for (const msg of isDNS1123Label(ep.hostname)) errs.push(fieldError.invalid(`endpoints[${i}].hostname`, ep.hostname, msg));
      }
    });
  }
  const ports = es.ports ?? [];
  if (ports.length > maxPorts) {
    errs.push(fieldError.tooMany('ports', ports.length, maxPorts));
  } else {
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const name = p.name ?? '';
      if (name.length > 0) for (const msg of isDNS1123Label(name)) errs.push(fieldError.invalid(`ports[${i}].name`, name, msg));
      if (names.has(name)) errs.push(fieldError.duplicate(`ports[${i}].name`, name));
      else names.add(name);
      if (p.protocol === undefined) errs.push(fieldError.required(`ports[${i}].protocol`));
      else if (!supportedProtocols.includes(p.protocol)) errs.push(fieldError.notSupported(`ports[${i}].protocol`, p.protocol, supportedProtocols));
      if (p.appProtocol !== undefined) for (const msg of isQualifiedName(p.appProtocol)) errs.push(fieldError.invalid(`ports[${i}].appProtocol`, p.appProtocol, msg));
    });
  }
  return errs;
}

function listWithMore(list: string[], count: number, max: number): string {
  const ret = list.join(',');
  if (count > max) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

/** printers.go formatDiscoveryPorts: up to three ports ("*" for an unset port), then "+ N more...". */
export function formatDiscoveryPorts(es: EndpointSlice): string {
  const ports = es.ports ?? [];
  const list = ports.slice(0, 3).map((p) => (p.port !== undefined ? String(p.port) : p.name !== undefined ? p.name : '*'));
  return listWithMore(list, ports.length, 3);
}

/** printers.go formatDiscoveryEndpoints: up to three addresses over all endpoints, then "+ N more...". */
export function formatDiscoveryEndpoints(es: EndpointSlice): string {
  const all = (es.endpoints ?? []).flatMap((e) => e.addresses ?? []);
  return listWithMore(all.slice(0, 3), all.length, 3);
}

/** The discovery.k8s.io/v1 EndpointSlice kind. */
export const endpointSlices = defineResource<EndpointSlice>({
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  validate: validateEndpointSlice,
  validateUpdate: (es, old) => [
    ...validateObjectMetaUpdate(es.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' }),
    ...validateImmutableField(es.addressType, old.addressType, 'addressType'),
  ],
  strategy: {
    prepareForCreate: (es) => initGeneration(es.metadata),
    prepareForUpdate: (es, old) => {
      // Anything but metadata (or a label change) is a new generation: EndpointSlice has no spec wrapper.
      const { metadata: m1, ...rest1 } = es;
      const { metadata: m2, ...rest2 } = old;
      bumpGenerationIf(!deepEqual(rest1, rest2) || !deepEqual(m1?.labels ?? {}, m2?.labels ?? {}), es.metadata, old.metadata);
    },
    generation: true,
  },
  columns: [
    { name: 'AddressType', type: 'string', description: 'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.', cell: (es) => es.addressType ?? '' },
    { name: 'Ports', type: 'string', description: 'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates "all ports". Each slice may include a maximum of 100 ports.', cell: formatDiscoveryPorts },
    { name: 'Endpoints', type: 'string', description: 'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.', cell: formatDiscoveryEndpoints },
    { name: 'Age', type: 'string', description: creationTimestampDoc, cell: (es, now) => translateTimestampSince(es.metadata?.creationTimestamp, now) },
  ],
  examples: [
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc12', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    },
  ],
});
