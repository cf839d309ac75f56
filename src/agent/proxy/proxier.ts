/**
 * The service proxy loop: Services and EndpointSlices come from informers; any change marks the state dirty and
 * one sync (rules rebuilt from the caches, written in one `iptables-restore --noflush` batch) runs at a time,
 * coalescing bursts. A periodic sync repairs rules someone else removed. `cleanup` removes every chain with the
 * proxy's prefix and the jumps to them.
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
  iptables?: Iptables;
  signal?: AbortSignal;
}

/** A running service proxy. */
export interface RunningServiceProxy {
  /** Rebuilds and writes the rules now; resolves when written. */
  syncNow(): Promise<void>;
  /** Duration of the last sync in ms, and how many service ports it programmed. */
  readonly lastSync: { ms: number; servicePorts: number; at: number } | undefined;
  stop(): Promise<void>;
}

/** Removes every chain starting with the prefix, and the jumps to them from the built-in chains. */
export async function cleanupProxyRules(opts: { chainPrefix?: string; iptables?: Iptables } = {}): Promise<void> {
  const ipt = opts.iptables ?? hostIptables();
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

/** Starts the proxy; resolves after the informers synced and the first rules were written. */
export async function startServiceProxy(opts: ServiceProxyOptions): Promise<RunningServiceProxy> {
  const ipt = opts.iptables ?? hostIptables();
  const prefix = opts.chainPrefix ?? defaultChainPrefix;
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const svcInformer = new SharedInformer<Service>(opts.client.resource<Service>(services), { name: 'proxy-services' });
  const sliceInformer = new SharedInformer<EndpointSlice>(opts.client.resource<EndpointSlice>(endpointSlices), { name: 'proxy-endpointslices' });

  // Chains written by an earlier run are known from the start, so that the first sync deletes the stale ones.
  let known = {
    nat: new Set(chainsWithPrefix(await ipt.save('nat'), prefix)),
    filter: new Set(chainsWithPrefix(await ipt.save('filter'), prefix)),
  };
  let lastSync: RunningServiceProxy['lastSync'];
  let running: Promise<void> | undefined;
  let dirty = false;
  let jumpsChecked = false;
  // The rules last written; undefined forces a full sync (start, periodic repair, after a failure).
  let previous: ProxyRules | undefined;

  const syncOnce = async (): Promise<void> => {
    const t0 = performance.now();
    const rules = buildProxyRules(svcInformer.lister().list(), sliceInformer.lister().list(), opts);
    const text = renderRestore(rules, known, previous ? { previous } : {});
    previous = undefined;
    await ipt.restore(text);
    if (!jumpsChecked) {
      // After the restore: the chains must exist before a jump to them can be inserted.
      await ensureJumps(ipt, prefix);
      jumpsChecked = true;
    }
    known = { nat: rules.natChains, filter: rules.filterChains };
    previous = rules;
    lastSync = { ms: performance.now() - t0, servicePorts: rules.servicePorts, at: Date.now() };
    log.v(4).info('rules synced', { ms: Math.round(lastSync.ms), servicePorts: rules.servicePorts });
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
    jumpsChecked = false;
    previous = undefined;
    kick();
  }, opts.syncPeriodMs ?? 30_000);
  timer.unref();
  log.info('service proxy started', { node: opts.nodeName, prefix, servicePorts: lastSync?.servicePorts ?? 0 });

  let stopped = false;
  return {
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
      if (opts.cleanupOnStop) await cleanupProxyRules({ chainPrefix: prefix, iptables: ipt });
    },
  };
}
