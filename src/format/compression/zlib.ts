import { inflateSync } from 'fflate';
import { checkSizes, DecompressionError, describe } from './common.js';
import { fastDecoders } from './fast.js';

/**
 * zlib as btrfs stores it (compression type 1): one zlib stream (2-byte
 * header, deflate data, Adler-32 trailer) per extent or inline item,
 * followed on disk by zero padding up to the sector boundary.
 *
 * The kernel stops inflating once the extent's ram_bytes are produced, and a
 * stream may legitimately end early (the tail of a file's last extent);
 * those bytes read as zeros. Bytes after the end of the stream are ignored.
 * The Adler-32 trailer is not verified (fflate does not report where the
 * deflate data ends); the data checksums in the csum tree cover these bytes.
 */

const ALG = 'zlib';
/** Largest stored (uncompressed) deflate block. */
const MAX_STORED_BLOCK = 65535;

export function decompressZlib(input: Uint8Array, outputSize: number): Uint8Array {
  checkSizes(ALG, input, outputSize);
  if (input.length < 3) throw new DecompressionError(ALG, `input of ${input.length} bytes is too short for a zlib stream`);
  const cmf = input[0]!;
  const flg = input[1]!;
  if ((cmf & 0x0f) !== 8) throw new DecompressionError(ALG, `header byte 0x${cmf.toString(16).padStart(2, '0')} names compression method ${cmf & 0x0f}, not deflate (8)`);
  if (cmf >>> 4 > 7) throw new DecompressionError(ALG, `header declares a ${1 << ((cmf >>> 4) + 8)}-byte window, larger than deflate allows`);
  if (((cmf << 8) | flg) % 31 !== 0) throw new DecompressionError(ALG, `header check bits are wrong (0x${cmf.toString(16)}${flg.toString(16).padStart(2, '0')})`);
  if (flg & 0x20) throw new DecompressionError(ALG, 'header asks for a preset dictionary, which btrfs never uses');
  const deflate = input.subarray(2);
  if (fastDecoders.zlib && outputSize > 0) {
    const out = new Uint8Array(outputSize);
    if (fastDecoders.zlib(input, out)) return out;
  }

  // With a caller-supplied buffer fflate drops bytes past its end, except that
  // a stored block crossing the end throws a RangeError. Try the exact size
  // first (the normal case), then with room for one stored block, which always
  // fits when it starts inside the wanted range.
  let out = new Uint8Array(outputSize);
  try {
    inflateSync(deflate, { out });
  } catch (e) {
    if (!(e instanceof RangeError)) throw wrap(e);
    out = new Uint8Array(outputSize + MAX_STORED_BLOCK);
    try {
      inflateSync(deflate, { out });
    } catch (e2) {
      // Only a stored block starting past outputSize can overflow this buffer:
      // every byte wanted has been produced.
      if (!(e2 instanceof RangeError)) throw wrap(e2);
    }
    out = out.slice(0, outputSize);
  }
  return out;
}

function wrap(e: unknown): DecompressionError {
  return new DecompressionError(ALG, describe(e), { cause: e });
}
