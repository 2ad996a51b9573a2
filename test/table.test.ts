import { join } from 'node:path';
import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { renderTable, wrapCell } from '../src/cli/table.js';
import { SAMPLES } from './helpers/samples.js';

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
    expect(renderTable(head, rows)).toBe(
      reference(
        head,
        rows.map((r) => r.map(String)),
      ),
    );
    expect(renderTable(head, rows, { title: 'files' })).toBe(
      `files\n${reference(
        head,
        rows.map((r) => r.map(String)),
      )}`,
    );
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

describe('renderTable: terminal width and TSV', () => {
  const head = ['id', 'path', 'message'];
  const rows = [
    [256, '/subvol-a/some/rather/long/path/name.txt', 'free space info for [1048576, +4194304) has no block group of that address and length'],
    [257, '/x', 'short'],
  ];

  it("fits a width: every line at most that wide, narrow columns whole, the wrapped cells' text kept", () => {
    const s = renderTable(head, rows, { style: { format: 'box', width: 60 } });
    const lines = s.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    // The id column is not squeezed: every id stays on one line.
    expect(lines.some((l) => l.startsWith('│ 256 '))).toBe(true);
    // Joining the message column's pieces gives the message back (wrapped at spaces).
    const col = lines
      .filter((l) => l.startsWith('│') && !l.includes('message'))
      .map((l) => l.split('│')[3]!.trim())
      .filter(Boolean);
    expect(col.join(' ')).toContain(rows[0]![2]);
  });

  it('a table that fits is drawn as without a width', () => {
    expect(renderTable(head, rows, { style: { format: 'box', width: 500 } })).toBe(renderTable(head, rows, { style: { format: 'box' } }));
  });

  it('breaks a word longer than its column', () => {
    expect(wrapCell('abcdefghij klm', 4)).toBe('abcd\nefgh\nij\nklm');
  });

  it('long tables (past the part cli-table3 lays out) fit too', () => {
    const many = Array.from({ length: 300 }, (_, i) => [i, `/dir/${'n'.repeat(i % 70)}`, 'word '.repeat(i % 20)]);
    const lines = renderTable(head, many, { style: { format: 'box', width: 50 } }).split('\n');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0]!.length).toBeLessThanOrEqual(50);
  });

  it('TSV: a header line, tab-separated cells, tabs and line breaks in cells escaped, the title as a # line', () => {
    expect(
      renderTable(
        ['a', 'b'],
        [
          [1, 'x\ty'],
          [2, 'two\nlines'],
        ],
        { title: 'files', style: { format: 'tsv' } },
      ),
    ).toBe('# files\na\tb\n1\tx\\ty\n2\ttwo\\nlines');
  });
});

describe('table options through the CLI', () => {
  const IMG = join(SAMPLES, 'default', 'dev1.runs.gz');
  async function run(args: string[], stdoutColumns?: number) {
    let out = '';
    let err = '';
    const code = await runCli(args, {
      stdout: {
        write: (s: string | Uint8Array) => {
          out += Buffer.from(s).toString();
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      },
      stderrIsTTY: false,
      ...(stdoutColumns ? { stdoutColumns } : {}),
    });
    return { code, out, err };
  }

  it('a terminal of 80 columns: every table line fits; --wide draws them as on a pipe; --format tsv has no box', async () => {
    const pipe = await run(['chunks', IMG]);
    expect(Math.max(...pipe.out.split('\n').map((l) => l.length))).toBeGreaterThan(80);
    const tty = await run(['chunks', IMG], 80);
    expect(tty.code).toBe(0);
    expect(Math.max(...tty.out.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
    expect((await run(['chunks', IMG, '--wide'], 80)).out).toBe(pipe.out);
    const tsv = (await run(['chunks', IMG, '--format', 'tsv'], 80)).out.trimEnd().split('\n');
    expect(tsv[0]).toBe('logical\tlength\ttype\tprofile\tused\tstripe len\tstripes (devid:physical)\tdev extents');
    // One line per chunk, as many as the table has rows.
    expect(tsv.length - 1).toBe(pipe.out.split('\n').filter((l) => /^│ \d/.test(l)).length);
    expect(tsv.join('\n')).not.toMatch(/[│┌└]/);
  });

  it('--format other than box or tsv, and --json-bigint other than number or string, are usage errors', async () => {
    const f = await run(['chunks', IMG, '--format', 'csv']);
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/--format must be "box" or "tsv"/);
    expect((await run(['chunks', IMG, '--json', '--json-bigint', 'text'])).code).toBe(2);
  });
});
