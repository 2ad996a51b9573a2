import { COMPRESSION_NAMES, Compression } from '../constants.js';
import { type CompressionName, DecompressionError, MAX_COMPRESSED, MAX_UNCOMPRESSED } from './common.js';
import { type FastDecoder, fastDecoders } from './fast.js';
import { decompressLzo, lzo1xDecompress, lzo1xWorstCompress } from './lzo.js';
import { decompressZlib } from './zlib.js';
import { decompressZstd, ZSTD_MAX_WINDOW } from './zstd.js';

export {
  type CompressionName,
  DecompressionError,
  decompressLzo,
  decompressZlib,
  decompressZstd,
  type FastDecoder,
  lzo1xDecompress,
  lzo1xWorstCompress,
  MAX_COMPRESSED,
  MAX_UNCOMPRESSED,
  ZSTD_MAX_WINDOW,
};

/**
 * Hands in faster decoders for zlib and zstd extents (the Node entry: Node's
 * zlib and the system's libzstd). Each runs after the portable checks of
 * sizes and headers; when it does not decode the input whole and cleanly it
 * returns null and the portable decoder decides, so a result never depends
 * on which one ran. `null` takes one back out.
 */
export function useFastDecoders(d: { zlib?: FastDecoder | null; zstd?: FastDecoder | null }): void {
  if (d.zlib !== undefined) fastDecoders.zlib = d.zlib;
  if (d.zstd !== undefined) fastDecoders.zstd = d.zstd;
}

/** The name of a btrfs_file_extent_item.compression value, or null for an unknown one. */
export function compressionName(compression: number): CompressionName | null {
  return COMPRESSION_NAMES[compression] ?? null;
}

/**
 * Decompresses the data of one file extent: a regular extent's whole on-disk
 * range (disk_bytenr, disk_num_bytes) or an inline item's data, into exactly
 * outputSize bytes (the extent's ram_bytes). The file's bytes are then
 * result[offset, offset + num_bytes) for a regular extent.
 *
 * Output the compressed stream does not cover reads as zeros; bytes after
 * the end of the stream in the input (sector padding) are ignored. For
 * compressed data outputSize and the input are limited to 128 KiB
 * (BTRFS_MAX_UNCOMPRESSED / BTRFS_MAX_COMPRESSED). For compression 0 (none)
 * the input is returned copied, truncated or zero-extended to outputSize.
 * sectorsize is the filesystem's sector size; only LZO's framing uses it.
 *
 * Throws DecompressionError for an unknown compression type or data that is
 * truncated or corrupt.
 */
export function decompressExtent(compression: number, input: Uint8Array, outputSize: number, sectorsize: number): Uint8Array {
  switch (compression) {
    case Compression.NONE: {
      if (!Number.isSafeInteger(outputSize) || outputSize < 0) {
        throw new DecompressionError('none', `invalid output size ${outputSize}`);
      }
      const out = new Uint8Array(outputSize);
      out.set(input.length > outputSize ? input.subarray(0, outputSize) : input);
      return out;
    }
    case Compression.ZLIB:
      return decompressZlib(input, outputSize);
    case Compression.LZO:
      return decompressLzo(input, outputSize, sectorsize);
    case Compression.ZSTD:
      return decompressZstd(input, outputSize);
    default:
      throw new DecompressionError('unknown', `unknown compression type ${compression}`);
  }
}
