import { u32, u64 } from '../../format/bytes.js';
import { FileExtentType, InodeFlag, ItemType, ObjectId } from '../../format/constants.js';
import { decodeFileExtent } from '../../format/items/fileExtent.js';
import { decodeInodeExtref, INODE_ITEM_SIZE } from '../../format/items/inode.js';
import type { Key } from '../../format/key.js';
import type { TreeBlock } from '../../format/treeBlock.js';
import type { CheckFinding } from './types.js';

interface InodeInfo { nlink: number; mode: number; size: bigint; block: bigint; slot: number }

/** Object ids as Map keys: numbers while exact (much cheaper to hash and print than bigint), bigint beyond. */
type Id = number | bigint;
const id = (x: bigint): Id => (x <= 0x1fffffffffffffn ? Number(x) : x);

/** A name link as it should appear three times: DIR_ITEM, DIR_INDEX (in the directory) and INODE_REF/EXTREF (in the inode). */
const linkKey = (dir: bigint, target: bigint, name: Uint8Array) => `${id(dir)}/${id(target)}/${String.fromCharCode.apply(null, name as unknown as number[])}`;

/**
 * A name of an inode, kept to name the files under a lost block: from the
 * directory's DIR_INDEX, or from the inode's own INODE_REF (which tells the
 * DIR_INDEX key, index, the name had in its directory).
 */
export interface NameLink { dir: bigint; target: bigint; name: Uint8Array; index?: bigint }

/** Ranges of a file's data that need checksums (regular extents of inodes without NODATASUM). */
export interface CsumNeed { start: bigint; end: bigint }

/**
 * Consistency of one fs tree (subvolume) as btrfs check's fs-roots pass
 * sees it, fed every leaf item in key order: nlink against the names
 * (INODE_REF/INODE_EXTREF), DIR_ITEM/DIR_INDEX/INODE_REF triples, directory
 * isize (the sum of name lengths in DIR_ITEM and DIR_INDEX), unlinked inodes
 * without an orphan item, file extents that overlap.
 */
export class FsTreeChecker {
  private readonly inodes = new Map<Id, InodeInfo>();
  private readonly names = new Map<Id, number>();
  private readonly dirNameBytes = new Map<Id, number>();
  private readonly dirItems = new Set<string>();
  private readonly dirIndexes = new Set<string>();
  private readonly refs = new Set<string>();
  private readonly orphans = new Set<bigint>();
  /** Object id ranges of blocks no copy of which could be read: checks involving them are skipped. */
  private readonly lostRanges: [bigint, bigint][] = [];
  private readonly skippedRanges: [bigint, bigint][] = [];
  private curIno = -1n;
  private curFlags = 0n;
  private extentEnd = -1n;

  constructor(readonly tree: bigint, private readonly add: (f: CheckFinding) => void, private readonly csumNeeds: CsumNeed[] | null) {}

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
    const r = this.skippedRanges, last = r[r.length - 1];
    if (last && min.objectid <= last[1] + 1n) { if (max.objectid > last[1]) last[1] = max.objectid; }
    else r.push([min.objectid, max.objectid]);
  }

  /** Lost, or being deleted (an orphan item: its names and items may be half gone, legitimately). */
  private isLost(ino: bigint): boolean {
    if (this.orphans.has(ino)) return true;
    for (const [a, b] of this.lostRanges) if (ino >= a && ino <= b) return true;
    const r = this.skippedRanges;
    let lo = 0, hi = r.length - 1;
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
    const data = block.itemData(slot);
    switch (type) {
      case ItemType.INODE_ITEM:
        if (data.length < INODE_ITEM_SIZE) return;
        this.inodes.set(id(ino), { nlink: u32(data, 40), mode: u32(data, 52), size: u64(data, 16), block: block.logical, slot });
        this.curIno = ino;
        this.curFlags = u64(data, 64);
        this.extentEnd = -1n;
        return;
      case ItemType.INODE_REF: {
        // btrfs_inode_ref: index u64, name_len u16, name; packed. Read in place: this runs for every name of every file.
        const parent = block.keyOffsetField(slot);
        for (let p = 0; p + 10 <= data.length;) {
          const len = data[p + 8]! | (data[p + 9]! << 8);
          if (p + 10 + len > data.length) break; // reported by the item checks
          const name = data.subarray(p + 10, p + 10 + len);
          const k = id(ino);
          this.names.set(k, (this.names.get(k) ?? 0) + 1);
          // A subvolume's root directory names itself ".." and no directory entry goes with it.
          if (parent !== ino) this.refs.add(linkKey(parent, ino, name));
          p += 10 + len;
        }
        return;
      }
      case ItemType.INODE_EXTREF: {
        const d = decodeInodeExtref(block.key(slot), data);
        if (d.kind === 'invalid') return;
        const k = id(ino);
        for (const r of d.refs) { this.names.set(k, (this.names.get(k) ?? 0) + 1); this.refs.add(linkKey(r.parent, ino, r.name)); }
        return;
      }
      case ItemType.DIR_ITEM:
      case ItemType.DIR_INDEX: {
        // btrfs_dir_item: location key (17), transid u64, data_len u16 @25, name_len u16 @27, type @29, name, data.
        for (let p = 0; p + 30 <= data.length;) {
          const dataLen = data[p + 25]! | (data[p + 26]! << 8), nameLen = data[p + 27]! | (data[p + 28]! << 8);
          if (p + 30 + nameLen + dataLen > data.length) break; // reported by the item checks
          const k = id(ino);
          this.dirNameBytes.set(k, (this.dirNameBytes.get(k) ?? 0) + nameLen);
          // Subvolume links point at a ROOT_ITEM: their other halves are ROOT_REF/ROOT_BACKREF in the root tree.
          if (data[p + 8] === ItemType.INODE_ITEM) {
            const link = linkKey(ino, u64(data, p), data.subarray(p + 30, p + 30 + nameLen));
            (type === ItemType.DIR_ITEM ? this.dirItems : this.dirIndexes).add(link);
          }
          p += 30 + nameLen + dataLen;
        }
        return;
      }
      case ItemType.ORPHAN_ITEM:
        if (ino === ObjectId.ORPHAN) this.orphans.add(block.keyOffsetField(slot));
        return;
      case ItemType.EXTENT_DATA: {
        const d = decodeFileExtent(block.key(slot), data);
        if (d.kind === 'invalid') return;
        const len = d.body === 'inline' ? d.ramBytes : d.numBytes;
        if (ino === this.curIno && d.fileOffset < this.extentEnd) {
          this.add({ code: 'file-extent-overlap', severity: 'error', message: `inode ${ino}: file extent at ${d.fileOffset} starts before the previous one ends (${this.extentEnd})`, location: { tree: this.tree, block: block.logical, logical: block.logical, slot, key: block.key(slot) } });
        }
        if (ino === this.curIno) this.extentEnd = d.fileOffset + len;
        // Compressed extents carry checksums even in NODATASUM inodes (btrfs check requires them).
        if (this.csumNeeds && d.body === 'disk' && d.type === FileExtentType.REG && d.diskBytenr !== 0n && ino === this.curIno && ((this.curFlags & InodeFlag.NODATASUM) === 0n || d.compression !== 0)) {
          // Compressed extents are checksummed as stored: the whole disk extent.
          this.csumNeeds.push(d.compression ? { start: d.diskBytenr, end: d.diskBytenr + d.diskNumBytes } : { start: d.diskBytenr + d.offset, end: d.diskBytenr + d.offset + d.numBytes });
        }
        return;
      }
    }
  }

  finish(): void {
    const t = this.tree;
    const at = (ino: bigint, i?: InodeInfo) => ({ tree: t, key: { objectid: ino, type: ItemType.INODE_ITEM, offset: 0n }, ...(i ? { block: i.block, logical: i.block, slot: i.slot } : {}) });
    for (const [k, i] of this.inodes) {
      const ino = BigInt(k);
      if (this.isLost(ino)) continue;
      const isDir = (i.mode & 0o170000) === 0o040000;
      const names = this.names.get(k) ?? 0;
      if (i.nlink === 0) {
        if (!this.orphans.has(ino)) this.add({ code: 'orphan-missing', severity: 'error', message: `subvolume ${t} inode ${ino} has nlink 0 and no orphan item`, location: at(ino, i) });
      } else if (!isDir && i.nlink !== names) {
        this.add({ code: 'nlink', severity: 'error', message: `subvolume ${t} inode ${ino} has nlink ${i.nlink} but ${names} name(s)`, location: at(ino, i) });
      }
      if (isDir) {
        const want = BigInt(this.dirNameBytes.get(k) ?? 0);
        if (i.size !== want) this.add({ code: 'dir-isize', severity: 'error', message: `subvolume ${t} directory ${ino} has isize ${i.size}, its names add up to ${want}`, location: at(ino, i) });
      }
    }
    const split = (k: string) => { const [d, x] = k.split('/', 2); return { dir: BigInt(d!), target: BigInt(x!), name: k.slice(d!.length + x!.length + 2) }; };
    const missing = (from: Set<string>, other: Set<string>, code: string, what: string) => {
      for (const k of from) {
        if (other.has(k)) continue;
        const { dir, target, name } = split(k);
        if (this.isLost(dir) || this.isLost(target)) continue;
        this.add({ code, severity: 'error', message: `subvolume ${t} directory ${dir} name "${latin1ToUtf8(name)}" -> inode ${target}: ${what}`, location: { tree: t, key: { objectid: dir, type: 0, offset: 0n } } });
      }
    };
    missing(this.dirIndexes, this.dirItems, 'dir-item-missing', 'DIR_INDEX without DIR_ITEM');
    missing(this.dirItems, this.dirIndexes, 'dir-index-missing', 'DIR_ITEM without DIR_INDEX');
    missing(this.dirIndexes, this.refs, 'inode-ref-missing', 'no INODE_REF for this name');
    missing(this.refs, this.dirIndexes, 'dir-entry-missing', 'INODE_REF without a directory entry');
    for (const [k] of this.names) {
      const ino = BigInt(k);
      if (!this.inodes.has(k) && !this.isLost(ino)) {
        this.add({ code: 'inode-missing', severity: 'error', message: `subvolume ${t} inode ${ino} has names (INODE_REF) but no inode item`, location: at(ino) });
      }
    }
    for (const k of this.dirIndexes) {
      const { dir, target, name } = split(k);
      const tid = id(target);
      if (this.names.has(tid) || this.inodes.has(tid) || this.isLost(target)) continue; // a missing inode item with names is reported above
      this.add({ code: 'inode-missing', severity: 'error', message: `subvolume ${t} directory ${dir} name "${latin1ToUtf8(name)}" points at inode ${target}, which has no inode item`, location: at(target) });
    }
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
      for (let p = 0; p + 10 <= data.length;) {
        const len = data[p + 8]! | (data[p + 9]! << 8);
        if (p + 10 + len > data.length) break;
        if (parent !== ino) this.links.push({ dir: parent, target: ino, name: data.slice(p + 10, p + 10 + len), index: u64(data, p) });
        p += 10 + len;
      }
    } else if (type === ItemType.DIR_INDEX && data.length >= 30 && data[8] === ItemType.INODE_ITEM) {
      const nameLen = data[27]! | (data[28]! << 8);
      if (30 + nameLen <= data.length) this.links.push({ dir: ino, target: u64(data, 0), name: data.slice(30, 30 + nameLen) });
    }
  }
}

function latin1ToUtf8(s: string): string {
  const b = Uint8Array.from(s, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: false }).decode(b);
}
