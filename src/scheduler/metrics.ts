/**
 * Scheduler metrics on a prom-client Registry of their own (the composition root merges it into /metrics):
 * attempts by result, attempt and end-to-end latency, pending pods by queue, preemption.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PendingCounts } from './queue/scheduling-queue.ts';

/** The scheduler's metrics. */
export class SchedulerMetrics {
  readonly registry = new Registry();
  /** scheduler_schedule_attempts_total{result=scheduled|unschedulable|error, profile}. */
  readonly attempts: Counter<'result' | 'profile'>;
  /** scheduler_scheduling_attempt_duration_seconds{result, profile}: one attempt, algorithm through bind. */
  readonly attemptDuration: Histogram<'result' | 'profile'>;
  /** scheduler_pod_scheduling_sli_duration_seconds{attempts}: end to end, from first entering the queue to bound. */
  readonly e2eDuration: Histogram<'attempts'>;
  /** scheduler_pending_pods{queue=active|backoff|unschedulable|gated}. */
  readonly pendingPods: Gauge<'queue'>;
  /** scheduler_preemption_attempts_total and scheduler_preemption_victims. */
  readonly preemptionAttempts: Counter;
  readonly preemptionVictims: Histogram;
  private pending: () => PendingCounts = () => ({ active: 0, backoff: 0, unschedulable: 0, gated: 0 });

  constructor() {
    const registers = [this.registry];
    const buckets = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];
    this.attempts = new Counter({ name: 'scheduler_schedule_attempts_total', help: 'Number of attempts to schedule pods, by the result. \'unschedulable\' means a pod could not be scheduled, while \'error\' means an internal scheduler problem.', labelNames: ['result', 'profile'], registers });
    this.attemptDuration = new Histogram({ name: 'scheduler_scheduling_attempt_duration_seconds', help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding)', labelNames: ['result', 'profile'], buckets, registers });
    this.e2eDuration = new Histogram({ name: 'scheduler_pod_scheduling_sli_duration_seconds', help: 'E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.', labelNames: ['attempts'], buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68, 655.36], registers });
    const self = this;
    this.pendingPods = new Gauge({
      name: 'scheduler_pending_pods', help: 'Number of pending pods, by the queue type. \'active\' means number of pods in activeQ; \'backoff\' means number of pods in backoffQ; \'unschedulable\' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; \'gated\' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.',
      labelNames: ['queue'], registers,
      collect() {
        const c = self.pending();
        this.set({ queue: 'active' }, c.active);
        this.set({ queue: 'backoff' }, c.backoff);
        this.set({ queue: 'unschedulable' }, c.unschedulable);
        this.set({ queue: 'gated' }, c.gated);
      },
    });
    this.preemptionAttempts = new Counter({ name: 'scheduler_preemption_attempts_total', help: 'Total preemption attempts in the cluster till now', registers });
    this.preemptionVictims = new Histogram({ name: 'scheduler_preemption_victims', help: 'Number of selected preemption victims', buckets: [1, 2, 4, 8, 16, 32, 64], registers });
  }

  /** Binds the pending-pods gauge to a queue. */
  setPendingSource(fn: () => PendingCounts): void {
    this.pending = fn;
  }
}
