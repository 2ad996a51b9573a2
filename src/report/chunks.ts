import { BLOCK_GROUP_TYPE_MASK, BlockGroupFlag } from '../format/constants.js';
import type { DevExtent } from '../format/items/dev.js';
import { type BlockGroup, readBlockGroupsAt, readDevExtents } from '../tree/blockGroups.js';
import type { Filesystem } from '../tree/Filesystem.js';
import type { Chunk } from '../volume/ChunkMap.js';
import { stripeSize } from '../volume/ChunkMap.js';

/** "DATA", "METADATA", "SYSTEM", "DATA|METADATA" (mixed). */
export function chunkTypeName(type: bigint): string {
  const names: string[] = [];
  if (type & BlockGroupFlag.DATA) names.push('DATA');
  if (type & BlockGroupFlag.SYSTEM) names.push('SYSTEM');
  if (type & BlockGroupFlag.METADATA) names.push('METADATA');
  if (type & BlockGroupFlag.METADATA_REMAP) names.push('METADATA_REMAP');
  if ((type & BLOCK_GROUP_TYPE_MASK) === 0n) names.push('none');
  return names.join('|');
}

export interface ChunkReport {
  logical: bigint;
  length: bigint;
  type: string;
  profile: string;
  stripeLen: bigint;
  numStripes: number;
  subStripes: number;
  /** Bytes each stripe occupies on its device. */
  stripeSize: bigint;
  used: bigint | null;
  origin: string;
  /** --rebuild: how sure the mapping is and what it rests on (volume/rebuild.ts). */
  confidence?: string;
  evidence?: string;
  stripes: { devid: bigint; physical: bigint; devUuid: string; devExtent: 'ok' | 'missing' | 'mismatch' }[];
}

/**
 * Every chunk of the filesystem as chunkReports joins it: each chunk's block group looked
 * up by its key (the chunk's logical start) rather than a walk of every block group item.
 */
export function fsChunkReports(fs: Filesystem): ChunkReport[] {
  const all = fs.volume.chunks.all;
  const bgs = readBlockGroupsAt(
    fs,
    all.map((c) => c.logical),
  );
  return chunkReports(all, [...bgs.values()], readDevExtents(fs));
}

/** Chunks joined with their block group's used bytes and their device extents. */
export function chunkReports(chunks: readonly Chunk[], bgs: BlockGroup[], devExtents: (DevExtent & { devid: bigint; physical: bigint })[]): ChunkReport[] {
  const bgBy = new Map(bgs.map((b) => [b.logical, b]));
  const deBy = new Map(devExtents.map((d) => [`${d.devid}:${d.physical}`, d]));
  return chunks.map((c) => {
    const size = stripeSize(c);
    return {
      logical: c.logical,
      length: c.length,
      type: chunkTypeName(c.type),
      profile: c.profile,
      stripeLen: c.stripeLen,
      numStripes: c.numStripes,
      subStripes: c.subStripes,
      stripeSize: size,
      used: bgBy.get(c.logical)?.used ?? null,
      origin: c.origin,
      ...('confidence' in c && 'evidence' in c ? { confidence: String(c.confidence), evidence: String(c.evidence) } : {}),
      stripes: c.stripes.map((s) => {
        const de = deBy.get(`${s.devid}:${s.offset}`);
        const state = !de ? 'missing' : de.chunkOffset === c.logical && de.length === size ? 'ok' : 'mismatch';
        return { devid: s.devid, physical: s.offset, devUuid: s.devUuid, devExtent: state };
      }),
    };
  });
}
