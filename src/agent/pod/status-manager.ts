/**
 * The status manager: pod workers hand it the status they computed and never wait for the API. It keeps the
 * latest status per pod, drops writes equal to what was last written, and patches the status subresource with
 * a bounded number of writers (upstream's status manager with its syncBatch). The patch carries the pod's uid so
 * that a status meant for a deleted pod never lands on a new pod with the same name.
 */
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import { sleep } from '../../base/clock.ts';
import type { ResourceClient } from '../../client/index.ts';
import { isConflict, isInvalid, isNotFound } from '../../client/index.ts';

const log = logger('status-manager');

interface Entry {
  namespace: string;
  name: string;
  uid: string;
  status: PodStatus;
  json: string;
  /** When the status was handed over (the write latency is logged at -v 2). */
  queuedAt: number;
}

/** Options of a StatusManager. */
export interface StatusManagerOptions {
  pods: ResourceClient<Pod>;
  /** Concurrent writes (default 8). */
  concurrency?: number;
}

/** Coalesces and writes pod statuses. */
export class StatusManager {
  private readonly opts: StatusManagerOptions;
  private readonly pending = new Map<string, Entry>();
  private readonly written = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  private readonly idle: (() => void)[] = [];
  private active = 0;
  private stopped = false;
  /** Statuses written (for benchmarks and tests). */
  writes = 0;

  constructor(opts: StatusManagerOptions) {
    this.opts = opts;
  }

  /** Records the status a pod should have; written soon unless equal to the last write. */
  setPodStatus(pod: Pod, status: PodStatus): void {
    const meta = pod.metadata ?? {};
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    const json = JSON.stringify(status);
    if (this.written.get(key) === `${meta.uid ?? ''}|${json}` && !this.pending.has(key)) return;
    const queuedAt = this.pending.get(key)?.queuedAt ?? Date.now();
    this.pending.set(key, { namespace: meta.namespace ?? '', name: meta.name ?? '', uid: meta.uid ?? '', status, json, queuedAt });
    this.pump();
  }

  /** The status last written or queued for a pod (what the API will show). */
  latest(namespace: string, name: string): PodStatus | undefined {
    const p = this.pending.get(`${namespace}/${name}`);
    if (p) return p.status;
    const w = this.written.get(`${namespace}/${name}`);
    if (!w) return undefined;
    return JSON.parse(w.slice(w.indexOf('|') + 1)) as PodStatus;
  }

  /** Forgets a pod (after its object is gone). */
  forget(namespace: string, name: string): void {
    this.written.delete(`${namespace}/${name}`);
  }

  /** Resolves once nothing is pending or in flight. */
  flush(): Promise<void> {
    if (this.pending.size === 0 && this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Stops writing; pending statuses are dropped. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const r of this.idle.splice(0)) r();
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 8;
    while (!this.stopped && this.active < limit) {
      let next: [string, Entry] | undefined;
      for (const e of this.pending) {
        if (!this.inFlight.has(e[0])) {
          next = e;
          break;
        }
      }
      if (!next) break;
      const [key, entry] = next;
      this.pending.delete(key);
      this.inFlight.add(key);
      this.active++;
      void this.write(key, entry).finally(() => {
        this.inFlight.delete(key);
        this.active--;
        this.pump();
        if (this.pending.size === 0 && this.active === 0) for (const r of this.idle.splice(0)) r();
      });
    }
  }

  private async write(key: string, e: Entry): Promise<void> {
    for (let attempt = 0; attempt < 5 && !this.stopped; attempt++) {
      try {
        await this.opts.pods.patch(e.name, { metadata: { uid: e.uid }, status: e.status }, { namespace: e.namespace, type: 'merge', subresource: 'status' });
        this.written.set(key, `${e.uid}|${e.json}`);
        this.writes++;
        log.v(2).info('pod status written', { pod: key, phase: e.status.phase, ms: Date.now() - e.queuedAt });
        return;
      } catch (err) {
        if (isNotFound(err) || isInvalid(err)) {
          // Gone, or replaced by a pod with another uid: nothing to report.
          return;
        }
        if (isConflict(err)) continue;
        log.v(2).info('status write failed, retrying', { pod: key, err, attempt });
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
      // A newer status supersedes this one.
      if (this.pending.has(key)) return;
    }
  }
}
