import { u32, u64 } from './bytes.js';
import { crc32c } from './checksum.js';
import { defineStruct } from './struct.js';

/**
 * The contents of a free space cache (v1) file: the inode a root tree
 * FREE_SPACE header names holds, in pages of the writing kernel's page size
 * (free-space-cache.c io_ctl): page 0 starts with one crc32c per page (u32
 * each) and the cache generation (u64); then btrfs_free_space_entry records,
 * never split across pages (a page ends where the next entry does not fit);
 * then one page per bitmap entry, in the order of the bitmap entries, each
 * bit a sectorsize unit of free space from the entry's offset. Each page's
 * crc32c covers the page (page 0 from after the crc array).
 */
export const freeSpaceEntry = defineStruct('btrfs_free_space_entry', 17, [
  ['offset', 'u64'],
  ['bytes', 'u64'],
  ['type', 'u8'],
]);
const FSE = freeSpaceEntry.get;

/** btrfs_free_space_entry.type. */
export const FreeSpaceEntryType = { EXTENT: 1, BITMAP: 2 } as const;

/** Page sizes a kernel may have written the cache with (x86 4 KiB; arm64 and ppc64 16 or 64 KiB). */
const PAGE_SIZES = [4096, 16384, 65536];

export interface SpaceCacheFile {
  pageSize: number;
  generation: bigint;
  /** Free ranges: extent entries, and the runs of set bits of each bitmap. */
  free: { start: bigint; end: bigint; bitmap: boolean }[];
}

/** Why the kernel would not load a cache file (it then rebuilds the cache). */
export type SpaceCacheRefusal = { refused: string };

/**
 * Decodes a cache file of `numEntries` entries (`numBitmaps` of them
 * bitmaps) as the kernel loads it (__load_free_space_cache): the page size
 * is the one whose page-0 crc matches; every page read is crc-checked; an
 * entry of 0 bytes, more bitmaps than the header says, or a page past the
 * file's end refuses the whole cache.
 */
export function decodeSpaceCacheFile(file: Uint8Array, numEntries: bigint, numBitmaps: bigint, sectorsize: number): SpaceCacheFile | SpaceCacheRefusal {
  const pageSize = PAGE_SIZES.find((ps) => file.length >= ps && pageCrcOk(file, ps, 0));
  if (pageSize === undefined) return { refused: 'the crc of its first page matches no page size (4, 16 or 64 KiB)' };
  const numPages = Math.ceil(file.length / pageSize);
  const genAt = 4 * numPages;
  if (genAt + 8 > pageSize) return { refused: `its ${numPages} page crcs do not leave room for the generation in page 0` };
  const generation = u64(file, genAt);
  const free: SpaceCacheFile['free'] = [];
  const bitmaps: { start: bigint }[] = [];
  let page = 0,
    at = genAt + 8;
  let left = numEntries,
    bitmapsLeft = numBitmaps;
  while (left > 0n) {
    if (at + freeSpaceEntry.size > (page + 1) * pageSize) {
      page++;
      at = page * pageSize;
      if (page >= numPages) return { refused: `${numEntries} entries do not fit in its ${numPages} pages` };
      if (!pageCrcOk(file, pageSize, page)) return { refused: `the crc of page ${page} does not match` };
    }
    const start = FSE.offset(file, at),
      bytes = FSE.bytes(file, at),
      type = FSE.type(file, at);
    at += freeSpaceEntry.size;
    left--;
    if (bytes === 0n) return { refused: `an entry at ${start} of 0 bytes` };
    if (type === FreeSpaceEntryType.BITMAP) {
      if (bitmapsLeft === 0n) return { refused: `more bitmap entries than the ${numBitmaps} its header says` };
      bitmapsLeft--;
      bitmaps.push({ start });
    } else free.push({ start, end: start + bytes, bitmap: false });
  }
  const unit = BigInt(sectorsize);
  for (const b of bitmaps) {
    page++;
    if (page >= numPages) return { refused: `its bitmaps do not fit in its ${numPages} pages` };
    if (!pageCrcOk(file, pageSize, page)) return { refused: `the crc of page ${page} (a bitmap) does not match` };
    // A bitmap is one page of bits, each a sectorsize unit (ctl->unit) from the entry's offset.
    const bits = file.subarray(page * pageSize, (page + 1) * pageSize);
    for (let i = 0; i < bits.length * 8; ) {
      if (!((bits[i >>> 3]! >>> (i & 7)) & 1)) {
        i++;
        continue;
      }
      let j = i;
      while (j < bits.length * 8 && (bits[j >>> 3]! >>> (j & 7)) & 1) j++;
      free.push({ start: b.start + BigInt(i) * unit, end: b.start + BigInt(j) * unit, bitmap: true });
      i = j;
    }
  }
  return { pageSize, generation, free };
}

/** Page `index`'s crc32c (stored at 4 * index of page 0) against its bytes; page 0's cover what follows the crc array. */
function pageCrcOk(file: Uint8Array, pageSize: number, index: number): boolean {
  const numPages = Math.ceil(file.length / pageSize);
  if (4 * numPages > pageSize) return false;
  const from = index === 0 ? 4 * numPages : index * pageSize;
  return crc32c(file.subarray(from, (index + 1) * pageSize)) === u32(file, 4 * index);
}
