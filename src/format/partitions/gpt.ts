import CRC32 from 'crc-32';
import { isZero } from '../bytes.js';
import { bytes, defineStruct } from '../struct.js';
import { formatGuid, type Partition, startsWith, utf16le } from './common.js';
import { GPT_TYPE_NAMES } from './names.js';

/**
 * The GUID Partition Table (UEFI spec, chapter 5): a header at LBA 1 (and a
 * backup at the last LBA) pointing at an array of partition entries; both
 * carry CRC32s. Pure decoders: the reading is in io/partitions/gpt.ts.
 */
export const gptHeader = defineStruct('gpt_header', 92, [
  ['signature', bytes(8, '"EFI PART"')],
  ['revision', 'u32'],
  ['headerSize', 'u32'],
  ['headerCrc32', 'u32'],
  ['reserved', 'u32'],
  ['myLba', 'u64'],
  ['alternateLba', 'u64'],
  ['firstUsableLba', 'u64'],
  ['lastUsableLba', 'u64'],
  ['diskGuid', bytes(16, 'GUID')],
  ['entriesLba', 'u64'],
  ['entryCount', 'u32'],
  ['entrySize', 'u32'],
  ['entriesCrc32', 'u32'],
]);
const H = gptHeader.get;

/** One partition entry (128 bytes in the first revision; entry_size may be larger, a power of two times 128). */
export const gptEntry = defineStruct('gpt_entry', 128, [
  ['typeGuid', bytes(16, 'GUID')],
  ['uniqueGuid', bytes(16, 'GUID')],
  ['firstLba', 'u64'],
  ['lastLba', 'u64'],
  ['attributes', 'u64'],
  ['name', bytes(72, 'UTF-16LE[36]')],
]);
const GE = gptEntry.get;

export const GPT_SIGNATURE = [0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54]; // "EFI PART"
export const GPT_MIN_HEADER_SIZE = gptHeader.size;
export const GPT_REVISION_1_0 = 0x00010000;
export const GPT_MIN_ENTRY_SIZE = gptEntry.size;

export function crc32(data: Uint8Array): number {
  return CRC32.buf(data) >>> 0;
}

export function hasGptSignature(b: Uint8Array): boolean {
  return startsWith(b, gptHeader.off.signature, GPT_SIGNATURE);
}

/** The header's CRC32 as computed: over headerSize bytes with the CRC field zeroed. */
export function gptHeaderCrc(b: Uint8Array, headerSize: number): number {
  const copy = b.slice(0, headerSize);
  copy.fill(0, gptHeader.off.headerCrc32, gptHeader.off.headerCrc32 + gptHeader.sizeOf.headerCrc32);
  return crc32(copy);
}

/** The header fields as stored (unchecked). */
export interface GptHeaderFields {
  revision: number;
  headerSize: number;
  headerCrc32: number;
  myLba: bigint;
  alternateLba: bigint;
  firstUsable: bigint;
  lastUsable: bigint;
  diskGuid: string;
  entriesLba: bigint;
  entryCount: number;
  entrySize: number;
  entriesCrc32: number;
}

export function decodeGptHeader(b: Uint8Array): GptHeaderFields {
  return {
    revision: H.revision(b, 0),
    headerSize: H.headerSize(b, 0),
    headerCrc32: H.headerCrc32(b, 0),
    myLba: H.myLba(b, 0),
    alternateLba: H.alternateLba(b, 0),
    firstUsable: H.firstUsableLba(b, 0),
    lastUsable: H.lastUsableLba(b, 0),
    diskGuid: formatGuid(b, gptHeader.off.diskGuid),
    entriesLba: H.entriesLba(b, 0),
    entryCount: H.entryCount(b, 0),
    entrySize: H.entrySize(b, 0),
    entriesCrc32: H.entriesCrc32(b, 0),
  };
}

/** Entry sizes the spec allows: 128 x 2^n, here at most `max`. */
export function validGptEntrySize(size: number, max: number): boolean {
  const n = size / GPT_MIN_ENTRY_SIZE;
  return size >= GPT_MIN_ENTRY_SIZE && size <= max && size % GPT_MIN_ENTRY_SIZE === 0 && (n & (n - 1)) === 0;
}

/** What the entry array decoding needs of its header. */
export interface GptArray {
  entries: Uint8Array;
  entryCount: number;
  entrySize: number;
  firstUsable: bigint;
  lastUsable: bigint;
}

/** The used entries of a partition entry array, as partitions; oddities go to `problems`. */
export function decodeGptPartitions(h: GptArray, ss: number, totalSectors: bigint, problems: string[]): Partition[] {
  const out: Partition[] = [];
  const sectorSize = BigInt(ss);
  for (let i = 0; i < h.entryCount; i++) {
    const o = i * h.entrySize;
    // An all-zero type GUID marks an unused entry.
    if (isZero(h.entries, o + gptEntry.off.typeGuid, gptEntry.sizeOf.typeGuid)) continue;
    const index = i + 1;
    const first = GE.firstLba(h.entries, o);
    const last = GE.lastLba(h.entries, o);
    if (last < first) {
      problems.push(`GPT entry ${index}: last LBA ${last} is before first LBA ${first}; ignored`);
      continue;
    }
    if (first < h.firstUsable || last > h.lastUsable) {
      problems.push(`GPT entry ${index}: sectors ${first}-${last} lie outside the usable range ${h.firstUsable}-${h.lastUsable}`);
    }
    if (last >= totalSectors) problems.push(`GPT entry ${index}: extends past the end of the disk (${totalSectors} sectors)`);
    const type = formatGuid(h.entries, o + gptEntry.off.typeGuid);
    out.push({
      index,
      kind: 'gpt',
      start: first * sectorSize,
      size: (last - first + 1n) * sectorSize,
      firstLba: first,
      lastLba: last,
      type,
      typeName: GPT_TYPE_NAMES[type],
      name: utf16le(h.entries, o + gptEntry.off.name, Math.min(gptEntry.sizeOf.name, h.entrySize - gptEntry.off.name)),
      uuid: formatGuid(h.entries, o + gptEntry.off.uniqueGuid),
      attributes: GE.attributes(h.entries, o),
    });
  }
  return out;
}
