import { bytes, defineStruct } from '../struct.js';
import type { Partition, PartitionKind } from './common.js';
import { MBR_TYPE_NAMES } from './names.js';

/**
 * The Master Boot Record (sector 0, and each extended boot record of a
 * logical partition chain): boot code, disk signature, four 16-byte
 * partition entries, the 0x55AA signature. Sector numbers in an entry are
 * 32-bit, in the disk's logical sectors.
 */
export const mbrSector = defineStruct('mbr', 512, [
  ['bootCode', bytes(440, 'boot code')],
  ['diskSignature', 'u32'],
  ['reserved', bytes(2, 'reserved')],
  ['entries', bytes(64, 'mbr_partition[4]')],
  ['signature', bytes(2, '0x55 0xaa')],
]);

/** One MBR/EBR partition entry. */
export const mbrEntry = defineStruct('mbr_partition', 16, [
  ['status', 'u8'],
  ['chsFirst', bytes(3, 'CHS')],
  ['type', 'u8'],
  ['chsLast', bytes(3, 'CHS')],
  ['startLba', 'u32'],
  ['sectors', 'u32'],
]);
const E = mbrEntry.get;

export const MBR_ENTRY_COUNT = 4;
export const MBR_SIGNATURE = [0x55, 0xaa] as const;
export const TYPE_GPT_PROTECTIVE = 0xee;
/** Type bytes of an extended partition (a container of logical partitions). */
export const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);
/** The boot indicator of an active partition (the other valid status is 0). */
export const MBR_BOOTABLE = 0x80;

export interface MbrEntry {
  status: number;
  type: number;
  /** LBA, relative (to the disk, the extended partition or the EBR, by where the entry is). */
  start: number;
  sectors: number;
}

export function hasMbrSignature(b: Uint8Array): boolean {
  const o = mbrSector.off.signature;
  return b[o] === MBR_SIGNATURE[0] && b[o + 1] === MBR_SIGNATURE[1];
}

/** The four entries of an MBR or EBR sector. */
export function decodeMbrEntries(b: Uint8Array): MbrEntry[] {
  const out: MbrEntry[] = [];
  for (let i = 0; i < MBR_ENTRY_COUNT; i++) {
    const o = mbrSector.off.entries + mbrEntry.size * i;
    out.push({ status: E.status(b, o), type: E.type(b, o), start: E.startLba(b, o), sectors: E.sectors(b, o) });
  }
  return out;
}

/** The disk signature as "0x1234abcd". */
export function mbrDiskId(sector0: Uint8Array): string {
  return `0x${mbrSector.get.diskSignature(sector0, 0).toString(16).padStart(8, '0')}`;
}

/** A status byte a real MBR has: 0, or 0x80 for the bootable partition. */
export function validMbrStatus(e: MbrEntry): boolean {
  return e.status === 0 || e.status === MBR_BOOTABLE;
}

export function isUsed(e: MbrEntry): boolean {
  return e.type !== 0 && e.sectors !== 0;
}

export function isExtended(e: MbrEntry): boolean {
  return EXTENDED_TYPES.has(e.type);
}

/** The partition an entry describes, `startLba` already made absolute. */
export function mbrPartition(index: number, kind: PartitionKind, e: MbrEntry, startLba: bigint, sectorSize: bigint): Partition {
  const sectors = BigInt(e.sectors);
  return {
    index,
    kind,
    start: startLba * sectorSize,
    size: sectors * sectorSize,
    firstLba: startLba,
    lastLba: startLba + sectors - 1n,
    type: `0x${e.type.toString(16).padStart(2, '0')}`,
    typeName: MBR_TYPE_NAMES[e.type],
    name: '',
    mbrType: e.type,
    bootable: e.status === MBR_BOOTABLE,
  };
}
