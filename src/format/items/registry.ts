/**
 * The item registry: one entry per key type, from which the rest is derived
 * (decodeItem's dispatch, the names dump-tree prints per btrfs-progs
 * release, the fixed sizes btrfs-progs reads, the check and render
 * dispatch in the layers above, which key their tables by `name` or by the
 * decoded `kinds` and are tested complete against this list).
 *
 * To add an item type: its struct and decoder in a module of this folder,
 * its kind in DecodedItem (index.ts), one entry here, then its renderer in
 * report/printTree/items.ts (the compiler asks for it) and, if it has
 * rules, a check in analysis/check/items.ts.
 */
import { FileExtentType, ItemType, ObjectId } from '../constants.js';
import type { Key } from '../key.js';
import { blockGroupItem, decodeBlockGroupItem, decodeFreeSpaceBitmap, decodeFreeSpaceExtent, decodeFreeSpaceHeader, decodeFreeSpaceInfo, freeSpaceHeader, freeSpaceInfo } from './blockGroup.js';
import { chunkItem, chunkItemSize, chunkNumStripes, decodeChunkItemItem } from './chunk.js';
import { decodeExtentCsum } from './csum.js';
import { decodeDevExtentItem, decodeDevItemItem, devExtent, devItem } from './dev.js';
import { decodeDirItem } from './dir.js';
import {
  decodeExtentDataRef,
  decodeExtentItem,
  decodeExtentOwnerRef,
  decodeExtentRefV0,
  decodeSharedBlockRef,
  decodeSharedDataRef,
  decodeTreeBlockRef,
  extentDataRef,
  sharedDataRef,
} from './extent.js';
import { decodeFileExtent, FILE_EXTENT_INLINE_DATA_START, fileExtentItem, fileExtentType } from './fileExtent.js';
import type { DecodedItem, DecodedItemKind, ItemContext } from './index.js';
import { decodeInodeExtref, decodeInodeItem, decodeInodeRef, inodeItem } from './inode.js';
import {
  balanceItem,
  decodeBalanceItem,
  decodeDevReplace,
  decodeDevStats,
  decodeDirLog,
  decodeOrphanItem,
  decodeRaidStripe,
  decodeStringItem,
  decodeUuidItem,
  decodeVerityDesc,
  devReplaceItem,
  dirLogItem,
} from './misc.js';
import { decodeQgroupInfo, decodeQgroupLimit, decodeQgroupRelation, decodeQgroupStatus, qgroupInfoItem, qgroupLimitItem, qgroupStatusItem } from './qgroup.js';
import { decodeRootItem, decodeRootRef, rootRef } from './root.js';

/** The btrfs-progs releases whose dump-tree output is reproduced. */
export type ProgsRelease = '6.2' | '6.19';

export interface ItemTypeEntry {
  /** The key type. */
  type: number;
  /** Our name: ItemType's key where it has one. */
  name: string;
  /** What dump-tree prints for the key type; undefined: UNKNOWN.<type>. */
  progsName?: string;
  /** The first release whose dump-tree knows the name (older ones print UNKNOWN.<type>); absent: every release. */
  progsSince?: ProgsRelease;
  /**
   * The bytes btrfs-progs reads for the item whatever its size (so a short
   * item is printed with what follows it in the leaf); 0 when it reads
   * nothing fixed. A function when it depends on the key or the bytes.
   */
  fixedSize: number | ((key: Key, data: Uint8Array) => number);
  /** Never throws; see index.ts for the invalid-item convention. */
  decode: (key: Key, data: Uint8Array, ctx: ItemContext) => DecodedItem;
  /** The kinds `decode` yields besides 'invalid': report/ renders each kind (RENDERERS), a test checks it covers them all. */
  kinds: readonly DecodedItemKind[];
}

const unknown = (key: Key, data: Uint8Array): DecodedItem => ({ kind: 'unknown', itemType: key.type, raw: data });
/** A chunk item's size once num_stripes can be read. */
const CHUNK_NUM_STRIPES_END = chunkItem.off.numStripes + chunkItem.sizeOf.numStripes;

export const ITEM_TYPES: readonly ItemTypeEntry[] = [
  {
    type: 0,
    name: 'FREE_SPACE_HEADER',
    kinds: ['free_space_header', 'unknown'],
    // Space cache v1 header in the root tree: (FREE_SPACE, 0 "UNTYPED", block group start).
    fixedSize: (key) => (key.objectid === ObjectId.FREE_SPACE ? freeSpaceHeader.size : 0),
    decode: (key, data) => (key.objectid === ObjectId.FREE_SPACE ? decodeFreeSpaceHeader(key, data) : unknown(key, data)),
  },
  { type: ItemType.INODE_ITEM, name: 'INODE_ITEM', progsName: 'INODE_ITEM', kinds: ['inode_item'], fixedSize: inodeItem.size, decode: (_k, data) => decodeInodeItem(data) },
  { type: ItemType.INODE_REF, name: 'INODE_REF', progsName: 'INODE_REF', kinds: ['inode_ref'], fixedSize: 0, decode: decodeInodeRef },
  { type: ItemType.INODE_EXTREF, name: 'INODE_EXTREF', progsName: 'INODE_EXTREF', kinds: ['inode_extref'], fixedSize: 0, decode: decodeInodeExtref },
  { type: ItemType.XATTR_ITEM, name: 'XATTR_ITEM', progsName: 'XATTR_ITEM', kinds: ['xattr_item'], fixedSize: 0, decode: decodeDirItem },
  { type: ItemType.VERITY_DESC_ITEM, name: 'VERITY_DESC_ITEM', progsName: 'VERITY_DESC_ITEM', kinds: ['verity_desc'], fixedSize: 0, decode: decodeVerityDesc },
  {
    type: ItemType.VERITY_MERKLE_ITEM,
    name: 'VERITY_MERKLE_ITEM',
    progsName: 'VERITY_MERKLE_ITEM',
    kinds: ['verity_merkle'],
    fixedSize: 0,
    decode: (key, data) => ({ kind: 'verity_merkle', offset: key.offset, raw: data }),
  },
  { type: ItemType.ORPHAN_ITEM, name: 'ORPHAN_ITEM', progsName: 'ORPHAN_ITEM', kinds: ['orphan_item'], fixedSize: 0, decode: decodeOrphanItem },
  { type: ItemType.DIR_LOG_ITEM, name: 'DIR_LOG_ITEM', progsName: 'DIR_LOG_ITEM', kinds: ['dir_log_item'], fixedSize: dirLogItem.size, decode: decodeDirLog },
  { type: ItemType.DIR_LOG_INDEX, name: 'DIR_LOG_INDEX', progsName: 'DIR_LOG_INDEX', kinds: ['dir_log_index'], fixedSize: dirLogItem.size, decode: decodeDirLog },
  { type: ItemType.DIR_ITEM, name: 'DIR_ITEM', progsName: 'DIR_ITEM', kinds: ['dir_item'], fixedSize: 0, decode: decodeDirItem },
  { type: ItemType.DIR_INDEX, name: 'DIR_INDEX', progsName: 'DIR_INDEX', kinds: ['dir_index'], fixedSize: 0, decode: decodeDirItem },
  {
    type: ItemType.EXTENT_DATA,
    name: 'EXTENT_DATA',
    progsName: 'EXTENT_DATA',
    kinds: ['file_extent'],
    decode: decodeFileExtent,
    // An inline extent's header only; any other the whole item.
    fixedSize: (_key, data) => (data.length >= FILE_EXTENT_INLINE_DATA_START && fileExtentType(data, 0) === FileExtentType.INLINE ? FILE_EXTENT_INLINE_DATA_START : fileExtentItem.size),
  },
  { type: 120, name: 'CSUM_ITEM', progsName: 'CSUM_ITEM', kinds: ['unknown'], fixedSize: 0, decode: unknown },
  {
    type: ItemType.EXTENT_CSUM,
    name: 'EXTENT_CSUM',
    progsName: 'EXTENT_CSUM',
    kinds: ['extent_csum'],
    fixedSize: 0,
    decode: (key, data, ctx) => decodeExtentCsum(key, data, ctx.csumSize, ctx.sectorsize),
  },
  { type: ItemType.ROOT_ITEM, name: 'ROOT_ITEM', progsName: 'ROOT_ITEM', kinds: ['root_item'], fixedSize: 0, decode: decodeRootItem },
  { type: ItemType.ROOT_BACKREF, name: 'ROOT_BACKREF', progsName: 'ROOT_BACKREF', kinds: ['root_backref'], fixedSize: rootRef.size, decode: decodeRootRef },
  { type: ItemType.ROOT_REF, name: 'ROOT_REF', progsName: 'ROOT_REF', kinds: ['root_ref'], fixedSize: rootRef.size, decode: decodeRootRef },
  { type: ItemType.EXTENT_ITEM, name: 'EXTENT_ITEM', progsName: 'EXTENT_ITEM', kinds: ['extent_item', 'extent_item_v0'], fixedSize: 0, decode: decodeExtentItem },
  { type: ItemType.METADATA_ITEM, name: 'METADATA_ITEM', progsName: 'METADATA_ITEM', kinds: ['metadata_item'], fixedSize: 0, decode: decodeExtentItem },
  { type: ItemType.EXTENT_OWNER_REF, name: 'EXTENT_OWNER_REF', progsName: 'EXTENT_OWNER_REF', progsSince: '6.19', kinds: ['extent_owner_ref'], fixedSize: 0, decode: decodeExtentOwnerRef },
  { type: ItemType.TREE_BLOCK_REF, name: 'TREE_BLOCK_REF', progsName: 'TREE_BLOCK_REF', kinds: ['tree_block_ref'], fixedSize: 0, decode: decodeTreeBlockRef },
  { type: ItemType.EXTENT_DATA_REF, name: 'EXTENT_DATA_REF', progsName: 'EXTENT_DATA_REF', kinds: ['extent_data_ref'], fixedSize: extentDataRef.size, decode: decodeExtentDataRef },
  { type: ItemType.EXTENT_REF_V0, name: 'EXTENT_REF_V0', progsName: 'EXTENT_REF_V0', kinds: ['extent_ref_v0'], fixedSize: 0, decode: decodeExtentRefV0 },
  { type: ItemType.SHARED_BLOCK_REF, name: 'SHARED_BLOCK_REF', progsName: 'SHARED_BLOCK_REF', kinds: ['shared_block_ref'], fixedSize: 0, decode: decodeSharedBlockRef },
  { type: ItemType.SHARED_DATA_REF, name: 'SHARED_DATA_REF', progsName: 'SHARED_DATA_REF', kinds: ['shared_data_ref'], fixedSize: sharedDataRef.size, decode: decodeSharedDataRef },
  { type: ItemType.BLOCK_GROUP_ITEM, name: 'BLOCK_GROUP_ITEM', progsName: 'BLOCK_GROUP_ITEM', kinds: ['block_group_item'], fixedSize: blockGroupItem.size, decode: decodeBlockGroupItem },
  { type: ItemType.FREE_SPACE_INFO, name: 'FREE_SPACE_INFO', progsName: 'FREE_SPACE_INFO', kinds: ['free_space_info'], fixedSize: freeSpaceInfo.size, decode: decodeFreeSpaceInfo },
  { type: ItemType.FREE_SPACE_EXTENT, name: 'FREE_SPACE_EXTENT', progsName: 'FREE_SPACE_EXTENT', kinds: ['free_space_extent'], fixedSize: 0, decode: decodeFreeSpaceExtent },
  {
    type: ItemType.FREE_SPACE_BITMAP,
    name: 'FREE_SPACE_BITMAP',
    progsName: 'FREE_SPACE_BITMAP',
    kinds: ['free_space_bitmap'],
    fixedSize: 0,
    decode: (key, data, ctx) => decodeFreeSpaceBitmap(key, data, ctx.sectorsize),
  },
  { type: ItemType.DEV_EXTENT, name: 'DEV_EXTENT', progsName: 'DEV_EXTENT', kinds: ['dev_extent'], fixedSize: devExtent.size, decode: decodeDevExtentItem },
  { type: ItemType.DEV_ITEM, name: 'DEV_ITEM', progsName: 'DEV_ITEM', kinds: ['dev_item'], fixedSize: devItem.size, decode: (_k, data) => decodeDevItemItem(data) },
  {
    type: ItemType.CHUNK_ITEM,
    name: 'CHUNK_ITEM',
    progsName: 'CHUNK_ITEM',
    kinds: ['chunk_item'],
    decode: decodeChunkItemItem,
    fixedSize: (_key, data) => (data.length >= CHUNK_NUM_STRIPES_END ? chunkItemSize(chunkNumStripes(data, 0)) : chunkItem.size),
  },
  { type: ItemType.RAID_STRIPE, name: 'RAID_STRIPE', progsName: 'RAID_STRIPE', progsSince: '6.19', kinds: ['raid_stripe'], fixedSize: 0, decode: decodeRaidStripe },
  { type: 234, name: 'IDENTITY_REMAP', progsName: 'IDENTITY_REMAP', progsSince: '6.19', kinds: ['unknown'], fixedSize: 0, decode: unknown },
  { type: 235, name: 'REMAP', progsName: 'REMAP', progsSince: '6.19', kinds: ['unknown'], fixedSize: 0, decode: unknown },
  { type: 236, name: 'REMAP_BACKREF', progsName: 'REMAP_BACKREF', progsSince: '6.19', kinds: ['unknown'], fixedSize: 0, decode: unknown },
  // Only the v1 part (32 bytes): enable_gen came with simple quotas.
  {
    type: ItemType.QGROUP_STATUS,
    name: 'QGROUP_STATUS',
    progsName: 'QGROUP_STATUS',
    kinds: ['qgroup_status'],
    fixedSize: qgroupStatusItem.off.enableGen,
    decode: (_k, data) => decodeQgroupStatus(data),
  },
  { type: ItemType.QGROUP_INFO, name: 'QGROUP_INFO', progsName: 'QGROUP_INFO', kinds: ['qgroup_info'], fixedSize: qgroupInfoItem.size, decode: decodeQgroupInfo },
  { type: ItemType.QGROUP_LIMIT, name: 'QGROUP_LIMIT', progsName: 'QGROUP_LIMIT', kinds: ['qgroup_limit'], fixedSize: qgroupLimitItem.size, decode: decodeQgroupLimit },
  { type: ItemType.QGROUP_RELATION, name: 'QGROUP_RELATION', progsName: 'QGROUP_RELATION', kinds: ['qgroup_relation'], fixedSize: 0, decode: decodeQgroupRelation },
  {
    type: ItemType.TEMPORARY_ITEM,
    name: 'TEMPORARY_ITEM',
    progsName: 'TEMPORARY_ITEM',
    kinds: ['balance_item', 'temporary_item'],
    fixedSize: (key) => (key.objectid === ObjectId.BALANCE ? balanceItem.size : 0),
    decode: (key, data) => (key.objectid === ObjectId.BALANCE ? decodeBalanceItem(data) : { kind: 'temporary_item', objectid: key.objectid, offset: key.offset, raw: data }),
  },
  {
    type: ItemType.PERSISTENT_ITEM,
    name: 'PERSISTENT_ITEM',
    progsName: 'PERSISTENT_ITEM',
    kinds: ['dev_stats', 'persistent_item'],
    fixedSize: 0,
    decode: (key, data) => (key.objectid === ObjectId.DEV_STATS ? decodeDevStats(key, data) : { kind: 'persistent_item', objectid: key.objectid, offset: key.offset, raw: data }),
  },
  { type: ItemType.DEV_REPLACE, name: 'DEV_REPLACE', progsName: 'DEV_REPLACE', kinds: ['dev_replace'], fixedSize: devReplaceItem.size, decode: (_k, data) => decodeDevReplace(data) },
  { type: ItemType.UUID_KEY_SUBVOL, name: 'UUID_KEY_SUBVOL', progsName: 'UUID_KEY_SUBVOL', kinds: ['uuid_subvol'], fixedSize: 0, decode: decodeUuidItem },
  { type: ItemType.UUID_KEY_RECEIVED_SUBVOL, name: 'UUID_KEY_RECEIVED_SUBVOL', progsName: 'UUID_KEY_RECEIVED_SUBVOL', kinds: ['uuid_received_subvol'], fixedSize: 0, decode: decodeUuidItem },
  { type: ItemType.STRING_ITEM, name: 'STRING_ITEM', progsName: 'STRING_ITEM', kinds: ['string_item'], fixedSize: 0, decode: (_k, data) => decodeStringItem(data) },
];

/** The entry of every key type, by type (undefined: a type this code does not know). */
export const ITEM_TYPE_BY_NUMBER: readonly (ItemTypeEntry | undefined)[] = (() => {
  const t: (ItemTypeEntry | undefined)[] = new Array(256).fill(undefined);
  for (const e of ITEM_TYPES) {
    if (t[e.type]) throw new Error(`item type ${e.type} registered twice`);
    t[e.type] = e;
  }
  return t;
})();

/** The names dump-tree of `release` prints for key types (a type without one prints UNKNOWN.<type>). */
export function progsTypeNames(release: ProgsRelease): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of ITEM_TYPES) {
    if (e.progsName === undefined || (e.progsSince === '6.19' && release !== '6.19')) continue;
    m.set(e.type, e.progsName);
  }
  return m;
}

/** The bytes btrfs-progs reads of an item of this key whatever its size (0: nothing fixed). */
export function fixedReadSize(key: Key, data: Uint8Array): number {
  const e = ITEM_TYPE_BY_NUMBER[key.type];
  if (!e) return 0;
  return typeof e.fixedSize === 'number' ? e.fixedSize : e.fixedSize(key, data);
}
