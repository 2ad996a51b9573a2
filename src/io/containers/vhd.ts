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
const F = { dataOffset: 16, currentSize: 48, diskType: 60, checksum: 64 } as const;
/** Dynamic header fields. */
const DH = { tableOffset: 16, maxTableEntries: 28, blockSize: 32, checksum: 36, length: 1024 } as const;
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

/** Opens a VHD: a fixed disk as the bytes before its footer, a dynamic one through its BAT. */
export function openVhd(file: ByteSource): ByteSource {
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
  if (type === TYPE_DIFFERENCING) fail(BigInt(F.diskType), 'differencing disks (with a parent VHD) are not read yet; merge or convert it first (qemu-img convert)');
  if (type !== TYPE_DYNAMIC) fail(BigInt(F.diskType), `disk type ${type} is not fixed (2) or dynamic (3)`);
  return new VhdDynamicSource(file, footer, size);
}

/** A dynamic VHD. */
export class VhdDynamicSource extends FilledSource implements ByteSource {
  readonly name: string;
  private readonly bat: Uint32Array;
  private readonly blockSize: number;
  private readonly bitmapBytes: number;

  constructor(
    private readonly file: ByteSource,
    footer: Uint8Array,
    readonly size: bigint,
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
    this.blockSize = blockSize;
    // One bit per sector, padded to whole sectors.
    this.bitmapBytes = Math.ceil(blockSize / 512 / 8 / 512) * 512;
  }

  private fail(offset: bigint, why: string): never {
    throw new ContainerError(this.name, offset, `VHD: ${why}`);
  }

  protected fill(offset: bigint, out: Uint8Array): void {
    const bs = BigInt(this.blockSize);
    for (let done = 0; done < out.length; ) {
      const pos = offset + BigInt(done);
      const block = Number(pos / bs);
      const inBlock = Number(pos % bs);
      const take = Math.min(out.length - done, this.blockSize - inBlock);
      const piece = out.subarray(done, done + take);
      const sector = this.bat[block]!;
      if (sector === UNALLOCATED) piece.fill(0);
      else {
        const at = BigInt(sector) * 512n + BigInt(this.bitmapBytes + inBlock);
        const b = this.file.read(at, take);
        if (b.length !== take) this.fail(at, `block ${block} (BAT sector ${sector}) lies past the end of the file (${this.file.size} bytes)`);
        piece.set(b);
      }
      done += take;
    }
  }

  close(): void {
    this.file.close?.();
  }
}
