import { u32, u64, u8, uuidAt } from '../bytes.js';

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
