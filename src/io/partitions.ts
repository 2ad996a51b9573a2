import { SUPER_MIRROR_OFFSETS } from '../format/constants.js';
import type { Partition, PartitionTable } from '../format/partitions/common.js';
import { decodeMbrEntries, hasMbrSignature, isUsed, TYPE_GPT_PROTECTIVE, validMbrStatus } from '../format/partitions/mbr.js';
import { isSuperMagicAt, SUPER_MAGIC_OFFSET } from '../format/superblock.js';
import { type ByteSource, readExact } from './ByteSource.js';
import { findGpt } from './partitions/gpt.js';
import { readMbr } from './partitions/mbr.js';
import { SliceSource } from './SliceSource.js';

/**
 * Partition tables (MBR with extended/logical partitions, and GPT) read
 * straight from a ByteSource, and the detection of which table a disk has.
 * Pure: no Node APIs, usable in a browser. The layouts and decoders are in
 * format/partitions/; the reading of each scheme in io/partitions/{mbr,gpt}.ts.
 *
 * Partitions are numbered as Linux numbers them: MBR primaries by slot
 * (1-4, empty slots leave gaps), logical partitions from 5 in chain order;
 * GPT partitions by entry slot + 1.
 *
 * Everything read here is untrusted: entry counts, EBR chains and sizes are
 * bounded, loops are detected, and whatever is odd but survivable is listed
 * in `problems` rather than thrown. A table that is clearly meant to be there
 * but cannot be read at all (a protective MBR whose primary and backup GPT
 * headers are both bad) throws a PartitionTableError.
 */

export type { GptInfo, Partition, PartitionKind, PartitionScheme, PartitionTable } from '../format/partitions/common.js';
export { formatGuid } from '../format/partitions/common.js';
export { partitionTypeName } from '../format/partitions/names.js';
export { MAX_EBR_HOPS, MAX_GPT_ARRAY_BYTES, MAX_GPT_ENTRY_SIZE, MAX_LOGICAL_PARTITIONS } from './partitions/limits.js';

export interface ReadPartitionTableOptions {
  /**
   * The device's logical sector size. When omitted, GPT is looked for at 512
   * then 4096, and MBR sector numbers are taken as 512-byte sectors (unless a
   * GPT at 4096 shows the disk uses 4 KiB sectors).
   */
  sectorSize?: number;
}

/** A table that is present but unusable, or a request for a partition that is not there. */
export class PartitionTableError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'PartitionTableError';
  }
}

/**
 * Reads the partition table of a disk or disk image. Returns null when there
 * is none (for example a filesystem written to the whole device), the table
 * (possibly with no partitions and with `problems`) otherwise, and throws a
 * PartitionTableError when a GPT is announced but neither header is usable.
 */
export function readPartitionTable(src: ByteSource, options: ReadPartitionTableOptions = {}): PartitionTable | null {
  const forced = options.sectorSize;
  if (forced !== undefined && (!Number.isInteger(forced) || forced < 512 || forced > 65536 || (forced & (forced - 1)) !== 0)) {
    throw new PartitionTableError(src.name, `invalid sector size ${forced}`);
  }
  const sector0 = readExact(src, 0n, 512);
  if (!sector0) return null;

  const entries = decodeMbrEntries(sector0);
  const mbrLooksValid = hasMbrSignature(sector0) && entries.every(validMbrStatus);
  const sizes = forced !== undefined ? [forced] : [512, 4096];

  if (mbrLooksValid && entries.some((e) => e.type === TYPE_GPT_PROTECTIVE)) {
    const gpt = findGpt(src, sizes);
    if (gpt.table) {
      if (entries.some((e) => isUsed(e) && e.type !== TYPE_GPT_PROTECTIVE)) {
        gpt.table.problems.unshift('hybrid MBR: the MBR lists partitions besides the protective one; the GPT is used');
      }
      return gpt.table;
    }
    const why = gpt.errors.length ? gpt.errors.join('; ') : 'no GPT header found at LBA 1 or at the last LBA';
    throw new PartitionTableError(src.name, `protective MBR present but no usable GPT: ${why}`);
  }

  if (mbrLooksValid && entries.some(isUsed)) {
    return readMbr(src, sector0, entries, forced ?? 512);
  }

  // No usable MBR: a GPT without its protective MBR is still worth reading.
  const gpt = findGpt(src, sizes);
  if (gpt.table) {
    gpt.table.problems.unshift(mbrLooksValid ? 'the MBR has no protective (0xEE) entry' : 'no valid protective MBR in sector 0');
    return gpt.table;
  }
  if (gpt.errors.length) throw new PartitionTableError(src.name, `GPT signature present but no usable GPT: ${gpt.errors.join('; ')}`);
  return null;
}

// ---------------------------------------------------------------- using partitions

function lookup(src: ByteSource, index: number, table: PartitionTable | null | undefined): Partition {
  const t = table === undefined ? readPartitionTable(src) : table;
  if (!t) throw new PartitionTableError(src.name, 'no partition table');
  const p = t.partitions.find((q) => q.index === index);
  if (!p) {
    const have = t.partitions.map((q) => q.index).join(', ') || 'none';
    throw new PartitionTableError(src.name, `no partition ${index} (partitions: ${have})`);
  }
  return p;
}

/**
 * A source over one partition, named "<source> partition <n>". Pass the
 * table when it has been read already. Note that closing the slice closes
 * the whole-disk source too.
 */
export function openPartition(src: ByteSource, index: number, table?: PartitionTable | null): SliceSource {
  const p = lookup(src, index, table);
  if (p.kind === 'extended') throw new PartitionTableError(src.name, `partition ${index} is an extended partition (a container of logical partitions)`);
  return new SliceSource(src, p.start, p.size, `${src.name} partition ${index}`);
}

/** Whether a source (a partition, or a whole device) has the Btrfs magic in its primary superblock. */
export function hasBtrfsMagic(src: ByteSource): boolean {
  const b = readExact(src, SUPER_MIRROR_OFFSETS[0]! + BigInt(SUPER_MAGIC_OFFSET), 8);
  return b !== null && isSuperMagicAt(b, 0);
}

/**
 * The partitions holding a Btrfs primary superblock (magic "_BHRfS_M" at
 * partition start + 64 KiB + 0x40). Empty when there is no partition table.
 */
export function findBtrfsPartitions(src: ByteSource, table?: PartitionTable | null): Partition[] {
  const t = table === undefined ? readPartitionTable(src) : table;
  if (!t) return [];
  return t.partitions.filter((p) => p.kind !== 'extended' && hasBtrfsMagic(new SliceSource(src, p.start, p.size, `${src.name} partition ${p.index}`)));
}
