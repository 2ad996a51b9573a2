import type { ByteSource } from '../../src/io/ByteSource.js';

/** Reads [offset, offset + length) of the medium; fewer bytes only at its end. */
export type RangeReader = (offset: number, length: number) => Uint8Array;

/** Cache granularity: a tree block (nodesize, up to 64 KiB; device extents are aligned far coarser in practice) takes one request. */
const CHUNK = 64 * 1024;
/** Chunks kept (16 MiB): the upper tree levels, walked again and again, stay cached. */
const MAX_CHUNKS = 256;
/** Reads this large (file data) go to the medium in one piece, past the cache. */
const DIRECT = 4 * CHUNK;

/** A medium read in aligned chunks, the most recently used ones kept. */
export class ChunkedSource implements ByteSource {
  private readonly cache = new Map<number, Uint8Array>();
  private readonly end: number;

  constructor(
    readonly name: string,
    readonly size: bigint,
    private readonly readRange: RangeReader,
  ) {
    this.end = Number(size);
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const start = Number(offset);
    const stop = Math.min(this.end, start + length);
    if (stop - start >= DIRECT) return this.readRange(start, stop - start);
    const out = new Uint8Array(stop - start);
    for (let pos = start; pos < stop; ) {
      const base = pos - (pos % CHUNK);
      const chunk = this.chunk(base);
      const from = pos - base;
      const n = Math.min(chunk.length - from, stop - pos);
      if (n <= 0) return out.subarray(0, pos - start);
      out.set(chunk.subarray(from, from + n), pos - start);
      pos += n;
    }
    return out;
  }

  private chunk(base: number): Uint8Array {
    const hit = this.cache.get(base);
    if (hit) {
      this.cache.delete(base);
      this.cache.set(base, hit);
      return hit;
    }
    const bytes = this.readRange(base, Math.min(CHUNK, this.end - base));
    this.cache.set(base, bytes);
    if (this.cache.size > MAX_CHUNKS) this.cache.delete(this.cache.keys().next().value!);
    return bytes;
  }
}
