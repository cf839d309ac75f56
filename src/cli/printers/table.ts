/**
 * kubectl's HumanReadablePrinter for server-side Tables (cli-runtime printers/tableprinter.go): wide columns by
 * priority, the NAMESPACE column for -A, `kind/name` prefixes, `-L` label columns and `--show-labels`, the EVENT
 * column of `--output-watch-events`, headers only when there are rows, and cells cut at a line break with `...`.
 */
import { tabwrite } from './tabwriter.ts';

/** meta.k8s.io/v1 TableColumnDefinition. */
export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
}

/** meta.k8s.io/v1 TableRow (object is PartialObjectMetadata or the full object). */
export interface TableRow {
  cells: unknown[];
  object?: { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
}

/** meta.k8s.io/v1 Table. */
export interface Table {
  kind: 'Table';
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

/** How to print (kubectl's PrintOptions). */
export interface TablePrintOptions {
  wide?: boolean;
  noHeaders?: boolean;
  withNamespace?: boolean;
  /** `pod`, `deployment.apps`: prefixes the name column (`pod/web`). */
  kindPrefix?: string;
  showLabels?: boolean;
  labelColumns?: string[];
  /** Watch event type for the EVENT column. */
  eventType?: string;
}

/** The header and row lines (tab-separated, not yet aligned) of one table. */
export function tableLines(table: Table, opts: TablePrintOptions): { header: string[]; rows: string[][] } {
  const visible = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || !c.priority);
  const header: string[] = [];
  if (opts.eventType !== undefined) header.push('EVENT');
  if (opts.withNamespace) header.push('NAMESPACE');
  for (const { c } of visible) header.push(c.name.toUpperCase());
  for (const l of opts.labelColumns ?? []) header.push(labelHeader(l));
  if (opts.showLabels) header.push('LABELS');
  const nameCol = opts.kindPrefix ? table.columnDefinitions.findIndex((c) => c.format === 'name' && c.type === 'string') : -1;
  const rows = table.rows.map((r) => {
    const cells: string[] = [];
    if (opts.eventType !== undefined) cells.push(formatEventType(opts.eventType));
    if (opts.withNamespace) cells.push(r.object?.metadata?.namespace ?? '');
    for (const { i } of visible) {
      let cell = formatCell(r.cells[i]);
      if (i === nameCol) cell = `${opts.kindPrefix}/${cell}`;
      cells.push(cell);
    }
    const labels = r.object?.metadata?.labels ?? {};
    for (const l of opts.labelColumns ?? []) cells.push(labels[l] ?? '');
    if (opts.showLabels) cells.push(formatLabels(labels));
    return cells;
  });
  return { header, rows };
}

/** Prints tables of one resource type aligned together; the header is printed once, and only if there are rows. */
export function printTables(tables: Table[], opts: TablePrintOptions): string {
  const lines: string[] = [];
  let headerDone = !!opts.noHeaders;
  for (const t of tables) {
    const { header, rows } = tableLines(t, opts);
    if (rows.length === 0) continue;
    if (!headerDone) {
      lines.push(header.join('\t'));
      headerDone = true;
    }
    for (const r of rows) lines.push(r.join('\t'));
  }
  return lines.length === 0 ? '' : tabwrite(lines);
}

/** labels.FormatLabels: sorted `k=v` pairs joined by commas, `<none>` when empty. */
export function formatLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels[k]}`).join(',');
}

function labelHeader(label: string): string {
  const parts = label.split('/');
  return parts[parts.length - 1]!.toUpperCase();
}

function formatEventType(t: string): string {
  return ({ ADDED: 'ADDED   ', MODIFIED: 'MODIFIED', DELETED: 'DELETED ', ERROR: 'ERROR   ' } as Record<string, string>)[t] ?? t;
}

/** fmt.Sprint of a cell, cut at the first line break as kubectl does. */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean') s = String(v);
  else s = JSON.stringify(v);
  const cut = s.search(/[\f\n\r]/);
  if (cut >= 0) s = `${s.slice(0, cut)}...`;
  return s.replace(/\x1b/g, '^[');
}
