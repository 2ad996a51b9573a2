import { csumMatches } from '../../format/checksum.js';
import { ItemType, ObjectId } from '../../format/constants.js';
import { extentGeneration, extentItem } from '../../format/items/extent.js';
import type { Key } from '../../format/key.js';
import type { FsView } from '../../fs/FsView.js';
import { fileExtents } from '../../fs/fileData.js';
import { lastKeyAtOrBefore } from '../../fs/treeSearch.js';
import type { Inode } from '../../fs/types.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { TreeRoot } from '../../tree/walk.js';
import type { Chunk } from '../../volume/ChunkMap.js';

/**
 * What is left of a recovered file's data: each extent checked against the
 * checksums that survive from its generation and against the current
 * extent tree (recover.ts gives every recovered version its verdict here).
 */

/**
 * intact: every sector checked against a surviving checksum matches, and no
 * extent is allocated to anything else now; unverified: not reused, but no
 * surviving checksum to check against; partly-overwritten: some sectors no
 * longer match (or some extents are reused); overwritten: none match / all
 * reused; gone: the data's chunk is no longer mapped or unreadable; inline:
 * the data was in the (checksummed) tree leaf; no-data: empty, holes only,
 * or not a regular file.
 */
export type DataStateName = 'intact' | 'unverified' | 'partly-overwritten' | 'overwritten' | 'gone' | 'inline' | 'no-data';

export interface ExtentState {
  fileOffset: bigint;
  diskBytenr: bigint;
  diskNumBytes: bigint;
  /** Allocated now in the current extent tree to something else (bytes of overlap), or still this extent, shared with a live file. */
  reusedBytes: bigint;
  stillAllocated: boolean;
  sectorsOk: number;
  sectorsBad: number;
  sectorsNoCsum: number;
  unreadable: boolean;
  /**
   * The chunk the extent's logical address was mapped through: the current chunk tree's, or one
   * the filesystem no longer has (its block group removed since), read from an older chunk-tree
   * leaf or superblock copy of `generation`. Null when no chunk maps it.
   */
  mapping: { chunk: bigint; origin: Chunk['origin']; generation: bigint | null } | null;
}

export interface DataState {
  state: DataStateName;
  sectorsOk: number;
  sectorsBad: number;
  sectorsNoCsum: number;
  reusedBytes: bigint;
  extents: ExtentState[];
}

/** Checks a recovered file's data against surviving checksums and the current extent tree. */
export class DataChecker {
  /** Every extent tree: with extent-tree-v2 an extent is in the global root its block group names. */
  private readonly extentRoots: TreeRoot[];
  private readonly ss: number;
  private readonly cache = new Map<string, ExtentState>();
  private scratch: Uint8Array | undefined;

  constructor(
    private readonly fs: Filesystem,
    private readonly csumRoots: TreeRoot[],
  ) {
    this.extentRoots = fs.globalRoots(ObjectId.EXTENT_TREE);
    this.ss = fs.superblock.sectorsize;
  }

  /** `lastSeen`: the generation the file was last seen at; checksums come from csum trees of [extent generation, lastSeen]. */
  check(view: FsView, inode: Inode, lastSeen: bigint): DataState {
    const st: DataState = { state: 'no-data', sectorsOk: 0, sectorsBad: 0, sectorsNoCsum: 0, reusedBytes: 0n, extents: [] };
    if (inode.kind !== 'file') return st;
    let inline = false;
    for (const e of fileExtents(view, inode)) {
      if (e.kind === 'inline') {
        inline = true;
        continue;
      }
      if (e.kind !== 'regular') continue;
      const k = `${e.diskBytenr}:${e.diskNumBytes}:${lastSeen}`;
      let x = this.cache.get(k);
      if (!x) this.cache.set(k, (x = this.extent(e.diskBytenr, e.diskNumBytes, e.generation, lastSeen)));
      st.extents.push({ ...x, fileOffset: e.fileOffset });
    }
    for (const x of st.extents) {
      st.sectorsOk += x.sectorsOk;
      st.sectorsBad += x.sectorsBad;
      st.sectorsNoCsum += x.sectorsNoCsum;
      st.reusedBytes += x.reusedBytes;
    }
    const n = st.extents.length;
    if (n === 0) {
      st.state = inline ? 'inline' : 'no-data';
      return st;
    }
    if (st.extents.every((x) => x.unreadable)) st.state = 'gone';
    else if (st.sectorsBad > 0 && st.sectorsOk === 0 && st.sectorsNoCsum === 0) st.state = 'overwritten';
    else if (st.sectorsBad > 0 || st.extents.some((x) => x.unreadable)) st.state = 'partly-overwritten';
    else if (st.reusedBytes > 0n) st.state = st.sectorsOk > 0 && st.sectorsNoCsum === 0 ? 'intact' : st.extents.every((x) => x.reusedBytes > 0n) ? 'overwritten' : 'partly-overwritten';
    else st.state = st.sectorsNoCsum > 0 ? 'unverified' : 'intact';
    return st;
  }

  private extent(bytenr: bigint, len: bigint, generation: bigint, lastSeen: bigint): ExtentState {
    const x: ExtentState = {
      fileOffset: 0n,
      diskBytenr: bytenr,
      diskNumBytes: len,
      reusedBytes: 0n,
      stillAllocated: false,
      sectorsOk: 0,
      sectorsBad: 0,
      sectorsNoCsum: 0,
      unreadable: false,
      mapping: null,
    };
    this.allocation(x, generation);
    const m = this.fs.volume.map(bytenr);
    if (m) x.mapping = { chunk: m.chunk.logical, origin: m.chunk.origin, generation: m.chunk.generation ?? null };
    if (this.fs.volume.copyCount(bytenr) === 0) {
      x.unreadable = true;
      return x;
    }
    const vol = this.fs.volume;
    const ss = BigInt(this.ss);
    const piece = 256n * ss;
    for (let at = bytenr; at < bytenr + len; at += piece) {
      const n = Number((bytenr + len - at < piece ? bytenr + len - at : piece) / ss);
      // Only checksums are taken from the bytes: one buffer serves every piece of every extent
      // (a new 1 MiB buffer per extent cost more than the reads of small files).
      const r = vol.read(at, n * this.ss, (this.scratch ??= new Uint8Array(Number(piece))));
      if (!r.bytes) {
        x.unreadable = true;
        return x;
      }
      const sums = this.csums(at, n, generation, x.stillAllocated ? undefined : lastSeen);
      for (let i = 0; i < n; i++) {
        const c = sums[i];
        if (!c) {
          x.sectorsNoCsum++;
          continue;
        }
        if (csumMatches(this.fs.superblock.csumType, r.bytes.subarray(i * this.ss, (i + 1) * this.ss), c, 0)) x.sectorsOk++;
        else x.sectorsBad++;
      }
    }
    return x;
  }

  /** Overlap of [bytenr, +len) with what the current extent tree has allocated. */
  private allocation(x: ExtentState, generation: bigint): void {
    for (const root of this.extentRoots) this.allocationIn(root, x, generation);
  }

  private allocationIn(root: TreeRoot, x: ExtentState, generation: bigint): void {
    const start = x.diskBytenr,
      end = x.diskBytenr + x.diskNumBytes;
    const from = lastKeyAtOrBefore(this.fs, root, { objectid: start, type: 0, offset: 0n });
    const min: Key = { objectid: from ? from.objectid : start, type: 0, offset: 0n };
    // Back up one more object: the key at-or-before may be a keyed backref of the extent before.
    const min2 = from ? lastKeyAtOrBefore(this.fs, root, { objectid: min.objectid - 1n, type: 255, offset: 0xffffffffffffffffn }) : undefined;
    const lo: Key = min2 ? { objectid: min2.objectid, type: 0, offset: 0n } : min;
    for (const { block, slot } of this.fs.items(root, lo, { objectid: end - 1n, type: 255, offset: 0xffffffffffffffffn })) {
      const t = block.keyType(slot);
      if (t !== ItemType.EXTENT_ITEM && t !== ItemType.METADATA_ITEM) continue;
      const s = block.keyObjectid(slot);
      const e = t === ItemType.EXTENT_ITEM ? s + block.keyOffsetField(slot) : s + BigInt(this.fs.superblock.nodesize);
      if (e <= start || s >= end) continue;
      const d = block.itemData(slot);
      // The same extent, not rewritten since: still allocated (shared).
      if (t === ItemType.EXTENT_ITEM && s === start && e === end && d.length >= EXTENT_GENERATION_END && extentGeneration(d, 0) <= generation) {
        x.stillAllocated = true;
        continue;
      }
      x.reusedBytes += (e < end ? e : end) - (s > start ? s : start);
    }
  }

  /**
   * Checksums of `n` sectors from `at`, from the newest surviving csum tree
   * of generation [lo, hi] that has each: one written while the data was
   * this file's (a newer one may hold the checksum of whatever reused the
   * sector). Without `hi` (the extent is still allocated) any tree will do.
   */
  private csums(at: bigint, n: number, lo: bigint, hi: bigint | undefined): (Uint8Array | undefined)[] {
    const out: (Uint8Array | undefined)[] = new Array(n);
    const cs = this.fs.superblock.csumSize;
    const ss = BigInt(this.ss);
    let left = n;
    for (const root of this.csumRoots) {
      if (left === 0) break;
      const g = root.generation ?? 0n;
      if (g < lo || (hi !== undefined && g > hi)) continue;
      const end = at + BigInt(n) * ss;
      const k0 = lastKeyAtOrBefore(this.fs, root, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: at });
      const min = k0 && k0.objectid === ObjectId.EXTENT_CSUM ? k0 : { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: at };
      for (const { block, slot } of this.fs.items(root, min, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: end - 1n })) {
        if (block.keyType(slot) !== ItemType.EXTENT_CSUM) continue;
        const s = block.keyOffsetField(slot);
        const data = block.itemData(slot);
        const cnt = Math.floor(data.length / cs);
        // Only the item's sectors inside [at, end): an item may cover thousands of sectors (one
        // per sector written in a transaction), and a file looks up only its own.
        const first = s >= at ? 0 : Number((at - s) / ss);
        const past = Math.min(cnt, Number((end - s + ss - 1n) / ss));
        for (let j = first; j < past; j++) {
          const i = Number((s - at) / ss) + j;
          if (i >= 0 && i < n && out[i] === undefined) {
            out[i] = data.subarray(j * cs, (j + 1) * cs);
            left--;
          }
        }
      }
    }
    return out;
  }
}

/** An extent item long enough to hold its generation. */
const EXTENT_GENERATION_END = extentItem.off.generation + extentItem.sizeOf.generation;
