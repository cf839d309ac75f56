/**
 * Event (core/v1): ValidateEventCreate's namespace rule and printEvent. Events have no status and no generation.
 */
import type { Event } from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { translateTimestampSince } from '../../meta/time.ts';
import { nameIsDNSSubdomain } from '../../meta/validation.ts';
import { defineResource } from '../../resource.ts';
import { validateMeta, validateMetaUpdate } from './helpers.ts';

function validateInvolvedObject(ev: Event): FieldError[] {
  const ns = ev.metadata?.namespace ?? '';
  const involved = ev.involvedObject?.namespace ?? '';
  // Old clients post cluster-scoped objects' events into "default".
  const ok = involved === '' ? ns === '' || ns === 'default' : ns === involved;
  return ok ? [] : [fieldError.invalid('involvedObject.namespace', involved, 'does not match event.namespace')];
}

function isZeroTime(t: string | undefined | null): boolean {
  return !t || Date.parse(t) <= 0 || Number.isNaN(Date.parse(t));
}

/** The LAST SEEN, FIRST SEEN and COUNT cells of printEvent (eventTime and series for events.k8s.io-style events). */
export function eventTimes(ev: Event, now: number): { last: string; first: string; count: number } {
  const first = isZeroTime(ev.firstTimestamp) ? translateTimestampSince(isZeroTime(ev.eventTime) ? undefined : ev.eventTime, now)
    : translateTimestampSince(ev.firstTimestamp, now);
  let last = isZeroTime(ev.lastTimestamp) ? first : translateTimestampSince(ev.lastTimestamp, now);
  let count = ev.count ?? 0;
  if (ev.series) {
    last = translateTimestampSince(isZeroTime(ev.series.lastObservedTime) ? undefined : ev.series.lastObservedTime, now);
    count = ev.series.count ?? 0;
  } else if (count === 0) {
    count = 1;
  }
  return { last, first, count };
}

/** The OBJECT cell: "kind/name" in lower-case kind. */
function targetCell(ev: Event): string {
  const kind = (ev.involvedObject?.kind ?? '').toLowerCase();
  return ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
}

/** formatEventSource: "component, host", falling back to reportingController/reportingInstance. */
function sourceCell(ev: Event): string {
  const component = ev.source?.component || ev.reportingComponent || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

/** events: the core/v1 Event kind. */
export const events = defineResource<Event>({
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  ownNameColumn: true,
  validate(ev) {
    return [...validateMeta(ev.metadata, true, nameIsDNSSubdomain), ...validateInvolvedObject(ev)];
  },
  validateUpdate(ev, old) {
    return validateMetaUpdate(ev.metadata, old.metadata);
  },
  columns: [
    { name: 'Last Seen', type: 'string', description: 'The time at which the most recent occurrence of this event was recorded.', cell: (e, now) => eventTimes(e, now).last },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning), new types could be added in the future', cell: (e) => e.type ?? '' },
    { name: 'Reason', type: 'string', description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", cell: (e) => e.reason ?? '' },
    { name: 'Object', type: 'string', description: 'The object that this event is about.', cell: targetCell },
    { name: 'Subobject', type: 'string', priority: 1, description: 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].', cell: (e) => e.involvedObject?.fieldPath ?? '' },
    { name: 'Source', type: 'string', priority: 1, description: 'The component reporting this event. Should be a short machine understandable string.', cell: sourceCell },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.', cell: (e) => (e.message ?? '').trim() },
    { name: 'First Seen', type: 'string', priority: 1, description: 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', cell: (e, now) => eventTimes(e, now).first },
    { name: 'Count', type: 'string', priority: 1, description: 'The number of times this event has occurred.', cell: (e, now) => eventTimes(e, now).count },
    { name: 'Name', type: 'string', priority: 1, format: 'name', description: 'Name must be unique within a namespace.', cell: (e) => e.metadata?.name ?? '' },
  ],
  fieldSelectors: {
    'involvedObject.kind': (e) => e.involvedObject?.kind ?? '',
    'involvedObject.namespace': (e) => e.involvedObject?.namespace ?? '',
    'involvedObject.name': (e) => e.involvedObject?.name ?? '',
    'involvedObject.uid': (e) => e.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (e) => e.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (e) => e.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (e) => e.involvedObject?.fieldPath ?? '',
    reason: (e) => e.reason ?? '',
    reportingComponent: (e) => e.reportingComponent ?? '',
    source: (e) => e.source?.component || e.reportingComponent || '',
    type: (e) => e.type ?? '',
  },
  examples: [{
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.17a1b2c3d4e5f6a7', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', apiVersion: 'v1' },
    reason: 'Scheduled',
    message: 'Successfully assigned default/web to node-1',
    type: 'Normal',
    source: { component: 'default-scheduler' },
    firstTimestamp: '2024-01-01T00:00:00Z',
    lastTimestamp: '2024-01-01T00:00:00Z',
    count: 1,
  }],
});
