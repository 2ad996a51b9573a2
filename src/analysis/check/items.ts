import { type FindingCode, rule } from '../../findingRules.js';
import { bytesEqual } from '../../format/bytes.js';
import {
  BLOCK_GROUP_PROFILE_MASK,
  BLOCK_GROUP_TYPE_MASK,
  BlockGroupFlag,
  ExtentFlag,
  FileType,
  INODE_FLAG_MASK,
  IncompatFlag,
  InodeFlag,
  ItemType,
  itemTypeName,
  ObjectId,
  RootFlag,
} from '../../format/constants.js';
import { BLOCK_GROUP_ITEM_SIZE, BLOCK_GROUP_ITEM_V2_SIZE, blockGroupChunkObjectid, blockGroupFlags, blockGroupUsed } from '../../format/items/blockGroup.js';
import { nameText } from '../../format/items/common.js';
import { DEV_EXTENT_SIZE, decodeDevExtentItem, decodeDevItemItem } from '../../format/items/dev.js';
import { DIR_ITEM_HEADER_SIZE, dirItemDataLen, dirItemLocationType, dirItemNameLen, dirItemType, forEachDirEntry } from '../../format/items/dir.js';
import { extentDataRef, extentDataRefHash, extentDataRefOffset, type InlineRef, sharedDataRef } from '../../format/items/extent.js';
import { ITEM_TYPE_BY_NUMBER } from '../../format/items/index.js';
import { decodeInodeExtref, decodeInodeRef, INODE_ITEM_SIZE, inodeFlags, inodeGeneration, inodeMode, inodeNlink, inodeTransid } from '../../format/items/inode.js';
import { ROOT_REF_SIZE, rootItem, rootItemDropLevel, rootItemFlags, rootItemGenerationV2, rootItemLastSnapshot, rootItemPointer, rootRefNameLen } from '../../format/items/root.js';
import type { TreeBlock } from '../../format/treeBlock.js';
import { itemTypeBelongs, logItemTypeBelongs } from '../../format/treeItemTypes.js';
import { isFsTreeId } from '../../fs/fileKinds.js';
import { nameHash } from '../../fs/names.js';
import { extentItemAt, fileExtentAt } from './decoded.js';
import type { CheckFinding } from './types.js';

/** What the item checks need to know of the filesystem. */
export interface ItemCheckContext {
  sectorsize: number;
  nodesize: number;
  csumSize: number;
  /** Superblock generation: no item may claim a later transaction (+1 for a log being replayed). */
  generation: bigint;
  /** Superblock incompat flags (SKINNY_METADATA: whether METADATA_ITEM may exist). */
  incompatFlags: bigint;
  /**
   * With extent-tree-v2: how many global roots of each kind there are (the extent tree's
   * root items). A block group item's chunk_objectid then names its global root.
   */
  globalRoots?: bigint;
  add(f: CheckFinding): void;
  /** The call object checkLeafItem refills for each item (made on first use). */
  call?: ItemCheckCall;
}

const S_IFMT = 0o170000;
const VALID_MODES = new Set([0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000, 0o140000]);
/** BTRFS_FT_XATTR; directory entries use 1..7. */
const FT_XATTR = FileType.XATTR;
/** btrfs_dir_item.type: the file type in the low bits, 0x80 = encrypted name. */
const FT_MASK = 0x7f;
const NAME_LEN = 255;

/**
 * Per-item checks in the spirit of the kernel's tree-checker
 * (fs/btrfs/tree-checker.c): sizes and field ranges that any item of the
 * type must satisfy, independent of other items.
 */
export function checkLeafItem(ctx: ItemCheckContext, block: TreeBlock, slot: number, tree: bigint, log?: 'root' | 'tree'): void {
  const type = block.keyType(slot);
  if (log !== undefined && !logItemTypeBelongs(log === 'root', type)) {
    // A log is replayed item by item into the subvolume (tree-log.c replay_one_buffer): an item of another type has no place there.
    const where = log === 'root' ? 'the log root tree (root items of the log trees)' : "a subvolume's log tree (its inode, name, xattr, file extent, dir-log and checksum items)";
    report(ctx, block, slot, tree, 'log-item-type', `item of type ${itemTypeName(type)} (${type}) does not belong in ${where}`);
    return;
  }
  if (!itemTypeBelongs(tree, type)) {
    // The item is not what its type says (a corrupted key type byte): its bytes are not checked as that type.
    report(ctx, block, slot, tree, 'key-type-tree', `item of type ${itemTypeName(type)} (${type}) does not belong in tree ${tree}`);
    return;
  }
  if (slot > 0 && PREV_INO_TYPES.has(type) && !sameObjectid(block, slot - 1, slot) && isFsTreeOwner(block.owner)) {
    // tree-checker.c check_prev_ino: in a subvolume's leaf these items follow another item of their own inode (its inode item first).
    report(ctx, block, slot, tree, 'item-prev-ino', `${itemTypeName(type)} of inode ${block.keyObjectid(slot)} follows an item of inode ${block.keyObjectid(slot - 1)}`);
  }
  const e = ITEM_TYPE_BY_NUMBER[type];
  const check = e && ITEM_CHECKS[e.name];
  if (!check) return;
  // One call object per context, refilled for each item: the checks run millions of times on a large
  // filesystem, and a fresh object with two closures per item was a large share of the walk's garbage.
  const c = (ctx.call ??= newCall(ctx));
  c.block = block;
  c.slot = slot;
  c.tree = tree;
  c.type = type;
  c.data = block.itemData(slot);
  check(c);
}

/** The reusable call of a context: `bad` and `genOk` read the item from the call itself. */
function newCall(ctx: ItemCheckContext): ItemCheckCall {
  const c: ItemCheckCall = {
    ctx,
    block: undefined as unknown as TreeBlock,
    slot: 0,
    tree: 0n,
    type: 0,
    data: new Uint8Array(0),
    bad: (code, msg) => report(ctx, c.block, c.slot, c.tree, code, msg),
    genOk: (g) => g <= ctx.generation + 1n,
  };
  return c;
}

/** The item types whose previous item in a subvolume's leaf must be of the same inode (tree-checker.c check_prev_ino's callers). */
const PREV_INO_TYPES = new Set<number>([ItemType.XATTR_ITEM, ItemType.INODE_REF, ItemType.DIR_INDEX, ItemType.DIR_ITEM, ItemType.EXTENT_DATA]);

/** ctree.h is_fstree of a header owner: 5, or from 256 up as a signed number (not the log, reloc and data reloc trees). */
function isFsTreeOwner(owner: bigint): boolean {
  return owner === ObjectId.FS_TREE || (owner >= ObjectId.FIRST_FREE && owner < 1n << 63n);
}

/** Whether two slots' keys have the same objectid, compared as bytes (this runs for most items of every fs tree). */
function sameObjectid(b: TreeBlock, a: number, c: number): boolean {
  const d = b.data,
    x = b.keyOffset(a),
    y = b.keyOffset(c);
  for (let i = 0; i < 8; i++) if (d[x + i] !== d[y + i]) return false;
  return true;
}

/** What one item check is given. */
interface ItemCheckCall {
  ctx: ItemCheckContext;
  block: TreeBlock;
  slot: number;
  tree: bigint;
  type: number;
  data: Uint8Array;
  bad(code: FindingCode, message: string): void;
  /** No item may claim a later transaction than the superblock's (+1 for a log being replayed). */
  genOk(generation: bigint): boolean;
}

/**
 * The checks of each item type, keyed by its name in the item registry
 * (format/items/registry.ts); a type without an entry has no per-item rules.
 */
export const ITEM_CHECKS: { readonly [name: string]: (c: ItemCheckCall) => void } = {
  INODE_ITEM: checkInodeItem,
  INODE_REF: checkInodeRef,
  INODE_EXTREF: checkInodeRef,
  DIR_ITEM: checkDirItem,
  DIR_INDEX: checkDirItem,
  XATTR_ITEM: checkDirItem,
  EXTENT_DATA: checkExtentData,
  EXTENT_ITEM: checkExtentItem,
  METADATA_ITEM: checkExtentItem,
  BLOCK_GROUP_ITEM: checkBlockGroupItem,
  ROOT_ITEM: checkRootItem,
  EXTENT_CSUM: checkExtentCsum,
  DEV_EXTENT: checkDevExtent,
  DEV_ITEM: checkDevItem,
  TREE_BLOCK_REF: checkKeyedRef,
  SHARED_BLOCK_REF: checkKeyedRef,
  SHARED_DATA_REF: checkKeyedRef,
  EXTENT_DATA_REF: checkKeyedRef,
  ROOT_REF: checkRootRef,
  ROOT_BACKREF: checkRootRef,
};

/** INODE_ITEM. */
function checkInodeItem(c: ItemCheckCall): void {
  const { ctx, block, slot, tree, data, bad, genOk } = c;
  if (data.length !== INODE_ITEM_SIZE) {
    bad('item-size', `inode item is ${data.length} bytes, expected ${INODE_ITEM_SIZE}`);
    return;
  }
  if (block.keyOffsetField(slot) !== 0n && isFsTreeId(tree)) bad('inode-item', `inode item key offset ${block.keyOffsetField(slot)} is not 0`);
  const generation = inodeGeneration(data, 0),
    transid = inodeTransid(data, 0),
    nlink = inodeNlink(data, 0),
    mode = inodeMode(data, 0),
    flags = inodeFlags(data, 0);
  if (!genOk(generation)) bad('inode-item', `generation ${generation} is past the filesystem's ${ctx.generation}`);
  if (!genOk(transid)) bad('inode-item', `transid ${transid} is past the filesystem's ${ctx.generation}`);
  // The file type is checked in every tree (tree-checker check_inode_item does): the root tree's
  // directory inode 6 and free-space-cache inodes, the data reloc tree, log trees.
  if (!VALID_MODES.has(mode & S_IFMT)) bad('inode-mode', `mode 0${mode.toString(8)} has no valid file type`);
  // check_inode_item: no bits beyond the file type and the permission bits (S_IALLUGO, 07777).
  if ((mode & ~(S_IFMT | 0o7777)) !== 0) bad('inode-mode', `mode 0${mode.toString(8)} has unknown bits 0${(mode & ~(S_IFMT | 0o7777)).toString(8)}`);
  // check_inode_key: an inode number is the root tree's directory (6), the old inode cache's (FREE_INO) or a free objectid.
  const ino = block.keyObjectid(slot);
  if (ino !== ObjectId.ROOT_TREE_DIR && ino !== ObjectId.FREE_INO && (ino < ObjectId.FIRST_FREE || ino > ObjectId.LAST_FREE)) bad('inode-item', `inode number ${ino} is not a free objectid`);
  if (!isFsTreeId(tree)) return; // the other field rules are those of subvolume inodes
  if ((mode & S_IFMT) === 0o040000 && nlink > 1) bad('inode-item', `directory with nlink ${nlink}`);
  if ((flags & 0xffffffffn & ~INODE_FLAG_MASK) !== 0n) bad('inode-flags', `unknown inode flags 0x${(flags & 0xffffffffn).toString(16)}`);
  if ((mode & S_IFMT) === 0o120000 && (flags & (InodeFlag.IMMUTABLE | InodeFlag.APPEND)) !== 0n) bad('inode-flags', 'symlink with immutable or append-only flag');
}

/** INODE_REF, INODE_EXTREF. */
function checkInodeRef(c: ItemCheckCall): void {
  const { block, slot, type, data, bad } = c;
  const d = type === ItemType.INODE_REF ? decodeInodeRef(block.key(slot), data) : decodeInodeExtref(block.key(slot), data);
  if (d.kind === 'invalid') bad('item-size', d.reason);
  else if (d.errors) bad('inode-ref', d.errors.join('; '));
}

/** DIR_ITEM, DIR_INDEX, XATTR_ITEM. */
function checkDirItem(c: ItemCheckCall): void {
  const { block, slot, type, data, bad } = c;
  // btrfs_dir_item entries read in place (names become strings only for messages).
  const key = block.keyOffsetField(slot);
  let n = 0;
  // Entries of a DIR_ITEM/XATTR_ITEM before this one (several share one item only when their names collide in the hash):
  // the first is remembered by offset, later ones (rare) in a list.
  let first = -1;
  let more: number[] | undefined;
  const p = forEachDirEntry(data, 0, data.length, (e, nameLen, dataLen) => {
    n++;
    // The entry's transid is not judged: the kernel's tree-checker (check_dir_item) and btrfs check never read it, and
    // btrfs-convert leaves junk there (a valid converted filesystem).
    const locType = dirItemLocationType(data, e),
      rawType = dirItemType(data, e),
      ft = rawType & FT_MASK;
    const at = e + DIR_ITEM_HEADER_SIZE;
    if (type === ItemType.XATTR_ITEM ? ft !== FT_XATTR : ft === 0 || ft >= FT_XATTR) bad('dir-item', `entry "${nameText(data, at, nameLen)}" has file type ${rawType}`);
    if (nameLen > NAME_LEN) bad('dir-item', `name_len ${nameLen} > ${NAME_LEN}`);
    if (type !== ItemType.XATTR_ITEM && dataLen !== 0) bad('dir-item', `entry "${nameText(data, at, nameLen)}" has data_len ${dataLen}`);
    if (type !== ItemType.DIR_INDEX) {
      const h = nameHash(data.subarray(at, at + nameLen));
      if (h !== key) bad('dir-item-hash', `name "${nameText(data, at, nameLen)}" hashes to ${h}, key offset is ${key}`);
      if (first < 0) first = e;
      else {
        const same = (o: number) => dirItemNameLen(data, o) === nameLen && bytesEqual(data, o + DIR_ITEM_HEADER_SIZE, data, at, nameLen);
        if (same(first) || (more?.some(same) ?? false)) bad('dir-item-duplicate', `name "${nameText(data, at, nameLen)}" is in the item twice`);
        (more ??= []).push(e);
      }
    }
    if (type !== ItemType.XATTR_ITEM && locType !== ItemType.INODE_ITEM && locType !== ItemType.ROOT_ITEM) bad('dir-item', `entry "${nameText(data, at, nameLen)}" points at key type ${locType}`);
  });
  if (p < data.length) {
    // The walk stopped at an entry whose name and data run past the item, or at trailing bytes too few for a header.
    if (p + DIR_ITEM_HEADER_SIZE <= data.length) {
      bad('dir-item', `entry at ${p}: name_len ${dirItemNameLen(data, p)} + data_len ${dirItemDataLen(data, p)} run past the item end`);
    } else bad('item-size', `dir item has ${data.length - p} trailing bytes`);
  }
  if (type === ItemType.DIR_INDEX && n !== 1) bad('dir-item', `DIR_INDEX item holds ${n} entries, expected 1`);
}

/** EXTENT_DATA. */
function checkExtentData(c: ItemCheckCall): void {
  const { ctx, block, slot, tree, bad, genOk } = c;
  const d = fileExtentAt(block, slot);
  if (d.kind === 'invalid') {
    bad('item-size', d.reason);
    return;
  }
  if (d.compression > 3) bad('file-extent', `compression ${d.compression}`);
  if (d.encryption !== 0 || d.otherEncoding !== 0) bad('file-extent', `encryption ${d.encryption}, other encoding ${d.otherEncoding}`);
  if (!genOk(d.generation)) bad('file-extent', `generation ${d.generation} is past the filesystem's ${ctx.generation}`);
  if (d.body === 'inline') {
    if (d.fileOffset !== 0n && isFsTreeId(tree)) bad('file-extent', `inline extent at file offset ${d.fileOffset}`);
    if (d.compression === 0 && d.ramBytes !== BigInt(d.inlineLength)) bad('file-extent', `inline ram_bytes ${d.ramBytes} != ${d.inlineLength} bytes stored`);
    return;
  }
  // The decoder's errors include a type none of inline, regular, prealloc.
  if (d.errors) bad('file-extent', d.errors.join('; '));
  const ss = BigInt(ctx.sectorsize);
  // All six aligned is the rule (for a power-of-two sector size, exactly when their OR is): the list of the unaligned ones is made only when one may not be.
  if ((ss & (ss - 1n)) !== 0n || (d.fileOffset | d.diskBytenr | d.diskNumBytes | d.offset | d.numBytes | d.ramBytes) % ss !== 0n) {
    const unaligned = (['fileOffset', 'diskBytenr', 'diskNumBytes', 'offset', 'numBytes', 'ramBytes'] as const).filter((f) => d[f] % ss !== 0n);
    if (unaligned.length) bad('file-extent', `${unaligned.join(', ')} not aligned to sectorsize ${ss}`);
  }
  if (d.numBytes === 0n) bad('file-extent', 'num_bytes is 0');
  if (d.diskBytenr !== 0n && d.compression === 0 && d.offset + d.numBytes > d.diskNumBytes) {
    bad('file-extent-range', `offset ${d.offset} + num_bytes ${d.numBytes} exceeds the extent's ${d.diskNumBytes} bytes`);
  }
  if (d.fileOffset + d.numBytes < d.fileOffset || d.fileOffset + d.numBytes > 0xffffffffffffffffn) bad('file-extent', 'file range overflows');
}

/** EXTENT_ITEM, METADATA_ITEM. */
function checkExtentItem(c: ItemCheckCall): void {
  const { ctx, block, slot, type, bad, genOk } = c;
  const key = block.key(slot);
  const d = extentItemAt(block, slot);
  if (d.kind === 'invalid') {
    bad('item-size', d.reason);
    return;
  }
  if (d.kind === 'extent_item_v0') return;
  if (d.errors) bad('extent-item', d.errors.join('; '));
  const isData = (d.flags & ExtentFlag.DATA) !== 0n,
    isTree = (d.flags & ExtentFlag.TREE_BLOCK) !== 0n;
  if (isData === isTree) bad('extent-item', `flags 0x${d.flags.toString(16)}: must be exactly one of DATA and TREE_BLOCK`);
  if ((d.flags & ~(ExtentFlag.DATA | ExtentFlag.TREE_BLOCK | ExtentFlag.FULL_BACKREF)) !== 0n) bad('extent-item', `unknown flags 0x${d.flags.toString(16)}`);
  if (d.refs === 0n) bad('extent-item', 'refs is 0');
  if (!genOk(d.generation)) bad('extent-item', `generation ${d.generation} is past the filesystem's ${ctx.generation}`);
  if (key.objectid % BigInt(ctx.sectorsize) !== 0n) bad('extent-item', `bytenr ${key.objectid} not aligned to sectorsize`);
  if (type === ItemType.METADATA_ITEM && key.offset >= 8n) bad('extent-item', `level ${key.offset} >= 8`);
  if (type === ItemType.EXTENT_ITEM && (key.offset === 0n || key.offset % BigInt(ctx.sectorsize) !== 0n)) bad('extent-item', `length ${key.offset} is 0 or unaligned`);
  if (type === ItemType.METADATA_ITEM && isData) bad('extent-item', 'METADATA_ITEM with DATA flag');
  if (isTree && d.level !== undefined && d.level >= 8) bad('extent-item', `tree block level ${d.level} >= 8`);
  // The kernel's check_extent_item: skinny items need their feature; a tree block is one node; data has no full-backref flag.
  if (type === ItemType.METADATA_ITEM && (ctx.incompatFlags & IncompatFlag.SKINNY_METADATA) === 0n) bad('extent-item', 'METADATA_ITEM without the SKINNY_METADATA feature');
  if (isTree && !isData && type === ItemType.EXTENT_ITEM && key.offset !== BigInt(ctx.nodesize)) bad('extent-item', `tree block extent length ${key.offset} is not nodesize ${ctx.nodesize}`);
  if (isData && !isTree && (d.flags & ExtentFlag.FULL_BACKREF) !== 0n) bad('extent-item', 'data extent with the FULL_BACKREF flag');
  let inline = 0n;
  const ss = BigInt(ctx.sectorsize);
  for (const r of d.inlineRefs) {
    if (r.kind === 'extent_data' || r.kind === 'shared_data') inline += BigInt(r.count);
    else if (r.kind !== 'extent_owner') inline++;
    if ((r.kind === 'shared_block' || r.kind === 'shared_data') && r.parent % ss !== 0n) bad('extent-item', `inline ref parent ${r.parent} not aligned to sectorsize`);
    if (r.kind === 'extent_data' && r.offset % ss !== 0n) bad('extent-item', `inline data ref offset ${r.offset} not aligned to sectorsize`);
  }
  if (inline > d.refs) bad('extent-item', `refs ${d.refs} is less than its inline references count (${inline})`);
  checkInlineRefOrder(d.inlineRefs, bad);
}

/**
 * Inline back references are kept in ascending type order, and within a
 * type in descending offset order — for EXTENT_DATA_REF the hash of (root,
 * objectid, offset) that keyed items of that type use as key offset: the
 * kernel inserts a ref before the first one of a smaller offset
 * (lookup_inline_extent_backref) and its tree-checker refuses any other order
 * (check_extent_item: "inline ref out-of-order"). A lookup stops at that
 * point, so a ref out of order is never found.
 */
function checkInlineRefOrder(refs: readonly InlineRef[], bad: ItemCheckCall['bad']): void {
  // Offsets (data ref hashes cost three crc32c) are computed only for neighbours of one type: most items have one ref.
  let lastSeq: bigint | undefined;
  for (let i = 1; i < refs.length; i++) {
    const prev = refs[i - 1]!,
      r = refs[i]!;
    if (r.type !== prev.type) {
      lastSeq = undefined;
      if (r.type < prev.type) bad('extent-inline-ref-order', `inline ref ${i} of type ${r.type} comes after one of type ${prev.type}`);
      continue;
    }
    const before = lastSeq ?? inlineRefSeq(prev),
      seq = inlineRefSeq(r);
    if (seq > before) bad('extent-inline-ref-order', `inline ref ${i} (type ${r.type}, offset ${seq}) comes after offset ${before}`);
    lastSeq = seq;
  }
}

/** What orders inline refs of one type: the data ref hash, else the root or parent in the ref's offset field. */
function inlineRefSeq(r: InlineRef): bigint {
  return r.kind === 'extent_data' ? extentDataRefHash(r.root, r.objectid, r.offset) : r.kind === 'tree_block' || r.kind === 'extent_owner' ? r.root : r.parent;
}

/** BLOCK_GROUP_ITEM. */
function checkBlockGroupItem(c: ItemCheckCall): void {
  const { block, slot, data, bad } = c;
  // check_block_group_item: the v2 item (36 bytes) exactly when the remap-tree feature is on.
  const want = c.ctx.incompatFlags & IncompatFlag.REMAP_TREE ? BLOCK_GROUP_ITEM_V2_SIZE : BLOCK_GROUP_ITEM_SIZE;
  if (data.length !== want) {
    bad('item-size', `block group item is ${data.length} bytes, expected ${want}`);
    return;
  }
  const len = block.keyOffsetField(slot),
    used = blockGroupUsed(data, 0),
    chunkObjectid = blockGroupChunkObjectid(data, 0),
    flags = blockGroupFlags(data, 0);
  if (len === 0n) bad('block-group-item', 'length 0');
  if (used > len) bad('block-group-item', `used ${used} > length ${len}`);
  if (c.ctx.globalRoots !== undefined) {
    // extent-tree-v2: the field is the block group's global root id (tree-checker.c check_block_group_item).
    if (c.ctx.globalRoots > 0n && chunkObjectid >= c.ctx.globalRoots) bad('block-group-item', `global root id ${chunkObjectid}, the filesystem has ${c.ctx.globalRoots}`);
  } else if (chunkObjectid !== ObjectId.FIRST_CHUNK_TREE) bad('block-group-item', `chunk_objectid ${chunkObjectid}`);
  const bgType = flags & BLOCK_GROUP_TYPE_MASK;
  if (bgType === 0n) bad('block-group-item', `flags 0x${flags.toString(16)} name no type`);
  // check_block_group_item: one type, or METADATA and DATA together (mixed groups); SYSTEM and METADATA_REMAP go alone.
  else if ((bgType & BlockGroupFlag.SYSTEM) !== 0n && bgType !== BlockGroupFlag.SYSTEM) bad('block-group-item', `flags 0x${flags.toString(16)}: SYSTEM with another type`);
  else if ((bgType & BlockGroupFlag.METADATA_REMAP) !== 0n && bgType !== BlockGroupFlag.METADATA_REMAP) bad('block-group-item', `flags 0x${flags.toString(16)}: METADATA_REMAP with another type`);
  const prof = flags & BLOCK_GROUP_PROFILE_MASK;
  if ((prof & (prof - 1n)) !== 0n) bad('block-group-item', `flags 0x${flags.toString(16)} name several profiles`);
}

/** ROOT_ITEM. */
function checkRootItem(c: ItemCheckCall): void {
  const { ctx, data, bad, genOk } = c;
  const ptr = rootItemPointer(data);
  if (!ptr) {
    bad('item-size', `root item is ${data.length} bytes`);
    return;
  }
  const { bytenr, level, generation: gen } = ptr;
  if (level >= 8) bad('root-item', `level ${level} >= 8`);
  if (bytenr % BigInt(ctx.sectorsize) !== 0n) bad('root-item', `bytenr ${bytenr} not aligned`);
  if (!genOk(gen)) bad('root-item', `generation ${gen} is past the filesystem's ${ctx.generation}`);
  // The kernel's check_root_key: no tree 0; a reloc tree only for a subvolume tree (its key offset).
  // Kernels before 5.x also made one for the data reloc tree, which btrfs check accepts
  // (fsck-tests/020-extent-ref-cases/tree_reloc_for_data_reloc): not damage here either.
  const key = c.block.key(c.slot);
  if (key.objectid === 0n) bad('root-item', 'root id 0');
  if (key.objectid === ObjectId.TREE_RELOC && !isFsTreeId(key.offset) && key.offset !== ObjectId.DATA_RELOC_TREE) bad('root-item', `reloc tree for tree ${key.offset}, which is not a subvolume tree`);
  // check_root_item: a legacy (239-byte) item reads as zeros past its end, which pass.
  const lastSnapshot = rootItemLastSnapshot(data, 0);
  if (!genOk(lastSnapshot)) bad('root-item', `last_snapshot ${lastSnapshot} is past the filesystem's ${ctx.generation}`);
  const flags = rootItemFlags(data, 0);
  if ((flags & ~(RootFlag.SUBVOL_RDONLY | RootFlag.SUBVOL_DEAD)) !== 0n) bad('root-item', `unknown root flags 0x${flags.toString(16)}`);
  const dropLevel = rootItemDropLevel(data, 0);
  if (dropLevel >= 8) bad('root-item', `drop_level ${dropLevel} >= 8`);
  if (data.length >= rootItem.off.generationV2 + rootItem.sizeOf.generationV2) {
    const genV2 = rootItemGenerationV2(data, 0);
    if (!genOk(genV2)) bad('root-item', `generation_v2 ${genV2} is past the filesystem's ${ctx.generation}`);
  }
}

/** EXTENT_CSUM. */
function checkExtentCsum(c: ItemCheckCall): void {
  const { ctx, block, slot, data, bad } = c;
  if (ctx.csumSize && data.length % ctx.csumSize !== 0) bad('csum-item', `item size ${data.length} is not a multiple of csum size ${ctx.csumSize}`);
  if (block.keyOffsetField(slot) % BigInt(ctx.sectorsize) !== 0n) bad('csum-item', `logical ${block.keyOffsetField(slot)} not aligned to sectorsize`);
  // check_csum_item: EXTENT_CSUM objectid (or, while progs converts the checksum type, CSUM_CHANGE: -13, which the kernel does not check then).
  const objectid = block.keyObjectid(slot);
  if (objectid !== ObjectId.EXTENT_CSUM && objectid !== ObjectId.CSUM_CHANGE) bad('csum-item', `key objectid ${objectid} is not EXTENT_CSUM`);
}

/** DEV_EXTENT. */
function checkDevExtent(c: ItemCheckCall): void {
  const { data, bad } = c;
  if (data.length !== DEV_EXTENT_SIZE) bad('item-size', `dev extent is ${data.length} bytes, expected ${DEV_EXTENT_SIZE}`);
  const d = decodeDevExtentItem(c.block.key(c.slot), data);
  if (d.kind === 'invalid') return;
  const ss = BigInt(c.ctx.sectorsize);
  const problems: string[] = [];
  if (d.chunkTree !== ObjectId.CHUNK_TREE) problems.push(`chunk tree ${d.chunkTree}, expected ${ObjectId.CHUNK_TREE}`);
  if (d.chunkObjectid !== ObjectId.FIRST_CHUNK_TREE) problems.push(`chunk objectid ${d.chunkObjectid}, expected ${ObjectId.FIRST_CHUNK_TREE}`);
  for (const [what, v] of [
    ['physical offset', BigInt(d.physical)],
    ['chunk offset', BigInt(d.chunkOffset)],
    ['length', d.length],
  ] as const)
    if (v % ss !== 0n) problems.push(`${what} ${v} not aligned to sectorsize ${ss}`);
  if (problems.length) bad('dev-extent-item', `dev extent: ${problems.join('; ')}`);
}

/** DEV_ITEM (chunk tree). */
function checkDevItem(c: ItemCheckCall): void {
  const { block, slot, data, bad } = c;
  const d = decodeDevItemItem(data);
  if (d.kind === 'invalid' || d.errors) {
    bad('item-size', d.kind === 'invalid' ? d.reason : d.errors!.join('; '));
    if (d.kind === 'invalid') return;
  }
  const key = block.key(slot);
  if (key.objectid !== ObjectId.DEV_ITEMS) bad('dev-item', `dev item key objectid ${key.objectid}, expected ${ObjectId.DEV_ITEMS}`);
  if (BigInt(d.devid) !== key.offset) bad('dev-item', `devid ${d.devid} differs from the key offset ${key.offset}`);
  if (d.bytesUsed > d.totalBytes) bad('dev-item', `bytes_used ${d.bytesUsed} exceeds total_bytes ${d.totalBytes}`);
}

/** ROOT_REF, ROOT_BACKREF. */
function checkRootRef(c: ItemCheckCall): void {
  const { data, bad } = c;
  if (data.length < ROOT_REF_SIZE || ROOT_REF_SIZE + rootRefNameLen(data, 0) !== data.length) bad('item-size', `root ref of ${data.length} bytes does not fit its name`);
}

function report(ctx: ItemCheckContext, block: TreeBlock, slot: number, tree: bigint, code: FindingCode, message: string): void {
  ctx.add({ ...rule(code), message, location: { tree, block: block.logical, logical: block.logical, slot, key: block.key(slot) } });
}

/**
 * Keyed back references (check_simple_keyed_refs, check_extent_data_ref):
 * TREE_BLOCK_REF and SHARED_BLOCK_REF hold nothing, SHARED_DATA_REF a count,
 * EXTENT_DATA_REF whole refs; the extent (key objectid) and a parent (key
 * offset of the SHARED ones) are sector aligned, as is each data ref's offset.
 */
function checkKeyedRef(c: ItemCheckCall): void {
  const { ctx, block, slot, type, data, bad } = c;
  const ss = BigInt(ctx.sectorsize);
  const key = block.key(slot);
  if (type === ItemType.EXTENT_DATA_REF) {
    if (data.length % extentDataRef.size !== 0) bad('item-size', `extent data ref item of ${data.length} bytes is not whole refs of ${extentDataRef.size}`);
  } else {
    const want = type === ItemType.SHARED_DATA_REF ? sharedDataRef.size : 0;
    if (data.length !== want) bad('item-size', `${itemTypeName(type)} item of ${data.length} bytes, expected ${want}`);
  }
  if (key.objectid % ss !== 0n) bad('extent-item', `back reference for extent ${key.objectid}, not aligned to sectorsize`);
  if ((type === ItemType.SHARED_BLOCK_REF || type === ItemType.SHARED_DATA_REF) && key.offset % ss !== 0n) bad('extent-item', `back reference from parent ${key.offset}, not aligned to sectorsize`);
  if (type === ItemType.EXTENT_DATA_REF)
    for (let p = 0; p + extentDataRef.size <= data.length; p += extentDataRef.size) {
      const offset = extentDataRefOffset(data, p);
      if (offset % ss !== 0n) bad('extent-item', `extent data ref offset ${offset} not aligned to sectorsize`);
    }
}
