import * as af from './asyncFs.js';
import { ALIGN, PIECE } from './buffers.js';
import { Slots } from './tasks.js';

/** The WebAssembly global of Node (not in this project's TypeScript libs). */
const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;

/** Page-aligned buffers for data that does not lie aligned where it was made (decompressed, inline, read by readFile itself). */
const SCRATCH = 8;

const roundUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Writes file data to descriptors opened with O_DIRECT: the data goes from
 * this process's memory to the device, with no copy into the page cache
 * and no dirty pages for the kernel to write back later. On a 2-core
 * machine that copy was the largest cost of extracting (a buffered write of
 * 16 GB spends more system time than the whole rest of the run).
 *
 * O_DIRECT wants the memory address, the file offset and the length aligned
 * to the file system's block (ALIGN covers 512 and 4096). Data read ahead
 * into the direct-read slots (WebAssembly memory, mapped page-aligned) is
 * written from where it lies; other data is first copied into an aligned
 * scratch buffer. A length that is not a whole number of blocks is padded:
 * with zeros, except at the end of the file, where the padding is whatever
 * follows in the buffer (mostly the rest of the sector read) and the caller
 * truncates the file to its size (the file system zeroes a block's part past
 * the end on truncation). Zero padding is right in the middle of a
 * file too: the range past the data is a hole or the next segment, which is
 * written after it.
 */
export class DirectWriter {
  private readonly memory = new Wasm.Memory({ initial: (SCRATCH * PIECE) / 65536 });
  private readonly scratch = new Slots(SCRATCH);
  private readonly free: number[] = [];

  /** `aligned`: buffers whose start is page-aligned (the direct-read slots' memory). */
  constructor(private readonly aligned: readonly ArrayBufferLike[]) {
    for (let i = 0; i < SCRATCH; i++) this.free.push(i);
  }

  /**
   * Writes `bytes` at file offset `pos` (a multiple of ALIGN) to an O_DIRECT
   * descriptor; `atEnd`: they end the file. Returns the offset where the
   * written range ends (past the data when padded).
   */
  async write(fd: number, bytes: Uint8Array, pos: number, atEnd: boolean): Promise<number> {
    const len = bytes.length;
    const padded = roundUp(len);
    const inPlace = this.aligned.includes(bytes.buffer) && bytes.byteOffset % ALIGN === 0 &&
      (padded === len || atEnd) && bytes.byteOffset + padded <= bytes.buffer.byteLength;
    if (inPlace) {
      await writeAll(fd, new Uint8Array(bytes.buffer, bytes.byteOffset, padded), pos);
      return pos + padded;
    }
    for (let o = 0; o < len; o += PIECE) {
      const part = bytes.subarray(o, Math.min(len, o + PIECE));
      await this.scratch.acquire();
      const slot = this.free.pop()!;
      try {
        const n = roundUp(part.length);
        const b = new Uint8Array(this.memory.buffer, slot * PIECE, n);
        b.set(part);
        b.fill(0, part.length);
        await writeAll(fd, b, pos + o);
      } finally {
        this.free.push(slot);
        this.scratch.release();
      }
    }
    return pos + padded;
  }
}

async function writeAll(fd: number, b: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < b.length) done += await af.write(fd, b, done, b.length - done, pos + done);
}
