import type { Partition, PartitionKind, PartitionTable } from '../../format/partitions/common.js';
import { decodeMbrEntries, hasMbrSignature, isExtended, isUsed, type MbrEntry, mbrDiskId, mbrPartition } from '../../format/partitions/mbr.js';
import { type ByteSource, readExact } from '../ByteSource.js';
import { MAX_EBR_HOPS, MAX_LOGICAL_PARTITIONS } from './limits.js';

/** Size of the sector an MBR or EBR occupies (the table is in its first 512 bytes whatever the sector size). */
const MBR_READ_SIZE = 512;

/** An MBR table: its primaries, then the logical partitions of each extended one. */
export function readMbr(src: ByteSource, sector0: Uint8Array, entries: MbrEntry[], ss: number): PartitionTable {
  const sectorSize = BigInt(ss);
  const totalSectors = src.size / sectorSize;
  const problems: string[] = [];
  const partitions: Partition[] = [];

  const add = (index: number, kind: PartitionKind, e: MbrEntry, startLba: bigint): void => {
    const p = mbrPartition(index, kind, e, startLba, sectorSize);
    if (p.lastLba >= totalSectors) {
      problems.push(`partition ${index} (sectors ${startLba}-${p.lastLba}) extends past the end of the disk (${totalSectors} sectors)`);
    }
    if (startLba === 0n) problems.push(`partition ${index} starts at sector 0, over the partition table`);
    partitions.push(p);
  };

  const extended: { index: number; start: bigint; sectors: bigint }[] = [];
  entries.forEach((e, i) => {
    if (!isUsed(e)) return;
    const start = BigInt(e.start);
    if (isExtended(e)) {
      add(i + 1, 'extended', e, start);
      extended.push({ index: i + 1, start, sectors: BigInt(e.sectors) });
    } else {
      add(i + 1, 'primary', e, start);
    }
  });
  if (extended.length > 1) problems.push(`${extended.length} extended partitions in the MBR; all are followed`);

  const state = { next: 5, logical: 0 };
  for (const ext of extended) {
    readEbrChain(src, ss, totalSectors, ext, state, problems, add);
  }

  return { type: 'mbr', sectorSize: ss, diskId: mbrDiskId(sector0), partitions, problems };
}

/**
 * Follows the chain of extended boot records. In each EBR the first data
 * entry is a logical partition (relative to that EBR) and the first extended
 * entry links to the next EBR (relative to the start of the extended
 * partition), as libfdisk reads them.
 */
function readEbrChain(
  src: ByteSource,
  ss: number,
  totalSectors: bigint,
  ext: { index: number; start: bigint; sectors: bigint },
  state: { next: number; logical: number },
  problems: string[],
  add: (index: number, kind: PartitionKind, e: MbrEntry, startLba: bigint) => void,
): void {
  const where = `extended partition ${ext.index}`;
  const extEnd = ext.start + ext.sectors; // exclusive
  const visited = new Set<bigint>();
  let ebr = ext.start;
  for (let hops = 0; ; hops++) {
    if (visited.has(ebr)) {
      problems.push(`${where}: EBR chain loops back to sector ${ebr}; stopped`);
      return;
    }
    if (hops >= MAX_EBR_HOPS) {
      problems.push(`${where}: EBR chain longer than ${MAX_EBR_HOPS} links; stopped`);
      return;
    }
    visited.add(ebr);
    if (ebr >= totalSectors) {
      problems.push(`${where}: EBR at sector ${ebr} is past the end of the disk; stopped`);
      return;
    }
    const b = readExact(src, ebr * BigInt(ss), MBR_READ_SIZE);
    if (!b || !hasMbrSignature(b)) {
      problems.push(`${where}: no valid EBR signature at sector ${ebr}; stopped`);
      return;
    }
    const es = decodeMbrEntries(b);
    let data: MbrEntry | undefined;
    let link: MbrEntry | undefined;
    for (const e of es) {
      if (!isUsed(e)) continue;
      if (isExtended(e)) {
        if (link) problems.push(`${where}: extra link entry in the EBR at sector ${ebr} ignored`);
        else link = e;
      } else if (data) {
        problems.push(`${where}: extra data entry in the EBR at sector ${ebr} ignored`);
      } else {
        data = e;
      }
    }
    if (data) {
      if (state.logical >= MAX_LOGICAL_PARTITIONS) {
        problems.push(`${where}: more than ${MAX_LOGICAL_PARTITIONS} logical partitions; stopped`);
        return;
      }
      const start = ebr + BigInt(data.start);
      if (start < ext.start || start + BigInt(data.sectors) > extEnd) {
        problems.push(`logical partition ${state.next} lies outside ${where}`);
      }
      add(state.next++, 'logical', data, start);
      state.logical++;
    }
    if (!link) return;
    const next = ext.start + BigInt(link.start);
    if (next >= extEnd) {
      problems.push(`${where}: EBR link to sector ${next} points outside the extended partition; stopped`);
      return;
    }
    ebr = next;
  }
}
