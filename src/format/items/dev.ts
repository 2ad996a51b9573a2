import { asDevId, asPhysical, type DevId, type Physical } from '../addresses.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { defineStruct } from '../struct.js';
import { type InvalidItem, tooShort } from './common.js';

/** btrfs_dev_item, field by field (btrfs_tree.h); also embedded in the superblock. */
export const devItem = defineStruct('btrfs_dev_item', 98, [
  ['devid', 'u64'],
  ['totalBytes', 'u64'],
  ['bytesUsed', 'u64'],
  ['ioAlign', 'u32'],
  ['ioWidth', 'u32'],
  ['sectorSize', 'u32'],
  ['type', 'u64'],
  ['generation', 'u64'],
  ['startOffset', 'u64'],
  ['devGroup', 'u32'],
  ['seekSpeed', 'u8'],
  ['bandwidth', 'u8'],
  ['uuid', 'uuid'],
  ['fsid', 'uuid'],
]);
const DI = devItem.get;

/** btrfs_dev_extent: key (devid, DEV_EXTENT, physical offset). */
export const devExtent = defineStruct('btrfs_dev_extent', 48, [
  ['chunkTree', 'u64'],
  ['chunkObjectid', 'u64'],
  ['chunkOffset', 'u64'],
  ['length', 'u64'],
  ['chunkTreeUuid', 'uuid'],
]);
export const {
  chunkTree: devExtentChunkTree,
  chunkObjectid: devExtentChunkObjectid,
  chunkOffset: devExtentChunkOffset,
  length: devExtentLength,
  chunkTreeUuid: devExtentChunkTreeUuid,
} = devExtent.get;

/** btrfs_dev_item (98 bytes): one device of the filesystem. */
export interface DevItem {
  devid: DevId;
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
export const DEV_ITEM_SIZE = devItem.size;

export function decodeDevItem(buf: Uint8Array, off: number): DevItem {
  return {
    devid: asDevId(DI.devid(buf, off)),
    totalBytes: DI.totalBytes(buf, off),
    bytesUsed: DI.bytesUsed(buf, off),
    ioAlign: DI.ioAlign(buf, off),
    ioWidth: DI.ioWidth(buf, off),
    sectorSize: DI.sectorSize(buf, off),
    type: DI.type(buf, off),
    generation: DI.generation(buf, off),
    startOffset: DI.startOffset(buf, off),
    devGroup: DI.devGroup(buf, off),
    seekSpeed: DI.seekSpeed(buf, off),
    bandwidth: DI.bandwidth(buf, off),
    uuid: DI.uuid(buf, off),
    fsid: DI.fsid(buf, off),
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
export const DEV_EXTENT_SIZE = devExtent.size;

export function decodeDevExtent(buf: Uint8Array, off: number): DevExtent {
  return {
    chunkTree: devExtentChunkTree(buf, off),
    chunkObjectid: devExtentChunkObjectid(buf, off),
    chunkOffset: devExtentChunkOffset(buf, off),
    length: devExtentLength(buf, off),
    chunkTreeUuid: devExtentChunkTreeUuid(buf, off),
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
  devid: DevId;
  /** Where the extent starts on its device (the key offset). */
  physical: Physical;
  errors?: string[];
}

export function decodeDevExtentItem(key: Key, data: Uint8Array): DevExtentDecoded | InvalidItem {
  if (data.length < DEV_EXTENT_SIZE) return tooShort(ItemType.DEV_EXTENT, 'dev extent', DEV_EXTENT_SIZE, data);
  const r: DevExtentDecoded = { kind: 'dev_extent', devid: asDevId(key.objectid), physical: asPhysical(key.offset), ...decodeDevExtent(data, 0) };
  if (data.length !== DEV_EXTENT_SIZE) r.errors = [`dev extent has ${data.length} bytes, expected ${DEV_EXTENT_SIZE}`];
  return r;
}
