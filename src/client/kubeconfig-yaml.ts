/**
 * A strict reader for the block-style YAML that kubeconfig files are written in (by kubectl, skiff and most
 * tools): nested mappings, sequences of mappings or scalars, plain and quoted one-line scalars, comments, and
 * empty `{}` / `[]`. It exists so that reading a kubeconfig does not load and run the full `yaml` package on every
 * CLI start. Anything outside that subset (anchors, tags, block or multi-line scalars, flow collections with
 * content, duplicate keys, odd indentation) makes it return undefined, and the caller uses the full parser;
 * so for any input it either agrees with the YAML 1.2 core schema or declines.
 */

interface Line {
  indent: number;
  text: string;
}

class Decline extends Error {}

const decline = (): never => {
  throw new Decline();
};

function stripComment(s: string): string {
  // A comment starts at a '#' preceded by whitespace; quoted scalars are handled by their own scanner.
  const m = /(^|\s)#/.exec(s);
  return (m ? s.slice(0, m.index) : s).trimEnd();
}

// Indicators that cannot start a plain scalar ('-', '?' and ':' only when a space or the end follows).
const plainUnsafe = /^(?:[,[\]{}#&*!|>'"%@`]|[-?:](?:\s|$))/;

function scalar(raw: string): unknown {
  const s = raw.trim();
  if (s === '') return null;
  if (s.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\["\\/bfnrt])*)"$/.exec(s);
    if (!m) return decline();
    return JSON.parse(`"${m[1]!}"`) as string;
  }
  if (s.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'$/.exec(s);
    if (!m) return decline();
    return m[1]!.replaceAll("''", "'");
  }
  if (s === '{}') return {};
  if (s === '[]') return [];
  if (plainUnsafe.test(s) || s.includes(': ') || s.endsWith(':') || s.includes('\t')) return decline();
  if (/^(?:true|True|TRUE)$/.test(s)) return true;
  if (/^(?:false|False|FALSE)$/.test(s)) return false;
  if (/^(?:null|Null|NULL|~)$/.test(s)) return null;
  if (/^[-+]?[0-9]+$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : decline();
  }
  // Other numbers, special floats and the like are left to the full parser.
  if (/^[-+]?(?:\.[0-9]|[0-9])/.test(s) || /^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/.test(s) || /^0[ox]/.test(s)) return decline();
  return s;
}

/** Splits `key: rest` (plain or quoted key); undefined when the line is not a mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  let key: string;
  let after: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    const m = text.startsWith('"') ? /^"((?:[^"\\]|\\["\\/bfnrt])*)"/.exec(text) : /^'((?:[^']|'')*)'/.exec(text);
    if (!m) return decline();
    key = scalar(m[0]) as string;
    after = text.slice(m[0].length);
  } else {
    const i = text.search(/:(?:\s|$)/);
    if (i < 0) return undefined;
    key = text.slice(0, i);
    after = text.slice(i);
    if (key === '' || key !== key.trim() || plainUnsafe.test(key) || key.includes(' #')) return decline();
  }
  if (!after.startsWith(':')) return undefined;
  const rest = after.slice(1);
  if (rest !== '' && !/^\s/.test(rest)) return undefined;
  return { key, rest: rest.trim() };
}

class Reader {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.i >= this.lines.length;
  }

  /** A block node whose lines are indented at least `min`. */
  node(min: number): unknown {
    const first = this.lines[this.i];
    if (!first || first.indent < min) return null;
    if (first.text === '-' || first.text.startsWith('- ')) return this.seq(first.indent);
    return this.map(first.indent);
  }

  private map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (!this.done()) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) decline();
      if (line.text === '-' || line.text.startsWith('- ')) break;
      this.entry(out, line.text, indent);
    }
    return out;
  }

  /** Reads `key: value` (value inline, or a nested block on the following lines) into `out`. */
  private entry(out: Record<string, unknown>, text: string, indent: number): void {
    const kv = splitKey(text);
    if (!kv) return decline();
    if (Object.prototype.hasOwnProperty.call(out, kv.key) || kv.key === '__proto__') decline();
    this.i++;
    if (kv.rest !== '') {
      out[kv.key] = scalar(kv.rest);
      return;
    }
    const next = this.lines[this.i];
    if (next && next.indent > indent) out[kv.key] = this.node(indent + 1);
    // A sequence may sit at the same indentation as its key (kubectl writes them so).
    else if (next && next.indent === indent && (next.text === '-' || next.text.startsWith('- '))) out[kv.key] = this.seq(indent);
    else out[kv.key] = null;
  }

  private seq(indent: number): unknown[] {
    const out: unknown[] = [];
    while (!this.done()) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || !(line.text === '-' || line.text.startsWith('- '))) {
        if (line.indent > indent) decline();
        break;
      }
      const rest = line.text.slice(1).trimStart();
      const itemIndent = indent + (line.text.length - rest.length);
      if (rest === '') {
        this.i++;
        out.push(this.node(indent + 1));
        continue;
      }
      if (rest === '-' || rest.startsWith('- ')) decline();
      const kv = splitKey(rest);
      if (!kv) {
        this.i++;
        out.push(scalar(rest));
        continue;
      }
      // `- key: value` opens a mapping whose further keys are indented to the first key's column.
      const item: Record<string, unknown> = {};
      this.entry(item, rest, itemIndent);
      while (!this.done()) {
        const l = this.lines[this.i]!;
        if (l.indent < itemIndent || (l.indent === indent && l.text.startsWith('-'))) break;
        if (l.indent !== itemIndent) decline();
        if (l.text === '-' || l.text.startsWith('- ')) decline();
        this.entry(item, l.text, itemIndent);
      }
      out.push(item);
    }
    return out;
  }
}

/** Parses a kubeconfig-style YAML document, or returns undefined when the text is outside the subset. */
export function parseSimpleYaml(text: string): { value: unknown } | undefined {
  const lines: Line[] = [];
  let started = false;
  for (const rawLine of text.split(/\r?\n/)) {
    if (rawLine.includes('\t') && rawLine.trim() !== '') return undefined;
    const trimmed = rawLine.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed === '---' || trimmed.startsWith('--- ')) {
      if (started || trimmed !== '---') return undefined;
      started = true;
      continue;
    }
    if (trimmed === '...' || trimmed.startsWith('%')) return undefined;
    started = true;
    // Quoted text may contain '#': leave comment stripping of such lines to the full parser.
    const quoted = trimmed.includes('"') || trimmed.includes("'");
    if (quoted && /\s#/.test(trimmed)) return undefined;
    const body = quoted ? trimmed.trimEnd() : trimmed.includes('#') ? stripComment(trimmed) : trimmed.trimEnd();
    if (body === '') continue;
    lines.push({ indent: rawLine.length - trimmed.length, text: body });
  }
  if (lines.length === 0) return { value: null };
  try {
    const r = new Reader(lines);
    if (lines[0]!.indent !== 0) return undefined;
    const value = r.node(0);
    if (!r.done()) return undefined;
    return { value };
  } catch (e) {
    if (e instanceof Decline) return undefined;
    throw e;
  }
}
