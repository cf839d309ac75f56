/**
 * Records core/v1 Events as client-go's record.EventRecorder + EventCorrelator: the caller never waits (events
 * go to a bounded queue written by one background loop; when full, new events are dropped with a log line).
 * Repeats are correlated as upstream: the same source, object, type, reason and message within 10 minutes
 * PATCH the existing event's count and lastTimestamp; more than 10 different messages for one reason within
 * 10 minutes collapse into a "(combined from similar events): …" event; each source+object gets a spam
 * budget of 25 events refilled at one per 5 minutes. Names are `<object name>.<hex nanoseconds>`.
 */
import type { Event as CoreEvent, ObjectReference } from 'kubernetes-types/core/v1.js';
import { hostname } from 'node:os';
import type { Clock } from '../base/clock.ts';
import { realClock } from '../base/clock.ts';
import { logger } from '../base/log.ts';
import { ApiError, isNotFound } from './api-error.ts';
import type { ObjectLike } from './object.ts';
import type { ResourceClient } from './resource-client.ts';
import { clockSleep } from './sleep.ts';

const log = logger('event-recorder');

/** What to record about an object. */
export interface EventInfo {
  type: 'Normal' | 'Warning';
  /** Short CamelCase reason (ScalingReplicaSet, FailedScheduling…). */
  reason: string;
  message: string;
  /** Points at a part of the object (spec.containers{web}). */
  fieldPath?: string;
}

/** Options of an EventRecorder. */
export interface EventRecorderOptions {
  /** A client for core/v1 events. */
  client: ResourceClient<CoreEvent>;
  /** The source component (deployment-controller, default-scheduler, kubelet…). */
  component: string;
  /** The source host (defaults to "" as controllers leave it; the node agent sets its node name). */
  host?: string;
  /** reportingInstance (defaults to host, else the machine's hostname). */
  reportingInstance?: string;
  clock?: Clock;
  /** Bound of the pending queue (default 1000). */
  queueSize?: number;
  /** Attempts per event on transport errors (default 12) and the wait between them (default 10 s). */
  maxTries?: number;
  retryDelayMs?: number;
  /** Per source+object token bucket (default burst 25, one token per 300 s); `false` disables it. */
  spamFilter?: { burst: number; refillPerSecond: number } | false;
}

const aggregateMaxEvents = 10;
const correlationWindowMs = 600_000;
const maxCacheEntries = 4096;
let lastNanos = 0n;

interface Observation {
  count: number;
  firstTimestamp: string;
  name: string;
  lastSeen: number;
}

interface AggregateRecord {
  messages: Set<string>;
  lastSeen: number;
}

interface Pending {
  event: CoreEvent;
  /** The cache key this event updates. */
  key: string;
  /** Present when an existing event should be patched. */
  patch: { count: number; lastTimestamp: string; message: string } | undefined;
}

/** Records events without blocking the caller. */
export class EventRecorder {
  private readonly opts: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly queue: Pending[] = [];
  private readonly observations = new Map<string, Observation>();
  private readonly aggregates = new Map<string, AggregateRecord>();
  private readonly spam = new Map<string, { tokens: number; last: number }>();
  private readonly idle: (() => void)[] = [];
  private readonly stopping = new AbortController();
  private draining = false;
  private dropped = 0;

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
  }

  /** Queues an event about `obj`; never blocks or throws for delivery problems. */
  event(obj: ObjectLike, info: EventInfo): void {
    if (this.stopping.signal.aborted) return;
    const pending = this.correlate(this.makeEvent(obj, info));
    if (!pending) return;
    if (this.queue.length >= (this.opts.queueSize ?? 1000)) {
      this.dropped++;
      log.warn('event queue full, dropping event', { reason: info.reason, object: pending.event.involvedObject.name, dropped: this.dropped });
      return;
    }
    this.queue.push(pending);
    if (!this.draining) {
      this.draining = true;
      // Deferred so that the caller's synchronous code runs first and the queue bound is meaningful.
      setImmediate(() => void this.drain());
    }
  }

  /** Resolves once every queued event has been written (or given up on). */
  flush(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops accepting events, abandons retries and resolves when the writer is idle; queued events are dropped. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.queue.length = 0;
    await this.flush();
  }

  private makeEvent(obj: ObjectLike, info: EventInfo): CoreEvent {
    const meta = obj.metadata ?? {};
    const ref: ObjectReference = { kind: obj.kind, apiVersion: obj.apiVersion, name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion };
    if (info.fieldPath) ref.fieldPath = info.fieldPath;
    for (const k of Object.keys(ref) as (keyof ObjectReference)[]) if (ref[k] === undefined || ref[k] === '') delete ref[k];
    const now = this.clock.now();
    const ts = rfc3339(now);
    const host = this.opts.host ?? '';
    const source: CoreEvent['source'] = { component: this.opts.component };
    if (host) source.host = host;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${meta.name ?? ''}.${this.nanosHex(now)}`, namespace: meta.namespace || 'default' },
      involvedObject: ref,
      reason: info.reason,
      message: info.message,
      type: info.type,
      source,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.reportingInstance ?? (host || hostname()),
    };
  }

  /** EventCorrelator.EventCorrelate: aggregate, observe, then spam-filter. */
  private correlate(ev: CoreEvent): Pending | undefined {
    const now = this.clock.now();
    const { event, key } = this.aggregate(ev, now);
    const last = this.observations.get(key);
    let patch: Pending['patch'];
    const out: CoreEvent = { ...event };
    if (last && now - last.lastSeen <= correlationWindowMs) {
      out.metadata = { ...event.metadata, name: last.name };
      out.firstTimestamp = last.firstTimestamp;
      out.count = last.count + 1;
      patch = { count: out.count, lastTimestamp: out.lastTimestamp ?? rfc3339(now), message: out.message ?? '' };
    }
    this.remember(this.observations, key, { count: out.count ?? 1, firstTimestamp: out.firstTimestamp ?? '', name: out.metadata.name ?? '', lastSeen: now });
    if (!this.allowedBySpamFilter(out, now)) {
      log.v(4).info('event filtered as spam', { reason: out.reason, object: out.involvedObject.name });
      return undefined;
    }
    return { event: out, key, patch };
  }

  /** EventAggregator.EventAggregate with EventAggregatorByReasonFunc. */
  private aggregate(ev: CoreEvent, now: number): { event: CoreEvent; key: string } {
    const eventKey = keyOf(ev, true);
    const aggregateKey = [keyOf(ev, false), ev.reportingComponent, ev.reportingInstance].join('\u0000');
    let rec = this.aggregates.get(aggregateKey);
    if (!rec || now - rec.lastSeen > correlationWindowMs) rec = { messages: new Set(), lastSeen: now };
    rec.messages.add(ev.message ?? '');
    rec.lastSeen = now;
    this.remember(this.aggregates, aggregateKey, rec);
    if (rec.messages.size < aggregateMaxEvents) return { event: ev, key: eventKey };
    // Keep the set from growing past the threshold, as upstream's PopAny.
    const first = rec.messages.values().next();
    if (!first.done) rec.messages.delete(first.value);
    const ts = rfc3339(now);
    const combined: CoreEvent = {
      ...ev,
      metadata: { name: `${ev.involvedObject.name ?? ''}.${this.nanosHex(now)}`, namespace: ev.metadata.namespace },
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      message: `(combined from similar events): ${ev.message ?? ''}`,
    };
    return { event: combined, key: aggregateKey };
  }

  private allowedBySpamFilter(ev: CoreEvent, now: number): boolean {
    const cfg = this.opts.spamFilter ?? { burst: 25, refillPerSecond: 1 / 300 };
    if (cfg === false) return true;
    const key = spamKey(ev);
    let b = this.spam.get(key);
    if (!b) b = { tokens: cfg.burst, last: now };
    b.tokens = Math.min(cfg.burst, b.tokens + ((now - b.last) / 1000) * cfg.refillPerSecond);
    b.last = now;
    this.remember(this.spam, key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (!next) break;
        await this.write(next);
      }
    } finally {
      this.draining = false;
      for (const w of this.idle.splice(0)) w();
    }
  }

  /** recordToSink: bounded retries on transport errors; a server rejection is final. */
  private async write(p: Pending): Promise<void> {
    const maxTries = this.opts.maxTries ?? 12;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send(p);
        return;
      } catch (e) {
        if (e instanceof ApiError) {
          if (e.reason === 'AlreadyExists') log.v(5).info('event already exists', { event: p.event.metadata.name });
          else log.error('server rejected event (will not retry!)', { event: p.event.metadata.name, reason: p.event.reason, err: e });
          return;
        }
        if (attempt >= maxTries || this.stopping.signal.aborted) {
          log.error('unable to write event (retry limit exceeded!)', { event: p.event.metadata.name, reason: p.event.reason, err: e });
          return;
        }
        const base = this.opts.retryDelayMs ?? 10_000;
        // Upstream jitters only the first wait, so that many recorders do not retry in lock-step.
        const wait = attempt === 1 ? base * Math.random() : base;
        try {
          await clockSleep(this.clock, wait, { signal: this.stopping.signal });
        } catch {
          return;
        }
      }
    }
  }

  private async send(p: Pending): Promise<CoreEvent> {
    const client = this.opts.client;
    const namespace = p.event.metadata.namespace;
    if (p.patch) {
      try {
        return await client.patch(p.event.metadata.name ?? '', p.patch, { namespace, type: 'strategic' });
      } catch (e) {
        // The event may have been removed (TTL): record it afresh.
        if (!isNotFound(e)) throw e;
      }
    }
    const { resourceVersion: _rv, ...metadata } = p.event.metadata;
    void _rv;
    return client.create({ ...p.event, metadata }, { namespace });
  }

  private nanosHex(ms: number): string {
    // Strictly increasing across the process, so that events in the same millisecond get distinct names.
    let n = BigInt(ms) * 1_000_000n;
    if (n <= lastNanos) n = lastNanos + 1n;
    lastNanos = n;
    return n.toString(16);
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    // Insertion order doubles as LRU order: re-insert on use, evict the oldest beyond the bound.
    map.delete(key);
    map.set(key, value);
    if (map.size > maxCacheEntries) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
  }
}

function keyOf(ev: CoreEvent, withMessage: boolean): string {
  const o = ev.involvedObject;
  const parts = [ev.source?.component, ev.source?.host, o.kind, o.namespace, o.name];
  if (withMessage) parts.push(o.fieldPath);
  parts.push(o.uid, o.apiVersion, ev.type, ev.reason);
  if (withMessage) parts.push(ev.message);
  return parts.map((p) => p ?? '').join('\u0000');
}

function spamKey(ev: CoreEvent): string {
  const o = ev.involvedObject;
  return [ev.source?.component, ev.source?.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion].map((p) => p ?? '').join('\u0000');
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
