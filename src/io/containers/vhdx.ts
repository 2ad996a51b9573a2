import type { ByteSource } from '../ByteSource.js';
import { ContainerError } from './ContainerError.js';
import { FilledSource } from './FilledSource.js';

/**
 * VHDX (Microsoft's "VHDX Format Specification" v1.0), little-endian. A file
 * identifier ("vhdxfile"), two headers at 64 and 128 KiB (the valid one with the
 * higher sequence number is current; CRC-32C), two region tables at 192 and
 * 256 KiB locating the BAT and the metadata region. Metadata items give the
 * block size, the virtual disk size and the logical sector size. The BAT holds a
 * u64 per payload block (state in bits 0-2, file offset in MiB in bits 20-63),
 * with a sector-bitmap entry after every "chunk ratio" payload entries.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const HEADERS = [64 * KiB, 128 * KiB];
const REGION_TABLES = [192 * KiB, 256 * KiB];
const HEADER_SIZE = 4 * KiB;
const REGION_TABLE_SIZE = 64 * KiB;
const BAT_GUID = '2dc27766-f623-4200-9d64-115e9bfd4a08';
const METADATA_GUID = '8b7ca206-4790-4b9a-b8fe-575f050f886e';
const FILE_PARAMETERS = 'caa16737-fa36-4d43-b3b6-33f0aa44e76b';
const VIRTUAL_DISK_SIZE = '2fa54224-cd1b-4876-b211-5dbed83bf4b8';
const LOGICAL_SECTOR_SIZE = '8141bf1d-a96f-4709-ba47-f233a8faab5f';
/** Payload block states: 0 not present, 1 undefined, 2 zero, 3 unmapped read as zeros; 6 fully present; 7 partially present (differencing). */
const PAYLOAD_FULLY_PRESENT = 6;
const PAYLOAD_PARTIALLY_PRESENT = 7;
const MAX_BAT_BYTES = 64 * MiB;
const MAX_METADATA_ITEMS = 2047;

const le16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const le64 = (b: Uint8Array, o: number) => BigInt(le32(b, o)) | (BigInt(le32(b, o + 4)) << 32n);
const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A GUID as stored on disk (first three fields little-endian), as text. */
function guid(b: Uint8Array, o: number): string {
  const g = b.subarray(o, o + 16);
  const r = (s: Uint8Array) => hex(s.slice().reverse());
  return `${r(g.subarray(0, 4))}-${r(g.subarray(4, 6))}-${r(g.subarray(6, 8))}-${hex(g.subarray(8, 10))}-${hex(g.subarray(10, 16))}`;
}

let CRC32C_TABLE: Uint32Array | null = null;
/** CRC-32C (Castagnoli), as the headers and region tables carry it. */
export function crc32c(b: Uint8Array): number {
  if (!CRC32C_TABLE) {
    CRC32C_TABLE = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      CRC32C_TABLE[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The checksum of a structure whose 4-byte checksum at offset 4 counts as zero. */
function checksumOk(b: Uint8Array): boolean {
  const copy = b.slice();
  copy.fill(0, 4, 8);
  return crc32c(copy) === le32(b, 4);
}

export function hasVhdxMagic(head: Uint8Array): boolean {
  return head.length >= 8 && ascii(head, 0, 8) === 'vhdxfile';
}

export class VhdxSource extends FilledSource implements ByteSource {
  readonly name: string;
  readonly size: bigint;
  private readonly blockSize: number;
  protected readonly blockBytes: number;
  private readonly chunkRatio: number;
  private readonly bat: BigUint64Array;

  constructor(private readonly file: ByteSource) {
    super();
    this.name = file.name;
    if (!hasVhdxMagic(file.read(0n, 8))) this.fail(0n, 'no file identifier ("vhdxfile")');
    // The current header: valid, with the highest sequence number.
    let header: Uint8Array | null = null;
    for (const at of HEADERS) {
      const h = file.read(BigInt(at), HEADER_SIZE);
      if (h.length !== HEADER_SIZE || ascii(h, 0, 4) !== 'head' || !checksumOk(h)) continue;
      if (!header || le64(h, 8) > le64(header, 8)) header = h;
    }
    if (!header) this.fail(BigInt(HEADERS[0]!), 'neither header is valid (signature "head" and CRC-32C)');
    // A log with entries not yet applied: the file's structures are not consistent until replayed.
    if (header.subarray(48, 64).some((x) => x !== 0))
      this.fail(BigInt(HEADERS[0]!), 'the log holds changes not yet applied (the disk was not closed cleanly); open it once in Hyper-V or qemu-img to replay them');
    let regions: Uint8Array | null = null;
    for (const at of REGION_TABLES) {
      const r = file.read(BigInt(at), REGION_TABLE_SIZE);
      if (r.length === REGION_TABLE_SIZE && ascii(r, 0, 4) === 'regi' && checksumOk(r)) {
        regions = r;
        break;
      }
    }
    if (!regions) this.fail(BigInt(REGION_TABLES[0]!), 'neither region table is valid');
    const count = le32(regions, 8);
    if (count > 2047) this.fail(BigInt(REGION_TABLES[0]!), `region table has ${count} entries, more than 2047`);
    let bat: { offset: bigint; length: number } | null = null;
    let meta: { offset: bigint; length: number } | null = null;
    for (let i = 0; i < count; i++) {
      const e = 16 + i * 32;
      const id = guid(regions, e);
      const region = { offset: le64(regions, e + 16), length: le32(regions, e + 24) };
      if (id === BAT_GUID) bat = region;
      else if (id === METADATA_GUID) meta = region;
      else if (le32(regions, e + 28) & 1) this.fail(BigInt(REGION_TABLES[0]!), `required region ${id} is unknown`);
    }
    if (!bat || !meta) this.fail(BigInt(REGION_TABLES[0]!), 'region table has no BAT or no metadata region');

    const m = file.read(meta.offset, Math.min(meta.length, 64 * KiB));
    if (m.length < 32 || ascii(m, 0, 8) !== 'metadata') this.fail(meta.offset, 'no metadata table ("metadata")');
    const items = le16(m, 10);
    if (items > MAX_METADATA_ITEMS || 32 + items * 32 > m.length) this.fail(meta.offset, `metadata table of ${items} entries does not fit`);
    const item = (id: string, length: number): Uint8Array => {
      for (let i = 0; i < items; i++) {
        const e = 32 + i * 32;
        if (guid(m, e) !== id) continue;
        const off = le32(m, e + 16);
        const b = file.read(meta.offset + BigInt(off), length);
        if (le32(m, e + 20) < length || b.length !== length) this.fail(meta.offset + BigInt(off), `metadata item ${id} is cut short`);
        return b;
      }
      return this.fail(meta.offset, `metadata item ${id} is missing`);
    };
    const params = item(FILE_PARAMETERS, 8);
    this.blockSize = this.blockBytes = le32(params, 0);
    if (le32(params, 4) & 2) this.fail(meta.offset, 'differencing disks (with a parent VHDX) are not read yet; merge or convert it first (qemu-img convert)');
    this.size = le64(item(VIRTUAL_DISK_SIZE, 8), 0);
    const sector = le32(item(LOGICAL_SECTOR_SIZE, 4), 0);
    // The specification: blocks of 1 MiB to 256 MiB, a power of two; sectors of 512 or 4096 bytes; at most 64 TiB.
    if (this.blockSize < MiB || this.blockSize > 256 * MiB || (this.blockSize & (this.blockSize - 1)) !== 0)
      this.fail(meta.offset, `block size ${this.blockSize} is not a power of two from 1 to 256 MiB`);
    if (sector !== 512 && sector !== 4096) this.fail(meta.offset, `logical sector size ${sector} is not 512 or 4096`);
    if (this.size > 64n * 1024n ** 4n) this.fail(meta.offset, `virtual size ${this.size} is beyond 64 TiB`);
    this.chunkRatio = Number((2n ** 23n * BigInt(sector)) / BigInt(this.blockSize));
    const blocks = Number((this.size + BigInt(this.blockSize) - 1n) / BigInt(this.blockSize));
    const entries = blocks + Math.floor(Math.max(blocks - 1, 0) / this.chunkRatio);
    if (entries * 8 > MAX_BAT_BYTES || entries * 8 > bat.length) this.fail(bat.offset, `BAT of ${entries} entries does not fit its ${bat.length}-byte region (or the ${MAX_BAT_BYTES}-byte limit)`);
    const raw = file.read(bat.offset, entries * 8);
    if (raw.length !== entries * 8) this.fail(bat.offset, 'BAT lies past the end of the file');
    this.bat = new BigUint64Array(entries);
    for (let i = 0; i < entries; i++) this.bat[i] = le64(raw, i * 8);
  }

  private fail(offset: bigint, why: string): never {
    throw new ContainerError(this.name, offset, `VHDX: ${why}`);
  }

  protected fillBlock(block: number, inBlock: number, piece: Uint8Array): void {
    // A sector-bitmap entry follows every chunkRatio payload entries.
    const entry = this.bat[block + Math.floor(block / this.chunkRatio)]!;
    const state = Number(entry & 7n);
    if (state === PAYLOAD_FULLY_PRESENT || state === PAYLOAD_PARTIALLY_PRESENT) {
      const at = (entry >> 20n) * BigInt(MiB) + BigInt(inBlock);
      const b = this.file.read(at, piece.length);
      if (b.length !== piece.length) this.fail(at, `block ${block} lies past the end of the file (${this.file.size} bytes)`);
      piece.set(b);
    } else piece.fill(0);
  }

  close(): void {
    this.file.close?.();
  }
}
