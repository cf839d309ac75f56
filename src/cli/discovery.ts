/**
 * Discovery for the CLI (client-go's cached discovery client plus kubectl's RESTMapper and shortcut
 * expander): reads aggregated discovery (falling back to the legacy per-group-version lists), keeps kubectl's
 * on-disk cache layout (`<cache>/discovery/<host_port>/servergroups.json` and
 * `<group>/<version>/serverresources.json`, valid for 6 hours) so that skiff and kubectl share it, and
 * resolves what users type (`po`, `pod`, `pods`, `Pod`, `deploy.apps`, `deployments.v1.apps`, `all`).
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RestClient } from '../client/index.ts';
import { CliError } from './errors.ts';

const AGGREGATED_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const CACHE_TTL_MS = 6 * 60 * 60 * 1000;

/** One resource as the CLI sees it (an APIResource with its group and version filled in). */
export interface ApiResourceInfo {
  /** Plural resource name (`pods`), or `pods/log` for a subresource. */
  name: string;
  singularName: string;
  namespaced: boolean;
  group: string;
  version: string;
  kind: string;
  verbs: string[];
  shortNames: string[];
  categories: string[];
}

/** A group and its versions, the preferred one first. */
export interface ApiGroupInfo {
  name: string;
  versions: string[];
  preferredVersion: string;
}

interface ApiResourceListJson {
  kind: 'APIResourceList';
  apiVersion: 'v1';
  groupVersion: string;
  resources: {
    name: string;
    singularName: string;
    namespaced: boolean;
    group?: string;
    version?: string;
    kind: string;
    verbs: string[];
    shortNames?: string[];
    categories?: string[];
  }[];
}

interface ApiGroupListJson {
  kind: 'APIGroupList';
  apiVersion: 'v1';
  groups: { name: string; versions: { groupVersion: string; version: string }[]; preferredVersion: { groupVersion: string; version: string } }[];
}

/** The server's groups and resources, with kubectl's resolution rules. */
export class Discovery {
  private readonly rest: RestClient;
  private readonly dir: string;
  private state?: { groups: ApiGroupInfo[]; resources: Map<string, ApiResourceInfo[]> };

  constructor(rest: RestClient, opts: { cacheDir: string }) {
    this.rest = rest;
    this.dir = join(opts.cacheDir, 'discovery', cacheKeyFor(rest.config.server));
  }

  /** All groups (core first), from the cache when fresh unless `fresh`. */
  async groups(opts: { fresh?: boolean } = {}): Promise<ApiGroupInfo[]> {
    return (await this.load(opts.fresh ?? false)).groups;
  }

  /** Every resource of every served group-version (subresources included as `pods/log`), in discovery order. */
  async allResources(opts: { fresh?: boolean } = {}): Promise<ApiResourceInfo[]> {
    const s = await this.load(opts.fresh ?? false);
    const out: ApiResourceInfo[] = [];
    for (const g of s.groups) for (const v of g.versions) out.push(...(s.resources.get(gv(g.name, v)) ?? []));
    return out;
  }

  /** Top-level resources of each group's preferred version (what kubectl resolves names against). */
  async preferredResources(opts: { fresh?: boolean } = {}): Promise<ApiResourceInfo[]> {
    const s = await this.load(opts.fresh ?? false);
    const out: ApiResourceInfo[] = [];
    for (const g of s.groups) {
      for (const r of s.resources.get(gv(g.name, g.preferredVersion)) ?? []) if (!r.name.includes('/')) out.push(r);
    }
    return out;
  }

  /**
   * Resolves one resource argument as kubectl does; `all` and other categories expand to several resources.
   * On a miss the cache is refreshed once; then it fails with `the server doesn't have a resource type "x"`.
   */
  async resolve(arg: string): Promise<ApiResourceInfo[]> {
    let found = match(await this.preferredResources(), await this.allResources(), arg);
    if (found.length === 0 && !this.freshlyLoaded) {
      found = match(await this.preferredResources({ fresh: true }), await this.allResources(), arg);
    }
    if (found.length === 0) throw noResourceError(arg);
    return found;
  }

  /** Resolves a resource argument that must name exactly one resource (not a category). */
  async resolveOne(arg: string): Promise<ApiResourceInfo> {
    const all = await this.resolve(arg);
    return all[0]!;
  }

  /** Finds the resource serving a kind (`apps/v1` + `Deployment`), as kubectl's RESTMapping does for files. */
  async forKind(apiVersion: string, kind: string): Promise<ApiResourceInfo> {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) as [string, string] : ['', apiVersion];
    const find = async (fresh: boolean): Promise<ApiResourceInfo | undefined> =>
      (await this.allResources({ fresh })).find((r) => r.group === group && r.version === version && r.kind === kind && !r.name.includes('/'));
    const r = (await find(false)) ?? (this.freshlyLoaded ? undefined : await find(true));
    if (!r) {
      throw new CliError(`resource mapping not found for name: "" namespace: "" from "": no matches for kind "${kind}" in version "${apiVersion}"\nensure CRDs are installed first`);
    }
    return r;
  }

  private freshlyLoaded = false;

  private async load(fresh: boolean): Promise<{ groups: ApiGroupInfo[]; resources: Map<string, ApiResourceInfo[]> }> {
    if (this.state && (!fresh || this.freshlyLoaded)) return this.state;
    if (!fresh) {
      const cached = this.readCache();
      if (cached) return (this.state = cached);
    }
    this.state = await this.fetch();
    this.freshlyLoaded = true;
    this.writeCache(this.state);
    return this.state;
  }

  private async fetch(): Promise<{ groups: ApiGroupInfo[]; resources: Map<string, ApiResourceInfo[]> }> {
    const [core, named] = await Promise.all([
      this.rest.request<unknown>({ path: '/api', query: { timeout: '32s' }, accept: AGGREGATED_ACCEPT }),
      this.rest.request<unknown>({ path: '/apis', query: { timeout: '32s' }, accept: AGGREGATED_ACCEPT }),
    ]);
    const groups: ApiGroupInfo[] = [];
    const resources = new Map<string, ApiResourceInfo[]>();
    const isAggregated = (h: string | string[] | undefined): boolean => String(h ?? '').includes('as=APIGroupDiscoveryList');
    const legacy: { group: string; version: string }[] = [];
    for (const res of [core, named]) {
      if (isAggregated(res.headers['content-type'])) {
        for (const g of (res.body as AggregatedList).items ?? []) {
          const name = g.metadata?.name ?? '';
          const versions = (g.versions ?? []).map((v) => v.version);
          if (versions.length === 0) continue;
          groups.push({ name, versions, preferredVersion: versions[0]! });
          for (const v of g.versions ?? []) resources.set(gv(name, v.version), fromAggregated(name, v));
        }
      } else {
        const body = res.body as { kind?: string; versions?: string[]; groups?: ApiGroupListJson['groups'] };
        if (body.kind === 'APIVersions') {
          const versions = body.versions ?? [];
          if (versions.length > 0) groups.push({ name: '', versions, preferredVersion: versions[0]! });
          for (const v of versions) legacy.push({ group: '', version: v });
        } else {
          for (const g of body.groups ?? []) {
            const versions = g.versions.map((v) => v.version);
            groups.push({ name: g.name, versions, preferredVersion: g.preferredVersion?.version ?? versions[0] ?? '' });
            for (const v of versions) legacy.push({ group: g.name, version: v });
          }
        }
      }
    }
    await Promise.all(
      legacy.map(async ({ group, version }) => {
        const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
        const r = await this.rest.request<ApiResourceListJson>({ path, query: { timeout: '32s' }, accept: 'application/json, */*' });
        resources.set(gv(group, version), fromResourceList(group, version, r.body));
      }),
    );
    return { groups, resources };
  }

  private readCache(): { groups: ApiGroupInfo[]; resources: Map<string, ApiResourceInfo[]> } | undefined {
    try {
      const file = join(this.dir, 'servergroups.json');
      if (Date.now() - statSync(file).mtimeMs > CACHE_TTL_MS) return undefined;
      const list = JSON.parse(readFileSync(file, 'utf8')) as ApiGroupListJson;
      const groups: ApiGroupInfo[] = [];
      const resources = new Map<string, ApiResourceInfo[]>();
      for (const g of list.groups ?? []) {
        const versions = g.versions.map((v) => v.version);
        groups.push({ name: g.name, versions, preferredVersion: g.preferredVersion?.version ?? versions[0] ?? '' });
        for (const v of versions) {
          const f = join(this.dir, g.name === '' ? '' : g.name, v, 'serverresources.json');
          if (Date.now() - statSync(f).mtimeMs > CACHE_TTL_MS) return undefined;
          resources.set(gv(g.name, v), fromResourceList(g.name, v, JSON.parse(readFileSync(f, 'utf8')) as ApiResourceListJson));
        }
      }
      return groups.length > 0 ? { groups, resources } : undefined;
    } catch {
      return undefined;
    }
  }

  private writeCache(s: { groups: ApiGroupInfo[]; resources: Map<string, ApiResourceInfo[]> }): void {
    try {
      const groupList: ApiGroupListJson = {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: s.groups.map((g) => ({
          name: g.name,
          versions: g.versions.map((v) => ({ groupVersion: gv(g.name, v), version: v })),
          preferredVersion: { groupVersion: gv(g.name, g.preferredVersion), version: g.preferredVersion },
        })),
      };
      for (const g of s.groups) {
        for (const v of g.versions) {
          const d = join(this.dir, g.name, v);
          mkdirSync(d, { recursive: true, mode: 0o750 });
          atomicWrite(join(d, 'serverresources.json'), JSON.stringify(toResourceList(g.name, v, s.resources.get(gv(g.name, v)) ?? [])));
        }
      }
      atomicWrite(join(this.dir, 'servergroups.json'), JSON.stringify(groupList));
    } catch {
      // A cache that cannot be written only costs the next command a discovery round trip.
    }
  }
}

interface AggregatedList {
  items?: {
    metadata?: { name?: string };
    versions?: AggregatedVersion[];
  }[];
}

interface AggregatedVersion {
  version: string;
  resources?: {
    resource: string;
    responseKind?: { group?: string; version?: string; kind?: string };
    scope?: string;
    singularResource?: string;
    verbs?: string[];
    shortNames?: string[];
    categories?: string[];
    subresources?: { subresource: string; responseKind?: { group?: string; version?: string; kind?: string }; verbs?: string[] }[];
  }[];
}

function gv(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

function fromAggregated(group: string, v: AggregatedVersion): ApiResourceInfo[] {
  const out: ApiResourceInfo[] = [];
  for (const r of v.resources ?? []) {
    const namespaced = r.scope === 'Namespaced';
    out.push({
      name: r.resource,
      singularName: r.singularResource ?? '',
      namespaced,
      group,
      version: v.version,
      kind: r.responseKind?.kind ?? '',
      verbs: r.verbs ?? [],
      shortNames: r.shortNames ?? [],
      categories: r.categories ?? [],
    });
    for (const s of r.subresources ?? []) {
      out.push({
        name: `${r.resource}/${s.subresource}`,
        singularName: r.singularResource ?? '',
        namespaced,
        group: s.responseKind?.group ?? group,
        version: s.responseKind?.version ?? v.version,
        kind: s.responseKind?.kind ?? '',
        verbs: s.verbs ?? [],
        shortNames: [],
        categories: [],
      });
    }
  }
  return out;
}

function fromResourceList(group: string, version: string, list: ApiResourceListJson): ApiResourceInfo[] {
  return (list.resources ?? []).map((r) => ({
    name: r.name,
    singularName: r.singularName ?? '',
    namespaced: r.namespaced,
    group: r.group ?? group,
    version: r.version ?? version,
    kind: r.kind,
    verbs: r.verbs ?? [],
    shortNames: r.shortNames ?? [],
    categories: r.categories ?? [],
  }));
}

function toResourceList(group: string, version: string, rs: ApiResourceInfo[]): ApiResourceListJson {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv(group, version),
    resources: rs.map((r) => {
      const e: ApiResourceListJson['resources'][number] = { name: r.name, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs };
      // Subresources served from another group (deployments/scale → autoscaling) record it, as upstream does.
      if (r.group !== group) e.group = r.group;
      e.version = r.version;
      if (r.shortNames.length > 0) e.shortNames = r.shortNames;
      if (r.categories.length > 0) e.categories = r.categories;
      return e;
    }),
  };
}

function atomicWrite(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o660 });
  renameSync(tmp, file);
}

/** kubectl's computeDiscoverCacheDir: the server's host:port with unsafe characters replaced by `_`. */
export function cacheKeyFor(server: string): string {
  const schemeless = server.replace(/^https?:\/\//, '');
  return schemeless.replace(/[^\w/.]/g, '_');
}

function match(preferred: ApiResourceInfo[], all: ApiResourceInfo[], rawArg: string): ApiResourceInfo[] {
  const arg = rawArg.toLowerCase();
  // Categories (`all`) expand to every member, in discovery order.
  if (!arg.includes('.')) {
    const byShort = preferred.find((r) => r.shortNames.includes(arg));
    if (byShort) return [byShort];
    const exact = preferred.filter((r) => r.name === arg || r.singularName === arg || r.kind.toLowerCase() === arg);
    if (exact.length > 0) return [exact[0]!];
    const cat = preferred.filter((r) => r.categories.includes(arg));
    if (cat.length > 0) return cat;
    return [];
  }
  // resource.version.group, then resource.group.
  const parts = arg.split('.');
  const head = parts[0]!;
  const matchesName = (r: ApiResourceInfo): boolean => r.name === head || r.singularName === head || r.kind.toLowerCase() === head || r.shortNames.includes(head);
  if (parts.length >= 3) {
    const version = parts[1]!;
    const group = parts.slice(2).join('.');
    const hit = all.find((r) => !r.name.includes('/') && r.group === group && r.version === version && matchesName(r));
    if (hit) return [hit];
  }
  const group = parts.slice(1).join('.');
  const hit = preferred.find((r) => r.group === group && matchesName(r));
  return hit ? [hit] : [];
}

function noResourceError(arg: string): CliError {
  const parts = arg.split('.');
  if (parts.length >= 2) {
    return new CliError(`the server doesn't have a resource type ${JSON.stringify(parts[0])} in group ${JSON.stringify(parts.slice(1).join('.'))}`, { raw: false });
  }
  return new CliError(`the server doesn't have a resource type ${JSON.stringify(arg)}`);
}

/** `kind.group` as kubectl prints it in messages (`deployment.apps`, `pod`). */
export function kindGroup(r: Pick<ApiResourceInfo, 'kind' | 'group'>): string {
  return r.group === '' ? r.kind.toLowerCase() : `${r.kind.toLowerCase()}.${r.group}`;
}

/** `resource.group` as upstream messages spell it (`deployments.apps`, `pods`). */
export function resourceGroup(r: Pick<ApiResourceInfo, 'name' | 'group'>): string {
  return r.group === '' ? r.name : `${r.name}.${r.group}`;
}
