import { cStringAt, u8, u16, u32, u64, uuidAt } from './bytes.js';
import { csumMatches, csumSizeOf, isKnownCsumType } from './checksum.js';
import { CSUM_SIZE, IncompatFlag, NUM_BACKUP_ROOTS, SUPER_INFO_SIZE, SUPER_MAGIC, SYSTEM_CHUNK_ARRAY_SIZE } from './constants.js';
import { type DevItem, decodeDevItem } from './items/dev.js';

/** btrfs_root_backup: one of the four rotating backup roots (168 bytes). */
export interface BackupRoot {
  treeRoot: bigint;
  treeRootGen: bigint;
  chunkRoot: bigint;
  chunkRootGen: bigint;
  extentRoot: bigint;
  extentRootGen: bigint;
  fsRoot: bigint;
  fsRootGen: bigint;
  devRoot: bigint;
  devRootGen: bigint;
  csumRoot: bigint;
  csumRootGen: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  numDevices: bigint;
  treeRootLevel: number;
  chunkRootLevel: number;
  extentRootLevel: number;
  fsRootLevel: number;
  devRootLevel: number;
  csumRootLevel: number;
}

/** btrfs_super_block, every field (4096 bytes on disk). */
export interface Superblock {
  csum: Uint8Array;
  fsid: string;
  bytenr: bigint;
  flags: bigint;
  magic: bigint;
  generation: bigint;
  root: bigint;
  chunkRoot: bigint;
  logRoot: bigint;
  logRootTransid: bigint;
  totalBytes: bigint;
  bytesUsed: bigint;
  rootDirObjectid: bigint;
  numDevices: bigint;
  sectorsize: number;
  nodesize: number;
  leafsize: number;
  stripesize: number;
  sysChunkArraySize: number;
  chunkRootGeneration: bigint;
  compatFlags: bigint;
  compatRoFlags: bigint;
  incompatFlags: bigint;
  csumType: number;
  rootLevel: number;
  chunkRootLevel: number;
  logRootLevel: number;
  devItem: DevItem;
  label: string;
  cacheGeneration: bigint;
  uuidTreeGeneration: bigint;
  metadataUuid: string;
  nrGlobalRoots: bigint;
  /** Fields btrfs-progs reserves for extent-tree-v2 (block_group_root at 0x24b in its layout). */
  blockGroupRoot: bigint;
  blockGroupRootGeneration: bigint;
  blockGroupRootLevel: number;
  sysChunkArray: Uint8Array;
  backupRoots: BackupRoot[];
  /** Derived: the uuid tree blocks carry (metadata_uuid when METADATA_UUID is set). */
  treeFsid: string;
  csumSize: number;
}

/** Byte offsets of btrfs_super_block fields (btrfs_tree.h layout). */
const O = {
  csum: 0x00,
  fsid: 0x20,
  bytenr: 0x30,
  flags: 0x38,
  magic: 0x40,
  generation: 0x48,
  root: 0x50,
  chunkRoot: 0x58,
  logRoot: 0x60,
  logRootTransid: 0x68,
  totalBytes: 0x70,
  bytesUsed: 0x78,
  rootDirObjectid: 0x80,
  numDevices: 0x88,
  sectorsize: 0x90,
  nodesize: 0x94,
  leafsize: 0x98,
  stripesize: 0x9c,
  sysChunkArraySize: 0xa0,
  chunkRootGeneration: 0xa4,
  compatFlags: 0xac,
  compatRoFlags: 0xb4,
  incompatFlags: 0xbc,
  csumType: 0xc4,
  rootLevel: 0xc6,
  chunkRootLevel: 0xc7,
  logRootLevel: 0xc8,
  devItem: 0xc9,
  label: 0x12b,
  cacheGeneration: 0x22b,
  uuidTreeGeneration: 0x233,
  metadataUuid: 0x23b,
  nrGlobalRoots: 0x24b,
  blockGroupRoot: 0x253,
  blockGroupRootGeneration: 0x25b,
  blockGroupRootLevel: 0x263,
  sysChunkArray: 0x32b,
  superRoots: 0xb2b,
} as const;
const BACKUP_ROOT_SIZE = 168;
/**
 * Byte ranges of btrfs_super_block that legitimately differ between valid copies of one
 * generation: the checksum and bytenr (each copy's own: the kernel's write_dev_supers sets
 * bytenr per copy and checksums it), and the log root fields, which an fsync's log commit
 * writes to the primary copy only (btrfs_sync_log: write_all_supers with max_mirrors 1).
 */
const MIRROR_OWN: readonly [number, number][] = [
  [O.csum, O.fsid],
  [O.bytenr, O.flags],
  [O.logRoot, O.totalBytes],
  [O.logRootLevel, O.logRootLevel + 1],
];

/** The first offset where two superblock copies differ outside the fields each copy has of its own (-1: none). */
export function superblockCopyDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    if (MIRROR_OWN.some(([lo, hi]) => i >= lo && i < hi)) continue;
    return i;
  }
  return a.length === b.length ? -1 : n;
}

/** Where the magic "_BHRfS_M" is in a superblock. */
export const SUPER_MAGIC_OFFSET = O.magic;
/** Where the superblock's embedded dev item starts. */
export const SUPER_DEV_ITEM_OFFSET = O.devItem;
/** Where incompat_flags (u64) is in a superblock. */
export const SUPER_INCOMPAT_FLAGS_OFFSET = O.incompatFlags;

/** True when the 8 bytes at buf[off] are the superblock magic "_BHRfS_M". */
export function isSuperMagicAt(buf: Uint8Array, off: number): boolean {
  return u64(buf, off) === SUPER_MAGIC;
}

export function hasSuperMagic(buf: Uint8Array): boolean {
  return buf.length >= SUPER_INFO_SIZE && u64(buf, O.magic) === SUPER_MAGIC;
}

export function decodeBackupRoot(buf: Uint8Array, off: number): BackupRoot {
  const q = (i: number) => u64(buf, off + i * 8);
  return {
    treeRoot: q(0),
    treeRootGen: q(1),
    chunkRoot: q(2),
    chunkRootGen: q(3),
    extentRoot: q(4),
    extentRootGen: q(5),
    fsRoot: q(6),
    fsRootGen: q(7),
    devRoot: q(8),
    devRootGen: q(9),
    csumRoot: q(10),
    csumRootGen: q(11),
    totalBytes: q(12),
    bytesUsed: q(13),
    numDevices: q(14),
    // 4 unused u64 follow, then the six levels.
    treeRootLevel: buf[off + 152]!,
    chunkRootLevel: buf[off + 153]!,
    extentRootLevel: buf[off + 154]!,
    fsRootLevel: buf[off + 155]!,
    devRootLevel: buf[off + 156]!,
    csumRootLevel: buf[off + 157]!,
  };
}

/** Decodes a 4096-byte superblock. Does not verify it; see checkSuperblock. */
export function decodeSuperblock(buf: Uint8Array): Superblock {
  if (buf.length < SUPER_INFO_SIZE) throw new RangeError(`superblock needs ${SUPER_INFO_SIZE} bytes, have ${buf.length}`);
  const incompat = u64(buf, O.incompatFlags);
  const fsid = uuidAt(buf, O.fsid);
  const metadataUuid = uuidAt(buf, O.metadataUuid);
  const sysSize = u32(buf, O.sysChunkArraySize);
  const csumType = u16(buf, O.csumType);
  return {
    csum: buf.slice(O.csum, O.csum + CSUM_SIZE),
    fsid,
    bytenr: u64(buf, O.bytenr),
    flags: u64(buf, O.flags),
    magic: u64(buf, O.magic),
    generation: u64(buf, O.generation),
    root: u64(buf, O.root),
    chunkRoot: u64(buf, O.chunkRoot),
    logRoot: u64(buf, O.logRoot),
    logRootTransid: u64(buf, O.logRootTransid),
    totalBytes: u64(buf, O.totalBytes),
    bytesUsed: u64(buf, O.bytesUsed),
    rootDirObjectid: u64(buf, O.rootDirObjectid),
    numDevices: u64(buf, O.numDevices),
    sectorsize: u32(buf, O.sectorsize),
    nodesize: u32(buf, O.nodesize),
    leafsize: u32(buf, O.leafsize),
    stripesize: u32(buf, O.stripesize),
    sysChunkArraySize: sysSize,
    chunkRootGeneration: u64(buf, O.chunkRootGeneration),
    compatFlags: u64(buf, O.compatFlags),
    compatRoFlags: u64(buf, O.compatRoFlags),
    incompatFlags: incompat,
    csumType,
    rootLevel: u8(buf, O.rootLevel),
    chunkRootLevel: u8(buf, O.chunkRootLevel),
    logRootLevel: u8(buf, O.logRootLevel),
    devItem: decodeDevItem(buf, O.devItem),
    label: cStringAt(buf, O.label, 256),
    cacheGeneration: u64(buf, O.cacheGeneration),
    uuidTreeGeneration: u64(buf, O.uuidTreeGeneration),
    metadataUuid,
    nrGlobalRoots: u64(buf, O.nrGlobalRoots),
    blockGroupRoot: u64(buf, O.blockGroupRoot),
    blockGroupRootGeneration: u64(buf, O.blockGroupRootGeneration),
    blockGroupRootLevel: u8(buf, O.blockGroupRootLevel),
    sysChunkArray: buf.slice(O.sysChunkArray, O.sysChunkArray + Math.min(sysSize, SYSTEM_CHUNK_ARRAY_SIZE)),
    backupRoots: Array.from({ length: NUM_BACKUP_ROOTS }, (_, i) => decodeBackupRoot(buf, O.superRoots + i * BACKUP_ROOT_SIZE)),
    treeFsid: incompat & IncompatFlag.METADATA_UUID ? metadataUuid : fsid,
    csumSize: csumSizeOf(csumType),
  };
}

export type SuperProblem = 'bad-magic' | 'unknown-csum-type' | 'bad-csum' | 'bytenr-mismatch' | 'bad-sectorsize' | 'bad-nodesize' | 'bad-sys-array-size' | 'bad-root-level';

/**
 * Verifies a superblock read at `expectedBytenr`: magic, checksum over bytes
 * 32..4095 with its own csum type, and the ranges the kernel's
 * btrfs_validate_super insists on. Returns the problems found (empty = valid).
 */
export function checkSuperblock(buf: Uint8Array, expectedBytenr: bigint): SuperProblem[] {
  if (!hasSuperMagic(buf)) return ['bad-magic'];
  const problems: SuperProblem[] = [];
  const csumType = u16(buf, O.csumType);
  if (!isKnownCsumType(csumType)) problems.push('unknown-csum-type');
  else if (!csumMatches(csumType, buf.subarray(CSUM_SIZE, SUPER_INFO_SIZE), buf, 0)) problems.push('bad-csum');
  if (u64(buf, O.bytenr) !== expectedBytenr) problems.push('bytenr-mismatch');
  const sectorsize = u32(buf, O.sectorsize);
  const nodesize = u32(buf, O.nodesize);
  if (!isPow2(sectorsize) || sectorsize < 4096 || sectorsize > 65536) problems.push('bad-sectorsize');
  if (!isPow2(nodesize) || nodesize < sectorsize || nodesize > 65536) problems.push('bad-nodesize');
  if (u32(buf, O.sysChunkArraySize) > SYSTEM_CHUNK_ARRAY_SIZE) problems.push('bad-sys-array-size');
  if (u8(buf, O.rootLevel) >= 8 || u8(buf, O.chunkRootLevel) >= 8 || u8(buf, O.logRootLevel) >= 8) problems.push('bad-root-level');
  return problems;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/**
 * Field values the kernel's btrfs_validate_super refuses but that do not
 * stop a reader from using the copy (reported, not fatal).
 */
export function superblockFieldProblems(sb: Superblock): string[] {
  const out: string[] = [];
  if (sb.stripesize !== sb.sectorsize) out.push(`stripesize ${sb.stripesize} differs from sectorsize ${sb.sectorsize}`);
  if (sb.totalBytes === 0n) out.push('total_bytes is 0');
  if (sb.bytesUsed < 6n * BigInt(sb.nodesize)) out.push(`bytes_used ${sb.bytesUsed} is less than 6 nodes`);
  if (sb.numDevices === 0n) out.push('num_devices is 0');
  const align = BigInt(sb.sectorsize || 4096);
  for (const [name, v] of [
    ['root', sb.root],
    ['chunk_root', sb.chunkRoot],
    ['log_root', sb.logRoot],
  ] as const) {
    if (v % align !== 0n) out.push(`${name} ${v} is not aligned to sectorsize ${sb.sectorsize}`);
  }
  if (sb.chunkRootGeneration > sb.generation) out.push(`chunk_root_generation ${sb.chunkRootGeneration} is newer than generation ${sb.generation}`);
  if (sb.leafsize !== sb.nodesize) out.push(`leafsize ${sb.leafsize} differs from nodesize ${sb.nodesize}`);
  if (sb.sysChunkArraySize < 17 + 48 + 32) out.push(`sys_array_size ${sb.sysChunkArraySize} cannot hold one chunk`);
  // btrfs_check_super / btrfs_validate_super: the device's dev item belongs to this filesystem (its metadata uuid).
  if (sb.devItem.fsid !== sb.treeFsid) out.push(`dev_item fsid ${sb.devItem.fsid} is not the filesystem's ${sb.treeFsid}`);
  return out;
}
