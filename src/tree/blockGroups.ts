import { CompatRoFlag, ItemType, ObjectId } from '../format/constants.js';
import { BLOCK_GROUP_ITEM_SIZE, blockGroupChunkObjectid, blockGroupFlags, blockGroupUsed } from '../format/items/blockGroup.js';
import { type DevExtent, decodeDevExtent } from '../format/items/dev.js';
import type { Filesystem } from './Filesystem.js';

/** btrfs_block_group_item: how much of a chunk's logical range is used. */
export interface BlockGroup {
  logical: bigint;
  length: bigint;
  used: bigint;
  chunkObjectid: bigint;
  flags: bigint;
}

/**
 * Block group items: in the block group tree when that feature is on
 * (compat_ro BLOCK_GROUP_TREE), else in the extent tree, keyed
 * (logical, BLOCK_GROUP_ITEM, length).
 */
export function readBlockGroups(fs: Filesystem): BlockGroup[] {
  const inBgTree = (fs.superblock.compatRoFlags & CompatRoFlag.BLOCK_GROUP_TREE) !== 0n;
  const root = fs.treeRoot(inBgTree ? ObjectId.BLOCK_GROUP_TREE : ObjectId.EXTENT_TREE);
  if (!root) return [];
  const out: BlockGroup[] = [];
  for (const { block, slot } of fs.items(root)) {
    if (block.keyType(slot) !== ItemType.BLOCK_GROUP_ITEM) continue;
    const d = block.itemData(slot);
    if (d.length < BLOCK_GROUP_ITEM_SIZE) continue;
    out.push({ logical: block.keyObjectid(slot), length: block.keyOffsetField(slot), used: blockGroupUsed(d, 0), chunkObjectid: blockGroupChunkObjectid(d, 0), flags: blockGroupFlags(d, 0) });
  }
  return out;
}

/** Device extents from the device tree, keyed (devid, DEV_EXTENT, physical). */
export function readDevExtents(fs: Filesystem): (DevExtent & { devid: bigint; physical: bigint })[] {
  const root = fs.treeRoot(ObjectId.DEV_TREE);
  if (!root) return [];
  const out: (DevExtent & { devid: bigint; physical: bigint })[] = [];
  for (const { block, slot } of fs.items(root)) {
    if (block.keyType(slot) !== ItemType.DEV_EXTENT) continue;
    const d = block.itemData(slot);
    if (d.length < 48) continue;
    out.push({ devid: block.keyObjectid(slot), physical: block.keyOffsetField(slot), ...decodeDevExtent(d, 0) });
  }
  return out;
}
