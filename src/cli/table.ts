import Table from 'cli-table3';
// cli-table3's own display width (ANSI codes and wide characters), so that fixed widths match what it lays out.
import { strlen } from 'cli-table3/src/utils.js';

/**
 * Rows cli-table3 lays out for a long table; the rest are drawn here in
 * the same form. Its layout is quadratic in the rows (10,000 rows took 7 s):
 * a listing of a huge directory must not take minutes.
 */
const LAID_OUT_ROWS = 100;

/** Renders rows as a boxed table for people (no colours: output is often piped). */
export function renderTable(head: string[], rows: (string | number | bigint)[][], opts: { title?: string } = {}): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const title = opts.title ? `${opts.title}\n` : '';
  if (cells.length <= LAID_OUT_ROWS) return title + layout(head, cells);
  // Fixed column widths (the widest cell + one space each side) for every part, so the parts line up.
  const widths = head.map((h, i) => cells.reduce((w, r) => Math.max(w, maxLineWidth(r[i] ?? '')), strlen(h)) + 2);
  const lines = layout(head, cells.slice(0, LAID_OUT_ROWS), widths).split('\n');
  const bottom = lines.pop()!;
  for (const r of cells.slice(LAID_OUT_ROWS)) {
    if (r.some((c) => c.includes('\n'))) {
      // A cell of several lines: cli-table3 lays out this row (its own top and bottom border dropped).
      lines.push(...layout([], [r], widths).split('\n').slice(1, -1));
      continue;
    }
    // What cli-table3 draws for a one-line row: "│ cell<pad> │ ...│", left-aligned, one space of padding left.
    lines.push('│' + widths.map((w, i) => { const c = r[i] ?? ''; return ` ${c}${' '.repeat(Math.max(0, w - 1 - strlen(c)))}`; }).join('│') + '│');
  }
  lines.push(bottom);
  return title + lines.join('\n');
}

function maxLineWidth(s: string): number {
  return s.includes('\n') ? Math.max(...s.split('\n').map(strlen)) : strlen(s);
}

function layout(head: string[], rows: string[][], colWidths?: number[]): string {
  // Compact: no rule between rows, so long listings stay readable and greppable.
  const t = new Table({
    head, style: { head: [], border: [], compact: true }, wordWrap: false,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...(colWidths ? { colWidths } : {}),
  });
  for (const r of rows) t.push(r);
  return t.toString();
}

/** Two-column field/value table. */
export function renderFields(rows: [string, string][], title?: string): string {
  return renderTable(['field', 'value'], rows, title !== undefined ? { title } : {});
}
