/**
 * Colour for statuses on a terminal (skiff's addition to kubectl's output): green for healthy states, yellow
 * for transitional ones, red for failures. Off when NO_COLOR is set, when TERM is dumb, or when stdout is not a
 * terminal, so piped output stays byte-identical to kubectl's.
 */

const GREEN = new Set(['Running', 'Ready', 'Active', 'Bound', 'Succeeded', 'Completed', 'Complete', 'True', 'Available', 'Normal']);
const YELLOW = new Set(['Pending', 'ContainerCreating', 'PodInitializing', 'Terminating', 'Unknown', 'NotReady', 'SchedulingDisabled', 'Released', 'Suspended']);
const RED = new Set(['Failed', 'Error', 'CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'OOMKilled', 'Evicted', 'False', 'Lost', 'Warning', 'CreateContainerConfigError', 'InvalidImageName']);

/** Whether output to `stream` should be coloured. */
export function colourEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

/** Wraps a status word in its colour (unknown words unchanged). */
export function colourStatus(word: string): string {
  const base = word.split(/[,(]/)[0]!.replace(/^Init:/, '');
  if (GREEN.has(base)) return `\x1b[32m${word}\x1b[0m`;
  if (YELLOW.has(base)) return `\x1b[33m${word}\x1b[0m`;
  if (RED.has(base) || base.startsWith('Init:Error') || base.startsWith('Init:Crash')) return `\x1b[31m${word}\x1b[0m`;
  return word;
}

/** Colours the STATUS (and TYPE/READY-like status) column of an already aligned table, keeping the alignment. */
export function colourTable(text: string): string {
  // Several tables (one per resource type) are separated by blank lines, each with its own header.
  if (text.includes('\n\n')) return text.split('\n\n').map(colourTable).join('\n\n');
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  const cols = ['STATUS', 'PHASE', 'TYPE'].map((name) => header.search(new RegExp(`(^|\\s)${name}(\\s|$)`))).filter((i) => i >= 0);
  if (cols.length === 0) return text;
  const at = cols.map((i) => (header[i] === ' ' ? i + 1 : i));
  return lines
    .map((line, n) => {
      if (n === 0 || line === '') return line;
      let out = line;
      // Right to left, so earlier offsets stay valid.
      for (const i of [...at].sort((a, b) => b - a)) {
        const m = /^\S+/.exec(out.slice(i));
        if (!m || (i > 0 && out[i - 1] !== ' ')) continue;
        out = out.slice(0, i) + colourStatus(m[0]) + out.slice(i + m[0].length);
      }
      return out;
    })
    .join('\n');
}
