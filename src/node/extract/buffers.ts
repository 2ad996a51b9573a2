/**
 * The buffers extract's read-ahead reads into, reused: file data passes
 * through a few dozen megabytes of them instead of as many allocations.
 */

/**
 * Files up to this size are written with synchronous calls on the extracting thread, their
 * data read there from the page cache, which the read-ahead warms for them (Prefetcher.file):
 * for a file of a few KiB, a round trip through the thread pool and a promise per call cost
 * more CPU than the calls themselves.
 */
export const SMALL_FILE = 64 * 1024;
/** Largest single read ahead (readFile reads plain extents in pieces of this size too). */
export const PIECE = 1 << 20;
/** The WebAssembly global of Node (not in this project's TypeScript libs). */
const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;

/**
 * Direct-read slots: this many of 1 MiB and of 64 KiB (24 + 12 MiB): enough for the reads
 * held ahead (HELD_MAX) and those whose data is still being written.
 */
const BIG_SLOTS = 24;
const SMALL_SLOTS = 192;
const SMALL = 64 << 10;
/** O_DIRECT wants the address, offset and length aligned to the device's logical block; 4 KiB covers 512 and 4096. */
export const ALIGN = 4096;
/** Bytes of idle buffers kept for reuse. */
const POOL_MAX = 8 << 20;

/**
 * Buffers for ranges, in power-of-two sizes from 4 KiB to PIECE, reused:
 * gigabytes of file data pass through a few dozen megabytes of buffers
 * instead of as many fresh allocations, which V8 would have to collect.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooled = 0;

  static sizeFor(len: number): number {
    let size = 4096;
    while (size < len) size *= 2;
    return size;
  }

  get(len: number): Buffer {
    const size = BufferPool.sizeFor(len);
    const b = this.free.get(size)?.pop();
    if (b) {
      this.pooled -= size;
      return b;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  put(b: Buffer): void {
    if (this.pooled + b.length > POOL_MAX) return;
    let list = this.free.get(b.length);
    if (!list) this.free.set(b.length, (list = []));
    list.push(b);
    this.pooled += b.length;
  }
}

/**
 * Buffers for O_DIRECT reads: slices of one WebAssembly memory, whose pages
 * are mapped page-aligned (JavaScript cannot ask for an aligned ArrayBuffer
 * otherwise). Direct reads bring file data from the disk into these buffers
 * without passing through the page cache: no copy in the kernel, and the
 * gigabytes of data do not push the tree leaves the walk keeps reading out
 * of the cache.
 */
export class DirectSlots {
  private readonly memory = new Wasm.Memory({ initial: (BIG_SLOTS * PIECE + SMALL_SLOTS * SMALL) / 65536 });
  private readonly free: number[] = [];
  /** Big slots among the free ones. */
  private freeBig = BIG_SLOTS;

  /** The memory the slots lie in (its start is page-aligned). */
  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  constructor() {
    // Slots 0..BIG_SLOTS-1 are big; the rest small. Popped from the end: small ones go first.
    for (let i = 0; i < BIG_SLOTS + SMALL_SLOTS; i++) this.free.push(i);
  }

  private place(slot: number): [number, number] {
    return slot < BIG_SLOTS ? [slot * PIECE, PIECE] : [BIG_SLOTS * PIECE + (slot - BIG_SLOTS) * SMALL, SMALL];
  }

  /** True when a slot that holds `len` bytes is free. */
  fits(len: number): boolean {
    return len <= SMALL ? this.free.length > 0 : this.freeBig > 0;
  }

  /** A slot that holds `len` bytes, or null when none is free. */
  get(len: number): { slot: number; buf: Buffer } | null {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const slot = this.free[i]!;
      const [at, size] = this.place(slot);
      if (size < len) continue;
      this.free.splice(i, 1);
      if (slot < BIG_SLOTS) this.freeBig--;
      return { slot, buf: Buffer.from(this.memory.buffer, at, size) };
    }
    return null;
  }

  put(slot: number): void {
    if (slot < BIG_SLOTS) this.freeBig++;
    this.free.push(slot);
  }
}
