/**
 * The service proxy loop: Services and EndpointSlices come from informers; any change marks the state dirty and
 * one sync (rules rebuilt from the caches, written in one atomic batch: `nft -f`, or `iptables-restore --noflush`
 * where nft is missing) runs at a time, coalescing bursts. A periodic sync repairs rules someone else removed.
 * `cleanup` removes the nft table, every iptables chain with the proxy's prefix and the jumps to them.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { services } from '../../api/core/v1/index.ts';
import { endpointSlices } from '../../api/discovery/v1/endpoint-slice.ts';
import { logger } from '../../base/log.ts';
import type { ApiClient } from '../../client/index.ts';
import { SharedInformer } from '../../client/index.ts';
import { chainsWithPrefix, hostIptables } from './iptables.ts';
import type { Iptables } from './iptables.ts';
import { hostNft, nftAvailable } from './nft.ts';
import type { Nft } from './nft.ts';
import { defaultNftTable } from './nft-rules.ts';
import { createNftSyncer } from './nft-sync.ts';
import { buildProxyRules, defaultChainPrefix, jumpRules, renderRestore } from './rules.ts';
import type { ProxyRules, ProxyRulesOptions } from './rules.ts';

const log = logger('service-proxy');

/** Options of startServiceProxy. */
export interface ServiceProxyOptions extends ProxyRulesOptions {
  client: ApiClient;
  /** Full resync period (default 30 s). */
  syncPeriodMs?: number;
  /** Remove every rule on stop (default false: rules stay so that traffic keeps flowing across a restart). */
  cleanupOnStop?: boolean;
  /** Backend: nftables, iptables, or auto (default: nftables when `nft` works here, else iptables). */
  mode?: ProxyMode;
  /** The nftables table (family ip; default skiff). */
  nftTable?: string;
  iptables?: Iptables;
  nft?: Nft;
  signal?: AbortSignal;
}

/** The proxy's rule backends. */
export type ProxyMode = 'auto' | 'nftables' | 'iptables';

/** The backend `auto` picks: nftables when the nft binary can read the ruleset, else iptables. */
export async function detectProxyMode(opts: { nftBinary?: string } = {}): Promise<'nftables' | 'iptables'> {
  return (await nftAvailable(opts.nftBinary ? { binary: opts.nftBinary } : {})) ? 'nftables' : 'iptables';
}

/** A running service proxy. */
export interface RunningServiceProxy {
  /** Rebuilds and writes the rules now; resolves when written. */
  syncNow(): Promise<void>;
  /** The backend in use. */
  readonly mode: 'nftables' | 'iptables';
  /** Duration of the last sync in ms, and how many service ports it programmed. */
  readonly lastSync: { ms: number; servicePorts: number; at: number } | undefined;
  stop(): Promise<void>;
}

/**
 * Removes everything the proxy wrote: the nft table (when nft works here) and every iptables chain starting with
 * the prefix, with the jumps to them from the built-in chains.
 */
export async function cleanupProxyRules(opts: { chainPrefix?: string; nftTable?: string; iptables?: Iptables; nft?: Nft } = {}): Promise<void> {
  const nft = opts.nft ?? ((await nftAvailable()) ? hostNft() : undefined);
  await nft?.deleteTable(opts.nftTable ?? defaultNftTable);
  await cleanupIptables(opts);
}

async function cleanupIptables(opts: { chainPrefix?: string; iptables?: Iptables }): Promise<void> {
  const ipt = opts.iptables ?? hostIptables();
  // An nft-only host has no iptables binaries, hence no iptables rules of ours.
  if (!opts.iptables && !(await ipt.run(['--version']).then(() => true, () => false))) return;
  const prefix = opts.chainPrefix ?? defaultChainPrefix;
  for (const j of jumpRules({ chainPrefix: prefix })) {
    // A rule may have been inserted more than once (by crashed earlier runs): delete until none is left.
    for (let i = 0; i < 16 && (await ipt.run(['-t', j.table, '-D', j.chain, ...j.args])) === 0; i++);
  }
  const nat = chainsWithPrefix(await ipt.save('nat'), prefix);
  const filter = chainsWithPrefix(await ipt.save('filter'), prefix);
  if (nat.length === 0 && filter.length === 0) return;
  const text = [
    '*filter', ...filter.map((c) => `:${c} - [0:0]`), ...filter.map((c) => `-X ${c}`), 'COMMIT',
    '*nat', ...nat.map((c) => `:${c} - [0:0]`), ...nat.map((c) => `-X ${c}`), 'COMMIT', '',
  ].join('\n');
  await ipt.restore(text);
}

/** Ensures the jumps from the built-in chains exist (inserted first, as kube-proxy does). */
async function ensureJumps(ipt: Iptables, prefix: string): Promise<void> {
  for (const j of jumpRules({ chainPrefix: prefix })) {
    if ((await ipt.run(['-t', j.table, '-C', j.chain, ...j.args])) === 0) continue;
    const code = await ipt.run(['-t', j.table, '-I', j.chain, ...j.args]);
    if (code !== 0) throw new Error(`cannot insert the jump to ${j.args.at(-1) ?? ''} in ${j.table}/${j.chain} (exit ${code})`);
  }
}

/** One backend's sync: `full` rewrites everything (start, periodic repair, after a failure). */
interface Syncer {
  readonly mode: 'nftables' | 'iptables';
  sync(svcs: Service[], slices: EndpointSlice[], full: boolean): Promise<number>;
  cleanup(): Promise<void>;
}

async function iptablesSyncer(ipt: Iptables, opts: ServiceProxyOptions): Promise<Syncer> {
  const prefix = opts.chainPrefix ?? defaultChainPrefix;
  // Chains written by an earlier run are known from the start, so that the first sync deletes the stale ones.
  let known = {
    nat: new Set(chainsWithPrefix(await ipt.save('nat'), prefix)),
    filter: new Set(chainsWithPrefix(await ipt.save('filter'), prefix)),
  };
  // The rules last written; undefined forces a full sync.
  let previous: ProxyRules | undefined;
  return {
    mode: 'iptables',
    async sync(svcs, slices, full) {
      if (full) previous = undefined;
      const rules = buildProxyRules(svcs, slices, opts);
      const text = renderRestore(rules, known, previous ? { previous } : {});
      const wasFull = !previous;
      previous = undefined;
      await ipt.restore(text);
      // After the restore: the chains must exist before a jump to them can be inserted.
      if (wasFull) await ensureJumps(ipt, prefix);
      known = { nat: rules.natChains, filter: rules.filterChains };
      previous = rules;
      return rules.servicePorts;
    },
    cleanup: () => cleanupIptables({ chainPrefix: prefix, iptables: ipt }),
  };
}

function nftSyncer(nft: Nft, opts: ServiceProxyOptions): Syncer {
  const table = opts.nftTable ?? defaultNftTable;
  const syncer = createNftSyncer(nft, { ...opts, table });
  return {
    mode: 'nftables',
    async sync(svcs, slices, full) {
      try {
        const stats = await syncer.sync(svcs, slices, { full });
        log.v(4).info('nft rules written', { ...stats });
        return stats.servicePorts;
      } catch (e) {
        syncer.reset();
        throw e;
      }
    },
    cleanup: async () => {
      await nft.deleteTable(table);
    },
  };
}

/** Starts the proxy; resolves after the informers synced and the first rules were written. */
export async function startServiceProxy(opts: ServiceProxyOptions): Promise<RunningServiceProxy> {
  const prefix = opts.chainPrefix ?? defaultChainPrefix;
  const mode = opts.mode && opts.mode !== 'auto' ? opts.mode : (opts.nft ? 'nftables' : await detectProxyMode());
  const syncer = mode === 'nftables' ? nftSyncer(opts.nft ?? hostNft(), opts) : await iptablesSyncer(opts.iptables ?? hostIptables(), opts);
  // Rules of the other backend (an earlier run before nft was installed, or the reverse) would shadow these.
  if (mode === 'nftables') await cleanupIptables({ chainPrefix: prefix, ...(opts.iptables ? { iptables: opts.iptables } : {}) }).catch((e: unknown) => log.v(2).info('no iptables rules removed', { err: e }));
  else if (opts.nft || (await nftAvailable())) await (opts.nft ?? hostNft()).deleteTable(opts.nftTable ?? defaultNftTable);
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const svcInformer = new SharedInformer<Service>(opts.client.resource<Service>(services), { name: 'proxy-services' });
  const sliceInformer = new SharedInformer<EndpointSlice>(opts.client.resource<EndpointSlice>(endpointSlices), { name: 'proxy-endpointslices' });

  let lastSync: RunningServiceProxy['lastSync'];
  let running: Promise<void> | undefined;
  let dirty = false;
  let full = true;

  const syncOnce = async (): Promise<void> => {
    const t0 = performance.now();
    const wantFull = full;
    full = false;
    let servicePorts: number;
    try {
      servicePorts = await syncer.sync(svcInformer.lister().list(), sliceInformer.lister().list(), wantFull);
    } catch (e) {
      full = true;
      throw e;
    }
    lastSync = { ms: performance.now() - t0, servicePorts, at: Date.now() };
    log.v(4).info('rules synced', { mode, ms: Math.round(lastSync.ms), servicePorts, full: wantFull });
  };

  // One sync at a time; changes during a sync cause exactly one more.
  const sync = (): Promise<void> => {
    dirty = true;
    if (running) return running.then(() => (dirty ? sync() : undefined));
    running = (async () => {
      while (dirty && !abort.signal.aborted) {
        dirty = false;
        try {
          await syncOnce();
        } catch (e) {
          log.error('rule sync failed', { err: e });
          throw e;
        }
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const kick = (): void => {
    sync().catch(() => undefined); // logged in sync; the periodic sync retries
  };
  const handler = { onAdd: kick, onUpdate: kick, onDelete: kick };
  svcInformer.start(abort.signal);
  sliceInformer.start(abort.signal);
  await Promise.all([svcInformer.waitForSync(abort.signal), sliceInformer.waitForSync(abort.signal)]);
  await sync();
  svcInformer.addEventHandler(handler);
  sliceInformer.addEventHandler(handler);
  const timer = setInterval(() => {
    full = true;
    kick();
  }, opts.syncPeriodMs ?? 30_000);
  timer.unref();
  log.info('service proxy started', { node: opts.nodeName, mode, servicePorts: lastSync?.servicePorts ?? 0 });

  let stopped = false;
  return {
    mode,
    syncNow: sync,
    get lastSync() {
      return lastSync;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      abort.abort();
      await Promise.all([svcInformer.stop(), sliceInformer.stop()]);
      await running?.catch(() => undefined);
      if (opts.cleanupOnStop) await syncer.cleanup();
    },
  };
}
