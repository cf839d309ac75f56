/**
 * Go's text/tabwriter as kubectl configures it (minwidth 6, tabwidth 4, padding 3, pad with spaces): cells are
 * tab-terminated, the last cell of a line is not aligned, and a column block ends at the first line that has
 * fewer cells.
 */

/** Aligns tab-separated `lines` (no trailing newlines) the way kubectl's printers do. */
export function tabwrite(lines: readonly string[], opts: { minWidth?: number; padding?: number } = {}): string {
  const minWidth = opts.minWidth ?? 6;
  const padding = opts.padding ?? 3;
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[][] = rows.map((r) => new Array<number>(Math.max(0, r.length - 1)).fill(0));
  // Column c of a line is aligned with the contiguous run of lines that also have a terminated cell c.
  const maxCols = Math.max(0, ...rows.map((r) => r.length - 1));
  for (let c = 0; c < maxCols; c++) {
    let start = 0;
    while (start < rows.length) {
      if (rows[start]!.length - 1 <= c) {
        start++;
        continue;
      }
      let end = start;
      let w = 0;
      while (end < rows.length && rows[end]!.length - 1 > c) {
        w = Math.max(w, textWidth(rows[end]![c]!) + padding);
        end++;
      }
      w = Math.max(w, minWidth);
      for (let i = start; i < end; i++) widths[i]![c] = w;
      start = end;
    }
  }
  let out = '';
  rows.forEach((r, i) => {
    let line = '';
    for (let c = 0; c < r.length; c++) {
      const cell = r[c]!;
      if (c < r.length - 1) line += cell + ' '.repeat(Math.max(0, widths[i]![c]! - textWidth(cell)));
      else line += cell;
    }
    out += line + '\n';
  });
  return out;
}

/** Width in runes (tabwriter counts UTF-8 runes, not bytes or columns). */
export function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
