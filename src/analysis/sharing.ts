import { Compression, FileExtentType, ItemType } from '../format/constants.js';
import { decodeFileExtent } from '../format/items/fileExtent.js';
import { u32, u64 } from '../format/bytes.js';
import type { TreeBlock } from '../format/treeBlock.js';
import type { FsView, SubvolumeInfo } from '../fs/FsView.js';
import { readChild, readRoot } from '../tree/walk.js';

/**
 * Snapshot sharing: which subvolumes reach each data extent and each tree
 * block. Every fs tree is walked once, but a block already met through an
 * earlier tree is not descended into again: snapshots share most of their
 * blocks, so the cost follows the number of distinct tree blocks and extents,
 * not files × snapshots. The set of subvolumes reaching each block (a bit
 * mask, bit i = subvolume i of `subvols`) is then pushed from the roots down,
 * level by level, and each leaf's EXTENT_DATA references are attributed to
 * its leaf's set.
 */

/** One EXTENT_DATA item of a leaf (regular or prealloc, not a hole), packed. */
export interface LeafRef {
  ino: bigint;
  fileOffset: bigint;
  diskBytenr: bigint;
  diskNumBytes: bigint;
  offset: bigint;
  numBytes: bigint;
  ramBytes: bigint;
  compression: number;
  prealloc: boolean;
}

interface BlockNode {
  level: number;
  mask: bigint;
  children: bigint[] | null;
  leaf: LeafData | null;
}

/** What a leaf holds that the byte-range view needs. */
interface LeafData {
  refs: LeafRef[];
  /** Σ i_size of regular files whose INODE_ITEM is here (apparent bytes). */
  apparent: bigint;
  files: number;
  /** Inline extents: bytes of file they map (ram_bytes) and bytes stored in the leaf. */
  inlineBytes: bigint;
  inlineStored: bigint;
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
  extents: Map<bigint, ExtentUse>;
  byMask: Map<bigint, MaskTotals>;
  perSubvol: SubvolSharing[];
  /** Distinct tree blocks of all fs trees, and those read (each once). */
  treeBlocks: number;
  /** Leaves, with the mask reaching each (for per-file questions). */
  leaves: { mask: bigint; data: LeafData }[];
}

export interface SharingOptions {
  /** Subvolume ids to consider (default: every fs tree with a root item). */
  subvolIds?: bigint[];
  progress?: (blocks: number) => void;
}

const ZERO_TOTALS = (): MaskTotals => ({ dataBytes: 0n, extents: 0, treeBlocks: 0, wasteBytes: 0n, wasteEstimated: 0n, compressedDisk: 0n, compressedRam: 0n, preallocBytes: 0n });

export function popcount(m: bigint): number {
  let n = 0;
  while (m) { m &= m - 1n; n++; }
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
  const nodes = new Map<bigint, BlockNode>();
  const byLevel: bigint[][] = [];
  const wopts = fs.walkOptions;

  const addNode = (b: TreeBlock, valid: number): BlockNode => {
    const n: BlockNode = { level: b.level, mask: 0n, children: null, leaf: null };
    nodes.set(b.logical, n);
    (byLevel[b.level] ??= []).push(b.logical);
    if (b.isLeaf) n.leaf = leafData(b, valid);
    else {
      n.children = [];
      for (let i = 0; i < valid; i++) n.children.push(b.blockPtr(i));
    }
    if (opts.progress && (nodes.size & 1023) === 0) opts.progress(nodes.size);
    return n;
  };

  for (const s of subvols) {
    const root = view.tree(s.id)!;
    let rootNode = nodes.get(root.bytenr);
    if (!rootNode) {
      const r = readRoot(fs.reader, root, wopts);
      if (!r.block) continue;
      rootNode = addNode(r.block, r.validItems);
      // Explicit stack: node blocks whose children are still to be read.
      const stack: TreeBlock[] = r.block.isLeaf ? [] : [r.block];
      const validOf = new Map<bigint, number>([[r.block.logical, r.validItems]]);
      while (stack.length) {
        const p = stack.pop()!;
        const valid = validOf.get(p.logical) ?? 0;
        validOf.delete(p.logical);
        for (let i = valid - 1; i >= 0; i--) {
          const ptr = p.blockPtr(i);
          if (nodes.has(ptr)) continue; // reached already through another tree (or this one): not read again
          const c = readChild(fs.reader, p, i, s.id, wopts);
          if (!c.block) continue;
          addNode(c.block, c.validItems);
          if (!c.block.isLeaf) { validOf.set(c.block.logical, c.validItems); stack.push(c.block); }
        }
      }
    }
    rootNode.mask |= 1n << BigInt(bit.get(s.id)!);
  }

  // Push each block's set down to its children, highest level first: a
  // block's set is final once every block above it has been processed.
  for (let lvl = byLevel.length - 1; lvl > 0; lvl--) {
    for (const b of byLevel[lvl] ?? []) {
      const n = nodes.get(b)!;
      if (!n.mask) continue;
      for (const c of n.children!) {
        const cn = nodes.get(c);
        if (cn && cn.level === n.level - 1) cn.mask |= n.mask;
      }
    }
  }

  const byMask = new Map<bigint, MaskTotals>();
  const totalsOf = (m: bigint) => {
    let t = byMask.get(m);
    if (!t) { t = ZERO_TOTALS(); byMask.set(m, t); }
    return t;
  };
  const extents = new Map<bigint, ExtentUse>();
  const leaves: SharingResult['leaves'] = [];
  for (const n of nodes.values()) {
    if (!n.mask) continue;
    totalsOf(n.mask).treeBlocks++;
    if (!n.leaf) continue;
    leaves.push({ mask: n.mask, data: n.leaf });
    for (const r of n.leaf.refs) {
      let e = extents.get(r.diskBytenr);
      if (!e) {
        e = { bytenr: r.diskBytenr, diskBytes: r.diskNumBytes, ramBytes: r.ramBytes, compression: r.compression, prealloc: r.prealloc, mask: 0n, ino: r.ino, multiInode: false, ranges: [] };
        extents.set(r.diskBytenr, e);
      } else if (r.ino !== e.ino) e.multiInode = true;
      // An extent written as prealloc and later partly written stays one extent: prealloc only if every reference is.
      if (!r.prealloc) e.prealloc = false;
      e.mask |= n.mask;
      e.ranges.push(r.offset, r.offset + r.numBytes);
    }
  }
  for (const e of extents.values()) {
    const t = totalsOf(e.mask);
    t.dataBytes += e.diskBytes;
    t.extents++;
    const w = extentWaste(e);
    if (e.compression !== Compression.NONE) {
      t.wasteEstimated += w;
      t.compressedDisk += e.diskBytes;
      t.compressedRam += e.ramBytes;
    }
    t.wasteBytes += w;
    if (e.prealloc) t.preallocBytes += e.diskBytes;
  }

  const nodesize = fs.superblock.nodesize;
  const perSubvol: SubvolSharing[] = subvols.map((s) => ({
    id: s.id, path: s.path ? '/' + s.path.map((p) => new TextDecoder().decode(p)).join('/') : s.id === 5n ? '/' : null,
    referencedData: 0n, exclusiveData: 0n, referencedMetaBlocks: 0, exclusiveMetaBlocks: 0, referenced: 0n, exclusive: 0n, shared: 0n,
    apparentBytes: 0n, files: 0, mappedBytes: 0n, inlineBytes: 0n, inlineStored: 0n, preallocBytes: 0n, wasteBytes: 0n, wasteEstimated: 0n, compressedDisk: 0n, compressedRam: 0n,
  }));
  for (const [m, t] of byMask) {
    const bits = bitsOf(m);
    const only = bits.length === 1;
    for (const i of bits) {
      const p = perSubvol[i]!;
      p.referencedData += t.dataBytes;
      p.referencedMetaBlocks += t.treeBlocks;
      if (only) { p.exclusiveData += t.dataBytes; p.exclusiveMetaBlocks += t.treeBlocks; }
      p.wasteBytes += t.wasteBytes;
      p.wasteEstimated += t.wasteEstimated;
      p.compressedDisk += t.compressedDisk;
      p.compressedRam += t.compressedRam;
      p.preallocBytes += t.preallocBytes;
    }
  }
  for (const l of leaves) {
    let mapped = 0n;
    for (const r of l.data.refs) mapped += r.numBytes;
    for (const i of bitsOf(l.mask)) {
      const p = perSubvol[i]!;
      p.apparentBytes += l.data.apparent;
      p.files += l.data.files;
      p.mappedBytes += mapped;
      p.inlineBytes += l.data.inlineBytes;
      p.inlineStored += l.data.inlineStored;
    }
  }
  const ns = BigInt(nodesize);
  for (const p of perSubvol) {
    p.referenced = p.referencedData + ns * BigInt(p.referencedMetaBlocks);
    p.exclusive = p.exclusiveData + ns * BigInt(p.exclusiveMetaBlocks);
    p.shared = p.referenced - p.exclusive;
  }
  return { nodesize, subvols, bit, extents, byMask, perSubvol, treeBlocks: nodes.size, leaves };
}

/**
 * Bytes of an extent no reference covers. Uncompressed: exact (ranges are
 * byte offsets into the extent on disk). Compressed: the uncovered share of
 * ram_bytes applied to the on-disk size, an estimate (compression is not
 * uniform across the extent).
 */
export function extentWaste(e: ExtentUse): bigint {
  const compressed = e.compression !== Compression.NONE;
  const size = compressed ? e.ramBytes : e.diskBytes;
  const covered = coveredBytes(e.ranges, size);
  if (covered >= size) return 0n;
  if (!compressed) return size - covered;
  return size === 0n ? 0n : (e.diskBytes * (size - covered)) / size;
}

/** Length of the union of [start, end) ranges, clipped to [0, limit). */
export function coveredBytes(flat: bigint[], limit: bigint): bigint {
  if (flat.length === 2) {
    const s = flat[0]! < 0n ? 0n : flat[0]!, e = flat[1]! > limit ? limit : flat[1]!;
    return e > s ? e - s : 0n;
  }
  const pairs: [bigint, bigint][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n, curS = -1n, curE = -1n;
  for (const [s0, e0] of pairs) {
    const s = s0 < 0n ? 0n : s0, e = e0 > limit ? limit : e0;
    if (e <= s) continue;
    if (s > curE) { if (curE > curS) total += curE - curS; curS = s; curE = e; } else if (e > curE) curE = e;
  }
  if (curE > curS) total += curE - curS;
  return total;
}

const S_IFMT = 0o170000, S_IFREG = 0o100000;

function leafData(b: TreeBlock, valid: number): LeafData {
  const d: LeafData = { refs: [], apparent: 0n, files: 0, inlineBytes: 0n, inlineStored: 0n };
  for (let i = 0; i < valid; i++) {
    const type = b.keyType(i);
    if (type === ItemType.INODE_ITEM) {
      const data = b.itemData(i);
      // btrfs_inode_item: size @16, mode @52.
      if (data.length >= 160 && (u32(data, 52) & S_IFMT) === S_IFREG) { d.apparent += u64(data, 16); d.files++; }
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
    d.refs.push({
      ino: k.objectid, fileOffset: k.offset, diskBytenr: fe.diskBytenr, diskNumBytes: fe.diskNumBytes, offset: fe.offset,
      numBytes: fe.numBytes, ramBytes: fe.ramBytes, compression: fe.compression, prealloc: fe.type === FileExtentType.PREALLOC,
    });
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
  let data = 0n, metaBlocks = 0;
  for (const [m, t] of r.byMask) {
    if (m && (m & ~g) === 0n) { data += t.dataBytes; metaBlocks += t.treeBlocks; }
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
