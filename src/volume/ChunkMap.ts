import { asLogical, asPhysical, type DevId, type DevIdInput, type Logical, type LogicalInput, type Physical, type PhysicalInput } from '../format/addresses.js';
import { BLOCK_GROUP_PROFILE_MASK, BLOCK_GROUP_TYPE_MASK, BlockGroupFlag, IncompatFlag, type Profile, profileOf } from '../format/constants.js';
import { CHUNK_ITEM_BASE_SIZE, type ChunkItem, chunkItemSize, chunkNumStripes, type Stripe } from '../format/items/chunk.js';
import { KEY_SIZE, keyOffsetAt, keyTypeAt } from '../format/key.js';

/** A chunk: a logical range [logical, logical+length) and where its stripes live. */
export interface Chunk {
  logical: Logical;
  length: bigint;
  type: bigint;
  profile: Profile;
  stripeLen: bigint;
  numStripes: number;
  subStripes: number;
  stripes: Stripe[];
  /** The item's sector_size field (the kernel requires the filesystem's sectorsize); absent for chunks not read from an item. */
  sectorSize?: number;
  /**
   * Where the chunk was learned: the superblock's sys_chunk_array or the chunk tree; for a chunk
   * the filesystem no longer has (forensics: a block group removed after the data in it was
   * deleted), an older chunk-tree leaf or a backup superblock copy's sys_chunk_array.
   */
  origin: 'sys_chunk_array' | 'chunk_tree' | 'older_chunk_tree' | 'backup_sys_chunk_array' | 'rebuilt';
  /** Older origins: the generation of the leaf or superblock copy it was read from. */
  generation?: bigint;
}

/** One physical place holding (a copy of, or parity for) a logical range. */
export interface PhysicalCopy {
  devid: DevId;
  physical: Physical;
  /** Index into chunk.stripes. */
  stripeIndex: number;
  role: 'data' | 'p' | 'q';
}

/** Where a logical address lives: every copy, and how far the mapping holds. */
export interface Mapping {
  chunk: Chunk;
  /** Offset of the address within its chunk. */
  chunkOffset: bigint;
  /** Bytes from the address to the end of its stripe unit (reads must not cross it). */
  contiguous: bigint;
  /** Mirrored profiles: every copy. RAID5/6: the one data stripe holding the address. */
  copies: PhysicalCopy[];
  /** RAID5/6 only: the whole stripe row, for rebuilding from parity. */
  row?: RaidRow;
  /** With the raid stripe tree: the RAID_STRIPE item the copies' places come from. */
  stripeExtent?: { logical: bigint; length: bigint };
  /** Why copies are missing though the chunk maps the address (no raid stripe item names them). */
  unmapped?: string;
}

/** A RAID5/6 full-stripe row: data stripes in logical order, then P (and Q). */
export interface RaidRow {
  /** Logical address where the row's first data stripe starts. */
  logicalStart: bigint;
  /** Which of the row's data stripes holds the address. */
  dataIndex: number;
  /** Offset of the address within its stripe unit. */
  unitOffset: bigint;
  data: PhysicalCopy[];
  p: PhysicalCopy;
  q?: PhysicalCopy;
}

/** Number of stripes carrying data (not mirror or parity) per row: how much of a stripe each device holds. */
export function dataStripes(c: Pick<Chunk, 'profile' | 'numStripes' | 'subStripes'>): number {
  switch (c.profile) {
    case 'RAID0':
      return c.numStripes;
    case 'RAID10':
      return Math.max(1, Math.floor(c.numStripes / Math.max(1, c.subStripes)));
    case 'RAID5':
      return c.numStripes - 1;
    case 'RAID6':
      return c.numStripes - 2;
    default:
      return 1;
  }
}

/** Bytes each stripe (device extent) of the chunk occupies on its device. */
export function stripeSize(c: Chunk): bigint {
  const n = BigInt(Math.max(1, dataStripes(c)));
  return c.length / n;
}

export function chunkFromItem(logical: LogicalInput, item: ChunkItem, origin: Chunk['origin']): Chunk {
  return {
    logical: asLogical(logical),
    length: item.length,
    type: item.type,
    profile: profileOf(item.type),
    stripeLen: item.stripeLen,
    numStripes: item.numStripes,
    subStripes: item.subStripes,
    stripes: item.stripes,
    sectorSize: item.sectorSize,
    origin,
  };
}

/**
 * The kernel's limit on a chunk's length (tree-checker.c btrfs_check_chunk_valid): the count
 * of 64 KiB stripes in a chunk must fit a u32, so a length of U32_MAX << 16 or more is a bit flip.
 */
export const CHUNK_LENGTH_LIMIT = 0xffffffffn << 16n;

/** What the filesystem's superblock says that a chunk is judged against. */
export interface ChunkContext {
  sectorsize: number;
  /** incompat_flags: MIXED_GROUPS allows DATA|METADATA chunks. */
  incompatFlags: bigint;
}

/**
 * Values the kernel's chunk validation refuses but that do not stop a reader
 * from mapping through the chunk (reported as findings, chunk kept).
 */
export function chunkFieldProblems(c: Chunk, ctx: ChunkContext): string[] {
  const out: string[] = [];
  const ss = BigInt(ctx.sectorsize);
  if (c.stripeLen !== 65536n) out.push(`stripe_len ${c.stripeLen} is not 65536`);
  if (ss > 0n && (c.logical % ss !== 0n || c.length % ss !== 0n)) out.push(`logical ${c.logical} or length ${c.length} not aligned to sectorsize ${ctx.sectorsize}`);
  if (c.sectorSize !== undefined && c.sectorSize !== ctx.sectorsize) out.push(`sector_size ${c.sectorSize}, the filesystem's sectorsize is ${ctx.sectorsize}`);
  if (c.length >= CHUNK_LENGTH_LIMIT) out.push(`length ${c.length} reaches the limit ${CHUNK_LENGTH_LIMIT} (more 64 KiB stripes than a u32 counts)`);
  const profiles = c.type & BLOCK_GROUP_PROFILE_MASK;
  if (profiles & (profiles - 1n)) out.push(`type 0x${c.type.toString(16)} names more than one profile`);
  const types = c.type & BLOCK_GROUP_TYPE_MASK;
  if (types === 0n) out.push(`type 0x${c.type.toString(16)} has no DATA, METADATA, SYSTEM or METADATA_REMAP flag`);
  if (types & BlockGroupFlag.SYSTEM && types !== BlockGroupFlag.SYSTEM) out.push('SYSTEM chunk also flagged DATA or METADATA');
  // Only a filesystem with the mixed-groups feature may put data and metadata in one chunk.
  if ((types & (BlockGroupFlag.DATA | BlockGroupFlag.METADATA)) === (BlockGroupFlag.DATA | BlockGroupFlag.METADATA) && !(ctx.incompatFlags & IncompatFlag.MIXED_GROUPS))
    out.push(`type 0x${c.type.toString(16)} is DATA|METADATA without the MIXED_GROUPS feature`);
  // REMAPPED (remap tree, progs 6.19) is a state bit the kernel accepts beside the type and profile.
  const known = BLOCK_GROUP_TYPE_MASK | BLOCK_GROUP_PROFILE_MASK | BlockGroupFlag.REMAPPED;
  if (c.type & ~known) out.push(`type has unknown bits 0x${(c.type & ~known).toString(16)}`);
  if (c.profile === 'DUP' && c.numStripes !== 2) out.push(`DUP with ${c.numStripes} stripes`);
  if (c.profile === 'SINGLE' && c.numStripes !== 1) out.push(`SINGLE with ${c.numStripes} stripes`);
  return out;
}

/** Why a chunk item cannot be used for mapping, or null when it can. */
export function chunkProblem(c: Chunk): string | null {
  if (c.length === 0n) return 'length is 0';
  if (c.numStripes === 0) return 'num_stripes is 0';
  if (c.stripes.length !== c.numStripes) return `item holds ${c.stripes.length} of ${c.numStripes} stripes`;
  if (c.stripeLen === 0n || (c.stripeLen & (c.stripeLen - 1n)) !== 0n) return `stripe_len ${c.stripeLen} is not a power of two`;
  const min: Record<Profile, number> = { SINGLE: 1, DUP: 2, RAID0: 1, RAID1: 2, RAID1C3: 3, RAID1C4: 4, RAID10: 2, RAID5: 2, RAID6: 3 };
  if (c.numStripes < min[c.profile]) return `${c.profile} with ${c.numStripes} stripes`;
  if (c.profile === 'RAID10' && (c.subStripes < 2 || c.numStripes % c.subStripes !== 0)) return `RAID10 with sub_stripes ${c.subStripes}`;
  if (c.logical + c.length > 0xffffffffffffffffn) return 'range passes 2^64';
  return null;
}

/**
 * All chunks, sorted by logical address, with lookups by binary search.
 * Overlapping chunks are refused (reported by the caller).
 */
export class ChunkMap {
  private chunks: Chunk[] = [];

  get all(): readonly Chunk[] {
    return this.chunks;
  }

  /** Adds a chunk; returns the chunk it overlaps instead when it does (an identical re-add is a no-op). */
  add(c: Chunk): Chunk | null {
    const i = this.upperBound(c.logical);
    const prev = this.chunks[i - 1];
    if (prev && prev.logical === c.logical && prev.length === c.length) {
      // The chunk tree repeats the sys_chunk_array's system chunks; prefer the tree's copy.
      if (c.origin === 'chunk_tree') this.chunks[i - 1] = c;
      return null;
    }
    if (prev && prev.logical + prev.length > c.logical) return prev;
    const next = this.chunks[i];
    if (next && c.logical + c.length > next.logical) return next;
    this.chunks.splice(i, 0, c);
    return null;
  }

  /** Removes the chunk starting exactly at `logical` (returns it). */
  remove(logical: LogicalInput): Chunk | undefined {
    const i = this.upperBound(logical) - 1;
    const c = this.chunks[i];
    if (!c || c.logical !== logical) return undefined;
    this.chunks.splice(i, 1);
    return c;
  }

  /** The chunk containing `logical`, if any. */
  find(logical: LogicalInput): Chunk | undefined {
    const c = this.chunks[this.upperBound(logical) - 1];
    return c && logical < c.logical + c.length ? c : undefined;
  }

  /** Maps a logical address to its physical copies. */
  map(logical: LogicalInput): Mapping | undefined {
    const c = this.find(logical);
    return c ? mapInChunk(c, logical) : undefined;
  }

  /** Every logical address that `physical` on `devid` holds (parity places map to their row). */
  reverse(devid: DevIdInput, physical: PhysicalInput): { chunk: Chunk; stripeIndex: number; logical: Logical | null; role: 'data' | 'p' | 'q'; rowLogical?: Logical }[] {
    const out: ReturnType<ChunkMap['reverse']> = [];
    for (const c of this.chunks) {
      const size = stripeSize(c);
      c.stripes.forEach((s, idx) => {
        if (s.devid !== devid || physical < s.offset || physical >= s.offset + size) return;
        out.push({ chunk: c, stripeIndex: idx, ...reverseInChunk(c, idx, physical - s.offset) });
      });
    }
    return out;
  }

  private upperBound(logical: bigint): number {
    let lo = 0,
      hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.chunks[mid]!.logical <= logical) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function copy(c: Chunk, idx: number, physOff: bigint, role: PhysicalCopy['role'] = 'data'): PhysicalCopy {
  const s = c.stripes[idx]!;
  return { devid: s.devid, physical: asPhysical(s.offset + physOff), stripeIndex: idx, role };
}

/**
 * The address arithmetic of each profile (as the kernel's btrfs_map_block
 * does it): the chunk is cut into stripe_len units dealt round-robin over the
 * data stripes; mirrored profiles keep the whole chunk on every stripe;
 * RAID10 deals units to groups of sub_stripes mirrors; RAID5/6 rows rotate
 * the parity one device per row.
 */
export function mapInChunk(c: Chunk, logical: bigint): Mapping {
  const off = logical - c.logical;
  const sl = c.stripeLen;
  const unitOff = off % sl;
  const unitNr = off / sl;
  const toUnitEnd = sl - unitOff;
  const toChunkEnd = c.length - off;
  const contiguousUnit = toUnitEnd < toChunkEnd ? toUnitEnd : toChunkEnd;
  switch (c.profile) {
    case 'SINGLE':
    case 'DUP':
    case 'RAID1':
    case 'RAID1C3':
    case 'RAID1C4':
      return { chunk: c, chunkOffset: off, contiguous: toChunkEnd, copies: c.stripes.map((_, i) => copy(c, i, off)) };
    case 'RAID0': {
      const n = BigInt(c.numStripes);
      const idx = Number(unitNr % n);
      return { chunk: c, chunkOffset: off, contiguous: contiguousUnit, copies: [copy(c, idx, (unitNr / n) * sl + unitOff)] };
    }
    case 'RAID10': {
      const sub = c.subStripes;
      const groups = BigInt(dataStripes(c));
      const first = Number(unitNr % groups) * sub;
      const phys = (unitNr / groups) * sl + unitOff;
      const copies: PhysicalCopy[] = [];
      for (let i = 0; i < sub; i++) copies.push(copy(c, first + i, phys));
      return { chunk: c, chunkOffset: off, contiguous: contiguousUnit, copies };
    }
    case 'RAID5':
    case 'RAID6': {
      const n = c.numStripes;
      const nData = dataStripes(c);
      const rowNr = unitNr / BigInt(nData);
      const dataIndex = Number(unitNr % BigInt(nData));
      const rot = Number(rowNr % BigInt(n));
      const phys = rowNr * sl;
      const data: PhysicalCopy[] = [];
      for (let j = 0; j < nData; j++) data.push(copy(c, (j + rot) % n, phys));
      const p = copy(c, (nData + rot) % n, phys, 'p');
      const q = c.profile === 'RAID6' ? copy(c, (nData + 1 + rot) % n, phys, 'q') : undefined;
      const target = data[dataIndex]!;
      const row: RaidRow = { logicalStart: c.logical + rowNr * BigInt(nData) * sl, dataIndex, unitOffset: unitOff, data, p, ...(q ? { q } : {}) };
      return {
        chunk: c,
        chunkOffset: off,
        contiguous: contiguousUnit,
        copies: [{ ...target, physical: asPhysical(target.physical + unitOff) }],
        row,
      };
    }
  }
}

function reverseInChunk(c: Chunk, idx: number, devOff: bigint): { logical: Logical | null; role: 'data' | 'p' | 'q'; rowLogical?: Logical } {
  const sl = c.stripeLen;
  switch (c.profile) {
    case 'SINGLE':
    case 'DUP':
    case 'RAID1':
    case 'RAID1C3':
    case 'RAID1C4':
      return { logical: asLogical(c.logical + devOff), role: 'data' };
    case 'RAID0': {
      const unitNr = (devOff / sl) * BigInt(c.numStripes) + BigInt(idx);
      return { logical: asLogical(c.logical + unitNr * sl + (devOff % sl)), role: 'data' };
    }
    case 'RAID10': {
      const groups = BigInt(dataStripes(c));
      const unitNr = (devOff / sl) * groups + BigInt(Math.floor(idx / c.subStripes));
      return { logical: asLogical(c.logical + unitNr * sl + (devOff % sl)), role: 'data' };
    }
    case 'RAID5':
    case 'RAID6': {
      const n = c.numStripes;
      const nData = dataStripes(c);
      const rowNr = devOff / sl;
      const rot = Number(rowNr % BigInt(n));
      // Position of this device within the rotated row: data 0..nData-1, then P, then Q.
      const pos = (idx - rot + n) % n;
      const rowLogical = asLogical(c.logical + rowNr * BigInt(nData) * sl);
      if (pos >= nData) return { logical: null, role: pos === nData ? 'p' : 'q', rowLogical };
      return { logical: asLogical(rowLogical + BigInt(pos) * sl + (devOff % sl)), role: 'data', rowLogical };
    }
  }
}

/** Decodes the superblock's sys_chunk_array: (disk key, chunk item) pairs. */
export function* sysChunkArrayEntries(arr: Uint8Array): Generator<{ offset: number; logical: bigint; keyType: number; item: Uint8Array } | { offset: number; error: string }> {
  let pos = 0;
  while (pos < arr.length) {
    if (pos + KEY_SIZE > arr.length) {
      yield { offset: pos, error: 'truncated key' };
      return;
    }
    const keyType = keyTypeAt(arr, pos);
    const logical = keyOffsetAt(arr, pos);
    pos += KEY_SIZE;
    if (pos + CHUNK_ITEM_BASE_SIZE > arr.length) {
      yield { offset: pos, error: 'truncated chunk item' };
      return;
    }
    const numStripes = chunkNumStripes(arr, pos);
    const size = chunkItemSize(numStripes);
    if (numStripes === 0 || pos + size > arr.length) {
      yield { offset: pos, error: `chunk item with ${numStripes} stripes does not fit` };
      return;
    }
    yield { offset: pos - KEY_SIZE, logical, keyType, item: arr.subarray(pos, pos + size) };
    pos += size;
  }
}
