/**
 * Discovery documents, all derived from the catalog: aggregated discovery (apidiscovery.k8s.io/v2) for /api and
 * /apis, and the legacy APIVersions / APIGroupList / APIGroup / APIResourceList documents.
 */
import { createHash } from 'node:crypto';
import type { ResourceDefinition } from '../api/resource.ts';
import { apiVersionOf } from '../api/meta/types.ts';

/** The verbs a resource serves when its definition does not say. */
export const DEFAULT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The Content-Type of aggregated discovery responses. */
export const AGGREGATED_DISCOVERY_CT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function verbsOf(def: ResourceDefinition): string[] {
  return def.verbs ?? DEFAULT_VERBS;
}

function storageVersionHash(def: ResourceDefinition): string {
  return createHash('sha256').update(`${def.group}/${def.version}/${def.kind}`).digest('base64').slice(0, 12);
}

interface SubresourceInfo {
  name: string;
  group: string;
  version: string;
  kind: string;
  verbs: string[];
}

function subresourcesOf(def: ResourceDefinition): SubresourceInfo[] {
  const out: SubresourceInfo[] = [];
  const s = def.subresources;
  if (s?.status) out.push({ name: 'status', group: def.group, version: def.version, kind: def.kind, verbs: ['get', 'patch', 'update'] });
  if (s?.scale) out.push({ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  for (const o of s?.others ?? []) {
    out.push({ name: o.name, group: o.group ?? def.group, version: o.version ?? def.version, kind: o.kind, verbs: o.verbs });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A group with its versions (one version per group in Skiff). */
export interface GroupInfo {
  name: string;
  version: string;
  resources: ResourceDefinition[];
}

/** Groups the catalog by API group, in the order upstream lists them (core first, then catalog order). */
export function groupsOf(catalog: ResourceDefinition[]): GroupInfo[] {
  const map = new Map<string, GroupInfo>();
  for (const d of catalog) {
    let g = map.get(d.group);
    if (!g) {
      g = { name: d.group, version: d.version, resources: [] };
      map.set(d.group, g);
    }
    g.resources.push(d);
  }
  return [...map.values()];
}

function aggregatedGroup(g: GroupInfo): object {
  const resources = [...g.resources].sort((a, b) => a.plural.localeCompare(b.plural)).map((d) => {
    const r: Record<string, unknown> = {
      resource: d.plural,
      responseKind: { group: d.group, version: d.version, kind: d.kind },
      scope: d.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: d.singular,
      verbs: verbsOf(d),
    };
    if (d.shortNames?.length) r.shortNames = d.shortNames;
    if (d.categories?.length) r.categories = d.categories;
    const subs = subresourcesOf(d);
    if (subs.length > 0) {
      r.subresources = subs.map((s) => ({
        subresource: s.name,
        responseKind: { group: s.group, version: s.version, kind: s.kind },
        verbs: s.verbs,
      }));
    }
    return r;
  });
  return {
    metadata: { name: g.name, creationTimestamp: null },
    versions: [{ version: g.version, resources, freshness: 'Current' }],
  };
}

/** Aggregated discovery for /api (core group only) or /apis (named groups). */
export function aggregatedDiscovery(catalog: ResourceDefinition[], which: 'api' | 'apis'): object {
  const groups = groupsOf(catalog).filter((g) => (which === 'api' ? g.name === '' : g.name !== ''));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: groups.map(aggregatedGroup) };
}

/** Legacy /api. */
export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroupEntry(g: GroupInfo): Record<string, unknown> {
  const gv = { groupVersion: `${g.name}/${g.version}`, version: g.version };
  return { name: g.name, versions: [gv], preferredVersion: gv };
}

/** Legacy /apis. */
export function apiGroupList(catalog: ResourceDefinition[]): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupsOf(catalog).filter((g) => g.name !== '').map(apiGroupEntry) };
}

/** Legacy /apis/{group}; undefined when the group is not served. */
export function apiGroup(catalog: ResourceDefinition[], group: string): object | undefined {
  const g = groupsOf(catalog).find((x) => x.name === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupEntry(g) } : undefined;
}

/** Legacy /api/v1 or /apis/{group}/{version}; undefined when not served. */
export function apiResourceList(catalog: ResourceDefinition[], group: string, version: string): object | undefined {
  const g = groupsOf(catalog).find((x) => x.name === group && x.version === version);
  if (!g) return undefined;
  const resources: object[] = [];
  for (const d of g.resources) {
    const r: Record<string, unknown> = {
      name: d.plural, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: verbsOf(d),
    };
    if (d.shortNames?.length) r.shortNames = d.shortNames;
    if (d.categories?.length) r.categories = d.categories;
    r.storageVersionHash = storageVersionHash(d);
    resources.push(r);
    for (const s of subresourcesOf(d)) {
      const sr: Record<string, unknown> = { name: `${d.plural}/${s.name}`, singularName: '', namespaced: d.namespaced, kind: s.kind, verbs: s.verbs };
      if (s.group !== d.group || s.version !== d.version) {
        sr.group = s.group;
        sr.version = s.version;
      }
      resources.push(sr);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources };
}
