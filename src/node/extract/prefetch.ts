import * as nodeFs from 'node:fs';
import { ItemType } from '../../format/constants.js';
import { INODE_ITEM_SIZE, inodeMode, inodeSize } from '../../format/items/inode.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../../format/treeBlock.js';
import type { FsView } from '../../fs/FsView.js';
import { type FileExtent, fileExtents } from '../../fs/fileData.js';
import type { Inode } from '../../fs/types.js';
import type { TreeRoot } from '../../tree/walk.js';
import { ALIGN, BufferPool, DirectSlots, PIECE, SMALL_FILE } from './buffers.js';

/** Reads in flight at once. */
const IN_FLIGHT = 16;
/** Bytes read ahead and not yet used (or dropped): the memory this costs. */
const HELD_MAX = 16 << 20;
/** Ranges planned and not yet read, over all files; past this, files are read when written. */
const PLANNED_MAX = 1 << 16;
/** Files this small are mostly inline (max_inline defaults to 2048): their data is in the leaf. */
const INLINE_MAX = 2048n;
/** How far past the next range a request may be found (readFile skips a range only rarely). */
const SCAN = 8;
/** Leaves listed for warming, over all trees (16 GiB of 64 KiB nodes; the list costs some 60 bytes a leaf). */
const WARM_LIST_MAX = 1 << 18;
/**
 * Leaves of a tree warmed ahead of the last one the walk said it reached
 * (warmAt): far enough that its reads never wait, near enough that the
 * page cache still holds them when they are read.
 */
const WARM_AHEAD = 2048;
/** Leaf reads in flight while warming (beside the data reads). */
const WARM_IN_FLIGHT = 8;
/**
 * Small files' data is warmed in spans of up to this many bytes: the extents of files
 * planned one after the other, with gaps of at most SPAN_GAP between them (read too).
 */
const SPAN_MAX = 256 << 10;
const SPAN_GAP = 64n << 10n;
/** Span reads in flight (beside the data and leaf reads). */
const SPANS_IN_FLIGHT = 4;

/** One range of the first copy of a file's data, read (or to be read) ahead. */
interface Range {
  logical: bigint;
  len: number;
  /** Its place on the device is block-aligned (an O_DIRECT read into a slot may work). */
  aligned: boolean;
  /** 0 planned, 1 reading, 2 read (bytes set), 3 failed or let go. */
  state: 0 | 1 | 2 | 3;
  bytes: Uint8Array | null;
  /** The pooled buffer the bytes are read into (it goes back to the pool once nothing uses it). */
  buf: Buffer | null;
  /** Its direct-read slot, or -1 (a page-cache read into a pooled buffer). */
  slot: number;
  /** A read into its buffer or slot is running (neither may be reused until it ends). */
  reading: boolean;
  /** Resolves when the read ends (set once it starts). */
  done: Promise<void> | null;
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

  constructor(
    private readonly owner: Prefetcher,
    readonly ranges: Range[],
  ) {}

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
      if (o + length === r.len) {
        this.owner.letGo(r);
        this.next = i + 1;
      }
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
 * ranges are read in walk order. Reads go through the volume to the devices'
 * sources (Volume.prefetch, ByteSource.prefetch), so they work through
 * partitions and offsets too. Only the first copy is read ahead, one stripe
 * unit at most per range, and only from sources that read ahead (not those
 * in memory); anything else, and any read that fails, is left to readFile.
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
  /** Direct reads: the slots they read into (null: direct reads are off). */
  private direct: DirectSlots | null = null;
  /** The slots themselves, kept when direct reads are turned off (DirectWriter still writes from them). */
  private slots: DirectSlots | null = null;
  /** Bytes readFile took from here instead of reading them itself. */
  suppliedBytes = 0;
  /** Ranges read with O_DIRECT (the rest went through the page cache). */
  directReads = 0;
  /** Leaves to warm, in key order: their logical addresses and first objectids. */
  private readonly leafLogical: bigint[] = [];
  private readonly leafFirst: bigint[] = [];
  /** Per tree: its leaves' indexes [from, to), the next to warm, and the index warming may not reach yet. */
  private readonly regions: { tree: bigint; from: number; to: number; next: number; limit: number }[] = [];
  private warming = 0;
  /** One buffer per read in flight (the census reads what lands in it). */
  private readonly spare: Buffer[] = [];
  /**
   * What the leaves of one subvolume tree hold, counted as they are warmed: regular files and
   * the sum of their sizes, for a progress line's estimate (the leaves are not verified here;
   * `counted` of `leaves` have been, and `leavesLeft` reaches 0 once all are read or passed by).
   */
  census: { tree: bigint; files: number; bytes: number; leaves: number; counted: number; leavesLeft: number } | null = null;
  /** The span of small files' data being gathered (first copy, logical), and those to warm. */
  private span: { logical: bigint; end: bigint } | null = null;
  private readonly spans: { logical: bigint; len: number }[] = [];
  private spanHead = 0;
  private spanning = 0;
  /** What span reads land in, shared (their bytes are not used: the page cache keeps them). */
  private spanBuf: Buffer | null = null;
  /** Indexes [from, to) of the census tree's leaves in leafLogical. */
  private censusLeaves: [number, number] = [0, 0];

  /** Leaves warmed ahead of the walk's place in each tree (WARM_AHEAD; tests use few). */
  private readonly warmAhead: number;

  /** Some device's source reads ahead (none does when all are in memory: then nothing is planned). */
  private readonly enabled: boolean;

  constructor(
    private readonly view: FsView,
    opts: { direct?: boolean; warmAhead?: number } = {},
  ) {
    this.enabled = [...view.fs.volume.devices.values()].some((d) => d.source?.prefetch);
    if (opts.direct !== false && typeof nodeFs.constants.O_DIRECT === 'number') this.direct = this.slots = new DirectSlots();
    this.warmAhead = Math.max(1, opts.warmAhead ?? WARM_AHEAD);
  }

  /** The page-aligned memory of the direct-read slots (null: direct reads are off); it stays the same when they are turned off later. */
  get alignedMemory(): ArrayBuffer | null {
    return this.slots?.buffer ?? null;
  }

  /**
   * Warms the page cache with the leaves of `trees`, in key order (the
   * order a walk in inode order and csum lookups go), several reads deep,
   * so that this thread's synchronous tree reads do not wait on the disk one
   * block at a time. The tree `opts.window` is warmed `warmAhead` leaves past
   * where the walk says it is (warmAt), the others whole. Only the internal
   * nodes are read here (verified, through the block cache); the leaves are
   * read into a few spare buffers and dropped, except that those of the tree
   * `opts.census` are counted first (census).
   */
  warmTrees(trees: TreeRoot[], opts: { census?: bigint | undefined; window?: bigint } = {}): void {
    if (!this.enabled) return;
    const censusOf = opts.census;
    const fs = this.view.fs;
    const nodesize = fs.superblock.nodesize;
    for (const t of trees) {
      const counted = t.tree === censusOf;
      const from = this.leafLogical.length;
      // Breadth-first over the internal nodes; level-1 nodes give the leaves in key order.
      let level: bigint[] = [t.bytenr];
      for (let depth = t.level; depth >= 1 && level.length && this.leafLogical.length < WARM_LIST_MAX; depth--) {
        const below: bigint[] = [];
        for (const logical of level) {
          const b = fs.reader.read({ logical, level: depth }, { tree: t.tree }).block;
          if (!b) continue;
          for (let i = 0; i < b.nritems && this.leafLogical.length < WARM_LIST_MAX; i++) {
            const child = b.blockPtr(i);
            if (depth > 1) {
              below.push(child);
              continue;
            }
            if (!fs.volume.prefetchPlace(child, nodesize)) continue;
            this.leafLogical.push(child);
            this.leafFirst.push(b.keyObjectid(i));
          }
        }
        level = below;
      }
      const to = this.leafLogical.length;
      this.regions.push({ tree: t.tree, from, to, next: from, limit: t.tree === opts.window ? from + this.warmAhead : to });
      // A leaf-only tree (level 0) has no level-1 node: its root is its one leaf, read through the cache already.
      if (counted) {
        this.census = { tree: t.tree, files: 0, bytes: 0, leaves: to - from, counted: 0, leavesLeft: to - from };
        this.censusLeaves = [from, to];
        if (t.level === 0) {
          this.census.leaves = 1;
          this.count(fs.reader.read({ logical: t.bytenr, level: 0 }, { tree: t.tree }).block?.data ?? null, t.bytenr);
        }
      }
    }
    for (let i = 0; i < WARM_IN_FLIGHT; i++) this.spare.push(Buffer.allocUnsafe(nodesize));
    this.pumpLeaves();
  }

  /**
   * The walk has reached `objectid` of `tree`: leaves before its leaf are not
   * warmed any more (the walk has read them), and the `warmAhead` after it may be;
   * the span of small files' data gathered so far is read.
   */
  warmAt(tree: bigint, objectid: bigint): void {
    // Small files' data gathered so far is read now, well before they are written.
    this.flushSpan();
    for (const r of this.regions) {
      if (r.tree !== tree) continue;
      // The last leaf whose first key's objectid is below objectid (its items may reach it).
      let lo = r.from,
        hi = r.to;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (this.leafFirst[mid]! < objectid) lo = mid;
        else hi = mid;
      }
      if (lo + this.warmAhead <= r.limit) return;
      r.limit = lo + this.warmAhead;
      if (r.next < lo) this.skipTo(r, lo);
      this.pumpLeaves();
      return;
    }
  }

  /** Moves a region's warming on to `index` (census leaves passed by are not counted). */
  private skipTo(r: { next: number }, index: number): void {
    for (let i = r.next; i < index; i++) if (this.census && i >= this.censusLeaves[0] && i < this.censusLeaves[1]) this.census.leavesLeft--;
    r.next = index;
  }

  /** Adds a leaf of the census tree (unverified bytes: anything odd is skipped, it is an estimate). */
  private count(data: Uint8Array | null, logical: bigint): void {
    const c = this.census;
    if (!c || !data) return;
    const b = new TreeBlock(data, logical);
    if (b.level !== 0 || b.owner !== c.tree || b.bytenr !== logical) return;
    c.counted++;
    const n = Math.min(b.nritems, Math.floor((data.length - HEADER_SIZE) / ITEM_SIZE));
    for (let i = 0; i < n; i++) {
      const o = b.itemOffset(i);
      if (b.keyType(i) !== ItemType.INODE_ITEM || b.itemSize(i) < INODE_ITEM_SIZE || o + INODE_ITEM_SIZE > data.length) continue;
      // btrfs_inode_item: mode u32 @52, S_IFREG (0o100000) for regular files, whose bytes extract writes; size u64 @16.
      if ((inodeMode(data, o) & 0o170000) !== 0o100000) continue;
      c.files++;
      c.bytes += Number(inodeSize(data, o));
    }
  }

  private pumpLeaves(): void {
    const volume = this.view.fs.volume;
    for (const r of this.regions) {
      while (!this.stopped && this.warming < WARM_IN_FLIGHT && r.next < Math.min(r.to, r.limit)) {
        const index = r.next++;
        const logical = this.leafLogical[index]!;
        const counted = index >= this.censusLeaves[0] && index < this.censusLeaves[1];
        this.warming++;
        const buf = this.spare.pop()!;
        volume.prefetch([
          {
            offset: logical,
            into: buf,
            done: (err, n) => {
              this.warming--;
              if (counted && this.census) {
                if (!err && n === buf.length) this.count(buf, logical);
                this.census.leavesLeft--;
              }
              this.spare.push(buf);
              this.pumpLeaves();
            },
          },
        ]);
      }
    }
  }

  /**
   * Plans the reads of a file's regular extents (once per inode). A small file's (SMALL_FILE)
   * are not read into buffers but warmed in the page cache, in spans over many files
   * (warmSmall): its writer reads them on its thread, and one read serves dozens of files.
   */
  file(inode: Inode, extents: readonly FileExtent[] | null = null): void {
    if (!this.enabled || inode.kind !== 'file' || inode.size <= INLINE_MAX || this.view.isMetadump || this.stopped) return;
    if (inode.size <= BigInt(SMALL_FILE)) {
      this.warmSmall(inode.size, extents ?? fileExtents(this.view, inode));
      return;
    }
    const key = `${inode.subvol}:${inode.ino}`;
    if (this.files.has(key) || this.queue.length - this.head >= PLANNED_MAX) return;
    const vol = this.view.fs.volume;
    const ranges: Range[] = [];
    for (const e of extents ?? fileExtents(this.view, inode)) {
      if (e.kind !== 'regular' || e.encryption !== 0 || e.otherEncoding !== 0) continue;
      if (e.fileOffset >= inode.size) break;
      // Compressed: the whole stored extent, as readFile reads it; plain: the referenced part,
      // in readFile's pieces (from the range's start, PIECE bytes each).
      let logical = e.compression ? e.diskBytenr : e.diskBytenr + e.offset;
      let left = Number(e.compression ? e.diskNumBytes : e.length);
      if (e.compression && left > 128 * 1024) continue;
      while (left > 0 && ranges.length < PLANNED_MAX) {
        const len = Math.min(left, PIECE);
        // A piece across a stripe unit's end (or unmapped, or on a device read in memory) is left to readFile.
        const place = vol.prefetchPlace(logical, len);
        if (place) ranges.push({ logical, len, aligned: place.physical % BigInt(ALIGN) === 0n && len % ALIGN === 0, state: 0, bytes: null, buf: null, slot: -1, reading: false, done: null });
        logical += BigInt(len);
        left -= len;
      }
    }
    if (ranges.length === 0) return;
    this.files.set(key, new FileReadAhead(this, ranges));
    for (const r of ranges) this.queue.push(r);
    this.pump();
  }

  /**
   * Adds a small file's stored extents to the span being gathered; a span is read (into a
   * buffer whose bytes are dropped: the page cache keeps them) once the next extent does not
   * follow it closely or would take it past SPAN_MAX.
   */
  private warmSmall(size: bigint, extents: Iterable<FileExtent>): void {
    for (const e of extents) {
      if (e.kind !== 'regular' || e.encryption !== 0 || e.otherEncoding !== 0) continue;
      if (e.fileOffset >= size) break;
      const logical = e.compression ? e.diskBytenr : e.diskBytenr + e.offset;
      const end = logical + (e.compression ? e.diskNumBytes : e.length);
      const s = this.span;
      if (s && logical >= s.logical && logical <= s.end + SPAN_GAP && end - s.logical <= BigInt(SPAN_MAX)) {
        if (end > s.end) s.end = end;
        continue;
      }
      this.flushSpan();
      this.span = { logical, end };
    }
  }

  /** Queues the span gathered for reading (one that cannot be read ahead is left to the writers' reads). */
  private flushSpan(): void {
    const s = this.span;
    this.span = null;
    if (!s) return;
    const len = Number(s.end - s.logical);
    if (len <= 0 || len > SPAN_MAX || !this.view.fs.volume.prefetchPlace(s.logical, len)) return;
    this.spans.push({ logical: s.logical, len });
    this.pumpSpans();
  }

  private pumpSpans(): void {
    while (!this.stopped && this.spanning < SPANS_IN_FLIGHT && this.spanHead < this.spans.length) {
      const s = this.spans[this.spanHead++]!;
      this.spanBuf ??= Buffer.allocUnsafeSlow(SPAN_MAX);
      this.spanning++;
      this.view.fs.volume.prefetch([
        {
          offset: s.logical,
          into: this.spanBuf.subarray(0, s.len),
          done: () => {
            this.spanning--;
            this.pumpSpans();
          },
        },
      ]);
    }
    if (this.spanHead > 1024 && this.spanHead * 2 > this.spans.length) {
      this.spans.splice(0, this.spanHead);
      this.spanHead = 0;
    }
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
    let freed = false;
    if (!r.reading) {
      if (r.slot >= 0) {
        this.freeSlot(r);
        freed = true;
      } else if (r.buf) this.pool.put(r.buf);
    }
    r.buf = null;
    r.bytes = null;
    // Reads in order may have waited for this slot.
    if (freed) this.pump();
  }

  /** Drops everything queued and resolves once no read is in flight (before the image is closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.files.values()) f.close();
    this.files.clear();
    this.queue.length = 0;
    this.head = 0;
    this.regions.length = 0;
    this.spans.length = 0;
    this.spanHead = 0;
    this.span = null;
    while (this.running > 0 || this.warming > 0 || this.spanning > 0) await new Promise<void>((r) => setTimeout(r, 5));
  }

  /** Starts one range's read (in queue order through pump, or out of turn when its file is waiting). */
  start(r: Range): void {
    if (r.state !== 0) return;
    r.state = 1;
    this.running++;
    this.held += r.len;
    const d = this.direct && r.aligned ? this.direct.get(r.len) : null;
    r.slot = d ? d.slot : -1;
    const buf = d ? d.buf : this.pool.get(r.len);
    r.reading = true;
    r.done = new Promise<void>((resolve) => {
      this.view.fs.volume.prefetch([
        {
          offset: r.logical,
          into: buf.subarray(0, r.len),
          direct: d !== null,
          done: (err, n, direct) => {
            if (d && !err) {
              if (direct) this.directReads++;
              // The device's source read it through the cache (it refuses direct reads, or the place is not aligned below a partition or offset): no more slots for reads.
              else this.direct = null;
            }
            this.running--;
            r.reading = false;
            if (r.state === 1) {
              if (!err && n === r.len) {
                r.state = 2;
                r.buf = buf;
                r.bytes = buf.subarray(0, r.len);
              } else {
                r.state = 3;
                this.held -= r.len;
                this.freeSlot(r);
              }
            } else {
              // Let go while reading: nothing holds the slot now.
              this.freeSlot(r);
            }
            resolve();
            this.pump();
          },
        },
      ]);
    });
  }

  /** A range's direct-read slot back for reuse, unless a read into it is still running. */
  private freeSlot(r: Range): void {
    if (r.slot < 0 || r.reading) return;
    this.direct?.put(r.slot);
    r.slot = -1;
  }

  /** A range is used up or not wanted: its bytes go (to the write that holds them, if any). */
  letGo(r: Range): void {
    if (r.state === 1 || r.state === 2) this.held -= r.len;
    // A read still running keeps its buffer: its end frees the slot (a pooled buffer goes to the collector).
    r.state = 3;
  }

  private pump(): void {
    while (this.running < IN_FLIGHT && this.head < this.queue.length) {
      const r = this.queue[this.head]!;
      if (r.state !== 0) {
        this.head++;
        continue;
      }
      if (this.held + r.len > HELD_MAX && this.held > 0) break;
      // A read in order waits for a direct slot rather than go through the page cache (the
      // ranges holding the slots come first and are let go as their files are written; a file
      // that waits for its next range starts that read at once, through the cache if need be).
      if (this.direct && this.running > 0 && r.aligned && !this.direct.fits(r.len)) break;
      this.head++;
      this.start(r);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
