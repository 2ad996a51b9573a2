import { u16, u32 } from '../bytes.js';

/**
 * What MBR and GPT decoding share: the decoded table's types and the byte
 * helpers both formats use (GUIDs, UTF-16LE names, byte patterns).
 * Partition tables are little-endian like btrfs, so format/bytes.ts reads
 * their integers.
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

export function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0').toUpperCase();
}

/** True when b[o ..] starts with the bytes of `want`. */
export function startsWith(b: Uint8Array, o: number, want: readonly number[]): boolean {
  for (let i = 0; i < want.length; i++) if (b[o + i] !== want[i]) return false;
  return true;
}

/** Layout of a GUID as stored (mixed-endian: three little-endian fields, then 8 bytes in order). */
const GUID = { data1: 0, data2: 4, data3: 6, data4: 8, size: 16 } as const;

/** A GUID in its mixed-endian on-disk form, as "0FC63DAF-8483-4772-8E79-3D69D8477DE4". */
export function formatGuid(b: Uint8Array, o = 0): string {
  let tail = '';
  for (let i = GUID.data4; i < GUID.size; i++) tail += hex(b[o + i]!, 2) + (i === GUID.data4 + 1 ? '-' : '');
  return `${hex(u32(b, o + GUID.data1), 8)}-${hex(u16(b, o + GUID.data2), 4)}-${hex(u16(b, o + GUID.data3), 4)}-${tail}`;
}

/** A NUL-terminated UTF-16LE string of at most `maxBytes` bytes. */
export function utf16le(b: Uint8Array, o: number, maxBytes: number): string {
  const units: number[] = [];
  for (let i = 0; i + 1 < maxBytes; i += 2) {
    const c = u16(b, o + i);
    if (c === 0) break;
    units.push(c);
  }
  return String.fromCharCode(...units);
}
