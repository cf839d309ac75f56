/**
 * Field selectors: apimachinery's fields.ParseSelector (terms split on unescaped commas, `=`, `==` or `!=`,
 * backslash escapes in values) and matching (a missing field counts as "").
 */
import { SelectorParseError } from './labels.ts';

export { SelectorParseError };

/** One field requirement; `==` parses as `=`. */
export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** A field selector: all requirements must hold; empty matches everything. */
export type FieldSelector = FieldRequirement[];

// "!=" and "==" are tried before "=" at each position, as upstream's termOperators.
const termOperators = ['!=', '==', '='] as const;

function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function splitTerm(term: string): { lhs: string; op: (typeof termOperators)[number]; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of termOperators) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** Undoes escapeFieldValue; throws SelectorParseError on a bad escape or an unescaped `,` or `=`. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorParseError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      // Upstream formats the rune with %v, which prints its code point.
      throw new SelectorParseError(`invalid field selector: unescaped character in value: ${c.codePointAt(0) ?? 0}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw new SelectorParseError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Escapes `\`, `,` and `=` in a field selector value (fields.EscapeValue). */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Parses a field selector string as fields.ParseSelector does (terms sorted); throws SelectorParseError. */
export function parseFieldSelector(s: string): FieldSelector {
  const parts = splitTerms(s).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: FieldSelector = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new SelectorParseError(`invalid selector: '${s}'; can't understand '${part}'`);
    out.push({ field: t.lhs, operator: t.op === '!=' ? '!=' : '=', value: unescapeFieldValue(t.rhs) });
  }
  return out;
}

/** True when every requirement holds for the values `get` returns (undefined counts as ""). */
export function matchesFields(sel: FieldSelector, get: (field: string) => string | undefined): boolean {
  return sel.every((r) => ((get(r.field) ?? '') === r.value) === (r.operator === '='));
}

/** The selector in upstream's String() form ("metadata.name=web,spec.nodeName!="), values escaped. */
export function formatFieldSelector(sel: FieldSelector): string {
  return sel.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
}

/** The value the selector requires `field` to equal, when it has such an `=` term (RequiresExactMatch). */
export function fieldRequiresExactMatch(sel: FieldSelector, field: string): string | undefined {
  return sel.find((r) => r.field === field && r.operator === '=')?.value;
}
