/**
 * The shape every controller has (ARCHITECTURE.md §6): informer handlers only add `namespace/name` keys to a
 * de-duplicating, rate-limited work queue; workers call `reconcile(key)`, which reads the informer caches, writes
 * through the client and returns `{ requeueAfter }` or throws (the key is retried with rate-limited back-off).
 */
import type { Event as CoreEvent } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../base/clock.ts';
import { isAbortError } from '../base/clock.ts';
import { logger } from '../base/log.ts';
import { events } from '../api/core/v1/event.ts';
import type { ResourceDefinition } from '../api/resource.ts';
import type { ApiClient, EventRecorder, SharedInformerFactory } from '../client/index.ts';
import { codeOf, EventRecorder as Recorder, isConflict, WorkQueue } from '../client/index.ts';

const log = logger('controller');

/** What a reconcile returns: optionally look at the key again after `requeueAfter` milliseconds. */
export interface ReconcileResult {
  requeueAfter?: number;
}

/** A level-triggered controller. */
export interface Controller {
  /** Its name in `--controllers` and logs (deployment, replicaset, garbage-collector …). */
  readonly name: string;
  readonly queue: WorkQueue<string>;
  /** Workers to run (ConcurrentXSyncs upstream). */
  readonly workers: number;
  /** Brings `key` towards its desired state. */
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void>;
  /** Optional background loops besides the workers (monitors, periodic scans); resolve when `signal` aborts. */
  run?(signal: AbortSignal): Promise<void>;
}

/** What controllers are built from: shared informers, the client, a clock and event recorders. */
export interface ControllerContext {
  client: ApiClient;
  informers: SharedInformerFactory;
  clock: Clock;
  /** The event recorder of a component (one per component name, shared). */
  recorder(component: string): EventRecorder;
  /** Workers per controller unless a controller says otherwise. */
  workers: number;
  /** The catalog kinds the server actually serves (from discovery when the leader started). */
  served: ResourceDefinition[];
}

/** Builds one controller; informers it asks for are started by the manager afterwards. */
export type ControllerFactory = (ctx: ControllerContext) => Controller;

/**
 * The kinds of `defs` the server serves, from discovery (GET /api/v1 and /apis/<group>/<version>): controllers
 * that walk every kind (garbage collector, namespace) must not watch what the server does not know.
 */
export async function servedKinds(client: ApiClient, defs: ResourceDefinition[], opts: { signal?: AbortSignal } = {}): Promise<ResourceDefinition[]> {
  const gvs = [...new Set(defs.map((d) => (d.group ? `/apis/${d.group}/${d.version}` : `/api/${d.version}`)))];
  const served = new Set<string>();
  await Promise.all(gvs.map(async (path) => {
    try {
      const r = await client.rest.request<{ resources?: { name: string }[] }>({ path, signal: opts.signal });
      for (const res of r.body.resources ?? []) served.add(`${path}/${res.name}`);
    } catch (e) {
      if (codeOf(e) !== 404) throw e;
    }
  }));
  return defs.filter((d) => served.has(`${d.group ? `/apis/${d.group}/${d.version}` : `/api/${d.version}`}/${d.plural}`));
}

/** A work queue named after its controller, with the default controller rate limiter. */
export function newQueue(name: string, clock: Clock): WorkQueue<string> {
  return new WorkQueue<string>({ name, clock });
}

/** A factory of per-component event recorders writing core/v1 Events through `client`. */
export function recorderCache(client: ApiClient, clock: Clock): { get(component: string): EventRecorder; stop(): Promise<void> } {
  const recorders = new Map<string, EventRecorder>();
  return {
    get(component) {
      let r = recorders.get(component);
      if (!r) {
        r = new Recorder({ client: client.resource<CoreEvent>(events), component, clock });
        recorders.set(component, r);
      }
      return r;
    },
    async stop() {
      await Promise.all([...recorders.values()].map(async (r) => {
        await r.flush();
        await r.stop();
      }));
    },
  };
}

/**
 * Runs `controller.workers` workers until its queue is shut down; each worker processes one key at a time. A
 * successful reconcile forgets the key's failures; a failing one is re-added rate-limited.
 */
export async function runWorkers(controller: Controller, signal: AbortSignal): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      const { item, shutdown } = await controller.queue.get();
      if (shutdown) return;
      const started = Date.now();
      try {
        const r = await controller.reconcile(item, signal);
        controller.queue.forget(item);
        if (r?.requeueAfter !== undefined && !signal.aborted) controller.queue.addAfter(item, Math.max(0, r.requeueAfter));
        log.v(4).info('reconciled', { controller: controller.name, key: item, ms: Date.now() - started });
      } catch (e) {
        if (signal.aborted && isAbortError(e)) {
          // Stopping: the next leader picks the key up from its own list.
        } else {
          // Conflicts are routine (a cache one write behind): retry quietly.
          if (isConflict(e)) log.v(2).info('reconcile conflict', { controller: controller.name, key: item, err: e });
          else log.warn('reconcile failed', { controller: controller.name, key: item, err: e });
          controller.queue.addRateLimited(item);
        }
      } finally {
        controller.queue.done(item);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, controller.workers) }, () => worker()));
}
