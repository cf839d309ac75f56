/**
 * `skiff get`: kubectl get. Human-readable output prints the server's Tables (requested with kubectl's Accept);
 * the other formats fetch JSON and print one object, or a `List` of everything fetched, as kubectl's
 * printGeneric does. Errors on individual names are collected and reported after the output, like kubectl.
 */
import type { ParsedFlags } from '../flags.ts';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import type { ApiResourceInfo } from '../discovery.ts';
import { kindGroup } from '../discovery.ts';
import { CliError, MultiError } from '../errors.ts';
import { isNotFound } from '../../client/index.ts';
import type { Table } from '../printers/table.ts';
import { printTables, tableLines } from '../printers/table.ts';
import type { Obj } from '../printers/objects.ts';
import { nameOf, outputKind, printObject, withoutManagedFields } from '../printers/objects.ts';
import { findJsonPathValues, parseJsonPath, relaxedJsonPath } from '../printers/jsonpath.ts';
import type { Target } from '../resource-args.ts';
import { resolveTargets, resourcePath } from '../resource-args.ts';
import { colourEnabled, colourTable } from '../printers/colour.ts';

/** kubectl's Accept for human-readable get. */
export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

interface Fetched {
  target: Target;
  /** A Table (human-readable) or an object / list (other formats). */
  body: Table | Obj;
}

/** `skiff get`. */
export const command: VerbCommand = {
  use: 'get [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file|custom-columns|custom-columns-file|wide] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags] [options]',
  short: 'Display one or many resources.',
  flags: [
    { name: 'output', short: 'o', type: 'string', usage: 'Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file, custom-columns, custom-columns-file, wide).' },
    { name: 'selector', short: 'l', type: 'string', usage: "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'." },
    { name: 'field-selector', type: 'string', usage: "Selector (field query) to filter on, supports '=', '==', and '!='." },
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If present, list the requested object(s) across all namespaces.' },
    { name: 'watch', short: 'w', type: 'bool', usage: 'After listing/getting the requested object, watch for changes.' },
    { name: 'watch-only', type: 'bool', usage: 'Watch for changes to the requested object(s), without listing/getting first.' },
    { name: 'output-watch-events', type: 'bool', usage: 'Output watch event objects when --watch or --watch-only is used.' },
    { name: 'sort-by', type: 'string', usage: 'If non-empty, sort list types using this field specification.' },
    { name: 'show-labels', type: 'bool', usage: 'When printing, show all labels as the last column (default hide labels column).' },
    { name: 'label-columns', short: 'L', type: 'stringSlice', usage: 'Accepts a comma separated list of labels that are going to be presented as columns.' },
    { name: 'chunk-size', type: 'int', default: 500, usage: 'Return large lists in chunks rather than all at once. Pass 0 to disable.' },
    { name: 'ignore-not-found', type: 'bool', usage: 'If set to true, suppresses NotFound error for specific objects that do not exist.' },
    { name: 'no-headers', type: 'bool', usage: "When using the default or custom-column output format, don't print headers (default print headers)." },
    { name: 'show-kind', type: 'bool', usage: 'If present, list the resource type for the requested object(s).' },
    { name: 'show-managed-fields', type: 'bool', usage: 'If true, keep the managedFields when printing objects in JSON or YAML format.' },
    { name: 'server-print', type: 'bool', default: true, usage: 'If true, have the server return the appropriate table output.' },
    { name: 'allow-missing-template-keys', type: 'bool', default: true, usage: 'If true, ignore any errors in templates when a field or map key is missing in the template.' },
    { name: 'filename', short: 'f', type: 'stringSlice', usage: 'Filename, directory, or URL to files identifying the resource to get from a server.' },
    { name: 'recursive', short: 'R', type: 'bool', usage: 'Process the directory used in -f, --filename recursively.' },
    { name: 'subresource', type: 'string', usage: 'If specified, gets the subresource of the requested object.' },
    { name: 'raw', type: 'string', usage: 'Raw URI to request from the server.' },
  ],
  async run(ctx, f) {
    return runGet(ctx, f);
  },
};

async function runGet(ctx: CliContext, f: ParsedFlags): Promise<number> {
  const format = String(f.values['output']);
  const kind = outputKind(format);
  if (f.values['raw']) {
    const r = await ctx.rest().request<unknown>({ path: String(f.values['raw']), accept: 'application/json, */*' });
    ctx.out(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    return 0;
  }
  if (f.args.length === 0) {
    throw new CliError(
      'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).\nSee \'kubectl get -h\' for help and examples',
      { raw: true },
    );
  }
  const allNs = f.values['all-namespaces'] === true;
  const namespace = ctx.namespace();
  const targets = await resolveTargets(f.args, ctx.discovery());
  const human = kind === 'table' || kind === 'wide';
  const selector = String(f.values['selector']);
  const fieldSelector = String(f.values['field-selector']);
  if (targets.some((t) => t.name !== undefined) && selector) throw new CliError('name cannot be provided when a selector is specified');
  const sortBy = String(f.values['sort-by']);
  const chunk = Number(f.values['chunk-size']);
  const watch = f.values['watch'] === true || f.values['watch-only'] === true;

  const errors: unknown[] = [];
  const fetched: Fetched[] = [];
  if (f.values['watch-only'] !== true) {
    for (const target of targets) {
      try {
        fetched.push({ target, body: await fetchTarget(ctx, target, { human, namespace, allNs, selector, fieldSelector, chunk, sortBy }) });
      } catch (e) {
        if (isNotFound(e) && f.values['ignore-not-found'] === true) continue;
        errors.push(e);
      }
    }
  }

  const widths: number[] = [];
  if (human && watch && f.values['watch-only'] !== true) {
    // Watch output keeps the column widths of the listing (tabwriter RememberWidths), so print it the same way.
    const r = targets[0]!.resource;
    const lines: string[][] = [];
    for (const x of fetched) {
      if (!isTable(x.body)) continue;
      const { header, rows } = tableLines(x.body, {
        wide: kind === 'wide',
        withNamespace: allNs && r.namespaced,
        showLabels: f.values['show-labels'] === true,
        labelColumns: f.values['label-columns'] as string[],
        eventType: f.values['output-watch-events'] === true ? 'ADDED' : undefined,
      });
      if (rows.length === 0) continue;
      if (lines.length === 0 && f.values['no-headers'] !== true) lines.push(header);
      lines.push(...rows);
    }
    ctx.out(alignRemembering(lines, widths));
  } else if (!human) {
    printGeneric(ctx, fetched, { format, singleItemImplied: targets.length === 1 && targets[0]!.name !== undefined, showManaged: f.values['show-managed-fields'] === true, noHeaders: f.values['no-headers'] === true, sortBy, errors });
  } else if (f.values['watch-only'] !== true) {
    printHuman(ctx, fetched, { wide: kind === 'wide', allNs, f, sortBy, errors, namespace });
  }
  if (errors.length > 0) throw new MultiError(errors);
  if (watch) await runWatch(ctx, targets, fetched, { human, format, allNs, namespace, selector, fieldSelector, f, widths });
  return 0;
}

async function fetchTarget(
  ctx: CliContext,
  target: Target,
  o: { human: boolean; namespace: string; allNs: boolean; selector: string; fieldSelector: string; chunk: number; sortBy: string },
): Promise<Table | Obj> {
  const r = target.resource;
  const accept = o.human ? TABLE_ACCEPT : 'application/json';
  const ns = r.namespaced && !(o.allNs && target.name === undefined) ? o.namespace : undefined;
  if (target.name !== undefined) {
    const query = o.human && o.sortBy ? { includeObject: 'Object' } : undefined;
    const res = await ctx.rest().request<Table | Obj>({ path: resourcePath(r, { namespace: ns, name: target.name }), accept, query });
    return res.body;
  }
  let merged: (Table & Obj) | undefined;
  let cont: string | undefined;
  do {
    const query: Record<string, string | number | undefined> = {
      labelSelector: o.selector || undefined,
      fieldSelector: o.fieldSelector || undefined,
      limit: o.chunk > 0 ? o.chunk : undefined,
      continue: cont,
    };
    if (o.human && o.sortBy) query['includeObject'] = 'Object';
    const res = await ctx.rest().request<Table & Obj>({ path: resourcePath(r, { namespace: ns }), accept, query });
    const page = res.body;
    if (!merged) merged = page;
    else if (page.kind === 'Table') merged.rows.push(...(page.rows ?? []));
    else (merged['items'] as unknown[]).push(...((page['items'] as unknown[]) ?? []));
    cont = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
  } while (cont);
  return merged!;
}

function isTable(b: Table | Obj): b is Table {
  return (b as { kind?: string }).kind === 'Table';
}

function printHuman(
  ctx: CliContext,
  fetched: Fetched[],
  o: { wide: boolean; allNs: boolean; f: ParsedFlags; sortBy: string; errors: unknown[]; namespace: string },
): void {
  const f = o.f;
  const gks = new Set(fetched.map((x) => kindGroup(x.target.resource)));
  const withKind = gks.size > 1 || f.values['show-kind'] === true;
  let out = '';
  let written = false;
  let i = 0;
  while (i < fetched.length) {
    // Consecutive results of one resource type share a printer (one header, one alignment).
    const r = fetched[i]!.target.resource;
    const group: Table[] = [];
    while (i < fetched.length && fetched[i]!.target.resource === r) {
      const b = fetched[i]!.body;
      group.push(isTable(b) ? b : fallbackTable(b));
      i++;
    }
    if (o.sortBy) for (const t of group) sortTableRows(t, o.sortBy);
    const text = printTables(group, {
      wide: o.wide,
      noHeaders: f.values['no-headers'] === true,
      withNamespace: o.allNs && r.namespaced,
      kindPrefix: withKind ? kindGroup(r) : undefined,
      showLabels: f.values['show-labels'] === true,
      labelColumns: f.values['label-columns'] as string[],
    });
    if (text === '') continue;
    if (written && f.values['no-headers'] !== true) out += '\n';
    out += text;
    written = true;
  }
  ctx.out(out !== '' && colourEnabled(ctx.io.stdout, ctx.io.env) ? colourTable(out) : out);
  if (!written && f.values['ignore-not-found'] !== true && o.errors.length === 0) {
    const allNamespaced = !o.allNs && fetched.every((x) => x.target.resource.namespaced);
    ctx.err(allNamespaced ? `No resources found in ${o.namespace} namespace.\n` : 'No resources found\n');
  }
}

/** kubectl's default columns for servers that ignore the Table Accept. */
function fallbackTable(b: Obj): Table {
  const items = Array.isArray(b['items']) ? (b['items'] as Obj[]) : [b];
  return {
    kind: 'Table',
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Age', type: 'string' },
    ],
    rows: items.map((it) => ({ cells: [it.metadata?.name ?? '', humanAge(String(it.metadata?.['creationTimestamp'] ?? ''))], object: it as Table['rows'][number]['object'] })),
  };
}

function sortTableRows(t: Table, sortBy: string): void {
  const tpl = parseJsonPath(relaxedJsonPath(sortBy));
  const keyed = t.rows.map((row) => ({ row, v: findJsonPathValues(tpl, row.object)[0] }));
  keyed.sort((a, b) => compareValues(a.v, b.v));
  t.rows = keyed.map((k) => k.row);
}

function sortItems(items: Obj[], sortBy: string): Obj[] {
  const tpl = parseJsonPath(relaxedJsonPath(sortBy));
  return items.map((o) => ({ o, v: findJsonPathValues(tpl, o)[0] })).sort((a, b) => compareValues(a.v, b.v)).map((x) => x.o);
}

function compareValues(a: unknown, b: unknown): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const qa = typeof a === 'string' ? quantityValue(a) : undefined;
  const qb = typeof b === 'string' ? quantityValue(b) : undefined;
  if (qa !== undefined && qb !== undefined) return qa - qb;
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function quantityValue(s: string): number | undefined {
  const m = /^([+-]?\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(s);
  if (!m) return undefined;
  const mult: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6 };
  return Number(m[1]) * (m[2] ? mult[m[2]]! : 1);
}

function printGeneric(
  ctx: CliContext,
  fetched: Fetched[],
  o: { format: string; singleItemImplied: boolean; showManaged: boolean; noHeaders: boolean; sortBy: string; errors: unknown[] },
): void {
  if (o.singleItemImplied && fetched.length === 0 && o.errors.length > 0) return;
  const strip = (x: Obj): Obj => (o.showManaged ? x : withoutManagedFields(x));
  if (o.singleItemImplied && fetched.length === 1 && !Array.isArray((fetched[0]!.body as Obj)['items'])) {
    ctx.out(printObject(o.format, strip(fetched[0]!.body as Obj), { noHeaders: o.noHeaders }));
    return;
  }
  let items: Obj[] = [];
  for (const x of fetched) {
    const b = x.body as Obj;
    if (Array.isArray(b['items'])) {
      const r = x.target.resource;
      const apiVersion = r.group === '' ? r.version : `${r.group}/${r.version}`;
      for (const it of b['items'] as Obj[]) items.push(strip({ apiVersion, kind: r.kind, ...it }));
    } else items.push(strip(b));
  }
  if (o.sortBy) items = sortItems(items, o.sortBy);
  if (items.length === 0 && outputKind(o.format) === 'name') return;
  const list: Obj = { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
  ctx.out(printObject(o.format, list, { noHeaders: o.noHeaders }));
}

async function runWatch(
  ctx: CliContext,
  targets: Target[],
  fetched: Fetched[],
  o: { human: boolean; format: string; allNs: boolean; namespace: string; selector: string; fieldSelector: string; f: ParsedFlags; widths: number[] },
): Promise<void> {
  const resources = new Set(targets.map((t) => t.resource));
  if (resources.size !== 1) throw new CliError('watch is only supported on individual resources and resource collections, but 2 resources were found');
  const r: ApiResourceInfo = targets[0]!.resource;
  const names = targets.filter((t) => t.name !== undefined).map((t) => t.name!);
  if (names.length > 1) throw new CliError(`watch is only supported on individual resources and resource collections, but ${names.length} resources were found`);
  const outputEvents = o.f.values['output-watch-events'] === true;
  const ns = r.namespaced && !(o.allNs && names.length === 0) ? o.namespace : undefined;
  // Watch from the list's resourceVersion; a single object is watched from 0 minus its synthetic first ADDED.
  let rv = '';
  const first = fetched[0]?.body as (Table & Obj) | undefined;
  if (names.length === 0 && first) rv = String((first.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '');
  const fieldSelector = names.length === 1 ? [o.fieldSelector, `metadata.name=${names[0]!}`].filter((x) => x).join(',') : o.fieldSelector;
  let skipFirstAdded = names.length === 1 && o.f.values['watch-only'] !== true;
  if (names.length === 1) rv = '0';
  const stream = await ctx.rest().stream({
    path: resourcePath(r, { namespace: ns }),
    query: { watch: true, labelSelector: o.selector || undefined, fieldSelector: fieldSelector || undefined, resourceVersion: rv || undefined },
    accept: o.human ? TABLE_ACCEPT : 'application/json',
  });
  const widths = o.widths;
  let headerPrinted = fetched.some((x) => isTable(x.body) && x.body.rows.length > 0) || o.f.values['no-headers'] === true;
  let columns: Table['columnDefinitions'] | undefined = fetched.map((x) => x.body).find((b): b is Table => isTable(b))?.columnDefinitions;
  for await (const line of stream.lines()) {
    if (line.trim() === '') continue;
    const ev = JSON.parse(line) as { type: string; object: Table & Obj };
    if (ev.type === 'ERROR') {
      const status = ev.object as unknown as { message?: string };
      throw new CliError(status.message ?? 'watch error');
    }
    if (ev.type === 'BOOKMARK') continue;
    if (skipFirstAdded && ev.type === 'ADDED') {
      skipFirstAdded = false;
      continue;
    }
    skipFirstAdded = false;
    if (!o.human) {
      const obj = o.f.values['show-managed-fields'] === true ? ev.object : withoutManagedFields(ev.object);
      const body = outputEvents ? ({ type: ev.type, object: obj } as unknown as Obj) : obj;
      if (outputEvents && outputKind(o.format) === 'name') ctx.out(`${ev.type} ${nameOf(obj)}\n`);
      else ctx.out(printObject(o.format, body));
      continue;
    }
    const t = ev.object;
    if (t.columnDefinitions && t.columnDefinitions.length > 0) columns = t.columnDefinitions;
    const table: Table = { kind: 'Table', columnDefinitions: columns ?? [], rows: t.rows ?? [] };
    const { header, rows } = tableLines(table, {
      wide: outputKind(o.format) === 'wide',
      withNamespace: o.allNs && r.namespaced,
      showLabels: o.f.values['show-labels'] === true,
      labelColumns: o.f.values['label-columns'] as string[],
      eventType: outputEvents ? ev.type : undefined,
    });
    const lines = headerPrinted ? rows : [header, ...rows];
    headerPrinted = true;
    ctx.out(alignRemembering(lines, widths));
  }
}

/** tabwriter with RememberWidths: each flush keeps the widest column widths seen so far. */
function alignRemembering(lines: string[][], widths: number[]): string {
  for (const cells of lines) {
    for (let c = 0; c < cells.length - 1; c++) widths[c] = Math.max(widths[c] ?? 0, [...cells[c]!].length + 3, 6);
  }
  return lines.map((cells) => cells.map((cell, c) => (c < cells.length - 1 ? cell + ' '.repeat(Math.max(0, widths[c]! - [...cell].length)) : cell)).join('')).map((l) => `${l}\n`).join('');
}

/** duration.HumanDuration of the time since an RFC 3339 timestamp (`<unknown>` when missing). */
export function humanAge(ts: string, now = Date.now()): string {
  if (!ts) return '<unknown>';
  return humanDuration(now - Date.parse(ts));
}

/** apimachinery's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

