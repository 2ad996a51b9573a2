import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { computeCsum } from '../src/format/checksum.js';
import {
  compressionName,
  DecompressionError,
  decompressExtent,
  decompressLzo,
  decompressZlib,
  decompressZstd,
  lzo1xDecompress,
  lzo1xWorstCompress,
  MAX_COMPRESSED,
  MAX_UNCOMPRESSED,
} from '../src/format/compression/index.js';
import { Compression, CsumType } from '../src/format/constants.js';
import { rng } from './helpers/rng.js';

const dir = new URL('./fixtures/compression/', import.meta.url);
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Sample {
  file: string;
  compression: number;
  algorithm: string;
  extentType: string;
  ramBytes: number;
  sectorsize: number;
  compressedBytes: number;
  fileBytes: number;
  sha256: string;
}
interface Manifest {
  samples: Sample[];
  rawLzo1x: { file: string; size: number; sha256: string }[];
  zstdWithChecksum: { file: string; size: number; sha256: string };
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as Manifest;

/** Runs fn; returns its result or the DecompressionError it threw (any other throw fails the test). */
function attempt(fn: () => Uint8Array): Uint8Array | DecompressionError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecompressionError) return e;
    throw e;
  }
}

const expected = new Map<string, Uint8Array>();
function expectedOutput(s: Sample): Uint8Array {
  let e = expected.get(s.file);
  if (!e) {
    e = decompressExtent(s.compression, load(s.file), s.ramBytes, s.sectorsize);
    expected.set(s.file, e);
  }
  return e;
}

describe('kernel-written compressed extents', () => {
  it('has samples of every algorithm, regular and inline', () => {
    for (const alg of ['zlib', 'lzo', 'zstd']) {
      expect(manifest.samples.some((s) => s.algorithm === alg && s.extentType === 'inline')).toBe(true);
      expect(manifest.samples.some((s) => s.algorithm === alg && s.extentType === 'regular')).toBe(true);
    }
  });

  for (const s of manifest.samples) {
    it(`${s.file}: decompresses to the original data (${s.extentType}, ram ${s.ramBytes})`, () => {
      const input = load(s.file);
      expect(input.length).toBe(s.compressedBytes);
      const out = decompressExtent(s.compression, input, s.ramBytes, s.sectorsize);
      expect(out.length).toBe(s.ramBytes);
      expect(sha256(out)).toBe(s.sha256);
      // Output past the file's bytes (a stream shorter than ram_bytes) is zero.
      expect(out.subarray(s.fileBytes).every((b) => b === 0)).toBe(true);
      expect(compressionName(s.compression)).toBe(s.algorithm);
    });

    it(`${s.file}: a smaller output size gives the prefix`, () => {
      const full = expectedOutput(s);
      for (const n of [0, 1, 100, 4095, 4096, 4097, 5000, s.ramBytes - 1]) {
        if (n < 0 || n > s.ramBytes) continue;
        const out = decompressExtent(s.compression, load(s.file), n, s.sectorsize);
        expect(out.length).toBe(n);
        expect(Buffer.from(out).equals(Buffer.from(full.subarray(0, n)))).toBe(true);
      }
    });

    it(`${s.file}: truncated input is an error or, when only padding was cut, the same output`, () => {
      const input = load(s.file);
      const full = expectedOutput(s);
      const cuts = new Set<number>();
      for (let n = 0; n < Math.min(input.length, 300); n++) cuts.add(n);
      for (let n = 300; n < input.length; n += 97) cuts.add(n);
      for (let n = Math.max(0, input.length - 300); n < input.length; n++) cuts.add(n);
      for (const n of cuts) {
        const r = attempt(() => decompressExtent(s.compression, input.subarray(0, n), s.ramBytes, s.sectorsize));
        if (r instanceof DecompressionError) {
          expect(r.message).toMatch(new RegExp(`^${s.algorithm} decompression failed: `));
          continue;
        }
        expect(Buffer.from(r).equals(Buffer.from(full)), `cut at ${n} of ${input.length} gave wrong data without an error`).toBe(true);
      }
    });

    it(`${s.file}: corrupted input fails cleanly or yields ramBytes bytes, quickly`, () => {
      const input = load(s.file);
      const rand = rng(input.length * 31 + s.compression);
      const t0 = performance.now();
      let errors = 0;
      for (let iter = 0; iter < 300; iter++) {
        const bad = input.slice();
        const flips = 1 + Math.floor(rand() * 4);
        // Bias toward the start, where headers and most of the stream are.
        const span = Math.min(bad.length, iter % 2 ? 64 : bad.length);
        for (let k = 0; k < flips; k++) bad[Math.floor(rand() * span)]! ^= 1 + Math.floor(rand() * 255);
        const r = attempt(() => decompressExtent(s.compression, bad, s.ramBytes, s.sectorsize));
        if (r instanceof DecompressionError) errors++;
        else expect(r.length).toBe(s.ramBytes);
      }
      expect(errors).toBeGreaterThan(0);
      expect(performance.now() - t0).toBeLessThan(20_000);
    });
  }

  it('LZO: the sample crosses a sector with fewer than 4 bytes left (segment header padding)', () => {
    const input = load('lzo-segment-padding.bin');
    let cur = 4;
    let padded = 0;
    const total = input[0]! | (input[1]! << 8) | (input[2]! << 16) | (input[3]! << 24);
    while (cur < total) {
      cur += 4 + (input[cur]! | (input[cur + 1]! << 8) | (input[cur + 2]! << 16) | (input[cur + 3]! << 24));
      const left = 4096 - (cur % 4096);
      if (left < 4) {
        cur += left;
        padded++;
      }
    }
    expect(padded).toBeGreaterThan(0);
  });
});

describe('LZO1X streams', () => {
  for (const v of manifest.rawLzo1x) {
    it(`${v.file}: decodes a liblzo stream with far (16-48 KiB) matches`, () => {
      const out = lzo1xDecompress(load(v.file), 65536);
      expect(out.length).toBe(v.size);
      expect(sha256(out)).toBe(v.sha256);
    });
    it(`${v.file}: one byte too little room is an output overrun`, () => {
      expect(() => lzo1xDecompress(load(v.file), v.size - 1)).toThrow(/output overrun/);
    });
    it(`${v.file}: every truncation and many corruptions fail cleanly`, () => {
      const input = load(v.file);
      for (let n = 0; n < input.length; n++) {
        const r = attempt(() => lzo1xDecompress(input.subarray(0, n), 65536));
        expect(r).toBeInstanceOf(DecompressionError);
      }
      const rand = rng(99);
      for (let iter = 0; iter < 500; iter++) {
        const bad = input.slice();
        bad[Math.floor(rand() * bad.length)]! ^= 1 + Math.floor(rand() * 255);
        const r = attempt(() => lzo1xDecompress(bad, 65536));
        if (!(r instanceof DecompressionError)) expect(r.length).toBeLessThanOrEqual(65536);
      }
    });
  }

  it('decodes long-length encodings and overlapping copies', () => {
    // 1 literal 'a', then an M3 match of 5000 bytes at distance 1 (length in
    // extension bytes: 31 + 19 * 255 + 122 + 2), then the end marker.
    const s = [18, 0x61, 32, ...new Array(19).fill(0), 122, 0, 0, 0x11, 0, 0];
    const out = lzo1xDecompress(new Uint8Array(s), 6000);
    expect(out.length).toBe(5001);
    expect(out.every((b) => b === 0x61)).toBe(true);
  });

  it('rejects malformed streams with clear reasons', () => {
    const cases: [number[], RegExp][] = [
      [[], /shorter than the 3-byte end marker/],
      [[0x11, 0], /shorter than the 3-byte end marker/],
      [[0x11, 0, 0, 0], /1 bytes after the end marker/],
      [[0x12, 0x41, 0x11, 0], /input overrun in match distance/],
      [[0x13, 0x41, 0x42], /input ended without an end marker/],
      [[0x14, 0x41, 0x42, 0x43], /input ended without an end marker/],
      [[0x12, 0x41, 0x40, 0x10, 0x11, 0, 0], /match distance 129 reaches before the start/],
      [[0x10, 0x01, 0x04, 0x00, 0x11, 0, 0], /match distance 16385 reaches before the start/],
      [[0x11, 1, 0x41, 0x42, 0x11, 0, 0], /LZO-RLE/],
      [[0x12, 0x41, 0x12, 0, 0], /malformed end marker/],
      [[0x12, 0x41, 0x20, 0, 0, 0], /input overrun in match length/],
      [[0xff, 0x41, 0x42, 0x43], /input overrun in literal run/],
    ];
    for (const [bytes, re] of cases) {
      expect(() => lzo1xDecompress(new Uint8Array(bytes), 100), JSON.stringify(bytes)).toThrow(re);
    }
  });

  it('the end marker alone is an empty stream', () => {
    expect(lzo1xDecompress(new Uint8Array([0x11, 0, 0]), 10).length).toBe(0);
  });
});

/** A literal-only LZO1X stream of data (any length >= 1). */
function lzoLiterals(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  const n = data.length;
  if (n <= 238) out.push(17 + n);
  else {
    out.push(0);
    let rem = n - 18;
    while (rem > 255) {
      out.push(0);
      rem -= 255;
    }
    out.push(rem);
  }
  out.push(...data, 0x11, 0, 0);
  return new Uint8Array(out);
}

/** btrfs LZO framing around segments, padding as the kernel does. */
function lzoFrame(segments: Uint8Array[], sectorsize: number): Uint8Array {
  const out: number[] = [0, 0, 0, 0];
  const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  for (const s of segments) {
    out.push(...le32(s.length), ...s);
    const left = sectorsize - (out.length % sectorsize);
    if (left < 4) for (let i = 0; i < left; i++) out.push(0);
  }
  out.splice(0, 4, ...le32(out.length));
  return new Uint8Array(out);
}

function bytesOf(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

describe('btrfs LZO framing', () => {
  it('skips to the next sector when fewer than 4 bytes are left, and not when exactly 4 are', () => {
    for (const [firstLen, padded] of [
      [4066, true],
      [4064, false],
    ] as const) {
      // Segment 1 payload: 1 + 16 length bytes + data + 3 end-marker bytes.
      const a = bytesOf(firstLen, 1);
      const b = bytesOf(3000, 2);
      const segA = lzoLiterals(a);
      const frame = lzoFrame([segA, lzoLiterals(b)], 4096);
      const afterA = 8 + segA.length;
      expect(4096 - afterA < 4).toBe(padded);
      const out = decompressLzo(frame, firstLen + 3000, 4096);
      expect(Buffer.from(out).equals(Buffer.concat([a, b]))).toBe(true);
    }
  });

  it('decodes with the sector size the frame was written for', () => {
    const a = bytesOf(4066, 3);
    const b = bytesOf(5000, 4);
    const frame = lzoFrame([lzoLiterals(a), lzoLiterals(b)], 65536);
    expect(Buffer.from(decompressLzo(frame, 9066, 65536)).equals(Buffer.concat([a, b]))).toBe(true);
    // Read with the wrong sector size, the second header is looked for after padding that is not there.
    expect(() => decompressLzo(frame, 9066, 4096)).toThrow(DecompressionError);
  });

  it('zero-fills output the segments do not cover and stops when the output is full', () => {
    const a = bytesOf(4096, 5);
    const b = bytesOf(4096, 6);
    const frame = lzoFrame([lzoLiterals(a), lzoLiterals(b)], 4096);
    const whole = Buffer.concat([a, b]);
    const big = decompressLzo(frame, 12288, 4096);
    expect(Buffer.from(big.subarray(0, 8192)).equals(whole)).toBe(true);
    expect(big.subarray(8192).every((x) => x === 0)).toBe(true);
    for (const n of [1, 4095, 4096, 5000, 8191]) {
      expect(Buffer.from(decompressLzo(frame, n, 4096)).equals(whole.subarray(0, n))).toBe(true);
    }
    // A corrupt later segment does not matter once the output is full (as in the kernel).
    const bad = frame.slice();
    bad[8 + lzoLiterals(a).length + 4] = 0xff;
    expect(() => decompressLzo(bad, 8192, 4096)).toThrow(/segment 1/);
    expect(Buffer.from(decompressLzo(bad, 4096, 4096)).equals(a)).toBe(true);
  });

  it('rejects bad framing with clear reasons', () => {
    const seg = lzoLiterals(bytesOf(100, 7));
    const good = lzoFrame([seg], 4096);
    const withTotal = (t: number) => {
      const f = good.slice();
      new DataView(f.buffer).setUint32(0, t, true);
      return f;
    };
    const withSeg = (l: number) => {
      const f = good.slice();
      new DataView(f.buffer).setUint32(4, l, true);
      return f;
    };
    expect(() => decompressLzo(good.subarray(0, 3), 100, 4096)).toThrow(/shorter than the 4-byte length header/);
    expect(() => decompressLzo(withTotal(2), 100, 4096)).toThrow(/smaller than the header itself/);
    expect(() => decompressLzo(withTotal(good.length + 1), 100, 4096)).toThrow(/truncated or corrupt/);
    expect(() => decompressLzo(withTotal(6), 100, 4096)).toThrow(/segment 0 header at byte 4 runs past/);
    expect(() => decompressLzo(withSeg(lzo1xWorstCompress(4096) + 1), 100, 4096)).toThrow(/more than the 4419-byte maximum/);
    expect(() => decompressLzo(withSeg(seg.length + 1), 100, 4096)).toThrow(/runs past the total length/);
    expect(() => decompressLzo(withSeg(0), 100, 4096)).toThrow(/segment 0 .*shorter than the 3-byte end marker/);
    expect(() => decompressLzo(good, 100, 3000)).toThrow(/invalid sector size/);
    // A segment may not decode to more than lzo1x_worst_compress(sectorsize).
    const long = new Uint8Array([18, 0x61, 32, ...new Array(19).fill(0), 122, 0, 0, 0x11, 0, 0]);
    expect(() => decompressLzo(lzoFrame([long], 4096), 8192, 4096)).toThrow(/segment 0 .*output overrun/);
    // The error names the algorithm.
    expect(() => decompressLzo(withTotal(2), 100, 4096)).toThrow(/^lzo decompression failed: /);
  });

  it('ignores bytes after the total length', () => {
    const a = bytesOf(300, 8);
    const frame = lzoFrame([lzoLiterals(a)], 4096);
    const padded = new Uint8Array(4096);
    padded.set(frame);
    padded.fill(0xee, frame.length);
    expect(Buffer.from(decompressLzo(padded, 300, 4096)).equals(a)).toBe(true);
  });
});

describe('zlib', () => {
  const text = new TextEncoder().encode('btrfs zlib test '.repeat(4000));

  it('caps the output and zero-fills a short stream', () => {
    const z = zlibSync(text);
    expect(Buffer.from(decompressZlib(z, 1000)).equals(Buffer.from(text.subarray(0, 1000)))).toBe(true);
    const big = decompressZlib(z, 128 * 1024);
    expect(Buffer.from(big.subarray(0, text.length)).equals(Buffer.from(text))).toBe(true);
    expect(big.subarray(text.length).every((b) => b === 0)).toBe(true);
  });

  it('handles stored blocks that cross the end of the output', () => {
    const data = bytesOf(100_000, 9);
    const z = zlibSync(data, { level: 0 });
    for (const n of [1, 65535, 65536, 70000, 99_999, 100_000, 110_000]) {
      const out = decompressZlib(z, n);
      expect(out.length).toBe(n);
      const k = Math.min(n, data.length);
      expect(Buffer.from(out.subarray(0, k)).equals(Buffer.from(data.subarray(0, k)))).toBe(true);
    }
  });

  it('tolerates trailing bytes and a missing Adler-32', () => {
    const z = zlibSync(text);
    const padded = new Uint8Array(z.length + 500).fill(0xaa);
    padded.set(z);
    expect(Buffer.from(decompressZlib(padded, text.length)).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(decompressZlib(z.subarray(0, z.length - 4), text.length)).equals(Buffer.from(text))).toBe(true);
  });

  it('rejects bad headers and truncated streams', () => {
    const z = zlibSync(text);
    const withHeader = (a: number, b: number) => {
      const f = z.slice();
      f[0] = a;
      f[1] = b;
      return f;
    };
    expect(() => decompressZlib(withHeader(0x79, 0xda), 10)).toThrow(/compression method 9/);
    expect(() => decompressZlib(withHeader(0x88, 0x1c), 10)).toThrow(/window/);
    expect(() => decompressZlib(withHeader(0x78, 0x9d), 10)).toThrow(/check bits/);
    expect(() => decompressZlib(withHeader(0x78, 0xbb), 10)).toThrow(/preset dictionary/);
    expect(() => decompressZlib(z.subarray(0, 2), 10)).toThrow(/too short/);
    expect(() => decompressZlib(z.subarray(0, z.length - 10), text.length)).toThrow(/^zlib decompression failed: /);
  });

  it('a deflate bomb stops at the output size', () => {
    const zeros = zlibSync(new Uint8Array(8 * 1024 * 1024), { level: 9 });
    const t0 = performance.now();
    const out = decompressZlib(zeros, MAX_UNCOMPRESSED);
    expect(out.length).toBe(MAX_UNCOMPRESSED);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

/** A zstd frame of raw (type 0) and RLE (type 1) blocks. */
function zstdFrame(
  blocks: ({ raw: Uint8Array } | { rle: number; n: number })[],
  opts: {
    fhd?: number;
    window?: number;
    fcs?: number[];
    dict?: number[];
    checksum?: Uint8Array;
    reservedBlock?: boolean;
  } = {},
): Uint8Array {
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  out.push(opts.fhd ?? 0);
  if (opts.window !== undefined) out.push(opts.window);
  out.push(...(opts.dict ?? []), ...(opts.fcs ?? []));
  blocks.forEach((b, i) => {
    const last = i === blocks.length - 1 ? 1 : 0;
    const type = opts.reservedBlock ? 3 : 'raw' in b ? 0 : 1;
    const size = 'raw' in b ? b.raw.length : b.n;
    const h = last | (type << 1) | (size << 3);
    out.push(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff);
    if ('raw' in b) out.push(...b.raw);
    else out.push(b.rle);
  });
  if (opts.checksum) out.push(...opts.checksum);
  return new Uint8Array(out);
}

describe('zstd', () => {
  const a = bytesOf(3000, 10);
  const b = bytesOf(2000, 11);
  const content = Buffer.concat([a, new Uint8Array(1000).fill(7), b]);
  const blocks = [{ raw: a }, { rle: 7, n: 1000 }, { raw: b }];
  const W64K = (16 - 10) << 3; // window descriptor for 64 KiB

  it('decodes a checksummed frame from the zstd tool and verifies the checksum', () => {
    const v = manifest.zstdWithChecksum;
    const input = load(v.file);
    const out = decompressZstd(input, v.size);
    expect(sha256(out)).toBe(v.sha256);
    const bad = input.slice();
    bad[bad.length - 1]! ^= 1;
    expect(() => decompressZstd(bad, v.size)).toThrow(/content checksum mismatch/);
    // With a smaller output the frame is not decoded to its end, so the checksum is not reached.
    expect(Buffer.from(decompressZstd(bad, 100)).equals(Buffer.from(out.subarray(0, 100)))).toBe(true);
  });

  it('decodes raw and RLE blocks, caps the output, zero-fills, ignores trailing bytes', () => {
    const f = zstdFrame(blocks, { window: W64K });
    expect(Buffer.from(decompressZstd(f, 6000)).equals(content)).toBe(true);
    for (const n of [0, 1, 2999, 3000, 3001, 4500, 5999]) {
      expect(Buffer.from(decompressZstd(f, n)).equals(content.subarray(0, n))).toBe(true);
    }
    const big = decompressZstd(f, 10000);
    expect(Buffer.from(big.subarray(0, 6000)).equals(content)).toBe(true);
    expect(big.subarray(6000).every((x) => x === 0)).toBe(true);
    const padded = new Uint8Array(f.length + 100).fill(0x55);
    padded.set(f);
    expect(Buffer.from(decompressZstd(padded, 6000)).equals(content)).toBe(true);
  });

  it('checks the recorded content size and checksum when the frame is decoded to its end', () => {
    const h = computeCsum(CsumType.XXHASH, content).subarray(0, 4);
    // FCS 2 bytes (value - 256), checksum flag, window descriptor.
    const fcs = (n: number) => [(n - 256) & 0xff, (n - 256) >>> 8];
    const good = zstdFrame(blocks, { fhd: 0x44, window: W64K, fcs: fcs(6000), checksum: h });
    expect(Buffer.from(decompressZstd(good, 6000)).equals(content)).toBe(true);
    const wrongSize = zstdFrame(blocks, { fhd: 0x44, window: W64K, fcs: fcs(6001), checksum: h });
    expect(() => decompressZstd(wrongSize, 8000)).toThrow(/records 6001 bytes of content but its blocks hold 6000/);
    const wrongSum = zstdFrame(blocks, { fhd: 0x44, window: W64K, fcs: fcs(6000), checksum: new Uint8Array([1, 2, 3, 4]) });
    expect(() => decompressZstd(wrongSum, 6000)).toThrow(/content checksum mismatch/);
  });

  it('rejects frames btrfs never writes and malformed frames, with clear reasons', () => {
    const ok = zstdFrame(blocks, { window: W64K });
    const cases: [Uint8Array, RegExp][] = [
      [ok.subarray(0, 5), /too short/],
      [new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0, 0, 0]), /skippable frame/],
      [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), /bad frame magic 0x04030201/],
      [zstdFrame(blocks, { fhd: 0x08, window: W64K }), /reserved bit/],
      [zstdFrame(blocks, { fhd: 0x01, window: W64K, dict: [5] }), /needs dictionary 5/],
      [zstdFrame(blocks, { window: (24 - 10) << 3 }), /window of 16777216 bytes exceeds/],
      [zstdFrame(blocks, { window: W64K, reservedBlock: true }), /reserved block type 3/],
      [zstdFrame([{ raw: bytesOf(2000, 1) }], { window: 0 }), /regenerates 2000 bytes, more than the 1024-byte block limit/],
      [ok.subarray(0, ok.length - 1), /frame truncated: block 2 needs 2000 bytes/],
      [ok.subarray(0, 3010), /frame truncated: block 1 header/],
      [zstdFrame(blocks, { fhd: 0x04, window: W64K }), /content checksum missing/],
    ];
    for (const [f, re] of cases) {
      expect(() => decompressZstd(f, 6000), re.source).toThrow(re);
      expect(() => decompressZstd(f, 6000)).toThrow(/^zstd decompression failed: /);
    }
  });

  it('rejects crafted blocks that would keep fzstd busy for minutes or forever', () => {
    const frame = (blk: number[]) => {
      const h = 1 | (2 << 1) | (blk.length << 3);
      return new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 7 << 3, h & 0xff, (h >>> 8) & 0xff, h >>> 16, ...blk]);
    };
    const cases: [Uint8Array, RegExp][] = [
      // 48896 RLE-coded sequences of 65539-byte matches in 12 bytes (fzstd: ~1 minute).
      [frame([0x00, 255, 0, 64, 0x54, 0, 0, 52, 0xff, 0xff, 0xff, 0x80]), /declares 48896 sequences/],
      // 32768 such sequences, few enough to pass the count check (fzstd: ~7 s).
      [frame([0x00, 255, 0, 1, 0x54, 0, 0, 52, 0xff, 0xff, 0xff, 0x80]), /match offset 4 reaches before the start/],
      // Four literals, then one sequence of a 65539+-byte match whose extra bits are missing.
      [frame([0x20, 0x61, 0x62, 0x63, 0x64, 1, 0x54, 0, 0, 52, 0x80]), /sequence bitstream overread/],
      // Huffman weights whose FSE table reads no bits: fzstd never returns.
      [frame([0x02, 0xc1, 0x01, 0x04, 0xf0, 0x03, 0x00, 0x80, 0x00, 0x80, 0x00]), /Huffman weights never end/],
    ];
    for (const [f, re] of cases) {
      const t0 = performance.now();
      expect(() => decompressZstd(f, MAX_UNCOMPRESSED)).toThrow(re);
      expect(performance.now() - t0).toBeLessThan(100);
    }
  });

  it('wraps fzstd errors on a corrupt compressed block', () => {
    // A compressed block (type 2) of garbage inside a well-formed frame.
    const junk = bytesOf(200, 12);
    const h = 1 | (2 << 1) | (junk.length << 3);
    const f = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, W64K, h & 0xff, (h >>> 8) & 0xff, h >>> 16, ...junk]);
    const r = attempt(() => decompressZstd(f, 4096));
    if (r instanceof DecompressionError) expect(r.message).toMatch(/^zstd decompression failed: /);
    else expect(r.length).toBe(4096);
  });
});

describe('decompressExtent', () => {
  it('dispatches on the compression type', () => {
    const data = new TextEncoder().encode('hello hello hello hello');
    expect(Buffer.from(decompressExtent(Compression.ZLIB, zlibSync(data), data.length, 4096)).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(decompressExtent(Compression.LZO, lzoFrame([lzoLiterals(data)], 4096), data.length, 4096)).equals(Buffer.from(data))).toBe(true);
  });

  it('returns uncompressed data copied, truncated or zero-extended', () => {
    const data = new Uint8Array([1, 2, 3, 4]);
    const out = decompressExtent(Compression.NONE, data, 6, 4096);
    expect([...out]).toEqual([1, 2, 3, 4, 0, 0]);
    expect([...decompressExtent(Compression.NONE, data, 2, 4096)]).toEqual([1, 2]);
    out[0] = 9;
    expect(data[0]).toBe(1);
  });

  it('rejects unknown types and sizes beyond the btrfs limits', () => {
    expect(() => decompressExtent(4, new Uint8Array(10), 10, 4096)).toThrow(/unknown compression type 4/);
    for (const c of [Compression.ZLIB, Compression.LZO, Compression.ZSTD]) {
      expect(() => decompressExtent(c, new Uint8Array(10), MAX_UNCOMPRESSED + 1, 4096)).toThrow(/exceeds the 131072-byte limit .*ram_bytes/);
      expect(() => decompressExtent(c, new Uint8Array(MAX_COMPRESSED + 1), 4096, 4096)).toThrow(/disk_num_bytes is corrupt/);
      expect(() => decompressExtent(c, new Uint8Array(10), -1, 4096)).toThrow(/invalid output size/);
      expect(() => decompressExtent(c, new Uint8Array(10), 1.5, 4096)).toThrow(DecompressionError);
    }
  });

  it('errors carry the algorithm and reason', () => {
    try {
      decompressExtent(Compression.ZSTD, new Uint8Array(8), 10, 4096);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecompressionError);
      const d = e as DecompressionError;
      expect(d.algorithm).toBe('zstd');
      expect(d.reason).toMatch(/bad frame magic/);
      expect(d.name).toBe('DecompressionError');
    }
  });
});
