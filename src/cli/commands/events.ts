/**
 * `skiff events`: kubectl events. Lists core/v1 Events (optionally `--for TYPE/NAME`, `--types`), sorts them by
 * their most recent time as upstream's SortableEvents does and prints kubectl's EventPrinter table (LAST SEEN,
 * TYPE, REASON, OBJECT, MESSAGE; NAMESPACE first with -A), or any -o format; `-w` streams new events.
 */
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import type { CoreEvent } from '../describe/writer.ts';
import { since } from '../describe/writer.ts';
import type { Obj } from '../printers/objects.ts';
import { outputKind, printObject } from '../printers/objects.ts';
import { tabwrite } from '../printers/tabwriter.ts';
import { goJson } from '../printers/encode.ts';
import { formatCell } from '../printers/table.ts';

/** An event with the fields the printer reads. */
export type EventItem = CoreEvent & { metadata?: { namespace?: string; name?: string }; involvedObject?: { kind?: string; name?: string }; apiVersion?: string; kind?: string };

/** `skiff events`. */
export const command: VerbCommand = {
  use: 'events [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file] [--for TYPE/NAME] [--watch] [--types=Normal,Warning]',
  short: 'List events',
  flags: [
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If present, list the requested object(s) across all namespaces.' },
    { name: 'for', type: 'string', usage: 'Filter events to only those pertaining to the specified resource.' },
    { name: 'types', type: 'stringSlice', usage: 'Output only events of given types.' },
    { name: 'watch', short: 'w', type: 'bool', usage: 'After listing the requested events, watch for more events.' },
    { name: 'no-headers', type: 'bool', usage: "When using the default output format, don't print headers." },
    { name: 'chunk-size', type: 'int', default: 500, usage: 'Return large lists in chunks rather than all at once.' },
    { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
    { name: 'allow-missing-template-keys', type: 'bool', default: true, usage: 'If true, ignore any errors in templates when a field or map key is missing in the template.' },
  ],
  async run(ctx, f) {
    if (f.args.length > 0) throw new CliError(`unknown command ${JSON.stringify(f.args[0])} for "kubectl events"`);
    const types = (f.values['types'] as string[]).map((t) => t.trim()).filter((t) => t !== '');
    for (const t of types) if (!['normal', 'warning'].includes(t.toLowerCase())) throw new CliError('valid --types are Normal or Warning');
    const allNs = f.values['all-namespaces'] === true;
    const namespace = ctx.namespace();
    let fieldSelector: string | undefined;
    const forArg = String(f.values['for']);
    if (forArg) {
      const parts = forArg.split('/');
      if (parts.length === 1) throw new CliError('--for must be in resource/name form');
      if (parts.length !== 2) throw new CliError('arguments in resource/name form may not have more than one slash');
      const r = await ctx.discovery().resolveOne(parts[0]!);
      fieldSelector = `involvedObject.kind=${r.kind},involvedObject.name=${parts[1]!}`;
    }
    const path = allNs ? '/api/v1/events' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
    const keep = (e: EventItem): boolean => types.length === 0 || types.some((t) => t.toLowerCase() === (e.type ?? '').toLowerCase());
    const format = String(f.values['output']);
    const noHeaders = f.values['no-headers'] === true;
    if (f.values['watch'] === true) return watchEvents(ctx, path, { fieldSelector, keep, format, allNs, noHeaders });

    const items: EventItem[] = [];
    let cont: string | undefined;
    const chunk = Number(f.values['chunk-size']);
    do {
      const page = (await ctx.rest().request<{ items?: EventItem[]; metadata?: { continue?: string } }>({ path, query: { fieldSelector, limit: chunk > 0 ? chunk : undefined, continue: cont } })).body;
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    const events = items.filter(keep).map((e) => ({ apiVersion: 'v1', kind: 'Event', ...e }));
    if (events.length === 0) {
      ctx.err(allNs ? 'No events found.\n' : `No events found in ${namespace} namespace.\n`);
      return 0;
    }
    sortEvents(events);
    if (format) {
      // kubectl prints a typed EventList: -o name prints nothing for it, and the Go structs emit their zero fields.
      if (outputKind(format) === 'name') return 0;
      const keepManaged = f.values['show-managed-fields'] === true;
      const list: Obj = { kind: 'EventList', apiVersion: 'v1', metadata: {}, items: events.map((e) => typedEvent(e, keepManaged)) };
      ctx.out(printTyped(format, list));
      return 0;
    }
    ctx.out(printEvents(events, { allNs, noHeaders }));
    return 0;
  },
};

async function watchEvents(
  ctx: CliContext,
  path: string,
  o: { fieldSelector: string | undefined; keep: (e: EventItem) => boolean; format: string; allNs: boolean; noHeaders: boolean },
): Promise<number> {
  const stream = await ctx.rest().stream({ path, query: { watch: true, fieldSelector: o.fieldSelector } });
  let headerDone = o.noHeaders;
  for await (const line of stream.lines()) {
    if (line.trim() === '') continue;
    const ev = JSON.parse(line) as { type: string; object: EventItem };
    if (ev.type === 'ERROR') throw new CliError((ev.object as { message?: string }).message ?? 'watch error');
    // Events are deleted after an hour; upstream does not print that.
    if (ev.type === 'DELETED' || ev.type === 'BOOKMARK' || !o.keep(ev.object)) continue;
    const e = { apiVersion: 'v1', kind: 'Event', ...ev.object };
    if (o.format && outputKind(o.format) !== 'table') {
      ctx.out(printTyped(o.format, typedEvent(e, false)));
      continue;
    }
    ctx.out(printEvents([e], { allNs: o.allNs, noHeaders: headerDone }));
    headerDone = true;
  }
  return 0;
}

/** An event as Go's corev1.Event marshals it: struct field order, zero-valued non-omitempty fields, no managedFields. */
export function typedEvent(e: EventItem, keepManaged: boolean): Obj {
  const m = (e.metadata ?? {}) as Record<string, unknown>;
  const meta = ordered(m, ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', ...(keepManaged ? ['managedFields'] : [])]);
  const x = e as Record<string, unknown>;
  const out: Record<string, unknown> = { kind: 'Event', apiVersion: 'v1', metadata: meta };
  out['involvedObject'] = ordered((x['involvedObject'] ?? {}) as Record<string, unknown>, ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']);
  for (const k of ['reason', 'message']) if (x[k]) out[k] = x[k];
  out['source'] = ordered((x['source'] ?? {}) as Record<string, unknown>, ['component', 'host']);
  out['firstTimestamp'] = x['firstTimestamp'] ?? null;
  out['lastTimestamp'] = x['lastTimestamp'] ?? null;
  if (x['count']) out['count'] = x['count'];
  if (x['type']) out['type'] = x['type'];
  out['eventTime'] = x['eventTime'] ?? null;
  if (x['series']) out['series'] = ordered(x['series'] as Record<string, unknown>, ['count', 'lastObservedTime']);
  if (x['action']) out['action'] = x['action'];
  if (x['related']) out['related'] = x['related'];
  out['reportingComponent'] = x['reportingComponent'] ?? '';
  out['reportingInstance'] = x['reportingInstance'] ?? '';
  return out as Obj;
}

function ordered(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== '' && o[k] !== null) out[k] = o[k];
  return out;
}

/** Prints typed objects: JSON keeps the struct order (Go marshals structs in field order), the rest as usual. */
function printTyped(format: string, obj: Obj): string {
  return outputKind(format) === 'json' ? `${goJson(obj, { sortKeys: false })}\n` : printObject(format, obj);
}

/** Sorts by the time upstream's SortableEvents uses (series last observed, else lastTimestamp, else eventTime). */
export function sortEvents(events: EventItem[]): void {
  const t = (e: EventItem): number => {
    const s = e.series ? e.series.lastObservedTime : e.lastTimestamp ? e.lastTimestamp : e.eventTime;
    const n = s ? Date.parse(s) : NaN;
    return Number.isNaN(n) ? -Infinity : n;
  };
  events.sort((a, b) => t(a) - t(b));
}

/** kubectl's EventPrinter, aligned by its tabwriter. */
export function printEvents(events: EventItem[], o: { allNs: boolean; noHeaders: boolean; now?: number }): string {
  const lines: string[] = [];
  if (!o.noHeaders) lines.push(`${o.allNs ? 'NAMESPACE\t' : ''}LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE`);
  for (const e of events) {
    const cells = [eventInterval(e, o.now), formatCell(e.type ?? ''), formatCell(e.reason ?? ''), `${formatCell(e.involvedObject?.kind ?? '')}/${formatCell(e.involvedObject?.name ?? '')}`, formatCell((e.message ?? '').trim())];
    if (o.allNs) cells.unshift(e.metadata?.namespace ?? '');
    lines.push(cells.join('\t'));
  }
  return tabwrite(lines);
}

/** The LAST SEEN cell: `5s`, or `5s (x3 over 2m)` for repeated events. */
export function eventInterval(e: CoreEvent, now = Date.now()): string {
  const first = e.eventTime ? since(e.eventTime, now) : since(e.firstTimestamp ?? '', now);
  if (e.series) return `${since(e.series.lastObservedTime ?? '', now)} (x${e.series.count ?? 0} over ${first})`;
  if ((e.count ?? 0) > 1) return `${since(e.lastTimestamp ?? '', now)} (x${e.count} over ${first})`;
  return first;
}
