import { asDevId, asPhysical, type DevId, type Physical } from '../addresses.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { defineStruct } from '../struct.js';
import { type InvalidItem, tooShort } from './common.js';

/** btrfs_chunk without its stripes (btrfs_tree.h): num_stripes btrfs_stripe follow it. */
export const chunkItem = defineStruct('btrfs_chunk', 48, [
  ['length', 'u64'],
  ['owner', 'u64'],
  ['stripeLen', 'u64'],
  ['type', 'u64'],
  ['ioAlign', 'u32'],
  ['ioWidth', 'u32'],
  ['sectorSize', 'u32'],
  ['numStripes', 'u16'],
  ['subStripes', 'u16'],
]);
export const {
  length: chunkLength,
  owner: chunkOwner,
  stripeLen: chunkStripeLen,
  type: chunkType,
  ioAlign: chunkIoAlign,
  ioWidth: chunkIoWidth,
  sectorSize: chunkSectorSize,
  numStripes: chunkNumStripes,
  subStripes: chunkSubStripes,
} = chunkItem.get;

/** btrfs_stripe: one device range of a chunk. */
export const stripeStruct = defineStruct('btrfs_stripe', 32, [
  ['devid', 'u64'],
  ['offset', 'u64'],
  ['devUuid', 'uuid'],
]);
export const { devid: stripeDevid, offset: stripeOffset, devUuid: stripeDevUuid } = stripeStruct.get;

/** btrfs_stripe (32 bytes): where one stripe of a chunk lives. */
export interface Stripe {
  devid: DevId;
  /** Byte offset of the stripe on its device. */
  offset: Physical;
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
export const CHUNK_ITEM_BASE_SIZE = chunkItem.size;
export const STRIPE_SIZE = stripeStruct.size;

/** Size a chunk item with `numStripes` stripes takes (btrfs_chunk_item_size). */
export function chunkItemSize(numStripes: number): number {
  return CHUNK_ITEM_BASE_SIZE + STRIPE_SIZE * numStripes;
}

/**
 * Decodes a chunk item. `avail` bounds how many bytes may be read, so a
 * corrupt num_stripes can never read past the item.
 */
export function decodeChunkItem(buf: Uint8Array, off: number, avail: number): ChunkItem {
  const numStripes = chunkNumStripes(buf, off);
  const fit = Math.max(0, Math.floor((avail - CHUNK_ITEM_BASE_SIZE) / STRIPE_SIZE));
  const stripes: Stripe[] = [];
  for (let i = 0; i < Math.min(numStripes, fit); i++) {
    const s = off + CHUNK_ITEM_BASE_SIZE + i * STRIPE_SIZE;
    stripes.push({ devid: asDevId(stripeDevid(buf, s)), offset: asPhysical(stripeOffset(buf, s)), devUuid: stripeDevUuid(buf, s) });
  }
  return {
    length: chunkLength(buf, off),
    owner: chunkOwner(buf, off),
    stripeLen: chunkStripeLen(buf, off),
    type: chunkType(buf, off),
    ioAlign: chunkIoAlign(buf, off),
    ioWidth: chunkIoWidth(buf, off),
    sectorSize: chunkSectorSize(buf, off),
    numStripes,
    subStripes: chunkSubStripes(buf, off),
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
