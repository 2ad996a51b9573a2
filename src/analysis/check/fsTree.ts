import { type FindingCode, rule } from '../../findingRules.js';
import { u64n } from '../../format/bytes.js';
import { FileExtentType, InodeFlag, ItemType, ObjectId } from '../../format/constants.js';
import { DIR_ITEM_HEADER_SIZE, dirItem, dirItemLocationObjectid, dirItemLocationType, dirItemNameLen, forEachDirEntry } from '../../format/items/dir.js';
import {
  forEachInodeRef,
  INODE_EXTREF_HEADER_SIZE,
  INODE_ITEM_SIZE,
  INODE_REF_HEADER_SIZE,
  inodeExtref,
  inodeExtrefNameLen,
  inodeExtrefParent,
  inodeFlags,
  inodeMode,
  inodeNbytes,
  inodeNlink,
  inodeRefIndex,
  inodeRefNameLen,
  inodeSize,
} from '../../format/items/inode.js';
import { diskKey, type Key, keyOffsetIsObjectid } from '../../format/key.js';
import type { TreeBlock } from '../../format/treeBlock.js';
import { displayName } from '../../fs/names.js';
import { grown } from '../columns.js';
import { fileExtentAt } from './decoded.js';
import { LinkBalance, linkHash } from './linkBalance.js';
import type { CheckFinding } from './types.js';

/**
 * The two sides of each balance: a DIR_INDEX entry adds 1; its DIR_ITEM
 * twin (itemBalance) or the inode's own INODE_REF/EXTREF (refBalance) takes 1.
 */
const INDEX_SIDE = 1,
  OTHER_SIDE = -1;

/** A finding about one inode, kept until the end: orphan items (which excuse it) come last in the tree. */
interface InodeFinding {
  ino: bigint;
  code: FindingCode;
  message: string;
  block?: bigint;
  slot?: number;
}

/**
 * A name of an inode, kept to name the files under a lost block: from the
 * directory's DIR_INDEX, or from the inode's own INODE_REF (which tells the
 * DIR_INDEX key, index, the name had in its directory).
 */
export interface NameLink {
  dir: bigint;
  target: bigint;
  name: Uint8Array;
  index?: bigint;
}

/** Ranges of a file's data that need checksums (regular extents of inodes without NODATASUM). */
export interface CsumNeed {
  start: bigint;
  end: bigint;
}

/**
 * Consistency of one fs tree (subvolume) as btrfs check's fs-roots pass
 * sees it, fed every leaf item in key order: nlink against the names
 * (INODE_REF/INODE_EXTREF), DIR_ITEM/DIR_INDEX/INODE_REF triples, directory
 * isize (the sum of name lengths in DIR_ITEM and DIR_INDEX), nbytes against
 * the file extents, unlinked inodes without an orphan item, file extents that
 * overlap.
 *
 * All items of an inode share its object id and are adjacent in key order
 * (INODE_ITEM 1, INODE_REF 12, INODE_EXTREF 13, ... DIR_ITEM 84, DIR_INDEX 96,
 * EXTENT_DATA 108), so the per-inode checks run when the object id changes
 * and keep nothing per inode. The three halves of a name live in two places
 * (the directory's entries, the inode's refs): they are matched through
 * LinkBalance tables that hold only links whose halves have not met yet.
 */
export class FsTreeChecker {
  /** DIR_INDEX against INODE_REF/EXTREF (the directory's entry against the inode's own name). */
  private readonly refBalance = new LinkBalance();
  /** DIR_INDEX against DIR_ITEM (both in the directory, adjacent: this stays as small as one directory). */
  private readonly itemBalance = new LinkBalance();
  /** Object ids that have an inode item or a name: to tell a dangling directory entry from a missing ref. */
  private present = new BigUint64Array(1024);
  private presentCount = 0;
  private readonly pending: InodeFinding[] = [];
  private readonly orphans = new Set<bigint>();
  /** Object id ranges of blocks no copy of which could be read (or out of key order): checks involving them are skipped. */
  private readonly lostRanges: [bigint, bigint][] = [];
  private readonly skippedRanges: [bigint, bigint][] = [];
  /** The object whose items are being fed, and what they said so far. */
  private cur = -1n;
  private hasInode = false;
  private nlink = 0;
  private mode = 0;
  private isize = 0n;
  private nbytes = 0n;
  /** Bytes the file extents account for: what nbytes must say (inline: ram_bytes; regular and prealloc: num_bytes, holes not). */
  private extentBytes = 0n;
  private inodeAt = { block: 0n, slot: 0 };
  private names = 0;
  private dirNameBytes = 0;
  private nodatasum = false;
  private extentEnd = -1n;
  /** Without NO_HOLES: how far from 0 the file extents cover the file without a gap, and where the first gap is. */
  private covered = 0n;
  private gapAt = -1n;

  /**
   * `explicitHoles`: the sector size when the filesystem lacks the NO_HOLES
   * feature, so every byte of a file up to its size must be covered by a
   * file extent (holes are extents of disk_bytenr 0); 0 with NO_HOLES.
   */
  constructor(
    readonly tree: bigint,
    private readonly add: (f: CheckFinding) => void,
    private readonly csumNeeds: CsumNeed[] | null,
    private readonly explicitHoles = 0n,
    private readonly unsummed: CsumNeed[] | null = null,
  ) {}

  get hasLost(): boolean {
    return this.lostRanges.length > 0;
  }

  lost(min: Key, max: Key): void {
    this.lostRanges.push([min.objectid, max.objectid]);
  }

  /**
   * A subtree shared with a subvolume checked before (a snapshot's unchanged
   * part): the same bytes gave their verdicts there, so its inodes are left
   * out here like lost ones, without being lost.
   */
  skipped(min: Key, max: Key): void {
    // They come in key order (a depth-first walk): adjacent ones merge, and lookups can bisect.
    const r = this.skippedRanges,
      last = r[r.length - 1];
    if (last && min.objectid <= last[1] + 1n) {
      if (max.objectid > last[1]) last[1] = max.objectid;
    } else r.push([min.objectid, max.objectid]);
  }

  /** Lost, or being deleted (an orphan item: its names and items may be half gone, legitimately). */
  private isLost(ino: bigint): boolean {
    if (this.orphans.has(ino)) return true;
    for (const [a, b] of this.lostRanges) if (ino >= a && ino <= b) return true;
    const r = this.skippedRanges;
    let lo = 0,
      hi = r.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (ino < r[mid]![0]) hi = mid - 1;
      else if (ino > r[mid]![1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  item(block: TreeBlock, slot: number): void {
    const type = block.keyType(slot);
    const ino = block.keyObjectid(slot);
    if (ino !== this.cur) this.nextObject(ino);
    const data = block.itemData(slot);
    const keyAt = block.keyOffset(slot),
      bytes = block.data;
    switch (type) {
      case ItemType.INODE_ITEM:
        if (data.length < INODE_ITEM_SIZE) return;
        this.hasInode = true;
        this.nlink = inodeNlink(data, 0);
        this.mode = inodeMode(data, 0);
        this.isize = inodeSize(data, 0);
        this.nbytes = inodeNbytes(data, 0);
        this.inodeAt = { block: block.logical, slot };
        this.nodatasum = (inodeFlags(data, 0) & InodeFlag.NODATASUM) !== 0n;
        this.extentEnd = -1n;
        this.covered = 0n;
        this.gapAt = -1n;
        return;
      case ItemType.INODE_REF: {
        // The key offset is the parent directory; refs that run past the item are reported by the item checks.
        const self = keyOffsetIsObjectid(bytes, keyAt);
        const parentAt = keyAt + KEY_OFFSET;
        forEachInodeRef(data, 0, data.length, (p, len) => {
          this.names++;
          // A subvolume's root directory names itself ".." and no directory entry goes with it.
          if (!self) this.balance(this.refBalance, OTHER_SIDE, linkHash(bytes, parentAt, bytes, keyAt, data, p + INODE_REF_HEADER_SIZE, len), bytes, parentAt, bytes, keyAt, block, slot, p);
        });
        return;
      }
      case ItemType.INODE_EXTREF: {
        // btrfs_inode_extref entries, packed; one that runs past the item is reported by the item checks.
        for (let p = 0; p + INODE_EXTREF_HEADER_SIZE <= data.length; ) {
          const len = inodeExtrefNameLen(data, p);
          if (p + INODE_EXTREF_HEADER_SIZE + len > data.length) break;
          this.names++;
          const parentAt = p + inodeExtref.off.parent;
          this.balance(this.refBalance, OTHER_SIDE, linkHash(data, parentAt, bytes, keyAt, data, p + INODE_EXTREF_HEADER_SIZE, len), data, parentAt, bytes, keyAt, block, slot, p);
          p += INODE_EXTREF_HEADER_SIZE + len;
        }
        return;
      }
      case ItemType.DIR_ITEM:
      case ItemType.DIR_INDEX: {
        // Entries that run past the item are reported by the item checks.
        forEachDirEntry(data, 0, data.length, (p, nameLen) => {
          this.dirNameBytes += nameLen;
          // Subvolume links point at a ROOT_ITEM: their other halves are ROOT_REF/ROOT_BACKREF in the root tree.
          if (dirItemLocationType(data, p) === ItemType.INODE_ITEM) {
            const targetAt = p + LOCATION_OBJECTID;
            const h = linkHash(bytes, keyAt, data, targetAt, data, p + DIR_ITEM_HEADER_SIZE, nameLen);
            if (type === ItemType.DIR_ITEM) this.balance(this.itemBalance, OTHER_SIDE, h, bytes, keyAt, data, targetAt, block, slot, p);
            else {
              this.balance(this.itemBalance, INDEX_SIDE, h, bytes, keyAt, data, targetAt, block, slot, p);
              this.balance(this.refBalance, INDEX_SIDE, h, bytes, keyAt, data, targetAt, block, slot, p);
            }
          }
        });
        return;
      }
      case ItemType.ORPHAN_ITEM:
        if (ino === ObjectId.ORPHAN) this.orphans.add(block.keyOffsetField(slot));
        return;
      case ItemType.EXTENT_DATA: {
        const d = fileExtentAt(block, slot);
        if (d.kind === 'invalid') return;
        const len = d.body === 'inline' ? d.ramBytes : d.numBytes;
        if (this.hasInode && d.fileOffset < this.extentEnd) {
          this.add({
            ...rule('file-extent-overlap'),
            message: `inode ${ino}: file extent at ${d.fileOffset} starts before the previous one ends (${this.extentEnd})`,
            location: { tree: this.tree, block: block.logical, logical: block.logical, slot, key: block.key(slot) },
          });
        }
        if (this.hasInode) this.extentEnd = d.fileOffset + len;
        if (this.explicitHoles && this.hasInode && this.gapAt < 0n) {
          // An inline extent stands for its whole sector: a file extended past it gets its hole extent from the next sector.
          const end = d.body === 'inline' ? roundUp(d.fileOffset + len, this.explicitHoles) : d.fileOffset + len;
          if (d.fileOffset > this.covered) this.gapAt = this.covered;
          else if (end > this.covered) this.covered = end;
        }
        if (d.body === 'inline' || d.diskBytenr !== 0n) this.extentBytes += len;
        // Compressed extents carry checksums even in NODATASUM inodes (btrfs check requires them).
        if (this.csumNeeds && d.body === 'disk' && d.type === FileExtentType.REG && d.diskBytenr !== 0n && this.hasInode && (!this.nodatasum || d.compression !== 0)) {
          // Compressed extents are checksummed as stored: the whole disk extent.
          this.csumNeeds.push(d.compression ? { start: d.diskBytenr, end: d.diskBytenr + d.diskNumBytes } : { start: d.diskBytenr + d.offset, end: d.diskBytenr + d.offset + d.numBytes });
        }
        // The written data of NODATASUM files has no checksum: only comparing mirrors can tell them apart.
        if (this.unsummed && d.body === 'disk' && d.type === FileExtentType.REG && d.diskBytenr !== 0n && this.hasInode && this.nodatasum && d.compression === 0) {
          this.unsummed.push({ start: d.diskBytenr + d.offset, end: d.diskBytenr + d.offset + d.numBytes });
        }
        return;
      }
    }
  }

  private balance(t: LinkBalance, side: number, h: number, dir: Uint8Array, dirAt: number, target: Uint8Array, targetAt: number, block: TreeBlock, slot: number, offset: number): void {
    const at = t.add(h, side);
    // Ids as doubles (Infinity from 2^53: never excused without rereading the link, as ids that large are not exact).
    if (at >= 0) t.place(at, u64n(dir, dirAt), u64n(target, targetAt), block.logical, slot, offset);
  }

  /** The items of object `cur` are all in: its own checks, then a fresh start for `next` (-1: the end). */
  private nextObject(next: bigint): void {
    const ino = this.cur;
    // Items out of key order (reported by the item checks) split an inode's items: its checks would mislead.
    if (next >= 0n && next < ino) this.lostRanges.push([next, ino]);
    if (ino >= 0n && (this.hasInode || this.names > 0)) {
      this.present = grown(this.present, this.presentCount + 1);
      this.present[this.presentCount++] = ino;
      const t = this.tree,
        at = this.inodeAt;
      if (!this.hasInode) {
        this.pending.push({ ino, code: 'inode-missing', message: `subvolume ${t} inode ${ino} has names (INODE_REF) but no inode item` });
      } else {
        const isDir = (this.mode & 0o170000) === 0o040000;
        if (this.nlink === 0) this.pending.push({ ino, code: 'orphan-missing', message: `subvolume ${t} inode ${ino} has nlink 0 and no orphan item`, ...at });
        else if (!isDir && this.nlink !== this.names) this.pending.push({ ino, code: 'nlink', message: `subvolume ${t} inode ${ino} has nlink ${this.nlink} but ${this.names} name(s)`, ...at });
        // Only files and symlinks: mkfs gives the top directory nbytes = nodesize, and btrfs check lets directories be.
        const fmt = this.mode & 0o170000;
        if ((fmt === 0o100000 || fmt === 0o120000) && this.nbytes !== this.extentBytes) {
          this.pending.push({ ino, code: 'inode-nbytes', message: `subvolume ${t} inode ${ino} has nbytes ${this.nbytes}, its file extents add up to ${this.extentBytes}`, ...at });
        }
        // btrfs check (I_ERR_FILE_EXTENT_DISCOUNT): without NO_HOLES a regular file's extents leave no gap below its size.
        if (this.explicitHoles && fmt === 0o100000) {
          const gap = this.gapAt >= 0n ? this.gapAt : this.covered;
          if (gap < this.isize) {
            this.pending.push({
              ino,
              code: 'file-extent-gap',
              message: `subvolume ${t} inode ${ino}: no file extent covers offset ${gap} (size ${this.isize}; the filesystem has no NO_HOLES feature, so holes need extents)`,
              ...at,
            });
          }
        }
        if (isDir && this.isize !== BigInt(this.dirNameBytes)) {
          this.pending.push({ ino, code: 'dir-isize', message: `subvolume ${t} directory ${ino} has isize ${this.isize}, its names add up to ${this.dirNameBytes}`, ...at });
        }
      }
    }
    this.cur = next;
    this.hasInode = false;
    this.names = 0;
    this.dirNameBytes = 0;
    this.extentBytes = 0n;
    this.nodatasum = false;
    this.extentEnd = -1n;
    this.covered = 0n;
    this.gapAt = -1n;
  }

  /**
   * Reports what the tree's items left unmatched. `reread` fetches a block
   * again (verified) to spell the name of a broken link.
   */
  finish(reread: (logical: bigint) => TreeBlock | null): void {
    this.nextObject(-1n);
    const t = this.tree;
    for (const f of this.pending) {
      if (this.isLost(f.ino)) continue;
      // An inode without an item is located by its key only.
      const where = f.block !== undefined ? { block: f.block, logical: f.block, slot: f.slot! } : {};
      this.add({ ...rule(f.code), message: f.message, location: { tree: t, key: { objectid: f.ino, type: ItemType.INODE_ITEM, offset: 0n }, ...where } });
    }
    const present = this.present.subarray(0, this.presentCount).sort();
    const has = (ino: bigint) => {
      let lo = 0,
        hi = present.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1,
          v = present[mid]!;
        if (v === ino) return true;
        if (v < ino) lo = mid + 1;
        else hi = mid - 1;
      }
      return false;
    };
    // Ids below 2^53 are exact as doubles: a link into a lost or skipped range is excused without reading its block again.
    const excused = (x: number) => x < 2 ** 53 && this.isLost(BigInt(x));
    const links = (tb: LinkBalance) =>
      [...tb.open()]
        .filter((e) => !excused(e.dir) && !excused(e.target))
        .map((e) => ({ ...e, link: this.linkAt(reread, e.block, e.item, e.offset) }))
        .filter((e) => e.link && !this.isLost(e.link.dir) && !this.isLost(e.link.target))
        .sort((a, b) => (a.block < b.block ? -1 : a.block > b.block ? 1 : a.item - b.item || a.offset - b.offset));
    const report = (code: FindingCode, what: string, l: NameLink) =>
      this.add({
        ...rule(code),
        message: `subvolume ${t} directory ${l.dir} name "${displayName(l.name)}" -> inode ${l.target}: ${what}`,
        location: { tree: t, key: { objectid: l.dir, type: 0, offset: 0n } },
      });
    const items = links(this.itemBalance),
      refs = links(this.refBalance);
    for (const e of items) if (e.count > 0) report('dir-item-missing', 'DIR_INDEX without DIR_ITEM', e.link!);
    for (const e of items) if (e.count < 0) report('dir-index-missing', 'DIR_ITEM without DIR_INDEX', e.link!);
    for (const e of refs) if (e.count > 0) report('inode-ref-missing', 'no INODE_REF for this name', e.link!);
    for (const e of refs) if (e.count < 0) report('dir-entry-missing', 'INODE_REF without a directory entry', e.link!);
    // A directory entry whose target has neither an inode item nor names (a missing item with names is reported above).
    for (const e of refs) {
      const l = e.link!;
      if (e.count <= 0 || has(l.target)) continue;
      this.add({
        ...rule('inode-missing'),
        message: `subvolume ${t} directory ${l.dir} name "${displayName(l.name)}" points at inode ${l.target}, which has no inode item`,
        location: { tree: t, key: { objectid: l.target, type: ItemType.INODE_ITEM, offset: 0n } },
      });
    }
  }

  /** Reads back the link at a place a LinkBalance kept: the directory entry or the inode ref there. */
  private linkAt(reread: (logical: bigint) => TreeBlock | null, logical: bigint, slot: number, p: number): NameLink | null {
    const b = reread(logical);
    if (!b || slot >= b.nritems) return null;
    const data = b.itemData(slot),
      type = b.keyType(slot);
    if (type === ItemType.DIR_ITEM || type === ItemType.DIR_INDEX) {
      if (p + DIR_ITEM_HEADER_SIZE > data.length) return null;
      const name = p + DIR_ITEM_HEADER_SIZE;
      return { dir: b.keyObjectid(slot), target: dirItemLocationObjectid(data, p), name: data.slice(name, name + dirItemNameLen(data, p)) };
    }
    if (type === ItemType.INODE_REF) {
      if (p + INODE_REF_HEADER_SIZE > data.length) return null;
      const name = p + INODE_REF_HEADER_SIZE;
      return { dir: b.keyOffsetField(slot), target: b.keyObjectid(slot), name: data.slice(name, name + inodeRefNameLen(data, p)) };
    }
    if (type === ItemType.INODE_EXTREF) {
      if (p + INODE_EXTREF_HEADER_SIZE > data.length) return null;
      const name = p + INODE_EXTREF_HEADER_SIZE;
      return { dir: inodeExtrefParent(data, p), target: b.keyObjectid(slot), name: data.slice(name, name + inodeExtrefNameLen(data, p)) };
    }
    return null;
  }
}

/**
 * Collects the names in an fs tree (DIR_INDEX entries, and INODE_REFs with
 * the DIR_INDEX index they stand for), to name the files under a lost block.
 * Only run for a tree that lost a block: the names pin their leaves' bytes.
 */
export class NameCollector {
  readonly links: NameLink[] = [];

  item(block: TreeBlock, slot: number): void {
    const type = block.keyType(slot);
    const data = block.itemData(slot);
    const ino = block.keyObjectid(slot);
    if (type === ItemType.INODE_REF) {
      const parent = block.keyOffsetField(slot);
      if (parent === ino) return;
      forEachInodeRef(data, 0, data.length, (p, len) => {
        const name = p + INODE_REF_HEADER_SIZE;
        this.links.push({ dir: parent, target: ino, name: data.slice(name, name + len), index: inodeRefIndex(data, p) });
      });
    } else if (type === ItemType.DIR_INDEX && data.length >= DIR_ITEM_HEADER_SIZE && dirItemLocationType(data, 0) === ItemType.INODE_ITEM) {
      const nameLen = dirItemNameLen(data, 0);
      if (DIR_ITEM_HEADER_SIZE + nameLen <= data.length)
        this.links.push({ dir: ino, target: dirItemLocationObjectid(data, 0), name: data.slice(DIR_ITEM_HEADER_SIZE, DIR_ITEM_HEADER_SIZE + nameLen) });
    }
  }
}

/** Where a key's offset (an INODE_REF's parent directory) and a dir item's target inode are. */
const KEY_OFFSET = diskKey.off.offset;
const LOCATION_OBJECTID = dirItem.off.location + diskKey.off.objectid;

const roundUp = (x: bigint, to: bigint) => ((x + to - 1n) / to) * to;
