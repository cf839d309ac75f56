/**
 * Kubernetes JSONPath templates (k8s.io/client-go/util/jsonpath) as `-o jsonpath=…` and custom-columns use
 * them: text with `{…}` actions — fields `.a.b`, `['a.b']`, indexes and slices `[0]`, `[-1]`, `[1:3]`, `[*]`,
 * recursive descent `..x`, filters `[?(@.x=="y")]`, unions `[0,1]`, `{range …}…{end}` and quoted literals
 * `{"\n"}`. Results print like upstream: strings raw, maps and lists as compact JSON, several results
 * separated by a space.
 */
import { CliError } from '../errors.ts';
import { goJson } from './encode.ts';

type Node =
  | { t: 'text'; text: string }
  | { t: 'list'; steps: Step[] }
  | { t: 'range'; steps: Step[]; body: Node[] }
  | { t: 'literal'; text: string };

type Step =
  | { t: 'root' }
  | { t: 'field'; name: string }
  | { t: 'wildcard' }
  | { t: 'recursive' }
  | { t: 'index'; parts: IndexPart[] }
  | { t: 'filter'; left: Step[]; op: string; right: Operand }
  | { t: 'exists'; path: Step[] };

type IndexPart = { t: 'i'; start?: number; end?: number; step?: number; slice: boolean } | { t: 'key'; name: string } | { t: 'all' };
type Operand = { t: 'path'; steps: Step[] } | { t: 'value'; value: string | number | boolean | null };

/** A parsed template. */
export interface JsonPathTemplate {
  nodes: Node[];
  source: string;
}

/** Parses a template; throws CliError with upstream's wording on a syntax error. */
export function parseJsonPath(source: string): JsonPathTemplate {
  const nodes: Node[] = [];
  const stack: { body: Node[]; steps: Step[] }[] = [];
  let cur = nodes;
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{', i);
    if (open < 0) {
      cur.push({ t: 'text', text: source.slice(i) });
      break;
    }
    if (open > i) cur.push({ t: 'text', text: source.slice(i, open) });
    const close = findClose(source, open);
    if (close < 0) throw new CliError(`error parsing jsonpath ${source}, unclosed action`);
    const inner = source.slice(open + 1, close).trim();
    i = close + 1;
    if (inner === 'end') {
      const top = stack.pop();
      if (!top) throw new CliError(`error parsing jsonpath ${source}, not in range, nothing to end`);
      const rangeNode: Node = { t: 'range', steps: top.steps, body: cur };
      cur = top.body;
      cur.push(rangeNode);
      continue;
    }
    if (/^range[\s.[@$]/.test(inner)) {
      const steps = parsePath(inner.slice(5).trim(), source);
      stack.push({ body: cur, steps });
      cur = [];
      continue;
    }
    if (inner.startsWith('"') || inner.startsWith("'")) {
      cur.push({ t: 'literal', text: unquote(inner, source) });
      continue;
    }
    if (inner === '') continue;
    for (const part of splitTopLevel(inner, ',')) cur.push({ t: 'list', steps: parsePath(part.trim(), source) });
  }
  if (stack.length > 0) throw new CliError(`error parsing jsonpath ${source}, unclosed range`);
  return { nodes, source };
}

/** Executes a template against `data` (`allowMissing`: missing keys print nothing, kubectl's default). */
export function executeJsonPath(tpl: JsonPathTemplate, data: unknown, opts: { allowMissing?: boolean } = {}): string {
  const allowMissing = opts.allowMissing ?? true;
  const run = (nodes: Node[], cur: unknown): string => {
    let out = '';
    for (const n of nodes) {
      switch (n.t) {
        case 'text':
        case 'literal':
          out += n.text;
          break;
        case 'list': {
          const results = evalSteps(n.steps, [cur], data, allowMissing, tpl.source);
          out += results.map(printValue).join(' ');
          break;
        }
        case 'range': {
          const results = evalSteps(n.steps, [cur], data, allowMissing, tpl.source);
          // `{range .items}` walks the one array; `{range .items[*]}` walks the results themselves.
          const items = results.length === 1 && Array.isArray(results[0]) ? (results[0] as unknown[]) : results;
          for (const item of items) out += run(n.body, item);
          break;
        }
      }
    }
    return out;
  };
  return run(tpl.nodes, data);
}

/** Evaluates a template and returns the raw result values of its first expression (for custom-columns, sort-by). */
export function findJsonPathValues(tpl: JsonPathTemplate, data: unknown): unknown[] {
  const out: unknown[] = [];
  for (const n of tpl.nodes) if (n.t === 'list') out.push(...evalSteps(n.steps, [data], data, true, tpl.source));
  return out;
}

/** `-o jsonpath=TEMPLATE` / `jsonpath-file=PATH` / `jsonpath-as-json=…` printing of one object or a List. */
export function printJsonPath(format: string, data: unknown, opts: { readFile?: (p: string) => string } = {}): string {
  const eq = format.indexOf('=');
  const kind = eq >= 0 ? format.slice(0, eq) : format;
  let tplText = eq >= 0 ? format.slice(eq + 1) : '';
  if (kind === 'jsonpath-file') {
    if (!opts.readFile) throw new CliError('jsonpath-file is not supported here');
    tplText = opts.readFile(tplText);
  }
  if (tplText === '') throw new CliError('template format specified but no template given');
  const tpl = parseJsonPath(tplText);
  if (kind === 'jsonpath-as-json') {
    const values: unknown[] = [];
    for (const n of tpl.nodes) if (n.t === 'list') values.push(...evalSteps(n.steps, [data], data, true, tpl.source));
    return goJson(values) + '\n';
  }
  return executeJsonPath(tpl, data);
}

/** kubectl's RelaxedJSONPathExpression: `.a.b`, `a.b` or `{.a.b}` all become `{.a.b}`. */
export function relaxedJsonPath(expr: string): string {
  const m = /^\{?(.*?)\}?$/.exec(expr.trim());
  let body = m ? m[1]! : expr;
  if (body === '') throw new CliError(`unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'`);
  if (!body.startsWith('.')) body = `.${body}`;
  return `{${body}}`;
}

function printValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'object') return goJson(v, { indent: 0 });
  return String(v);
}

function findClose(s: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

function unquote(s: string, source: string): string {
  const q = s[0]!;
  if (!s.endsWith(q) || s.length < 2) throw new CliError(`error parsing jsonpath ${source}, unterminated string`);
  const body = s.slice(1, -1);
  return body.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" })[c] ?? `\\${c}`);
}

function splitTopLevel(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function parsePath(p: string, source: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  if (p.startsWith('$')) i = 1;
  else if (p.startsWith('@')) i = 1;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '.') {
      if (p[i + 1] === '.') {
        steps.push({ t: 'recursive' });
        i += 2;
        continue;
      }
      i++;
      if (p[i] === '*') {
        steps.push({ t: 'wildcard' });
        i++;
        continue;
      }
      let j = i;
      while (j < p.length && /[^.[\]\s()=!<>]/.test(p[j]!)) j++;
      if (j > i) steps.push({ t: 'field', name: p.slice(i, j) });
      i = j;
      continue;
    }
    if (c === '[') {
      const end = matchBracket(p, i);
      if (end < 0) throw new CliError(`error parsing jsonpath ${source}, unterminated array`);
      const inner = p.slice(i + 1, end).trim();
      i = end + 1;
      if (inner.startsWith('?(') && inner.endsWith(')')) {
        steps.push(parseFilter(inner.slice(2, -1).trim(), source));
        continue;
      }
      if (inner === '*') {
        steps.push({ t: 'index', parts: [{ t: 'all' }] });
        continue;
      }
      const parts: IndexPart[] = splitTopLevel(inner, ',').map((raw) => {
        const x = raw.trim();
        if (x.startsWith("'") || x.startsWith('"')) return { t: 'key', name: unquote(x, source) };
        if (x.includes(':')) {
          const [a, b, st] = x.split(':').map((y) => y.trim());
          const num = (y: string | undefined): number | undefined => (y === undefined || y === '' ? undefined : Number(y));
          return { t: 'i', start: num(a), end: num(b), step: num(st), slice: true };
        }
        if (!/^-?\d+$/.test(x)) throw new CliError(`error parsing jsonpath ${source}, invalid array index ${x}`);
        return { t: 'i', start: Number(x), slice: false };
      });
      steps.push({ t: 'index', parts });
      continue;
    }
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    // A bare field name (custom-columns style `metadata.name` after relaxing, or `{items}`).
    let j = i;
    while (j < p.length && /[^.[\]\s]/.test(p[j]!)) j++;
    if (j === i) throw new CliError(`error parsing jsonpath ${source}, unrecognized character in action: ${JSON.stringify(c)}`);
    steps.push({ t: 'field', name: p.slice(i, j) });
    i = j;
  }
  return steps;
}

function matchBracket(p: string, open: number): number {
  let depth = 0;
  let quote = '';
  for (let i = open; i < p.length; i++) {
    const c = p[i]!;
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function parseFilter(expr: string, source: string): Step {
  const m = /^(.*?)\s*(==|!=|<=|>=|<|>|=~)\s*(.*)$/.exec(expr);
  if (!m) return { t: 'exists', path: parsePath(expr, source) };
  const left = parsePath(m[1]!.trim(), source);
  const rightText = m[3]!.trim();
  let right: Operand;
  if (rightText.startsWith('@') || rightText.startsWith('$')) right = { t: 'path', steps: parsePath(rightText, source) };
  else if (rightText.startsWith('"') || rightText.startsWith("'")) right = { t: 'value', value: unquote(rightText, source) };
  else if (/^-?\d+(\.\d+)?$/.test(rightText)) right = { t: 'value', value: Number(rightText) };
  else if (rightText === 'true' || rightText === 'false') right = { t: 'value', value: rightText === 'true' };
  else if (rightText === 'nil' || rightText === 'null') right = { t: 'value', value: null };
  else right = { t: 'value', value: rightText };
  return { t: 'filter', left, op: m[2]!, right };
}

function evalSteps(steps: Step[], inputs: unknown[], root: unknown, allowMissing: boolean, source: string): unknown[] {
  let cur = inputs;
  for (const s of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      switch (s.t) {
        case 'root':
          next.push(root);
          break;
        case 'field': {
          if (v !== null && typeof v === 'object' && !Array.isArray(v) && s.name in (v as object)) next.push((v as Record<string, unknown>)[s.name]);
          else if (Array.isArray(v) && s.name === 'length') next.push(v.length);
          else if (!allowMissing) throw new CliError(`error executing jsonpath ${JSON.stringify(source)}: Error executing template: ${s.name} is not found. Printing more information for debugging the template:\n\ttemplate was:\n\t\t${source}\n\tobject given to jsonpath engine was:\n\t\t${goJson(v, { indent: 0 })}\n\n`);
          break;
        }
        case 'wildcard':
          if (Array.isArray(v)) next.push(...v);
          else if (v !== null && typeof v === 'object') next.push(...Object.keys(v).sort().map((k) => (v as Record<string, unknown>)[k]));
          break;
        case 'recursive':
          collectRecursive(v, next);
          break;
        case 'index':
          for (const part of s.parts) {
            if (part.t === 'all') {
              if (Array.isArray(v)) next.push(...v);
              else if (v !== null && typeof v === 'object') next.push(...Object.values(v));
            } else if (part.t === 'key') {
              if (v !== null && typeof v === 'object' && part.name in (v as object)) next.push((v as Record<string, unknown>)[part.name]);
            } else if (Array.isArray(v)) {
              if (!part.slice) {
                const idx = part.start! < 0 ? v.length + part.start! : part.start!;
                if (idx >= 0 && idx < v.length) next.push(v[idx]);
                else if (!allowMissing) throw new CliError(`array index out of bounds: index ${part.start}, length ${v.length}`);
              } else {
                const len = v.length;
                const norm = (x: number): number => (x < 0 ? Math.max(0, len + x) : Math.min(x, len));
                const start = norm(part.start ?? 0);
                const end = norm(part.end ?? len);
                const step = part.step ?? 1;
                for (let k = start; k < end; k += step > 0 ? step : 1) next.push(v[k]);
              }
            }
          }
          break;
        case 'filter': {
          const items = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.values(v) : [];
          for (const item of items) {
            const lefts = evalSteps(s.left, [item], root, true, source);
            if (lefts.length === 0) continue;
            const rights = s.right.t === 'path' ? evalSteps(s.right.steps, [item], root, true, source) : [s.right.value];
            if (rights.length === 0) continue;
            if (compare(lefts[0], s.op, rights[0])) next.push(item);
          }
          break;
        }
        case 'exists': {
          const items = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.values(v) : [];
          for (const item of items) if (evalSteps(s.path, [item], root, true, source).length > 0) next.push(item);
          break;
        }
      }
    }
    cur = next;
  }
  return cur;
}

function collectRecursive(v: unknown, out: unknown[]): void {
  out.push(v);
  if (Array.isArray(v)) for (const e of v) collectRecursive(e, out);
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v).sort()) collectRecursive((v as Record<string, unknown>)[k], out);
}

function compare(a: unknown, op: string, b: unknown): boolean {
  if (op === '=~') return typeof a === 'string' && typeof b === 'string' && new RegExp(b).test(a);
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case '==':
        return a === b;
      case '!=':
        return a !== b;
      case '<':
        return a < b;
      case '>':
        return a > b;
      case '<=':
        return a <= b;
      default:
        return a >= b;
    }
  }
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  switch (op) {
    case '==':
      return sa === sb;
    case '!=':
      return sa !== sb;
    case '<':
      return sa < sb;
    case '>':
      return sa > sb;
    case '<=':
      return sa <= sb;
    default:
      return sa >= sb;
  }
}
