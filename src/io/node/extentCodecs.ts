import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { type FastDecoder, useFastDecoders } from '../../format/compression/index.js';

/**
 * Native decoders for compressed file extents, handed to the core (which
 * keeps its portable JavaScript ones, fflate and fzstd, for the browser and
 * as the judge of anything these do not decode cleanly):
 *
 * - zlib: Node's own (the zlib library), about 3 times fflate's speed on
 *   128 KiB extents. Z_FINISH, the default, makes a stream cut short an
 *   error, and maxOutputLength one that inflates past the extent's ram_bytes;
 *   a bad Adler-32 trailer is an error too. Those all go to fflate, which
 *   decides as before (it stops at ram_bytes and ignores the trailer).
 * - zstd: the system's libzstd (libzstd.so.1) through the optional koffi
 *   package, about 14 times fzstd's speed with the block checks fzstd needs
 *   in front of it (libzstd checks its input itself). Node 20 has no zstd.
 *   Only the first frame is decoded (ZSTD_findFrameCompressedSize: the
 *   sector padding after it is not a frame), into the extent's output; a
 *   frame whose content does not fit, fails its checksum or is damaged goes
 *   to fzstd. libzstd is the reference decoder (the kernel's zstd is its
 *   code): a damaged frame it still decodes, where fzstd gives up, is
 *   decoded, as the kernel would (the data checksums judge the bytes). koffi and the library load on the first zstd extent, so
 *   commands that meet none pay nothing; when either is missing, fzstd
 *   stays.
 */
export function useNativeExtentCodecs(): void {
  if (process.env.BTRFS_INSPECT_PORTABLE_CODECS === '1') return;
  useFastDecoders({ zlib: inflate, zstd: zstdFirstUse });
}

const inflate: FastDecoder = (input, out) => {
  let got: Buffer;
  try {
    got = zlib.inflateSync(input, { maxOutputLength: out.length });
  } catch {
    return false;
  }
  out.set(got);
  return true;
};

/** Loads libzstd on the first zstd extent and hands it in, or takes the zstd fast path back out. */
const zstdFirstUse: FastDecoder = (input, out) => {
  const z = loadLibzstd();
  useFastDecoders({ zstd: z });
  return z ? z(input, out) : false;
};

type SizeT = number | bigint;

function loadLibzstd(): FastDecoder | null {
  if (process.platform !== 'linux') return null;
  try {
    const k = createRequire(import.meta.url)('koffi') as { load(name: string): { func(decl: string): (...a: unknown[]) => SizeT } };
    const lib = k.load('libzstd.so.1');
    const dctx = lib.func('void *ZSTD_createDCtx(void)')();
    if (!dctx) return null;
    const frameSize = lib.func('size_t ZSTD_findFrameCompressedSize(const uint8_t *src, size_t srcSize)');
    const decompress = lib.func('size_t ZSTD_decompressDCtx(void *dctx, _Out_ uint8_t *dst, size_t dstCapacity, const uint8_t *src, size_t srcSize)');
    // A size_t past 2^53 comes back as a bigint: libzstd's error codes are (size_t)-code, so only a number is a size.
    const decode: FastDecoder = (input, out) => {
      const n = frameSize(input, input.length);
      if (typeof n !== 'number' || n > input.length) return false;
      const r = decompress(dctx, out, out.length, input, n);
      if (typeof r !== 'number' || r > out.length) return false;
      // libzstd may keep literals in the unused end of the output while it decodes (zstd 1.5's
      // split literal buffer): output the frame does not cover must read as zeros, as in btrfs.
      out.fill(0, r);
      return true;
    };
    // Checked once on a frame made by the zstd tool ("btrfs-inspect", no checksum), placed at an
    // offset in its buffer as extent data often is, before it is trusted with any extent.
    const frame = Buffer.from('0028b52ffd005869000062747266732d696e7370656374000000', 'hex').subarray(1);
    const out = new Uint8Array(16);
    if (!decode(frame, out) || Buffer.from(out.subarray(0, 13)).toString() !== 'btrfs-inspect' || out[13] !== 0) return null;
    return decode;
  } catch {
    return null;
  }
}
