import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fastDecoders } from '../src/format/compression/fast.js';
import { DecompressionError, decompressExtent, type FastDecoder, useFastDecoders } from '../src/format/compression/index.js';
import { useNativeExtentCodecs } from '../src/io/node/extentCodecs.js';
import { rng } from './helpers/rng.js';

/**
 * The native decoders the Node entry hands in (Node's zlib, libzstd through
 * koffi) against the kernel's extents of test/fixtures/compression (sha256
 * of the data the kernel wrote) and, for cut, corrupted and short-output
 * variants, against the portable decoders: the result (bytes or error
 * message) is the same whichever ran, except that libzstd may decode a
 * damaged frame that fzstd refuses.
 */

const dir = new URL('./fixtures/compression/', import.meta.url);
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
  samples: { file: string; compression: number; algorithm: string; ramBytes: number; sectorsize: number; sha256: string }[];
};

useNativeExtentCodecs();
// The first zstd extent loads libzstd; one decode settles whether it is there.
decompressExtent(3, load('zstd-inline.bin'), manifest.samples.find((s) => s.file === 'zstd-inline.bin')!.ramBytes, 4096);
const native = { zlib: fastDecoders.zlib, zstd: fastDecoders.zstd };
afterAll(() => useFastDecoders({ zlib: null, zstd: null }));

/** Counts the inputs a native decoder decoded itself. */
let servedNatively = 0;
const counted = (f: FastDecoder | null): FastDecoder | null =>
  f &&
  ((input, out) => {
    const ok = f(input, out);
    if (ok) servedNatively++;
    return ok;
  });

function run(native: boolean, compression: number, input: Uint8Array, size: number, ss: number): string {
  useFastDecoders(native ? { zlib: counted(nativeSet.zlib), zstd: counted(nativeSet.zstd) } : { zlib: null, zstd: null });
  try {
    return sha256(decompressExtent(compression, input, size, ss));
  } catch (e) {
    if (e instanceof DecompressionError) return e.message;
    throw e;
  }
}
const nativeSet = native;

describe('native extent decoders', () => {
  it('Node zlib is in use, and libzstd where the system has it', () => {
    expect(native.zlib).not.toBeNull();
    if (process.platform === 'linux') expect(native.zstd, 'libzstd.so.1 through koffi').not.toBeNull();
  });

  for (const s of manifest.samples.filter((x) => x.algorithm !== 'lzo')) {
    it(`${s.file}: the kernel's data, and the portable decoder's result for every cut, corruption and shorter output`, () => {
      const input = load(s.file);
      servedNatively = 0;
      expect(run(true, s.compression, input, s.ramBytes, s.sectorsize)).toBe(s.sha256);
      const served = servedNatively;
      if (s.algorithm === 'zlib' || native.zstd) expect(served, 'decoded natively').toBe(1);
      const variants: [Uint8Array, number][] = [];
      for (let n = 0; n < input.length; n += Math.max(1, Math.floor(input.length / 200))) variants.push([input.subarray(0, n), s.ramBytes]);
      for (const n of [1, 100, 4095, 4096, 4097, s.ramBytes - 1]) if (n > 0 && n < s.ramBytes) variants.push([input, n]);
      const rand = rng(input.length * 7 + s.compression);
      for (let i = 0; i < 200; i++) {
        const bad = input.slice();
        const span = Math.min(bad.length, i % 2 ? 64 : bad.length);
        for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) bad[Math.floor(rand() * span)]! ^= 1 + Math.floor(rand() * 255);
        variants.push([bad, s.ramBytes]);
      }
      let acceptedByLibzstdOnly = 0;
      for (const [v, size] of variants) {
        const fast = run(true, s.compression, v, size, s.sectorsize);
        const portable = run(false, s.compression, v, size, s.sectorsize);
        // libzstd is the reference decoder (the kernel's zstd is its code): a damaged frame it decodes
        // where fzstd gives up is decoded, not an error. Anything else is the same either way.
        if (s.algorithm === 'zstd' && portable.startsWith('zstd decompression failed') && /^[0-9a-f]{64}$/.test(fast)) {
          acceptedByLibzstdOnly++;
          continue;
        }
        expect(fast, `${v.length} bytes to ${size}`).toBe(portable);
      }
      expect(acceptedByLibzstdOnly).toBeLessThan(variants.length / 10);
    });
  }
});
