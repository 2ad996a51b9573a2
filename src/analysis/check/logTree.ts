import { rule } from '../../findingRules.js';
import { FileExtentType, InodeFlag, ItemType, ObjectId } from '../../format/constants.js';
import { decodeFileExtent } from '../../format/items/fileExtent.js';
import { INODE_ITEM_SIZE, inodeFlags } from '../../format/items/inode.js';
import type { Key } from '../../format/key.js';
import { CsumLookup } from '../../fs/csums.js';
import type { Filesystem, RootRef } from '../../tree/Filesystem.js';
import { walkTree } from '../../tree/walk.js';
import type { CheckFinding } from './types.js';

interface LoggedExtent {
  ino: bigint;
  start: bigint;
  end: bigint;
  at: { block: bigint; slot: number; key: Key };
}

/**
 * The data of every file extent an unreplayed log tree holds has its
 * checksums in that same log: the kernel logs an extent's checksums with it
 * (tree-log.c log_extent_csums, copy_items), and replay inserts them into
 * the csum tree from the log alone — an extent logged without them would be
 * data without checksums after the replay (btrfs check: "csum missing in
 * log"). Not needed for preallocated extents, holes, inline data, and
 * inodes flagged NODATASUM in the log; a compressed extent needs them for
 * its whole disk extent, another for the bytes it uses. An extent whose
 * inode item is not in the log is not judged (its flags are unknown).
 * A fully logged inode (a full-sync fsync) has all its file extents copied
 * into the log, and those of earlier transactions keep their checksums in
 * the csum tree only: sectors the csum tree covers are covered (btrfs
 * check's check_log_root looks in the log, then in the csum tree).
 */
export function checkLogCsums(fs: Filesystem, add: (f: CheckFinding) => void): void {
  const sb = fs.superblock;
  if (sb.csumSize === 0 || !fs.logRootTree) return;
  const ss = BigInt(sb.sectorsize);
  const committed = new CsumLookup(fs);
  for (const lt of fs.logTrees()) checkOne(fs, lt, ss, committed, add);
}

function checkOne(fs: Filesystem, lt: RootRef, ss: bigint, committed: CsumLookup, add: (f: CheckFinding) => void): void {
  const sb = fs.superblock;
  const extents: LoggedExtent[] = [];
  const nodatasum = new Map<bigint, boolean>();
  const csums: { start: bigint; end: bigint }[] = [];
  walkTree(fs.reader, lt, {
    block(b, info) {
      if (!b.isLeaf) return;
      for (let slot = 0; slot < info.validItems; slot++) {
        const type = b.keyType(slot);
        if (type === ItemType.INODE_ITEM) {
          const d = b.itemData(slot);
          if (d.length >= INODE_ITEM_SIZE) nodatasum.set(b.keyObjectid(slot), (inodeFlags(d, 0) & InodeFlag.NODATASUM) !== 0n);
        } else if (type === ItemType.EXTENT_CSUM && b.keyObjectid(slot) === ObjectId.EXTENT_CSUM) {
          const start = b.keyOffsetField(slot);
          csums.push({ start, end: start + BigInt(Math.floor(b.itemSize(slot) / sb.csumSize)) * ss });
        } else if (type === ItemType.EXTENT_DATA) {
          const key = b.key(slot);
          const d = decodeFileExtent(key, b.itemData(slot));
          if (d.kind === 'invalid' || d.body !== 'disk' || d.type !== FileExtentType.REG || d.diskBytenr === 0n) continue;
          const start = d.compression ? d.diskBytenr : d.diskBytenr + d.offset;
          const len = d.compression ? d.diskNumBytes : d.numBytes;
          extents.push({ ino: key.objectid, start, end: start + len, at: { block: b.logical, slot, key } });
        }
      }
    },
  });
  csums.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  // The first sector of [start, end) no csum item of the log covers, or undefined.
  const uncoveredInLog = (start: bigint, end: bigint): bigint | undefined => {
    let at = start - (start % ss);
    let lo = 0,
      hi = csums.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (csums[m]!.end <= at) lo = m + 1;
      else hi = m;
    }
    for (let i = lo; at < end; i++) {
      const c = csums[i];
      if (!c || c.start > at) return at;
      if (c.end > at) at = c.end;
    }
    return undefined;
  };
  // The first sector of [start, end) neither the log nor the csum tree has a checksum for.
  const uncovered = (start: bigint, end: bigint): bigint | undefined => {
    for (let at = uncoveredInLog(start, end); at !== undefined && at < end; at = uncoveredInLog(at + ss, end)) {
      if (!committed.available || !committed.lookup(at, 1).present[0]) return at;
    }
    return undefined;
  };
  for (const x of extents) {
    if (nodatasum.get(x.ino) !== false) continue;
    const gap = uncovered(x.start, x.end);
    if (gap === undefined) continue;
    add({
      ...rule('log-csum-missing'),
      message: `log tree of subvolume ${lt.key.offset}: inode ${x.ino} file extent at ${x.at.key.offset} uses data [${x.start}, ${x.end}) but neither the log nor the csum tree has a checksum for ${gap} (replay would leave the data without checksums)`,
      location: { tree: lt.tree, block: x.at.block, slot: x.at.slot, key: x.at.key, logical: gap },
    });
  }
}
