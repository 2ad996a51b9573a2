import type { FindingCode } from '../findingRules.js';
import type { LogicalInput } from './addresses.js';
import { bytesEqual } from './bytes.js';
import { ObjectId } from './constants.js';
import { compareKeyAt, compareKeysAt, decodeKey, KEY_SIZE, type Key, keyObjectidAt, keyOffsetAt, keyTypeAt } from './key.js';
import { bytes, defineStruct } from './struct.js';

/**
 * btrfs_header (101 bytes) then, in a leaf, btrfs_item[nritems] (25 bytes:
 * key, data offset u32, data size u32; offsets relative to the end of the
 * header) or, in a node, btrfs_key_ptr[nritems] (33 bytes: key, blockptr
 * u64, generation u64).
 */
export const blockHeader = defineStruct('btrfs_header', 101, [
  ['csum', bytes(32, 'u8[BTRFS_CSUM_SIZE]')],
  ['fsid', 'uuid'],
  ['bytenr', 'u64'],
  ['flags', 'u64'],
  ['chunkTreeUuid', 'uuid'],
  ['generation', 'u64'],
  ['owner', 'u64'],
  ['nritems', 'u32'],
  ['level', 'u8'],
]);
/** btrfs_item: a leaf's item header; offset is relative to the end of the block header. */
export const leafItem = defineStruct('btrfs_item', 25, [
  ['key', bytes(KEY_SIZE, 'btrfs_disk_key')],
  ['offset', 'u32'],
  ['size', 'u32'],
]);
/** btrfs_key_ptr: a node's pointer to a child block. */
export const keyPtr = defineStruct('btrfs_key_ptr', 33, [
  ['key', bytes(KEY_SIZE, 'btrfs_disk_key')],
  ['blockptr', 'u64'],
  ['generation', 'u64'],
]);
export const HEADER_SIZE = blockHeader.size;
export const ITEM_SIZE = leafItem.size;
export const KEY_PTR_SIZE = keyPtr.size;
export const { offset: leafItemOffset, size: leafItemSize } = leafItem.get;
export const { blockptr: keyPtrBlockptr, generation: keyPtrGeneration } = keyPtr.get;

const H = blockHeader.get;
const LEVEL = blockHeader.off.level;

/**
 * A tree block's bytes with accessors that decode fields only when asked,
 * so walking a tree allocates little. Slot accessors trust `slot < nritems`;
 * call checkTreeBlockStructure first on untrusted blocks.
 */
export class TreeBlock {
  constructor(
    readonly data: Uint8Array,
    readonly logical: bigint,
  ) {}

  get bytenr(): bigint {
    return H.bytenr(this.data, 0);
  }
  get flags(): bigint {
    return H.flags(this.data, 0);
  }
  get generation(): bigint {
    return H.generation(this.data, 0);
  }
  get owner(): bigint {
    return H.owner(this.data, 0);
  }
  get nritems(): number {
    return H.nritems(this.data, 0);
  }
  get level(): number {
    return this.data[LEVEL]!;
  }
  get isLeaf(): boolean {
    return this.data[LEVEL] === 0;
  }
  get fsid(): string {
    return H.fsid(this.data, 0);
  }
  get chunkTreeUuid(): string {
    return H.chunkTreeUuid(this.data, 0);
  }
  get csum(): Uint8Array {
    return this.data.subarray(blockHeader.off.csum, blockHeader.off.csum + blockHeader.sizeOf.csum);
  }
  /** Backref revision: the top byte of the flags (btrfs_header_backref_rev). */
  get backrefRev(): number {
    return Number(this.flags >> 56n);
  }

  /** Byte offset of the key of `slot`. */
  keyOffset(slot: number): number {
    return HEADER_SIZE + slot * (this.isLeaf ? ITEM_SIZE : KEY_PTR_SIZE);
  }
  key(slot: number): Key {
    return decodeKey(this.data, this.keyOffset(slot));
  }
  keyObjectid(slot: number): bigint {
    return keyObjectidAt(this.data, this.keyOffset(slot));
  }
  keyType(slot: number): number {
    return keyTypeAt(this.data, this.keyOffset(slot));
  }
  keyOffsetField(slot: number): bigint {
    return keyOffsetAt(this.data, this.keyOffset(slot));
  }
  compareKey(slot: number, k: Key): number {
    return compareKeyAt(this.data, this.keyOffset(slot), k);
  }

  /** Leaf: absolute offset of an item's data within the block. */
  itemOffset(slot: number): number {
    return HEADER_SIZE + leafItemOffset(this.data, HEADER_SIZE + slot * ITEM_SIZE);
  }
  itemSize(slot: number): number {
    return leafItemSize(this.data, HEADER_SIZE + slot * ITEM_SIZE);
  }
  itemData(slot: number): Uint8Array {
    const o = this.itemOffset(slot);
    return this.data.subarray(o, o + this.itemSize(slot));
  }

  /** Node: child block address and the generation the parent expects of it. */
  blockPtr(slot: number): bigint {
    return keyPtrBlockptr(this.data, HEADER_SIZE + slot * KEY_PTR_SIZE);
  }
  ptrGeneration(slot: number): bigint {
    return keyPtrGeneration(this.data, HEADER_SIZE + slot * KEY_PTR_SIZE);
  }

  /**
   * Slot of the last key <= k (the child to descend into, or the item), or
   * -1 when every key is greater. `exact` tells whether it is equal.
   */
  search(k: Key): { slot: number; exact: boolean } {
    let lo = 0,
      hi = this.nritems - 1,
      slot = -1,
      exact = false;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareKey(mid, k);
      if (c <= 0) {
        slot = mid;
        exact = c === 0;
        lo = mid + 1;
        if (exact) break;
      } else hi = mid - 1;
    }
    return { slot, exact };
  }
}

/** What a parent pointer or the superblock says a block must be. */
export interface BlockExpectation {
  logical: LogicalInput;
  /** fsid blocks must carry (the superblock's metadata_uuid when set). */
  fsid: string;
  /**
   * fsids of the seed devices of a sprouted filesystem: blocks written before the sprout carry
   * their seed's fsid, which the kernel accepts too (check_tree_block_fsid walks the seed list).
   */
  seedFsids?: readonly string[];
  chunkTreeUuid?: string;
  level?: number;
  generation?: bigint;
  /** The tree reaching the block: its owner must fit (btrfs_check_eb_owner: any subvolume for a subvolume, else this tree). */
  owner?: bigint;
  /** First key the parent has for this child. */
  firstKey?: Key;
}

export type BlockProblemCode = Extract<
  FindingCode,
  | 'bytenr-mismatch'
  | 'fsid-mismatch'
  | 'chunk-tree-uuid-mismatch'
  | 'level-mismatch'
  | 'bad-level'
  | 'transid-mismatch'
  | 'owner-mismatch'
  | 'first-key-mismatch'
  | 'bad-nritems'
  | 'key-order'
  | 'item-offset'
  | 'item-overlap'
  | 'empty-node'
>;

export interface BlockProblem {
  code: BlockProblemCode;
  message: string;
  slot?: number;
}

/**
 * A subvolume tree id as the kernel's is_fstree sees it: 5, or from 256 up
 * as a signed number (the negative ids of the reloc and log trees are not)
 * and of qgroup level 0 (the top 16 bits clear).
 */
function isSubvolumeOwner(id: bigint): boolean {
  return id === 5n || (id >= 256n && id < 1n << 48n);
}

/**
 * The kernel's btrfs_check_eb_owner: a block of a subvolume may be owned by
 * any subvolume (snapshots share blocks), a block of any other tree by that
 * tree only. Log and tree-reloc trees keep their owner in the root key's
 * offset, which the reader is not given: not checked.
 */
function ownerFits(owner: bigint, tree: bigint): boolean {
  if (tree === 0n || tree === ObjectId.TREE_LOG || tree === ObjectId.TREE_RELOC) return true;
  return isSubvolumeOwner(tree) ? isSubvolumeOwner(owner) : owner === tree;
}

/** Header checks against what the referrer expects (the kernel's read-time checks). */
/**
 * `fsidBytes` and `chunkTreeUuidBytes`, when given, are e.fsid and e.chunkTreeUuid as bytes: the
 * header is compared byte-wise, and its uuids are spelled as strings only when they differ.
 */
export function checkTreeBlockHeader(b: TreeBlock, e: BlockExpectation, fsidBytes?: Uint8Array, chunkTreeUuidBytes?: Uint8Array): BlockProblem[] {
  const p: BlockProblem[] = [];
  if (b.bytenr !== e.logical) p.push({ code: 'bytenr-mismatch', message: `header bytenr ${b.bytenr} != expected ${e.logical}` });
  const fsidOk = (fsidBytes ? bytesEqual(b.data, blockHeader.off.fsid, fsidBytes, 0, 16) : b.fsid === e.fsid) || (e.seedFsids?.includes(b.fsid) ?? false);
  if (!fsidOk) p.push({ code: 'fsid-mismatch', message: `header fsid ${b.fsid} != ${e.fsid}` });
  if (e.chunkTreeUuid !== undefined && !(chunkTreeUuidBytes ? bytesEqual(b.data, blockHeader.off.chunkTreeUuid, chunkTreeUuidBytes, 0, 16) : b.chunkTreeUuid === e.chunkTreeUuid))
    p.push({ code: 'chunk-tree-uuid-mismatch', message: `chunk tree uuid ${b.chunkTreeUuid} != ${e.chunkTreeUuid}` });
  if (b.level >= 8) p.push({ code: 'bad-level', message: `level ${b.level} >= 8` });
  else if (e.level !== undefined && b.level !== e.level) p.push({ code: 'level-mismatch', message: `level ${b.level}, expected ${e.level}` });
  if (e.generation !== undefined && b.generation !== e.generation) p.push({ code: 'transid-mismatch', message: `generation ${b.generation}, parent expects ${e.generation}` });
  if (e.owner !== undefined && !ownerFits(b.owner, e.owner)) p.push({ code: 'owner-mismatch', message: `owner ${b.owner}, expected ${isSubvolumeOwner(e.owner) ? 'a subvolume' : e.owner}` });
  return p;
}

/**
 * Structural checks of the block's own contents: item count fits, keys
 * strictly ascending, leaf item data inside the block, packed from the end
 * without overlap (btrfs_check_leaf/btrfs_check_node). Returns the problems;
 * `validItems` is how many leading slots are safe to read.
 */
export function checkTreeBlockStructure(b: TreeBlock): { problems: BlockProblem[]; validItems: number } {
  const problems: BlockProblem[] = [];
  const size = b.data.length;
  const n = b.nritems;
  const per = b.isLeaf ? ITEM_SIZE : KEY_PTR_SIZE;
  const maxItems = Math.floor((size - HEADER_SIZE) / per);
  let valid = n;
  if (n > maxItems) {
    problems.push({ code: 'bad-nritems', message: `nritems ${n} exceeds the ${maxItems} that fit in a ${size}-byte block` });
    valid = maxItems;
  }
  if (!b.isLeaf && n === 0) problems.push({ code: 'empty-node', message: 'node has no pointers' });
  // Keys strictly increasing.
  for (let i = 1; i < valid; i++) {
    if (compareKeysAt(b.data, b.keyOffset(i - 1), b.data, b.keyOffset(i)) >= 0) {
      problems.push({ code: 'key-order', slot: i, message: `key at slot ${i} ${fmtKey(b.key(i))} is not greater than slot ${i - 1} ${fmtKey(b.key(i - 1))}` });
    }
  }
  if (b.isLeaf) {
    // Item data is packed downward from the end of the block: item i's data ends where item i-1's begins.
    let prevStart = size;
    const itemsEnd = HEADER_SIZE + valid * ITEM_SIZE;
    for (let i = 0; i < valid; i++) {
      const off = b.itemOffset(i);
      const len = b.itemSize(i);
      if (off < itemsEnd || off + len > size) {
        problems.push({ code: 'item-offset', slot: i, message: `item ${i} data [${off - HEADER_SIZE}, +${len}) lies outside the leaf data area` });
        valid = i;
        break;
      }
      if (off + len !== prevStart) {
        problems.push({ code: 'item-overlap', slot: i, message: `item ${i} data ends at ${off + len - HEADER_SIZE}, expected ${prevStart - HEADER_SIZE}` });
        if (off + len > prevStart) {
          valid = i;
          break;
        }
      }
      prevStart = off;
    }
  }
  return { problems, validItems: valid };
}

export function fmtKey(k: Key): string {
  return `(${k.objectid} ${k.type} ${k.offset})`;
}
