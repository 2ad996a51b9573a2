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
 *
 * A differencing disk (File Parameters' HasParent bit) names its parent in the
 * Parent Locator item: UTF-16LE key/value pairs, `parent_linkage` the parent's
 * DataWriteGuid when the child was made, and the paths to try (relative_path,
 * volume_path, absolute_win32_path, in that order). A PARTIALLY_PRESENT block
 * takes each sector whose sector-bitmap bit is set (bit 0 of byte 0 first) from
 * the child and the others from the parent; a NOT_PRESENT block is the parent's.
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
const PARENT_LOCATOR = 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c';
/** The only parent locator type the specification defines: a VHDX parent. */
const VHDX_LOCATOR_TYPE = 'b04aefb7-d19e-4a81-b789-25b8e9445913';
/** Header fields: the DataWriteGuid a child's parent_linkage names, and the LogGuid (non-zero: a log to replay). */
const H = { sequence: 8, dataWriteGuid: 32, logGuid: 48 } as const;
/** Payload block states: 0 not present, 1 undefined, 2 zero, 3 unmapped read as zeros; 6 fully present; 7 partially present (differencing). */
const PAYLOAD_NOT_PRESENT = 0;
const PAYLOAD_UNDEFINED = 1;
const PAYLOAD_FULLY_PRESENT = 6;
const PAYLOAD_PARTIALLY_PRESENT = 7;
/** A sector bitmap block's state when it is in the file. */
const SB_BLOCK_PRESENT = 6;
const MAX_BAT_BYTES = 64 * MiB;
const MAX_METADATA_ITEMS = 2047;
/** The specification caps a metadata item at 1 MiB. */
const MAX_METADATA_ITEM = MiB;

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

/** The current header: valid (signature "head", CRC-32C), with the higher sequence number; null if neither is. */
function currentHeader(file: ByteSource): Uint8Array | null {
  let header: Uint8Array | null = null;
  for (const at of HEADERS) {
    const h = file.read(BigInt(at), HEADER_SIZE);
    if (h.length !== HEADER_SIZE || ascii(h, 0, 4) !== 'head' || !checksumOk(h)) continue;
    if (!header || le64(h, H.sequence) > le64(header, H.sequence)) header = h;
  }
  return header;
}

/** A VHDX's DataWriteGuid (from its current header): what a differencing child's parent_linkage names. */
export function vhdxDataWriteGuid(file: ByteSource): string | null {
  if (!hasVhdxMagic(file.read(0n, 8))) return null;
  const h = currentHeader(file);
  return h ? guid(h, H.dataWriteGuid) : null;
}

/** Where a differencing VHDX says its parent is. */
export interface VhdxParentRef {
  /** parent_linkage and parent_linkage2 (lowercase GUIDs, no braces): the parent's DataWriteGuid must be one of them. */
  linkage: string[];
  /** The paths in the order the specification tries them: relative_path, volume_path, absolute_win32_path (`path` with "/" for "\\", `stored` as the file holds it). */
  paths: { key: string; path: string; stored: string; relative: boolean }[];
}

/** Opens a differencing VHDX's parent (the caller resolves the paths and refuses loops and a wrong DataWriteGuid). */
export type VhdxParentOpener = (ref: VhdxParentRef) => ByteSource;

const PATH_KEYS = ['relative_path', 'volume_path', 'absolute_win32_path'] as const;

/** The Parent Locator item `b` (at file offset `at`): its type must be VHDX's; keys and values are UTF-16LE. */
function parentRef(b: Uint8Array, at: bigint, fail: (offset: bigint, why: string) => never): VhdxParentRef {
  if (b.length < 20) fail(at, `parent locator of ${b.length} bytes is shorter than its 20-byte header`);
  const type = guid(b, 0);
  if (type !== VHDX_LOCATOR_TYPE) fail(at, `parent locator type ${type} is not a VHDX parent (${VHDX_LOCATOR_TYPE})`);
  const count = le16(b, 18);
  if (20 + count * 12 > b.length) fail(at, `parent locator of ${count} entries does not fit its ${b.length} bytes`);
  const text = (o: number, n: number): string => {
    if (o === 0 || n === 0 || n % 2 !== 0 || o + n > b.length) fail(at, `parent locator entry (offset ${o}, ${n} bytes) does not lie in its ${b.length} bytes`);
    let out = '';
    for (let i = o; i < o + n; i += 2) out += String.fromCharCode(le16(b, i));
    return out;
  };
  const kv = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const e = 20 + i * 12;
    kv.set(text(le32(b, e), le16(b, e + 8)), text(le32(b, e + 4), le16(b, e + 10)));
  }
  const linkage: string[] = [];
  for (const key of ['parent_linkage', 'parent_linkage2']) {
    const v = kv.get(key);
    if (v === undefined) continue;
    const m = /^\{([0-9a-fA-F-]{36})\}$/.exec(v);
    if (!m) fail(at, `parent locator's ${key} "${v}" is not a braced GUID`);
    linkage.push(m[1]!.toLowerCase());
  }
  if (!linkage.length) fail(at, "parent locator has no parent_linkage (the parent's DataWriteGuid)");
  const paths: VhdxParentRef['paths'] = [];
  for (const key of PATH_KEYS) {
    const v = kv.get(key);
    if (v !== undefined) paths.push({ key, path: v.replace(/\\/g, '/'), stored: v, relative: key === 'relative_path' });
  }
  return { linkage, paths };
}

export class VhdxSource extends FilledSource implements ByteSource {
  readonly name: string;
  readonly size: bigint;
  private readonly blockSize: number;
  protected readonly blockBytes: number;
  private readonly chunkRatio: number;
  private readonly bat: BigUint64Array;
  /** The logical sector size: the sector bitmap's unit, and what a parent must share. */
  readonly sectorSize: number;
  /** A differencing disk's parent: NOT_PRESENT blocks and unset sector-bitmap bits are read there. */
  readonly parent: ByteSource | null = null;

  constructor(
    private readonly file: ByteSource,
    openParent?: VhdxParentOpener,
  ) {
    super();
    this.name = file.name;
    if (!hasVhdxMagic(file.read(0n, 8))) this.fail(0n, 'no file identifier ("vhdxfile")');
    const header = currentHeader(file);
    if (!header) this.fail(BigInt(HEADERS[0]!), 'neither header is valid (signature "head" and CRC-32C)');
    // A log with entries not yet applied: the file's structures are not consistent until replayed.
    if (header.subarray(H.logGuid, H.logGuid + 16).some((x) => x !== 0))
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
    /** Metadata item `id`: its first `length` bytes, or (length null) all of it, at most 1 MiB. */
    const item = (id: string, length: number | null): Uint8Array => {
      for (let i = 0; i < items; i++) {
        const e = 32 + i * 32;
        if (guid(m, e) !== id) continue;
        const off = le32(m, e + 16);
        const stored = le32(m, e + 20);
        if (stored > MAX_METADATA_ITEM) this.fail(meta.offset + BigInt(e), `metadata item ${id} of ${stored} bytes is over 1 MiB`);
        const want = length ?? stored;
        const b = file.read(meta.offset + BigInt(off), want);
        if (stored < want || b.length !== want) this.fail(meta.offset + BigInt(off), `metadata item ${id} is cut short`);
        return b;
      }
      return this.fail(meta.offset, `metadata item ${id} is missing`);
    };
    const params = item(FILE_PARAMETERS, 8);
    this.blockSize = this.blockBytes = le32(params, 0);
    const hasParent = (le32(params, 4) & 2) !== 0;
    this.size = le64(item(VIRTUAL_DISK_SIZE, 8), 0);
    const sector = le32(item(LOGICAL_SECTOR_SIZE, 4), 0);
    this.sectorSize = sector;
    // The specification: blocks of 1 MiB to 256 MiB, a power of two; sectors of 512 or 4096 bytes; at most 64 TiB.
    if (this.blockSize < MiB || this.blockSize > 256 * MiB || (this.blockSize & (this.blockSize - 1)) !== 0)
      this.fail(meta.offset, `block size ${this.blockSize} is not a power of two from 1 to 256 MiB`);
    if (sector !== 512 && sector !== 4096) this.fail(meta.offset, `logical sector size ${sector} is not 512 or 4096`);
    if (this.size > 64n * 1024n ** 4n) this.fail(meta.offset, `virtual size ${this.size} is beyond 64 TiB`);
    this.chunkRatio = Number((2n ** 23n * BigInt(sector)) / BigInt(this.blockSize));
    const blocks = Number((this.size + BigInt(this.blockSize) - 1n) / BigInt(this.blockSize));
    // A differencing disk's BAT reaches the sector bitmap entry after the last chunk's payload entries.
    const entries = hasParent ? Math.ceil(blocks / this.chunkRatio) * (this.chunkRatio + 1) : blocks + Math.floor(Math.max(blocks - 1, 0) / this.chunkRatio);
    if (entries * 8 > MAX_BAT_BYTES || entries * 8 > bat.length) this.fail(bat.offset, `BAT of ${entries} entries does not fit its ${bat.length}-byte region (or the ${MAX_BAT_BYTES}-byte limit)`);
    const raw = file.read(bat.offset, entries * 8);
    if (raw.length !== entries * 8) this.fail(bat.offset, 'BAT lies past the end of the file');
    this.bat = new BigUint64Array(entries);
    for (let i = 0; i < entries; i++) this.bat[i] = le64(raw, i * 8);
    if (hasParent) {
      if (!openParent) this.fail(meta.offset, 'a differencing disk, and no way to open its parent was given');
      const locatorAt = meta.offset;
      const parent = openParent(parentRef(item(PARENT_LOCATOR, null), locatorAt, (o, why) => this.fail(o, why)));
      const why =
        parent.size < this.size
          ? `parent (${parent.name}) is ${parent.size} bytes, shorter than this ${this.size}-byte disk`
          : parent instanceof VhdxSource && parent.sectorSize !== sector
            ? `parent (${parent.name}) has ${parent.sectorSize}-byte logical sectors, not ${sector} as this disk (the specification requires the same)`
            : null;
      if (why) {
        parent.close?.();
        this.fail(locatorAt, why);
      }
      this.parent = parent;
    }
  }

  private fail(offset: bigint, why: string): never {
    throw new ContainerError(this.name, offset, `VHDX: ${why}`);
  }

  protected fillBlock(block: number, inBlock: number, piece: Uint8Array, pos: bigint): void {
    // A sector-bitmap entry follows every chunkRatio payload entries.
    const entry = this.bat[block + Math.floor(block / this.chunkRatio)]!;
    const state = Number(entry & 7n);
    if (this.parent && state === PAYLOAD_PARTIALLY_PRESENT) this.fillPartial(block, entry, inBlock, piece, pos);
    else if (state === PAYLOAD_FULLY_PRESENT || state === PAYLOAD_PARTIALLY_PRESENT) this.readChild(block, entry, inBlock, piece);
    // A differencing disk's NOT_PRESENT (and UNDEFINED, whose content is arbitrary) block is the parent's;
    // ZERO and UNMAPPED read as zeros.
    else if (this.parent && (state === PAYLOAD_NOT_PRESENT || state === PAYLOAD_UNDEFINED)) this.readParent(pos, piece);
    else piece.fill(0);
  }

  private readChild(block: number, entry: bigint, inBlock: number, out: Uint8Array): void {
    const at = (entry >> 20n) * BigInt(MiB) + BigInt(inBlock);
    const b = this.file.read(at, out.length);
    if (b.length !== out.length) this.fail(at, `block ${block} lies past the end of the file (${this.file.size} bytes)`);
    out.set(b);
  }

  private readParent(pos: bigint, out: Uint8Array): void {
    const b = this.parent!.read(pos, out.length);
    if (b.length !== out.length) this.fail(pos, `parent (${this.parent!.name}) ends before ${pos + BigInt(out.length)}`);
    out.set(b);
  }

  /** A PARTIALLY_PRESENT block: runs of sectors from the same side (the sector bitmap's bit set: the child's), each read at once. */
  private fillPartial(block: number, entry: bigint, inBlock: number, piece: Uint8Array, pos: bigint): void {
    const chunk = Math.floor(block / this.chunkRatio);
    const sb = this.bat[chunk * (this.chunkRatio + 1) + this.chunkRatio]!;
    if (Number(sb & 7n) !== SB_BLOCK_PRESENT) this.fail(pos, `block ${block} is partially present, but its chunk's sector bitmap block is not (state ${sb & 7n})`);
    // This block's bits: sectors [first, last] of the chunk's 2^23 (base: the block's first sector).
    const perBlock = this.blockSize / this.sectorSize;
    const base = (block % this.chunkRatio) * perBlock;
    const first = base + Math.floor(inBlock / this.sectorSize);
    const last = base + Math.floor((inBlock + piece.length - 1) / this.sectorSize);
    const bitsAt = (sb >> 20n) * BigInt(MiB) + BigInt(first >> 3);
    const nBits = (last >> 3) - (first >> 3) + 1;
    const bits = this.file.read(bitsAt, nBits);
    if (bits.length !== nBits) this.fail(bitsAt, `block ${block}'s sector bitmap lies past the end of the file (${this.file.size} bytes)`);
    const mine = (s: number) => ((bits[(s >> 3) - (first >> 3)]! >> (s & 7)) & 1) === 1;
    for (let s = first, done = 0; s <= last; ) {
      const side = mine(s);
      let end = s + 1;
      while (end <= last && mine(end) === side) end++;
      // Sectors [s, end) are block bytes [(s - base) * sectorSize, (end - base) * sectorSize), clipped to the piece.
      const take = Math.min((end - base) * this.sectorSize, inBlock + piece.length) - (inBlock + done);
      const out = piece.subarray(done, done + take);
      if (side) this.readChild(block, entry, inBlock + done, out);
      else this.readParent(pos + BigInt(done), out);
      done += take;
      s = end;
    }
  }

  close(): void {
    this.file.close?.();
    this.parent?.close?.();
  }
}
