import type { ByteSource } from '../../src/io/ByteSource.js';

/** Reads [offset, offset + length) of the medium; fewer bytes only at its end. */
export type RangeReader = (offset: number, length: number) => Uint8Array;

/** Reads several ranges of the medium in one go (one round trip): their bytes, in order. */
export type BatchReader = (ranges: readonly { offset: number; length: number }[]) => Uint8Array[];

/** Most chunks one batch asks for: well under the cache, so a batch never evicts its own chunks. */
const MAX_BATCH = 64;

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
    readBatch?: BatchReader,
  ) {
    this.end = Number(size);
    // Defined only with a batch reader, so the volume can tell a source that batches (Volume.warms).
    if (readBatch) this.warm = (ranges) => this.fetchBatches(readBatch, ranges);
  }

  readonly warm?: (ranges: readonly { offset: bigint; length: number }[]) => void;

  /**
   * ByteSource.warm: the chunks the ranges touch that are not cached yet, fetched in batches of
   * MAX_BATCH (one round trip each) into the cache. A failed batch is dropped: the reads that
   * follow fetch those chunks one by one and report what fails.
   */
  private fetchBatches(readBatch: BatchReader, ranges: readonly { offset: bigint; length: number }[]): void {
    const bases = new Set<number>();
    for (const r of ranges) {
      if (r.offset < 0n || r.offset >= this.size || r.length <= 0) continue;
      const start = Number(r.offset);
      const stop = Math.min(this.end, start + r.length);
      for (let base = start - (start % CHUNK); base < stop; base += CHUNK) if (!this.cache.has(base)) bases.add(base);
    }
    const list = [...bases].sort((a, b) => a - b);
    for (let i = 0; i < list.length; i += MAX_BATCH) {
      const part = list.slice(i, i + MAX_BATCH).map((offset) => ({ offset, length: Math.min(CHUNK, this.end - offset) }));
      let got: Uint8Array[];
      try {
        got = readBatch(part);
      } catch {
        return;
      }
      part.forEach((p, j) => {
        const bytes = got[j];
        if (bytes && bytes.length === p.length) this.put(p.offset, bytes);
      });
    }
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
    this.put(base, bytes);
    return bytes;
  }

  private put(base: number, bytes: Uint8Array): void {
    this.cache.set(base, bytes);
    if (this.cache.size > MAX_CHUNKS) this.cache.delete(this.cache.keys().next().value!);
  }
}
