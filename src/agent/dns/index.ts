/**
 * Cluster DNS: `startClusterDns` serves the cluster zone from Service and EndpointSlice informers over UDP and
 * TCP; `podResolvConf` writes pods' resolv.conf for their dnsPolicy.
 */
import fs from 'node:fs';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { services } from '../../api/core/v1/index.ts';
import { endpointSlices } from '../../api/discovery/v1/endpoint-slice.ts';
import type { ApiClient } from '../../client/index.ts';
import { SharedInformer } from '../../client/index.ts';
import type { ClusterView } from './records.ts';
import { startDnsServer } from './server.ts';
import type { DnsServerOptions, RunningDnsServer } from './server.ts';
import { upstreamsFromResolvConf } from './resolv-conf.ts';

export { answerQuery, formerr, startDnsServer } from './server.ts';
export type { DnsServerOptions, RunningDnsServer } from './server.ts';
export { inZone, resolveInZone, soaRecord } from './records.ts';
export type { ClusterView, ZoneAnswer, ZoneOptions } from './records.ts';
export { formatResolvConf, parseResolvConf, podDnsConfig, podResolvConf, upstreamsFromResolvConf } from './resolv-conf.ts';
export type { PodResolvConfOptions, ResolvConf } from './resolv-conf.ts';

const byService = 'service-name';

/** Options of startClusterDns. */
export interface ClusterDnsOptions extends DnsServerOptions {
  client: ApiClient;
  /** Upstreams default to the name servers of this file (default /etc/resolv.conf); [] disables forwarding. */
  hostResolvConf?: string;
  signal?: AbortSignal;
}

/** Starts informers and the DNS server; resolves once the caches synced and the server listens. */
export async function startClusterDns(opts: ClusterDnsOptions): Promise<RunningDnsServer> {
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const svcInformer = new SharedInformer<Service>(opts.client.resource<Service>(services), { name: 'dns-services' });
  const sliceInformer = new SharedInformer<EndpointSlice>(opts.client.resource<EndpointSlice>(endpointSlices), {
    name: 'dns-endpointslices',
    indexers: { [byService]: (s) => [`${s.metadata?.namespace ?? ''}/${s.metadata?.labels?.['kubernetes.io/service-name'] ?? ''}`] },
  });
  // Any change of a Service or an EndpointSlice drops the server's answer cache.
  let version = 0;
  const bump = (): void => {
    version++;
  };
  for (const inf of [svcInformer, sliceInformer] as const) inf.addEventHandler({ onAdd: bump, onUpdate: bump, onDelete: bump });
  svcInformer.start(abort.signal);
  sliceInformer.start(abort.signal);
  await Promise.all([svcInformer.waitForSync(abort.signal), sliceInformer.waitForSync(abort.signal)]);
  const view: ClusterView = {
    service: (ns, name) => svcInformer.lister().get(ns, name),
    slices: (ns, name) => sliceInformer.lister().byIndex(byService, `${ns}/${name}`),
    version: () => version,
  };
  let upstreams = opts.upstreams;
  if (!upstreams) {
    let text = '';
    try {
      text = fs.readFileSync(opts.hostResolvConf ?? '/etc/resolv.conf', 'utf8');
    } catch {
      // no resolv.conf: names outside the cluster get SERVFAIL at once
    }
    upstreams = upstreamsFromResolvConf(text, [opts.address ?? '127.0.0.1']);
  }
  let server: RunningDnsServer;
  try {
    server = await startDnsServer(view, { ...opts, upstreams });
  } catch (e) {
    abort.abort();
    await Promise.all([svcInformer.stop(), sliceInformer.stop()]);
    throw e;
  }
  return {
    address: server.address,
    port: server.port,
    async close() {
      abort.abort();
      await server.close();
      await Promise.all([svcInformer.stop(), sliceInformer.stop()]);
    },
  };
}
