/**
 * Shared limits and the error type of the btrfs decompressors.
 *
 * Every decompressor here is written for hostile input: the output never
 * exceeds the size the caller asked for, every failure is a
 * DecompressionError naming the algorithm and the problem, and no input makes
 * one loop forever or read or write outside its buffers.
 */

/** BTRFS_MAX_COMPRESSED: the most bytes a compressed extent occupies on disk. */
export const MAX_COMPRESSED = 128 * 1024;
/** BTRFS_MAX_UNCOMPRESSED: the largest ram_bytes of a compressed extent. */
export const MAX_UNCOMPRESSED = 128 * 1024;

export type CompressionName = 'none' | 'zlib' | 'lzo' | 'zstd';

/** A compressed extent (or inline item) that cannot be decompressed. */
export class DecompressionError extends Error {
  constructor(
    /** The algorithm whose data was bad ('zlib', 'lzo', 'zstd', or 'unknown'). */
    readonly algorithm: string,
    /** What was wrong, without the algorithm prefix. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${algorithm} decompression failed: ${reason}`, options);
    this.name = 'DecompressionError';
  }
}

/**
 * Validates the size arguments shared by all decompressors: the output size
 * must be a whole number of bytes no larger than BTRFS_MAX_UNCOMPRESSED and
 * the input no larger than BTRFS_MAX_COMPRESSED.
 */
export function checkSizes(algorithm: string, input: Uint8Array, outputSize: number): void {
  if (!Number.isSafeInteger(outputSize) || outputSize < 0) {
    throw new DecompressionError(algorithm, `invalid output size ${outputSize}`);
  }
  if (outputSize > MAX_UNCOMPRESSED) {
    throw new DecompressionError(algorithm, `output size ${outputSize} exceeds the ${MAX_UNCOMPRESSED}-byte limit for compressed extents (ram_bytes is corrupt)`);
  }
  if (input.length > MAX_COMPRESSED) {
    throw new DecompressionError(algorithm, `compressed input of ${input.length} bytes exceeds the ${MAX_COMPRESSED}-byte limit for compressed extents (disk_num_bytes is corrupt)`);
  }
}

/** A short description of an error thrown from inside a library. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
