import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { renderTable } from '../src/cli/table.js';

/** The table exactly as cli-table3 lays it out in one piece (what renderTable drew before it split long tables). */
function reference(head: string[], rows: string[][]): string {
  const t = new Table({ head, style: { head: [], border: [], compact: true }, wordWrap: false, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of rows) t.push(r);
  return t.toString();
}

describe('renderTable', () => {
  it('draws a long table exactly as cli-table3 does: wide characters, empty and multi-line cells, bigints', () => {
    const rows: (string | number | bigint)[][] = [];
    for (let i = 0; i < 700; i++) {
      rows.push([i, i % 97 === 0 ? 'two\nlines' : `file-${'x'.repeat(i % 23)}`, i % 5 === 0 ? '' : '写真.raw', 2n ** 63n + BigInt(i), i % 3 ? 'ok' : 'DAMAGED']);
    }
    const head = ['ino', 'name', 'other', 'logical', 'state'];
    expect(renderTable(head, rows)).toBe(reference(head, rows.map((r) => r.map(String))));
    expect(renderTable(head, rows, { title: 'files' })).toBe(`files\n${reference(head, rows.map((r) => r.map(String)))}`);
  });

  it('draws 20,000 rows (past the part cli-table3 lays out) with every line aligned', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [i, `f${i}`, 'y'.repeat(i % 31)]);
    const s = renderTable(['a', 'b', 'c'], rows);
    const lines = s.split('\n');
    // Top border, head, 20,000 rows (compact: no rules between them), bottom border; every line as wide as the first.
    expect(lines.length).toBe(20_003);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[20_001]).toBe(`│ 19999 │ f19999 │ ${'y'.repeat(19_999 % 31)}${' '.repeat(31 - (19_999 % 31))}│`);
  });
});
