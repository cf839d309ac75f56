/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package: candidates try
 * to acquire the lease every retryPeriod (jittered); a lease held by another is only taken once it has not
 * changed for leaseDuration as observed on the local clock (not by comparing clocks across machines); the
 * leader renews every retryPeriod and steps down when it cannot renew within renewDeadline. Writes are
 * guarded by the Lease's resourceVersion, so two candidates can never both win.
 */
import type { Lease, LeaseSpec } from 'kubernetes-types/coordination/v1.js';
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import { logger } from '../base/log.ts';
import { isConflict, isNotFound } from './api-error.ts';
import type { ResourceClient } from './resource-client.ts';
import { clockSleep } from './sleep.ts';

const log = logger('leader-election');

/** Leadership callbacks (leaderelection.LeaderCallbacks). */
export interface LeaderCallbacks {
  /** Called when this candidate becomes leader; `signal` aborts when leadership ends. Not awaited. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership that was held ends (lost, or released on stop). */
  onStoppedLeading?(): void;
  /** Called when the observed leader changes (including to this candidate). */
  onNewLeader?(identity: string): void;
}

/** Options of a LeaderElector. */
export interface LeaderElectionOptions {
  /** A client for coordination.k8s.io/v1 leases. */
  client: ResourceClient<Lease>;
  namespace: string;
  name: string;
  /** This candidate's unique identity (usually hostname + a random suffix). */
  identity: string;
  /** How long non-leaders wait after the last observed change before taking over (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a renewal before stepping down (default 10 s). */
  renewDeadlineMs?: number;
  /** Interval between attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Give the lease up when stopped so that another candidate takes over at once (default true). */
  releaseOnCancel?: boolean;
  clock?: Clock;
  callbacks: LeaderCallbacks;
}

const jitterFactor = 1.2;

/** Runs one candidate of a leader election. */
export class LeaderElector {
  private readonly opts: LeaderElectionOptions;
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: Lease | undefined;
  private observedSpecJson = '';
  private observedTime = 0;
  private reportedLeader: string | undefined;
  private leading = false;
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= jitterFactor * this.retryPeriodMs) throw new Error('renewDeadline must be greater than retryPeriod*JitterFactor');
    if (this.retryPeriodMs < 1) throw new Error('retryPeriod must be greater than zero');
    if (!opts.identity) throw new Error('Lock identity is empty');
  }

  /** True while this candidate holds the lease (as of its last successful acquire or renew). */
  isLeader(): boolean {
    return this.leading;
  }

  /** The identity of the last observed leader ("" when none). */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  /**
   * Acquires the lease, leads until it is lost or `signal` aborts, then resolves (releasing the lease on
   * abort when releaseOnCancel). Resolves without leading if `signal` aborts while acquiring.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    const leaderCtl = new AbortController();
    this.leading = true;
    log.info('successfully acquired lease', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
    try {
      Promise.resolve(this.opts.callbacks.onStartedLeading(leaderCtl.signal)).catch((e: unknown) => log.error('onStartedLeading failed', { err: e }));
    } catch (e) {
      log.error('onStartedLeading failed', { err: e });
    }
    try {
      await this.renew(signal);
    } finally {
      this.leading = false;
      leaderCtl.abort();
      if (signal.aborted && (this.opts.releaseOnCancel ?? true)) await this.release();
      try {
        this.opts.callbacks.onStoppedLeading?.();
      } catch (e) {
        log.error('onStoppedLeading failed', { err: e });
      }
    }
  }

  /** Runs the election in the background (see `run`); a second call while running is a no-op. */
  start(signal?: AbortSignal): void {
    if (this.running) return;
    const ctl = new AbortController();
    this.controller = ctl;
    if (signal) {
      if (signal.aborted) ctl.abort();
      else signal.addEventListener('abort', () => ctl.abort(), { once: true });
    }
    this.running = this.run(ctl.signal).catch((e: unknown) => log.error('leader election failed', { err: e }));
  }

  /** Stops (releasing the lease if held and releaseOnCancel) and waits until done. */
  async stop(): Promise<void> {
    this.controller?.abort();
    const r = this.running;
    if (r) await r;
    this.running = undefined;
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    log.info('attempting to acquire leader lease', { lease: `${this.opts.namespace}/${this.opts.name}` });
    while (!signal.aborted) {
      const ok = await this.tryAcquireOrRenew(signal);
      this.maybeReportTransition();
      if (ok) return true;
      try {
        await clockSleep(this.clock, this.retryPeriodMs * (1 + Math.random() * jitterFactor), { signal });
      } catch {
        return false;
      }
    }
    return false;
  }

  private async renew(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      for (;;) {
        renewed = await this.tryAcquireOrRenew(signal);
        this.maybeReportTransition();
        if (renewed || signal.aborted || this.clock.now() >= deadline) break;
        try {
          await clockSleep(this.clock, this.retryPeriodMs, { signal });
        } catch {
          return;
        }
      }
      if (signal.aborted) return;
      if (!renewed) {
        log.info('failed to renew lease', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
        return;
      }
      try {
        await clockSleep(this.clock, this.retryPeriodMs, { signal });
      } catch {
        return;
      }
    }
  }

  /** One attempt (leaderelection.tryAcquireOrRenew). */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, identity } = this.opts;
    const now = this.clock.now();
    const desired: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    // Requests may hang: bound each by the renew deadline in real time. Stopping does not cut one short, so
    // that a renewal the server applied is always seen (and a release afterwards carries its resourceVersion).
    const reqSignal = AbortSignal.timeout(this.renewDeadlineMs);
    let current: Lease;
    try {
      current = await client.get(name, { namespace, signal: reqSignal });
    } catch (e) {
      if (!isNotFound(e)) {
        if (!signal.aborted) log.warn('error retrieving lease', { lease: `${namespace}/${name}`, err: e });
        return false;
      }
      try {
        const created = await client.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace, name }, spec: desired }, { namespace, signal: reqSignal });
        this.observe(created, this.clock.now());
        return true;
      } catch (err) {
        if (!signal.aborted) log.v(2).info('error initially creating lease', { lease: `${namespace}/${name}`, err });
        return false;
      }
    }
    const spec = current.spec ?? {};
    const specJson = JSON.stringify(spec);
    if (specJson !== this.observedSpecJson) {
      this.observedSpecJson = specJson;
      this.observedTime = now;
    }
    this.observed = current;
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== identity && this.observedTime + durationMs > now) {
      log.v(4).info('lock is held by another and has not yet expired', { holder });
      return false;
    }
    if (holder === identity) {
      desired.acquireTime = spec.acquireTime ?? desired.acquireTime;
      desired.leaseTransitions = spec.leaseTransitions ?? 0;
    } else {
      desired.leaseTransitions = (spec.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await client.update({ ...current, spec: desired }, { namespace, signal: reqSignal });
      this.observe(updated, this.clock.now());
      return true;
    } catch (e) {
      if (!signal.aborted) log.v(2).info('failed to update lease', { lease: `${namespace}/${name}`, err: e });
      return false;
    }
  }

  private async release(): Promise<void> {
    const cur = this.observed;
    if (!cur || cur.spec?.holderIdentity !== this.opts.identity) return;
    const now = microTime(this.clock.now());
    const spec: LeaseSpec = { leaseDurationSeconds: 1, renewTime: now, acquireTime: now, leaseTransitions: cur.spec.leaseTransitions ?? 0 };
    const { client, namespace, name } = this.opts;
    const signal = AbortSignal.timeout(this.renewDeadlineMs);
    try {
      let updated: Lease;
      try {
        updated = await client.update({ ...cur, spec }, { namespace, signal });
      } catch (e) {
        if (!isConflict(e)) throw e;
        // Our cached copy is stale; release only if the lease is still ours.
        const fresh = await client.get(name, { namespace, signal });
        if (fresh.spec?.holderIdentity !== this.opts.identity) return;
        updated = await client.update({ ...fresh, spec: { ...spec, leaseTransitions: fresh.spec.leaseTransitions ?? 0 } }, { namespace, signal });
      }
      this.observe(updated, this.clock.now());
      log.info('released lease', { lease: `${namespace}/${name}` });
    } catch (e) {
      log.warn('failed to release lease', { lease: `${namespace}/${name}`, err: e });
    }
  }

  private observe(lease: Lease, at: number): void {
    this.observed = lease;
    this.observedSpecJson = JSON.stringify(lease.spec ?? {});
    this.observedTime = at;
  }

  private maybeReportTransition(): void {
    const holder = this.observed?.spec?.holderIdentity;
    if (holder === undefined || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder === '') return;
    try {
      this.opts.callbacks.onNewLeader?.(holder);
    } catch (e) {
      log.error('onNewLeader failed', { err: e });
    }
  }
}

/** metav1.MicroTime wire format (microseconds, UTC). */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}
