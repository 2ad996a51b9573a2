import type { ByteSource } from '../ByteSource.js';
import { SliceSource } from '../SliceSource.js';
import { ContainerError } from './ContainerError.js';
import { FilledSource } from './FilledSource.js';

/**
 * VHD (Microsoft's "Virtual Hard Disk Image Format Specification"), big-endian.
 * Every VHD ends with a 512-byte footer ("conectix"); a dynamic disk also starts
 * with a copy of it, followed by a dynamic header ("cxsparse") that locates the
 * block allocation table (BAT): one u32 sector offset per block, 0xFFFFFFFF for a
 * block never written (reads as zeros). A block is a sector bitmap padded to 512
 * bytes, then the block's data.
 */

const FOOTER = 512;
const COOKIE = 'conectix';
const DYNAMIC_COOKIE = 'cxsparse';
/** Footer fields. */
const F = { dataOffset: 16, currentSize: 48, diskType: 60, checksum: 64, uniqueId: 68 } as const;
/** Dynamic header fields (a differencing disk's parent: its unique id, name, and 8 locator entries of 24 bytes). */
const DH = { tableOffset: 16, maxTableEntries: 28, blockSize: 32, checksum: 36, parentUniqueId: 40, parentName: 64, locators: 576, length: 1024 } as const;
/** Parent locator entry fields. */
const PL = { code: 0, dataSpace: 4, dataLength: 8, dataOffset: 16, size: 24, count: 8 } as const;
/** A locator's path is at most a few KiB; more is damage. */
const MAX_LOCATOR_BYTES = 64 << 10;
const TYPE_FIXED = 2;
const TYPE_DYNAMIC = 3;
const TYPE_DIFFERENCING = 4;
const UNALLOCATED = 0xffffffff;
/** The specification's block size is 2 MiB; more than 256 MiB is damage. */
const MAX_BLOCK = 256 << 20;
/** A BAT of at most 32 MiB (8 Mi blocks: 16 TiB at 2 MiB, more than VHD's 2 TiB limit). */
const MAX_BAT_BYTES = 32 << 20;

const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
const be32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0);
const be64 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset + o, 8).getBigUint64(0);

/** The footer's checksum: the ones' complement of the sum of its bytes, the checksum field taken as zero. */
function footerChecksum(f: Uint8Array, at: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) if (i < at || i >= at + 4) sum += f[i]!;
  return ~sum >>> 0;
}

/**
 * Whether `src` is a VHD: a footer copy at its start (dynamic), or a footer at
 * its end (fixed and dynamic). A fixed VHD is otherwise raw, so a raw image
 * whose last sector merely starts with "conectix" must not be taken for one:
 * the footer at the end counts only with a valid checksum.
 */
export function hasVhdFooter(src: ByteSource, head: Uint8Array): boolean {
  if (head.length >= 8 && ascii(head, 0, 8) === COOKIE) return true;
  if (src.size < BigInt(FOOTER)) return false;
  const tail = src.read(src.size - BigInt(FOOTER), FOOTER);
  return tail.length === FOOTER && ascii(tail, 0, 8) === COOKIE && footerChecksum(tail, F.checksum, FOOTER) === be32(tail, F.checksum);
}

/** Where a differencing disk says its parent is. */
export interface VhdParentRef {
  /** The parent's footer unique id (hex, 32 digits) the child was made against. */
  uniqueId: string;
  /** The parent's file name from the dynamic header (UTF-16BE), informative. */
  name: string;
  /** The locators' paths in the order to try: relative ones (W2ru) first, then absolute (W2ku, MacX). */
  paths: { code: string; path: string; relative: boolean }[];
}

/** Opens a differencing disk's parent (the caller resolves the paths and refuses loops and a wrong unique id). */
export type VhdParentOpener = (ref: VhdParentRef) => ByteSource;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The unique id (hex) in a VHD's footer: what a child's parentUniqueId names. */
export function vhdUniqueId(file: ByteSource): string | null {
  if (file.size < BigInt(FOOTER)) return null;
  let footer = file.read(file.size - BigInt(FOOTER), FOOTER);
  if (ascii(footer, 0, 8) !== COOKIE) footer = file.read(0n, FOOTER);
  return ascii(footer, 0, 8) === COOKIE ? hex(footer.subarray(F.uniqueId, F.uniqueId + 16)) : null;
}

/** Opens a VHD: a fixed disk as the bytes before its footer, a dynamic one through its BAT, a differencing one over its parent. */
export function openVhd(file: ByteSource, openParent?: VhdParentOpener): ByteSource {
  const fail = (offset: bigint, why: string): never => {
    throw new ContainerError(file.name, offset, `VHD: ${why}`);
  };
  if (file.size < BigInt(FOOTER)) fail(0n, 'file is shorter than a footer');
  const at = file.size - BigInt(FOOTER);
  let footer = file.read(at, FOOTER);
  if (ascii(footer, 0, 8) !== COOKIE) {
    // A dynamic disk cut short keeps its footer copy at the start.
    footer = file.read(0n, FOOTER);
    if (ascii(footer, 0, 8) !== COOKIE) fail(at, 'no footer');
  }
  if (footerChecksum(footer, F.checksum, FOOTER) !== be32(footer, F.checksum)) fail(at, 'footer checksum is wrong');
  const size = be64(footer, F.currentSize);
  const type = be32(footer, F.diskType);
  if (type === TYPE_FIXED) {
    if (size > at) fail(at, `fixed disk of ${size} bytes is longer than the ${at} bytes before the footer: the file is truncated`);
    return new SliceSource(file, 0n, size, file.name);
  }
  if (type === TYPE_DIFFERENCING) {
    if (!openParent) fail(BigInt(F.diskType), 'a differencing disk, and no way to open its parent was given');
    return new VhdDynamicSource(file, footer, size, openParent);
  }
  if (type !== TYPE_DYNAMIC) fail(BigInt(F.diskType), `disk type ${type} is not fixed (2), dynamic (3) or differencing (4)`);
  return new VhdDynamicSource(file, footer, size);
}

/** A differencing disk's parent reference, from its dynamic header `h` (at `hOff`). */
function parentRef(file: ByteSource, h: Uint8Array, hOff: bigint): VhdParentRef {
  const utf16 = (b: Uint8Array, le: boolean) => {
    let out = '';
    for (let i = 0; i + 1 < b.length; i += 2) {
      const c = le ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!;
      if (c === 0) break;
      out += String.fromCharCode(c);
    }
    return out;
  };
  const paths: VhdParentRef['paths'] = [];
  for (let i = 0; i < PL.count; i++) {
    const e = h.subarray(DH.locators + i * PL.size, DH.locators + (i + 1) * PL.size);
    const code = ascii(e, PL.code, 4);
    if (code !== 'W2ru' && code !== 'W2ku' && code !== 'MacX') continue;
    const length = be32(e, PL.dataLength);
    const at = be64(e, PL.dataOffset);
    if (length === 0) continue;
    if (length > MAX_LOCATOR_BYTES) throw new ContainerError(file.name, hOff + BigInt(DH.locators + i * PL.size), `VHD: parent locator ${i} (${code}) of ${length} bytes is over ${MAX_LOCATOR_BYTES}`);
    const data = file.read(at, length);
    if (data.length !== length) throw new ContainerError(file.name, at, `VHD: parent locator ${i} (${code}) lies past the end of the file`);
    // W2ru and W2ku are UTF-16LE Windows paths; MacX is a UTF-8 file URL.
    const raw = code === 'MacX' ? new TextDecoder().decode(data).replace(/^file:\/\//, '') : utf16(data, true);
    const path = code === 'MacX' ? decodeURIComponent(raw) : raw.replace(/\\/g, '/');
    paths.push({ code, path, relative: code === 'W2ru' });
  }
  paths.sort((a, b) => Number(b.relative) - Number(a.relative));
  return { uniqueId: hex(h.subarray(DH.parentUniqueId, DH.parentUniqueId + 16)), name: utf16(h.subarray(DH.parentName, DH.parentName + 512), false), paths };
}

/** A dynamic VHD. */
export class VhdDynamicSource extends FilledSource implements ByteSource {
  readonly name: string;
  private readonly bat: Uint32Array;
  private readonly blockSize: number;
  protected readonly blockBytes: number;
  private readonly bitmapBytes: number;
  /** A differencing disk's parent: blocks and sectors the child does not hold are read there. */
  readonly parent: ByteSource | null = null;

  constructor(
    private readonly file: ByteSource,
    footer: Uint8Array,
    readonly size: bigint,
    openParent?: VhdParentOpener,
  ) {
    super();
    this.name = file.name;
    const hOff = be64(footer, F.dataOffset);
    const h = file.read(hOff, DH.length);
    if (h.length !== DH.length || ascii(h, 0, 8) !== DYNAMIC_COOKIE) this.fail(hOff, `no dynamic header ("${DYNAMIC_COOKIE}") at ${hOff}`);
    if (footerChecksum(h, DH.checksum, DH.length) !== be32(h, DH.checksum)) this.fail(hOff, 'dynamic header checksum is wrong');
    const blockSize = be32(h, DH.blockSize);
    if (blockSize < 512 || blockSize > MAX_BLOCK || blockSize % 512 !== 0) this.fail(hOff, `block size ${blockSize} is not a multiple of 512 up to ${MAX_BLOCK}`);
    const entries = be32(h, DH.maxTableEntries);
    const need = Number((size + BigInt(blockSize) - 1n) / BigInt(blockSize));
    if (entries < need) this.fail(hOff, `BAT of ${entries} entries is too small for ${size} bytes of ${blockSize}-byte blocks`);
    if (need * 4 > MAX_BAT_BYTES) this.fail(hOff, `BAT of ${need * 4} bytes is over the ${MAX_BAT_BYTES}-byte limit`);
    const tOff = be64(h, DH.tableOffset);
    const raw = file.read(tOff, need * 4);
    if (raw.length !== need * 4) this.fail(tOff, 'BAT lies past the end of the file');
    this.bat = new Uint32Array(need);
    for (let i = 0; i < need; i++) this.bat[i] = be32(raw, i * 4);
    this.blockSize = this.blockBytes = blockSize;
    // One bit per sector, padded to whole sectors.
    this.bitmapBytes = Math.ceil(blockSize / 512 / 8 / 512) * 512;
    if (openParent) {
      this.parent = openParent(parentRef(file, h, hOff));
      if (this.parent.size < size) {
        this.parent.close?.();
        this.fail(hOff, `parent (${this.parent.name}) is ${this.parent.size} bytes, shorter than this ${size}-byte disk`);
      }
    }
  }

  private fail(offset: bigint, why: string): never {
    throw new ContainerError(this.name, offset, `VHD: ${why}`);
  }

  protected fillBlock(block: number, inBlock: number, piece: Uint8Array, pos: bigint): void {
    const sector = this.bat[block]!;
    if (sector === UNALLOCATED) {
      if (this.parent) this.readParent(pos, piece);
      else piece.fill(0);
    } else if (this.parent) this.fillDifferencing(block, sector, inBlock, piece);
    else {
      const at = BigInt(sector) * 512n + BigInt(this.bitmapBytes + inBlock);
      const b = this.file.read(at, piece.length);
      if (b.length !== piece.length) this.fail(at, `block ${block} (BAT sector ${sector}) lies past the end of the file (${this.file.size} bytes)`);
      piece.set(b);
    }
  }

  private readParent(pos: bigint, piece: Uint8Array): void {
    const b = this.parent!.read(pos, piece.length);
    if (b.length !== piece.length) this.fail(pos, `parent (${this.parent!.name}) ends before ${pos + BigInt(piece.length)}`);
    piece.set(b);
  }

  /** A differencing disk's block: each sector whose bitmap bit is set (most significant bit first) is the child's, the others the parent's. */
  private fillDifferencing(block: number, sector: number, inBlock: number, piece: Uint8Array): void {
    const base = BigInt(sector) * 512n;
    const bitmap = this.file.read(base, this.bitmapBytes);
    if (bitmap.length !== this.bitmapBytes) this.fail(base, `block ${block} (BAT sector ${sector}) lies past the end of the file (${this.file.size} bytes)`);
    const blockStart = BigInt(block) * BigInt(this.blockSize);
    for (let done = 0; done < piece.length; ) {
      const s = Math.floor((inBlock + done) / 512);
      const mine = ((bitmap[s >> 3]! >> (7 - (s & 7))) & 1) === 1;
      // A run of sectors from the same side, read at once.
      let end = s + 1;
      while (end * 512 < inBlock + piece.length && (((bitmap[end >> 3]! >> (7 - (end & 7))) & 1) === 1) === mine) end++;
      const take = Math.min(end * 512, inBlock + piece.length) - (inBlock + done);
      const out = piece.subarray(done, done + take);
      if (mine) {
        const at = base + BigInt(this.bitmapBytes + inBlock + done);
        const b = this.file.read(at, take);
        if (b.length !== take) this.fail(at, `block ${block} (BAT sector ${sector}) lies past the end of the file (${this.file.size} bytes)`);
        out.set(b);
      } else this.readParent(blockStart + BigInt(inBlock + done), out);
      done += take;
    }
  }

  close(): void {
    this.file.close?.();
    this.parent?.close?.();
  }
}
