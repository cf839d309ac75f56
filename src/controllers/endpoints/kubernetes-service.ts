/**
 * The `kubernetes` Service in `default` and its endpoints (upstream: the API server's bootstrap controller and
 * endpoint reconciler). `skiff server` creates the Service itself; should it be missing, it is created here (port
 * 443 to the API server's port). Its Endpoints (labelled skip-mirror) and EndpointSlice (named `kubernetes`, as the
 * API server's EndpointsAdapter writes it) point at the address and port of the API server this client talks to.
 */
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { isIP } from 'node:net';
import { endpoints as endpointsDef, services as servicesDef } from '../../api/core/v1/index.ts';
import { endpointSlices as slicesDef } from '../../api/discovery/v1/endpoint-slice.ts';
import type { ApiClient, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists, isNotFound } from '../../client/index.ts';

/** The queue key of the `kubernetes` Service. */
export const kubernetesServiceKey = 'default/kubernetes';
/** endpointslice.kubernetes.io/skip-mirror. */
export const skipMirrorLabel = 'endpointslice.kubernetes.io/skip-mirror';

/** The API server's IP and port from the client's server URL (`localhost` is 127.0.0.1); undefined for other names. */
export function apiServerEndpoint(client: ApiClient): { ip: string; port: number } | undefined {
  return endpointFromUrl(client.rest.config.server);
}

/** The IP and port a server URL names; undefined unless the host is an IP literal or localhost. */
export function endpointFromUrl(server: string): { ip: string; port: number } | undefined {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return undefined;
  }
  let host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') host = '127.0.0.1';
  if (isIP(host) === 0) return undefined;
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { ip: host, port };
}

/** Ensures the Service, its Endpoints and its EndpointSlice point at `ep`. */
export async function reconcileKubernetesService(client: ApiClient, ep: { ip: string; port: number }): Promise<void> {
  const svcClient = client.resource<Service>(servicesDef);
  try {
    await svcClient.get('kubernetes', { namespace: 'default' });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await svcClient.create({
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: ep.port }], sessionAffinity: 'None' },
    }, { namespace: 'default' }).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }
  const v6 = ep.ip.includes(':');
  const subsets = [{ addresses: [{ ip: ep.ip }], ports: [{ name: 'https', port: ep.port, protocol: 'TCP' as const }] }];
  const epClient = client.resource<Endpoints>(endpointsDef);
  const wantEp: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { [skipMirrorLabel]: 'true' } }, subsets };
  await upsert(epClient, wantEp, (cur) => JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets) && cur.metadata?.labels?.[skipMirrorLabel] === 'true');
  const sliceClient = client.resource<EndpointSlice>(slicesDef);
  const wantSlice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: v6 ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [ep.ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: ep.port, protocol: 'TCP' }],
  };
  await upsert(sliceClient, wantSlice, (cur) => JSON.stringify([cur.addressType, cur.endpoints, cur.ports]) === JSON.stringify([wantSlice.addressType, wantSlice.endpoints, wantSlice.ports]));
}

async function upsert<T extends Endpoints | EndpointSlice>(c: ResourceClient<T>, want: T, same: (cur: T) => boolean): Promise<void> {
  let cur: T | undefined;
  try {
    cur = await c.get(want.metadata?.name ?? '', { namespace: 'default' });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (!cur) {
    await c.create(want, { namespace: 'default' }).catch((e: unknown) => {
      if (!isAlreadyExists(e)) throw e;
    });
    return;
  }
  if (same(cur)) return;
  await c.update({ ...want, metadata: { ...cur.metadata, labels: { ...(cur.metadata?.labels ?? {}), ...(want.metadata?.labels ?? {}) } } } as T, { namespace: 'default' });
}
