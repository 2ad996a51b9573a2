import { ItemType, ObjectId } from '../format/constants.js';
import type { Key } from '../format/key.js';
import type { TreeBlock } from '../format/treeBlock.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { readChild, readRoot, type TreeRoot } from '../tree/walk.js';
import { itemsFromAtOrBefore } from './treeSearch.js';

/** Data checksums of a run of sectors: `present[i]` tells whether sector i has one. */
export interface SectorCsums {
  start: bigint;
  count: number;
  csumSize: number;
  csums: Uint8Array;
  present: Uint8Array;
}

/** The items of every root in [from, max], one root after another (the ranges' items are in one of them). */
function* itemsOfRoots(fs: Filesystem, roots: TreeRoot[], from: Key, max: Key) {
  for (const root of roots) yield* itemsFromAtOrBefore(fs, root, from, max);
}

/**
 * Looks up data checksums in the csum tree: items (EXTENT_CSUM,
 * EXTENT_CSUM, logical) each hold one checksum per sector for consecutive
 * sectors starting at `logical`.
 */
export class CsumLookup {
  /** Every csum tree (extent-tree-v2 has one per global root; the item for a range is in one of them). */
  private readonly roots: TreeRoot[];
  readonly csumSize: number;
  readonly sectorsize: bigint;
  /**
   * The csum leaf of the last lookup, and its valid items: a file's reads, and files read in
   * inode order, mostly want the checksums of the same leaf, found there without a descent.
   */
  private leaf: { block: TreeBlock; valid: number } | null = null;

  constructor(private readonly fs: Filesystem) {
    this.roots = fs.globalRoots(ObjectId.CSUM_TREE);
    this.csumSize = fs.superblock.csumSize;
    this.sectorsize = BigInt(fs.superblock.sectorsize);
  }

  get available(): boolean {
    return this.roots.length > 0 && this.csumSize > 0;
  }

  /** Checksums of `count` sectors from `start` (sector aligned). */
  lookup(start: bigint, count: number): SectorCsums {
    const cs = this.csumSize;
    const out: SectorCsums = { start, count, csumSize: cs, csums: new Uint8Array(count * cs), present: new Uint8Array(count) };
    if (!this.roots.length || cs === 0 || count === 0) return out;
    const ss = this.sectorsize;
    const end = start + BigInt(count) * ss;
    const from = { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: start };
    const max = { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: end - 1n };
    const leaf = this.leafFor(from, max);
    if (leaf) {
      let slot = leaf.block.search(from).slot;
      for (; slot < leaf.valid && leaf.block.compareKey(slot, max) <= 0; slot++) this.take(out, leaf.block, slot);
      return out;
    }
    for (const { block, slot } of itemsOfRoots(this.fs, this.roots, from, max)) this.take(out, block, slot);
    return out;
  }

  /**
   * The leaf holding every item of [the last one <= from, max] (of a lone csum tree that no
   * overlay serves): the last leaf looked up when it still does, else the one a descent finds.
   * Null when no one leaf holds them all (then the items are walked across leaves).
   */
  private leafFor(from: Key, max: Key): { block: TreeBlock; valid: number } | null {
    if (this.roots.length !== 1 || this.fs.overlaid(this.roots[0]!.tree)) return null;
    const holds = (l: { block: TreeBlock; valid: number }) => l.valid > 0 && l.block.compareKey(0, from) <= 0 && l.block.compareKey(l.valid - 1, max) > 0;
    if (this.leaf && holds(this.leaf)) return this.leaf;
    const root = this.roots[0]!;
    const opts = this.fs.walkOptions;
    let r = readRoot(this.fs.reader, root, opts);
    // Levels strictly decrease on the way down (readChild checks), so this ends.
    while (r.block && !r.block.isLeaf) {
      const slot = r.block.search(from).slot;
      if (slot < 0 || slot >= r.validItems) return null;
      r = readChild(this.fs.reader, r.block, slot, root.tree, opts);
    }
    if (!r.block) return null;
    const l = { block: r.block, valid: r.validItems };
    this.leaf = l;
    return holds(l) ? l : null;
  }

  /** Copies the checksums of one item that fall in `out`'s sectors. */
  private take(out: SectorCsums, block: TreeBlock, slot: number): void {
    const cs = this.csumSize;
    const ss = this.sectorsize;
    const start = out.start;
    const end = start + BigInt(out.count) * ss;
    if (block.keyObjectid(slot) !== ObjectId.EXTENT_CSUM || block.keyType(slot) !== ItemType.EXTENT_CSUM) return;
    const itemStart = block.keyOffsetField(slot);
    const data = block.itemData(slot);
    const n = Math.floor(data.length / cs);
    const itemEnd = itemStart + BigInt(n) * ss;
    if (itemEnd <= start || itemStart >= end) return;
    // Sectors of the item that fall in [start, end).
    const lo = itemStart > start ? itemStart : start;
    const hi = itemEnd < end ? itemEnd : end;
    if ((lo - itemStart) % ss !== 0n) return; // misaligned item: ignore rather than mis-assign
    const first = Number((lo - itemStart) / ss);
    const outFirst = Number((lo - start) / ss);
    const k = Number((hi - lo) / ss);
    out.csums.set(data.subarray(first * cs, (first + k) * cs), outFirst * cs);
    out.present.fill(1, outFirst, outFirst + k);
  }
}
