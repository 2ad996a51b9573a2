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
import type { Key } from '../key.js';
import type { BlockGroupItemDecoded, FreeSpaceBitmapDecoded, FreeSpaceExtentDecoded, FreeSpaceHeaderDecoded, FreeSpaceInfoDecoded } from './blockGroup.js';
import type { ChunkItemDecoded } from './chunk.js';
import type { InvalidItem } from './common.js';
import type { ExtentCsumDecoded } from './csum.js';
import type { DevExtentDecoded, DevItemDecoded } from './dev.js';
import type { DirItemDecoded } from './dir.js';
import type {
  ExtentDataRefDecoded,
  ExtentItemDecoded,
  ExtentItemV0Decoded,
  ExtentOwnerRefDecoded,
  ExtentRefV0Decoded,
  SharedBlockRefDecoded,
  SharedDataRefDecoded,
  TreeBlockRefDecoded,
} from './extent.js';
import type { FileExtentDecoded } from './fileExtent.js';
import type { InodeExtrefDecoded, InodeItemDecoded, InodeRefDecoded } from './inode.js';
import type {
  BalanceItemDecoded,
  DevReplaceDecoded,
  DevStatsDecoded,
  DirLogDecoded,
  OrphanItemDecoded,
  PersistentItemDecoded,
  RaidStripeDecoded,
  StringItemDecoded,
  TemporaryItemDecoded,
  UuidItemDecoded,
  VerityDescDecoded,
  VerityMerkleDecoded,
} from './misc.js';
import type { QgroupInfoDecoded, QgroupLimitDecoded, QgroupRelationDecoded, QgroupStatusDecoded } from './qgroup.js';
import { ITEM_TYPE_BY_NUMBER } from './registry.js';
import type { RootItemDecoded, RootRefDecoded } from './root.js';

export type * from './blockGroup.js';
export { bitmapBit } from './blockGroup.js';
export type * from './chunk.js';
export type { InvalidItem, Timespec } from './common.js';
export type * from './csum.js';
export { csumAt, csumIndexOf } from './csum.js';
export type * from './dev.js';
export type * from './dir.js';
export type * from './extent.js';
export { extentDataRefHash, inlineRefSize } from './extent.js';
export type * from './fileExtent.js';
export type * from './inode.js';
export { decodeInodeItemAt } from './inode.js';
export type * from './misc.js';
export { DEV_STAT_NAMES, uuidFromKey } from './misc.js';
export type * from './qgroup.js';
export { formatQgroupId, qgroupLevel, qgroupSubvolid } from './qgroup.js';
export { fixedReadSize, ITEM_TYPE_BY_NUMBER, ITEM_TYPES, type ItemTypeEntry, type ProgsRelease, progsTypeNames } from './registry.js';
export type * from './root.js';

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
 * Decodes one leaf item through its registry entry (registry.ts). `data` is exactly the item's bytes
 * (TreeBlock.itemData(slot)); the key supplies what some items keep there
 * (parent dir, hash, range lengths, level, ...). Never throws.
 */
export function decodeItem(key: Key, data: Uint8Array, ctx: ItemContext): DecodedItem {
  const e = ITEM_TYPE_BY_NUMBER[key.type];
  return e ? e.decode(key, data, ctx) : { kind: 'unknown', itemType: key.type, raw: data };
}
