import type { ByteSource } from '../ByteSource.js';
import { ByteLru } from './ByteLru.js';
import { ContainerError } from './ContainerError.js';
import { CodecError, type ContainerCodecs, defaultCodecs } from './codecs.js';
import { FilledSource } from './FilledSource.js';
import { MAX_DESCRIPTOR_BYTES, NO_PARENT, openDeltaParent, parseVmdkDescriptor, type VmdkDescriptor, type VmdkParentOpener } from './vmdkText.js';

/**
 * VMDK sparse extents (VMware's "Virtual Disk Format 5.0"), little-endian:
 * monolithic sparse and stream-optimized. A 512-byte header ("KDMV") gives
 * the capacity and grain size in sectors and the grain directory's sector; the
 * directory lists grain tables, each of numGTEsPerGT u32 grain sector offsets
 * (0: never written, zeros; 1: a zeroed grain). Stream-optimized extents
 * compress each grain (zlib): a grain marker (lba u64, size u32) then the data;
 * their header may defer the directory to a footer copy at the end
 * (gdOffset = GD_AT_END). A monolithic sparse file embeds its descriptor
 * (descriptorOffset, descriptorSize in sectors); when that names a parent
 * (a delta disk of a snapshot chain), grains never written (directory or table
 * entry 0) are the parent's, and only a zeroed grain (entry 1) reads as zeros.
 */

const MAGIC = 0x564d444b; // "KDMV"
const H = { magic: 0, version: 4, flags: 8, capacity: 12, grainSize: 20, descriptorOffset: 28, descriptorSize: 36, numGTEsPerGT: 44, gdOffset: 56, compressAlgorithm: 77 } as const;
const FLAG_COMPRESSED = 1 << 16;
const GD_AT_END = 0xffffffffffffffffn;
const COMPRESSION_DEFLATE = 1;
const GRAIN_MARKER = 12;
/** Limits: grains of at most 1 MiB, 512 entries per grain table (QEMU's), a directory of at most 32 MiB. */
const MAX_GRAIN_SECTORS = 2048;
const MAX_GTES = 512;
const MAX_GD_BYTES = 32 << 20;
const MAX_CAPACITY_SECTORS = 1n << 47n;
const DEFAULT_CACHE_BYTES = 32 << 20;

const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const le64 = (b: Uint8Array, o: number) => BigInt(le32(b, o)) | (BigInt(le32(b, o + 4)) << 32n);

export function hasVmdkMagic(head: Uint8Array): boolean {
  return head.length >= 4 && le32(head, 0) === MAGIC;
}

/** Whether `head` starts a text VMDK descriptor (whose extents are other files). */
export function isVmdkDescriptor(head: Uint8Array): boolean {
  return String.fromCharCode(...head.subarray(0, 21)) === '# Disk DescriptorFile';
}

/** The descriptor embedded in a sparse extent (monolithicSparse, streamOptimized), or null when it has none. */
export function embeddedVmdkDescriptor(file: ByteSource): VmdkDescriptor | null {
  const h = file.read(0n, 512);
  if (h.length < 512 || le32(h, H.magic) !== MAGIC) return null;
  const at = le64(h, H.descriptorOffset) * 512n;
  const sectors = le64(h, H.descriptorSize);
  if (at === 0n || sectors === 0n) return null;
  if (sectors * 512n > BigInt(MAX_DESCRIPTOR_BYTES))
    throw new ContainerError(file.name, BigInt(H.descriptorSize), `VMDK: embedded descriptor of ${sectors} sectors is more than a descriptor's ${MAX_DESCRIPTOR_BYTES} bytes`);
  const text = file.read(at, Number(sectors) * 512);
  if (text.length !== Number(sectors) * 512) throw new ContainerError(file.name, at, 'VMDK: embedded descriptor lies past the end of the file');
  // The descriptor's sectors are padded with NULs after the text.
  const end = text.indexOf(0);
  return parseVmdkDescriptor(file.name, new TextDecoder('latin1').decode(end < 0 ? text : text.subarray(0, end)));
}

export interface VmdkOptions {
  codecs?: ContainerCodecs;
  cacheBytes?: number;
  /**
   * Opens the parent a delta disk's embedded descriptor names (src/io/node resolves
   * the name and checks the parent's CID). Without it a delta disk is refused.
   */
  openParent?: VmdkParentOpener;
  /**
   * The parent's bytes for this extent, given by a descriptor file that read the
   * delta's parent itself (null: none); the embedded descriptor is then not read.
   */
  parent?: ByteSource | null;
}

export class VmdkSource extends FilledSource implements ByteSource {
  readonly name: string;
  readonly size: bigint;
  private readonly grainBytes: number;
  protected readonly blockBytes: number;
  private readonly gtes: number;
  private readonly gd: Uint32Array;
  private readonly compressed: boolean;
  private readonly gtCache: ByteLru<number>;
  private readonly grainCache: ByteLru<number>;
  private readonly codecs: ContainerCodecs;

  /** A delta disk's parent (itself possibly a delta), or null. */
  readonly parent: ByteSource | null;

  constructor(
    private readonly file: ByteSource,
    opts: VmdkOptions = {},
  ) {
    super();
    this.name = file.name;
    this.codecs = opts.codecs ?? defaultCodecs;
    this.gtCache = new ByteLru(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.grainCache = new ByteLru(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    let h = file.read(0n, 512);
    if (h.length < 512 || le32(h, H.magic) !== MAGIC) this.fail(0n, 'no sparse extent header ("KDMV")');
    if (le64(h, H.gdOffset) === GD_AT_END) {
      // The footer: a copy of the header in the second-to-last sector, before the end-of-stream marker.
      if (file.size < 1536n) this.fail(0n, 'directory deferred to a footer, but the file is too short for one');
      h = file.read(file.size - 1024n, 512);
      if (le32(h, H.magic) !== MAGIC || le64(h, H.gdOffset) === GD_AT_END) this.fail(file.size - 1024n, 'no footer header with the grain directory: the stream is truncated');
    }
    const version = le32(h, H.version);
    if (version < 1 || version > 3) this.fail(BigInt(H.version), `version ${version} is not 1..3`);
    const flags = le32(h, H.flags);
    this.compressed = (flags & FLAG_COMPRESSED) !== 0;
    if (this.compressed && (h[H.compressAlgorithm]! | (h[H.compressAlgorithm + 1]! << 8)) !== COMPRESSION_DEFLATE)
      this.fail(BigInt(H.compressAlgorithm), 'compressed grains with an algorithm other than deflate');
    const capacity = le64(h, H.capacity);
    const grain = le64(h, H.grainSize);
    const gtes = le32(h, H.numGTEsPerGT);
    if (capacity > MAX_CAPACITY_SECTORS) this.fail(BigInt(H.capacity), `capacity of ${capacity} sectors is beyond the limit`);
    if (grain < 1n || grain > BigInt(MAX_GRAIN_SECTORS) || (grain & (grain - 1n)) !== 0n) this.fail(BigInt(H.grainSize), `grain of ${grain} sectors is not a power of two up to ${MAX_GRAIN_SECTORS}`);
    if (gtes < 1 || gtes > MAX_GTES) this.fail(BigInt(H.numGTEsPerGT), `${gtes} entries per grain table is not 1..${MAX_GTES}`);
    this.size = capacity * 512n;
    this.grainBytes = this.blockBytes = Number(grain) * 512;
    this.gtes = gtes;
    const perTable = BigInt(gtes) * grain;
    const gdEntries = Number((capacity + perTable - 1n) / perTable);
    if (gdEntries * 4 > MAX_GD_BYTES) this.fail(BigInt(H.numGTEsPerGT), `grain directory of ${gdEntries * 4} bytes is over the ${MAX_GD_BYTES}-byte limit`);
    const gdAt = le64(h, H.gdOffset) * 512n;
    const raw = file.read(gdAt, gdEntries * 4);
    if (raw.length !== gdEntries * 4) this.fail(gdAt, 'grain directory lies past the end of the file');
    this.gd = new Uint32Array(gdEntries);
    for (let i = 0; i < gdEntries; i++) this.gd[i] = le32(raw, i * 4);
    this.parent = opts.parent !== undefined ? opts.parent : openDeltaParent(this.name, embeddedVmdkDescriptor(file) ?? NO_DESCRIPTOR, opts.openParent);
  }

  private fail(offset: bigint, why: string): never {
    throw new ContainerError(this.name, offset, `VMDK: ${why}`);
  }

  /** The grain table of directory entry `i`, or null (no table: zeros). */
  private table(i: number): Uint8Array | null {
    const sector = this.gd[i]!;
    if (sector === 0) return null;
    const hit = this.gtCache.get(i);
    if (hit) return hit;
    const at = BigInt(sector) * 512n;
    const t = this.file.read(at, this.gtes * 4);
    if (t.length !== this.gtes * 4) this.fail(at, `grain table ${i} at sector ${sector} lies past the end of the file`);
    this.gtCache.set(i, t);
    return t;
  }

  /** Grain `g` whole, for compressed extents (cached). */
  private compressedGrain(g: number, sector: number): Uint8Array {
    const hit = this.grainCache.get(g);
    if (hit) return hit;
    const at = BigInt(sector) * 512n;
    const marker = this.file.read(at, GRAIN_MARKER);
    if (marker.length !== GRAIN_MARKER) this.fail(at, `grain ${g} at sector ${sector} lies past the end of the file`);
    const size = le32(marker, 8);
    if (size > this.grainBytes * 2 + 1024) this.fail(at, `compressed grain ${g} claims ${size} bytes, more than a ${this.grainBytes}-byte grain needs`);
    const data = this.file.read(at + BigInt(GRAIN_MARKER), size);
    if (data.length !== size) this.fail(at, `compressed grain ${g} is cut short by the end of the file`);
    // The last grain of a disk whose size is not a whole number of grains holds only what is left.
    const start = BigInt(g) * BigInt(this.grainBytes);
    const want = this.size - start < BigInt(this.grainBytes) ? Number(this.size - start) : this.grainBytes;
    let out: Uint8Array;
    try {
      out = this.codecs.inflateZlib(data, want);
    } catch (e) {
      if (e instanceof CodecError) this.fail(at, `compressed grain ${g}: ${e.message}`);
      throw e;
    }
    this.grainCache.set(g, out);
    return out;
  }

  protected fillBlock(g: number, inGrain: number, piece: Uint8Array): void {
    const take = piece.length;
    const t = this.table(Math.floor(g / this.gtes));
    const sector = t ? le32(t, (g % this.gtes) * 4) : 0;
    // 0: never written (the parent's, or zeros); 1: a zeroed grain.
    if (sector === 0 && this.parent) this.fromParent(g, inGrain, piece);
    else if (sector <= 1) piece.fill(0);
    else if (this.compressed) piece.set(this.compressedGrain(g, sector).subarray(inGrain, inGrain + take));
    else {
      const at = BigInt(sector) * 512n + BigInt(inGrain);
      const b = this.file.read(at, take);
      if (b.length !== take) this.fail(at, `grain ${g} at sector ${sector} lies past the end of the file (${this.file.size} bytes)`);
      piece.set(b);
    }
  }

  /** An uncompressed grain written in this extent: where it lies. */
  protected override plainAt(g: number): bigint | null {
    if (this.compressed) return null;
    const t = this.table(Math.floor(g / this.gtes));
    const sector = t ? le32(t, (g % this.gtes) * 4) : 0;
    return sector > 1 ? BigInt(sector) * 512n : null;
  }

  protected override readPlain(at: bigint, out: Uint8Array, pos: bigint): void {
    const b = this.file.read(at, out.length);
    if (b.length !== out.length) this.fail(at, `grains from ${pos / BigInt(this.grainBytes)} (read at byte ${at}) lie past the end of the file (${this.file.size} bytes)`);
    out.set(b);
  }

  /** A grain this delta never wrote: the parent's bytes; a parent shorter than the disk reads as zeros past its end. */
  private fromParent(g: number, inGrain: number, piece: Uint8Array): void {
    const at = BigInt(g) * BigInt(this.grainBytes) + BigInt(inGrain);
    const p = this.parent!;
    const got = p.readInto ? p.readInto(at, piece) : copyInto(piece, p.read(at, piece.length));
    if (got < piece.length) piece.fill(0, got);
  }

  close(): void {
    this.file.close?.();
    this.parent?.close?.();
  }
}

/** A sparse extent with no embedded descriptor: no parent. */
const NO_DESCRIPTOR: VmdkDescriptor = { createType: '', cid: '', parentCID: NO_PARENT, parentFileNameHint: null, extents: [] };

function copyInto(out: Uint8Array, b: Uint8Array): number {
  out.set(b.subarray(0, out.length));
  return Math.min(b.length, out.length);
}
