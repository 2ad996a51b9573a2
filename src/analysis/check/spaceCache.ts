import { rule } from '../../findingRules.js';
import type { Location } from '../../findings.js';
import { CompatRoFlag, ObjectId, SUPER_MIRROR_OFFSETS } from '../../format/constants.js';
import { decodeFreeSpaceHeader } from '../../format/items/blockGroup.js';
import { decodeSpaceCacheFile } from '../../format/spaceCache.js';
import type { FsView } from '../../fs/FsView.js';
import { readAll } from '../../fs/fileData.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { iterateItems } from '../../tree/walk.js';
import { dataStripes } from '../../volume/ChunkMap.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/** A cache the kernel would load, as decoded: its block group and free ranges (sorted). */
export interface LoadedCache {
  blockGroup: bigint;
  free: { start: bigint; end: bigint; bitmap: boolean }[];
}

/** The kernel's BTRFS_SUPER_INFO_OFFSET and BTRFS_STRIPE_LEN: what exclude_super_stripes keeps out of the free space. */
const SUPER_INFO_OFFSET = SUPER_MIRROR_OFFSETS[0]!;
const STRIPE_LEN = 0x10000n;

/**
 * The free space cache v1 (space_cache=v1: a FREE_SPACE header item per
 * block group in the root tree, naming a cache inode of the root tree whose
 * file holds the free ranges), judged as the kernel loads it
 * (free-space-cache.c load_free_space_cache) and btrfs check verifies it
 * (clear-cache.c verify_space_cache). A cache the kernel would discard and
 * rebuild — superblock cache_generation not the superblock's generation,
 * header generation not the inode's or the file's, a page crc that does not
 * match, a header of no block group, less free space than the block group
 * has — is a note (`space-cache-stale`), not damage. A cache the kernel would
 * load and trust is damage where it is wrong: a free range outside its block
 * group or over another (`space-cache-entry`), over an allocated extent
 * (`free-space-overlap`), or more free space than the block group has.
 * Not judged with a free space tree (the kernel then ignores the v1 cache)
 * or when the root, extent or block group tree lost a block.
 */
export function checkSpaceCache(fs: Filesystem, view: FsView, facts: MetaFacts, add: (f: CheckFinding) => void, loaded?: LoadedCache[]): void {
  const sb = fs.superblock;
  if (sb.compatRoFlags & CompatRoFlag.FREE_SPACE_TREE) return;
  if (facts.lost.some((l) => l.tree === ObjectId.ROOT_TREE || l.tree === ObjectId.EXTENT_TREE || l.tree === ObjectId.BLOCK_GROUP_TREE)) return;
  const headers = [];
  const lo = { objectid: ObjectId.FREE_SPACE, type: 0, offset: 0n },
    hi = { objectid: ObjectId.FREE_SPACE, type: 0, offset: (1n << 64n) - 1n };
  for (const { block, slot } of iterateItems(fs.reader, fs.rootTree, lo, hi)) {
    const key = block.key(slot);
    if (key.objectid !== ObjectId.FREE_SPACE || key.type !== 0) continue;
    const d = decodeFreeSpaceHeader(key, block.itemData(slot));
    if (d.kind === 'invalid') continue;
    headers.push({ d, at: { tree: ObjectId.ROOT_TREE, block: block.logical, slot, key, logical: key.offset } satisfies Location });
  }
  if (headers.length === 0) return;
  const stale = (message: string, location: Location) => add({ ...rule('space-cache-stale'), message, location });
  if (sb.cacheGeneration !== sb.generation) {
    const first = headers[0]!;
    stale(`superblock cache_generation ${sb.cacheGeneration} is not its generation ${sb.generation}: the kernel discards all ${headers.length} free space cache(s) and rebuilds them`, first.at);
    return;
  }
  const bgs = new Map(facts.blockGroups.map((b) => [b.logical, b]));
  const extents = facts.extents.slice().sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0));
  for (const { d, at } of headers) {
    const bg = bgs.get(d.blockGroup);
    const what = `free space cache of block group ${d.blockGroup}`;
    if (!bg) {
      stale(`${what}: no block group starts there, the kernel never reads it`, at);
      continue;
    }
    const inode = view.inode({ subvol: ObjectId.ROOT_TREE, ino: d.location.objectid });
    if (!inode) {
      stale(`${what}: its inode ${d.location.objectid} is not in the root tree, the kernel loads no cache`, at);
      continue;
    }
    // An empty or generation-0 inode is a cache never written: the kernel loads nothing, silently.
    if (inode.size === 0n || inode.generation === 0n || d.numEntries === 0n) continue;
    if (inode.generation !== d.generation) {
      stale(`${what}: its inode's generation ${inode.generation} is not the header's ${d.generation}, the kernel discards it`, at);
      continue;
    }
    const { bytes, errors } = readAll(view, inode);
    if (errors.length > 0) continue;
    const file = decodeSpaceCacheFile(bytes, d.numEntries, d.numBitmaps, sb.sectorsize);
    if ('refused' in file) {
      stale(`${what}: ${file.refused}, the kernel discards it`, at);
      continue;
    }
    if (file.generation !== d.generation) {
      stale(`${what}: the file's generation ${file.generation} is not the header's ${d.generation}, the kernel discards it`, at);
      continue;
    }
    const end = bg.logical + bg.length;
    const free = file.free.slice().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    loaded?.push({ blockGroup: bg.logical, free });
    let freeBytes = 0n,
      prev: (typeof free)[number] | undefined,
      e = 0,
      damaged = false;
    for (const r of free) {
      const loc = { ...at, logical: r.start };
      freeBytes += r.end - r.start;
      if (r.start < bg.logical || r.end > end) {
        damaged = true;
        add({ ...rule('space-cache-entry'), message: `${what}: free range [${r.start}, ${r.end}) is not inside the block group [${bg.logical}, ${end})`, location: loc });
      } else if (prev && r.start < prev.end) {
        // Two extent entries at one offset make the kernel refuse the cache ("Duplicate entries"); other overlaps it loads.
        if (!prev.bitmap && !r.bitmap && prev.start === r.start) {
          stale(`${what}: two entries at ${r.start}, the kernel discards it`, at);
          damaged = true;
          break;
        }
        damaged = true;
        add({ ...rule('space-cache-entry'), message: `${what}: free range [${r.start}, ${r.end}) overlaps free range [${prev.start}, ${prev.end})`, location: loc });
      }
      while (e > 0 && extents[e - 1]!.bytenr + extents[e - 1]!.length > r.start) e--;
      while (e < extents.length && extents[e]!.bytenr + extents[e]!.length <= r.start) e++;
      const x = extents[e];
      if (x && x.bytenr < r.end) {
        damaged = true;
        add({ ...rule('free-space-overlap'), message: `${what}: free range [${r.start}, ${r.end}) overlaps allocated extent ${x.bytenr} +${x.length}`, location: loc });
      }
      if (!prev || r.end > prev.end) prev = r;
    }
    if (damaged) continue;
    const superBytes = superStripeBytes(fs, bg.logical, bg.length);
    if (superBytes === undefined) continue;
    const bgFree = bg.length - bg.used - superBytes;
    if (freeBytes > bgFree) {
      add({
        ...rule('space-cache-entry'),
        message: `${what}: ${freeBytes} bytes free, more than the ${bgFree} the block group has (length ${bg.length}, used ${bg.used}, superblock stripes ${superBytes}): the kernel would allocate used space`,
        location: at,
      });
    } else if (freeBytes < bgFree) {
      stale(`${what}: ${freeBytes} bytes free, the block group has ${bgFree} (length ${bg.length}, used ${bg.used}, superblock stripes ${superBytes}): the kernel discards it`, at);
    }
  }
}

/**
 * Bytes of a block group kept out of its free space for the superblock
 * copies (block-group.c exclude_super_stripes): below 64 KiB, and a 64 KiB
 * stripe at each superblock copy's place on each device, mapped back through
 * the chunk (btrfs_rmap_block). Undefined for striped profiles (RAID0/10/5/6),
 * whose mapping back is not done here: their totals are not judged.
 */
function superStripeBytes(fs: Filesystem, start: bigint, length: bigint): bigint | undefined {
  const chunk = fs.volume.chunks.find(start);
  if (!chunk || chunk.logical !== start || dataStripes(chunk) !== 1) return undefined;
  const end = start + length;
  const ranges: [bigint, bigint][] = [];
  if (start < SUPER_INFO_OFFSET) ranges.push([start, SUPER_INFO_OFFSET]);
  for (const s of chunk.stripes)
    for (const off of SUPER_MIRROR_OFFSETS) {
      if (off < s.offset || off >= s.offset + chunk.length) continue;
      const logical = start + (off - s.offset);
      ranges.push([logical, logical + STRIPE_LEN < end ? logical + STRIPE_LEN : end]);
    }
  // The same logical range from two copies (DUP, RAID1) is kept out once.
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n,
    reach = start;
  for (const [a, b] of ranges) {
    const from = a > reach ? a : reach;
    if (b > from) total += b - from;
    if (b > reach) reach = b;
  }
  return total;
}
