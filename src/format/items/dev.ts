import { u32, u64, u8, uuidAt } from '../bytes.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { tooShort, type InvalidItem } from './common.js';

/** btrfs_dev_item (98 bytes): one device of the filesystem. */
export interface DevItem {
  devid: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  ioAlign: number;
  ioWidth: number;
  sectorSize: number;
  type: bigint;
  generation: bigint;
  startOffset: bigint;
  devGroup: number;
  seekSpeed: number;
  bandwidth: number;
  uuid: string;
  fsid: string;
}
export const DEV_ITEM_SIZE = 98;

export function decodeDevItem(buf: Uint8Array, off: number): DevItem {
  return {
    devid: u64(buf, off),
    totalBytes: u64(buf, off + 8),
    bytesUsed: u64(buf, off + 16),
    ioAlign: u32(buf, off + 24),
    ioWidth: u32(buf, off + 28),
    sectorSize: u32(buf, off + 32),
    type: u64(buf, off + 36),
    generation: u64(buf, off + 44),
    startOffset: u64(buf, off + 52),
    devGroup: u32(buf, off + 60),
    seekSpeed: u8(buf, off + 64),
    bandwidth: u8(buf, off + 65),
    uuid: uuidAt(buf, off + 66),
    fsid: uuidAt(buf, off + 82),
  };
}

/** btrfs_dev_extent (48 bytes): a device range owned by a chunk. */
export interface DevExtent {
  chunkTree: bigint;
  chunkObjectid: bigint;
  chunkOffset: bigint;
  length: bigint;
  chunkTreeUuid: string;
}
export const DEV_EXTENT_SIZE = 48;

export function decodeDevExtent(buf: Uint8Array, off: number): DevExtent {
  return {
    chunkTree: u64(buf, off),
    chunkObjectid: u64(buf, off + 8),
    chunkOffset: u64(buf, off + 16),
    length: u64(buf, off + 24),
    chunkTreeUuid: uuidAt(buf, off + 32),
  };
}

/** DEV_ITEM as an item: key (DEV_ITEMS, DEV_ITEM, devid) in the chunk tree. */
export interface DevItemDecoded extends DevItem {
  kind: 'dev_item';
  errors?: string[];
}

export function decodeDevItemItem(data: Uint8Array): DevItemDecoded | InvalidItem {
  if (data.length < DEV_ITEM_SIZE) return tooShort(ItemType.DEV_ITEM, 'dev item', DEV_ITEM_SIZE, data);
  const r: DevItemDecoded = { kind: 'dev_item', ...decodeDevItem(data, 0) };
  if (data.length !== DEV_ITEM_SIZE) r.errors = [`dev item has ${data.length} bytes, expected ${DEV_ITEM_SIZE}`];
  return r;
}

/** DEV_EXTENT as an item: key (devid, DEV_EXTENT, physical offset) in the dev tree. */
export interface DevExtentDecoded extends DevExtent {
  kind: 'dev_extent';
  devid: bigint;
  physical: bigint;
  errors?: string[];
}

export function decodeDevExtentItem(key: Key, data: Uint8Array): DevExtentDecoded | InvalidItem {
  if (data.length < DEV_EXTENT_SIZE) return tooShort(ItemType.DEV_EXTENT, 'dev extent', DEV_EXTENT_SIZE, data);
  const r: DevExtentDecoded = { kind: 'dev_extent', devid: key.objectid, physical: key.offset, ...decodeDevExtent(data, 0) };
  if (data.length !== DEV_EXTENT_SIZE) r.errors = [`dev extent has ${data.length} bytes, expected ${DEV_EXTENT_SIZE}`];
  return r;
}
