import Table from 'cli-table3';

/** Renders rows as a boxed table for people (no colours: output is often piped). */
export function renderTable(head: string[], rows: (string | number | bigint)[][], opts: { title?: string } = {}): string {
  // Compact: no rule between rows, so long listings stay readable and greppable.
  const t = new Table({
    head, style: { head: [], border: [], compact: true }, wordWrap: false,
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows) t.push(r.map((c) => String(c)));
  return (opts.title ? `${opts.title}\n` : '') + t.toString();
}

/** Two-column field/value table. */
export function renderFields(rows: [string, string][], title?: string): string {
  return renderTable(['field', 'value'], rows, title !== undefined ? { title } : {});
}
