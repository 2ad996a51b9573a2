/**
 * One entry point for decoding any leaf item: `decodeItem(key, data, ctx)`.
 *
 * Invalid-item convention (see common.ts):
 * - an item too short for its fixed part, or otherwise undecodable, yields
 *   `{ kind: 'invalid', itemType, reason, raw }`;
 * - an item whose fixed part decodes but whose rest is inconsistent yields
 *   its normal kind with what could be decoded plus `errors: string[]`;
 *   `errors` is absent on a clean item.
 * Decoders never read past `data.length`, never loop beyond what the item's
 * bytes allow and never throw on any input.
 */
import { ItemType, ObjectId } from '../constants.js';
import type { Key } from '../key.js';
import { decodeBlockGroupItem, decodeFreeSpaceBitmap, decodeFreeSpaceExtent, decodeFreeSpaceHeader, decodeFreeSpaceInfo } from './blockGroup.js';
import type { BlockGroupItemDecoded, FreeSpaceBitmapDecoded, FreeSpaceExtentDecoded, FreeSpaceHeaderDecoded, FreeSpaceInfoDecoded } from './blockGroup.js';
import { decodeChunkItemItem, type ChunkItemDecoded } from './chunk.js';
import type { InvalidItem } from './common.js';
import { decodeExtentCsum, type ExtentCsumDecoded } from './csum.js';
import { decodeDevExtentItem, decodeDevItemItem, type DevExtentDecoded, type DevItemDecoded } from './dev.js';
import { decodeDirItem, type DirItemDecoded } from './dir.js';
import {
  decodeExtentDataRef, decodeExtentItem, decodeExtentOwnerRef, decodeExtentRefV0, decodeSharedBlockRef, decodeSharedDataRef, decodeTreeBlockRef,
  type ExtentDataRefDecoded, type ExtentItemDecoded, type ExtentItemV0Decoded, type ExtentOwnerRefDecoded, type ExtentRefV0Decoded,
  type SharedBlockRefDecoded, type SharedDataRefDecoded, type TreeBlockRefDecoded,
} from './extent.js';
import { decodeFileExtent, type FileExtentDecoded } from './fileExtent.js';
import { decodeInodeExtref, decodeInodeItem, decodeInodeRef, type InodeExtrefDecoded, type InodeItemDecoded, type InodeRefDecoded } from './inode.js';
import {
  decodeBalanceItem, decodeDevReplace, decodeDevStats, decodeDirLog, decodeOrphanItem, decodeRaidStripe, decodeStringItem, decodeUuidItem, decodeVerityDesc,
  type BalanceItemDecoded, type DevReplaceDecoded, type DevStatsDecoded, type DirLogDecoded, type OrphanItemDecoded, type PersistentItemDecoded,
  type RaidStripeDecoded, type StringItemDecoded, type TemporaryItemDecoded, type UuidItemDecoded, type VerityDescDecoded, type VerityMerkleDecoded,
} from './misc.js';
import {
  decodeQgroupInfo, decodeQgroupLimit, decodeQgroupRelation, decodeQgroupStatus,
  type QgroupInfoDecoded, type QgroupLimitDecoded, type QgroupRelationDecoded, type QgroupStatusDecoded,
} from './qgroup.js';
import { decodeRootItem, decodeRootRef, type RootItemDecoded, type RootRefDecoded } from './root.js';

export type { InvalidItem, Timespec } from './common.js';
export type * from './blockGroup.js';
export type * from './chunk.js';
export type * from './csum.js';
export type * from './dev.js';
export type * from './dir.js';
export type * from './extent.js';
export type * from './fileExtent.js';
export type * from './inode.js';
export type * from './misc.js';
export type * from './qgroup.js';
export type * from './root.js';
export { csumAt, csumIndexOf } from './csum.js';
export { extentDataRefHash, inlineRefSize } from './extent.js';
export { bitmapBit } from './blockGroup.js';
export { formatQgroupId, qgroupLevel, qgroupSubvolid } from './qgroup.js';
export { uuidFromKey, DEV_STAT_NAMES } from './misc.js';
export { decodeInodeItemAt } from './inode.js';

/** What decoding needs to know about the filesystem. */
export interface ItemContext {
  /** Bytes per data checksum (superblock csum type: 4, 8 or 32). */
  csumSize: number;
  nodesize: number;
  sectorsize: number;
}

/** An item of a type this decoder does not know (e.g. CSUM_ITEM 120, REMAP items, future types). */
export interface UnknownItem {
  kind: 'unknown';
  itemType: number;
  raw: Uint8Array;
}

export type DecodedItem =
  | InodeItemDecoded
  | InodeRefDecoded
  | InodeExtrefDecoded
  | DirItemDecoded
  | FileExtentDecoded
  | ExtentCsumDecoded
  | RootItemDecoded
  | RootRefDecoded
  | ExtentItemDecoded
  | ExtentItemV0Decoded
  | ExtentOwnerRefDecoded
  | TreeBlockRefDecoded
  | SharedBlockRefDecoded
  | ExtentDataRefDecoded
  | SharedDataRefDecoded
  | ExtentRefV0Decoded
  | BlockGroupItemDecoded
  | FreeSpaceInfoDecoded
  | FreeSpaceExtentDecoded
  | FreeSpaceBitmapDecoded
  | FreeSpaceHeaderDecoded
  | DevItemDecoded
  | DevExtentDecoded
  | ChunkItemDecoded
  | RaidStripeDecoded
  | QgroupStatusDecoded
  | QgroupInfoDecoded
  | QgroupLimitDecoded
  | QgroupRelationDecoded
  | OrphanItemDecoded
  | DirLogDecoded
  | UuidItemDecoded
  | DevStatsDecoded
  | PersistentItemDecoded
  | BalanceItemDecoded
  | TemporaryItemDecoded
  | DevReplaceDecoded
  | StringItemDecoded
  | VerityDescDecoded
  | VerityMerkleDecoded
  | UnknownItem
  | InvalidItem;

export type DecodedItemKind = DecodedItem['kind'];

/**
 * Decodes one leaf item. `data` is exactly the item's bytes
 * (TreeBlock.itemData(slot)); the key supplies what some items keep there
 * (parent dir, hash, range lengths, level, ...). Never throws.
 */
export function decodeItem(key: Key, data: Uint8Array, ctx: ItemContext): DecodedItem {
  switch (key.type) {
    case ItemType.INODE_ITEM: return decodeInodeItem(data);
    case ItemType.INODE_REF: return decodeInodeRef(key, data);
    case ItemType.INODE_EXTREF: return decodeInodeExtref(key, data);
    case ItemType.XATTR_ITEM:
    case ItemType.DIR_ITEM:
    case ItemType.DIR_INDEX:
      return decodeDirItem(key, data);
    case ItemType.VERITY_DESC_ITEM: return decodeVerityDesc(key, data);
    case ItemType.VERITY_MERKLE_ITEM: return { kind: 'verity_merkle', offset: key.offset, raw: data };
    case ItemType.ORPHAN_ITEM: return decodeOrphanItem(key, data);
    case ItemType.DIR_LOG_ITEM:
    case ItemType.DIR_LOG_INDEX:
      return decodeDirLog(key, data);
    case ItemType.EXTENT_DATA: return decodeFileExtent(key, data);
    case ItemType.EXTENT_CSUM: return decodeExtentCsum(key, data, ctx.csumSize, ctx.sectorsize);
    case ItemType.ROOT_ITEM: return decodeRootItem(key, data);
    case ItemType.ROOT_REF:
    case ItemType.ROOT_BACKREF:
      return decodeRootRef(key, data);
    case ItemType.EXTENT_ITEM:
    case ItemType.METADATA_ITEM:
      return decodeExtentItem(key, data);
    case ItemType.EXTENT_OWNER_REF: return decodeExtentOwnerRef(key, data);
    case ItemType.TREE_BLOCK_REF: return decodeTreeBlockRef(key, data);
    case ItemType.EXTENT_DATA_REF: return decodeExtentDataRef(key, data);
    case ItemType.EXTENT_REF_V0: return decodeExtentRefV0(key, data);
    case ItemType.SHARED_BLOCK_REF: return decodeSharedBlockRef(key, data);
    case ItemType.SHARED_DATA_REF: return decodeSharedDataRef(key, data);
    case ItemType.BLOCK_GROUP_ITEM: return decodeBlockGroupItem(key, data);
    case ItemType.FREE_SPACE_INFO: return decodeFreeSpaceInfo(key, data);
    case ItemType.FREE_SPACE_EXTENT: return decodeFreeSpaceExtent(key, data);
    case ItemType.FREE_SPACE_BITMAP: return decodeFreeSpaceBitmap(key, data, ctx.sectorsize);
    case ItemType.DEV_EXTENT: return decodeDevExtentItem(key, data);
    case ItemType.DEV_ITEM: return decodeDevItemItem(data);
    case ItemType.CHUNK_ITEM: return decodeChunkItemItem(key, data);
    case ItemType.RAID_STRIPE: return decodeRaidStripe(key, data);
    case ItemType.QGROUP_STATUS: return decodeQgroupStatus(data);
    case ItemType.QGROUP_INFO: return decodeQgroupInfo(key, data);
    case ItemType.QGROUP_LIMIT: return decodeQgroupLimit(key, data);
    case ItemType.QGROUP_RELATION: return decodeQgroupRelation(key, data);
    case ItemType.TEMPORARY_ITEM:
      if (key.objectid === ObjectId.BALANCE) return decodeBalanceItem(data);
      return { kind: 'temporary_item', objectid: key.objectid, offset: key.offset, raw: data };
    case ItemType.PERSISTENT_ITEM:
      if (key.objectid === ObjectId.DEV_STATS) return decodeDevStats(key, data);
      return { kind: 'persistent_item', objectid: key.objectid, offset: key.offset, raw: data };
    case ItemType.DEV_REPLACE: return decodeDevReplace(data);
    case ItemType.UUID_KEY_SUBVOL:
    case ItemType.UUID_KEY_RECEIVED_SUBVOL:
      return decodeUuidItem(key, data);
    case ItemType.STRING_ITEM: return decodeStringItem(data);
    case 0:
      // Space cache v1 header in the root tree: (FREE_SPACE, 0, block group start).
      if (key.objectid === ObjectId.FREE_SPACE) return decodeFreeSpaceHeader(key, data);
      return { kind: 'unknown', itemType: 0, raw: data };
    default:
      return { kind: 'unknown', itemType: key.type, raw: data };
  }
}
