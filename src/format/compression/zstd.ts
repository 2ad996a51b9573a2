import { Decompress } from 'fzstd';
import { u32 } from '../bytes.js';
import { computeCsum } from '../checksum.js';
import { CsumType } from '../constants.js';
import { checkSizes, DecompressionError, describe } from './common.js';
import { fastDecoders } from './fast.js';
import { checkCompressedBlock, newFrameState, ZstdFormatError } from './zstdSequences.js';

/**
 * zstd as btrfs stores it (compression type 3): one zstd frame per extent or
 * inline item, followed on disk by zero padding up to the sector boundary.
 * The kernel compresses with a window of at most 128 KiB (windowLog 17);
 * kernels of the 4.14 era also wrote a content checksum.
 *
 * Before fzstd decodes anything, the frame header and every block needed are
 * checked here (see zstdSequences.ts): fzstd itself trusts its input, and a
 * crafted block of a few bytes could keep it busy for minutes. Blocks are
 * checked and decoded only until outputSize bytes exist, as the kernel stops
 * there too; output the frame does not cover reads as zeros. When the whole
 * frame fits in the output, its recorded content size and checksum are
 * verified, as zstd does at the end of a frame.
 */

const ALG = 'zstd';
const MAGIC = 0xfd2fb528;
/** ZSTD_BLOCKSIZE_MAX. */
const BLOCK_MAX = 128 * 1024;
/**
 * Largest window accepted. btrfs writes at most 128 KiB; allowing more costs
 * only memory (fzstd allocates the window) and tolerates other writers.
 */
export const ZSTD_MAX_WINDOW = 8 * 1024 * 1024;

interface FrameScan {
  /** Offset just past the last block checked (and the checksum, when complete). */
  end: number;
  /** Whether every block of the frame was checked. */
  complete: boolean;
  /** Bytes the checked blocks decode to. */
  produced: number;
  contentSize: number | null;
  /** Offset of the 4-byte content checksum, or -1. */
  checksumAt: number;
}

const err = (reason: string): never => {
  throw new DecompressionError(ALG, reason);
};

interface FrameHeader {
  /** Offset of the first block header. */
  p: number;
  windowSize: number;
  contentSize: number | null;
  hasChecksum: number;
}

/** Checks the frame header at the start of input: one zstd frame, no dictionary, a window btrfs could have written. */
function frameHeader(input: Uint8Array): FrameHeader {
  if (input.length < 6) err(`input of ${input.length} bytes is too short for a zstd frame`);
  const magic = u32(input, 0);
  if (magic !== MAGIC) {
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) err('input starts with a skippable frame; btrfs writes a single zstd frame');
    err(`bad frame magic 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const fhd = input[4]!;
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const hasChecksum = (fhd >>> 2) & 1;
  const dictFlag = fhd & 3;
  if (fhd & 0x08) err('reserved bit set in the frame header descriptor');
  let p = 5;
  let windowSize = 0;
  if (!singleSegment) {
    const wd = input[p++]!;
    const base = 2 ** (10 + (wd >>> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  const dictBytes = [0, 1, 2, 4][dictFlag]!;
  const fcsBytes = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag]!;
  if (input.length < p + dictBytes + fcsBytes + 3) err('frame header truncated');
  let dictId = 0;
  for (let i = 0; i < dictBytes; i++) dictId += input[p + i]! * 2 ** (8 * i);
  p += dictBytes;
  if (dictId !== 0) err(`frame needs dictionary ${dictId}; btrfs never uses dictionaries`);
  let contentSize: number | null = null;
  if (fcsBytes) {
    let v = 0;
    for (let i = 0; i < fcsBytes; i++) v += input[p + i]! * 2 ** (8 * i);
    if (fcsBytes === 2) v += 256;
    contentSize = v;
    p += fcsBytes;
  }
  if (singleSegment) windowSize = contentSize!;
  if (windowSize > ZSTD_MAX_WINDOW) err(`frame window of ${windowSize} bytes exceeds the ${ZSTD_MAX_WINDOW}-byte limit (btrfs uses at most 128 KiB)`);
  return { p, windowSize, contentSize, hasChecksum };
}

/** Validates the frame at the start of input, block by block, until `want` bytes are covered. */
function scanFrame(input: Uint8Array, want: number): FrameScan {
  const h = frameHeader(input);
  let p = h.p;
  const { windowSize, contentSize, hasChecksum } = h;
  const blockMax = Math.min(windowSize, BLOCK_MAX);

  const st = newFrameState();
  for (let n = 0; ; n++) {
    if (input.length - p < 3) err(`frame truncated: block ${n} header at byte ${p} is past the end of the input (${input.length} bytes)`);
    const hdr = input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16);
    const last = hdr & 1;
    const type = (hdr >>> 1) & 3;
    const size = hdr >>> 3;
    let bytes: number;
    if (type === 0 || type === 1) {
      if (size > blockMax) err(`block ${n} at byte ${p} regenerates ${size} bytes, more than the ${blockMax}-byte block limit of this frame`);
      bytes = type === 0 ? size : 1;
    } else if (type === 2) {
      if (size > blockMax) err(`compressed block ${n} at byte ${p} is ${size} bytes, more than the ${blockMax}-byte block limit of this frame`);
      bytes = size;
    } else {
      return err(`block ${n} at byte ${p} has the reserved block type 3`);
    }
    p += 3;
    if (bytes > input.length - p) err(`frame truncated: block ${n} needs ${bytes} bytes at byte ${p} but the input has ${input.length}`);
    if (type === 2) {
      try {
        checkCompressedBlock(input, p, p + bytes, blockMax, windowSize, st);
      } catch (e) {
        if (e instanceof ZstdFormatError) err(`compressed block ${n} at byte ${p - 3}: ${e.message}`);
        throw e;
      }
    } else {
      st.produced += size;
    }
    p += bytes;
    if (last) break;
    if (st.produced >= want) {
      // Enough output: the kernel stops reading the frame here.
      return { end: p, complete: false, produced: st.produced, contentSize, checksumAt: -1 };
    }
  }
  let checksumAt = -1;
  if (hasChecksum) {
    if (input.length - p < 4) err('frame truncated: content checksum missing');
    checksumAt = p;
    p += 4;
  }
  if (contentSize !== null && st.produced !== contentSize && st.produced <= want) {
    err(`frame header records ${contentSize} bytes of content but its blocks hold ${st.produced}`);
  }
  return { end: p, complete: true, produced: st.produced, contentSize, checksumAt };
}

/** Thrown from fzstd's output callback to stop once enough output exists. */
const FULL: unique symbol = Symbol('output full');

export function decompressZstd(input: Uint8Array, outputSize: number): Uint8Array {
  checkSizes(ALG, input, outputSize);
  if (fastDecoders.zstd && outputSize > 0) {
    // The header is checked here as for the portable path (the same errors); the fast decoder checks the blocks.
    frameHeader(input);
    const fast = new Uint8Array(outputSize);
    if (fastDecoders.zstd(input, fast)) return fast;
  }
  const frame = scanFrame(input, outputSize);
  const out = new Uint8Array(outputSize);
  if (outputSize === 0) return out;
  let pos = 0;
  let produced = 0;
  const d = new Decompress((chunk, final) => {
    if (final) return;
    produced += chunk.length;
    const take = Math.min(chunk.length, outputSize - pos);
    out.set(take === chunk.length ? chunk : chunk.subarray(0, take), pos);
    pos += take;
    if (pos >= outputSize) throw FULL;
  });
  try {
    d.push(input.subarray(0, frame.end), true);
  } catch (e) {
    // FULL: every wanted byte exists; the rest of the frame is not needed.
    if (e !== FULL) throw new DecompressionError(ALG, describe(e), { cause: e });
  }
  if (frame.complete && frame.produced <= outputSize) {
    if (produced !== frame.produced) {
      throw new DecompressionError(ALG, `decoder produced ${produced} bytes where the frame's blocks hold ${frame.produced}`);
    }
    if (frame.checksumAt >= 0) {
      // The low 32 bits of XXH64(content, seed 0), little-endian.
      const h = computeCsum(CsumType.XXHASH, out.subarray(0, produced));
      for (let i = 0; i < 4; i++) {
        if (h[i] !== input[frame.checksumAt + i]) throw new DecompressionError(ALG, 'content checksum mismatch');
      }
    }
  }
  return out;
}
