/**
 * A readable sequence of bytes: an image file, a block device, a partition
 * of either, or memory. Reads are synchronous so that tree walks stay simple
 * and fast; in a browser, use an in-memory source or a Worker with
 * FileReaderSync behind this interface.
 */
export interface ByteSource {
  /** What to call this source in messages (a path, "memory", "sda2"). */
  readonly name: string;
  /** Size in bytes; exact beyond 2^53. */
  readonly size: bigint;
  /**
   * Reads `length` bytes at `offset`. Returns fewer bytes only when the
   * source ends first (possibly none); never throws for a range past the end.
   */
  read(offset: bigint, length: number): Uint8Array;
  /**
   * Optional: reads into `into` (all of it) and returns how many bytes were
   * read, fewer only at the end of the source. Lets a caller that streams
   * through a lot of data reuse one buffer instead of allocating per read.
   */
  readInto?(offset: bigint, into: Uint8Array): number;
  /** Releases the underlying handle, if any. */
  close?(): void;
}

/** An error reading the medium itself (not damage in the data). */
export class SourceError extends Error {
  constructor(readonly source: string, readonly offset: bigint, message: string) {
    super(`${source}: ${message} at offset ${offset}`);
    this.name = 'SourceError';
  }
}

/** Reads exactly `length` bytes or returns null when the source is too short. */
export function readExact(src: ByteSource, offset: bigint, length: number): Uint8Array | null {
  const b = src.read(offset, length);
  return b.length === length ? b : null;
}
