/**
 * Go-compatible encoders for kubectl's output: JSON as `json.MarshalIndent` writes it (sorted map keys when the
 * value came from an unstructured map, HTML-escaped `<>&`, 4-space indent) and YAML as sigs.k8s.io/yaml
 * (go-yaml v2) writes it (sorted keys, YAML 1.1 quoting, sequences not indented, literal blocks for multi-line
 * strings).
 */

/** JSON text as Go's encoding/json would write `value`; `sortKeys` mimics marshalling a map[string]interface{}. */
export function goJson(value: unknown, opts: { indent?: number; sortKeys?: boolean } = {}): string {
  const indent = opts.indent ?? 4;
  const sortKeys = opts.sortKeys ?? true;
  const pad = ' '.repeat(indent);
  const enc = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return goString(v);
    if (typeof v === 'number') return Number.isFinite(v) ? goNumber(v) : 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      if (indent === 0) return `[${v.map((e) => enc(e, depth + 1)).join(',')}]`;
      const inner = pad.repeat(depth + 1);
      return `[\n${v.map((e) => inner + enc(e, depth + 1)).join(',\n')}\n${pad.repeat(depth)}]`;
    }
    if (typeof v === 'object') {
      let keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      if (sortKeys) keys = keys.sort(byUtf8);
      if (keys.length === 0) return '{}';
      const o = v as Record<string, unknown>;
      if (indent === 0) return `{${keys.map((k) => `${goString(k)}:${enc(o[k], depth + 1)}`).join(',')}}`;
      const inner = pad.repeat(depth + 1);
      return `{\n${keys.map((k) => `${inner}${goString(k)}: ${enc(o[k], depth + 1)}`).join(',\n')}\n${pad.repeat(depth)}}`;
    }
    return 'null';
  };
  return enc(value, 0);
}

/** Go's byte-wise string ordering (what sort.Strings does for map keys). */
export function byUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029 || c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const abs = Math.abs(n);
  // encoding/json switches to exponent form outside [1e-6, 1e21).
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}

/** YAML as kubectl prints it (sigs.k8s.io/yaml over go-yaml v2, no line wrapping). Ends with a newline. */
export function goYaml(value: unknown): string {
  const out: string[] = [];
  emitValue(value, 0, out, 'top');
  return out.join('');
}

type Place = 'top' | 'map' | 'seq';

function emitValue(v: unknown, indent: number, out: string[], place: Place): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return void out.push(place === 'top' ? '[]\n' : ' []\n');
    if (place === 'map') out.push('\n');
    // go-yaml does not indent a sequence under its mapping key.
    const seqPad = place === 'map' ? ' '.repeat(Math.max(0, indent - 2)) : pad;
    v.forEach((e, i) => {
      const lead = place === 'seq' && i === 0 ? '' : seqPad;
      out.push(`${lead}-`);
      emitValue(e, (place === 'map' ? Math.max(0, indent - 2) : indent) + 2, out, 'seq');
    });
    return;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort(goYamlKeyLess);
    if (keys.length === 0) return void out.push(place === 'top' ? '{}\n' : ' {}\n');
    if (place === 'map') out.push('\n');
    keys.forEach((k, i) => {
      const lead = place === 'seq' && i === 0 ? ' ' : place === 'seq' ? pad : pad;
      out.push(`${lead}${yamlScalar(k, indent, true)}:`);
      const e = (v as Record<string, unknown>)[k];
      emitValue(e, indent + 2, out, 'map');
    });
    return;
  }
  const text = yamlScalar(v, indent, false);
  out.push(place === 'top' ? `${text}\n` : ` ${text}\n`);
}

function yamlScalar(v: unknown, indent: number, isKey: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  const s = String(v);
  const a = analyzeScalar(s);
  const resolvesToString = !resolvesNonString(s);
  if (s.includes('\n') && !isKey && a.blockAllowed) return literalBlock(s, indent);
  if (resolvesToString && a.plainAllowed && !a.multiline) return s;
  if (a.singleAllowed && resolvesToString && !a.multiline) return `'${s.replace(/'/g, "''")}'`;
  return doubleQuoted(s);
}

function goFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? '.nan' : n > 0 ? '.inf' : '-.inf';
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(n);
}

interface ScalarAnalysis {
  multiline: boolean;
  plainAllowed: boolean;
  singleAllowed: boolean;
  blockAllowed: boolean;
}

/** libyaml's yaml_emitter_analyze_scalar, for block context. */
function analyzeScalar(s: string): ScalarAnalysis {
  if (s === '') return { multiline: false, plainAllowed: false, singleAllowed: true, blockAllowed: false };
  let blockIndicators = s.startsWith('---') || s.startsWith('...');
  let special = false;
  let lineBreaks = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let prevSpace = false;
  let prevBreak = false;
  const chars = [...s];
  let precededByWs = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    const followedByWs = next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '\r';
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':') && followedByWs) blockIndicators = true;
      if (c === '-' && followedByWs) blockIndicators = true;
    } else {
      if (c === ':' && followedByWs) blockIndicators = true;
      if (c === '#' && precededByWs) blockIndicators = true;
    }
    const cp = c.codePointAt(0)!;
    const printable = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0x7e) || cp === 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
    if (!printable) special = true;
    const isBreak = c === '\n' || c === '\r' || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
    if (isBreak) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevBreak = true;
      prevSpace = false;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = c === ' ' || c === '\t' || isBreak;
  }
  let plainAllowed = !blockIndicators;
  let singleAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) plainAllowed = false;
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) (plainAllowed = false), (singleAllowed = false);
  if (spaceBreak || special) (plainAllowed = false), (singleAllowed = false), (blockAllowed = false);
  if (lineBreaks) plainAllowed = false;
  return { multiline: lineBreaks, plainAllowed, singleAllowed, blockAllowed };
}

/** Whether go-yaml v2 would read the plain scalar as something other than a string (so it must be quoted). */
function resolvesNonString(s: string): boolean {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return true;
  if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/.test(s)) return true;
  if (s === '<<') return true;
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s) || /^\.(nan|NaN|NAN)$/.test(s)) return true;
  const plain = s.replace(/_/g, '');
  if (/^[-+]?(0b[01]+|0x[0-9a-fA-F]+|0o?[0-7]+|[0-9]+)$/.test(plain)) return true;
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) return true;
  if (/^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s)) return true;
  return isTimestamp(s);
}

function isTimestamp(s: string): boolean {
  return /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}:\d{2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?$/.test(s);
}

function literalBlock(s: string, indent: number): string {
  const pad = ' '.repeat(Math.max(indent, 2));
  let chomp = '-';
  let body = s;
  if (s.endsWith('\n')) {
    chomp = s.endsWith('\n\n') ? '+' : '';
    body = s.slice(0, -1);
  }
  const indicator = body.startsWith(' ') || body.startsWith('\n') ? '2' : '';
  const lines = body.split('\n').map((l) => (l === '' ? '' : pad + l));
  return `|${indicator}${chomp}\n${lines.join('\n')}`;
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (cp === 0) out += '\\0';
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0xfeff) out += `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (cp === 0x2028) out += '\\L';
    else if (cp === 0x2029) out += '\\P';
    else out += c;
  }
  return out + '"';
}

/** go-yaml v2's keyList.Less for string keys (numeric runs compare as numbers), as a sort comparator. */
export function goYamlKeyLess(a: string, b: string): number {
  return keyLess(a, b) ? -1 : keyLess(b, a) ? 1 : 0;
}

function keyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      digits = isDigit(ar[i]!);
      continue;
    }
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return digits ? al : bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10 + Number(ar[ai]);
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

function isLetter(c: string): boolean {
  return /\p{L}/u.test(c);
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
