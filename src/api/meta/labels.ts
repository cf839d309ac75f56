/**
 * Label selectors: apimachinery's labels.Selector. Parsing follows labels.Parse (lexer, grammar and error
 * wording), matching follows Requirement.Matches, and formatting follows internalSelector.String().
 */
import { isQualifiedName, isValidLabelValue } from './validation.ts';

/** A selector operator, spelled as apimachinery's selection.Operator names. */
export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Equals' | 'DoubleEquals' | 'NotEquals' | 'GreaterThan' | 'LessThan';

/** One requirement of a label selector. */
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

/** A label selector: all requirements must hold; empty matches everything. */
export type LabelSelector = Requirement[];

/** Thrown when a label or field selector (or a metav1.LabelSelector) is invalid. */
export class SelectorParseError extends Error {
  override name = 'SelectorParseError';
}

/** The metav1.LabelSelector shape accepted by labelSelectorFromMeta. */
export interface MetaLabelSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: { key: string; operator: string; values?: string[] | undefined }[] | undefined;
}

// The operator strings upstream lists in "expected: ..." errors, in its order.
const binaryOperators = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const validRequirementOperators = [...binaryOperators, 'exists', '!'];

// --- lexer -----------------------------------------------------------------------------------------------

type Token =
  | 'Error' | 'EndOfString' | 'ClosedPar' | 'Comma' | 'DoesNotExist' | 'DoubleEquals' | 'Equals' | 'GreaterThan'
  | 'Identifier' | 'In' | 'LessThan' | 'NotEquals' | 'NotIn' | 'OpenPar';

// A Map, so that identifiers such as "constructor" are never mistaken for tokens.
const string2token = new Map<string, Token>([
  [')', 'ClosedPar'], [',', 'Comma'], ['!', 'DoesNotExist'], ['==', 'DoubleEquals'], ['=', 'Equals'], ['>', 'GreaterThan'],
  ['in', 'In'], ['<', 'LessThan'], ['!=', 'NotEquals'], ['notin', 'NotIn'], ['(', 'OpenPar'],
]);

interface ScannedItem {
  tok: Token;
  literal: string;
}

const isWhitespace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecialSymbol = (ch: string): boolean => '=!(),><'.includes(ch) && ch !== '';

function lex(s: string): ScannedItem[] {
  // Upstream's lexer works on bytes; UTF-16 code units behave the same for every byte it treats specially.
  let pos = 0;
  const read = (): string => (pos < s.length ? s[pos++] ?? '' : (pos++, ''));
  const unread = (): void => {
    pos--;
  };
  const items: ScannedItem[] = [];
  for (;;) {
    let ch = read();
    while (ch !== '' && isWhitespace(ch)) ch = read();
    let item: ScannedItem;
    if (ch === '') {
      item = { tok: 'EndOfString', literal: '' };
    } else if (isSpecialSymbol(ch)) {
      unread();
      let buffer = '';
      let last: ScannedItem | undefined;
      for (;;) {
        const c = read();
        if (c === '') break;
        if (isSpecialSymbol(c)) {
          buffer += c;
          const t = string2token.get(buffer);
          if (t) {
            last = { tok: t, literal: buffer };
          } else if (last) {
            unread();
            break;
          }
        } else {
          unread();
          break;
        }
      }
      item = last ?? { tok: 'Error', literal: `error expected: keyword found '${buffer}'` };
    } else {
      unread();
      let buffer = '';
      for (;;) {
        const c = read();
        if (c === '') break;
        if (isSpecialSymbol(c) || isWhitespace(c)) {
          unread();
          break;
        }
        buffer += c;
      }
      item = { tok: string2token.get(buffer) ?? 'Identifier', literal: buffer };
    }
    items.push(item);
    if (item.tok === 'EndOfString') return items;
  }
}

// --- parser ----------------------------------------------------------------------------------------------

class Parser {
  private position = 0;
  constructor(private readonly items: ScannedItem[]) {}

  // In a values context 'in' and 'notin' are ordinary identifiers ("x in (in)").
  private at(i: number, values: boolean): ScannedItem {
    const item = this.items[Math.min(i, this.items.length - 1)] ?? { tok: 'EndOfString', literal: '' };
    if (values && (item.tok === 'In' || item.tok === 'NotIn')) return { tok: 'Identifier', literal: item.literal };
    return item;
  }
  private lookahead(values = true): ScannedItem {
    return this.at(this.position, values);
  }
  private consume(values = true): ScannedItem {
    const item = this.at(this.position, values);
    this.position++;
    return item;
  }

  parse(): LabelSelector {
    const requirements: LabelSelector = [];
    for (;;) {
      const { tok, literal } = this.lookahead();
      if (tok === 'Identifier' || tok === 'DoesNotExist') {
        let r: Requirement;
        try {
          r = this.parseRequirement();
        } catch (e) {
          throw new SelectorParseError(`unable to parse requirement: ${(e as Error).message}`);
        }
        requirements.push(r);
        const t = this.consume();
        if (t.tok === 'EndOfString') return requirements;
        if (t.tok === 'Comma') {
          const t2 = this.lookahead();
          if (t2.tok !== 'Identifier' && t2.tok !== 'DoesNotExist') {
            throw new SelectorParseError(`found '${t2.literal}', expected: identifier after ','`);
          }
        } else {
          throw new SelectorParseError(`found '${t.literal}', expected: ',' or 'end of string'`);
        }
      } else if (tok === 'EndOfString') {
        return requirements;
      } else {
        throw new SelectorParseError(`found '${literal}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): Requirement {
    const { key, operator: inferred } = this.parseKeyAndInferOperator();
    if (inferred === 'Exists' || inferred === 'DoesNotExist') return newRequirement({ key, operator: inferred, values: [] });
    const operator = this.parseOperator();
    const values = operator === 'In' || operator === 'NotIn' ? this.parseValues() : this.parseExactValue();
    // sets.String.List(): de-duplicated and sorted.
    return newRequirement({ key, operator, values: [...values].sort(compareStrings) });
  }

  private parseKeyAndInferOperator(): { key: string; operator: Operator | undefined } {
    let operator: Operator | undefined;
    let t = this.consume();
    if (t.tok === 'DoesNotExist') {
      operator = 'DoesNotExist';
      t = this.consume();
    }
    if (t.tok !== 'Identifier') throw new Error(`found '${t.literal}', expected: identifier`);
    // Upstream validates against its nil path here, which prints as "<nil>".
    const keyErr = labelKeyError(t.literal, '<nil>');
    if (keyErr) throw new Error(keyErr);
    const next = this.lookahead().tok;
    if ((next === 'EndOfString' || next === 'Comma') && operator !== 'DoesNotExist') operator = 'Exists';
    return { key: t.literal, operator };
  }

  private parseOperator(): Operator {
    const { tok, literal } = this.consume(false);
    switch (tok) {
      case 'In': return 'In';
      case 'Equals': return 'Equals';
      case 'DoubleEquals': return 'DoubleEquals';
      case 'GreaterThan': return 'GreaterThan';
      case 'LessThan': return 'LessThan';
      case 'NotIn': return 'NotIn';
      case 'NotEquals': return 'NotEquals';
      default: throw new Error(`found '${literal}', expected: ${binaryOperators.join(', ')}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume();
    if (open.tok !== 'OpenPar') throw new Error(`found '${open.literal}' expected: '('`);
    const { tok, literal } = this.lookahead();
    if (tok === 'Identifier' || tok === 'Comma') {
      const s = this.parseIdentifiersList();
      if (this.consume().tok !== 'ClosedPar') throw new Error(`found '${literal}', expected: ')'`);
      return s;
    }
    if (tok === 'ClosedPar') {
      this.consume();
      return new Set(['']);
    }
    throw new Error(`found '${literal}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, literal } = this.consume();
      if (tok === 'Identifier') {
        s.add(literal);
        const t2 = this.lookahead();
        if (t2.tok === 'Comma') continue;
        if (t2.tok === 'ClosedPar') return s;
        throw new Error(`found '${t2.literal}', expected: ',' or ')'`);
      } else if (tok === 'Comma') {
        if (s.size === 0) s.add(''); // "(,"
        const t2 = this.lookahead().tok;
        if (t2 === 'ClosedPar') {
          s.add(''); // ",)"
          return s;
        }
        if (t2 === 'Comma') {
          this.consume();
          s.add(''); // ",,"
        }
      } else {
        throw new Error(`found '${literal}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead().tok;
    if (next === 'EndOfString' || next === 'Comma') return new Set(['']);
    const { tok, literal } = this.consume();
    if (tok === 'Identifier') return new Set([literal]);
    throw new Error(`found '${literal}', expected: identifier`);
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function quote(v: string): string {
  return JSON.stringify(v);
}

// field.Invalid(path, key, ...).Error(), worded as upstream.
function labelKeyError(key: string, path: string): string | undefined {
  const errs = isQualifiedName(key);
  return errs.length > 0 ? `${path}: Invalid value: ${quote(key)}: ${errs.join('; ')}` : undefined;
}

function isInt64(s: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(s)) return false;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/**
 * Builds a validated requirement as labels.NewRequirement does; throws SelectorParseError with the aggregated
 * field errors (upstream wording) when the key, operator or values are invalid.
 */
export function newRequirement(req: { key: string; operator: string; values: string[] }, opts: { path?: string } = {}): Requirement {
  const { key, operator, values } = req;
  const path = opts.path ?? '';
  const child = (c: string): string => (path ? `${path}.${c}` : c);
  const errs: string[] = [];
  const keyErr = labelKeyError(key, child('key'));
  if (keyErr) errs.push(keyErr);
  const valuePath = child('values');
  // field.Error renders a []string bad value with Go's %#v.
  const list = `[]string{${values.map(quote).join(', ')}}`;
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(`${valuePath}: Invalid value: ${list}: for 'in', 'notin' operators, values set can't be empty`);
      break;
    case 'Equals':
    case 'DoubleEquals':
    case 'NotEquals':
      if (values.length !== 1) errs.push(`${valuePath}: Invalid value: ${list}: exact-match compatibility requires one single value`);
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length !== 0) errs.push(`${valuePath}: Invalid value: ${list}: values set must be empty for exists and does not exist`);
      break;
    case 'GreaterThan':
    case 'LessThan':
      if (values.length !== 1) errs.push(`${valuePath}: Invalid value: ${list}: for 'Gt', 'Lt' operators, exactly one value is required`);
      values.forEach((v, i) => {
        if (!isInt64(v)) errs.push(`${valuePath}[${i}]: Invalid value: ${quote(v)}: for 'Gt', 'Lt' operators, the value must be an integer`);
      });
      break;
    default:
      errs.push(`${child('operator')}: Unsupported value: ${quote(operator)}: supported values: ${validRequirementOperators.map(quote).join(', ')}`);
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length > 0) errs.push(`${valuePath}[${i}][${key}]: Invalid value: ${quote(v)}: ${msgs.join('; ')}`);
  });
  const unique = [...new Set(errs)];
  if (unique.length > 0) throw new SelectorParseError(unique.length === 1 ? unique[0] ?? '' : `[${unique.join(', ')}]`);
  return { key, operator: operator as Operator, values };
}

function sortByKey(sel: LabelSelector): LabelSelector {
  // Array.prototype.sort is stable, which keeps "z!=a,z" in its written order.
  return sel.sort((a, b) => compareStrings(a.key, b.key));
}

/** Parses a label selector string with labels.Parse's grammar and messages; the result is sorted by key. */
export function parseLabelSelector(s: string): LabelSelector {
  return sortByKey(new Parser(lex(s)).parse());
}

// metav1.LabelSelectorOperator → selection.Operator.
const metaOperators: Record<string, Operator> = { In: 'In', NotIn: 'NotIn', Exists: 'Exists', DoesNotExist: 'DoesNotExist' };

/**
 * Converts a metav1.LabelSelector as metav1.LabelSelectorAsSelector does, except that undefined/null yields the
 * empty selector (everything): callers that need upstream's "nil selects nothing" must check for nil themselves.
 * Throws SelectorParseError on an invalid operator, key or value.
 */
export function labelSelectorFromMeta(sel: MetaLabelSelector | undefined | null): LabelSelector {
  if (!sel) return [];
  const out: LabelSelector = [];
  const matchLabels = Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => compareStrings(a, b));
  for (const [k, v] of matchLabels) out.push(newRequirement({ key: k, operator: 'Equals', values: [v] }));
  for (const expr of sel.matchExpressions ?? []) {
    const op = Object.hasOwn(metaOperators, expr.operator) ? metaOperators[expr.operator] : undefined;
    if (!op) throw new SelectorParseError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    out.push(newRequirement({ key: expr.key, operator: op, values: [...(expr.values ?? [])] }));
  }
  return sortByKey(out);
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] ?? '' : '';
  switch (r.operator) {
    case 'In':
    case 'Equals':
    case 'DoubleEquals':
      return has && r.values.includes(value);
    case 'NotIn':
    case 'NotEquals':
      return !has || !r.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'GreaterThan':
    case 'LessThan': {
      if (!has || !isInt64(value) || r.values.length !== 1) return false;
      const want = r.values[0] ?? '';
      if (!isInt64(want)) return false;
      const a = BigInt(value);
      const b = BigInt(want);
      return r.operator === 'GreaterThan' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** True when the labels satisfy every requirement (undefined labels = none); the empty selector matches all. */
export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const ls = labels ?? {};
  return sel.every((r) => requirementMatches(r, ls));
}

function formatRequirement(r: Requirement): string {
  let s = r.operator === 'DoesNotExist' ? `!${r.key}` : r.key;
  switch (r.operator) {
    case 'Equals': s += '='; break;
    case 'DoubleEquals': s += '=='; break;
    case 'NotEquals': s += '!='; break;
    case 'In': s += ' in '; break;
    case 'NotIn': s += ' notin '; break;
    case 'GreaterThan': s += '>'; break;
    case 'LessThan': s += '<'; break;
    case 'Exists':
    case 'DoesNotExist':
      return s;
  }
  const values = r.values.length === 1 ? r.values[0] ?? '' : [...r.values].sort(compareStrings).join(',');
  return r.operator === 'In' || r.operator === 'NotIn' ? `${s}(${values})` : s + values;
}

/** The selector in upstream's String() form ("a=b,c in (x,y),!d"), requirements in the given order. */
export function formatLabelSelector(sel: LabelSelector): string {
  return sel.map(formatRequirement).join(',');
}

/** Formats a metav1.LabelSelector as a selector string (as Scale.status.selector); throws when it is invalid. */
export function formatMetaLabelSelector(sel: MetaLabelSelector): string {
  return formatLabelSelector(labelSelectorFromMeta(sel));
}
