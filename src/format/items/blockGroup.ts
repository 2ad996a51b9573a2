import { ItemType } from '../constants.js';
import { decodeKey, KEY_SIZE, type Key } from '../key.js';
import { bytes, defineStruct } from '../struct.js';
import { type InvalidItem, tooShort } from './common.js';

/** btrfs_block_group_item: key (start, BLOCK_GROUP_ITEM, length). */
export const blockGroupItem = defineStruct('btrfs_block_group_item', 24, [
  ['used', 'u64'],
  ['chunkObjectid', 'u64'],
  ['flags', 'u64'],
]);
export const { used: blockGroupUsed, chunkObjectid: blockGroupChunkObjectid, flags: blockGroupFlags } = blockGroupItem.get;

/**
 * btrfs_block_group_item_v2 (uapi/btrfs_tree.h, btrfs-progs 6.19): the item of every block group
 * when the REMAP_TREE incompat feature is on: the v1 fields, then the bytes of the group remapped
 * elsewhere through the remap tree and the count of its IDENTITY_REMAP items.
 */
export const blockGroupItemV2 = defineStruct('btrfs_block_group_item_v2', 36, [
  ['used', 'u64'],
  ['chunkObjectid', 'u64'],
  ['flags', 'u64'],
  ['remapBytes', 'u64'],
  ['identityRemapCount', 'u32'],
]);
export const { remapBytes: blockGroupRemapBytes, identityRemapCount: blockGroupIdentityRemapCount } = blockGroupItemV2.get;
export const BLOCK_GROUP_ITEM_V2_SIZE = blockGroupItemV2.size;

/** btrfs_free_space_info: key (block group start, FREE_SPACE_INFO, length). */
export const freeSpaceInfo = defineStruct('btrfs_free_space_info', 8, [
  ['extentCount', 'u32'],
  ['flags', 'u32'],
]);
export const { extentCount: freeSpaceInfoExtentCount, flags: freeSpaceInfoFlags } = freeSpaceInfo.get;

/** btrfs_free_space_header (space cache v1): where the cache inode is. */
export const freeSpaceHeader = defineStruct('btrfs_free_space_header', 41, [
  ['location', bytes(KEY_SIZE, 'btrfs_disk_key')],
  ['generation', 'u64'],
  ['numEntries', 'u64'],
  ['numBitmaps', 'u64'],
]);
const FSH = freeSpaceHeader.get;

/** BLOCK_GROUP_ITEM: key (start, BLOCK_GROUP_ITEM, length); btrfs_block_group_item (24 bytes). */
export interface BlockGroupItemDecoded {
  kind: 'block_group_item';
  start: bigint;
  length: bigint;
  used: bigint;
  chunkObjectid: bigint;
  /** BlockGroupFlag type and profile bits. */
  flags: bigint;
  /** The v2 item (remap tree): bytes remapped out of the group, and its IDENTITY_REMAP items. */
  remapBytes?: bigint;
  identityRemapCount?: number;
  errors?: string[];
}
export const BLOCK_GROUP_ITEM_SIZE = blockGroupItem.size;

export function decodeBlockGroupItem(key: Key, data: Uint8Array): BlockGroupItemDecoded | InvalidItem {
  if (data.length < BLOCK_GROUP_ITEM_SIZE) return tooShort(ItemType.BLOCK_GROUP_ITEM, 'block group item', BLOCK_GROUP_ITEM_SIZE, data);
  const r: BlockGroupItemDecoded = {
    kind: 'block_group_item',
    start: key.objectid,
    length: key.offset,
    used: blockGroupUsed(data, 0),
    chunkObjectid: blockGroupChunkObjectid(data, 0),
    flags: blockGroupFlags(data, 0),
  };
  if (data.length === BLOCK_GROUP_ITEM_V2_SIZE) {
    r.remapBytes = blockGroupRemapBytes(data, 0);
    r.identityRemapCount = blockGroupIdentityRemapCount(data, 0);
  } else if (data.length !== BLOCK_GROUP_ITEM_SIZE) r.errors = [`block group item has ${data.length} bytes, expected ${BLOCK_GROUP_ITEM_SIZE} (or ${BLOCK_GROUP_ITEM_V2_SIZE} with the remap tree)`];
  return r;
}

/** FREE_SPACE_INFO: key (block group start, FREE_SPACE_INFO, length); btrfs_free_space_info (8 bytes). */
export interface FreeSpaceInfoDecoded {
  kind: 'free_space_info';
  start: bigint;
  length: bigint;
  extentCount: number;
  /** FreeSpaceFlag.USING_BITMAPS. */
  flags: number;
  errors?: string[];
}

export function decodeFreeSpaceInfo(key: Key, data: Uint8Array): FreeSpaceInfoDecoded | InvalidItem {
  const size = freeSpaceInfo.size;
  if (data.length < size) return tooShort(ItemType.FREE_SPACE_INFO, 'free space info', size, data);
  const r: FreeSpaceInfoDecoded = {
    kind: 'free_space_info',
    start: key.objectid,
    length: key.offset,
    extentCount: freeSpaceInfoExtentCount(data, 0),
    flags: freeSpaceInfoFlags(data, 0),
  };
  if (data.length !== size) r.errors = [`free space info has ${data.length} bytes, expected ${size}`];
  return r;
}

/** FREE_SPACE_EXTENT: key (start, FREE_SPACE_EXTENT, length); no body. */
export interface FreeSpaceExtentDecoded {
  kind: 'free_space_extent';
  start: bigint;
  length: bigint;
  errors?: string[];
}

export function decodeFreeSpaceExtent(key: Key, data: Uint8Array): FreeSpaceExtentDecoded {
  const r: FreeSpaceExtentDecoded = { kind: 'free_space_extent', start: key.objectid, length: key.offset };
  if (data.length !== 0) r.errors = [`free space extent has ${data.length} bytes, expected 0`];
  return r;
}

/**
 * FREE_SPACE_BITMAP: key (start, FREE_SPACE_BITMAP, length); one bit per
 * sector from `start`, bit i of byte j (LSB first) = sector j*8+i is free.
 */
export interface FreeSpaceBitmapDecoded {
  kind: 'free_space_bitmap';
  start: bigint;
  length: bigint;
  bitmap: Uint8Array;
  errors?: string[];
}

export function decodeFreeSpaceBitmap(key: Key, data: Uint8Array, sectorsize: number): FreeSpaceBitmapDecoded {
  const r: FreeSpaceBitmapDecoded = { kind: 'free_space_bitmap', start: key.objectid, length: key.offset, bitmap: data };
  if (sectorsize > 0) {
    const bits = key.offset / BigInt(sectorsize);
    const want = (bits + 7n) / 8n;
    if (BigInt(data.length) !== want) r.errors = [`free space bitmap has ${data.length} bytes, ${want} expected for ${key.offset} bytes`];
  }
  return r;
}

/** True when the sector at `index` (0-based from the bitmap's start) is free. */
export function bitmapBit(bitmap: Uint8Array, index: number): boolean {
  return (((bitmap[index >>> 3] ?? 0) >>> (index & 7)) & 1) === 1;
}

/**
 * Space cache v1 header: key (FREE_SPACE, 0 "UNTYPED", block group start) in
 * the root tree; btrfs_free_space_header (41 bytes) points at the cache inode.
 */
export interface FreeSpaceHeaderDecoded {
  kind: 'free_space_header';
  blockGroup: bigint;
  location: Key;
  generation: bigint;
  numEntries: bigint;
  numBitmaps: bigint;
  errors?: string[];
}
export const FREE_SPACE_HEADER_SIZE = freeSpaceHeader.size;

export function decodeFreeSpaceHeader(key: Key, data: Uint8Array): FreeSpaceHeaderDecoded | InvalidItem {
  if (data.length < FREE_SPACE_HEADER_SIZE) return tooShort(0, 'free space header', FREE_SPACE_HEADER_SIZE, data);
  const r: FreeSpaceHeaderDecoded = {
    kind: 'free_space_header',
    blockGroup: key.offset,
    location: decodeKey(data, freeSpaceHeader.off.location),
    generation: FSH.generation(data, 0),
    numEntries: FSH.numEntries(data, 0),
    numBitmaps: FSH.numBitmaps(data, 0),
  };
  if (data.length !== FREE_SPACE_HEADER_SIZE) r.errors = [`free space header has ${data.length} bytes, expected ${FREE_SPACE_HEADER_SIZE}`];
  return r;
}
