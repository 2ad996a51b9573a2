import * as nodeFs from 'node:fs';
import { fileExtents } from '../../fs/fileData.js';
import type { FsView } from '../../fs/FsView.js';
import type { Inode } from '../../fs/types.js';
import { FileSource } from '../../io/node/FileSource.js';
import type { TreeRoot } from '../../tree/walk.js';

/** Largest single read ahead (readFile reads plain extents in pieces of this size too). */
const PIECE = 1 << 20;
/** Reads in flight at once. */
const IN_FLIGHT = 16;
/** Bytes read ahead and not yet used (or dropped): the memory this costs. */
const HELD_MAX = 24 << 20;
/** Ranges planned and not yet read, over all files; past this, files are read when written. */
const PLANNED_MAX = 1 << 16;
/** Bytes of idle buffers kept for reuse. */
const POOL_MAX = 32 << 20;
/** Files this small are mostly inline (max_inline defaults to 2048): their data is in the leaf. */
const INLINE_MAX = 2048n;
/** How far past the next range a request may be found (readFile skips a range only rarely). */
const SCAN = 8;
/** Leaves of the trees the walk reads, warmed in the page cache ahead of it: at most this many bytes. */
const WARM_MAX = 512 << 20;
/** Leaf reads in flight while warming (beside the data reads). */
const WARM_IN_FLIGHT = 8;

/** One range of the first copy of a file's data, read (or to be read) ahead. */
interface Range {
  logical: bigint;
  len: number;
  fd: number;
  pos: number;
  /** 0 planned, 1 reading, 2 read (bytes set), 3 failed or let go. */
  state: 0 | 1 | 2 | 3;
  bytes: Uint8Array | null;
  /** The pooled buffer the bytes are read into (it goes back to the pool once nothing uses it). */
  buf: Buffer | null;
  /** Resolves when the read ends (set once it starts). */
  done: Promise<void> | null;
}

/**
 * Buffers for ranges, in power-of-two sizes from 4 KiB to PIECE, reused:
 * gigabytes of file data pass through a few dozen megabytes of buffers
 * instead of as many fresh allocations, which V8 would have to collect.
 */
class BufferPool {
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
    if (b) { this.pooled -= size; return b; }
    return Buffer.allocUnsafeSlow(size);
  }

  put(b: Buffer): void {
    if (this.pooled + b.length > POOL_MAX) return;
    let list = this.free.get(b.length);
    if (!list) this.free.set(b.length, list = []);
    list.push(b);
    this.pooled += b.length;
  }
}

/**
 * A file's data read ahead, in the order readFile asks for it: `supply`
 * answers readFile's reads of the first copy from these bytes (readFile
 * verifies them as any read), `ready` waits for the next range.
 */
export class FileReadAhead {
  /** Index of the first range not yet used. */
  next = 0;
  /** Ranges before this one have gone back to the pool. */
  private recycled = 0;

  constructor(private readonly owner: Prefetcher, readonly ranges: Range[]) {}

  /** Resolves once the next range has been read (starting its read if it has not started). */
  ready(): Promise<void> | undefined {
    const r = this.ranges[this.next];
    if (!r || r.state >= 2) return undefined;
    if (r.state === 0) this.owner.start(r);
    return r.done!;
  }

  /** readFile's ReadOptions.supply: the bytes of [logical, +length) when a read range holds them. */
  readonly supply = (logical: bigint, length: number): Uint8Array | null => {
    const end = Math.min(this.ranges.length, this.next + SCAN);
    for (let i = this.next; i < end; i++) {
      const r = this.ranges[i]!;
      const off = logical - r.logical;
      if (off < 0n || off + BigInt(length) > BigInt(r.len)) continue;
      if (r.state !== 2) return null;
      const o = Number(off);
      const bytes = r.bytes!.subarray(o, o + length);
      this.owner.suppliedBytes += length;
      // Ranges before this one were not wanted; this one is used up once read to its end.
      for (let j = this.next; j < i; j++) this.owner.letGo(this.ranges[j]!);
      // readFile asks in file order and its caller is done with a segment before asking for the
      // next, so what was handed out from earlier ranges is no longer in use.
      for (; this.recycled < i; this.recycled++) this.owner.recycle(this.ranges[this.recycled]!);
      this.next = i;
      if (o + length === r.len) { this.owner.letGo(r); this.next = i + 1; }
      return bytes;
    }
    return null;
  };

  /** Lets go of every range once the file is written: nothing handed out is in use any more. */
  close(): void {
    for (let j = this.next; j < this.ranges.length; j++) this.owner.letGo(this.ranges[j]!);
    this.next = this.ranges.length;
    for (; this.recycled < this.ranges.length; this.recycled++) this.owner.recycle(this.ranges[this.recycled]!);
  }
}

/**
 * Reads file data ahead of extraction, on libuv's thread pool, into buffers
 * that readFile then takes instead of reading (ReadOptions.supply): the image
 * is read several requests deep while this thread walks, verifies and
 * writes, and each byte is read once. At most HELD_MAX bytes are held; the
 * ranges are read in walk order. Only the first copy of plain image files and
 * block devices is read ahead, one stripe unit at most per range; anything
 * else, and any read that fails, is left to readFile.
 */
export class Prefetcher {
  private readonly files = new Map<string, FileReadAhead>();
  /** Ranges in walk order, not yet started. */
  private readonly queue: Range[] = [];
  private head = 0;
  private running = 0;
  private held = 0;
  private stopped = false;
  private readonly pool = new BufferPool();
  /** Bytes readFile took from here instead of reading them itself. */
  suppliedBytes = 0;
  /** Leaves to warm: [fd, physical, length] in key order, and the next one. */
  private readonly leaves: number[] = [];
  private leafNext = 0;
  private warming = 0;
  private scratch: Buffer | null = null;

  constructor(private readonly view: FsView) {}

  /**
   * Warms the page cache with the leaves of `trees`, in key order (the
   * order a walk and csum lookups mostly go), several reads deep, so that
   * this thread's synchronous tree reads do not wait on the disk one block
   * at a time. Only the internal nodes are read here (verified, through the
   * block cache); the leaves are read into a scratch buffer and dropped.
   */
  warmTrees(trees: TreeRoot[]): void {
    const fs = this.view.fs;
    const nodesize = fs.superblock.nodesize;
    let budget = Math.floor(WARM_MAX / nodesize);
    for (const t of trees) {
      // Breadth-first over the internal nodes; level-1 nodes give the leaves in key order.
      let level: bigint[] = [t.bytenr];
      for (let depth = t.level; depth >= 1 && level.length && budget > 0; depth--) {
        const below: bigint[] = [];
        for (const logical of level) {
          const b = fs.reader.read({ logical, level: depth }, { tree: t.tree }).block;
          if (!b) continue;
          for (let i = 0; i < b.nritems && budget > 0; i++) {
            const child = b.blockPtr(i);
            if (depth > 1) { below.push(child); continue; }
            const c = fs.volume.chunks.map(child)?.copies[0];
            const src = c ? fs.volume.devices.get(c.devid)?.source : undefined;
            const fd = src instanceof FileSource ? src.descriptor : null;
            if (!c || fd === null) continue;
            this.leaves.push(fd, Number(c.physical), nodesize);
            budget--;
          }
        }
        level = below;
      }
    }
    this.scratch ??= Buffer.allocUnsafe(nodesize);
    this.pumpLeaves();
  }

  private pumpLeaves(): void {
    while (!this.stopped && this.warming < WARM_IN_FLIGHT && this.leafNext < this.leaves.length) {
      const fd = this.leaves[this.leafNext]!, pos = this.leaves[this.leafNext + 1]!, len = this.leaves[this.leafNext + 2]!;
      this.leafNext += 3;
      this.warming++;
      nodeFs.read(fd, this.scratch!, 0, len, pos, () => {
        this.warming--;
        this.pumpLeaves();
      });
    }
  }

  /** Plans the reads of a file's regular extents (once per inode). */
  file(inode: Inode): void {
    if (inode.kind !== 'file' || inode.size <= INLINE_MAX || this.view.isMetadump || this.stopped) return;
    const key = `${inode.subvol}:${inode.ino}`;
    if (this.files.has(key) || this.queue.length - this.head >= PLANNED_MAX) return;
    const vol = this.view.fs.volume;
    const ranges: Range[] = [];
    for (const e of fileExtents(this.view, inode)) {
      if (e.kind !== 'regular' || e.encryption !== 0 || e.otherEncoding !== 0) continue;
      if (e.fileOffset >= inode.size) break;
      // Compressed: the whole stored extent, as readFile reads it; plain: the referenced part,
      // in readFile's pieces (from the range's start, PIECE bytes each).
      let logical = e.compression ? e.diskBytenr : e.diskBytenr + e.offset;
      let left = Number(e.compression ? e.diskNumBytes : e.length);
      if (e.compression && left > 128 * 1024) continue;
      while (left > 0 && ranges.length < PLANNED_MAX) {
        const m = vol.chunks.map(logical);
        const c = m?.copies[0];
        if (!m || !c) break;
        const src = vol.devices.get(c.devid)?.source;
        const fd = src instanceof FileSource ? src.descriptor : null;
        if (fd === null) break;
        const len = Math.min(left, PIECE);
        // A piece across a stripe unit's end is left to readFile (it reads both parts).
        if (m.contiguous >= BigInt(len)) ranges.push({ logical, len, fd, pos: Number(c.physical), state: 0, bytes: null, buf: null, done: null });
        logical += BigInt(len);
        left -= len;
      }
    }
    if (ranges.length === 0) return;
    this.files.set(key, new FileReadAhead(this, ranges));
    for (const r of ranges) this.queue.push(r);
    this.pump();
  }

  /** The read-ahead of a file, once, when its data is about to be written (null: none). */
  take(inode: Inode): FileReadAhead | null {
    const key = `${inode.subvol}:${inode.ino}`;
    const f = this.files.get(key);
    if (f) this.files.delete(key);
    return f ?? null;
  }

  /** Drops a file's read-ahead that was not taken (its buffers were never handed out). */
  drop(inode: Inode): void {
    this.take(inode)?.close();
  }

  /** A range's buffer back to the pool, unless its read is still running (then the collector has it). */
  recycle(r: Range): void {
    if (r.buf && r.state !== 1) this.pool.put(r.buf);
    r.buf = null;
    r.bytes = null;
  }

  /** Drops everything queued and resolves once no read is in flight (before the image is closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.files.values()) f.close();
    this.files.clear();
    this.queue.length = 0;
    this.head = 0;
    this.leaves.length = 0;
    this.leafNext = 0;
    while (this.running > 0 || this.warming > 0) await new Promise<void>((r) => setTimeout(r, 5));
  }

  /** Starts one range's read (in queue order through pump, or out of turn when its file is waiting). */
  start(r: Range): void {
    if (r.state !== 0) return;
    r.state = 1;
    this.running++;
    this.held += r.len;
    const buf = this.pool.get(r.len);
    r.buf = buf;
    r.done = new Promise<void>((resolve) => {
      nodeFs.read(r.fd, buf, 0, r.len, r.pos, (err, n) => {
        this.running--;
        if (r.state === 1) {
          if (!err && n === r.len) { r.state = 2; r.bytes = buf.subarray(0, r.len); } else { r.state = 3; this.held -= r.len; }
        }
        resolve();
        this.pump();
      });
    });
  }

  /** A range is used up or not wanted: its bytes go (to the write that holds them, if any). */
  letGo(r: Range): void {
    if (r.state === 1 || r.state === 2) this.held -= r.len;
    // A read still running keeps its buffer (recycle leaves it to the collector).
    if (r.state === 1) r.buf = null;
    r.state = 3;
  }

  private pump(): void {
    while (this.running < IN_FLIGHT && this.head < this.queue.length) {
      const r = this.queue[this.head]!;
      if (r.state !== 0) { this.head++; continue; }
      if (this.held + r.len > HELD_MAX && this.held > 0) break;
      this.head++;
      this.start(r);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) { this.queue.splice(0, this.head); this.head = 0; }
  }
}
