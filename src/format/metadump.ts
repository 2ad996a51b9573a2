import { defineStruct } from './struct.js';

/**
 * The file format of `btrfs-image` (a metadata dump, btrfs-progs image/):
 * a sequence of clusters, each a 1 KiB index block followed by the bytes of
 * the ranges it lists, padded with zeros to the next 1 KiB. The index block
 * is a meta_cluster_header (magic, the file offset of this cluster, item
 * count, compression) and up to ITEMS_PER_CLUSTER meta_cluster_items, each
 * (bytenr, stored size) of one range: a run of tree blocks at logical address
 * bytenr, or the primary superblock (bytenr 65536, the superblock's physical
 * offset, as btrfs-image reads it from the device). With compression each
 * range is one zlib stream and `size` is its compressed length.
 */
export const METADUMP_BLOCK_SIZE = 1024;

/** Format 0 (tree blocks only, ranges up to 256 KiB) and format 1 ("_DUmP_v1", with data, experimental builds). */
export const METADUMP_MAGICS: ReadonlyMap<bigint, number> = new Map([
  [0xbd5c25e27295668bn, 0],
  [0x31765f506d55445fn, 1],
]);

/** Largest uncompressed range of each format version (max_pending_size). */
export const METADUMP_MAX_RANGE: readonly number[] = [256 * 1024, 256 * 1024 * 1024];

export const MetadumpCompress = { NONE: 0, ZLIB: 1 } as const;

export const metaClusterHeader = defineStruct('meta_cluster_header', 21, [
  ['magic', 'u64'],
  ['bytenr', 'u64'],
  ['nritems', 'u32'],
  ['compress', 'u8'],
]);

export const metaClusterItem = defineStruct('meta_cluster_item', 12, [
  ['bytenr', 'u64'],
  ['size', 'u32'],
]);

/** Items that fit in the 1 KiB index block after the header. */
export const ITEMS_PER_CLUSTER = Math.floor((METADUMP_BLOCK_SIZE - metaClusterHeader.size) / metaClusterItem.size);

/** Where the superblock item of a dump says it belongs (BTRFS_SUPER_INFO_OFFSET). */
export const METADUMP_SUPER_BYTENR = 0x10000n;

export interface MetaClusterHeader {
  /** Format version the magic names; null when the magic is none of btrfs-image's. */
  version: number | null;
  /** File offset of this cluster, as written. */
  bytenr: bigint;
  nritems: number;
  compress: number;
}

/** The header of the index block at `off` of `buf` (at least 21 bytes). */
export function decodeClusterHeader(buf: Uint8Array, off = 0): MetaClusterHeader {
  const H = metaClusterHeader.get;
  return { version: METADUMP_MAGICS.get(H.magic(buf, off)) ?? null, bytenr: H.bytenr(buf, off), nritems: H.nritems(buf, off), compress: H.compress(buf, off) };
}

/** Item `i` of the index block at `off`: the range's address and its stored length. */
export function clusterItem(buf: Uint8Array, i: number, off = 0): { bytenr: bigint; size: number } {
  const at = off + metaClusterHeader.size + i * metaClusterItem.size;
  return { bytenr: metaClusterItem.get.bytenr(buf, at), size: metaClusterItem.get.size(buf, at) };
}
