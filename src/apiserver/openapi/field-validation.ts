/**
 * Server-side field validation (`?fieldValidation=Strict|Warn|Ignore`): finds the unknown and duplicate fields of a
 * request body against the generated OpenAPI schema of its kind, with upstream's wording and order.
 *
 * Upstream decodes a body with sigs.k8s.io/json's strict mode, which reports, in document order, `unknown field
 * "<path>"` and `duplicate field "<path>"` (paths like `spec.containers[0].foo`, map keys joined with "."),
 * de-duplicated and capped at 100. JSON.parse silently keeps the last duplicate, so this module scans the raw text
 * with a small parser that walks the schema alongside. YAML bodies are checked as upstream does: first the YAML
 * duplicate keys (go-yaml's `line N: key "k" already set in map`, in one error), then the JSON they convert to.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { GroupVersionKind } from '../../api/meta/types.ts';
import { refName, resolveRef, schemaFor } from '../../api/openapi/schemas.ts';
import type { OpenApiSchema } from '../../api/openapi/schemas.ts';

/** The `fieldValidation` query parameter values. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Options of findFieldProblems. */
export interface FieldProblemOptions {
  /** The body's format; by default YAML unless the first non-space character is `{` or `[`. */
  format?: 'json' | 'yaml';
}

/** Upstream caps the collected strict errors. */
const MAX_PROBLEMS = 100;

/**
 * Types upstream decodes with their own UnmarshalJSON, so the strict decoder never looks inside them
 * (quantities, times, int-or-strings, raw extensions, managed-fields sets, CRD JSON values).
 */
const OPAQUE = new Set([
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray',
]);

/** How the decoder treats a value: a struct (known fields), a map, a list, free-form JSON, or not at all. */
type Shape =
  | { kind: 'struct'; properties: Record<string, OpenApiSchema> }
  | { kind: 'map'; values: OpenApiSchema | undefined }
  | { kind: 'list'; items: OpenApiSchema | undefined }
  | { kind: 'free' }
  | { kind: 'skip' };

const FREE: Shape = { kind: 'free' };
const SKIP: Shape = { kind: 'skip' };
const shapes = new WeakMap<OpenApiSchema, Shape>();

function shapeOf(schema: OpenApiSchema | undefined): Shape {
  if (schema === undefined) return FREE;
  let shape = shapes.get(schema);
  if (shape === undefined) {
    shape = computeShape(schema);
    shapes.set(schema, shape);
  }
  return shape;
}

function computeShape(schema: OpenApiSchema): Shape {
  const name = refName(schema);
  if (name !== undefined && OPAQUE.has(name)) return { kind: 'skip' };
  const s = resolveRef(schema).schema;
  if (s.properties !== undefined) return { kind: 'struct', properties: s.properties };
  if (s.type === 'array') return { kind: 'list', items: s.items };
  if (typeof s.additionalProperties === 'object') return { kind: 'map', values: s.additionalProperties };
  // Untyped preserve-unknown values decode into interface{}: duplicates are still checked, unknowns are not.
  if (s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true) return { kind: 'free' };
  if (s.type === 'object') return { kind: 'map', values: undefined };
  return { kind: 'skip' };
}

class Problems {
  readonly list: string[] = [];
  private readonly seen = new Set<string>();
  add(msg: string): void {
    if (this.list.length >= MAX_PROBLEMS || this.seen.has(msg)) return;
    this.seen.add(msg);
    this.list.push(msg);
  }
}

class SyntaxProblem extends Error {}

/** The keys of one object seen so far: an array while small (most objects), a Set past 16 keys (big maps). */
class KeySet {
  private keys: string[] | Set<string> = [];
  /** Adds a key; false when it was there already. */
  add(key: string): boolean {
    const keys = this.keys;
    if (Array.isArray(keys)) {
      if (keys.includes(key)) return false;
      keys.push(key);
      if (keys.length > 16) this.keys = new Set(keys);
      return true;
    }
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  }
}

/** A strict-decoding walk over raw JSON text, guided by the schema (sigs.k8s.io/json's field stack). */
class Scanner {
  private i = 0;
  /** The path to the current value: object keys and `[n]` list indexes (joined only when a problem is found). */
  private readonly stack: (string | number)[] = [];
  constructor(
    private readonly text: string,
    private readonly problems: Problems,
  ) {}

  run(root: OpenApiSchema | undefined): void {
    this.ws();
    this.value(root === undefined ? FREE : shapeOf(root));
    this.ws();
    if (this.i !== this.text.length) throw new SyntaxProblem('trailing data');
  }

  private fieldPath(field: string): string {
    let out = '';
    for (let j = 0; j < this.stack.length; j++) {
      const part = this.stack[j]!;
      out += typeof part === 'number' ? `[${part}]` : j === 0 ? part : `.${part}`;
    }
    return this.stack.length === 0 ? field : `${out}.${field}`;
  }

  private ws(): void {
    const t = this.text;
    let i = this.i;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  private value(shape: Shape): void {
    this.ws();
    const c = this.text.charCodeAt(this.i);
    if (c === 0x7b /* { */) this.object(shape);
    else if (c === 0x5b /* [ */) this.array(shape);
    else if (c === 0x22 /* " */) this.skipString();
    else this.literal();
  }

  private object(shape: Shape): void {
    const t = this.text;
    this.i++; // {
    // Duplicates matter only where the decoder has fields or map keys; skipped values are not looked into.
    const seen = shape.kind === 'skip' ? undefined : new KeySet();
    this.ws();
    if (t.charCodeAt(this.i) === 0x7d /* } */) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (t.charCodeAt(this.i) !== 0x22) throw new SyntaxProblem('expected key');
      const key = this.string();
      this.ws();
      if (t.charCodeAt(this.i) !== 0x3a /* : */) throw new SyntaxProblem('expected colon');
      this.i++;
      let child: Shape = SKIP;
      let known = true;
      switch (shape.kind) {
        case 'struct': {
          const prop = Object.hasOwn(shape.properties, key) ? shape.properties[key] : undefined;
          if (prop === undefined) {
            known = false;
            this.problems.add(`unknown field ${goQuote(this.fieldPath(key))}`);
          } else child = shapeOf(prop);
          break;
        }
        case 'map':
          child = shape.values === undefined ? FREE : shapeOf(shape.values);
          break;
        case 'free':
          child = FREE;
          break;
        default:
          child = SKIP;
      }
      if (known && seen !== undefined) {
        if (!seen.add(key)) this.problems.add(`duplicate field ${goQuote(this.fieldPath(key))}`);
      }
      if (!known || child.kind === 'skip') {
        this.skipValue();
      } else {
        this.stack.push(key);
        this.value(child);
        this.stack.pop();
      }
      this.ws();
      const next = t.charCodeAt(this.i++);
      if (next === 0x7d /* } */) return;
      if (next !== 0x2c /* , */) throw new SyntaxProblem('expected , or }');
    }
  }

  private array(shape: Shape): void {
    const t = this.text;
    this.i++; // [
    const item: Shape = shape.kind === 'list' ? shapeOf(shape.items) : shape.kind === 'free' ? FREE : SKIP;
    this.ws();
    if (t.charCodeAt(this.i) === 0x5d /* ] */) {
      this.i++;
      return;
    }
    for (let n = 0; ; n++) {
      if (item.kind === 'skip') {
        this.skipValue();
      } else {
        this.stack.push(n);
        this.value(item);
        this.stack.pop();
      }
      this.ws();
      const next = t.charCodeAt(this.i++);
      if (next === 0x5d /* ] */) return;
      if (next !== 0x2c /* , */) throw new SyntaxProblem('expected , or ]');
    }
  }

  /** Skips a value the decoder does not look into (still checking it is well-formed JSON). */
  private skipValue(): void {
    this.ws();
    const t = this.text;
    const c = t.charCodeAt(this.i);
    if (c === 0x22) {
      this.skipString();
      return;
    }
    if (c !== 0x7b && c !== 0x5b) {
      this.literal();
      return;
    }
    let depth = 0;
    for (;;) {
      const d = t.charCodeAt(this.i);
      if (Number.isNaN(d)) throw new SyntaxProblem('unterminated value');
      if (d === 0x22) {
        this.skipString();
        continue;
      }
      this.i++;
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return;
      }
    }
  }

  /** Moves past a string; returns whether it held escapes. */
  private skipString(): boolean {
    const t = this.text;
    let i = this.i + 1; // opening quote
    let escaped = false;
    for (;;) {
      const q = t.indexOf('"', i);
      if (q < 0) throw new SyntaxProblem('unterminated string');
      const b = t.indexOf('\\', i);
      if (b < 0 || b > q) {
        this.i = q + 1;
        return escaped;
      }
      escaped = true;
      i = b + 2;
    }
  }

  private string(): string {
    const start = this.i;
    const escaped = this.skipString();
    const raw = this.text.slice(start, this.i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  private literal(): void {
    const t = this.text;
    const start = this.i;
    let i = start;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      // Literals are letters, digits, sign, point and exponent characters.
      if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45) i++;
      else break;
    }
    const lit = t.slice(start, i);
    if (!/^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)$/.test(lit)) throw new SyntaxProblem('bad literal');
    this.i = i;
  }
}

/** Go's %q of a field path (upstream formats the path with it); JSON string quoting agrees for printable text. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** go-yaml's rendering of a duplicate key in its `%#v` form: strings quoted, numbers and booleans bare. */
function goValue(v: unknown): string {
  return typeof v === 'string' ? goQuote(v) : String(v);
}

/** go-yaml v2 strict duplicate-key errors, in its order: a value's own duplicates before its key's. */
function yamlDuplicateKeys(node: YamlNode | null | undefined, lines: LineCounter, out: string[]): void {
  if (node === null || node === undefined) return;
  if (isSeq(node)) {
    for (const item of node.items) yamlDuplicateKeys(item as YamlNode, lines, out);
    return;
  }
  if (!isMap(node)) return;
  const seen = new Set<string>();
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    const value = pair.value as YamlNode | null;
    yamlDuplicateKeys(value, lines, out);
    const id = typeof key === 'object' ? JSON.stringify(key) : `${typeof key}:${String(key)}`;
    if (seen.has(id)) {
      // go-yaml reports the line of the value node (the key's line for an empty value).
      const at = value?.range?.[0] ?? (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? 0;
      out.push(`line ${lines.linePos(at).line}: key ${goValue(key)} already set in map`);
    }
    seen.add(id);
  }
}

/**
 * The strict-decoding problems of a request body for the kind `gvk`, in upstream's order and wording:
 * `unknown field "spec.foo"`, `duplicate field "metadata.name"`, and for YAML first
 * `error converting YAML to JSON: yaml: unmarshal errors:\n  line 5: key "name" already set in map`.
 * Fields under maps and x-kubernetes-preserve-unknown-fields are never unknown. A body that does not parse yields
 * no problems (the decoder reports the syntax error). A kind without a generated schema is checked for duplicates only.
 */
export function findFieldProblems(raw: string | Uint8Array, gvk: GroupVersionKind, opts: FieldProblemOptions = {}): string[] {
  const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
  const format = opts.format ?? (/^\s*[{[]/.test(text) ? 'json' : 'yaml');
  const problems = new Problems();
  let json = text;
  if (format === 'yaml') {
    const lines = new LineCounter();
    const doc = parseDocument(text, { uniqueKeys: false, lineCounter: lines, version: '1.1' });
    if (doc.errors.length > 0) return [];
    const dups: string[] = [];
    yamlDuplicateKeys(doc.contents as YamlNode | null, lines, dups);
    if (dups.length > 0) problems.add(`error converting YAML to JSON: yaml: unmarshal errors:\n  ${dups.join('\n  ')}`);
    json = JSON.stringify(doc.toJS({ maxAliasCount: 100 }) ?? null);
  }
  try {
    new Scanner(json, problems).run(schemaFor(gvk));
  } catch (err) {
    if (err instanceof SyntaxProblem) return format === 'yaml' ? problems.list : [];
    throw err;
  }
  return problems.list;
}

/** The unknown-field walk of findFieldProblems over a value already in memory (which cannot hold duplicates). */
function unknownFieldsIn(v: unknown, shape: Shape, path: string, problems: Problems): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    const item: Shape = shape.kind === 'list' ? shapeOf(shape.items) : shape.kind === 'free' ? { kind: 'free' } : { kind: 'skip' };
    if (item.kind === 'skip' || item.kind === 'free') return;
    for (let n = 0; n < v.length; n++) unknownFieldsIn(v[n], item, `${path}[${n}]`, problems);
    return;
  }
  if (shape.kind !== 'struct' && shape.kind !== 'map') return;
  const o = v as Record<string, unknown>;
  for (const key in o) {
    const child = o[key];
    if (child === undefined) continue;
    const at = path === '' ? key : `${path}.${key}`;
    if (shape.kind === 'struct') {
      const prop = Object.hasOwn(shape.properties, key) ? shape.properties[key] : undefined;
      if (prop === undefined) problems.add(`unknown field ${goQuote(at)}`);
      else unknownFieldsIn(child, shapeOf(prop), at, problems);
    } else if (shape.values !== undefined) {
      unknownFieldsIn(child, shapeOf(shape.values), at, problems);
    }
  }
}

/**
 * findFieldProblems for an object in memory (a patched object): its unknown fields, in the order and wording
 * findFieldProblems gives for the object's JSON text, without serialising and re-scanning it.
 */
export function findUnknownFields(obj: object, gvk: GroupVersionKind): string[] {
  const root = schemaFor(gvk);
  if (root === undefined) return [];
  const problems = new Problems();
  unknownFieldsIn(obj, shapeOf(root), '', problems);
  return problems.list;
}

/** The 400 message upstream returns for Strict validation: `strict decoding error: <problem>, <problem>`. */
export function strictDecodingMessage(problems: readonly string[]): string {
  return `strict decoding error: ${problems.join(', ')}`;
}

/** Parses the fieldValidation query parameter; undefined for an invalid value (upstream answers 400 then). */
export function parseFieldValidation(value: string | null | undefined): FieldValidation | undefined {
  if (value === null || value === undefined || value === '') return 'Warn';
  return value === 'Strict' || value === 'Warn' || value === 'Ignore' ? value : undefined;
}

