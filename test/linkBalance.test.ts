import { describe, expect, it } from 'vitest';
import { Rng } from '../fuzz/rng.js';
import { LinkBalance, linkHash } from '../src/analysis/check/linkBalance.js';

/** A link as check sees it: directory id, target id, name; bytes laid out as on disk (u64 LE ids). */
function link(dir: number, target: number, name: string): { bytes: Uint8Array; hash: number } {
  const b = new Uint8Array(16 + name.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(dir), true);
  v.setBigUint64(8, BigInt(target), true);
  b.set(new TextEncoder().encode(name), 16);
  return { bytes: b, hash: linkHash(b, 0, b, 8, b, 16, name.length) };
}

describe('LinkBalance (the directory-link matcher of check)', () => {
  it('leaves open exactly the links whose two sides do not balance, against a plain Map, through growth and deletions', () => {
    const rng = Rng.forCase(11, 0);
    const t = new LinkBalance();
    const want = new Map<number, { count: number; dir: number; target: number; first: number }>();
    // 40,000 links, each added and mostly taken away again, in a shuffled order: the table grows past 2^16 slots and deletes all the way.
    const ops: { l: ReturnType<typeof link>; dir: number; target: number; delta: number }[] = [];
    for (let i = 0; i < 40_000; i++) {
      const dir = 256 + (i % 997),
        target = 1000 + i,
        l = link(dir, target, `f${i}`);
      ops.push({ l, dir, target, delta: 1 });
      if (i % 7 !== 0) ops.push({ l, dir, target, delta: -1 });
      if (i % 13 === 0) ops.push({ l, dir, target, delta: -1 });
    }
    for (let i = ops.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ops[i], ops[j]] = [ops[j]!, ops[i]!];
    }
    ops.forEach((o, n) => {
      const at = t.add(o.l.hash, o.delta);
      const w = want.get(o.l.hash);
      if (!w) {
        expect(at).toBeGreaterThanOrEqual(0);
        t.place(at, o.dir, o.target, BigInt(n), n % 600, n % 65536);
        want.set(o.l.hash, { count: o.delta, dir: o.dir, target: o.target, first: n });
      } else {
        expect(at).toBe(-1);
        w.count += o.delta;
        if (w.count === 0) want.delete(o.l.hash);
      }
    });
    expect(t.size).toBe(want.size);
    const got = [...t.open()].map((e) => ({ count: e.count, dir: e.dir, target: e.target, first: Number(e.block), item: e.item, offset: e.offset }));
    const exp = [...want.values()].map((w) => ({ count: w.count, dir: w.dir, target: w.target, first: w.first, item: w.first % 600, offset: w.first % 65536 }));
    const order = (a: { first: number }, b: { first: number }) => a.first - b.first;
    expect(got.sort(order)).toEqual(exp.sort(order));
    // i % 7 == 0 and not i % 13 == 0: one DIR_INDEX side left over; i % 13 == 0 and not % 7: one ref side over; both: balanced.
    expect(got.filter((e) => e.count === 1).length).toBe([...Array(40_000).keys()].filter((i) => i % 7 === 0 && i % 13 !== 0).length);
    expect(got.filter((e) => e.count === -1).length).toBe([...Array(40_000).keys()].filter((i) => i % 13 === 0 && i % 7 !== 0).length);
  });

  it('hashes the whole link: directory, target and every name byte tell links apart', () => {
    const base = link(300, 5000, 'photo.raw').hash;
    expect(link(301, 5000, 'photo.raw').hash).not.toBe(base);
    expect(link(300, 5001, 'photo.raw').hash).not.toBe(base);
    expect(link(300, 5000, 'photo.raW').hash).not.toBe(base);
    expect(link(300, 5000, 'photo.ra').hash).not.toBe(base);
    expect(link(5000, 300, 'photo.raw').hash).not.toBe(base);
    expect(link(300 + 2 ** 32, 5000, 'photo.raw').hash).not.toBe(base);
    expect(link(300, 5000, 'photo.raw').hash).toBe(base);
    // No collisions among 200,000 distinct links of one directory.
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) seen.add(link(256, 257 + i, `file-${i}`).hash);
    expect(seen.size).toBe(200_000);
  });
});
