import { ItemType, ObjectId } from '../../format/constants.js';
import { decodeChunkItem } from '../../format/items/chunk.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { type Chunk, ChunkMap, chunkFromItem, chunkProblem, sysChunkArrayEntries } from '../../volume/ChunkMap.js';
import type { ScanResult } from './scan.js';

/** Most older chunk-tree leaves read: each holds at most a few dozen chunk items, and a hostile image can have a scan full of them. */
export const MAX_OLDER_CHUNK_LEAVES = 4096;

export interface OlderChunks {
  /** Chunks no current chunk overlaps, newest source first where two overlap each other; empty when there are none. */
  map: ChunkMap;
  /** Older chunk-tree leaves and superblock copies read. */
  leavesRead: number;
  superCopiesRead: number;
}

/**
 * Chunks the filesystem had and has no longer: the kernel removes a block
 * group (and its chunk item) once it is empty, e.g. after the files in it
 * were deleted, or when balance moves what it held; the bytes stay on the
 * device until something else is allocated there. Read from every chunk-tree
 * leaf the metadata scan found (older generations: CoW leaves the last
 * version in place) and from the sys_chunk_array of every superblock copy
 * (a backup copy can be older). A chunk overlapping a current one is dropped
 * (the current map is the authority where it maps); of older chunks that
 * overlap each other, the one read from the newest leaf or copy is kept
 * (the kernel hands out logical addresses past the last chunk, so one
 * logical range holding two chunks over time is rare; the csum check of the
 * data read through it judges the bytes either way).
 */
export function olderChunks(fs: Filesystem, scan: ScanResult): OlderChunks {
  const current = fs.volume.chunks;
  const found: Chunk[] = [];
  const leaves = [...(scan.leaves.get(ObjectId.CHUNK_TREE) ?? [])].sort((a, b) => (a.generation > b.generation ? -1 : a.generation < b.generation ? 1 : 0)).slice(0, MAX_OLDER_CHUNK_LEAVES);
  let leavesRead = 0;
  for (const l of leaves) {
    const r = fs.reader.read({ logical: l.logical, level: 0, generation: l.generation }, { tree: ObjectId.CHUNK_TREE });
    const b = r.block;
    if (!b) continue;
    leavesRead++;
    for (let slot = 0; slot < r.validItems; slot++) {
      if (b.keyType(slot) !== ItemType.CHUNK_ITEM || b.keyObjectid(slot) !== ObjectId.FIRST_CHUNK_TREE) continue;
      const data = b.itemData(slot);
      if (data.length < 48) continue;
      found.push({ ...chunkFromItem(b.keyOffsetField(slot), decodeChunkItem(data, 0, data.length), 'older_chunk_tree'), generation: l.generation });
    }
  }
  let superCopiesRead = 0;
  for (const dev of fs.assembly.supers) {
    for (const m of dev.supers.mirrors) {
      const sb = m.superblock;
      if (!sb || (m.state !== 'ok' && m.state !== 'older') || sb.fsid !== fs.superblock.fsid) continue;
      superCopiesRead++;
      for (const e of sysChunkArrayEntries(sb.sysChunkArray)) {
        if ('error' in e || e.keyType !== ItemType.CHUNK_ITEM) continue;
        found.push({ ...chunkFromItem(e.logical, decodeChunkItem(e.item, 0, e.item.length), 'backup_sys_chunk_array'), generation: sb.generation });
      }
    }
  }
  // Newest first, a chunk-tree leaf before a superblock copy of the same generation (the tree is the authority).
  found.sort((a, b) => (a.generation! !== b.generation! ? (a.generation! > b.generation! ? -1 : 1) : a.origin === b.origin ? 0 : a.origin === 'older_chunk_tree' ? -1 : 1));
  const map = new ChunkMap();
  for (const c of found) {
    if (chunkProblem(c) || overlapsCurrent(current, c)) continue;
    map.add(c);
  }
  return { map, leavesRead, superCopiesRead };
}

/** Whether any current chunk overlaps [c.logical, +c.length). */
function overlapsCurrent(current: ChunkMap, c: Chunk): boolean {
  if (current.find(c.logical) || current.find(c.logical + c.length - 1n)) return true;
  return current.all.some((x) => x.logical >= c.logical && x.logical < c.logical + c.length);
}
