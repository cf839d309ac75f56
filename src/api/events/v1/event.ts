/**
 * events.k8s.io/v1 Event. Upstream serves it from the same storage as core/v1 events (one object, two shapes:
 * regarding↔involvedObject, note↔message, deprecatedSource↔source, deprecated* ↔ the legacy counters); here it is
 * its own kind, with the strict validation upstream applies to events created through events.k8s.io/v1.
 */
import type { Event } from 'kubernetes-types/events/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import {
  isDNS1123Subdomain, isQualifiedName, nameIsDNSSubdomain, validateImmutableField, validateObjectMeta,
  validateObjectMetaUpdate,
} from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { deepEqual } from '../../apps/v1/workload.ts';

const reportingInstanceLengthLimit = 128;
const actionLengthLimit = 128;
const reasonLengthLimit = 128;
const noteLengthLimit = 1024;

function validateSeries(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  if (ev.series) {
    if ((ev.series.count ?? 0) < 2) errs.push(fieldError.invalid('series.count', '', 'should be at least 2'));
    if (!ev.series.lastObservedTime) errs.push(fieldError.required('series.lastObservedTime'));
  }
  return errs;
}

/** legacyValidateEvent as applied to events.k8s.io/v1 requests (eventTime set → the reporting fields are required). */
export function legacyValidateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const regardingNs = ev.regarding?.namespace ?? '';
  if (!ev.eventTime) {
    if (regardingNs === '') {
      if (ns !== '' && ns !== 'default') errs.push(fieldError.invalid('involvedObject.namespace', regardingNs, 'does not match event.namespace'));
    } else if (ns !== regardingNs) {
      errs.push(fieldError.invalid('involvedObject.namespace', regardingNs, 'does not match event.namespace'));
    }
  } else {
    if (regardingNs === '' && ns !== 'default' && ns !== 'kube-system') {
      errs.push(fieldError.invalid('involvedObject.namespace', regardingNs, 'does not match event.namespace'));
    }
    const rc = ev.reportingController ?? '';
    if (rc === '') errs.push(fieldError.required('reportingController'));
    for (const msg of isQualifiedName(rc)) errs.push(fieldError.invalid('reportingController', rc, msg));
    const ri = ev.reportingInstance ?? '';
    if (ri === '') errs.push(fieldError.required('reportingInstance'));
    if (ri.length > reportingInstanceLengthLimit) errs.push(fieldError.invalid('reportingInstance', '', `can have at most ${reportingInstanceLengthLimit} characters`));
    const action = ev.action ?? '';
    if (action === '') errs.push(fieldError.required('action'));
    if (action.length > actionLengthLimit) errs.push(fieldError.invalid('action', '', `can have at most ${actionLengthLimit} characters`));
    const reason = ev.reason ?? '';
    if (reason === '') errs.push(fieldError.required('reason'));
    if (reason.length > reasonLengthLimit) errs.push(fieldError.invalid('reason', '', `can have at most ${reasonLengthLimit} characters`));
    if ((ev.note ?? '').length > noteLengthLimit) errs.push(fieldError.invalid('message', '', `can have at most ${noteLengthLimit} characters`));
  }
  for (const msg of isDNS1123Subdomain(ns)) errs.push(fieldError.invalid('namespace', ns, msg));
  return errs;
}

/** ValidateEventCreate for events.k8s.io/v1: legacy rules plus eventTime, type and unset deprecated fields. */
export function validateEvent(ev: Event): FieldError[] {
  const errs = legacyValidateEvent(ev);
  errs.push(...validateObjectMeta(ev.metadata, { namespaced: true, nameValidator: nameIsDNSSubdomain, path: 'metadata' }));
  errs.push(...validateSeries(ev));
  if (!ev.eventTime) errs.push(fieldError.required('eventTime'));
  if (ev.type !== 'Normal' && ev.type !== 'Warning') errs.push(fieldError.invalid('type', '', `has invalid value: ${ev.type ?? ''}`));
  if (ev.deprecatedFirstTimestamp) errs.push(fieldError.invalid('deprecatedFirstTimestamp', '', 'needs to be unset'));
  if (ev.deprecatedLastTimestamp) errs.push(fieldError.invalid('deprecatedLastTimestamp', '', 'needs to be unset'));
  if (ev.deprecatedCount) errs.push(fieldError.invalid('deprecatedCount', '', 'needs to be unset'));
  if (ev.deprecatedSource?.component || ev.deprecatedSource?.host) errs.push(fieldError.invalid('deprecatedSource', '', 'needs to be unset'));
  return errs;
}

/** ValidateEventUpdate for events.k8s.io/v1: only series may change (paths are upstream's internal field names). */
export function validateEventUpdate(ev: Event, old: Event): FieldError[] {
  const errs = validateObjectMetaUpdate(ev.metadata ?? {}, old.metadata ?? {}, { path: 'metadata' });
  if (!deepEqual(ev.series, old.series)) errs.push(...validateSeries(ev));
  const pairs: [string, unknown, unknown][] = [
    ['involvedObject', ev.regarding, old.regarding],
    ['reason', ev.reason, old.reason],
    ['message', ev.note, old.note],
    ['source', ev.deprecatedSource, old.deprecatedSource],
    ['firstTimestamp', ev.deprecatedFirstTimestamp, old.deprecatedFirstTimestamp],
    ['lastTimestamp', ev.deprecatedLastTimestamp, old.deprecatedLastTimestamp],
    ['count', ev.deprecatedCount, old.deprecatedCount],
    ['type', ev.type, old.type],
    ['eventTime', ev.eventTime, old.eventTime],
    ['action', ev.action, old.action],
    ['related', ev.related, old.related],
    ['reportingController', ev.reportingController, old.reportingController],
    ['reportingInstance', ev.reportingInstance, old.reportingInstance],
  ];
  for (const [path, a, b] of pairs) errs.push(...validateImmutableField(a, b, path));
  return errs;
}

function since(ts: string | undefined, now: number): string {
  return ts ? translateTimestampSince(ts, now) : '<unknown>';
}

/** printEvent's LAST SEEN: series.lastObservedTime, else deprecatedLastTimestamp, else the first-seen cell. */
export function eventLastSeen(ev: Event, now: number): string {
  if (ev.series?.lastObservedTime) return translateTimestampSince(ev.series.lastObservedTime, now);
  if (ev.deprecatedLastTimestamp) return translateTimestampSince(ev.deprecatedLastTimestamp, now);
  return eventFirstSeen(ev, now);
}

/** printEvent's FIRST SEEN: deprecatedFirstTimestamp, else eventTime. */
export function eventFirstSeen(ev: Event, now: number): string {
  return ev.deprecatedFirstTimestamp ? translateTimestampSince(ev.deprecatedFirstTimestamp, now) : since(ev.eventTime, now);
}

/** printEvent's OBJECT: "kind/name" lower-cased kind, or just the kind. */
export function eventObject(ev: Event): string {
  const kind = (ev.regarding?.kind ?? '').toLowerCase();
  return ev.regarding?.name ? `${kind}/${ev.regarding.name}` : kind;
}

/** formatEventSource: component (or reportingController), then ", host" (or reportingInstance) when set. */
export function eventSource(ev: Event): string {
  const component = ev.deprecatedSource?.component || ev.reportingController || '';
  const instance = ev.deprecatedSource?.host || ev.reportingInstance || '';
  return instance === '' ? component : `${component}, ${instance}`;
}

/** printEvent's COUNT: series.count, else deprecatedCount, and 1 for a singleton. */
export function eventCount(ev: Event): number {
  if (ev.series) return ev.series.count;
  return ev.deprecatedCount || 1;
}

/** The events.k8s.io/v1 Event kind. */
export const eventsV1 = defineResource<Event>({
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  validate: validateEvent,
  validateUpdate: validateEventUpdate,
  strategy: {},
  // Upstream's event table puts NAME last and wide-only.
  ownNameColumn: true,
  columns: [
    { name: 'Last Seen', type: 'string', description: 'The time at which the most recent occurrence of this event was recorded.', cell: eventLastSeen },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning), new types could be added in the future', cell: (ev) => ev.type ?? '' },
    { name: 'Reason', type: 'string', description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", cell: (ev) => ev.reason ?? '' },
    { name: 'Object', type: 'string', description: 'The object that this event is about.', cell: eventObject },
    { name: 'Subobject', type: 'string', priority: 1, description: 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].', cell: (ev) => ev.regarding?.fieldPath ?? '' },
    { name: 'Source', type: 'string', priority: 1, description: 'The component reporting this event. Should be a short machine understandable string.', cell: eventSource },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.', cell: (ev) => (ev.note ?? '').trim() },
    { name: 'First Seen', type: 'string', priority: 1, description: 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', cell: eventFirstSeen },
    { name: 'Count', type: 'string', priority: 1, description: 'The number of times this event has occurred.', cell: eventCount },
    { name: 'Name', type: 'string', priority: 1, format: 'name', description: 'Name must be unique within a namespace.', cell: (ev) => ev.metadata?.name ?? '' },
  ],
  fieldSelectors: {
    // Upstream converts events.k8s.io selectors to the core field names.
    'involvedObject.kind': (ev) => ev.regarding?.kind ?? '',
    'involvedObject.namespace': (ev) => ev.regarding?.namespace ?? '',
    'involvedObject.name': (ev) => ev.regarding?.name ?? '',
    'involvedObject.uid': (ev) => ev.regarding?.uid ?? '',
    'involvedObject.apiVersion': (ev) => ev.regarding?.apiVersion ?? '',
    'involvedObject.resourceVersion': (ev) => ev.regarding?.resourceVersion ?? '',
    'involvedObject.fieldPath': (ev) => ev.regarding?.fieldPath ?? '',
    reason: (ev) => ev.reason ?? '',
    reportingComponent: (ev) => ev.reportingController ?? '',
    source: (ev) => ev.deprecatedSource?.component || ev.reportingController || '',
    type: (ev) => ev.type ?? '',
  },
  examples: [
    {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web.17c1a2b3c4d5e6f7', namespace: 'default' },
      eventTime: '2024-01-01T00:00:00.000000Z',
      reportingController: 'skiff.io/scheduler',
      reportingInstance: 'skiff-scheduler-node-1',
      action: 'Binding',
      reason: 'Scheduled',
      type: 'Normal',
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web' },
      note: 'Successfully assigned default/web to node-1',
    },
  ],
});
