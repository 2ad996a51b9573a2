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
});
