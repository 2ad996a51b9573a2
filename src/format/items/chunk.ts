import { u16, u32, u64, uuidAt } from '../bytes.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { tooShort, type InvalidItem } from './common.js';

/** btrfs_stripe (32 bytes): where one stripe of a chunk lives. */
export interface Stripe {
  devid: bigint;
  offset: bigint;
  devUuid: string;
}

/** btrfs_chunk (48 bytes + 32 per stripe): a logical range and its stripes. */
export interface ChunkItem {
  length: bigint;
  owner: bigint;
  stripeLen: bigint;
  type: bigint;
  ioAlign: number;
  ioWidth: number;
  sectorSize: number;
  numStripes: number;
  subStripes: number;
  stripes: Stripe[];
}
export const CHUNK_ITEM_BASE_SIZE = 48;
export const STRIPE_SIZE = 32;

/** Size a chunk item with `numStripes` stripes takes (btrfs_chunk_item_size). */
export function chunkItemSize(numStripes: number): number {
  return CHUNK_ITEM_BASE_SIZE + STRIPE_SIZE * numStripes;
}

/**
 * Decodes a chunk item. `avail` bounds how many bytes may be read, so a
 * corrupt num_stripes can never read past the item.
 */
export function decodeChunkItem(buf: Uint8Array, off: number, avail: number): ChunkItem {
  const numStripes = u16(buf, off + 44);
  const fit = Math.max(0, Math.floor((avail - CHUNK_ITEM_BASE_SIZE) / STRIPE_SIZE));
  const stripes: Stripe[] = [];
  for (let i = 0; i < Math.min(numStripes, fit); i++) {
    const s = off + CHUNK_ITEM_BASE_SIZE + i * STRIPE_SIZE;
    stripes.push({ devid: u64(buf, s), offset: u64(buf, s + 8), devUuid: uuidAt(buf, s + 16) });
  }
  return {
    length: u64(buf, off),
    owner: u64(buf, off + 8),
    stripeLen: u64(buf, off + 16),
    type: u64(buf, off + 24),
    ioAlign: u32(buf, off + 32),
    ioWidth: u32(buf, off + 36),
    sectorSize: u32(buf, off + 40),
    numStripes,
    subStripes: u16(buf, off + 46),
    stripes,
  };
}

/** CHUNK_ITEM as an item: key (FIRST_CHUNK_TREE, CHUNK_ITEM, logical start). */
export interface ChunkItemDecoded extends ChunkItem {
  kind: 'chunk_item';
  logical: bigint;
  errors?: string[];
}

export function decodeChunkItemItem(key: Key, data: Uint8Array): ChunkItemDecoded | InvalidItem {
  if (data.length < CHUNK_ITEM_BASE_SIZE) return tooShort(ItemType.CHUNK_ITEM, 'chunk item', CHUNK_ITEM_BASE_SIZE, data);
  const r: ChunkItemDecoded = { kind: 'chunk_item', logical: key.offset, ...decodeChunkItem(data, 0, data.length) };
  if (r.numStripes === 0) r.errors = ['chunk item has no stripes'];
  else if (data.length !== chunkItemSize(r.numStripes)) {
    r.errors = [`chunk item has ${data.length} bytes, ${chunkItemSize(r.numStripes)} expected for ${r.numStripes} stripes`];
  }
  return r;
}
