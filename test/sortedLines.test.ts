import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SortedLines } from '../src/cli/sortedLines.js';

/**
 * The timeline's bounded sort: lines spilled to sorted runs and merged come out as a stable
 * in-memory sort (Array.prototype.sort, stable since ES2019) orders them, ties in the order added.
 */
describe('SortedLines', () => {
  const runs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('btrfs-inspect-sort-')).length;

  it('spilled runs merge to the stable sort of the same lines, multi-byte text and equal keys included', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Long lines: a run file is read in 64 KiB pieces, so lines and UTF-8 sequences are cut between pieces.
    const input = Array.from({ length: 5000 }, (_, i) => ({ key: String(rnd(300)).padStart(4, '0'), line: `${i} é€😀 ${'x'.repeat(rnd(200))}` }));
    const before = runs();
    const s = new SortedLines(97);
    for (const x of input) s.add(x.key, x.line);
    expect(s.spilled).toBe(Math.floor(5000 / 97));
    const got = [...s.drain()];
    const want = [...input].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((x) => x.line);
    expect(got).toEqual(want);
    expect(runs()).toBe(before);
  });

  it('what fits in one run is sorted in memory, nothing written', () => {
    const s = new SortedLines(10);
    for (const [k, l] of [
      ['b', 'two'],
      ['a', 'one'],
      ['b', 'three'],
    ] as const)
      s.add(k, l);
    expect(s.spilled).toBe(0);
    expect([...s.drain()]).toEqual(['one', 'two', 'three']);
  });
});
