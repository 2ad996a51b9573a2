import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gfMul, ParityError, raid6Q, recoverRaid5, recoverRaid6, xorParity } from '../src/volume/raid56.js';
import { rng } from './helpers/rng.js';

const dir = new URL('./fixtures/raid56/', import.meta.url);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** n random stripes of len bytes; with `offset`, views that start `offset` bytes into a larger buffer. */
function stripes(n: number, len: number, seed: number, offset = 0): Uint8Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const b = new Uint8Array(len + offset).subarray(offset);
    for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
    return b;
  });
}

/** Q computed one byte at a time straight from the definition. */
function naiveQ(data: Uint8Array[]): Uint8Array {
  const q = new Uint8Array(data[0]!.length);
  data.forEach((d, i) => {
    let g = 1;
    for (let k = 0; k < i; k++) g = gfMul(g, 2);
    for (let j = 0; j < q.length; j++) q[j]! ^= gfMul(g, d[j]!);
  });
  return q;
}

describe('GF(2^8) and syndromes', () => {
  it('uses the 0x11d polynomial with generator 2', () => {
    expect(gfMul(2, 0x80)).toBe(0x1d);
    expect(gfMul(0x53, 0xca)).toBe(gfMul(0xca, 0x53));
    expect(gfMul(0, 7)).toBe(0);
    // 2 generates the whole multiplicative group.
    const seen = new Set<number>();
    let x = 1;
    for (let i = 0; i < 255; i++) {
      seen.add(x);
      x = gfMul(x, 2);
    }
    expect(seen.size).toBe(255);
    expect(x).toBe(1);
  });

  it('P is the XOR and Q the weighted sum of the data stripes', () => {
    const d = [new Uint8Array([1, 0x80, 0]), new Uint8Array([1, 0x80, 5])];
    expect([...xorParity(d)]).toEqual([0, 0, 5]);
    // Q = D0 ^ 2*D1
    expect([...raid6Q(d)]).toEqual([1 ^ 2, 0x80 ^ 0x1d, 10]);
  });

  it('matches the byte-by-byte definition for every length, alignment and stripe count', () => {
    for (const n of [1, 2, 3, 5, 16]) {
      for (const len of [0, 1, 3, 4, 15, 16, 17, 100, 4096]) {
        for (const off of [0, 1, 4]) {
          const d = stripes(n, len, n * 1000 + len + off, off);
          expect(eq(raid6Q(d), naiveQ(d)), `n=${n} len=${len} off=${off}`).toBe(true);
          const p = new Uint8Array(len);
          for (const s of d) for (let i = 0; i < len; i++) p[i]! ^= s[i]!;
          expect(eq(xorParity(d), p)).toBe(true);
        }
      }
    }
  });

  it('does not modify its inputs', () => {
    const d = stripes(4, 1024, 5);
    const copy = d.map((s) => s.slice());
    raid6Q(d);
    xorParity(d);
    recoverRaid6([d[0]!, null, d[2]!, null], xorParity(d), raid6Q(d));
    d.forEach((s, i) => expect(eq(s, copy[i]!)).toBe(true));
  });
});

describe('rebuilding', () => {
  it('RAID5: rebuilds any one data stripe', () => {
    for (const n of [1, 2, 3, 7]) {
      for (const off of [0, 2]) {
        const d = stripes(n, 1000 + off, n + off, off);
        const p = xorParity(d);
        for (let x = 0; x < n; x++) {
          const got = recoverRaid5(
            d.map((s, i) => (i === x ? null : s)),
            p,
          );
          got.forEach((s, i) => expect(eq(s, d[i]!)).toBe(true));
        }
        const none = recoverRaid5(d, p);
        none.forEach((s, i) => expect(s).toBe(d[i]));
      }
    }
  });

  it('RAID6: rebuilds every combination of up to two missing among data, P and Q', () => {
    for (const n of [1, 2, 3, 4, 6, 10]) {
      for (const [len, off] of [
        [4096, 0],
        [1001, 1],
        [64, 4],
      ] as const) {
        const d = stripes(n, len, n * 7 + len, off);
        const p = xorParity(d);
        const q = raid6Q(d);
        const m = n + 2; // members: data 0..n-1, P = n, Q = n+1
        for (let a = -1; a < m; a++) {
          for (let b = a + 1; b < m; b++) {
            const gone = new Set([a, b].filter((i) => i >= 0));
            const got = recoverRaid6(
              d.map((s, i) => (gone.has(i) ? null : s)),
              gone.has(n) ? null : p,
              gone.has(n + 1) ? null : q,
            );
            expect(got.length).toBe(n);
            got.forEach((s, i) => expect(eq(s, d[i]!), `n=${n} len=${len} missing ${[...gone]} stripe ${i}`).toBe(true));
          }
        }
      }
    }
  });

  it('rejects too many missing stripes and mismatched lengths', () => {
    const d = stripes(3, 64, 1);
    const p = xorParity(d);
    const q = raid6Q(d);
    expect(() => recoverRaid5([null, null, d[2]!], p)).toThrow(ParityError);
    expect(() => recoverRaid6([null, null, null], p, q)).toThrow(/3 data stripes missing/);
    expect(() => recoverRaid6([null, null, d[2]!], null, q)).toThrow(/2 data stripes, P missing/);
    expect(() => recoverRaid6([null, d[1]!, d[2]!], null, null)).toThrow(/RAID6 rebuilds two/);
    expect(() => recoverRaid6([d[0]!, d[1]!, new Uint8Array(63)], p, q)).toThrow(/differ in length/);
    expect(() => xorParity([])).toThrow(ParityError);
    expect(() => raid6Q([])).toThrow(ParityError);
    expect(() => raid6Q(stripes(256, 1, 2))).toThrow(/at most 255/);
  });
});

interface Row {
  file: string;
  profile: 'RAID5' | 'RAID6';
  numStripes: number;
  dataStripes: number;
  stripeLen: number;
  chunkLogical: number;
  row: number;
  rowLogical: number;
  dataSha256: string;
}

describe('rows written by the kernel', () => {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { rows: Row[] };

  for (const row of manifest.rows) {
    const raw = new Uint8Array(readFileSync(new URL(row.file, dir)));
    const N = row.numStripes;
    const nd = row.dataStripes;
    const units = Array.from({ length: N }, (_, k) => raw.subarray(k * row.stripeLen, (k + 1) * row.stripeLen));
    const r = row.row;
    // Data stripe j of row r is on stripe (j + r) % N, P on (nd + r) % N, Q on (nd + 1 + r) % N.
    const data = Array.from({ length: nd }, (_, j) => units[(j + r) % N]!);
    const p = units[(nd + r) % N]!;
    const q = row.profile === 'RAID6' ? units[(nd + 1 + r) % N]! : null;

    it(`${row.file}: the rotation places the data in logical order`, () => {
      expect(row.rowLogical).toBe(row.chunkLogical + r * row.stripeLen * nd);
      expect(r % N).not.toBe(0);
      const joined = new Uint8Array(nd * row.stripeLen);
      data.forEach((d, j) => joined.set(d, j * row.stripeLen));
      expect(sha256(joined)).toBe(row.dataSha256);
    });

    it(`${row.file}: P${q ? ' and Q' : ''} equal what the kernel wrote`, () => {
      expect(eq(xorParity(data), p)).toBe(true);
      if (q) expect(eq(raid6Q(data), q)).toBe(true);
      // No other rotation of this row is consistent. (With RAID5 any order of
      // D0, D1 and P XORs to zero, so there only the data content tells.)
      for (let rot = 0; rot < N; rot++) {
        if (rot === r % N) continue;
        const d2 = Array.from({ length: nd }, (_, j) => units[(j + rot) % N]!);
        const okP = eq(xorParity(d2), units[(nd + rot) % N]!);
        const okQ = !q || eq(raid6Q(d2), units[(nd + 1 + rot) % N]!);
        const joined = new Uint8Array(nd * row.stripeLen);
        d2.forEach((d, j) => joined.set(d, j * row.stripeLen));
        const okData = sha256(joined) === row.dataSha256;
        expect(okP && okQ && okData).toBe(false);
        if (q) expect(okP && okQ).toBe(false);
      }
    });

    it(`${row.file}: every allowed loss is rebuilt to the kernel's data`, () => {
      if (!q) {
        for (let x = 0; x < nd; x++) {
          const got = recoverRaid5(
            data.map((d, i) => (i === x ? null : d)),
            p,
          );
          got.forEach((s, i) => expect(eq(s, data[i]!)).toBe(true));
        }
        return;
      }
      const m = nd + 2;
      for (let a = 0; a < m; a++) {
        for (let b = a + 1; b < m; b++) {
          const got = recoverRaid6(
            data.map((d, i) => (i === a || i === b ? null : d)),
            a === nd || b === nd ? null : p,
            b === nd + 1 ? null : q,
          );
          got.forEach((s, i) => expect(eq(s, data[i]!)).toBe(true));
        }
      }
    });
  }
});
