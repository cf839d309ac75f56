/**
 * The non-table printers of `-o`: json, yaml, name, jsonpath (and -file, -as-json) and custom-columns (and
 * -file), applied to one object or to a `List` as kubectl's printGeneric builds it.
 */
import { readFileSync } from 'node:fs';
import { CliError } from '../errors.ts';
import { goJson, goYaml } from './encode.ts';
import { findJsonPathValues, parseJsonPath, printJsonPath, relaxedJsonPath } from './jsonpath.ts';
import { tabwrite } from './tabwriter.ts';

/** The formats `get -o` accepts, in kubectl's error-message order. */
export const allowedFormats = 'custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml';

/** An object as the CLI handles it. */
export type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; managedFields?: unknown; [k: string]: unknown }; [k: string]: unknown };

/** The format family of an `-o` value ('' → table). Throws kubectl's error for unknown formats. */
export function outputKind(format: string): 'table' | 'wide' | 'json' | 'yaml' | 'name' | 'jsonpath' | 'custom-columns' {
  const f = format.split('=')[0]!;
  switch (f) {
    case '':
      return 'table';
    case 'wide':
      return 'wide';
    case 'json':
    case 'yaml':
    case 'name':
      return f;
    case 'jsonpath':
    case 'jsonpath-file':
    case 'jsonpath-as-json':
      return 'jsonpath';
    case 'custom-columns':
    case 'custom-columns-file':
      return 'custom-columns';
    default:
      throw new CliError(`unable to match a printer suitable for the output format ${JSON.stringify(format)}, allowed formats are: ${allowedFormats}`);
  }
}

/** Removes metadata.managedFields (kubectl hides them unless --show-managed-fields). */
export function withoutManagedFields<T extends Obj>(o: T): T {
  if (!o.metadata || !('managedFields' in o.metadata)) return o;
  const { managedFields: _drop, ...meta } = o.metadata;
  return { ...o, metadata: meta };
}

/** Prints one object (or a List) in a non-table format. */
export function printObject(format: string, obj: Obj, opts: { noHeaders?: boolean } = {}): string {
  const kind = outputKind(format);
  switch (kind) {
    case 'json':
      return goJson(obj) + '\n';
    case 'yaml':
      return goYaml(obj);
    case 'name':
      return itemsOf(obj).map((o) => `${nameOf(o)}\n`).join('');
    case 'jsonpath':
      return printJsonPath(format, obj, { readFile: (p) => readFileSync(p, 'utf8') });
    case 'custom-columns':
      return printCustomColumns(format, itemsOf(obj), opts);
    default:
      throw new CliError(`unable to match a printer suitable for the output format ${JSON.stringify(format)}, allowed formats are: ${allowedFormats}`);
  }
}

/** `kind.group/name` in lower case (`pod/web`, `deployment.apps/web`), as the name printer writes it. */
export function nameOf(o: Obj): string {
  const apiVersion = o.apiVersion ?? '';
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const kind = (o.kind ?? '').toLowerCase();
  return `${group ? `${kind}.${group}` : kind}/${o.metadata?.name ?? ''}`;
}

function itemsOf(obj: Obj): Obj[] {
  if (Array.isArray(obj['items'])) return obj['items'] as Obj[];
  return [obj];
}

/** `-o custom-columns=NAME:.metadata.name,…` or `custom-columns-file=PATH` (header line, then paths). */
export function printCustomColumns(format: string, items: Obj[], opts: { noHeaders?: boolean } = {}): string {
  const eq = format.indexOf('=');
  const spec = eq >= 0 ? format.slice(eq + 1) : '';
  let headers: string[];
  let paths: string[];
  if (format.startsWith('custom-columns-file')) {
    const lines = readFileSync(spec, 'utf8').split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== 2) throw new CliError(`invalid template file: expected two lines (headers and paths), found ${lines.length}`);
    headers = lines[0]!.trim().split(/\s+/);
    paths = lines[1]!.trim().split(/\s+/);
    if (headers.length !== paths.length) throw new CliError(`number of headers (${headers.length}) does not match number of paths (${paths.length})`);
  } else {
    if (spec === '') throw new CliError('custom-columns format specified but no custom columns given');
    headers = [];
    paths = [];
    for (const part of spec.split(',')) {
      const i = part.indexOf(':');
      if (i < 0) throw new CliError(`unexpected custom-columns spec: ${part}, expected <header>:<json-path-expr>`);
      headers.push(part.slice(0, i));
      paths.push(part.slice(i + 1));
    }
  }
  const templates = paths.map((p) => parseJsonPath(relaxedJsonPath(p)));
  const lines: string[] = [];
  if (!opts.noHeaders) lines.push(headers.join('\t'));
  for (const item of items) {
    const cells = templates.map((t) => {
      const values = findJsonPathValues(t, item);
      if (values.length === 0) return '<none>';
      return values.map(goValueString).join(',');
    });
    lines.push(cells.join('\t'));
  }
  return tabwrite(lines);
}

/** fmt's %v of a decoded JSON value (maps as `map[k:v]`, lists as `[a b]`). */
export function goValueString(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(goValueString).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValueString((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}
