import { hex, type PartitionTable } from '../../format/partitions/common.js';
import { crc32, decodeGptHeader, decodeGptPartitions, GPT_MIN_HEADER_SIZE, GPT_REVISION_1_0, gptHeaderCrc, hasGptSignature, validGptEntrySize } from '../../format/partitions/gpt.js';
import { type ByteSource, readExact } from '../ByteSource.js';
import { MAX_GPT_ARRAY_BYTES, MAX_GPT_ENTRY_SIZE } from './limits.js';

interface GptHeader {
  lba: bigint;
  alternateLba: bigint;
  firstUsable: bigint;
  lastUsable: bigint;
  diskGuid: string;
  entriesLba: bigint;
  entryCount: number;
  entrySize: number;
  entries: Uint8Array;
  notes: string[];
}

type HeaderResult = { kind: 'absent' } | { kind: 'bad'; error: string; headerCrcOk: boolean; alternateLba?: bigint } | { kind: 'ok'; header: GptHeader };

/** The GPT header at `lba` and its entry array, both CRC-checked. */
function readGptHeader(src: ByteSource, ss: number, lba: bigint): HeaderResult {
  const sectorSize = BigInt(ss);
  const totalSectors = src.size / sectorSize;
  if (lba < 1n || lba >= totalSectors) return { kind: 'absent' };
  const b = readExact(src, lba * sectorSize, ss);
  if (!b || !hasGptSignature(b)) return { kind: 'absent' };
  const at = `GPT header at LBA ${lba}`;
  const bad = (error: string, headerCrcOk = false, alternateLba?: bigint): HeaderResult =>
    alternateLba === undefined ? { kind: 'bad', error: `${at}: ${error}`, headerCrcOk } : { kind: 'bad', error: `${at}: ${error}`, headerCrcOk, alternateLba };

  const h = decodeGptHeader(b);
  const headerSize = h.headerSize;
  if (headerSize < GPT_MIN_HEADER_SIZE || headerSize > ss) return bad(`header size ${headerSize} out of range`);
  const stored = h.headerCrc32;
  const computed = gptHeaderCrc(b, headerSize);
  if (stored !== computed) {
    return bad(`header CRC32 mismatch (stored 0x${hex(stored, 8)}, computed 0x${hex(computed, 8)})`);
  }
  const notes: string[] = [];
  if (h.revision !== GPT_REVISION_1_0) notes.push(`${at}: unusual revision 0x${hex(h.revision, 8)}`);
  const { myLba, alternateLba, firstUsable, lastUsable, entriesLba, entryCount, entrySize } = h;
  if (myLba !== lba) return bad(`header says it is at LBA ${myLba}`, true, alternateLba);
  if (firstUsable > lastUsable) return bad(`first usable LBA ${firstUsable} is after last usable LBA ${lastUsable}`, true, alternateLba);
  if (lastUsable >= totalSectors) notes.push(`${at}: last usable LBA ${lastUsable} is past the end of the disk (${totalSectors} sectors); the image may be truncated`);
  if (!validGptEntrySize(entrySize, MAX_GPT_ENTRY_SIZE)) {
    return bad(`partition entry size ${entrySize} is not 128 x 2^n (at most ${MAX_GPT_ENTRY_SIZE})`, true, alternateLba);
  }
  const arrayBytes = entryCount * entrySize;
  if (arrayBytes > MAX_GPT_ARRAY_BYTES) {
    return bad(`partition entry array of ${entryCount} x ${entrySize} bytes exceeds the ${MAX_GPT_ARRAY_BYTES}-byte limit`, true, alternateLba);
  }
  if (entriesLba < 1n || entriesLba * sectorSize + BigInt(arrayBytes) > src.size) {
    return bad(`partition entry array at LBA ${entriesLba} (${arrayBytes} bytes) lies outside the disk`, true, alternateLba);
  }
  const entries = arrayBytes === 0 ? new Uint8Array(0) : readExact(src, entriesLba * sectorSize, arrayBytes);
  if (!entries) return bad(`cannot read the partition entry array at LBA ${entriesLba}`, true, alternateLba);
  const storedArr = h.entriesCrc32;
  const computedArr = crc32(entries);
  if (storedArr !== computedArr) {
    return bad(`partition entry array CRC32 mismatch (stored 0x${hex(storedArr, 8)}, computed 0x${hex(computedArr, 8)})`, true, alternateLba);
  }
  return {
    kind: 'ok',
    header: { lba, alternateLba, firstUsable, lastUsable, diskGuid: h.diskGuid, entriesLba, entryCount, entrySize, entries, notes },
  };
}

/** The GPT at the first of `sizes` (sector sizes) that has one; errors of those that announce one but are unusable. */
export function findGpt(src: ByteSource, sizes: number[]): { table: PartitionTable | null; errors: string[] } {
  const errors: string[] = [];
  for (const ss of sizes) {
    const r = readGptAt(src, ss);
    if (r.table) return { table: r.table, errors };
    errors.push(...r.errors.map((e) => (sizes.length > 1 ? `${e} (${ss}-byte sectors)` : e)));
  }
  return { table: null, errors };
}

function readGptAt(src: ByteSource, ss: number): { table: PartitionTable | null; errors: string[] } {
  const totalSectors = src.size / BigInt(ss);
  if (totalSectors < 3n) return { table: null, errors: [] };
  const lastLba = totalSectors - 1n;
  const errors: string[] = [];
  const problems: string[] = [];

  const primary = readGptHeader(src, ss, 1n);
  let header: GptHeader | undefined;
  let usedBackup = false;
  if (primary.kind === 'ok') {
    header = primary.header;
    // Check the backup, for the record.
    const alt = header.alternateLba;
    if (alt !== lastLba) problems.push(`the backup GPT header is expected at LBA ${alt}, not at the last LBA ${lastLba} (disk resized or truncated?)`);
    const backup = readGptHeader(src, ss, alt);
    if (backup.kind === 'absent') problems.push(`no backup GPT header at LBA ${alt}`);
    else if (backup.kind === 'bad') problems.push(`backup ${backup.error}`);
    else if (backup.header.alternateLba !== 1n) problems.push(`the backup GPT header's alternate LBA is ${backup.header.alternateLba}, not 1`);
  } else {
    const primaryWhy = primary.kind === 'absent' ? 'no primary GPT header at LBA 1' : primary.error;
    const candidates = [lastLba];
    if (primary.kind === 'bad' && primary.alternateLba !== undefined && primary.alternateLba !== lastLba) candidates.push(primary.alternateLba);
    const backupErrors: string[] = [];
    for (const lba of candidates) {
      const backup = readGptHeader(src, ss, lba);
      if (backup.kind === 'ok') {
        header = backup.header;
        usedBackup = true;
        problems.push(`${primaryWhy}; using the backup GPT header at LBA ${lba}`);
        break;
      }
      if (backup.kind === 'bad') backupErrors.push(backup.error);
    }
    if (!header) {
      // Nothing that looks like GPT at all: not an error, just absent.
      if (primary.kind === 'absent' && backupErrors.length === 0) return { table: null, errors: [] };
      errors.push(primaryWhy, ...(backupErrors.length ? backupErrors : [`no backup GPT header at LBA ${lastLba}`]));
      return { table: null, errors };
    }
  }

  problems.push(...header.notes);
  const partitions = decodeGptPartitions(header, ss, totalSectors, problems);
  return {
    table: {
      type: 'gpt',
      sectorSize: ss,
      diskId: header.diskGuid,
      partitions,
      gpt: {
        headerLba: header.lba,
        alternateLba: header.alternateLba,
        usedBackup,
        firstUsableLba: header.firstUsable,
        lastUsableLba: header.lastUsable,
        entriesLba: header.entriesLba,
        entryCount: header.entryCount,
        entrySize: header.entrySize,
      },
      problems,
    },
    errors,
  };
}
