import { CompatRoFlag, ItemType, ObjectId } from '../format/constants.js';
import { BLOCK_GROUP_ITEM_SIZE, blockGroupChunkObjectid, blockGroupFlags, blockGroupUsed } from '../format/items/blockGroup.js';
import { type DevExtent, decodeDevExtent } from '../format/items/dev.js';
import { U64_MAX } from '../format/key.js';
import type { Filesystem } from './Filesystem.js';
import type { ItemRef, TreeRoot } from './walk.js';

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
  const root = blockGroupRoot(fs);
  if (!root) return [];
  const out: BlockGroup[] = [];
  for (const ref of fs.items(root)) {
    const bg = blockGroupAt(ref);
    if (bg) out.push(bg);
  }
  return out;
}

/**
 * The block group item at each of `logicals` (a chunk's start, a device
 * extent's chunk offset), found by key rather than by a walk: a block group
 * is keyed (logical, BLOCK_GROUP_ITEM, length), so the search for
 * (logical, BLOCK_GROUP_ITEM, 0..2^64-1) reads only the path down to the
 * leaf that holds it. In the extent tree of a large filesystem that is a few
 * dozen blocks instead of every leaf. Where one logical start has several
 * items (a damaged tree: two lengths), the last in key order is kept, as a
 * map built from readBlockGroups keeps it.
 */
export function readBlockGroupsAt(fs: Filesystem, logicals: Iterable<bigint>): Map<bigint, BlockGroup> {
  const out = new Map<bigint, BlockGroup>();
  const root = blockGroupRoot(fs);
  if (!root) return out;
  // Each search descends from the root again: a damaged block on the way is met once per
  // search, and reported once, as a walk would report it.
  const said = new Set<string>();
  const q = fs.withFindings({
    add(f) {
      const k = `${f.code}\0${f.message}`;
      if (said.has(k)) return;
      said.add(k);
      fs.blockSink.add(f);
    },
  });
  // In key order, so that consecutive searches share the upper blocks they read (block cache).
  const wanted = [...new Set(logicals)].filter((l) => l >= 0n && l <= U64_MAX).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  fs.warmSearchPaths(
    root,
    wanted.map((objectid) => ({ objectid, type: ItemType.BLOCK_GROUP_ITEM, offset: 0n })),
  );
  for (const logical of wanted) {
    for (const ref of q.items(root, { objectid: logical, type: ItemType.BLOCK_GROUP_ITEM, offset: 0n }, { objectid: logical, type: ItemType.BLOCK_GROUP_ITEM, offset: U64_MAX })) {
      const bg = blockGroupAt(ref);
      if (bg) out.set(logical, bg);
    }
  }
  return out;
}

/** Block group items: in the block group tree when that feature is on (compat_ro BLOCK_GROUP_TREE), else in the extent tree. */
function blockGroupRoot(fs: Filesystem): TreeRoot | undefined {
  const inBgTree = (fs.superblock.compatRoFlags & CompatRoFlag.BLOCK_GROUP_TREE) !== 0n;
  return fs.treeRoot(inBgTree ? ObjectId.BLOCK_GROUP_TREE : ObjectId.EXTENT_TREE);
}

function blockGroupAt({ block, slot }: ItemRef): BlockGroup | null {
  if (block.keyType(slot) !== ItemType.BLOCK_GROUP_ITEM) return null;
  const d = block.itemData(slot);
  if (d.length < BLOCK_GROUP_ITEM_SIZE) return null;
  return { logical: block.keyObjectid(slot), length: block.keyOffsetField(slot), used: blockGroupUsed(d, 0), chunkObjectid: blockGroupChunkObjectid(d, 0), flags: blockGroupFlags(d, 0) };
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
