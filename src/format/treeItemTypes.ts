import { ObjectId, ItemType as T } from './constants.js';

/**
 * Which item types each tree holds (btrfs_tree.h, and where the kernel
 * inserts each type): an inode item in the extent tree, or a chunk item in
 * a subvolume, is damage (a key whose type byte was corrupted).
 */

/** Items of a subvolume (and of the data reloc tree): inodes, names, xattrs, verity, orphans, file extents. */
const FS_TYPES: readonly number[] = [T.INODE_ITEM, T.INODE_REF, T.INODE_EXTREF, T.XATTR_ITEM, T.VERITY_DESC_ITEM, T.VERITY_MERKLE_ITEM, T.ORPHAN_ITEM, T.DIR_ITEM, T.DIR_INDEX, T.EXTENT_DATA];

/**
 * Key type 0 with objectid FREE_SPACE: the header of a free-space-cache (v1)
 * file in the root tree, or of the inode cache (inode_cache mount option,
 * kernels before 5.11) in a subvolume.
 */
const FREE_SPACE_HEADER_TYPE = 0;

/**
 * Trees created on a mounted filesystem (quotas, uuid tree, free space tree,
 * block group tree, raid stripe tree): older kernels gave each new tree an
 * inode item and inode ref for objectid 256, as if it were a subvolume;
 * btrfs check accepts them (btrfs-progs' fsck-tests/036 image has them in
 * its uuid tree).
 */
const CREATED: readonly number[] = [T.INODE_ITEM, T.INODE_REF];

const BY_TREE = new Map<bigint, ReadonlySet<number>>([
  // The root tree also has the free-space-cache inodes and the directory inode 6 ("default").
  [ObjectId.ROOT_TREE, new Set([...FS_TYPES, T.ROOT_ITEM, T.ROOT_BACKREF, T.ROOT_REF, T.TEMPORARY_ITEM, FREE_SPACE_HEADER_TYPE])],
  [
    ObjectId.EXTENT_TREE,
    new Set([T.EXTENT_ITEM, T.METADATA_ITEM, T.EXTENT_OWNER_REF, T.TREE_BLOCK_REF, T.EXTENT_DATA_REF, T.EXTENT_REF_V0, T.SHARED_BLOCK_REF, T.SHARED_DATA_REF, T.BLOCK_GROUP_ITEM]),
  ],
  [ObjectId.CHUNK_TREE, new Set([T.DEV_ITEM, T.CHUNK_ITEM])],
  // Device extents, device statistics (PERSISTENT_ITEM), the replace status (DEV_REPLACE).
  [ObjectId.DEV_TREE, new Set([T.DEV_EXTENT, T.PERSISTENT_ITEM, T.DEV_REPLACE])],
  [ObjectId.CSUM_TREE, new Set([T.EXTENT_CSUM])],
  [ObjectId.QUOTA_TREE, new Set([...CREATED, T.QGROUP_STATUS, T.QGROUP_INFO, T.QGROUP_LIMIT, T.QGROUP_RELATION])],
  [ObjectId.UUID_TREE, new Set([...CREATED, T.UUID_KEY_SUBVOL, T.UUID_KEY_RECEIVED_SUBVOL])],
  [ObjectId.FREE_SPACE_TREE, new Set([...CREATED, T.FREE_SPACE_INFO, T.FREE_SPACE_EXTENT, T.FREE_SPACE_BITMAP])],
  [ObjectId.BLOCK_GROUP_TREE, new Set([...CREATED, T.BLOCK_GROUP_ITEM])],
  [ObjectId.RAID_STRIPE_TREE, new Set([...CREATED, T.RAID_STRIPE])],
  // The log root tree and the log trees together (logItemTypeBelongs tells them apart).
  [ObjectId.TREE_LOG, new Set([...FS_TYPES, T.DIR_LOG_ITEM, T.DIR_LOG_INDEX, T.EXTENT_CSUM, T.ROOT_ITEM])],
]);

/**
 * The log root tree: the root items (TREE_LOG, ROOT_ITEM, subvolume) of the log trees, and
 * the link-count fixups (TREE_LOG_FIXUP, ORPHAN_ITEM, inode) a replay inserts
 * (tree-log.c btrfs_sync_log, fixup_inode_link_counts).
 */
const LOG_ROOT_TYPES: ReadonlySet<number> = new Set([T.ROOT_ITEM, T.ORPHAN_ITEM]);
/**
 * A subvolume's log tree: the items of the logged inodes (copy_items copies every item an
 * inode has), the directory log ranges, and the checksums of the logged data.
 */
const LOG_TREE_TYPES: ReadonlySet<number> = new Set([...FS_TYPES, T.DIR_LOG_ITEM, T.DIR_LOG_INDEX, T.EXTENT_CSUM]);
const FS_SET: ReadonlySet<number> = new Set([...FS_TYPES, FREE_SPACE_HEADER_TYPE]);

const KNOWN_TYPES: ReadonlySet<number> = new Set([...Object.values(T), FREE_SPACE_HEADER_TYPE]);

/**
 * Whether an item of key type `type` may be in tree `tree`: false only for
 * a type this reader knows in a tree whose contents it knows. Unknown types
 * (a newer format) and trees without a list (reloc trees, which copy any
 * subvolume's blocks; trees of a newer format) are never refused.
 */
export function itemTypeBelongs(tree: bigint, type: number): boolean {
  if (!KNOWN_TYPES.has(type)) return true;
  const isFs = tree === ObjectId.FS_TREE || tree === ObjectId.DATA_RELOC_TREE || (tree >= ObjectId.FIRST_FREE && tree <= ObjectId.LAST_FREE);
  const set = isFs ? FS_SET : BY_TREE.get(tree);
  return set === undefined || set.has(type);
}

/**
 * Whether an item of key type `type` may be in the log root tree (`logRoot`) or in a
 * subvolume's log tree. Unknown types (a newer format) are never refused.
 */
export function logItemTypeBelongs(logRoot: boolean, type: number): boolean {
  if (!KNOWN_TYPES.has(type)) return true;
  return (logRoot ? LOG_ROOT_TYPES : LOG_TREE_TYPES).has(type);
}
