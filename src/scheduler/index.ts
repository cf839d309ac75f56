/**
 * The scheduler component: `startScheduler` wires a client, the configuration, leader election on the Lease
 * kube-system/kube-scheduler and the scheduling loop, so that `skiff server` and `skiff scheduler` start it
 * the same way.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { logger } from '../base/log.ts';
import { leases } from '../api/coordination/v1/lease.ts';
import type { SharedInformerFactory } from '../client/index.ts';
import { ApiClient, LeaderElector, RestClient, clientConfigFromKubeconfig } from '../client/index.ts';
import type { SchedulerConfiguration } from './config/config.ts';
import { defaultSchedulerConfiguration, parseSchedulerConfiguration } from './config/config.ts';
import { SchedulerMetrics } from './metrics.ts';
import { Scheduler } from './scheduler.ts';

export { Scheduler, numFeasibleNodesToFind, selectHost } from './scheduler.ts';
export { SchedulerMetrics } from './metrics.ts';
export { SchedulerConfigError, defaultSchedulerConfiguration, parseSchedulerConfiguration } from './config/config.ts';
export type { SchedulerConfiguration } from './config/config.ts';

const log = logger('scheduler');

/** Options of startScheduler. */
export interface StartSchedulerOptions {
  /** A client to use; otherwise one is built from `kubeconfig`. */
  client?: ApiClient;
  /** Path of a kubeconfig (default: $KUBECONFIG or ~/.kube/config) when no client is given. */
  kubeconfig?: string;
  /** A KubeSchedulerConfiguration file (YAML or JSON). */
  configFile?: string;
  /** An already decoded configuration (takes precedence over configFile). */
  config?: SchedulerConfiguration;
  /** Overrides leaderElection.leaderElect of the configuration. */
  leaderElect?: boolean;
  /** A shared informer factory (the composition root's). */
  informers?: SharedInformerFactory;
  /** Metrics to fill (the lead merges `metrics.registry` into /metrics); one is created otherwise. */
  metrics?: SchedulerMetrics;
  /** Record Scheduled / FailedScheduling / Preempted events (default true). */
  recordEvents?: boolean;
  signal?: AbortSignal;
}

/** A running scheduler. */
export interface RunningScheduler {
  scheduler: Scheduler;
  metrics: SchedulerMetrics;
  /** Stops scheduling (releasing the lease) and waits for in-flight bindings. */
  stop(): Promise<void>;
}

/** Loads the configuration file; throws SchedulerConfigError naming the field of the first problem. */
export function loadSchedulerConfiguration(path: string | undefined): SchedulerConfiguration {
  if (!path) return defaultSchedulerConfiguration();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`unable to read scheduler configuration ${path}: ${(e as Error).message}`);
  }
  return parseSchedulerConfiguration(text, { source: path });
}

/**
 * Starts the scheduler: validates the configuration (rejecting on a malformed one), starts informers, then
 * schedules while holding the leader lease (or at once with leader election disabled). Resolves once started.
 */
export async function startScheduler(opts: StartSchedulerOptions = {}): Promise<RunningScheduler> {
  const config = opts.config ?? loadSchedulerConfiguration(opts.configFile);
  const ownClient = !opts.client;
  const api = opts.client ?? new ApiClient(new RestClient(clientConfigFromKubeconfig(opts.kubeconfig), { userAgent: 'skiff-scheduler' }));
  const metrics = opts.metrics ?? new SchedulerMetrics();
  const scheduler = new Scheduler({ api, config, informers: opts.informers, metrics, recordEvents: opts.recordEvents });
  const ctl = new AbortController();
  // Every informer, the queue and the elector listen on this one signal.
  setMaxListeners(100, ctl.signal);
  if (opts.signal) {
    if (opts.signal.aborted) ctl.abort();
    else opts.signal.addEventListener('abort', () => ctl.abort(), { once: true });
  }
  const synced = scheduler.startInformers(ctl.signal);
  const leaderElect = opts.leaderElect ?? config.leaderElection.leaderElect;
  let running: Promise<void>;
  if (!leaderElect) {
    running = synced.then((ok) => (ok ? scheduler.run(ctl.signal) : undefined));
  } else {
    const le = config.leaderElection;
    const identity = `${hostname()}_${randomUUID()}`;
    running = (async () => {
      if (!(await synced)) return;
      // Campaign again after losing the lease: in-process, the server keeps running (upstream exits instead).
      while (!ctl.signal.aborted) {
        let loop: Promise<void> = Promise.resolve();
        const elector = new LeaderElector({
          client: api.resource<Lease>(leases), namespace: le.resourceNamespace, name: le.resourceName, identity,
          leaseDurationMs: le.leaseDurationMs, renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs,
          callbacks: {
            onStartedLeading: (leading) => {
              loop = scheduler.run(leading);
            },
            onStoppedLeading: () => log.info('leader election lost', { identity }),
          },
        });
        await elector.run(ctl.signal);
        await loop;
      }
    })();
  }
  running = running.catch((e: unknown) => log.error('scheduler stopped unexpectedly', { err: e }));
  return {
    scheduler,
    metrics,
    async stop() {
      ctl.abort();
      await running;
      await scheduler.stop();
      if (ownClient) api.close();
    },
  };
}
