import CRC32 from 'crc-32';

/**
 * LVM2's binary on-disk structures (lib/format_text/layout.h and lib/label/label.h of LVM2; the
 * layout is little-endian): the PV label, the PV header that follows it, and the header of a
 * metadata area. Pure decoders; the reading is in io/lvm/.
 *
 * - The label lives in one of the first four 512-byte sectors (sector 1 as pvcreate writes it):
 *   "LABELONE", the sector's own number (u64), a CRC (u32) of the sector's bytes from offset 20
 *   on, the offset of the PV header inside the sector (u32), and the type "LVM2 001".
 * - The PV header: the PV's uuid (32 characters, no dashes), the device size in bytes (u64),
 *   then two lists of (offset u64, size u64) in bytes from the PV's start, each ended by a zero
 *   pair: the data areas (the first one starts at pe_start) and the metadata areas.
 * - A metadata area starts with a 512-byte header: a CRC (u32) of its bytes from offset 4 on,
 *   the magic " LVM2 x[5A%r0N*>", version 1, the area's start and size (u64, bytes from the PV's
 *   start), then locations of metadata text (offset u64 from the area's start, size u64, CRC u32 of
 *   the text, flags u32), ended by a zero entry. The first is the committed metadata. The text
 *   area after the header is a ring: a text running past the area's end goes on right after the
 *   header.
 */

export const LVM_SECTOR = 512;
/** The label is looked for in sectors 0..3. */
export const LVM_LABEL_SCAN_SECTORS = 4;
export const LVM_LABEL_ID = 'LABELONE';
export const LVM_LABEL_TYPE = 'LVM2 001';
export const LVM_MDA_MAGIC = ' LVM2 x[5A%r0N*>';
export const LVM_MDA_HEADER_SIZE = 512;
/** A raw location flag: this copy of the text is to be ignored (metadataignore). */
export const LVM_RAW_LOCN_IGNORED = 1;
/** LVM2's CRC: the CRC-32 table (reflected 0xEDB88320) started at this value, with no final inversion. */
export const LVM_INITIAL_CRC = 0xf597a6cf;

/** Where lists in the PV header may end: 32 entries of each kind is far beyond what LVM2 writes (it writes one or two). */
export const LVM_MAX_AREAS = 32;
/** Raw locations read from a metadata area header (its 512 bytes hold 19). */
export const LVM_MAX_RAW_LOCNS = 19;

const L = { id: 0, sector: 8, crc: 16, offset: 20, type: 24 } as const;
const PVH = { uuid: 0, deviceSize: 32, areas: 40 } as const;
const MDA = { crc: 0, magic: 4, version: 20, start: 24, size: 32, locns: 40, locnSize: 24 } as const;

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0, true);
const u64 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset + o, 8).getBigUint64(0, true);
const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));

/** LVM2's CRC of `data` (calc_crc(INITIAL_CRC, ...)): the standard table without the pre- and post-inversion. */
export function lvmCrc(data: Uint8Array): number {
  return ~CRC32.buf(data, ~LVM_INITIAL_CRC) >>> 0;
}

export interface LvmDiskArea {
  offset: bigint;
  size: bigint;
}

export interface LvmLabel {
  /** The sector (0..3) the label was found in. */
  sector: number;
  /** Whether the label's CRC matches. */
  crcOk: boolean;
  /** The PV's uuid as LVM2 writes it in metadata: 6-4-4-4-4-4-6 characters joined by dashes. */
  pvUuid: string;
  deviceSize: bigint;
  dataAreas: LvmDiskArea[];
  metadataAreas: LvmDiskArea[];
}

/** The uuid with LVM2's dashes (32 characters as 6-4-4-4-4-4-6). */
export function dashUuid(raw: string): string {
  const cuts = [6, 4, 4, 4, 4, 4, 6];
  const out: string[] = [];
  let at = 0;
  for (const n of cuts) {
    out.push(raw.slice(at, at + n));
    at += n;
  }
  return out.join('-');
}

/** Whether a 512-byte sector starts with LVM2's label ("LABELONE" ... "LVM2 001") naming itself as `sector`. */
export function isLvmLabel(b: Uint8Array, sector: number): boolean {
  return b.length >= LVM_SECTOR && ascii(b, L.id, 8) === LVM_LABEL_ID && u64(b, L.sector) === BigInt(sector) && ascii(b, L.type, 8) === LVM_LABEL_TYPE;
}

/** Decodes the label sector and the PV header in it; null when the header's lists do not fit in the sector. */
export function decodeLvmLabel(b: Uint8Array, sector: number): LvmLabel | null {
  const crcOk = lvmCrc(b.subarray(L.offset, LVM_SECTOR)) === u32(b, L.crc);
  const at = u32(b, L.offset);
  if (at < 32 || at + PVH.areas > LVM_SECTOR) return null;
  const pvUuid = dashUuid(ascii(b, at + PVH.uuid, 32));
  const deviceSize = u64(b, at + PVH.deviceSize);
  let o = at + PVH.areas;
  const list = (): LvmDiskArea[] | null => {
    const out: LvmDiskArea[] = [];
    for (;;) {
      if (o + 16 > LVM_SECTOR || out.length > LVM_MAX_AREAS) return null;
      const offset = u64(b, o),
        size = u64(b, o + 8);
      o += 16;
      if (offset === 0n && size === 0n) return out;
      out.push({ offset, size });
    }
  };
  const dataAreas = list();
  const metadataAreas = dataAreas && list();
  if (!dataAreas || !metadataAreas) return null;
  return { sector, crcOk, pvUuid, deviceSize, dataAreas, metadataAreas };
}

export interface LvmRawLocn {
  /** Bytes from the metadata area's start. */
  offset: bigint;
  size: bigint;
  crc: number;
  ignored: boolean;
}

export interface LvmMdaHeader {
  crcOk: boolean;
  magicOk: boolean;
  version: number;
  start: bigint;
  size: bigint;
  locns: LvmRawLocn[];
}

/** Decodes a metadata area's 512-byte header. */
export function decodeMdaHeader(b: Uint8Array): LvmMdaHeader {
  const locns: LvmRawLocn[] = [];
  for (let i = 0; i < LVM_MAX_RAW_LOCNS; i++) {
    const o = MDA.locns + i * MDA.locnSize;
    if (o + MDA.locnSize > LVM_MDA_HEADER_SIZE) break;
    const offset = u64(b, o),
      size = u64(b, o + 8);
    if (offset === 0n && size === 0n) break;
    locns.push({ offset, size, crc: u32(b, o + 16), ignored: (u32(b, o + 20) & LVM_RAW_LOCN_IGNORED) !== 0 });
  }
  return {
    crcOk: lvmCrc(b.subarray(MDA.magic, LVM_MDA_HEADER_SIZE)) === u32(b, MDA.crc),
    magicOk: ascii(b, MDA.magic, 16) === LVM_MDA_MAGIC,
    version: u32(b, MDA.version),
    start: u64(b, MDA.start),
    size: u64(b, MDA.size),
    locns,
  };
}
