/**
 * kubectl's describe output machinery: a PrefixWriter (two spaces per level) feeding a tabwriter configured as
 * describe's tabbedString (minwidth 0, padding 2), flushed where upstream flushes (before the events table),
 * plus the shared helpers (labels, annotations, tolerations, events, ages and RFC 1123 times).
 */
import { tabwrite } from '../printers/tabwriter.ts';
import { humanDuration } from '../commands/get.ts';

/** Accumulates describe lines; `flush()` closes the current tabwriter block as upstream's w.Flush() does. */
export class DescribeWriter {
  private lines: string[] = [];
  private done = '';

  /** Writes text at an indentation level (each level is two spaces); may hold several lines. */
  write(level: number, text: string): void {
    const prefix = '  '.repeat(level);
    this.raw(prefix + text);
  }

  /** Appends raw text (continuing the current line when the previous write had no newline). */
  raw(text: string): void {
    if (this.pending !== '') {
      text = this.pending + text;
      this.pending = '';
    }
    const parts = text.split('\n');
    const last = parts.pop()!;
    this.lines.push(...parts);
    this.pending = last;
  }

  private pending = '';

  /** Ends the current alignment block. */
  flush(): void {
    if (this.pending !== '') {
      this.lines.push(this.pending);
      this.pending = '';
    }
    if (this.lines.length > 0) this.done += tabwrite(this.lines, { minWidth: 0, padding: 2 });
    this.lines = [];
  }

  /** The text without alignment (tabs kept), as printed through a plain writer (rollout history). */
  untabbed(): string {
    const lines = this.pending !== '' ? [...this.lines, this.pending] : this.lines;
    return lines.map((l) => `${l}\n`).join('');
  }

  /** The finished text. */
  toString(): string {
    this.flush();
    return this.done;
  }
}

/** printLabelsMultilineWithIndent. */
export function writeLabels(w: DescribeWriter, title: string, labels: Record<string, string> | undefined, opts: { indent?: string } = {}): void {
  const indent = opts.indent ?? '';
  w.raw(`${indent}${title}:\t`);
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return void w.raw('<none>\n');
  keys.forEach((k, i) => {
    // Continuation lines start with the inner indent only (the same under a tabwriter, visible untabbed).
    if (i !== 0) w.raw('\t');
    w.raw(`${k}=${labels![k]}\n`);
  });
}

const skipAnnotations = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
const maxAnnotationLen = 140;

/** printAnnotationsMultilineWithIndent (hides the last-applied annotation, folds long values). */
export function writeAnnotations(w: DescribeWriter, title: string, annotations: Record<string, string> | undefined, opts: { indent?: string } = {}): void {
  const indent = opts.indent ?? '';
  w.raw(`${indent}${title}:\t`);
  const keys = Object.keys(annotations ?? {}).filter((k) => !skipAnnotations.has(k)).sort();
  if (keys.length === 0) return void w.raw('<none>\n');
  const inner = `${indent}\t`;
  keys.forEach((k, i) => {
    if (i !== 0) w.raw(inner);
    const value = annotations![k]!.replace(/\n$/, '');
    if (value.length + k.length + 2 > maxAnnotationLen || value.includes('\n')) {
      w.raw(`${k}:\n`);
      for (const s of value.split('\n')) w.raw(`${inner}  ${s.length > maxAnnotationLen - 2 ? `${s.slice(0, maxAnnotationLen - 2)}...` : s}\n`);
    } else {
      w.raw(`${k}: ${value}\n`);
    }
  });
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** printPodTolerationsMultilineWithIndent. */
export function writeTolerations(w: DescribeWriter, title: string, tolerations: Toleration[] | undefined, opts: { indent?: string } = {}): void {
  const indent = opts.indent ?? '';
  w.raw(`${indent}${title}:\t`);
  const list = tolerations ?? [];
  if (list.length === 0) return void w.raw('<none>\n');
  list.forEach((t, i) => {
    if (i !== 0) w.raw(`${indent}\t`);
    let s = '';
    if (t.key) s += t.key;
    if (t.value) s += `=${t.value}`;
    if (t.effect) s += `:${t.effect}`;
    if (t.operator === 'Exists' && !t.value) s += t.key || t.effect ? ' op=Exists' : 'op=Exists';
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) s += ` for ${t.tolerationSeconds}s`;
    w.raw(`${s}\n`);
  });
}

/** A core/v1 Event as describe reads it. */
export interface CoreEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  source?: { component?: string };
  reportingComponent?: string;
}

/** DescribeEvents: `Events: <none>` or the Type/Reason/Age/From/Message table, oldest first. */
export function writeEvents(w: DescribeWriter, events: CoreEvent[] | undefined, now = Date.now()): void {
  if (events === undefined) return;
  if (events.length === 0) return void w.raw('Events:\t<none>\n');
  w.flush();
  const sorted = [...events].sort((a, b) => Date.parse(a.lastTimestamp ?? '') - Date.parse(b.lastTimestamp ?? '') || 0);
  w.raw('Events:\n  Type\tReason\tAge\tFrom\tMessage\n');
  w.write(1, '----\t------\t----\t----\t-------\n');
  for (const e of sorted) {
    const first = e.eventTime ? since(e.eventTime, now) : since(e.firstTimestamp ?? '', now);
    let interval = first;
    if (e.series) interval = `${since(e.series.lastObservedTime ?? '', now)} (x${e.series.count ?? 0} over ${first})`;
    else if ((e.count ?? 0) > 1) interval = `${since(e.lastTimestamp ?? '', now)} (x${e.count} over ${first})`;
    const source = e.source?.component || e.reportingComponent || '';
    w.write(1, `${e.type ?? ''}\t${e.reason ?? ''}\t${interval}\t${source}\t${(e.message ?? '').trim()}\n`);
  }
}

/** translateTimestampSince: `<unknown>` for a zero time, else the human duration. */
export function since(ts: string, now = Date.now()): string {
  if (!ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC1123Z in UTC (`Mon, 02 Jan 2006 15:04:05 +0000`). */
export function rfc1123z(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
