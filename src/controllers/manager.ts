/**
 * The controller manager: elects a leader through the Lease kube-system/kube-controller-manager, and while leading
 * runs the enabled controllers over one SharedInformerFactory (caches synced before any worker starts); losing
 * leadership stops them all and the candidate campaigns again, so several servers run exactly one active set.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import { logger } from '../base/log.ts';
import { leases } from '../api/coordination/v1/lease.ts';
import { ApiClient, clientConfigFromKubeconfig, LeaderElector, RestClient, SharedInformerFactory } from '../client/index.ts';
import type { Controller, ControllerFactory } from './controller.ts';
import { recorderCache, runWorkers, servedKinds } from './controller.ts';
import { catalog } from '../api/catalog.ts';
import type { ResourceDefinition } from '../api/resource.ts';
import { controllerFactories, defaultControllers } from './registry.ts';

const log = logger('controller-manager');

/** Options of startControllerManager: a kubeconfig path or a ready client. */
export interface ControllerManagerOptions {
  /** Path of a kubeconfig (ignored when `client` is given). */
  kubeconfig?: string;
  client?: ApiClient;
  signal?: AbortSignal;
  /** upstream's --controllers: names, `*` for the defaults, `-name` to disable one (default `['*']`). */
  controllers?: string[];
  /** Campaign for the Lease before running (default true). */
  leaderElect?: boolean;
  /** Candidate identity (default `<hostname>_<uuid>`). */
  identity?: string;
  /** Workers per controller (default 5, as upstream's ConcurrentXSyncs). */
  workers?: number;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  /** Extra controllers by name (tests), merged over the built-in ones. */
  factories?: Record<string, ControllerFactory>;
}

/** A running controller manager. */
export interface RunningControllerManager {
  /** True while this instance leads and runs the controllers. */
  isLeader(): boolean;
  /** Resolves once the controllers run (after leading and syncing caches); false if stopped first. */
  waitUntilRunning(signal?: AbortSignal): Promise<boolean>;
  /** The names of the controllers that run while leading. */
  readonly controllers: string[];
  /** Stops the controllers, releases the Lease and closes the client if it made it. */
  stop(): Promise<void>;
}

/** The lease the controller managers of one cluster compete for. */
export const controllerManagerLease = { namespace: 'kube-system', name: 'kube-controller-manager' } as const;

/** Resolves upstream-style --controllers into an ordered list of known names; throws on an unknown one. */
export function resolveControllers(spec: string[], known: string[]): string[] {
  const enabled = new Set<string>();
  const disabled = new Set<string>();
  for (const raw of spec.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (raw === '*') {
      for (const n of defaultControllers) enabled.add(n);
      continue;
    }
    const name = raw.startsWith('-') ? raw.slice(1) : raw;
    if (!known.includes(name)) throw new Error(`unknown controller ${JSON.stringify(name)} (known: ${known.join(', ')})`);
    if (raw.startsWith('-')) disabled.add(name);
    else enabled.add(name);
  }
  return known.filter((n) => enabled.has(n) && !disabled.has(n));
}

/** Starts the controller manager; resolves once started (not once leading). */
export async function startControllerManager(opts: ControllerManagerOptions): Promise<RunningControllerManager> {
  const ownClient = !opts.client;
  const client = opts.client ?? new ApiClient(new RestClient(clientConfigFromKubeconfig(opts.kubeconfig), { userAgent: 'skiff-controller-manager' }));
  const clock = opts.clock ?? realClock;
  const factories = { ...controllerFactories, ...(opts.factories ?? {}) };
  const names = resolveControllers(opts.controllers ?? ['*'], Object.keys(factories));
  const stopCtl = new AbortController();
  setMaxListeners(0, stopCtl.signal);
  if (opts.signal) {
    if (opts.signal.aborted) stopCtl.abort();
    else opts.signal.addEventListener('abort', () => stopCtl.abort(), { once: true });
  }
  let leading = false;
  let running = false;
  const runningWaiters = new Set<() => void>();

  const lead = async (signal: AbortSignal): Promise<void> => {
    leading = true;
    // Every informer and worker listens on this one signal.
    setMaxListeners(0, signal);
    const informers = new SharedInformerFactory(client, { clock });
    const recorders = recorderCache(client, clock);
    const controllers: Controller[] = [];
    try {
      let served: ResourceDefinition[] | undefined;
      while (!served) {
        try {
          served = await servedKinds(client, catalog, { signal });
        } catch (e) {
          if (signal.aborted) return;
          log.warn('discovery failed, retrying', { err: e });
          await clock.sleep(1000, { signal }).catch(() => undefined);
        }
      }
      const ctx = { client, informers, clock, recorder: (c: string) => recorders.get(c), workers: opts.workers ?? 5, served };
      for (const n of names) controllers.push(factories[n]!(ctx));
      informers.start(signal);
      if (!(await informers.waitForCacheSync(signal))) return;
      log.info('caches synced, starting controllers', { controllers: names });
      running = true;
      for (const w of [...runningWaiters]) w();
      const loops = controllers.flatMap((c) => [runWorkers(c, signal), ...(c.run ? [c.run(signal)] : [])]);
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      for (const c of controllers) c.queue.shutDown();
      await Promise.allSettled(loops);
    } finally {
      running = false;
      leading = false;
      for (const c of controllers) c.queue.shutDown();
      await informers.shutdown();
      await recorders.stop();
      log.info('controllers stopped');
    }
  };

  let loop: Promise<void>;
  if (opts.leaderElect === false) {
    loop = lead(stopCtl.signal).catch((e: unknown) => log.error('controller manager failed', { err: e }));
  } else {
    const identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    loop = (async () => {
      while (!stopCtl.signal.aborted) {
        let leaderRun: Promise<void> | undefined;
        const elector = new LeaderElector({
          client: client.resource<Lease>(leases),
          namespace: controllerManagerLease.namespace,
          name: controllerManagerLease.name,
          identity,
          leaseDurationMs: opts.leaseDurationMs,
          renewDeadlineMs: opts.renewDeadlineMs,
          retryPeriodMs: opts.retryPeriodMs,
          clock,
          callbacks: {
            onStartedLeading: (signal) => {
              leaderRun = lead(signal).catch((e: unknown) => log.error('controllers failed', { err: e }));
            },
            onNewLeader: (id) => log.info('new leader elected', { leader: id, self: id === identity }),
          },
        });
        await elector.run(stopCtl.signal);
        if (leaderRun) await leaderRun;
        if (!stopCtl.signal.aborted) log.warn('leader election lost, campaigning again', { identity });
      }
    })();
  }

  return {
    controllers: names,
    isLeader: () => leading,
    waitUntilRunning(signal) {
      if (running) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (v: boolean): void => {
          runningWaiters.delete(ok);
          signal?.removeEventListener('abort', no);
          stopCtl.signal.removeEventListener('abort', no);
          resolve(v);
        };
        const ok = (): void => done(true);
        const no = (): void => done(false);
        runningWaiters.add(ok);
        signal?.addEventListener('abort', no, { once: true });
        stopCtl.signal.addEventListener('abort', no, { once: true });
      });
    },
    async stop() {
      stopCtl.abort();
      await loop;
      if (ownClient) client.close();
    },
  };
}
