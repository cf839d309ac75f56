/**
 * `skiff explain`: kubectl explain with OpenAPI v3 (kubectl's explain/v2 plaintext template, ported walk for
 * walk): the server's per-group-version document is fetched through the /openapi/v3 index, the field path is
 * followed through $ref/allOf/items/additionalProperties, and fields print with kubectl's type guesses, enum
 * lines and go-wordwrap line breaking; `--recursive` prints the field tree without descriptions.
 */
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import type { ApiResourceInfo } from '../discovery.ts';
import { CliError } from '../errors.ts';

type Schema = Record<string, unknown> & {
  $ref?: string;
  description?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  allOf?: Schema[];
  enum?: unknown[];
  externalDocs?: { description?: string; url?: string };
};
type Doc = { paths?: Record<string, Record<string, { 'x-kubernetes-group-version-kind'?: Gvk }>>; components?: { schemas?: Record<string, Schema> } };
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

/** `skiff explain`. */
export const command: VerbCommand = {
  use: 'explain TYPE [--recursive=FALSE|TRUE] [--api-version=api-version-group] [-o|--output=plaintext|plaintext-openapiv2]',
  short: 'Get documentation for a resource.',
  flags: [
    { name: 'recursive', type: 'bool', usage: 'When true, print the name of all the fields recursively. Otherwise, print the available fields with their description.' },
    { name: 'api-version', type: 'string', usage: 'Use given api-version (group/version) of the resource.' },
    { name: 'output', short: 'o', type: 'string', default: 'plaintext', usage: 'Format in which to render the schema. Valid values are: (plaintext, plaintext-openapiv2).' },
  ],
  async run(ctx, f) {
    if (f.args.length === 0) {
      throw new CliError('You must specify the type of resource to explain. Use "kubectl api-resources" for a complete list of supported resources.');
    }
    if (f.args.length > 1) throw new CliError(`We accept only this format: explain RESOURCE`);
    const [resourceArg, ...fieldPath] = f.args[0]!.split('.');
    let r: ApiResourceInfo;
    try {
      r = await ctx.discovery().resolveOne(resourceArg!);
    } catch (e) {
      // explain prints the RESTMapper's no-match text as is (no `error: ` prefix), unlike get.
      if (e instanceof CliError) throw new CliError(e.message, { raw: true });
      throw e;
    }
    let group = r.group;
    let version = r.version;
    const apiVersion = String(f.values['api-version']);
    if (apiVersion) {
      [group, version] = apiVersion.includes('/') ? (apiVersion.split('/', 2) as [string, string]) : ['', apiVersion];
    }
    const doc = await fetchDocument(ctx, group, version, r.name);
    const { text, error } = renderExplain(doc, { group, version, resource: r.name, fieldPath, recursive: f.values['recursive'] === true });
    // Like kubectl's streaming template, the header is already out when a field turns out not to exist.
    ctx.out(text);
    if (error) throw error;
  },
};

async function fetchDocument(ctx: CliContext, group: string, version: string, resource: string): Promise<Doc> {
  const index = (await ctx.rest().request<{ paths?: Record<string, { serverRelativeURL?: string }> }>({ path: '/openapi/v3' })).body;
  const key = group === '' ? `api/${version}` : `apis/${group}/${version}`;
  const url = index.paths?.[key]?.serverRelativeURL;
  if (!url) throw new CliError(`couldn't find resource for "${group}/${version}, Resource=${resource}"`);
  const u = new URL(url, 'http://x');
  const query: Record<string, string> = {};
  u.searchParams.forEach((v, k) => (query[k] = v));
  return (await ctx.rest().request<Doc>({ path: u.pathname, query })).body;
}

/** Renders kubectl's plaintext explain output (and the error that cut it short, if any) for a resource and field path. */
export function renderExplain(doc: Doc, o: { group: string; version: string; resource: string; fieldPath: string[]; recursive: boolean }): { text: string; error?: CliError } {
  const prefix = o.group === '' ? '/api' : `/apis/${o.group}`;
  const searchPaths = [
    `${prefix}/${o.version}/${o.resource}`,
    `${prefix}/${o.version}/${o.resource}/{name}`,
    `${prefix}/${o.version}/namespaces/{namespace}/${o.resource}`,
    `${prefix}/${o.version}/namespaces/{namespace}/${o.resource}/{name}`,
  ];
  let gvk: Gvk | undefined;
  outer: for (const p of searchPaths) {
    const el = doc.paths?.[p];
    if (!el) continue;
    for (const m of ['get', 'post', 'put', 'patch', 'delete']) {
      const g = el[m]?.['x-kubernetes-group-version-kind'];
      if (g) {
        gvk = g;
        break outer;
      }
    }
  }
  if (!gvk) return { text: '', error: new CliError(`GVR (${o.group}/${o.version}, Resource=${o.resource}) not found in OpenAPI schema`) };
  let out = '';
  if (gvk.group) out += `GROUP:      ${gvk.group}\n`;
  out += `KIND:       ${gvk.kind}\nVERSION:    ${gvk.version}\n\n`;
  const r = new Renderer(doc, o.recursive);
  for (const s of Object.values(doc.components?.schemas ?? {})) {
    const gvks = (s['x-kubernetes-group-version-kind'] as Gvk[] | undefined) ?? [];
    if (!gvks.some((x) => x.group === gvk.group && x.version === gvk.version && x.kind === gvk.kind)) continue;
    const body = r.output(s, o.fieldPath, new Set());
    if (body === '') return { text: out, error: new CliError(`field ${JSON.stringify(o.fieldPath[o.fieldPath.length - 1] ?? '')} does not exist`) };
    return { text: `${out}${body}\n` };
  }
  return { text: out, error: new CliError(`GVK ${gvk.group}/${gvk.version}, Kind=${gvk.kind} not found in OpenAPI schema`) };
}

class Renderer {
  constructor(
    private readonly doc: Doc,
    private readonly recursive: boolean,
  ) {}

  private resolve(ref: unknown): Schema | undefined {
    if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
    let cur: unknown = this.doc;
    for (const k of ref.slice(1).split('/')) {
      if (k === '') continue;
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[k];
    }
    return cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Schema) : undefined;
  }

  output(schema: Schema, fieldPath: string[], history: Set<string>): string {
    const ref = schema.$ref ?? '';
    const next = new Set(history).add(ref);
    const resolved = this.resolve(ref) ?? schema;
    if (fieldPath.length === 0) {
      let s = 'DESCRIPTION:\n';
      s += indent(4, wrap(76, this.description(resolved) || '<empty>')) + '\n';
      const ext = externalDocs(resolved);
      if (ext) s += `\n${ext}`;
      const fields = this.fieldList(resolved, 1, new Set());
      if (fields) s += `FIELDS:\n${fields}`;
      return s;
    }
    if (ref && history.has(ref)) return '';
    const first = fieldPath[0]!;
    const props = resolved.properties;
    if (props && Object.hasOwn(props, first) && props[first]) {
      const sub = props[first];
      let s = '';
      if (fieldPath.length === 1) s += `FIELD: ${first} <${this.typeGuess(sub)}>\n${this.extractEnum(sub, { long: true, limit: -1, indentAmount: 0 })}\n\n`;
      return s + this.output(sub, fieldPath.slice(1), new Set());
    }
    if (resolved.items) return this.output(resolved.items, fieldPath, next);
    if (isSchema(resolved.additionalProperties)) return this.output(resolved.additionalProperties, fieldPath, next);
    for (const sub of resolved.allOf ?? []) {
      const s = this.output(sub, fieldPath, next);
      if (s) return s;
    }
    return '';
  }

  private fieldList(schema: Schema, level: number, history: Set<string>): string {
    const ref = schema.$ref ?? '';
    if (ref && history.has(ref)) return '';
    const next = new Set(history).add(ref);
    const resolved = this.resolve(ref) ?? schema;
    let s = '';
    const props = resolved.properties ?? {};
    for (const k of Object.keys(props).sort()) {
      s += this.fieldDetail(k, resolved, level);
      if (this.recursive) s += this.fieldList(props[k]!, level + 1, next);
    }
    for (const sub of resolved.allOf ?? []) s += this.fieldList(sub, level, next);
    if (resolved.items) s += this.fieldList(resolved.items, level, next);
    if (isSchema(resolved.additionalProperties)) s += this.fieldList(resolved.additionalProperties, level, next);
    return s;
  }

  private fieldDetail(name: string, schema: Schema, level: number): string {
    const ind = level * 2;
    const field = schema.properties![name]!;
    let s = `${indent(ind, name)}\t<${this.typeGuess(field)}>`;
    if (schema.required?.includes(name)) s += ' -required-';
    s += this.extractEnum(field, { long: false, limit: 4, indentAmount: ind });
    s += '\n';
    if (!this.recursive) {
      s += indent(ind + 2, wrap(78 - ind, field.description || '<no description>')) + '\n';
      const ext = field.externalDocs;
      if (ext) {
        s += '\n' + indent(ind + 2, 'EXTERNAL DOCS:') + '\n';
        if (ext.description) s += indent(ind + 4, wrap(76 - ind, ext.description)) + '\n';
        if (ext.url) s += indent(ind + 4, `URL: ${ext.url}`) + '\n';
      }
      s += '\n';
    }
    return s;
  }

  private description(schema: Schema): string {
    const s = this.resolve(schema.$ref) ?? schema;
    let out = '';
    if (s.description) out += `${s.description}\n`;
    for (const sub of s.allOf ?? []) out += this.description(sub);
    if (s.items) out += this.description(s.items);
    if (isSchema(s.additionalProperties)) out += this.description(s.additionalProperties);
    return out;
  }

  private typeGuess(s: Schema): string {
    if (s.items) return `[]${this.typeGuess(s.items)}`;
    if (isSchema(s.additionalProperties)) return `map[string]${this.typeGuess(s.additionalProperties)}`;
    if (s.allOf && !s.properties && s.allOf.length === 1) return this.typeGuess(s.allOf[0]!);
    if (s.$ref) {
      const target = this.resolve(s.$ref);
      if (!target || !target.type || target.type === 'object') {
        const name = s.$ref.split('/').pop() ?? '';
        return name.split('.').pop() || 'Object';
      }
      return target.type || 'Object';
    }
    if (s.type === 'object') return 'Object';
    return s.type || 'Object';
  }

  private extractEnum(s: Schema, o: { long: boolean; limit: number; indentAmount: number }): string {
    const values = s.enum;
    if (!values || values.length === 0) return '';
    let out = o.long ? 'ENUM:' : `\n${' '.repeat(o.indentAmount)}enum: `;
    for (let i = 0; i < values.length; i++) {
      if (o.limit > -1 && i >= o.limit) {
        out += ', ....';
        break;
      }
      if (i > 0 && !o.long) out += ', ';
      else if (o.long) out += '\n    ';
      const v = values[i];
      out += v === '' ? '""' : String(v);
    }
    return out;
  }
}

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function externalDocs(s: Schema): string {
  const e = s.externalDocs;
  if (!e) return '';
  let out = 'EXTERNAL DOCS:\n';
  if (e.description) out += indent(4, wrap(76, e.description)) + '\n';
  if (e.url) out += indent(4, `URL: ${e.url}`) + '\n';
  return out;
}

/** kubectl explain's `indent`: pads the first line and every line after a newline. */
export function indent(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return pad + s.split('\n').join(`\n${pad}`);
}

/** github.com/mitchellh/go-wordwrap WrapString (v1.0.1): breaks at spaces so lines stay within `lim` runes. */
export function wrap(lim: number, s: string): string {
  let buf = '';
  let current = 0;
  let word = '';
  let wordLen = 0;
  let space = '';
  let spaceLen = 0;
  for (const ch of s) {
    if (ch === '\n') {
      if (wordLen === 0) {
        if (current + spaceLen > lim) current = 0;
        else buf += space;
      } else {
        buf += space + word;
      }
      space = '';
      spaceLen = 0;
      word = '';
      wordLen = 0;
      buf += ch;
      current = 0;
    } else if (/\s/u.test(ch) && ch !== '\u00a0') {
      if (space === '' || wordLen > 0) {
        current += spaceLen + wordLen;
        buf += space + word;
        space = '';
        spaceLen = 0;
        word = '';
        wordLen = 0;
      }
      space += ch;
      spaceLen++;
    } else {
      word += ch;
      wordLen++;
      if (current + spaceLen + wordLen > lim && wordLen < lim) {
        buf += '\n';
        current = 0;
        space = '';
        spaceLen = 0;
      }
    }
  }
  if (wordLen === 0) {
    if (current + spaceLen <= lim) buf += space;
  } else {
    buf += space + word;
  }
  return buf;
}
