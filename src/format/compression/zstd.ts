import { Decompress } from 'fzstd';
import { u32 } from '../bytes.js';
import { computeCsum } from '../checksum.js';
import { CsumType } from '../constants.js';
import { DecompressionError, checkSizes, describe } from './common.js';

/**
 * zstd as btrfs stores it (compression type 3): one zstd frame per extent or
 * inline item, followed on disk by zero padding up to the sector boundary.
 * The kernel compresses with a window of at most 128 KiB (windowLog 17);
 * kernels of the 4.14 era also wrote a content checksum.
 *
 * The frame's structure (header and block headers) is checked here before
 * fzstd decodes it, so that fzstd only ever sees one well-formed frame with a
 * bounded window, and decoding stops as soon as outputSize bytes exist (as
 * the kernel does). Output the frame does not cover reads as zeros.
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

interface FrameInfo {
  /** Offset just past the frame (after any checksum). */
  end: number;
  windowSize: number;
  /** Frame_Content_Size, when the header records it. */
  contentSize: number | null;
  /** Offset of the 4-byte content checksum, or -1. */
  checksumAt: number;
  /** Number of blocks in the frame. */
  blocks: number;
}

/** Validates the frame at the start of input and finds where it ends. */
function scanFrame(input: Uint8Array): FrameInfo {
  const err = (reason: string): never => { throw new DecompressionError(ALG, reason); };
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
  const blockMax = Math.min(windowSize, BLOCK_MAX);

  let n = 0;
  for (; ; n++) {
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
      if (size > BLOCK_MAX) err(`compressed block ${n} at byte ${p} is ${size} bytes, more than the ${BLOCK_MAX}-byte limit`);
      bytes = size;
    } else {
      return err(`block ${n} at byte ${p} has the reserved block type 3`);
    }
    p += 3;
    if (bytes > input.length - p) err(`frame truncated: block ${n} needs ${bytes} bytes at byte ${p} but the input has ${input.length}`);
    p += bytes;
    if (last) break;
  }
  let checksumAt = -1;
  if (hasChecksum) {
    if (input.length - p < 4) err('frame truncated: content checksum missing');
    checksumAt = p;
    p += 4;
  }
  return { end: p, windowSize, contentSize, checksumAt, blocks: n + 1 };
}

/** Thrown from fzstd's output callback to stop once enough output exists. */
const FULL: unique symbol = Symbol('output full');

export function decompressZstd(input: Uint8Array, outputSize: number): Uint8Array {
  checkSizes(ALG, input, outputSize);
  const frame = scanFrame(input);
  const out = new Uint8Array(outputSize);
  if (outputSize === 0) return out;
  let pos = 0;
  let produced = 0;
  let blocks = 0;
  const d = new Decompress((chunk, final) => {
    if (final) return;
    blocks++;
    produced += chunk.length;
    const take = Math.min(chunk.length, outputSize - pos);
    out.set(take === chunk.length ? chunk : chunk.subarray(0, take), pos);
    pos += take;
    if (pos >= outputSize) throw FULL;
  });
  try {
    d.push(input.subarray(0, frame.end), true);
  } catch (e) {
    // FULL: every wanted byte exists; the rest of the frame is not needed
    // (the kernel stops there too).
    if (e !== FULL) throw new DecompressionError(ALG, describe(e), { cause: e });
  }
  // When the whole frame was decoded into the output, check what zstd itself
  // checks at the end of a frame: the recorded content size and checksum.
  if (blocks === frame.blocks && produced <= outputSize) {
    if (frame.contentSize !== null && frame.contentSize !== produced) {
      throw new DecompressionError(ALG, `frame header records ${frame.contentSize} bytes of content but its blocks hold ${produced}`);
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
