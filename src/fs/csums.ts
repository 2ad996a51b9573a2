import { ItemType, ObjectId } from '../format/constants.js';
import type { Key } from '../format/key.js';
import type { Filesystem } from '../tree/Filesystem.js';
import type { TreeRoot } from '../tree/walk.js';
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
    for (const { block, slot } of itemsOfRoots(this.fs, this.roots, from, max)) {
      if (block.keyObjectid(slot) !== ObjectId.EXTENT_CSUM || block.keyType(slot) !== ItemType.EXTENT_CSUM) continue;
      const itemStart = block.keyOffsetField(slot);
      const data = block.itemData(slot);
      const n = Math.floor(data.length / cs);
      const itemEnd = itemStart + BigInt(n) * ss;
      if (itemEnd <= start || itemStart >= end) continue;
      // Sectors of the item that fall in [start, end).
      const lo = itemStart > start ? itemStart : start;
      const hi = itemEnd < end ? itemEnd : end;
      if ((lo - itemStart) % ss !== 0n) continue; // misaligned item: ignore rather than mis-assign
      const first = Number((lo - itemStart) / ss);
      const outFirst = Number((lo - start) / ss);
      const k = Number((hi - lo) / ss);
      out.csums.set(data.subarray(first * cs, (first + k) * cs), outFirst * cs);
      out.present.fill(1, outFirst, outFirst + k);
    }
    return out;
  }
}
