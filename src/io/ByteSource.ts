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
  /**
   * Optional: starts reading `ranges` in the background (file data a caller
   * will want soon), each into its own buffer, and reports each through its
   * `done`. A source over another source (a partition, an offset, a patched
   * copy) forwards the ranges to it, shifted to its offsets; a source that
   * reads a medium implements it; one that holds its bytes in memory leaves
   * it out (the caller then reads as usual). Never throws for a range past
   * the end: it ends with the bytes there are (possibly none).
   */
  prefetch?(ranges: readonly PrefetchRange[]): void;
  /**
   * Optional, synchronous: fetches `ranges` together into the source's own
   * cache, so that the reads of them that follow are answered from it. For a
   * medium where every read is a round trip (the web app's HTTP ranges from
   * `serve`), many ranges then cost one request instead of one each. A hint
   * only: reads stay correct without it, and it never throws for a range the
   * medium cannot give (the read that follows reports it).
   */
  warm?(ranges: readonly { offset: bigint; length: number }[]): void;
  /**
   * Optional, asynchronous: decodes the compressed blocks the ranges need (a
   * qcow2's clusters, an E01's chunks), several at once and off this thread,
   * into the source's own bounded cache, so that the synchronous reads of
   * them that follow are answered from it. Present on a container source
   * given asynchronous codecs (Node), and forwarded by a source over
   * another. A hint only: it resolves, never rejects; damage is reported,
   * located, by the read that follows.
   */
  decodeAhead?(ranges: readonly { offset: bigint; length: number }[]): Promise<void>;
  /** Releases the underlying handle, if any. */
  close?(): void;
}

/** One range to read ahead (ByteSource.prefetch). */
export interface PrefetchRange {
  /** Where the range starts, in the offsets of the source it is handed to. */
  offset: bigint;
  /** Where its bytes go: the range is `into.length` bytes long. */
  into: Uint8Array;
  /**
   * `into` lies in page-aligned memory the caller set aside for it: a source
   * reading a medium may read past its cache (O_DIRECT) when the offset and
   * length are block-aligned too.
   */
  direct?: boolean;
  /**
   * Called once, never before prefetch returns: the bytes read into `into`
   * (fewer than asked only at the end of the source) or the error, and
   * whether the read went past the cache.
   */
  done(err: Error | null, bytesRead: number, direct: boolean): void;
}

/**
 * A range as a source forwards it to the source below: cut at `size` (the
 * forwarding source's end) and moved `shift` bytes further. Null when
 * nothing of it is left: its `done` is then called (with 0 bytes) here.
 */
export function forwardRange(r: PrefetchRange, size: bigint, shift: bigint): PrefetchRange | null {
  const left = r.offset < 0n || r.offset >= size ? 0 : size - r.offset < BigInt(r.into.length) ? Number(size - r.offset) : r.into.length;
  if (left === 0) {
    void Promise.resolve().then(() => r.done(null, 0, false));
    return null;
  }
  const into = left < r.into.length ? r.into.subarray(0, left) : r.into;
  return { offset: r.offset + shift, into, ...(r.direct ? { direct: true } : {}), done: r.done };
}

/** An error reading the medium itself (not damage in the data). */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    readonly offset: bigint,
    message: string,
  ) {
    super(`${source}: ${message} at offset ${offset}`);
    this.name = 'SourceError';
  }
}

/** Reads exactly `length` bytes or returns null when the source is too short. */
export function readExact(src: ByteSource, offset: bigint, length: number): Uint8Array | null {
  const b = src.read(offset, length);
  return b.length === length ? b : null;
}
