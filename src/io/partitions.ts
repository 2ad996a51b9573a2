import CRC32 from 'crc-32';
import { readExact, type ByteSource } from './ByteSource.js';
import { SliceSource } from './SliceSource.js';

/**
 * Partition tables (MBR with extended/logical partitions, and GPT) read
 * straight from a ByteSource. Pure: no Node APIs, usable in a browser.
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

export type PartitionScheme = 'mbr' | 'gpt';
export type PartitionKind = 'primary' | 'extended' | 'logical' | 'gpt';

export interface Partition {
  /** 1-based number as Linux assigns it (sda1, sda5, nvme0n1p2 ...). */
  index: number;
  kind: PartitionKind;
  /** Byte offset of the partition on the source. */
  start: bigint;
  /** Size in bytes (an extended partition: the whole container). */
  size: bigint;
  /** First and last sector (inclusive), in units of the table's sector size. */
  firstLba: bigint;
  lastLba: bigint;
  /** GPT: the type GUID (upper-case, "0FC63DAF-8483-4772-8E79-3D69D8477DE4"); MBR: the type byte as "0x83". */
  type: string;
  /** A readable name for well-known types ("Linux filesystem"), else undefined. */
  typeName: string | undefined;
  /** GPT partition name (UTF-16LE in the entry); "" for MBR. */
  name: string;
  /** GPT: the unique partition GUID. */
  uuid?: string;
  /** GPT: attribute bits (bit 0 required, bit 2 legacy BIOS bootable, 48-63 type-specific). */
  attributes?: bigint;
  /** MBR: the type byte. */
  mbrType?: number;
  /** MBR: the boot indicator (0x80). */
  bootable?: boolean;
}

export interface GptInfo {
  /** LBA of the header that was used (1, or the backup's). */
  headerLba: bigint;
  /** The used header's AlternateLBA. */
  alternateLba: bigint;
  usedBackup: boolean;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  entriesLba: bigint;
  entryCount: number;
  entrySize: number;
}

export interface PartitionTable {
  type: PartitionScheme;
  /** Logical sector size the table is expressed in (512 or 4096). */
  sectorSize: number;
  /** GPT: disk GUID; MBR: disk signature as "0x1234abcd". */
  diskId: string;
  partitions: Partition[];
  gpt?: GptInfo;
  /** Oddities found while reading (bad backup header, EBR loop, partition past the end ...). */
  problems: string[];
}

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
  constructor(readonly source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'PartitionTableError';
  }
}

// Limits against hostile tables.
export const MAX_LOGICAL_PARTITIONS = 128;
/** EBRs visited in one chain (empty EBRs may be linked without holding a partition). */
export const MAX_EBR_HOPS = 256;
/** Largest GPT entry array accepted (the usual is 128 x 128 = 16 KiB). */
export const MAX_GPT_ARRAY_BYTES = 1 << 20;
export const MAX_GPT_ENTRY_SIZE = 4096;

const MBR_SIG_OFF = 510;
const MBR_ENTRIES_OFF = 446;
const GPT_SIGNATURE = [0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54]; // "EFI PART"
const GPT_MIN_HEADER_SIZE = 92;
const TYPE_GPT_PROTECTIVE = 0xee;
const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);

const BTRFS_SUPER_OFFSET = 0x10000n;
const BTRFS_MAGIC_OFFSET = 0x40n;
const BTRFS_MAGIC = [0x5f, 0x42, 0x48, 0x52, 0x66, 0x53, 0x5f, 0x4d]; // "_BHRfS_M"

const MBR_TYPE_NAMES: Record<number, string> = {
  0x01: 'FAT12',
  0x04: 'FAT16 <32M',
  0x05: 'Extended',
  0x06: 'FAT16',
  0x07: 'HPFS/NTFS/exFAT',
  0x0b: 'W95 FAT32',
  0x0c: 'W95 FAT32 (LBA)',
  0x0e: 'W95 FAT16 (LBA)',
  0x0f: "W95 Ext'd (LBA)",
  0x82: 'Linux swap / Solaris',
  0x83: 'Linux',
  0x85: 'Linux extended',
  0x8e: 'Linux LVM',
  0xa5: 'FreeBSD',
  0xa8: 'Darwin UFS',
  0xaf: 'HFS / HFS+',
  0xee: 'GPT',
  0xef: 'EFI (FAT-12/16/32)',
  0xfd: 'Linux raid autodetect',
};

const GPT_TYPE_NAMES: Record<string, string> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI System',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  '024DEE41-33E7-11D3-9D69-0008C781F39F': 'MBR partition scheme',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'Linux home',
  '3B8F8425-20E0-4F3B-907F-1A25A76F98E8': 'Linux server data',
  '8DA63339-0007-60C0-C436-083AC8230908': 'Linux reserved',
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'Linux LUKS',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  '44479540-F297-41B2-9AF7-D131D5F0458A': 'Linux root (x86)',
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': 'Linux root (ARM-64)',
  '69DAD710-2CE4-4E3C-B16C-21A1D49ABED3': 'Linux root (ARM)',
  '4D21B016-B534-45C2-A9FB-5C16E091FD2D': 'Linux variable data',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'Windows recovery environment',
  '48465300-0000-11AA-AA11-00306543ECAC': 'Apple HFS/HFS+',
  '7C3457EF-0000-11AA-AA11-00306543ECAC': 'Apple APFS',
  '516E7CB4-6ECF-11D6-8FF8-00022D09712B': 'FreeBSD data',
  '6A898CC3-1DD2-11B2-99A6-080020736631': 'Solaris /usr & Apple ZFS',
};

/** The name of a known MBR type byte or GPT type GUID. */
export function partitionTypeName(type: string | number): string | undefined {
  if (typeof type === 'number') return MBR_TYPE_NAMES[type];
  if (/^0x[0-9a-f]{1,2}$/i.test(type)) return MBR_TYPE_NAMES[parseInt(type, 16)];
  return GPT_TYPE_NAMES[type.toUpperCase()];
}

// ---------------------------------------------------------------- helpers

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, o: number): bigint {
  return BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
}
function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0').toUpperCase();
}
function bytesEqual(b: Uint8Array, o: number, want: readonly number[]): boolean {
  for (let i = 0; i < want.length; i++) if (b[o + i] !== want[i]) return false;
  return true;
}
function isZero(b: Uint8Array, o: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return false;
  return true;
}

/** A GUID in its mixed-endian on-disk form, as "0FC63DAF-8483-4772-8E79-3D69D8477DE4". */
export function formatGuid(b: Uint8Array, o = 0): string {
  let tail = '';
  for (let i = 8; i < 16; i++) tail += hex(b[o + i]!, 2) + (i === 9 ? '-' : '');
  return `${hex(u32(b, o), 8)}-${hex(u16(b, o + 4), 4)}-${hex(u16(b, o + 6), 4)}-${tail}`;
}

/** A NUL-terminated UTF-16LE string of at most `maxBytes` bytes. */
function utf16le(b: Uint8Array, o: number, maxBytes: number): string {
  const units: number[] = [];
  for (let i = 0; i + 1 < maxBytes; i += 2) {
    const c = u16(b, o + i);
    if (c === 0) break;
    units.push(c);
  }
  return String.fromCharCode(...units);
}

function crc32(data: Uint8Array): number {
  return CRC32.buf(data) >>> 0;
}

function hasMbrSignature(b: Uint8Array): boolean {
  return b[MBR_SIG_OFF] === 0x55 && b[MBR_SIG_OFF + 1] === 0xaa;
}

interface MbrEntry {
  status: number;
  type: number;
  start: number; // LBA, relative
  sectors: number;
}

function mbrEntries(b: Uint8Array): MbrEntry[] {
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = MBR_ENTRIES_OFF + 16 * i;
    out.push({ status: b[o]!, type: b[o + 4]!, start: u32(b, o + 8), sectors: u32(b, o + 12) });
  }
  return out;
}

function isUsed(e: MbrEntry): boolean {
  return e.type !== 0 && e.sectors !== 0;
}

// ---------------------------------------------------------------- entry point

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

  const entries = mbrEntries(sector0);
  const mbrLooksValid = hasMbrSignature(sector0) && entries.every((e) => e.status === 0 || e.status === 0x80);
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

// ---------------------------------------------------------------- MBR

function readMbr(src: ByteSource, sector0: Uint8Array, entries: MbrEntry[], ss: number): PartitionTable {
  const sectorSize = BigInt(ss);
  const totalSectors = src.size / sectorSize;
  const problems: string[] = [];
  const partitions: Partition[] = [];

  const add = (index: number, kind: PartitionKind, e: MbrEntry, startLba: bigint): void => {
    const sectors = BigInt(e.sectors);
    const last = startLba + sectors - 1n;
    if (last >= totalSectors) {
      problems.push(`partition ${index} (sectors ${startLba}-${last}) extends past the end of the disk (${totalSectors} sectors)`);
    }
    if (startLba === 0n) problems.push(`partition ${index} starts at sector 0, over the partition table`);
    partitions.push({
      index,
      kind,
      start: startLba * sectorSize,
      size: sectors * sectorSize,
      firstLba: startLba,
      lastLba: last,
      type: `0x${e.type.toString(16).padStart(2, '0')}`,
      typeName: MBR_TYPE_NAMES[e.type],
      name: '',
      mbrType: e.type,
      bootable: e.status === 0x80,
    });
  };

  const extended: { index: number; start: bigint; sectors: bigint }[] = [];
  entries.forEach((e, i) => {
    if (!isUsed(e)) return;
    const start = BigInt(e.start);
    if (EXTENDED_TYPES.has(e.type)) {
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

  return {
    type: 'mbr',
    sectorSize: ss,
    diskId: `0x${u32(sector0, 440).toString(16).padStart(8, '0')}`,
    partitions,
    problems,
  };
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
    const b = readExact(src, ebr * BigInt(ss), 512);
    if (!b || !hasMbrSignature(b)) {
      problems.push(`${where}: no valid EBR signature at sector ${ebr}; stopped`);
      return;
    }
    const es = mbrEntries(b);
    let data: MbrEntry | undefined;
    let link: MbrEntry | undefined;
    for (const e of es) {
      if (!isUsed(e)) continue;
      if (EXTENDED_TYPES.has(e.type)) {
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

// ---------------------------------------------------------------- GPT

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

function readGptHeader(src: ByteSource, ss: number, lba: bigint): HeaderResult {
  const sectorSize = BigInt(ss);
  const totalSectors = src.size / sectorSize;
  if (lba < 1n || lba >= totalSectors) return { kind: 'absent' };
  const b = readExact(src, lba * sectorSize, ss);
  if (!b || !bytesEqual(b, 0, GPT_SIGNATURE)) return { kind: 'absent' };
  const at = `GPT header at LBA ${lba}`;
  const bad = (error: string, headerCrcOk = false, alternateLba?: bigint): HeaderResult =>
    alternateLba === undefined ? { kind: 'bad', error: `${at}: ${error}`, headerCrcOk } : { kind: 'bad', error: `${at}: ${error}`, headerCrcOk, alternateLba };

  const headerSize = u32(b, 12);
  if (headerSize < GPT_MIN_HEADER_SIZE || headerSize > ss) return bad(`header size ${headerSize} out of range`);
  const copy = b.slice(0, headerSize);
  copy.fill(0, 16, 20);
  const stored = u32(b, 16);
  const computed = crc32(copy);
  if (stored !== computed) {
    return bad(`header CRC32 mismatch (stored 0x${hex(stored, 8)}, computed 0x${hex(computed, 8)})`);
  }
  const notes: string[] = [];
  const revision = u32(b, 8);
  if (revision !== 0x00010000) notes.push(`${at}: unusual revision 0x${hex(revision, 8)}`);
  const myLba = u64(b, 24);
  const alternateLba = u64(b, 32);
  if (myLba !== lba) return bad(`header says it is at LBA ${myLba}`, true, alternateLba);
  const firstUsable = u64(b, 40);
  const lastUsable = u64(b, 48);
  if (firstUsable > lastUsable) return bad(`first usable LBA ${firstUsable} is after last usable LBA ${lastUsable}`, true, alternateLba);
  if (lastUsable >= totalSectors) notes.push(`${at}: last usable LBA ${lastUsable} is past the end of the disk (${totalSectors} sectors); the image may be truncated`);
  const entriesLba = u64(b, 72);
  const entryCount = u32(b, 80);
  const entrySize = u32(b, 84);
  if (entrySize < 128 || entrySize > MAX_GPT_ENTRY_SIZE || entrySize % 128 !== 0 || ((entrySize / 128) & (entrySize / 128 - 1)) !== 0) {
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
  const storedArr = u32(b, 88);
  const computedArr = crc32(entries);
  if (storedArr !== computedArr) {
    return bad(`partition entry array CRC32 mismatch (stored 0x${hex(storedArr, 8)}, computed 0x${hex(computedArr, 8)})`, true, alternateLba);
  }
  return {
    kind: 'ok',
    header: { lba, alternateLba, firstUsable, lastUsable, diskGuid: formatGuid(b, 56), entriesLba, entryCount, entrySize, entries, notes },
  };
}

function findGpt(src: ByteSource, sizes: number[]): { table: PartitionTable | null; errors: string[] } {
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
  const partitions = gptPartitions(header, ss, totalSectors, problems);
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

function gptPartitions(h: GptHeader, ss: number, totalSectors: bigint, problems: string[]): Partition[] {
  const out: Partition[] = [];
  const sectorSize = BigInt(ss);
  for (let i = 0; i < h.entryCount; i++) {
    const o = i * h.entrySize;
    if (isZero(h.entries, o, 16)) continue; // unused entry
    const index = i + 1;
    const first = u64(h.entries, o + 32);
    const last = u64(h.entries, o + 40);
    if (last < first) {
      problems.push(`GPT entry ${index}: last LBA ${last} is before first LBA ${first}; ignored`);
      continue;
    }
    if (first < h.firstUsable || last > h.lastUsable) {
      problems.push(`GPT entry ${index}: sectors ${first}-${last} lie outside the usable range ${h.firstUsable}-${h.lastUsable}`);
    }
    if (last >= totalSectors) problems.push(`GPT entry ${index}: extends past the end of the disk (${totalSectors} sectors)`);
    const type = formatGuid(h.entries, o);
    out.push({
      index,
      kind: 'gpt',
      start: first * sectorSize,
      size: (last - first + 1n) * sectorSize,
      firstLba: first,
      lastLba: last,
      type,
      typeName: GPT_TYPE_NAMES[type],
      name: utf16le(h.entries, o + 56, Math.min(72, h.entrySize - 56)),
      uuid: formatGuid(h.entries, o + 16),
      attributes: u64(h.entries, o + 48),
    });
  }
  return out;
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
  const b = readExact(src, BTRFS_SUPER_OFFSET + BTRFS_MAGIC_OFFSET, 8);
  return b !== null && bytesEqual(b, 0, BTRFS_MAGIC);
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
