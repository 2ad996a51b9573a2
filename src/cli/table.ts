import Table from 'cli-table3';
// cli-table3's own display width (ANSI codes and wide characters), so that fixed widths match what it lays out.
import { strlen } from 'cli-table3/src/utils.js';

/**
 * Rows cli-table3 lays out for a long table; the rest are drawn here in
 * the same form. Its layout is quadratic in the rows (10,000 rows took 7 s):
 * a listing of a huge directory must not take minutes.
 */
const LAID_OUT_ROWS = 100;

/** Narrowest a column is squeezed to (text width) when a table must fit the terminal. */
const MIN_COLUMN = 3;

/**
 * How tables are written: boxed for people (fitted to `width` columns when
 * given: stdout is a terminal and --wide was not asked), or tab-separated
 * with a header line for scripts (--format tsv).
 */
export interface TableStyle {
  format: 'box' | 'tsv';
  /** Terminal columns to fit into; undefined: as wide as the cells need. */
  width?: number;
}

let current: TableStyle = { format: 'box' };

/** Set once per CLI run from --format, --wide and the terminal (src/cli/main.ts). */
export function setTableStyle(s: TableStyle): void {
  current = s;
}

export function tableStyle(): TableStyle {
  return current;
}

/** Renders rows as a boxed table for people (no colours: output is often piped), or as TSV. */
export function renderTable(head: string[], rows: (string | number | bigint)[][], opts: { title?: string; style?: TableStyle } = {}): string {
  const style = opts.style ?? current;
  const cells = rows.map((r) => r.map((c) => String(c)));
  if (style.format === 'tsv') return tsv(head, cells, opts.title);
  const title = opts.title ? `${opts.title}\n` : '';
  const natural = head.map((h, i) => cells.reduce((w, r) => Math.max(w, maxLineWidth(r[i] ?? '')), strlen(h)) + 2);
  const widths =
    style.width !== undefined
      ? fitted(
          natural,
          style.width,
          head.map((h, i) => cells.reduce((w, r) => Math.max(w, longestWord(r[i] ?? '')), longestWord(h)) + 2),
        )
      : natural;
  if (widths.some((w, i) => w < natural[i]!)) {
    // Squeezed to fit the terminal: the cells of the capped columns are wrapped here (cli-table3 would cut long words).
    for (const r of cells) for (let i = 0; i < r.length; i++) if (widths[i]! < natural[i]!) r[i] = wrapCell(r[i]!, widths[i]! - 2);
    head = head.map((h, i) => wrapCell(h, widths[i]! - 2));
    if (cells.length <= LAID_OUT_ROWS) return title + layout(head, cells, widths);
  } else if (cells.length <= LAID_OUT_ROWS) return title + layout(head, cells);
  // Fixed column widths (the widest cell + one space each side) for every part, so the parts line up.
  const lines = layout(head, cells.slice(0, LAID_OUT_ROWS), widths).split('\n');
  const bottom = lines.pop()!;
  for (const r of cells.slice(LAID_OUT_ROWS)) {
    if (r.some((c) => c.includes('\n'))) {
      // A cell of several lines: cli-table3 lays out this row (its own top and bottom border dropped).
      lines.push(...layout([], [r], widths).split('\n').slice(1, -1));
      continue;
    }
    // What cli-table3 draws for a one-line row: "│ cell<pad> │ ...│", left-aligned, one space of padding left.
    lines.push(
      '│' +
        widths
          .map((w, i) => {
            const c = r[i] ?? '';
            return ` ${c}${' '.repeat(Math.max(0, w - 1 - strlen(c)))}`;
          })
          .join('│') +
        '│',
    );
  }
  lines.push(bottom);
  return title + lines.join('\n');
}

/**
 * Column widths (with padding) that fit `total` terminal columns: the widest
 * columns are capped at one width, as high as fits, so narrow columns (ids,
 * sizes) stay whole and long text (paths, messages) wraps. A column is not
 * squeezed below `floors` (its longest word, so numbers are not broken)
 * unless the table cannot fit otherwise.
 */
export function fitted(natural: number[], total: number, floors: number[] = natural.map(() => 0)): number[] {
  const borders = natural.length + 1;
  if (natural.reduce((s, w) => s + w, 0) + borders <= total) return natural;
  const attempt = (floor: (i: number) => number) => {
    const at = (cap: number) => natural.map((w, i) => Math.min(w, Math.max(cap, floor(i))));
    let cap = Math.max(...natural);
    while (cap > MIN_COLUMN + 2 && at(cap).reduce((s, w) => s + w, 0) + borders > total) cap--;
    return at(cap);
  };
  const kept = attempt((i) => floors[i]!);
  return kept.reduce((s, w) => s + w, 0) + borders <= total ? kept : attempt(() => MIN_COLUMN + 2);
}

/** Text broken into lines of at most `width` display columns: at spaces where it can, inside a word where it must. */
export function wrapCell(s: string, width: number): string {
  const out: string[] = [];
  for (const line of s.split('\n')) {
    let cur = '';
    for (const word of line.split(' ')) {
      const joined = cur ? `${cur} ${word}` : word;
      if (strlen(joined) <= width) {
        cur = joined;
        continue;
      }
      if (cur) out.push(cur);
      cur = word;
      while (strlen(cur) > width) {
        let n = width;
        while (n > 1 && strlen(cur.slice(0, n)) > width) n--;
        out.push(cur.slice(0, n));
        cur = cur.slice(n);
      }
    }
    out.push(cur);
  }
  return out.join('\n');
}

/** Tab-separated: a "# title" line when there is one, the header, one line per row; a tab or line break inside a cell is written as \t or \n. */
function tsv(head: string[], rows: string[][], title: string | undefined): string {
  const cell = (c: string) => c.replace(/\t/g, '\\t').replace(/\r?\n/g, '\\n');
  const lines = [head.map(cell).join('\t'), ...rows.map((r) => head.map((_, i) => cell(r[i] ?? '')).join('\t'))];
  return (title ? `# ${title.replace(/\n/g, ' ')}\n` : '') + lines.join('\n');
}

/** Display width of the longest run without a space or line break (capped: a long path may still be broken). */
function longestWord(s: string): number {
  let m = 0;
  for (const w of s.split(/[ \n]/)) m = Math.max(m, strlen(w));
  return Math.min(m, 20);
}

function maxLineWidth(s: string): number {
  return s.includes('\n') ? Math.max(...s.split('\n').map(strlen)) : strlen(s);
}

function layout(head: string[], rows: string[][], colWidths?: number[]): string {
  // Compact: no rule between rows, so long listings stay readable and greppable.
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true },
    wordWrap: false,
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
