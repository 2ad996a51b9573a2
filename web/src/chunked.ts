import type { ByteSource } from '../../src/io/ByteSource.js';

/** Reads [offset, offset + length) of the medium; fewer bytes only at its end. */
export type RangeReader = (offset: number, length: number) => Uint8Array;

/** Reads several ranges of the medium in one go (one round trip): their bytes, in order. */
export type BatchReader = (ranges: readonly { offset: number; length: number }[]) => Uint8Array[];

/** Most chunks one /ranges batch asks for (8 MiB): well under the cache, so a batch never evicts its own chunks. */
const MAX_BATCH = 128;

/** Cache granularity: a tree block (nodesize, up to 64 KiB; device extents are aligned far coarser in practice) takes one request. */
const CHUNK = 64 * 1024;
/**
 * Chunks kept (64 MiB): the upper tree levels, walked again and again, stay cached, and a warm of
 * the forensics scan (a 16 MiB window of each copy of a DUP chunk) leaves room for them.
 */
const MAX_CHUNKS = 1024;
/** Reads this large (file data) go to the medium in one piece, past the cache. */
const DIRECT = 4 * CHUNK;
/**
 * Adjacent uncached chunks a warm asks for as one plain range (one read on the server, one round
 * trip) rather than in a /ranges batch: the forensics scan warms whole windows of a metadata
 * chunk. Shorter runs (the leaves a tree walk will read, scattered) go in batches.
 */
const RUN_MIN = 16;
/** The longest run asked for at once (the server's cap on one response, 16 MiB). */
const RUN_MAX = 256;

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
   * ByteSource.warm: the chunks the ranges touch that are not cached yet, fetched into the cache:
   * runs of at least RUN_MIN adjacent chunks as one range each (RUN_MAX chunks at most), the rest
   * in batches of MAX_BATCH (one round trip each). A failed request is dropped: the reads that
   * follow fetch those chunks one by one and report what fails.
   */
  private fetchBatches(readBatch: BatchReader, ranges: readonly { offset: bigint; length: number }[]): void {
    const bases = new Set<number>();
    for (const r of ranges) {
      if (r.offset < 0n || r.offset >= this.size || r.length <= 0) continue;
      const start = Number(r.offset);
      const stop = Math.min(this.end, start + r.length);
      for (let base = start - (start % CHUNK); base < stop; base += CHUNK) {
        const hit = this.cache.get(base);
        if (!hit) bases.add(base);
        else {
          // Cached already: made the most recent, so that what this warm fetches does not push out a chunk about to be read.
          this.cache.delete(base);
          this.cache.set(base, hit);
        }
      }
    }
    const list = [...bases].sort((a, b) => a - b);
    const scattered: number[] = [];
    for (let i = 0; i < list.length; ) {
      let j = i + 1;
      while (j < list.length && j - i < RUN_MAX && list[j] === list[j - 1]! + CHUNK) j++;
      if (j - i >= RUN_MIN) this.fetchRun(list[i]!, Math.min(this.end, list[j - 1]! + CHUNK));
      else scattered.push(...list.slice(i, j));
      i = j;
    }
    for (let i = 0; i < scattered.length; i += MAX_BATCH) {
      const part = scattered.slice(i, i + MAX_BATCH).map((offset) => ({ offset, length: Math.min(CHUNK, this.end - offset) }));
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

  /** [from, to) (chunk-aligned from) in one range read, cut into chunks for the cache. */
  private fetchRun(from: number, to: number): void {
    let bytes: Uint8Array;
    try {
      bytes = this.readRange(from, to - from);
    } catch {
      return;
    }
    // A copy each: a chunk kept in the cache must not keep the whole run's buffer alive.
    for (let at = 0; at < bytes.length; at += CHUNK) {
      const n = Math.min(CHUNK, this.end - (from + at));
      if (at + n <= bytes.length) this.put(from + at, bytes.slice(at, at + n));
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
