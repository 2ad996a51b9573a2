import { csumMatches } from '../../format/checksum.js';
import { ItemType, ObjectId } from '../../format/constants.js';
import { lastKeyAtOrBefore } from '../../fs/treeSearch.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { Recovered } from './recover.js';
import type { ScanResult } from './scan.js';

/** Most csum leaves read, newest first (each a few hundred items at most). */
export const MAX_CARVE_LEAVES = 8192;
/** Most free sectors read and checked: bounded time on a big image. */
export const MAX_CARVE_SECTORS = 1 << 18;

/** A run of free sectors a surviving csum item (of `generation`) names: data written then, checked against what the sectors hold now. */
export interface CarvedRun {
  logical: bigint;
  length: bigint;
  /** The generation of the csum leaf the checksums were read from. */
  generation: bigint;
  /** Sectors whose bytes match the checksum: the data written then is still there. */
  sectorsMatched: number;
  sectorsMismatched: number;
  sectorsUnreadable: number;
  /** Recovered files (subvol:ino) one of whose extents covers part of the run; [] when no file does: evidence of data, not a file. */
  claimedBy: string[];
}

export interface CarveReport {
  runs: CarvedRun[];
  leavesRead: number;
  sectorsChecked: number;
  /** The sector bound was reached: later runs were not checked. */
  truncated: boolean;
}

/**
 * Data carving by checksum: sectors free in the current extent tree that a
 * csum item of any surviving generation covers (csum leaves the metadata
 * scan found, newest first: the newest checksum of a sector is the last data
 * written there) are read and checked against that checksum. A match is
 * evidence that data written at that generation still lies there, also when
 * no inode (no extent item) says whose it was: reported as evidence, not as
 * a file.
 */
export function carveByChecksum(fs: Filesystem, scan: ScanResult, files: Recovered[]): CarveReport {
  const ss = BigInt(fs.superblock.sectorsize);
  const cs = fs.superblock.csumSize;
  const extentRoots = fs.globalRoots(ObjectId.EXTENT_TREE);
  const leaves = [...(scan.leaves.get(ObjectId.CSUM_TREE) ?? [])].sort((a, b) => (a.generation > b.generation ? -1 : a.generation < b.generation ? 1 : 0)).slice(0, MAX_CARVE_LEAVES);
  // Sectors already judged (by the newest csum naming them).
  const judged = new Set<bigint>();
  const runs: CarvedRun[] = [];
  let sectorsChecked = 0;
  let leavesRead = 0;
  let truncated = false;
  const allocated = (lo: bigint, hi: bigint): [bigint, bigint][] => {
    const out: [bigint, bigint][] = [];
    // An extent starting before `lo` can reach into it: extents do not overlap, so only the one
    // whose items come last before `lo` can (its start is their objectid). Reading 128 MiB of
    // the extent tree back instead cost thousands of items per csum item on a big image.
    // Every extent tree: with extent-tree-v2 an extent is in the global root its block group names.
    let from = lo;
    for (const root of extentRoots) {
      const before = lastKeyAtOrBefore(fs, root, { objectid: lo, type: 0, offset: 0n });
      if (before && before.objectid < from) from = before.objectid;
    }
    for (const { block, slot } of fs.globalItems(ObjectId.EXTENT_TREE, { objectid: from, type: 0, offset: 0n }, { objectid: hi - 1n, type: 255, offset: 0xffffffffffffffffn })) {
      const t = block.keyType(slot);
      if (t !== ItemType.EXTENT_ITEM && t !== ItemType.METADATA_ITEM) continue;
      const s = block.keyObjectid(slot);
      const e = t === ItemType.EXTENT_ITEM ? s + block.keyOffsetField(slot) : s + BigInt(fs.superblock.nodesize);
      if (e > lo && s < hi) out.push([s, e]);
    }
    return out;
  };
  for (const l of leaves) {
    if (truncated) break;
    const r = fs.reader.read({ logical: l.logical, level: 0, generation: l.generation }, { tree: ObjectId.CSUM_TREE });
    const b = r.block;
    if (!b) continue;
    leavesRead++;
    for (let slot = 0; slot < r.validItems && !truncated; slot++) {
      if (b.keyType(slot) !== ItemType.EXTENT_CSUM || b.keyObjectid(slot) !== ObjectId.EXTENT_CSUM) continue;
      const start = b.keyOffsetField(slot);
      const data = b.itemData(slot);
      const n = Math.floor(data.length / cs);
      if (n === 0) continue;
      const end = start + BigInt(n) * ss;
      const used = allocated(start, end);
      let run: CarvedRun | null = null;
      // `used` is in key order (by start): one pointer walks it with the sectors.
      let u = 0;
      const close = () => {
        if (run) runs.push(run);
        run = null;
      };
      for (let i = 0; i < n; i++) {
        const at = start + BigInt(i) * ss;
        // Past the extents that end at or before this sector, the first left overlaps it or none does
        // (the later ones start no earlier).
        while (u < used.length && used[u]![1] <= at) u++;
        const inUse = u < used.length && used[u]![0] < at + ss;
        if (judged.has(at) || inUse) {
          close();
          continue;
        }
        if (sectorsChecked >= MAX_CARVE_SECTORS) {
          truncated = true;
          break;
        }
        judged.add(at);
        sectorsChecked++;
        const cur: CarvedRun = run ?? { logical: at, length: 0n, generation: l.generation, sectorsMatched: 0, sectorsMismatched: 0, sectorsUnreadable: 0, claimedBy: [] };
        run = cur;
        cur.length += ss;
        const got = fs.volume.read(at, Number(ss));
        if (!got.bytes) cur.sectorsUnreadable++;
        else if (csumMatches(fs.superblock.csumType, got.bytes, data, i * cs)) cur.sectorsMatched++;
        else cur.sectorsMismatched++;
      }
      close();
    }
  }
  runs.sort((a, b) => (a.logical < b.logical ? -1 : 1));
  for (const run of runs) {
    const end = run.logical + run.length;
    for (const f of files)
      if (f.data.extents.some((x) => x.diskBytenr < end && run.logical < x.diskBytenr + x.diskNumBytes)) {
        const id = `${f.subvol}:${f.ino}`;
        if (!run.claimedBy.includes(id)) run.claimedBy.push(id);
      }
  }
  return { runs, leavesRead, sectorsChecked, truncated };
}
