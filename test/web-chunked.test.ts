import { describe, expect, it } from 'vitest';
import { ChunkedSource } from '../web/src/chunked.js';
import { rng } from './helpers/rng.js';

/**
 * The web app's read layer over a medium (a picked File, the ranges of
 * `serve`): every read equals the same range of the medium, whatever its
 * alignment, size or position (against the end, past it); the medium is
 * asked once per chunk while the chunk stays cached.
 */
describe('ChunkedSource (web/src/chunked.ts)', () => {
  const SIZE = 3 * 1024 * 1024 + 12345;
  const medium = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) medium[i] = (i * 31 + (i >>> 11)) & 255;
  const make = () => {
    const calls: [number, number][] = [];
    const src = new ChunkedSource('m', BigInt(SIZE), (offset, length) => {
      calls.push([offset, length]);
      return medium.slice(offset, Math.min(SIZE, offset + length));
    });
    return { src, calls };
  };

  it('returns the bytes of the medium for any range, and fewer only at its end', () => {
    const { src } = make();
    const rnd = rng(7);
    for (let n = 0; n < 2000; n++) {
      const off = Math.floor(rnd() * (SIZE + 5000));
      const len = Math.floor(rnd() * (n % 10 === 0 ? 600_000 : 70_000));
      const want = medium.subarray(Math.min(off, SIZE), Math.min(SIZE, off + len));
      const got = src.read(BigInt(off), len);
      expect(got.length, `${off}+${len}`).toBe(want.length);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `${off}+${len}`).toBe(0);
    }
    expect(src.read(-1n, 10).length).toBe(0);
    expect(src.read(BigInt(SIZE), 10).length).toBe(0);
  });

  it('asks the medium once per 64 KiB chunk while it is cached; large reads go straight through', () => {
    const { src, calls } = make();
    src.read(65536n + 100n, 16384);
    src.read(65536n + 30000n, 16384);
    src.read(65536n, 65536);
    expect(calls).toEqual([[65536, 65536]]);
    // Across a chunk boundary: the next chunk, once.
    src.read(131072n - 8n, 16);
    expect(calls).toEqual([
      [65536, 65536],
      [131072, 65536],
    ]);
    // 1 MiB of file data: one request for exactly that range, nothing cached.
    src.read(2_000_000n, 1 << 20);
    expect(calls[2]).toEqual([2_000_000, 1 << 20]);
    // The last chunk is short: asked for only what the medium has.
    src.read(BigInt(SIZE - 10), 100);
    expect(calls[3]).toEqual([SIZE - (SIZE % 65536), SIZE % 65536]);
  });

  it('warm: the uncached chunks of many ranges in one batch, then read from the cache', () => {
    const batches: [number, number][][] = [];
    const singles: [number, number][] = [];
    const src = new ChunkedSource(
      'm',
      BigInt(SIZE),
      (offset, length) => {
        singles.push([offset, length]);
        return medium.slice(offset, Math.min(SIZE, offset + length));
      },
      (ranges) => {
        batches.push(ranges.map((r) => [r.offset, r.length]));
        return ranges.map((r) => medium.slice(r.offset, Math.min(SIZE, r.offset + r.length)));
      },
    );
    src.read(0n, 100);
    expect(singles).toEqual([[0, 65536]]);
    // A cached chunk, two ranges in one chunk, one across two chunks, the short last chunk, one past the end.
    src.warm!([
      { offset: 10n, length: 16384 },
      { offset: 200_000n, length: 16384 },
      { offset: 200_000n + 20_000n, length: 100 },
      { offset: 393_216n - 8n, length: 16 },
      { offset: BigInt(SIZE - 5), length: 16384 },
      { offset: BigInt(SIZE + 5), length: 16384 },
    ]);
    const last = SIZE - (SIZE % 65536);
    expect(batches).toEqual([
      [
        [196608, 65536],
        [327680, 65536],
        [393216, 65536],
        [last, SIZE % 65536],
      ],
    ]);
    for (const [off, len] of [
      [200_000, 16384],
      [393_216 - 8, 16],
      [SIZE - 5, 5],
    ] as const) {
      expect(Buffer.compare(Buffer.from(src.read(BigInt(off), len)), Buffer.from(medium.subarray(off, off + len)))).toBe(0);
    }
    expect(singles).toEqual([[0, 65536]]);
    // A medium that fails a batch: nothing cached, the reads ask for the chunks one by one.
    const failing = new ChunkedSource(
      'f',
      BigInt(SIZE),
      (offset, length) => medium.slice(offset, offset + length),
      () => {
        throw new Error('gone');
      },
    );
    failing.warm!([{ offset: 0n, length: 10 }]);
    expect(failing.read(0n, 4)).toEqual(medium.slice(0, 4));
    // A long run of adjacent chunks (a window of the forensics scan): one plain range request,
    // cut into cached chunks; a cached chunk inside it splits it, the short remainder goes in a batch.
    const runs: [number, number][] = [];
    const runBatches: [number, number][][] = [];
    const runner = new ChunkedSource(
      'r',
      BigInt(SIZE),
      (offset, length) => {
        runs.push([offset, length]);
        return medium.slice(offset, Math.min(SIZE, offset + length));
      },
      (ranges) => {
        runBatches.push(ranges.map((r) => [r.offset, r.length]));
        return ranges.map((r) => medium.slice(r.offset, Math.min(SIZE, r.offset + r.length)));
      },
    );
    runner.read(20n * 65536n, 1);
    runner.warm!([{ offset: 100n, length: 24 * 65536 }]);
    expect(runs).toEqual([
      [20 * 65536, 65536],
      [0, 20 * 65536],
    ]);
    expect(runBatches).toEqual([[21, 22, 23, 24].map((c) => [c * 65536, 65536])]);
    for (let off = 0; off < 25 * 65536; off += 16384) {
      expect(Buffer.compare(Buffer.from(runner.read(BigInt(off), 16384)), Buffer.from(medium.subarray(off, off + 16384)))).toBe(0);
    }
    expect(runs.length).toBe(2);
    expect(runBatches.length).toBe(1);
    // Without a batch reader there is no warm at all (the volume then plans no batches).
    expect(new ChunkedSource('n', 1n, () => new Uint8Array(0)).warm).toBeUndefined();
  });
});
