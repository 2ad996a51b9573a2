import { Compression, FileExtentType, ItemType } from '../format/constants.js';
import { decodeFileExtent } from '../format/items/fileExtent.js';
import { INODE_ITEM_SIZE, inodeMode, inodeSize } from '../format/items/inode.js';
import type { TreeBlock } from '../format/treeBlock.js';
import type { FsView } from '../fs/FsView.js';
import { displayPath } from '../fs/names.js';
import type { SubvolumeInfo } from '../fs/types.js';
import { readChild, readRoot } from '../tree/walk.js';
import { BlockTable, EdgeList, ExtentTable, type ExtentUse, type LeafStats, RefTable } from './sharingTables.js';

export type { ExtentUse } from './sharingTables.js';

/**
 * Snapshot sharing: which subvolumes reach each data extent and each tree
 * block. Every fs tree is walked once, but a block already met through an
 * earlier tree is not descended into again: snapshots share most of their
 * blocks, so the cost follows the number of distinct tree blocks and extents,
 * not files × snapshots. The set of subvolumes reaching each block (a bit
 * mask, bit i = subvolume i of `subvols`) is then pushed from the roots down,
 * level by level, and each leaf's EXTENT_DATA references are attributed to
 * its leaf's set. Blocks, references and extents are kept as typed-array rows
 * (sharingTables.ts) and sets as small interned ids, so memory follows the
 * distinct blocks and references (~60 bytes a reference), not the snapshots.
 */

/** LeafStats summed over the leaves one set of subvolumes reaches, with the bytes their references map. */
interface LeafTotals extends LeafStats {
  mapped: bigint;
}

/** Totals attributed to one set of subvolumes (one mask). */
export interface MaskTotals {
  dataBytes: bigint;
  extents: number;
  treeBlocks: number;
  wasteBytes: bigint;
  /** Compressed extents: their waste is an estimate. */
  wasteEstimated: bigint;
  compressedDisk: bigint;
  compressedRam: bigint;
  preallocBytes: bigint;
}

export interface SubvolSharing {
  id: bigint;
  path: string | null;
  /** Data: Σ D(E) with S in R(E). */
  referencedData: bigint;
  /** Data: Σ D(E) with R(E) = {S}. */
  exclusiveData: bigint;
  /** Tree blocks reached from S (× nodesize), and those reached only from S. */
  referencedMetaBlocks: number;
  exclusiveMetaBlocks: number;
  /** Referenced/exclusive as qgroups count them: data + nodesize × tree blocks. */
  referenced: bigint;
  exclusive: bigint;
  shared: bigint;
  /** Byte-range view, over the files of S. */
  apparentBytes: bigint;
  files: number;
  mappedBytes: bigint;
  inlineBytes: bigint;
  inlineStored: bigint;
  preallocBytes: bigint;
  /** Bytes of extents S references that no file references any more (bookend waste). */
  wasteBytes: bigint;
  /** Part of wasteBytes from compressed extents: estimated by proportion. */
  wasteEstimated: bigint;
  compressedDisk: bigint;
  compressedRam: bigint;
}

export interface SharingResult {
  nodesize: number;
  subvols: SubvolumeInfo[];
  /** Bit index of each subvolume id. */
  bit: Map<bigint, number>;
  /** Data extents by disk bytenr (a map view over compact rows). */
  extents: ExtentTable;
  byMask: Map<bigint, MaskTotals>;
  perSubvol: SubvolSharing[];
  /** Distinct tree blocks of all fs trees, and those read (each once). */
  treeBlocks: number;
  /** Data references of the leaves read; refs.maskId[i] indexes `masks` (for per-file and du questions). */
  refs: RefTable;
  /** The distinct subvolume sets met, by id; id 0 is the empty set. */
  masks: bigint[];
}

export interface SharingOptions {
  /** Subvolume ids to consider (default: every fs tree with a root item). */
  subvolIds?: bigint[];
  progress?: (blocks: number) => void;
}

/** Block cache bound during the walk: a few dozen blocks. */
const WALK_CACHE_BYTES = 1 << 20;

const ZERO_TOTALS = (): MaskTotals => ({ dataBytes: 0n, extents: 0, treeBlocks: 0, wasteBytes: 0n, wasteEstimated: 0n, compressedDisk: 0n, compressedRam: 0n, preallocBytes: 0n });

export function popcount(m: bigint): number {
  let n = 0;
  while (m) {
    m &= m - 1n;
    n++;
  }
  return n;
}

/** Bit indexes set in a mask. */
export function bitsOf(m: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; m; i++, m >>= 1n) if (m & 1n) out.push(i);
  return out;
}

/** Walks every fs tree once (shared subtrees once) and attributes blocks and extents to subvolume sets. */
export function analyzeSharing(view: FsView, opts: SharingOptions = {}): SharingResult {
  const fs = view.fs;
  const all = view.subvolumes().filter((s) => view.tree(s.id));
  const subvols = opts.subvolIds ? all.filter((s) => opts.subvolIds!.includes(s.id)) : all;
  const bit = new Map<bigint, number>(subvols.map((s, i) => [s.id, i]));
  const wopts = fs.walkOptions;

  // Subvolume sets are interned: a block or extent row holds a small id, not a bigint.
  const masks: bigint[] = [0n];
  const maskIds = new Map<bigint, number>([[0n, 0]]);
  const intern = (m: bigint): number => {
    let id = maskIds.get(m);
    if (id === undefined) {
      id = masks.length;
      masks.push(m);
      maskIds.set(m, id);
    }
    return id;
  };
  const union = (a: number, b: number): number => (a === b || b === 0 ? a : a === 0 ? b : intern(masks[a]! | masks[b]!));

  const blockOf = new Map<bigint, number>();
  const blocks = new BlockTable();
  const refs = new RefTable();
  // Parent → child pointers by block index, recorded as each node's pointers are followed;
  // a pointer whose block this parent could not read is looked up again after the walk
  // (another parent may have read it).
  const edges = new EdgeList();
  const unresolved: { parent: number; ptr: bigint }[] = [];

  const addBlock = (b: TreeBlock, valid: number): number => {
    const leaf = b.isLeaf ? readLeaf(b, valid, refs) : null;
    const i = blocks.push(b.level, refs.length, leaf);
    blockOf.set(b.logical, i);
    if (opts.progress && (blocks.length & 1023) === 0) opts.progress(blocks.length);
    return i;
  };

  // Each block is read once (one met before is not read again): cached
  // blocks would only be memory here, so the cache is kept small meanwhile.
  const cacheLimit = fs.reader.cache.setLimit(WALK_CACHE_BYTES);
  try {
    for (const s of subvols) {
      const root = view.tree(s.id)!;
      let rootIdx = blockOf.get(root.bytenr);
      if (rootIdx === undefined) {
        const r = readRoot(fs.reader, root, wopts);
        if (!r.block) continue;
        rootIdx = addBlock(r.block, r.validItems);
        // Explicit stack: node blocks whose children are still to be read.
        const stack: { block: TreeBlock; idx: number; valid: number }[] = r.block.isLeaf ? [] : [{ block: r.block, idx: rootIdx, valid: r.validItems }];
        while (stack.length) {
          const { block: p, idx: pi, valid } = stack.pop()!;
          for (let i = valid - 1; i >= 0; i--) {
            const ptr = p.blockPtr(i);
            const known = blockOf.get(ptr);
            // Reached already through another tree (or this one): not read again.
            if (known !== undefined) {
              edges.push(pi, known);
              continue;
            }
            const c = readChild(fs.reader, p, i, s.id, wopts);
            if (!c.block) {
              unresolved.push({ parent: pi, ptr });
              continue;
            }
            const ci = addBlock(c.block, c.validItems);
            edges.push(pi, ci);
            if (!c.block.isLeaf) stack.push({ block: c.block, idx: ci, valid: c.validItems });
          }
        }
      }
      blocks.maskId[rootIdx] = union(blocks.maskId[rootIdx]!, intern(1n << BigInt(bit.get(s.id)!)));
    }
  } finally {
    fs.reader.cache.setLimit(cacheLimit);
  }
  for (const u of unresolved) {
    const c = blockOf.get(u.ptr);
    if (c !== undefined) edges.push(u.parent, c);
  }
  blockOf.clear();

  // Push each block's set down to its children, highest level first: a
  // block's set is final once every block above it has been processed.
  const parentLevels = new Set<number>();
  for (let k = 0; k < edges.length; k++) parentLevels.add(blocks.level[edges.parent[k]!]!);
  for (const lvl of [...parentLevels].sort((x, y) => y - x)) {
    if (lvl === 0) continue;
    for (let k = 0; k < edges.length; k++) {
      const p = edges.parent[k]!;
      if (blocks.level[p] !== lvl) continue;
      const m = blocks.maskId[p]!;
      const c = edges.child[k]!;
      if (m && blocks.level[c] === lvl - 1) blocks.maskId[c] = union(blocks.maskId[c]!, m);
    }
  }

  // Per set of subvolumes (by mask id): block and extent totals, and leaf totals.
  const totals: (MaskTotals | undefined)[] = [];
  const totalsOf = (m: number): MaskTotals => (totals[m] ??= ZERO_TOTALS());
  const leafTotals: (LeafTotals | undefined)[] = [];
  refs.seal();
  const extents = new ExtentTable(refs, masks);
  for (let i = 0; i < blocks.length; i++) {
    const m = blocks.maskId[i]!;
    if (!m) continue;
    totalsOf(m).treeBlocks++;
    if (blocks.level[i] !== 0) continue;
    const st = blocks.stats(i);
    const lt = (leafTotals[m] ??= { apparent: 0n, files: 0, inlineBytes: 0n, inlineStored: 0n, mapped: 0n });
    lt.apparent += st.apparent;
    lt.files += st.files;
    lt.inlineBytes += st.inlineBytes;
    lt.inlineStored += st.inlineStored;
    let mapped = 0n;
    for (let r = blocks.refStart(i), end = blocks.refEnd[i]!; r < end; r++) {
      mapped += refs.numBytes[r]!;
      const e = extents.rowFor(r);
      refs.maskId[r] = m;
      refs.extent[r] = e;
      extents.maskId[e] = union(extents.maskId[e]!, m);
    }
    lt.mapped += mapped;
  }
  extents.seal();
  for (let e = 0; e < extents.size; e++) {
    const t = totalsOf(extents.maskId[e]!);
    const diskBytes = extents.diskBytes[e]!,
      compression = extents.compression[e]!;
    t.dataBytes += diskBytes;
    t.extents++;
    const w = wasteOf(compression, diskBytes, extents.ramBytes[e]!, extents.ranges(e));
    if (compression !== Compression.NONE) {
      t.wasteEstimated += w;
      t.compressedDisk += diskBytes;
      t.compressedRam += extents.ramBytes[e]!;
    }
    t.wasteBytes += w;
    if (extents.prealloc[e]) t.preallocBytes += diskBytes;
  }
  const byMask = new Map<bigint, MaskTotals>();
  totals.forEach((t, m) => {
    if (t) byMask.set(masks[m]!, t);
  });

  const nodesize = fs.superblock.nodesize;
  const perSubvol: SubvolSharing[] = subvols.map((s) => ({
    id: s.id,
    path: s.path ? displayPath(s.path) : s.id === 5n ? '/' : null,
    referencedData: 0n,
    exclusiveData: 0n,
    referencedMetaBlocks: 0,
    exclusiveMetaBlocks: 0,
    referenced: 0n,
    exclusive: 0n,
    shared: 0n,
    apparentBytes: 0n,
    files: 0,
    mappedBytes: 0n,
    inlineBytes: 0n,
    inlineStored: 0n,
    preallocBytes: 0n,
    wasteBytes: 0n,
    wasteEstimated: 0n,
    compressedDisk: 0n,
    compressedRam: 0n,
  }));
  for (const [m, t] of byMask) {
    const bits = bitsOf(m);
    const only = bits.length === 1;
    for (const i of bits) {
      const p = perSubvol[i]!;
      p.referencedData += t.dataBytes;
      p.referencedMetaBlocks += t.treeBlocks;
      if (only) {
        p.exclusiveData += t.dataBytes;
        p.exclusiveMetaBlocks += t.treeBlocks;
      }
      p.wasteBytes += t.wasteBytes;
      p.wasteEstimated += t.wasteEstimated;
      p.compressedDisk += t.compressedDisk;
      p.compressedRam += t.compressedRam;
      p.preallocBytes += t.preallocBytes;
    }
  }
  leafTotals.forEach((l, m) => {
    if (!l) return;
    for (const i of bitsOf(masks[m]!)) {
      const p = perSubvol[i]!;
      p.apparentBytes += l.apparent;
      p.files += l.files;
      p.mappedBytes += l.mapped;
      p.inlineBytes += l.inlineBytes;
      p.inlineStored += l.inlineStored;
    }
  });
  const ns = BigInt(nodesize);
  for (const p of perSubvol) {
    p.referenced = p.referencedData + ns * BigInt(p.referencedMetaBlocks);
    p.exclusive = p.exclusiveData + ns * BigInt(p.exclusiveMetaBlocks);
    p.shared = p.referenced - p.exclusive;
  }
  return { nodesize, subvols, bit, extents, byMask, perSubvol, treeBlocks: blocks.length, refs, masks };
}

/**
 * Bytes of an extent no reference covers. Uncompressed: exact (ranges are
 * byte offsets into the extent on disk). Compressed: the uncovered share of
 * ram_bytes applied to the on-disk size, an estimate (compression is not
 * uniform across the extent).
 */
export function extentWaste(e: ExtentUse): bigint {
  return wasteOf(e.compression, e.diskBytes, e.ramBytes, e.ranges);
}

function wasteOf(compression: number, diskBytes: bigint, ramBytes: bigint, ranges: bigint[]): bigint {
  const compressed = compression !== Compression.NONE;
  const size = compressed ? ramBytes : diskBytes;
  const covered = coveredBytes(ranges, size);
  if (covered >= size) return 0n;
  if (!compressed) return size - covered;
  return size === 0n ? 0n : (diskBytes * (size - covered)) / size;
}

/** Length of the union of [start, end) ranges, clipped to [0, limit). */
export function coveredBytes(flat: bigint[], limit: bigint): bigint {
  if (flat.length === 2) {
    const s = flat[0]! < 0n ? 0n : flat[0]!,
      e = flat[1]! > limit ? limit : flat[1]!;
    return e > s ? e - s : 0n;
  }
  const pairs: [bigint, bigint][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n,
    curS = -1n,
    curE = -1n;
  for (const [s0, e0] of pairs) {
    const s = s0 < 0n ? 0n : s0,
      e = e0 > limit ? limit : e0;
    if (e <= s) continue;
    if (s > curE) {
      if (curE > curS) total += curE - curS;
      curS = s;
      curE = e;
    } else if (e > curE) curE = e;
  }
  if (curE > curS) total += curE - curS;
  return total;
}

const S_IFMT = 0o170000,
  S_IFREG = 0o100000;

/** Appends a leaf's data references to `refs`; returns what else the byte-range view needs of it. */
function readLeaf(b: TreeBlock, valid: number, refs: RefTable): LeafStats {
  const d: LeafStats = { apparent: 0n, files: 0, inlineBytes: 0n, inlineStored: 0n };
  for (let i = 0; i < valid; i++) {
    const type = b.keyType(i);
    if (type === ItemType.INODE_ITEM) {
      const data = b.itemData(i);
      if (data.length >= INODE_ITEM_SIZE && (inodeMode(data, 0) & S_IFMT) === S_IFREG) {
        d.apparent += inodeSize(data, 0);
        d.files++;
      }
      continue;
    }
    if (type !== ItemType.EXTENT_DATA) continue;
    const k = b.key(i);
    const fe = decodeFileExtent(k, b.itemData(i));
    if (fe.kind === 'invalid') continue;
    if (fe.body === 'inline') {
      d.inlineBytes += fe.compression === Compression.NONE ? BigInt(fe.inlineLength) : fe.ramBytes;
      d.inlineStored += BigInt(fe.inlineLength);
      continue;
    }
    if (fe.diskBytenr === 0n) continue; // a hole
    refs.push(k.objectid, fe.diskBytenr, fe.diskNumBytes, fe.offset, fe.numBytes, fe.ramBytes, fe.compression, fe.type === FileExtentType.PREALLOC);
  }
  return d;
}

/** Σ D(E) (+ tree blocks × nodesize) over sets R(E) that are a subset of `ids`: what deleting all of them frees. */
export function groupExclusive(r: SharingResult, ids: bigint[]): { data: bigint; metaBlocks: number; total: bigint } {
  let g = 0n;
  for (const id of ids) {
    const b = r.bit.get(id);
    if (b !== undefined) g |= 1n << BigInt(b);
  }
  let data = 0n,
    metaBlocks = 0;
  for (const [m, t] of r.byMask) {
    if (m && (m & ~g) === 0n) {
      data += t.dataBytes;
      metaBlocks += t.treeBlocks;
    }
  }
  return { data, metaBlocks, total: data + BigInt(r.nodesize) * BigInt(metaBlocks) };
}

/** Bytes (data + tree blocks) reached from both subvolumes, for every pair. */
export function sharedMatrix(r: SharingResult): bigint[][] {
  const n = r.subvols.length;
  const out = Array.from({ length: n }, () => new Array<bigint>(n).fill(0n));
  const ns = BigInt(r.nodesize);
  for (const [m, t] of r.byMask) {
    const bytes = t.dataBytes + ns * BigInt(t.treeBlocks);
    const bits = bitsOf(m);
    for (const i of bits) for (const j of bits) out[i]![j]! += bytes;
  }
  return out;
}

/**
 * Whether the kernel's FIEMAP would flag this extent shared for a file of
 * subvolume `subvol`: some other subvolume reaches it (through its own
 * leaves or a shared tree block), or another inode references it
 * (btrfs_is_data_extent_shared; references from the same inode at other
 * offsets do not count).
 */
export function isSharedExtent(e: ExtentUse): boolean {
  return e.multiInode || (e.mask & (e.mask - 1n)) !== 0n;
}
