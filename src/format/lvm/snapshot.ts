/**
 * The copy-on-write store of an LVM2 (thick) snapshot: device-mapper's persistent exception
 * store (the kernel's drivers/md/dm-snap-persistent.c), little-endian, in chunks of
 * `chunk_size` sectors:
 *
 * - chunk 0: the header: magic 0x70416e53 ("SnAp"), valid (0 once the store overflowed or was
 *   dropped: the snapshot is lost), version 1, chunk_size in sectors (u32 each).
 * - then areas: area i starts at chunk 1 + i * (per_area + 1), one chunk of exceptions
 *   (old_chunk u64: a chunk of the origin; new_chunk u64: the chunk of this store holding the
 *   origin's bytes from when the snapshot was taken), per_area = chunk bytes / 16 of them,
 *   followed by the data chunks they fill. The list ends at the first exception whose
 *   new_chunk is 0 (chunk 0 is the header, so no exception points there).
 *
 * The snapshot reads an origin chunk that has an exception from the store, any other from the
 * origin as it is now. Pure decoders; the reading is in io/lvm/.
 */

export const COW_MAGIC = 0x70416e53;
export const COW_VERSION = 1;
export const COW_EXCEPTION_BYTES = 16;
/** Chunks before the first area: the header. */
export const COW_HEADER_CHUNKS = 1;
/** dm-snapshot's chunk sizes: a power of two from 1 sector (LVM2 allows 4 KiB to 512 KiB). */
export const COW_MAX_CHUNK_SECTORS = 1 << 20;

const H = { magic: 0, valid: 4, version: 8, chunkSectors: 12, length: 16 } as const;

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0, true);
const u64 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset + o, 8).getBigUint64(0, true);

export interface CowHeader {
  magicOk: boolean;
  valid: boolean;
  version: number;
  chunkSectors: number;
}

export function decodeCowHeader(b: Uint8Array): CowHeader | null {
  if (b.length < H.length) return null;
  return { magicOk: u32(b, H.magic) === COW_MAGIC, valid: u32(b, H.valid) !== 0, version: u32(b, H.version), chunkSectors: u32(b, H.chunkSectors) };
}

/** The store chunk where exception area `area` starts. */
export function cowAreaChunk(area: number, perArea: number): number {
  return COW_HEADER_CHUNKS + area * (perArea + 1);
}

/** Exception `i` of an area's chunk: the origin chunk and the store chunk holding its old bytes. */
export function cowException(area: Uint8Array, i: number): { oldChunk: bigint; newChunk: bigint } {
  const o = i * COW_EXCEPTION_BYTES;
  return { oldChunk: u64(area, o), newChunk: u64(area, o + 8) };
}
