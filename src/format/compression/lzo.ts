import { u32 } from '../bytes.js';
import { checkSizes, DecompressionError } from './common.js';

/**
 * LZO as btrfs stores it (compression type 2).
 *
 * Framing, for regular and inline extents alike:
 *   - a LE32 total length of the compressed data, this header included;
 *   - segments, each a LE32 length followed by that many bytes of one
 *     independent LZO1X stream that decompresses to at most one sector;
 *   - a segment header never straddles a sector boundary: when fewer than 4
 *     bytes remain in the current sector after a segment, the writer pads
 *     them with zeros and the next header starts on the next sector.
 * The uncompressed data is the segments' output concatenated.
 *
 * The LZO1X decoder is written from the published description of the
 * bitstream (the kernel's Documentation/staging/lzo.rst) with the
 * semantics of lzo1x_decompress_safe: every read and write is checked, and a
 * stream must end with the end marker exactly at the end of its input.
 */

const ALG = 'lzo';
const LZO_LEN = 4;

/** lzo1x_worst_compress(n): the largest LZO1X output for n input bytes. */
export function lzo1xWorstCompress(n: number): number {
  return n + Math.floor(n / 16) + 64 + 3;
}

class LzoStreamError extends Error {
  constructor(
    readonly what: string,
    readonly inOff: number,
    readonly outOff: number,
  ) {
    super(`${what} at input byte ${inOff}, output byte ${outOff}`);
  }
}

/**
 * Decodes the LZO1X stream src[start, end) into dst starting at dstStart,
 * writing no byte at or past dstEnd. Back-references may reach only bytes
 * this call wrote. Returns the offset in dst after the last byte written.
 * Throws LzoStreamError for a malformed, truncated or oversized stream.
 */
function decodeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstStart: number, dstEnd: number): number {
  let ip = start;
  let op = dstStart;
  const fail = (what: string): never => {
    throw new LzoStreamError(what, ip - start, op - dstStart);
  };
  if (end - start < 3) fail('stream shorter than the 3-byte end marker');

  // Number of literals the previous instruction copied: 0, 1..3, or 4 for "4 or more".
  let state = 0;
  let t = src[ip]!;
  if (t === 17 && end - start >= 5) fail('LZO-RLE bitstream version marker (btrfs writes plain LZO1X)');
  if (t > 17) {
    // First byte: a literal run of t - 17 bytes.
    ip++;
    t -= 17;
    if (t > end - ip) fail('input overrun in literal run');
    if (t > dstEnd - op) fail('output overrun in literal run');
    for (let i = 0; i < t; i++) dst[op++] = src[ip++]!;
    state = t < 4 ? t : 4;
  }

  for (;;) {
    if (ip >= end) fail('input ended without an end marker');
    t = src[ip++]!;
    let len: number;
    let dist: number;
    let next: number;
    if (t >= 64) {
      // 01LDDDSS / 1LLDDDSS + 1 byte: 3..8 bytes within 2 KiB.
      len = (t >>> 5) + 1;
      if (ip >= end) fail('input overrun in match distance');
      dist = (src[ip++]! << 3) + ((t >>> 2) & 7) + 1;
      next = t & 3;
    } else if (t >= 32) {
      // 001LLLLL [len ext] + LE16: within 16 KiB.
      len = t & 31;
      if (len === 0) {
        let zeros = 0;
        for (;;) {
          if (ip >= end) fail('input overrun in match length');
          const b = src[ip++]!;
          if (b !== 0) {
            len = 31 + zeros * 255 + b;
            break;
          }
          zeros++;
        }
      }
      len += 2;
      if (end - ip < 2) fail('input overrun in match distance');
      const v = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
      dist = (v >>> 2) + 1;
      next = v & 3;
    } else if (t >= 16) {
      // 0001HLLL [len ext] + LE16: 16..48 KiB, or the end marker.
      len = t & 7;
      if (len === 0) {
        let zeros = 0;
        for (;;) {
          if (ip >= end) fail('input overrun in match length');
          const b = src[ip++]!;
          if (b !== 0) {
            len = 7 + zeros * 255 + b;
            break;
          }
          zeros++;
        }
      }
      len += 2;
      if (end - ip < 2) fail('input overrun in match distance');
      const v = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
      dist = ((t & 8) << 11) + (v >>> 2);
      next = v & 3;
      if (dist === 0) {
        if (len !== 3) fail('malformed end marker');
        if (ip !== end) fail(`${end - ip} bytes after the end marker`);
        return op;
      }
      dist += 16384;
    } else if (state === 0) {
      // 0000LLLL [len ext]: a run of 4 or more literals.
      len = t;
      if (len === 0) {
        let zeros = 0;
        for (;;) {
          if (ip >= end) fail('input overrun in literal length');
          const b = src[ip++]!;
          if (b !== 0) {
            len = 15 + zeros * 255 + b;
            break;
          }
          zeros++;
        }
      }
      len += 3;
      if (len > end - ip) fail('input overrun in literal run');
      if (len > dstEnd - op) fail('output overrun in literal run');
      if (len > 32) {
        dst.set(src.subarray(ip, ip + len), op);
        ip += len;
        op += len;
      } else {
        for (let i = 0; i < len; i++) dst[op++] = src[ip++]!;
      }
      state = 4;
      continue;
    } else {
      // 0000DDSS + 1 byte: 2 bytes within 1 KiB after 1..3 literals,
      // or 3 bytes at 2..3 KiB after a run of 4 or more.
      if (ip >= end) fail('input overrun in match distance');
      if (state === 4) {
        len = 3;
        dist = (src[ip++]! << 2) + (t >>> 2) + 2049;
      } else {
        len = 2;
        dist = (src[ip++]! << 2) + (t >>> 2) + 1;
      }
      next = t & 3;
    }

    if (dist > op - dstStart) fail(`match distance ${dist} reaches before the start of the output`);
    if (len > dstEnd - op) fail('output overrun in match');
    let from = op - dist;
    if (dist >= len && len > 32) {
      dst.copyWithin(op, from, from + len);
      op += len;
    } else {
      for (let i = 0; i < len; i++) dst[op++] = dst[from++]!;
    }

    if (next !== 0) {
      if (next > end - ip) fail('input overrun in trailing literals');
      if (next > dstEnd - op) fail('output overrun in trailing literals');
      for (let i = 0; i < next; i++) dst[op++] = src[ip++]!;
    }
    state = next;
  }
}

/**
 * Decompresses one raw LZO1X stream (no btrfs framing) that must produce at
 * most maxOutput bytes. Returns exactly the bytes it produced.
 */
export function lzo1xDecompress(input: Uint8Array, maxOutput: number): Uint8Array {
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) {
    throw new DecompressionError(ALG, `invalid output size ${maxOutput}`);
  }
  const out = new Uint8Array(maxOutput);
  try {
    const n = decodeInto(input, 0, input.length, out, 0, maxOutput);
    return n === maxOutput ? out : out.slice(0, n);
  } catch (e) {
    if (e instanceof LzoStreamError) throw new DecompressionError(ALG, e.message, { cause: e });
    throw e;
  }
}

function checkSectorsize(sectorsize: number): void {
  if (!Number.isInteger(sectorsize) || sectorsize < 512 || sectorsize > 65536 || (sectorsize & (sectorsize - 1)) !== 0) {
    throw new DecompressionError(ALG, `invalid sector size ${sectorsize} (must be a power of two from 512 to 65536)`);
  }
}

/**
 * Decompresses btrfs-framed LZO data (a regular extent's disk bytes or an
 * inline item's data) into exactly outputSize bytes. Segments are decoded
 * until the output is full or the framing's total length is reached; output
 * the segments do not cover is zero. Bytes past the total length are ignored.
 */
export function decompressLzo(input: Uint8Array, outputSize: number, sectorsize: number): Uint8Array {
  checkSizes(ALG, input, outputSize);
  checkSectorsize(sectorsize);
  const err = (reason: string): never => {
    throw new DecompressionError(ALG, reason);
  };
  if (input.length < LZO_LEN) err(`input of ${input.length} bytes is shorter than the 4-byte length header`);
  const total = u32(input, 0);
  if (total < LZO_LEN) err(`length header ${total} is smaller than the header itself`);
  if (total > input.length) err(`length header says ${total} bytes but only ${input.length} are present (truncated or corrupt)`);

  // The kernel decodes a segment into a buffer of lzo1x_worst_compress(sectorsize)
  // and rejects compressed segments larger than that.
  const segMax = lzo1xWorstCompress(sectorsize);
  const out = new Uint8Array(outputSize);
  let scratch: Uint8Array | null = null;
  let pos = 0;
  let cur = LZO_LEN;
  let seg = 0;
  while (cur < total && pos < outputSize) {
    if (total - cur < LZO_LEN) err(`segment ${seg} header at byte ${cur} runs past the total length ${total}`);
    const segLen = u32(input, cur);
    cur += LZO_LEN;
    if (segLen > segMax) err(`segment ${seg} at byte ${cur - LZO_LEN} claims ${segLen} bytes, more than the ${segMax}-byte maximum for a ${sectorsize}-byte sector`);
    if (segLen > total - cur) err(`segment ${seg} at byte ${cur - LZO_LEN} (${segLen} bytes) runs past the total length ${total}`);
    try {
      if (outputSize - pos >= segMax) {
        pos = decodeInto(input, cur, cur + segLen, out, pos, pos + segMax);
      } else {
        // Near the end of the output: decode aside and keep only what fits,
        // as the kernel copies only the bytes the extent needs.
        scratch ??= new Uint8Array(segMax);
        const n = decodeInto(input, cur, cur + segLen, scratch, 0, segMax);
        const take = Math.min(n, outputSize - pos);
        out.set(scratch.subarray(0, take), pos);
        pos += take;
      }
    } catch (e) {
      if (e instanceof LzoStreamError) {
        throw new DecompressionError(ALG, `segment ${seg} at byte ${cur - LZO_LEN} (${segLen} bytes): ${e.message}`, { cause: e });
      }
      throw e;
    }
    cur += segLen;
    seg++;
    const left = sectorsize - (cur % sectorsize);
    if (left < LZO_LEN) cur += left;
  }
  return out;
}
