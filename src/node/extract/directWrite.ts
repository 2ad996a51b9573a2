import { constants } from 'node:fs';
import * as af from './asyncFs.js';
import { ALIGN, PIECE } from './buffers.js';
import { Slots } from './tasks.js';

/** The WebAssembly global of Node (not in this project's TypeScript libs). */
const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;

/** Page-aligned buffers for data that does not lie aligned where it was made (decompressed, inline, read by readFile itself). */
const SCRATCH = 8;

const { O_DIRECT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;

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
  /** The output's file system refused O_DIRECT (at open or at a write): files from now on are written through the cache. */
  refused = false;

  /** `aligned`: buffers whose start is page-aligned (the direct-read slots' memory). */
  constructor(private readonly aligned: readonly ArrayBufferLike[]) {
    for (let i = 0; i < SCRATCH; i++) this.free.push(i);
  }

  /**
   * Creates a file to write (`flags` as for open(2)), with O_DIRECT unless
   * the output refused it before. When it refuses now (EINVAL, at which
   * point Linux has already created the file), the file is opened again
   * without O_DIRECT, and no later file asks.
   */
  async create(host: Buffer, flags: number, mode: number): Promise<OutFile> {
    if (!this.refused) {
      try {
        return new OutFile(this, host, await af.open(host, flags | O_DIRECT, mode), true);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.refused = true;
      }
      flags &= ~O_EXCL;
    }
    return new OutFile(this, host, await af.open(host, flags, mode), false);
  }

  /**
   * Writes `bytes` at file offset `pos` (a multiple of ALIGN) to an O_DIRECT
   * descriptor; `atEnd`: they end the file. Returns the offset where the
   * written range ends (past the data when padded).
   */
  async write(fd: number, bytes: Uint8Array, pos: number, atEnd: boolean): Promise<number> {
    const len = bytes.length;
    const padded = roundUp(len);
    const inPlace = this.aligned.includes(bytes.buffer) && bytes.byteOffset % ALIGN === 0 && (padded === len || atEnd) && bytes.byteOffset + padded <= bytes.buffer.byteLength;
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

/**
 * A file being written: through its O_DIRECT descriptor where the data's
 * offset allows (always, but for a damaged extent key) and the output
 * takes it, else through a buffered descriptor of the same file, opened
 * when first needed (Linux keeps the two coherent: a direct write flushes
 * and drops the cached pages of its range).
 */
export class OutFile {
  /** Where the written ranges end (padded to a block by direct writes): the caller truncates the file when that is not its size. */
  end = 0;
  private plainFd: number;
  /** Writes still go through `fd` with O_DIRECT (false once the output refuses one). */
  private direct: boolean;

  /** `fd` was opened with O_DIRECT when `direct`, else it is buffered itself. */
  constructor(
    private readonly writer: DirectWriter | null,
    private readonly host: Buffer,
    readonly fd: number,
    direct: boolean,
  ) {
    this.direct = direct;
    this.plainFd = direct ? -1 : fd;
  }

  /** Writes `bytes` at file offset `pos`; `atEnd`: they end the file. */
  async write(bytes: Uint8Array, pos: number, atEnd: boolean): Promise<void> {
    if (this.direct && this.writer && pos % ALIGN === 0) {
      try {
        this.end = Math.max(this.end, await this.writer.write(this.fd, bytes, pos, atEnd));
        return;
      } catch (e) {
        // The file system took O_DIRECT at open but not this write (an alignment it wants larger).
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.writer.refused = true;
        this.direct = false;
      }
    }
    if (this.plainFd < 0) this.plainFd = await af.open(this.host, O_WRONLY | O_NOFOLLOW, 0);
    await writeAll(this.plainFd, bytes, pos);
    this.end = Math.max(this.end, pos + bytes.length);
  }

  /** Closes the file's descriptors. */
  async close(): Promise<void> {
    try {
      if (this.plainFd >= 0 && this.plainFd !== this.fd) await af.close(this.plainFd);
    } finally {
      await af.close(this.fd);
    }
  }
}

/** A file opened without O_DIRECT (`fd`), written through the cache. */
export function plainFile(host: Buffer, fd: number): OutFile {
  return new OutFile(null, host, fd, false);
}

async function writeAll(fd: number, b: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < b.length) done += await af.write(fd, b, done, b.length - done, pos + done);
}
