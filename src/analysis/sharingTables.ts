/**
 * Compact, columnar tables for the sharing analysis. A large filesystem has
 * hundreds of thousands of data references and extents: one object with six
 * bigint fields each costs ~250 bytes of heap (and the garbage collector's
 * time), a row of typed-array columns ~50. u64 fields stay exact in
 * BigUint64Array columns (every one of them is a u64 on disk).
 */
import { grown, trimmed } from './columns.js';

/** What a leaf holds that the byte-range view needs, besides its data references. */
export interface LeafStats {
  /** Σ i_size of regular files whose INODE_ITEM is here (apparent bytes). */
  apparent: bigint;
  files: number;
  /** Inline extents: bytes of file they map (ram_bytes) and bytes stored in the leaf. */
  inlineBytes: bigint;
  inlineStored: bigint;
}

const U64_MAX = 0xffffffffffffffffn;

/** The tree blocks read, by index in the order first read. */
export class BlockTable {
  length = 0;
  level = new Uint8Array(0);
  /** Id (in the analysis' mask list) of the set of subvolumes reaching the block. */
  maskId = new Uint32Array(0);
  /** A leaf's refs (RefTable rows) end here and start where the previous block's end (0 for the first). */
  refEnd = new Uint32Array(0);
  /** LeafStats columns (0 for nodes); a leaf whose sums do not fit a u64 (a hostile one) keeps them in `oversized`. */
  private apparent = new BigUint64Array(0);
  private inlineBytes = new BigUint64Array(0);
  private inlineStored = new BigUint64Array(0);
  private files = new Uint32Array(0);
  private readonly oversized = new Map<number, LeafStats>();

  push(level: number, refEnd: number, leaf: LeafStats | null): number {
    const i = this.length;
    if (i === this.level.length) {
      const n = i + 1;
      this.level = grown(this.level, n);
      this.maskId = grown(this.maskId, n);
      this.refEnd = grown(this.refEnd, n);
      this.apparent = grown(this.apparent, n);
      this.inlineBytes = grown(this.inlineBytes, n);
      this.inlineStored = grown(this.inlineStored, n);
      this.files = grown(this.files, n);
    }
    this.level[i] = level;
    this.refEnd[i] = refEnd;
    if (leaf) {
      if (leaf.apparent > U64_MAX || leaf.inlineBytes > U64_MAX || leaf.inlineStored > U64_MAX || leaf.files > 0xffffffff) this.oversized.set(i, leaf);
      else {
        this.apparent[i] = leaf.apparent;
        this.inlineBytes[i] = leaf.inlineBytes;
        this.inlineStored[i] = leaf.inlineStored;
        this.files[i] = leaf.files;
      }
    }
    this.length = i + 1;
    return i;
  }

  refStart(i: number): number {
    return i ? this.refEnd[i - 1]! : 0;
  }

  stats(i: number): LeafStats {
    return this.oversized.get(i) ?? { apparent: this.apparent[i]!, files: this.files[i]!, inlineBytes: this.inlineBytes[i]!, inlineStored: this.inlineStored[i]! };
  }
}

/** Parent → child pointers between blocks of a BlockTable, by index. */
export class EdgeList {
  length = 0;
  parent = new Uint32Array(0);
  child = new Uint32Array(0);

  push(parent: number, child: number): void {
    const i = this.length;
    if (i === this.parent.length) {
      this.parent = grown(this.parent, i + 1);
      this.child = grown(this.child, i + 1);
    }
    this.parent[i] = parent;
    this.child[i] = child;
    this.length = i + 1;
  }
}

/**
 * Every data reference (EXTENT_DATA item, regular or prealloc, not a hole
 * nor inline) of the leaves read, in walk order: leaf by leaf, slot order.
 */
export class RefTable {
  length = 0;
  ino = new BigUint64Array(0);
  diskBytenr = new BigUint64Array(0);
  diskNumBytes = new BigUint64Array(0);
  offset = new BigUint64Array(0);
  numBytes = new BigUint64Array(0);
  ramBytes = new BigUint64Array(0);
  compression = new Uint8Array(0);
  prealloc = new Uint8Array(0);
  /** Filled by the analysis: id (in `masks`) of the set of subvolumes reaching the ref's leaf; 0 when none does. */
  maskId = new Uint32Array(0);
  /** Filled by the analysis: the ref's row in the ExtentTable (meaningful where maskId is not 0). */
  extent = new Uint32Array(0);

  push(ino: bigint, diskBytenr: bigint, diskNumBytes: bigint, offset: bigint, numBytes: bigint, ramBytes: bigint, compression: number, prealloc: boolean): void {
    const i = this.length;
    if (i === this.ino.length) {
      const n = i + 1;
      this.ino = grown(this.ino, n);
      this.diskBytenr = grown(this.diskBytenr, n);
      this.diskNumBytes = grown(this.diskNumBytes, n);
      this.offset = grown(this.offset, n);
      this.numBytes = grown(this.numBytes, n);
      this.ramBytes = grown(this.ramBytes, n);
      this.compression = grown(this.compression, n);
      this.prealloc = grown(this.prealloc, n);
    }
    this.ino[i] = ino;
    this.diskBytenr[i] = diskBytenr;
    this.diskNumBytes[i] = diskNumBytes;
    this.offset[i] = offset;
    this.numBytes[i] = numBytes;
    this.ramBytes[i] = ramBytes;
    this.compression[i] = compression;
    this.prealloc[i] = prealloc ? 1 : 0;
    this.length = i + 1;
  }

  /** Drops the spare capacity once every leaf is read, and sizes the analysis columns. */
  seal(): void {
    const n = this.length;
    this.ino = trimmed(this.ino, n);
    this.diskBytenr = trimmed(this.diskBytenr, n);
    this.diskNumBytes = trimmed(this.diskNumBytes, n);
    this.offset = trimmed(this.offset, n);
    this.numBytes = trimmed(this.numBytes, n);
    this.ramBytes = trimmed(this.ramBytes, n);
    this.compression = trimmed(this.compression, n);
    this.prealloc = trimmed(this.prealloc, n);
    this.maskId = new Uint32Array(n);
    this.extent = new Uint32Array(n);
  }
}

/** A data extent (EXTENT_ITEM) as its references describe it. */
export interface ExtentUse {
  bytenr: bigint;
  /** On-disk size (disk_num_bytes; after compression). */
  diskBytes: bigint;
  /** Uncompressed size (ram_bytes). */
  ramBytes: bigint;
  compression: number;
  prealloc: boolean;
  /** Subvolumes reaching it (bit i = subvols[i]). */
  mask: bigint;
  /** First inode met referencing it; `multiInode` when another inode also does. */
  ino: bigint;
  multiInode: boolean;
  /** Referenced byte ranges in the uncompressed extent, flattened [start, end, ...]. */
  ranges: bigint[];
}

/**
 * The data extents referenced from leaves some subvolume reaches, one row
 * each in the order first met, readable as a map from disk bytenr to
 * ExtentUse (rows are turned into objects only when asked for).
 */
export class ExtentTable implements ReadonlyMap<bigint, ExtentUse> {
  size = 0;
  private readonly index = new Map<bigint, number>();
  bytenr = new BigUint64Array(0);
  diskBytes = new BigUint64Array(0);
  ramBytes = new BigUint64Array(0);
  ino = new BigUint64Array(0);
  compression = new Uint8Array(0);
  prealloc = new Uint8Array(0);
  multiInode = new Uint8Array(0);
  maskId = new Uint32Array(0);
  /** The refs of row i are refOrder[refStart[i] .. refStart[i + 1]), in walk order (set by `indexRefs`). */
  refStart = new Uint32Array(1);
  refOrder = new Uint32Array(0);

  constructor(
    private readonly refs: RefTable,
    private readonly masks: readonly bigint[],
  ) {}

  /** Row of the extent ref `r` points into, added (described by that first ref) when new. */
  rowFor(r: number): number {
    const refs = this.refs;
    const b = refs.diskBytenr[r]!;
    const known = this.index.get(b);
    if (known !== undefined) {
      if (refs.ino[r] !== this.ino[known]) this.multiInode[known] = 1;
      // An extent written as prealloc and later partly written stays one extent: prealloc only if every reference is.
      if (!refs.prealloc[r]) this.prealloc[known] = 0;
      return known;
    }
    const i = this.size;
    if (i === this.bytenr.length) {
      const n = i + 1;
      this.bytenr = grown(this.bytenr, n);
      this.diskBytes = grown(this.diskBytes, n);
      this.ramBytes = grown(this.ramBytes, n);
      this.ino = grown(this.ino, n);
      this.compression = grown(this.compression, n);
      this.prealloc = grown(this.prealloc, n);
      this.multiInode = grown(this.multiInode, n);
      this.maskId = grown(this.maskId, n);
    }
    this.bytenr[i] = b;
    this.diskBytes[i] = refs.diskNumBytes[r]!;
    this.ramBytes[i] = refs.ramBytes[r]!;
    this.ino[i] = refs.ino[r]!;
    this.compression[i] = refs.compression[r]!;
    this.prealloc[i] = refs.prealloc[r]!;
    this.multiInode[i] = 0;
    this.maskId[i] = 0;
    this.index.set(b, i);
    this.size = i + 1;
    return i;
  }

  /** Once every counted ref has its row: drops spare capacity and groups the refs by extent. */
  seal(): void {
    const n = this.size;
    this.bytenr = trimmed(this.bytenr, n);
    this.diskBytes = trimmed(this.diskBytes, n);
    this.ramBytes = trimmed(this.ramBytes, n);
    this.ino = trimmed(this.ino, n);
    this.compression = trimmed(this.compression, n);
    this.prealloc = trimmed(this.prealloc, n);
    this.multiInode = trimmed(this.multiInode, n);
    this.maskId = trimmed(this.maskId, n);
    this.indexRefs();
  }

  /** Groups the counted refs (maskId ≠ 0) by extent, keeping walk order within each (a stable counting sort). */
  private indexRefs(): void {
    const n = this.size,
      refs = this.refs;
    const start = new Uint32Array(n + 1);
    let counted = 0;
    for (let r = 0; r < refs.length; r++)
      if (refs.maskId[r]) {
        start[refs.extent[r]! + 1]!++;
        counted++;
      }
    for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, n);
    const order = new Uint32Array(counted);
    for (let r = 0; r < refs.length; r++) if (refs.maskId[r]) order[fill[refs.extent[r]!]!++] = r;
    this.refStart = start;
    this.refOrder = order;
  }

  /** Referenced ranges of row i in the uncompressed extent, flattened [start, end, ...]. */
  ranges(i: number): bigint[] {
    const out: bigint[] = [];
    for (let k = this.refStart[i]!; k < this.refStart[i + 1]!; k++) {
      const r = this.refOrder[k]!;
      const o = this.refs.offset[r]!;
      out.push(o, o + this.refs.numBytes[r]!);
    }
    return out;
  }

  use(i: number): ExtentUse {
    const table = this;
    return {
      bytenr: this.bytenr[i]!,
      diskBytes: this.diskBytes[i]!,
      ramBytes: this.ramBytes[i]!,
      compression: this.compression[i]!,
      prealloc: this.prealloc[i] === 1,
      mask: this.masks[this.maskId[i]!]!,
      ino: this.ino[i]!,
      multiInode: this.multiInode[i] === 1,
      // Built only when read: an extent cloned 100,000 times (dedup) has as many ranges, and a
      // file of such clones looks its extent up once per clone; most callers never read them.
      get ranges() {
        return table.ranges(i);
      },
    };
  }

  get(bytenr: bigint): ExtentUse | undefined {
    const i = this.index.get(bytenr);
    return i === undefined ? undefined : this.use(i);
  }

  has(bytenr: bigint): boolean {
    return this.index.has(bytenr);
  }

  *keys(): MapIterator<bigint> {
    for (let i = 0; i < this.size; i++) yield this.bytenr[i]!;
  }

  *values(): MapIterator<ExtentUse> {
    for (let i = 0; i < this.size; i++) yield this.use(i);
  }

  *entries(): MapIterator<[bigint, ExtentUse]> {
    for (let i = 0; i < this.size; i++) yield [this.bytenr[i]!, this.use(i)];
  }

  [Symbol.iterator](): MapIterator<[bigint, ExtentUse]> {
    return this.entries();
  }

  forEach(cb: (value: ExtentUse, key: bigint, map: ReadonlyMap<bigint, ExtentUse>) => void): void {
    for (let i = 0; i < this.size; i++) cb(this.use(i), this.bytenr[i]!, this);
  }
}
