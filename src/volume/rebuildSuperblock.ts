import { asDevId } from '../format/addresses.js';
import { csumSizeOf } from '../format/checksum.js';
import { CSUM_SIZE, IncompatFlag, SUPER_MAGIC, SUPER_MIRROR_OFFSETS } from '../format/constants.js';
import type { DevItem } from '../format/items/dev.js';
import type { Superblock } from '../format/superblock.js';
import type { RebuildResult } from './rebuild.js';

/**
 * A superblock for a filesystem whose every superblock copy is gone, from
 * what the scan found: fsid, nodesize and checksum type of the tree blocks,
 * the newest root-tree and chunk-tree top blocks, the highest generation,
 * the DEV_ITEM of the first device. Unknowable fields take mkfs's defaults
 * (sectorsize 4096; the incompat features every mkfs since 5.x sets) and
 * the sys_chunk_array stays empty: the rebuilt chunk map serves instead.
 */
export function synthesizeSuperblock(r: RebuildResult, totalBytes: bigint): Superblock {
  const root = r.rootTree ?? { bytenr: 0n, level: 0, generation: r.generation };
  const chunk = r.chunkTree ?? { bytenr: 0n, level: 0, generation: 0n };
  const first = r.devids[0] ?? 1n;
  const dev: DevItem = r.devItems.find((d) => d.devid === first) ?? {
    devid: asDevId(first),
    totalBytes,
    bytesUsed: 0n,
    ioAlign: 4096,
    ioWidth: 4096,
    sectorSize: 4096,
    type: 0n,
    generation: 0n,
    startOffset: 0n,
    devGroup: 0,
    seekSpeed: 0,
    bandwidth: 0,
    uuid: '',
    fsid: r.fsid,
  };
  return {
    csum: new Uint8Array(CSUM_SIZE),
    fsid: r.fsid,
    bytenr: SUPER_MIRROR_OFFSETS[0]!,
    flags: 0n,
    magic: SUPER_MAGIC,
    generation: root.generation,
    root: root.bytenr,
    chunkRoot: chunk.bytenr,
    logRoot: 0n,
    logRootTransid: 0n,
    totalBytes,
    bytesUsed: 0n,
    rootDirObjectid: 6n,
    numDevices: BigInt(r.devids.length),
    sectorsize: 4096,
    nodesize: r.nodesize,
    leafsize: r.nodesize,
    stripesize: 4096,
    sysChunkArraySize: 0,
    chunkRootGeneration: chunk.generation,
    compatFlags: 0n,
    compatRoFlags: 0n,
    incompatFlags: IncompatFlag.MIXED_BACKREF | IncompatFlag.BIG_METADATA | IncompatFlag.EXTENDED_IREF | IncompatFlag.SKINNY_METADATA | IncompatFlag.NO_HOLES,
    csumType: r.csumType,
    rootLevel: root.level,
    chunkRootLevel: chunk.level,
    logRootLevel: 0,
    devItem: dev,
    label: '',
    cacheGeneration: 0n,
    uuidTreeGeneration: 0n,
    metadataUuid: r.fsid,
    nrGlobalRoots: 0n,
    blockGroupRoot: 0n,
    blockGroupRootGeneration: 0n,
    blockGroupRootLevel: 0,
    sysChunkArray: new Uint8Array(0),
    backupRoots: [],
    treeFsid: r.fsid,
    csumSize: csumSizeOf(r.csumType),
  };
}
