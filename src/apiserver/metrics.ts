/**
 * Prometheus metrics of the API server (/metrics), named as upstream's where a counterpart exists:
 * apiserver_request_total, apiserver_request_duration_seconds, apiserver_longrunning_requests,
 * apiserver_storage_objects, and skiff_storage_request_duration_seconds.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics of one API server instance. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'apiserver_request_total', help: 'Counter of apiserver requests broken out for each verb, group, resource and HTTP response code.',
    labelNames: ['verb', 'group', 'resource', 'subresource', 'code'] as const, registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'apiserver_request_duration_seconds', help: 'Response latency distribution in seconds for each verb, group, resource and subresource.',
    labelNames: ['verb', 'group', 'resource', 'subresource'] as const, registers: [this.registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  readonly longRunning = new Gauge({
    name: 'apiserver_longrunning_requests', help: 'Gauge of all active long-running apiserver requests (watches) by verb, group and resource.',
    labelNames: ['verb', 'group', 'resource'] as const, registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'apiserver_current_inflight_requests', help: 'Number of requests currently being served.', registers: [this.registry],
  });
  readonly storageLatency = new Histogram({
    name: 'skiff_storage_request_duration_seconds', help: 'Storage operation latency in seconds by operation.',
    labelNames: ['operation'] as const, registers: [this.registry],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  readonly storageObjects = new Gauge({
    name: 'apiserver_storage_objects', help: 'Number of stored objects at the time of last check split by kind.',
    labelNames: ['resource'] as const, registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private readonly others: Registry[] = [];

  /** Adds another component's registry (scheduler, controllers…) to /metrics. */
  addRegistry(r: Registry): void {
    this.others.push(r);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    const parts = [await this.registry.metrics()];
    for (const r of this.others) parts.push(await r.metrics());
    return { contentType: this.registry.contentType, body: parts.join('\n') };
  }
}
